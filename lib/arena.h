/* arena.h — bump allocators with one allocation per lifetime (llm.c's habit).
 * Sizes first: a user sums rd_arena_align(bytes) over its tensors, reserves once, then pushes
 * views. Reserving no more than the capacity already held allocates nothing, so a loop that
 * reserves the same size every step allocates only on its first step; `grows` counts the
 * real allocations so a test can assert a steady state allocates nothing. */
#ifndef RD_ARENA_H
#define RD_ARENA_H

#include <stddef.h>

#define RD_ARENA_ALIGN 64

typedef struct rd_arena {
    unsigned char *base;  // owned, 64-byte aligned
    size_t cap;           // bytes held
    size_t used;          // bytes pushed since the last reserve or reset
    size_t grows;         // how many times the buffer was (re)allocated
} rd_arena;

/* An empty arena (no memory held). */
void rd_arena_init(rd_arena *a);
/* Release the memory; the arena is empty again. */
void rd_arena_free(rd_arena *a);
/* Bytes a push of `bytes` takes, alignment included. */
size_t rd_arena_align(size_t bytes);
/* Make room for `bytes` (grow-only; contents are not kept) and reset to empty. Aborts on OOM. */
void rd_arena_reserve(rd_arena *a, size_t bytes);
/* A 64-byte aligned view of `bytes`; aborts with a hint when it exceeds the reservation. */
void *rd_arena_push(rd_arena *a, size_t bytes);
/* Forget every push; the memory stays. */
void rd_arena_reset(rd_arena *a);

#endif
