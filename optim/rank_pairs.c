/* rank_pairs.c — the bucket machinery behind the exact, fast AP-loss and AUC-loss (see
 * rank_pairs.h; the method is sketched in part 2 of the loss issue: sort the positives, bucket
 * every candidate negative against the 2|P| breakpoints s_i ± δ, prefix sums).
 *
 * Breakpoints. Positive i (ascending order, score s_i) has a lower key s_i - δ and an upper key
 * nextafter(s_i + δ, +inf), in double. A value v passes key k when v >= keys[k], i.e.
 * v >= s_i - δ for a lower one and v > s_i + δ for an upper one; merging the two ascending lists
 * gives a sorted array, so the bucket m(v) (keys passed, 0..K) is a search. Relative to
 * positive i, m <= lo_i means f = 0, lo_i < m <= hi_i means f = 1/2 + β(v - s_i) (δ = 0: β = 0
 * and v = s_i exactly, the tie value 1/2), m > hi_i means f = 1. The search starts from a
 * uniform grid over the keys whose cell function is monotone in the real value (a float
 * formula of the score, or of the key rounded to float): keys of lower cells are then < v and
 * keys of higher cells > v, and only the keys of v's own cell (mostly none or one) are compared.
 *
 * Passes over the batch: (1) validate and count, per chunk; (2) gather the positives; (3) zero
 * grad and bucket the candidate negatives (v >= -δ) into per-chunk counts and sums, keeping
 * (entry, bucket) of each; (4) in rank_pairs_scatter, write the candidates' updates. Blocks of
 * entries with no candidate (or no positive, in pass 2) are skipped after a vectorised test. The
 * chunk partition depends on n and |P| only and partial sums are reduced in a fixed order, so
 * the result does not depend on the thread count. Prefix sums are kept as double-double
 * (hi + lo) so that differences of large prefixes stay accurate. */
#include "optim/rank_pairs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check.h"

#define RANK_CHUNK_LEN 32768              // entries per chunk, at least
#define RANK_CHUNKS_MAX 64                // chunks per pass, at most
#define RANK_CELLS_MAX ((int64_t)1 << 21) // bucket cells over all chunks and lanes (32 MiB)
#define RANK_LANES 4                      // interleaved accumulators per chunk (latency)
_Static_assert(RANK_LANES == 4, "rank_bucket_block adds four lanes and masks with LANES - 1");
#define RANK_BLOCK 64                     // entries tested at once before a scalar look
#define RANK_GRID_PER_KEY 4               // grid cells per key
#define RANK_GRID_MAX ((int64_t)1 << 22)  // grid cells, at most (exact as floats)

typedef struct rank_dd {
    double hi, lo;  // the unevaluated sum hi + lo
} rank_dd;

typedef struct rank_cell {
    double cnt, sum;  // candidates in one bucket (of one chunk and lane), and their summed u
} rank_cell;

typedef struct rank_scan {
    uint32_t npos, nneg;
    uint32_t bad;  // some entry is a NaN/Inf score or a bad label
} rank_scan;

typedef struct rank_tmp {
    rank_cell *cells;  // [nchunks][K+1][RANK_LANES]
    double *ncnt;      // [K+1] negatives in buckets 0..m (prefix)
    rank_dd *nsum;     // [K+1] their summed u
    double *pcnt;      // [K+1] the same for the positives
    rank_dd *psum;     // [K+1]
} rank_tmp;

/* Knuth's two-sum: s += x, keeping the rounding error in s->lo. */
static inline void rank_dd_add(rank_dd *s, double x)
{
    double t = s->hi + x, z = t - s->hi;
    s->lo += (s->hi - (t - z)) + (x - z);
    s->hi = t;
}

static inline double rank_dd_diff(rank_dd a, rank_dd b)
{
    return (a.hi - b.hi) + (a.lo - b.lo);
}

/* Number of keys <= v among keys[0..len), len >= 1, without data-dependent branches. */
static inline uint32_t rank_search(const double *keys, int64_t len, double v)
{
    const double *base = keys;
    while (len > 1) {
        int64_t half = len / 2;
        base = base[half] <= v ? base + half : base;
        len -= half;
    }
    return (uint32_t)(base - keys) + (*base <= v);
}

/* Grid cell of a score x (a key's is that of the key rounded to float): each step is monotone
 * non-decreasing, and the result is in range whatever the inputs (NaN becomes cell 0). */
static inline int32_t rank_grid_index(float x, float x0, float scale, float top)
{
    float y = (x - x0) * scale;
    y = y > 0.0f ? y : 0.0f;
    return (int32_t)(y < top ? y : top);
}

/* The bucket m(v) of a score v >= keys[0] that lies in grid cell c. */
static inline uint32_t rank_bucket(const rank_pairs *rp, int32_t c, double v)
{
    const rank_grid_cell g = rp->grid[c];
    if (g.count <= 1)
        return (uint32_t)g.first + (g.key <= v);
    return (uint32_t)g.first + rank_search(rp->keys + g.first, g.count, v);
}

static int rank_chunk_count(int64_t n, int64_t cells_per_chunk)
{
    int64_t c = (n + RANK_CHUNK_LEN - 1) / RANK_CHUNK_LEN;
    if (c > RANK_CHUNKS_MAX)
        c = RANK_CHUNKS_MAX;
    if (cells_per_chunk > 0 && c * cells_per_chunk > RANK_CELLS_MAX)
        c = RANK_CELLS_MAX / cells_per_chunk;
    if (c < 1)
        c = 1;
    RD_CHECK(n / c < (int64_t)UINT32_MAX, "a batch of %lld entries with %lld buckets is too large",
             (long long)n, (long long)cells_per_chunk);
    return (int)c;
}

static inline int64_t rank_chunk_begin(int64_t n, int nchunks, int c)
{
    return n * c / nchunks;
}

/* Pass 1 over entries [b, e): counts, and whether any entry is bad. Two branch-free loops
 * (one per array) so that both vectorise. */
static void rank_scan_chunk(const loss_inputs *in, int64_t b, int64_t e, rank_scan *r)
{
    const int8_t *restrict t = in->labels;
    const float *restrict s = in->scores;
    uint32_t npos = 0, nneg = 0, bad = 0;
    for (int64_t i = b; i < e; i++) {
        int32_t l = t[i];
        bad |= (uint32_t)(l + 1) > 2u;
        npos += l == 1;
        nneg += l == 0;
    }
    for (int64_t i = b; i < e; i++) {
        uint32_t w;
        memcpy(&w, s + i, sizeof w);
        bad |= (w & 0x7f800000u) == 0x7f800000u;  // exponent all ones: Inf or NaN
    }
    *r = (rank_scan){npos, nneg, bad};
}

/* Pass 1 over the batch in na chunks; on a bad entry, the first one is reported. */
static loss_status rank_validate(const loss_inputs *in, int na, rank_scan *scan,
                                 loss_result *out)
{
    memset(out, 0, sizeof *out);
#pragma omp parallel for schedule(static) if (na > 1)
    for (int c = 0; c < na; c++)
        rank_scan_chunk(in, rank_chunk_begin(in->n, na, c), rank_chunk_begin(in->n, na, c + 1),
                        &scan[c]);
    for (int c = 0; c < na; c++) {
        if (scan[c].bad) {
            int64_t b = rank_chunk_begin(in->n, na, c);
            loss_inputs sub = {in->scores + b, in->labels + b, NULL,
                               rank_chunk_begin(in->n, na, c + 1) - b};
            loss_status st = loss_scan(&sub, out);
            RD_CHECK(st != LOSS_OK, "chunk %d flagged bad but rescans clean", c);
            int64_t bad = b + out->bad_index;
            memset(out, 0, sizeof *out);
            out->bad_index = bad;
            return st;
        }
        out->num_pos += scan[c].npos;
        out->num_neg += scan[c].nneg;
    }
    return LOSS_OK;
}

/* Lay out every array on ws (ws NULL: only count). Returns the bytes to reserve. */
static size_t rank_layout(rank_pairs *rp, rank_tmp *t, rd_arena *ws)
{
    const size_t P = (size_t)rp->num_pos, K = (size_t)rp->nbreak, nb = (size_t)rp->nchunks;
    size_t total = 0;
#define RANK_TAKE(ptr, count)                                                 \
    do {                                                                      \
        total += rd_arena_align((count) * sizeof *(ptr));                     \
        (ptr) = ws ? rd_arena_push(ws, (count) * sizeof *(ptr)) : NULL;       \
    } while (0)
    RANK_TAKE(rp->pos, P);
    RANK_TAKE(rp->pos_a, P);
    RANK_TAKE(rp->pos_b, P);
    RANK_TAKE(rp->weight, P);
    RANK_TAKE(rp->keys, K);
    RANK_TAKE(rp->grid, (size_t)rp->grid_cells);
    RANK_TAKE(rp->owner, K);
    RANK_TAKE(rp->lo, P);
    RANK_TAKE(rp->hi, P);
    RANK_TAKE(rp->coef_c, K + 1);
    RANK_TAKE(rp->coef_d, K + 1);
    RANK_TAKE(rp->chunk_ncand, nb);
    RANK_TAKE(rp->cand, (size_t)rp->n);
    RANK_TAKE(t->cells, nb * RANK_LANES * (K + 1));
    RANK_TAKE(t->ncnt, K + 1);
    RANK_TAKE(t->nsum, K + 1);
    RANK_TAKE(t->pcnt, K + 1);
    RANK_TAKE(t->psum, K + 1);
#undef RANK_TAKE
    return total;
}

static int rank_pos_cmp(const void *x, const void *y)
{
    const rank_pos *a = x, *b = y;
    if (a->score != b->score)
        return a->score < b->score ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* Pass 2: the positives (in the pass-1 partition), sorted by (score, index). */
static void rank_gather_positives(rank_pairs *rp, const loss_inputs *in, int na,
                                  const rank_scan *scan)
{
    int64_t first[RANK_CHUNKS_MAX];
    first[0] = 0;
    for (int c = 1; c < na; c++)
        first[c] = first[c - 1] + scan[c - 1].npos;
    const int8_t *restrict t = in->labels;
#pragma omp parallel for schedule(static) if (na > 1)
    for (int c = 0; c < na; c++) {
        const int64_t e = rank_chunk_begin(in->n, na, c + 1);
        int64_t k = first[c];
        for (int64_t blk = rank_chunk_begin(in->n, na, c); blk < e; blk += RANK_BLOCK) {
            const int64_t be = blk + RANK_BLOCK < e ? blk + RANK_BLOCK : e;
            int any = 0;
            for (int64_t i = blk; i < be; i++)
                any |= t[i] == 1;
            for (int64_t i = blk; any && i < be; i++)
                if (t[i] == 1)
                    rp->pos[k++] = (rank_pos){in->scores[i], i};
        }
    }
    qsort(rp->pos, (size_t)rp->num_pos, sizeof *rp->pos, rank_pos_cmp);
}

/* Merge the ascending lower keys s_i - δ and upper keys nextafter(s_i + δ) (lower first on
 * equal keys; both orders give the same buckets). */
static void rank_place_breakpoints(rank_pairs *rp, double delta)
{
    const int64_t P = rp->num_pos, K = rp->nbreak;
    int64_t i = 0, j = 0;
    for (int64_t k = 0; k < K; k++) {
        double lower = i < P ? rp->pos[i].score - delta : INFINITY;
        double upper = j < P ? nextafter(rp->pos[j].score + delta, INFINITY) : INFINITY;
        if (i < P && lower <= upper) {
            rp->keys[k] = lower;
            rp->owner[k] = (int32_t)i;
            rp->lo[i++] = (int32_t)k;
        } else {
            rp->keys[k] = upper;
            rp->owner[k] = ~(int32_t)j;
            rp->hi[j++] = (int32_t)k;
        }
    }
}

/* The grid over [keys[0], keys[K-1]] (in score units) and which keys each cell holds. */
static void rank_build_grid(rank_pairs *rp)
{
    const int64_t K = rp->nbreak, G = rp->grid_cells;
    const float scale = (float)((double)G / (rp->keys[K - 1] - rp->keys[0]));
    rp->grid_x0 = (float)rp->keys[0];
    rp->grid_scale = isfinite(scale) ? scale : 0.0f;  // a degenerate range: one cell, searched
    rp->grid_top = (float)(G - 1);
    for (int64_t c = 0; c < G; c++)
        rp->grid[c] = (rank_grid_cell){INFINITY, 0, 0};
    for (int64_t k = 0; k < K; k++)
        rp->grid[rank_grid_index((float)rp->keys[k], rp->grid_x0, rp->grid_scale, rp->grid_top)]
            .count++;
    int32_t first = 0;
    for (int64_t c = 0; c < G; c++) {
        rp->grid[c].first = first;
        if (rp->grid[c].count > 0)
            rp->grid[c].key = rp->keys[first];
        first += rp->grid[c].count;
    }
}

/* Pass 3 on one block of len entries starting at chunk offset off, given their grid cells:
 * every negative with u >= -δ (one positive reaches it) is counted in its bucket and listed
 * from cand[k]. A block of negatives whose cells span no key is one bucket: counted at once.
 * Returns the new k. */
static int64_t rank_bucket_block(const rank_pairs *rp, const float *restrict s,
                                 const int8_t *restrict t, const int32_t *restrict cell,
                                 int64_t len, uint32_t off, rank_cell *restrict cells,
                                 rank_cand *restrict cand, int64_t k)
{
    const double cut = rp->keys[0];
    int all_neg = 1;
    int32_t lo = cell[0], hi = cell[0];
    for (int64_t i = 0; i < len; i++) {
        all_neg &= t[i] == 0;
        lo = cell[i] < lo ? cell[i] : lo;
        hi = cell[i] > hi ? cell[i] : hi;
    }
    const rank_grid_cell g = rp->grid[lo];
    // cells lo..hi hold no key, and keys[0] lies below them: every entry passes it
    if (all_neg && g.first == rp->grid[hi].first && rp->grid[hi].count == 0 && g.first > 0) {
        double part[RANK_LANES] = {0.0};
        for (int64_t i = 0; i < len; i++)
            part[i % RANK_LANES] += s[i];
        rank_cell *bucket = cells + (int64_t)g.first * RANK_LANES;
        bucket->cnt += (double)len;
        bucket->sum += (part[0] + part[1]) + (part[2] + part[3]);
        for (int64_t i = 0; i < len; i++)
            cand[k + i] = (rank_cand){off + (uint32_t)i, (uint32_t)g.first};
        return k + len;
    }
    for (int64_t i = 0; i < len; i++) {
        const double v = s[i];
        if (t[i] == 0 && v >= cut) {
            const uint32_t m = rank_bucket(rp, cell[i], v);
            rank_cell *bucket = cells + (int64_t)m * RANK_LANES + (k & (RANK_LANES - 1));
            bucket->cnt += 1.0;
            bucket->sum += v;
            cand[k++] = (rank_cand){off + (uint32_t)i, m};
        }
    }
    return k;
}

/* Pass 3 over chunk c: grad = 0, and the candidate negatives bucketed, block by block; blocks
 * without one are passed over after a vectorised test. */
static void rank_bucket_chunk(rank_pairs *rp, const loss_inputs *in, int c, rank_cell *cells,
                              float *grad)
{
    const int64_t K = rp->nbreak, b = rank_chunk_begin(rp->n, rp->nchunks, c),
                  e = rank_chunk_begin(rp->n, rp->nchunks, c + 1);
    const float *restrict s = in->scores;
    const int8_t *restrict t = in->labels;
    // a float at or below every score that passes the exact test v >= keys[0]
    const float cut_f = nextafterf((float)rp->keys[0], -INFINITY);
    const float x0 = rp->grid_x0, scale = rp->grid_scale, top = rp->grid_top;
    memset(cells, 0, (size_t)(RANK_LANES * (K + 1)) * sizeof *cells);
    memset(grad + b, 0, (size_t)(e - b) * sizeof *grad);
    int64_t k = 0;
    for (int64_t blk = b; blk < e; blk += RANK_BLOCK) {
        const int64_t len = e - blk < RANK_BLOCK ? e - blk : RANK_BLOCK;
        int any = 0;
        for (int64_t i = blk; i < blk + len; i++)
            any |= (s[i] >= cut_f) & (t[i] == 0);
        if (!any)
            continue;
        int32_t cell[RANK_BLOCK];
        for (int64_t i = 0; i < len; i++)
            cell[i] = rank_grid_index(s[blk + i], x0, scale, top);
        k = rank_bucket_block(rp, s + blk, t + blk, cell, len, (uint32_t)(blk - b), cells,
                              rp->cand + b, k);
    }
    rp->chunk_ncand[c] = k;
    for (int64_t m = 0; m <= K; m++)  // fold the lanes into the first, in a fixed order
        for (int l = 1; l < RANK_LANES; l++) {
            cells[m * RANK_LANES].cnt += cells[m * RANK_LANES + l].cnt;
            cells[m * RANK_LANES].sum += cells[m * RANK_LANES + l].sum;
        }
}

/* In place: per-bucket counts and sums become sums over buckets 0..m. */
static void rank_prefix(double *cnt, rank_dd *sum, int64_t K)
{
    double c = 0.0;
    rank_dd s = {0.0, 0.0};
    for (int64_t m = 0; m <= K; m++) {
        c += cnt[m];
        rank_dd_add(&s, sum[m].hi);
        s.lo += sum[m].lo;
        cnt[m] = c;
        sum[m] = s;
    }
}

/* Prefix sums over buckets: negatives from the chunks' cells (bucket totals over the chunks
 * in chunk order), positives from their own buckets. */
static void rank_prefix_buckets(const rank_pairs *rp, rank_tmp *t)
{
    const int64_t K = rp->nbreak, P = rp->num_pos, per_chunk = RANK_LANES * (K + 1);
#pragma omp parallel for schedule(static) if (rp->nchunks > 1 && K >= 4096)
    for (int64_t m = 0; m <= K; m++) {
        double cnt = 0.0;
        rank_dd sum = {0.0, 0.0};
        for (int c = 0; c < rp->nchunks; c++) {
            const rank_cell *cell = t->cells + c * per_chunk + m * RANK_LANES;
            cnt += cell->cnt;
            rank_dd_add(&sum, cell->sum);
        }
        t->ncnt[m] = cnt;
        t->nsum[m] = sum;
    }
    rank_prefix(t->ncnt, t->nsum, K);
    memset(t->pcnt, 0, (size_t)(K + 1) * sizeof *t->pcnt);
    memset(t->psum, 0, (size_t)(K + 1) * sizeof *t->psum);
    for (int64_t i = 0; i < P; i++) {
        const uint32_t m = rank_search(rp->keys, K, rp->pos[i].score);
        t->pcnt[m] += 1.0;
        rank_dd_add(&t->psum[m], rp->pos[i].score);
    }
    rank_prefix(t->pcnt, t->psum, K);
}

/* Σ over the values counted in cnt/sum of f(v - s_i) for positive i: the linear buckets
 * (lo, hi] give 1/2 + β(v - s_i) each, the buckets above hi give 1. */
static double rank_step_sum(const double *cnt, const rank_dd *sum, int64_t K, int32_t lo,
                            int32_t hi, double si, double beta)
{
    double lin = cnt[hi] - cnt[lo], sat = cnt[K] - cnt[hi];
    double centred = rank_dd_diff(sum[hi], sum[lo]) - si * lin;  // Σ_lin (v - s_i)
    return sat + 0.5 * lin + beta * centred;
}

/* Sizes and the pass-1 results into rp; LOSS_OK with rp->num_pos = 0 when done already. */
static loss_status rank_begin(rank_pairs *rp, const loss_inputs *in, rank_scan *scan, int *na,
                              float *grad, loss_result *out)
{
    memset(rp, 0, sizeof *rp);
    rp->scores = in->scores;
    rp->n = in->n;
    *na = rank_chunk_count(in->n, 0);
    loss_status st = rank_validate(in, *na, scan, out);
    if (st != LOSS_OK)
        return st;
    rp->num_neg = out->num_neg;
    if (out->num_pos == 0) {
        loss_zero_update(in->n, grad, out);
        return LOSS_OK;
    }
    RD_CHECK(out->num_pos < ((int64_t)1 << 28), "%lld positives: at most 2^28 are supported",
             (long long)out->num_pos);
    rp->num_pos = out->num_pos;
    rp->nbreak = 2 * rp->num_pos;
    rp->grid_cells = RANK_GRID_PER_KEY * rp->nbreak < RANK_GRID_MAX
                         ? RANK_GRID_PER_KEY * rp->nbreak : RANK_GRID_MAX;
    rp->nchunks = rank_chunk_count(in->n, RANK_LANES * (rp->nbreak + 1));
    return LOSS_OK;
}

loss_status rank_pairs_build(rank_pairs *rp, const loss_inputs *in, double delta, rd_arena *ws,
                             float *grad, loss_result *out)
{
    RD_CHECK(delta >= 0.0 && isfinite(delta), "delta must be finite and >= 0 (got %g)", delta);
    rank_scan scan[RANK_CHUNKS_MAX];
    int na;
    loss_status st = rank_begin(rp, in, scan, &na, grad, out);
    if (st != LOSS_OK || rp->num_pos == 0)
        return st;
    rp->beta = delta > 0.0 ? 0.5 / delta : 0.0;
    rank_tmp t;
    rd_arena_reserve(ws, rank_layout(rp, &t, NULL));
    rank_layout(rp, &t, ws);
    rank_gather_positives(rp, in, na, scan);
    rank_place_breakpoints(rp, delta);
    rank_build_grid(rp);
    const int64_t per_chunk = RANK_LANES * (rp->nbreak + 1);
#pragma omp parallel for schedule(static) if (rp->nchunks > 1)
    for (int c = 0; c < rp->nchunks; c++)
        rank_bucket_chunk(rp, in, c, t.cells + c * per_chunk, grad);
    rank_prefix_buckets(rp, &t);
    for (int64_t i = 0; i < rp->num_pos; i++) {
        const int32_t lo = rp->lo[i], hi = rp->hi[i];
        const double si = rp->pos[i].score;
        const double b = rank_step_sum(t.ncnt, t.nsum, rp->nbreak, lo, hi, si, rp->beta);
        rp->pos_b[i] = b > 0.0 ? b : 0.0;  // rounding may leave -1e-17 where the sum is 0
        rp->pos_a[i] = 0.5 + rank_step_sum(t.pcnt, t.psum, rp->nbreak, lo, hi, si, rp->beta);
    }
    return LOSS_OK;
}

/* Per-bucket linear coefficients of g(v) = Σ_i w_i f(v - s_i): walking the breakpoints
 * upwards, positive i enters its linear part (w_i(1/2 - β s_i) + w_i β v) at its lower key and
 * saturates (w_i) at its upper key. */
static void rank_coefficients(rank_pairs *rp)
{
    rank_dd c = {0.0, 0.0}, d = {0.0, 0.0};
    rp->coef_c[0] = rp->coef_d[0] = 0.0;
    for (int64_t k = 0; k < rp->nbreak; k++) {
        const int32_t o = rp->owner[k], i = o >= 0 ? o : ~o;
        const double w = rp->weight[i], lin_c = w * (0.5 - rp->beta * rp->pos[i].score),
                     lin_d = w * rp->beta;
        if (o >= 0) {
            rank_dd_add(&c, lin_c);
            rank_dd_add(&d, lin_d);
        } else {
            rank_dd_add(&c, -lin_c);
            rank_dd_add(&c, w);
            rank_dd_add(&d, -lin_d);
        }
        rp->coef_c[k + 1] = c.hi + c.lo;
        rp->coef_d[k + 1] = d.hi + d.lo;
    }
}

void rank_pairs_scatter(rank_pairs *rp, float *grad)
{
    RD_CHECK(rp->num_pos > 0, "rank_pairs_scatter needs a batch with positives");
    rank_coefficients(rp);
    const float *restrict s = rp->scores;
    const double *restrict cc = rp->coef_c, *restrict cd = rp->coef_d;
#pragma omp parallel for schedule(static) if (rp->nchunks > 1)
    for (int c = 0; c < rp->nchunks; c++) {
        const int64_t b = rank_chunk_begin(rp->n, rp->nchunks, c);
        const rank_cand *restrict cand = rp->cand + b;
        float *restrict g = grad + b;
        for (int64_t k = 0; k < rp->chunk_ncand[c]; k++) {
            const uint32_t j = cand[k].offset, m = cand[k].bucket;
            const double v = cc[m] + cd[m] * s[b + j];
            g[j] = (float)(v > 0.0 ? v : 0.0);  // exact value >= 0; clamp rounding residue
        }
    }
}
