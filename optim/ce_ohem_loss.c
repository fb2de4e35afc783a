/* ce_ohem_loss.c — sigmoid cross-entropy with online hard-negative mining, per positive.
 * Liu et al., "SSD: Single Shot MultiBox Detector", ECCV 2016, sec. 2.2 (hard negative mining,
 * 3 negatives per positive). CE(s, t) = softplus(s) - t s. Every positive counts; of the
 * negatives the k = neg_per_pos |P| with the largest CE are kept (all of them when fewer
 * exist). A negative's CE, softplus(s), increases with s, so those are the k largest scores;
 * ties at the cut-off go to the lower index. loss = (sum_pos CE + sum_kept CE) / |P|,
 * grad = (sigmoid(s) - t) / |P| on positives and kept negatives, 0 elsewhere.
 * The selection runs over the whole minibatch: the registry signature carries no image
 * boundaries, so this is SSD's 3:1 ratio per batch, not per image.
 * Selection is O(n): a radix select, three histogram passes over the order-preserving keys
 * of optim/sort.h (11, 11 and 10 bits). Per-chunk sums in chunk order keep the result the
 * same for any number of threads. */
#include "optim/loss.h"

#include <math.h>
#include <string.h>

#include "lib/check.h"
#include "optim/sort.h"

enum { OHEM_CHUNK = 1 << 14, OHEM_BUCKETS = 2048 };

/* Which negatives are kept: every one with key > key_cut, and the first ties_kept (in index
 * order) with key == key_cut; keep_all when k covers every negative. */
typedef struct ohem_cut {
    int keep_all;
    uint32_t key_cut;
    int64_t ties_kept;
    int64_t ties_total;
} ohem_cut;

/* hist[OHEM_BUCKETS] := counts of bits [shift, shift + width) of the negatives' keys whose
 * bits above shift + width equal those of prefix. */
static void ohem_histogram(const loss_inputs *in, uint32_t prefix, int shift, int width,
                           int64_t *hist)
{
    int hi = shift + width;
    uint32_t mask = (1u << width) - 1;
    memset(hist, 0, OHEM_BUCKETS * sizeof *hist);
#pragma omp parallel for schedule(static) reduction(+ : hist[:OHEM_BUCKETS]) if (in->n > OHEM_CHUNK)
    for (int64_t i = 0; i < in->n; i++) {
        if (in->labels[i] != 0)
            continue;
        uint32_t key = sort_key_from_f32(in->scores[i]);
        if ((uint64_t)key >> hi == (uint64_t)prefix >> hi)
            hist[(key >> shift) & mask]++;
    }
}

/* The cut-off of the k largest negative scores (0 <= k), by radix select. */
static ohem_cut ohem_select(const loss_inputs *in, int64_t k, int64_t num_neg, int64_t *hist)
{
    ohem_cut cut = {0};
    if (k >= num_neg) {
        cut.keep_all = 1;
        return cut;
    }
    if (k == 0) {
        cut.key_cut = UINT32_MAX;  // no negative is kept: no key is above, no tie is taken
        return cut;
    }
    static const int shifts[3] = {21, 10, 0}, widths[3] = {11, 11, 10};
    uint32_t prefix = 0;
    int64_t need = k;  // how many of the keys sharing `prefix` are still to keep
    for (int level = 0; level < 3; level++) {
        ohem_histogram(in, prefix, shifts[level], widths[level], hist);
        int64_t above = 0;
        int b = (1 << widths[level]) - 1;
        while (above + hist[b] < need)
            above += hist[b--];
        need -= above;
        prefix |= (uint32_t)b << shifts[level];
        cut.ties_total = hist[b];
    }
    cut.key_cut = prefix;
    cut.ties_kept = need;
    return cut;
}

/* ties_before[c] := negatives with key == key_cut in chunks before c. */
static void ohem_count_ties(const loss_inputs *in, uint32_t key_cut, int64_t nchunks,
                            int64_t *ties_before)
{
#pragma omp parallel for schedule(static) if (nchunks > 1)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t end = (c + 1) * OHEM_CHUNK < in->n ? (c + 1) * OHEM_CHUNK : in->n;
        int64_t count = 0;
        for (int64_t i = c * OHEM_CHUNK; i < end; i++)
            count += in->labels[i] == 0 && sort_key_from_f32(in->scores[i]) == key_cut;
        ties_before[c] = count;
    }
    int64_t run = 0;
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t count = ties_before[c];
        ties_before[c] = run;
        run += count;
    }
}

/* CE and update of one chunk; returns the chunk's summed CE. */
static double ohem_chunk(const loss_inputs *in, const ohem_cut *cut, int64_t c, int64_t ties_seen,
                         double inv_pos, float *grad)
{
    int64_t end = (c + 1) * OHEM_CHUNK < in->n ? (c + 1) * OHEM_CHUNK : in->n;
    double sum = 0.0;
    for (int64_t i = c * OHEM_CHUNK; i < end; i++) {
        int t = in->labels[i];
        double s = in->scores[i];
        int keep = t == 1;
        if (t == 0) {
            uint32_t key = sort_key_from_f32(in->scores[i]);
            keep = cut->keep_all || key > cut->key_cut;
            if (!keep && key == cut->key_cut)
                keep = ties_seen++ < cut->ties_kept;
        }
        if (!keep) {
            grad[i] = 0.0f;
            continue;
        }
        double e = exp(-fabs(s));
        double sig = s >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        sum += fmax(s, 0.0) + log1p(e) - t * s;
        grad[i] = (float)((sig - t) * inv_pos);
    }
    return sum;
}

loss_status ce_ohem_loss_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                                 float *grad, loss_result *out)
{
    loss_status st;
    if (loss_begin(in, grad, out, &st))
        return st;
    RD_CHECK(p->neg_per_pos >= 0, "ce_ohem needs neg_per_pos >= 0 (got %d); validate flags first",
             p->neg_per_pos);
    int64_t nchunks = (in->n + OHEM_CHUNK - 1) / OHEM_CHUNK;
    rd_arena_reserve(ws, rd_arena_align(OHEM_BUCKETS * sizeof(int64_t)) +
                             2 * rd_arena_align((size_t)nchunks * sizeof(double)));
    int64_t *hist = rd_arena_push(ws, OHEM_BUCKETS * sizeof(int64_t));            // [OHEM_BUCKETS]
    int64_t *ties_before = rd_arena_push(ws, (size_t)nchunks * sizeof(int64_t));  // [nchunks]
    double *partial = rd_arena_push(ws, (size_t)nchunks * sizeof(double));        // [nchunks]

    int64_t k = (int64_t)p->neg_per_pos * out->num_pos;
    ohem_cut cut = ohem_select(in, k, out->num_neg, hist);
    if (!cut.keep_all && cut.ties_kept < cut.ties_total)
        ohem_count_ties(in, cut.key_cut, nchunks, ties_before);
    else
        memset(ties_before, 0, (size_t)nchunks * sizeof *ties_before);

    double inv_pos = 1.0 / (double)out->num_pos;
#pragma omp parallel for schedule(static) if (nchunks > 1)
    for (int64_t c = 0; c < nchunks; c++)
        partial[c] = ohem_chunk(in, &cut, c, ties_before[c], inv_pos, grad);
    double total = 0.0;
    for (int64_t c = 0; c < nchunks; c++)
        total += partial[c];
    out->loss = total / (double)out->num_pos;
    return LOSS_OK;
}
