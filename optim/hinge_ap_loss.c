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
 * (2/(|P||N|)) (|P| - k_j); ignored entries 0; no negative: loss and update 0. */
#include "optim/loss.h"

#include <string.h>

#include "lib/check.h"
#include "optim/sort.h"

/* Both lists sorted by descending score, and the tables g_j(k) needs. */
typedef struct hinge_sorted {
    int64_t npos, nneg;
    int64_t *pos_idx;          // [npos] original index of the i-th positive (descending)
    int64_t *neg_idx;          // [nneg] original index of the j-th negative (descending)
    uint32_t *pos_key;         // [npos] descending-order keys (~ order-preserving key)
    uint32_t *neg_key;         // [nneg]
    double *tail;              // [npos + 1] tail[k] = sum_{i > k} s+_i
    double *harmonic;          // [npos + nneg + 1] harmonic[m] = H_m
    double scale;              // 2 / (|P||N|)
} hinge_sorted;

/* g_j(k) of the header, for the 1-based negative j and k in [0, npos]. */
static double hinge_gain(const hinge_sorted *h, int64_t j, int64_t k)
{
    int64_t P = h->npos;
    double s_neg = sort_f32_from_key(~h->neg_key[j - 1]);
    double delta = (h->harmonic[P + j] - h->harmonic[k + j]) -
                   (double)(j - 1) * (1.0 / (double)(k + j) - 1.0 / (double)(P + j));
    return delta / (double)P - h->scale * (h->tail[k] - (double)(P - k) * s_neg);
}

/* k[j - 1] := smallest argmax of g_j over [klo, khi], for j in [jlo, jhi]. */
static void hinge_assign(const hinge_sorted *h, int64_t jlo, int64_t jhi, int64_t klo, int64_t khi,
                         int64_t *k)
{
    while (jlo <= jhi) {
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
        hinge_assign(h, jlo, j - 1, klo, best, k);
        jlo = j + 1;
        klo = best;
    }
}

static size_t hinge_workspace_bytes(int64_t npos, int64_t nneg)
{
    int64_t most = npos > nneg ? npos : nneg;
    return rd_arena_align((size_t)npos * sizeof(int64_t)) + rd_arena_align((size_t)nneg * sizeof(int64_t)) +
           rd_arena_align((size_t)npos * sizeof(uint32_t)) + rd_arena_align((size_t)nneg * sizeof(uint32_t)) +
           rd_arena_align((size_t)(npos + 1) * sizeof(double)) +
           rd_arena_align((size_t)(npos + nneg + 1) * sizeof(double)) + sort_radix_scratch_bytes(most) +
           rd_arena_align((size_t)nneg * sizeof(int64_t)) + rd_arena_align((size_t)(npos + 1) * sizeof(int64_t));
}

/* Gather, sort and tabulate; arrays are pushed from ws. */
static void hinge_sort(const loss_inputs *in, const loss_result *res, rd_arena *ws, hinge_sorted *h)
{
    int64_t P = res->num_pos, N = res->num_neg;
    h->npos = P;
    h->nneg = N;
    h->pos_idx = rd_arena_push(ws, (size_t)P * sizeof(int64_t));
    h->neg_idx = rd_arena_push(ws, (size_t)N * sizeof(int64_t));
    h->pos_key = rd_arena_push(ws, (size_t)P * sizeof(uint32_t));
    h->neg_key = rd_arena_push(ws, (size_t)N * sizeof(uint32_t));
    h->tail = rd_arena_push(ws, (size_t)(P + 1) * sizeof(double));
    h->harmonic = rd_arena_push(ws, (size_t)(P + N + 1) * sizeof(double));
    void *scratch = rd_arena_push(ws, sort_radix_scratch_bytes(P > N ? P : N));
    h->scale = 2.0 / ((double)P * (double)N);

    int64_t ip = 0, in_ = 0;
    for (int64_t i = 0; i < in->n; i++) {
        uint32_t key = ~sort_key_from_f32(in->scores[i]);
        if (in->labels[i] == 1) {
            h->pos_key[ip] = key;
            h->pos_idx[ip++] = i;
        } else if (in->labels[i] == 0) {
            h->neg_key[in_] = key;
            h->neg_idx[in_++] = i;
        }
    }
    sort_radix_u32(h->pos_key, h->pos_idx, P, scratch);
    sort_radix_u32(h->neg_key, h->neg_idx, N, scratch);
    h->tail[P] = 0.0;
    for (int64_t k = P - 1; k >= 0; k--)
        h->tail[k] = h->tail[k + 1] + sort_f32_from_key(~h->pos_key[k]);
    h->harmonic[0] = 0.0;
    for (int64_t m = 1; m <= P + N; m++)
        h->harmonic[m] = h->harmonic[m - 1] + 1.0 / (double)m;
}

/* Scatter the subgradient of the assignment k[nneg] and return the loss sum_j g_j(k_j). */
static double hinge_update(const loss_inputs *in, const hinge_sorted *h, const int64_t *k,
                           int64_t *below, float *grad)
{
    int64_t P = h->npos, N = h->nneg;
    for (int64_t i = 0; i < in->n; i++)
        if (in->labels[i] < 0)
            grad[i] = 0.0f;
    memset(below, 0, (size_t)(P + 1) * sizeof *below);
    double loss = 0.0;
    for (int64_t j = 0; j < N; j++) {
        below[k[j]]++;
        grad[h->neg_idx[j]] = (float)(h->scale * (double)(P - k[j]));
        loss += hinge_gain(h, j + 1, k[j]);
    }
    int64_t above = 0;  // negatives j with k_j < i, for the i-th positive (1-based)
    for (int64_t i = 1; i <= P; i++) {
        above += below[i - 1];
        grad[h->pos_idx[i - 1]] = (float)(-h->scale * (double)above);
    }
    return loss;
}

loss_status hinge_ap_loss_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                                  float *grad, loss_result *out)
{
    (void)p;
    loss_status st = loss_scan(in, out);
    if (st != LOSS_OK)
        return st;
    if (out->num_pos == 0) {
        loss_zero_update(in->n, grad, out);
        return LOSS_OK;
    }
    if (out->num_neg == 0) {
        memset(grad, 0, (size_t)in->n * sizeof *grad);
        return LOSS_OK;
    }
    rd_arena_reserve(ws, hinge_workspace_bytes(out->num_pos, out->num_neg));
    hinge_sorted h;
    hinge_sort(in, out, ws, &h);
    int64_t *k = rd_arena_push(ws, (size_t)h.nneg * sizeof *k);            // [nneg]
    int64_t *below = rd_arena_push(ws, (size_t)(h.npos + 1) * sizeof *below);  // [npos + 1]
    hinge_assign(&h, 1, h.nneg, 0, h.npos, k);
    out->loss = hinge_update(in, &h, k, below, grad);
    return LOSS_OK;
}
