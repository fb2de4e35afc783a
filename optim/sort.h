/* sort.h — LSD radix sort of 32-bit keys carrying int64 indices (stable, ascending), and the
 * order-preserving float -> uint32 key transform that lets it sort scores.
 * Reference: LSD radix sort (Knuth, TAOCP vol. 3, sec. 5.2.5) with 8-bit digits; the float key
 * flips the sign bit of non-negative floats and every bit of negative ones (Herf, "Radix
 * Tricks", 2001). Descending order with ties in index order: sort ~key ascending. */
#ifndef RD_SORT_H
#define RD_SORT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Order-preserving key of a finite float: a < b <=> key(a) < key(b), a == b <=> key(a) ==
 * key(b) (-0 and +0 get the same key). Callers reject NaN first. Cannot fail. */
static inline uint32_t sort_key_from_f32(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if (u == 0x80000000u)
        u = 0;
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* The float whose key is k (+0 for the key of zero). Cannot fail. */
static inline float sort_f32_from_key(uint32_t k)
{
    uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Bytes of scratch sort_radix_u32 needs for n keys (64-byte alignment included). */
size_t sort_radix_scratch_bytes(int64_t n);

/* Sort keys[n] ascending, moving idx[n] along; equal keys keep their input order (stable).
 * scratch: at least sort_radix_scratch_bytes(n) bytes, 64-byte aligned, owned by the caller.
 * Parallel over fixed chunks (OpenMP); the result is the same for any thread count.
 * Cannot fail. */
void sort_radix_u32(uint32_t *keys, int64_t *idx, int64_t n, void *scratch);

#endif
