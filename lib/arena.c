/* arena.c — grow-only bump allocator (see arena.h). */
#include "lib/arena.h"

#include <stdlib.h>

#include "lib/check.h"

void rd_arena_init(rd_arena *a)
{
    a->base = NULL;
    a->cap = a->used = a->grows = 0;
}

void rd_arena_free(rd_arena *a)
{
    free(a->base);
    rd_arena_init(a);
}

size_t rd_arena_align(size_t bytes)
{
    return (bytes + RD_ARENA_ALIGN - 1) / RD_ARENA_ALIGN * RD_ARENA_ALIGN;
}

void rd_arena_reserve(rd_arena *a, size_t bytes)
{
    a->used = 0;
    if (bytes <= a->cap)
        return;
    free(a->base);
    size_t cap = rd_arena_align(bytes);
    a->base = aligned_alloc(RD_ARENA_ALIGN, cap);
    RD_CHECK(a->base != NULL, "out of memory reserving an arena of %zu bytes", cap);
    a->cap = cap;
    a->grows++;
}

void *rd_arena_push(rd_arena *a, size_t bytes)
{
    size_t need = rd_arena_align(bytes);
    RD_CHECK(a->used + need <= a->cap,
             "arena overflow: pushing %zu bytes with %zu of %zu used; reserve the summed sizes first",
             need, a->used, a->cap);
    void *p = a->base + a->used;
    a->used += need;
    return p;
}

void rd_arena_reset(rd_arena *a)
{
    a->used = 0;
}
