/* sort.c — stable LSD radix sort of uint32 keys with int64 indices (see sort.h).
 * Four passes of 8-bit digits, least significant first; a pass whose digit is the same for
 * every key is skipped. Each pass splits the array into fixed chunks of SORT_CHUNK keys:
 * per-chunk digit histograms, then offsets in (digit, chunk) order, then each chunk scatters
 * its keys in order. That keeps the sort stable and its output independent of the number of
 * threads. */
#include "optim/sort.h"

#include "lib/arena.h"
#include "lib/check.h"

enum { SORT_CHUNK = 1 << 16, SORT_BUCKETS = 256, SORT_PASSES = 4 };

static int64_t sort_chunk_count(int64_t n)
{
    return (n + SORT_CHUNK - 1) / SORT_CHUNK;
}

size_t sort_radix_scratch_bytes(int64_t n)
{
    size_t nchunks = (size_t)sort_chunk_count(n);
    return rd_arena_align((size_t)n * sizeof(uint32_t)) + rd_arena_align((size_t)n * sizeof(int64_t)) +
           rd_arena_align(nchunks * SORT_BUCKETS * sizeof(int64_t));
}

/* Count digit `shift` of every chunk of keys[n] into hist[nchunks][SORT_BUCKETS]. */
static void sort_count_digits(const uint32_t *keys, int64_t n, int shift, int64_t *hist)
{
    int64_t nchunks = sort_chunk_count(n);
#pragma omp parallel for schedule(static) if (nchunks > 1)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t *h = hist + c * SORT_BUCKETS;  // [SORT_BUCKETS]
        memset(h, 0, SORT_BUCKETS * sizeof *h);
        int64_t end = (c + 1) * SORT_CHUNK < n ? (c + 1) * SORT_CHUNK : n;
        for (int64_t i = c * SORT_CHUNK; i < end; i++)
            h[(keys[i] >> shift) & (SORT_BUCKETS - 1)]++;
    }
}

/* Turn the counts into each (chunk, digit)'s first output slot; returns 0 when one digit
 * holds every key (the pass would not move anything). */
static int sort_offsets(int64_t *hist, int64_t n)
{
    int64_t nchunks = sort_chunk_count(n);
    int64_t base = 0;
    for (int b = 0; b < SORT_BUCKETS; b++) {
        int64_t total = 0;
        for (int64_t c = 0; c < nchunks; c++) {
            int64_t count = hist[c * SORT_BUCKETS + b];
            hist[c * SORT_BUCKETS + b] = base + total;
            total += count;
        }
        if (total == n)
            return 0;
        base += total;
    }
    return 1;
}

/* One stable pass on digit `shift` from (src_k, src_i) into (dst_k, dst_i). */
static void sort_scatter(const uint32_t *src_k, const int64_t *src_i, uint32_t *dst_k, int64_t *dst_i,
                         int64_t n, int shift, int64_t *hist)
{
    int64_t nchunks = sort_chunk_count(n);
#pragma omp parallel for schedule(static) if (nchunks > 1)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t *next = hist + c * SORT_BUCKETS;  // [SORT_BUCKETS] next output slot per digit
        int64_t end = (c + 1) * SORT_CHUNK < n ? (c + 1) * SORT_CHUNK : n;
        for (int64_t i = c * SORT_CHUNK; i < end; i++) {
            int64_t slot = next[(src_k[i] >> shift) & (SORT_BUCKETS - 1)]++;
            dst_k[slot] = src_k[i];
            dst_i[slot] = src_i[i];
        }
    }
}

void sort_radix_u32(uint32_t *keys, int64_t *idx, int64_t n, void *scratch)
{
    if (n <= 1)
        return;
    RD_CHECK(scratch != NULL && (uintptr_t)scratch % RD_ARENA_ALIGN == 0,
             "sort scratch must be %d-byte aligned; push it from an arena", RD_ARENA_ALIGN);
    unsigned char *p = scratch;
    uint32_t *tmp_k = (uint32_t *)p;  // [n]
    p += rd_arena_align((size_t)n * sizeof(uint32_t));
    int64_t *tmp_i = (int64_t *)p;    // [n]
    p += rd_arena_align((size_t)n * sizeof(int64_t));
    int64_t *hist = (int64_t *)p;     // [nchunks][SORT_BUCKETS]

    uint32_t *src_k = keys, *dst_k = tmp_k;
    int64_t *src_i = idx, *dst_i = tmp_i;
    for (int pass = 0; pass < SORT_PASSES; pass++) {
        int shift = 8 * pass;
        sort_count_digits(src_k, n, shift, hist);
        if (!sort_offsets(hist, n))
            continue;
        sort_scatter(src_k, src_i, dst_k, dst_i, n, shift, hist);
        uint32_t *tk = src_k;
        src_k = dst_k;
        dst_k = tk;
        int64_t *ti = src_i;
        src_i = dst_i;
        dst_i = ti;
    }
    if (src_k != keys) {
        memcpy(keys, src_k, (size_t)n * sizeof *keys);
        memcpy(idx, src_i, (size_t)n * sizeof *idx);
    }
}
