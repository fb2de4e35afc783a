/* hinge_ap_loss.c — structured hinge upper bound of the AP-loss.
 * Yue et al., "A Support Vector Method for Optimizing Average Precision", SIGIR 2007
 * (SVM-MAP); efficient loss-augmented inference after Mohapatra et al., "Efficient
 * Optimization for Rank-based Loss Functions", CVPR 2018.
 * Positives sorted by descending score s+_1 >= ... >= s+_P, negatives s-_1 >= ... >= s-_N.
 * A ranking R has R_ij = +1 when positive i is above negative j, else -1;
 *   F(R) = (1/(|P||N|)) sum_ij R_ij (s_i - s_j),   Delta(R) = 1 - AP(R) (eq. 5),
 *   loss = max_R [Delta(R) + F(R)] - F(R*),   R*: every positive above every negative.
 * An optimal R keeps both lists in score order and puts the j-th negative below exactly k_j
 * positives, k_j nondecreasing; then Delta = sum_j sum_{i > k_j} phi(i, j) with
 * phi(i, j) = i / (|P| (i+j) (i+j-1)), and each k_j maximises (relative to k = |P|)
 *   g_j(k) = sum_{i > k} [phi(i, j) - (2/(|P||N|)) (s+_i - s-_j)],
 * where sum_{i=k+1..P} i/((i+j)(i+j-1)) = (H_{P+j} - H_{k+j}) - (j-1) (1/(k+j) - 1/(P+j)).
 * The increments of g_j grow with j, so the smallest argmax k_j is nondecreasing in j:
 * divide and conquer over j with shrinking k ranges, O(N + P log N) evaluations, after
 * radix-sorting both lists (optim/sort.h; equal scores in index order). loss = sum_j g_j(k_j).
 * Subgradient: positive i gets -(2/(|P||N|)) #{j : k_j < i}, negative j gets
 * (2/(|P||N|)) (|P| - k_j); ignored entries 0; no negative: loss and update 0.
 * Gathering, the harmonic table, the inference (OpenMP tasks over j ranges) and the update
 * run in parallel over fixed chunks or ranges; each k_j depends only on its range, and sums
 * are added in chunk order, so the result is the same for any number of threads. */
#include "optim/loss.h"

#include <string.h>

#include "lib/check.h"
#include "optim/sort.h"

enum { HINGE_CHUNK = 1 << 16, HINGE_TASK_MIN = 1 << 14 };

/* Both lists sorted by descending score, and the tables g_j(k) needs. */
typedef struct hinge_sorted {
    int64_t npos, nneg;
    int64_t *pos_idx;          // [npos] original index of the i-th positive (descending)
    int64_t *neg_idx;          // [nneg] original index of the j-th negative (descending)
    uint32_t *pos_key;         // [npos] descending-order keys (~ order-preserving key)
    uint32_t *neg_key;         // [nneg]
    double *tail;              // [npos + 1] tail[k] = sum_{i > k} s+_i
    double *harmonic;          // [npos + nneg + 1] harmonic[m] = H_m
    double *partial;           // [nchunks of npos + nneg + 1] per-chunk sums
    double scale;              // 2 / (|P||N|)
} hinge_sorted;

static int64_t hinge_chunks(int64_t n)
{
    return (n + HINGE_CHUNK - 1) / HINGE_CHUNK;
}

static int64_t hinge_chunk_end(int64_t c, int64_t n)
{
    return (c + 1) * HINGE_CHUNK < n ? (c + 1) * HINGE_CHUNK : n;
}

/* g_j(k) of the header, for the 1-based negative j and k in [0, npos]. */
static double hinge_gain(const hinge_sorted *h, int64_t j, int64_t k)
{
    int64_t P = h->npos;
    double s_neg = sort_f32_from_key(~h->neg_key[j - 1]);
    double delta = (h->harmonic[P + j] - h->harmonic[k + j]) -
                   (double)(j - 1) * (1.0 / (double)(k + j) - 1.0 / (double)(P + j));
    return delta / (double)P - h->scale * (h->tail[k] - (double)(P - k) * s_neg);
}

/* k[j - 1] := smallest argmax of g_j over [klo, khi], for j in [jlo, jhi]. Large left halves
 * become OpenMP tasks (call inside a parallel region, or alone). */
static void hinge_assign(const hinge_sorted *h, int64_t jlo, int64_t jhi, int64_t klo, int64_t khi,
                         int64_t *k)
{
    while (jlo <= jhi) {
        if (klo == khi) {
            for (int64_t j = jlo; j <= jhi; j++)
                k[j - 1] = klo;
            return;
        }
        int64_t j = jlo + (jhi - jlo) / 2;
        int64_t best = klo;
        double best_gain = hinge_gain(h, j, klo);
        for (int64_t kk = klo + 1; kk <= khi; kk++) {
            double gain = hinge_gain(h, j, kk);
            if (gain > best_gain) {
                best_gain = gain;
                best = kk;
            }
        }
        k[j - 1] = best;
#pragma omp task if (j - jlo > HINGE_TASK_MIN)
        hinge_assign(h, jlo, j - 1, klo, best, k);
        jlo = j + 1;
        klo = best;
    }
}

/* harmonic[m] = H_m for m in [0, count): per-chunk running sums, then chunk offsets. */
static void hinge_harmonic(double *harmonic, int64_t count, double *partial)
{
    int64_t nchunks = hinge_chunks(count);
#pragma omp parallel for schedule(static) if (nchunks > 1)
    for (int64_t c = 0; c < nchunks; c++) {
        double run = 0.0;
        for (int64_t m = c * HINGE_CHUNK; m < hinge_chunk_end(c, count); m++) {
            run += m > 0 ? 1.0 / (double)m : 0.0;
            harmonic[m] = run;
        }
        partial[c] = run;
    }
    double offset = 0.0;
    for (int64_t c = 0; c < nchunks; c++) {
        double total = partial[c];
        partial[c] = offset;
        offset += total;
    }
#pragma omp parallel for schedule(static) if (nchunks > 1)
    for (int64_t c = 1; c < nchunks; c++)
        for (int64_t m = c * HINGE_CHUNK; m < hinge_chunk_end(c, count); m++)
            harmonic[m] += partial[c];
}

/* Positives' and negatives' descending keys and indices, in input order per label. */
static void hinge_gather(const loss_inputs *in, hinge_sorted *h, int64_t *pos_before,
                         int64_t *neg_before)
{
    int64_t nchunks = hinge_chunks(in->n);
#pragma omp parallel for schedule(static) if (nchunks > 1)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t pos = 0, neg = 0;
        for (int64_t i = c * HINGE_CHUNK; i < hinge_chunk_end(c, in->n); i++) {
            pos += in->labels[i] == 1;
            neg += in->labels[i] == 0;
        }
        pos_before[c] = pos;
        neg_before[c] = neg;
    }
    int64_t pos = 0, neg = 0;
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t cp = pos_before[c], cn = neg_before[c];
        pos_before[c] = pos;
        neg_before[c] = neg;
        pos += cp;
        neg += cn;
    }
#pragma omp parallel for schedule(static) if (nchunks > 1)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t ip = pos_before[c], jn = neg_before[c];
        for (int64_t i = c * HINGE_CHUNK; i < hinge_chunk_end(c, in->n); i++) {
            uint32_t key = ~sort_key_from_f32(in->scores[i]);
            if (in->labels[i] == 1) {
                h->pos_key[ip] = key;
                h->pos_idx[ip++] = i;
            } else if (in->labels[i] == 0) {
                h->neg_key[jn] = key;
                h->neg_idx[jn++] = i;
            }
        }
    }
}

static size_t hinge_workspace_bytes(int64_t n, int64_t npos, int64_t nneg)
{
    int64_t most = npos > nneg ? npos : nneg;
    return rd_arena_align((size_t)npos * sizeof(int64_t)) +
           rd_arena_align((size_t)nneg * sizeof(int64_t)) +
           rd_arena_align((size_t)npos * sizeof(uint32_t)) +
           rd_arena_align((size_t)nneg * sizeof(uint32_t)) +
           rd_arena_align((size_t)(npos + 1) * sizeof(double)) +
           rd_arena_align((size_t)(npos + nneg + 1) * sizeof(double)) +
           rd_arena_align((size_t)hinge_chunks(npos + nneg + 1) * sizeof(double)) +
           2 * rd_arena_align((size_t)hinge_chunks(n) * sizeof(int64_t)) +
           sort_radix_scratch_bytes(most) +
           rd_arena_align((size_t)nneg * sizeof(int64_t));
}

/* Gather, sort and tabulate; arrays are pushed from ws. */
static void hinge_sort(const loss_inputs *in, const loss_result *res, rd_arena *ws, hinge_sorted *h)
{
    int64_t P = res->num_pos, N = res->num_neg, nchunks = hinge_chunks(in->n);
    h->npos = P;
    h->nneg = N;
    h->pos_idx = rd_arena_push(ws, (size_t)P * sizeof(int64_t));
    h->neg_idx = rd_arena_push(ws, (size_t)N * sizeof(int64_t));
    h->pos_key = rd_arena_push(ws, (size_t)P * sizeof(uint32_t));
    h->neg_key = rd_arena_push(ws, (size_t)N * sizeof(uint32_t));
    h->tail = rd_arena_push(ws, (size_t)(P + 1) * sizeof(double));
    h->harmonic = rd_arena_push(ws, (size_t)(P + N + 1) * sizeof(double));
    h->partial = rd_arena_push(ws, (size_t)hinge_chunks(P + N + 1) * sizeof(double));
    int64_t *pos_before = rd_arena_push(ws, (size_t)nchunks * sizeof(int64_t));  // [nchunks]
    int64_t *neg_before = rd_arena_push(ws, (size_t)nchunks * sizeof(int64_t));  // [nchunks]
    void *scratch = rd_arena_push(ws, sort_radix_scratch_bytes(P > N ? P : N));
    h->scale = 2.0 / ((double)P * (double)N);

    hinge_gather(in, h, pos_before, neg_before);
    sort_radix_u32(h->pos_key, h->pos_idx, P, scratch);
    sort_radix_u32(h->neg_key, h->neg_idx, N, scratch);
    h->tail[P] = 0.0;
    for (int64_t k = P - 1; k >= 0; k--)
        h->tail[k] = h->tail[k + 1] + sort_f32_from_key(~h->pos_key[k]);
    hinge_harmonic(h->harmonic, P + N + 1, h->partial);
}

/* How many of k[0..n) (nondecreasing) are below v. */
static int64_t hinge_count_below(const int64_t *k, int64_t n, int64_t v)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (k[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Scatter the subgradient of the assignment k[nneg] and return the loss sum_j g_j(k_j)
 * (g_j(|P|) = 0 is not evaluated). */
static double hinge_update(const loss_inputs *in, const hinge_sorted *h, const int64_t *k,
                           float *grad)
{
    int64_t P = h->npos, N = h->nneg, nchunks = hinge_chunks(N);
#pragma omp parallel for schedule(static) if (in->n > HINGE_CHUNK)
    for (int64_t i = 0; i < in->n; i++)
        if (in->labels[i] < 0)
            grad[i] = 0.0f;
#pragma omp parallel for schedule(static) if (nchunks > 1)
    for (int64_t c = 0; c < nchunks; c++) {
        double sum = 0.0;
        for (int64_t j = c * HINGE_CHUNK; j < hinge_chunk_end(c, N); j++) {
            grad[h->neg_idx[j]] = (float)(h->scale * (double)(P - k[j]));
            if (k[j] < P)
                sum += hinge_gain(h, j + 1, k[j]);
        }
        h->partial[c] = sum;
    }
    double loss = 0.0;
    for (int64_t c = 0; c < nchunks; c++)
        loss += h->partial[c];
    for (int64_t i = 1; i <= P; i++)  // the i-th positive is below every negative with k_j < i
        grad[h->pos_idx[i - 1]] = (float)(-h->scale * (double)hinge_count_below(k, N, i));
    return loss;
}

loss_status hinge_ap_loss_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                                  float *grad, loss_result *out)
{
    (void)p;
    loss_status st;
    if (loss_begin(in, grad, out, &st))
        return st;
    if (out->num_neg == 0) {
        memset(grad, 0, (size_t)in->n * sizeof *grad);
        return LOSS_OK;
    }
    rd_arena_reserve(ws, hinge_workspace_bytes(in->n, out->num_pos, out->num_neg));
    hinge_sorted h;
    hinge_sort(in, out, ws, &h);
    int64_t *k = rd_arena_push(ws, (size_t)h.nneg * sizeof *k);  // [nneg]
#pragma omp parallel if (h.nneg > HINGE_TASK_MIN)
#pragma omp single
    hinge_assign(&h, 1, h.nneg, 0, h.npos, k);
    out->loss = hinge_update(in, &h, k, grad);
    return LOSS_OK;
}
