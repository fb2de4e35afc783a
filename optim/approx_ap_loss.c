/* approx_ap_loss.c — the approximate-gradient AP baseline of the AP-loss paper (Chen et al.,
 * CVPR 2019, sec. 4.2.3): the step of AP is replaced by a sigmoid and the objective is
 * differentiated exactly. Log objective after Henderson & Ferrari (ACCV 2016), sigmoid
 * smoothing after Song et al. (CVPR 2016).
 *   sig(x) = 1 / (1 + exp(-x / tau))   (tau 0.5 has the slope of the delta = 1 step at 0)
 *   for a positive i:  A_i = 1 + sum_{k in P, k != i} sig(s_k - s_i),  B_i = sum_{j in N} sig(s_j - s_i),
 *                      R_i = A_i + B_i,   AP = (1/|P|) sum_i A_i / R_i,   J = -log(AP + eps)
 * loss = J and grad = dJ/ds exactly. With sig' = sig (1 - sig) / tau and
 * c_i = -1 / ((AP + eps) |P| R_i^2), from d(A/R) = (B dA - A dB) / R^2:
 *   positive i:  c_i (A_i sum_j sig'(s_j - s_i) - B_i sum_{k != i} sig'(s_k - s_i))
 *                + sum_{i' != i} c_{i'} B_{i'} sig'(s_i - s_{i'})
 *   negative j:  -sum_i c_i A_i sig'(s_j - s_i)
 * Cost O(|P| n) in the worst case. Pairs with |x| / tau > APPROX_CUT (sig below 2^-60 of 1)
 * are skipped: above the window sig is 1 to double precision and counted as exactly 1, below
 * it sig and every sig' term are dropped (each under 1e-18 / tau). All valid scores are
 * radix-sorted once, so each positive finds its window by binary search; positives are then
 * done in parallel, and so are the entries of the gradient pass. Every entry's sums run in a
 * fixed order, so the result is the same for any number of threads. */
#include "optim/loss.h"

#include <math.h>

#include "lib/check.h"
#include "optim/sort.h"

#define APPROX_CUT 41.6

/* The problem after sorting: valid entries ascending by score, and the positives among them. */
typedef struct approx_sorted {
    int64_t nvalid;           // |P| + |N|
    int64_t npos;             // |P|
    const float *score;       // [nvalid] scores ascending
    const int8_t *label;      // [nvalid] 1 or 0, in the same order
    const int64_t *pos_at;    // [npos] place of each positive in that order (ascending)
    const double *pos_score;  // [npos] the positives' scores, ascending
    double tau;
} approx_sorted;

/* Per-positive sums: A, B and the sig' sums over other positives and over negatives. */
typedef struct approx_stats {
    double *a, *b, *da, *db;  // each [npos]
} approx_stats;

/* First index in [lo, hi) of v[] (ascending) with (v[i] - s) / tau >= x, or hi. */
static int64_t approx_lower_f32(const float *v, int64_t lo, int64_t hi, double s, double tau, double x)
{
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (((double)v[mid] - s) / tau >= x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* First index in [0, n) of v[] (ascending) with (s - v[i]) / tau <= x, or n. */
static int64_t approx_lower_pos(const double *v, int64_t n, double s, double tau, double x)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if ((s - v[mid]) / tau <= x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* First index of pos_at[] at or after place v. */
static int64_t approx_pos_before(const int64_t *pos_at, int64_t npos, int64_t v)
{
    int64_t lo = 0, hi = npos;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (pos_at[mid] >= v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* sig'(x) of the scaled difference x = (s_m - s_i) / tau, and sig(x) into *sig. */
static double approx_sigmoid(double x, double tau, double *sig)
{
    double e = exp(-fabs(x));
    double r = 1.0 / (1.0 + e);
    *sig = x >= 0 ? r : e * r;
    return e * r * r / tau;
}

/* A, B and their sig' sums for the r-th positive (ascending score). */
static void approx_positive_stats(const approx_sorted *q, int64_t r, approx_stats *st)
{
    double s = q->pos_score[r];
    int64_t self = q->pos_at[r];
    int64_t lo = approx_lower_f32(q->score, 0, q->nvalid, s, q->tau, -APPROX_CUT);
    int64_t hi = approx_lower_f32(q->score, lo, q->nvalid, s, q->tau, nextafter(APPROX_CUT, INFINITY));
    int64_t pos_above = q->npos - approx_pos_before(q->pos_at, q->npos, hi);
    double a = 1.0 + (double)pos_above, b = (double)(q->nvalid - hi - pos_above);
    double da = 0.0, db = 0.0;
    for (int64_t v = lo; v < hi; v++) {
        if (v == self)
            continue;
        double sig, dsig = approx_sigmoid(((double)q->score[v] - s) / q->tau, q->tau, &sig);
        if (q->label[v] == 1) {
            a += sig;
            da += dsig;
        } else {
            b += sig;
            db += dsig;
        }
    }
    st->a[r] = a;
    st->b[r] = b;
    st->da[r] = da;
    st->db[r] = db;
}

/* sum over positives r' in the window of s (r' != skip) of coef[r'] sig'((s - s_r') / tau). */
static double approx_window_sum(const approx_sorted *q, const double *coef, double s, int64_t skip)
{
    int64_t lo = approx_lower_pos(q->pos_score, q->npos, s, q->tau, APPROX_CUT);
    double sum = 0.0, sig;
    for (int64_t r = lo; r < q->npos; r++) {
        double x = (s - q->pos_score[r]) / q->tau;
        if (x < -APPROX_CUT)
            break;
        if (r != skip)
            sum += coef[r] * approx_sigmoid(x, q->tau, &sig);
    }
    return sum;
}

/* Sort the valid entries and list the positives; every array comes from ws (reserved). */
static void approx_sort(const loss_inputs *in, const loss_result *res, rd_arena *ws, approx_sorted *q,
                        int64_t *pos_orig)
{
    int64_t nvalid = res->num_pos + res->num_neg, npos = res->num_pos;
    uint32_t *keys = rd_arena_push(ws, (size_t)nvalid * sizeof *keys);     // [nvalid]
    int64_t *idx = rd_arena_push(ws, (size_t)nvalid * sizeof *idx);        // [nvalid]
    void *scratch = rd_arena_push(ws, sort_radix_scratch_bytes(nvalid));
    float *score = rd_arena_push(ws, (size_t)nvalid * sizeof *score);      // [nvalid]
    int8_t *label = rd_arena_push(ws, (size_t)nvalid * sizeof *label);    // [nvalid]
    int64_t *pos_at = rd_arena_push(ws, (size_t)npos * sizeof *pos_at);    // [npos]
    double *pos_score = rd_arena_push(ws, (size_t)npos * sizeof *pos_score);  // [npos]

    int64_t v = 0;
    for (int64_t i = 0; i < in->n; i++)
        if (in->labels[i] >= 0) {
            keys[v] = sort_key_from_f32(in->scores[i]);
            idx[v++] = i;
        }
    sort_radix_u32(keys, idx, nvalid, scratch);
    int64_t r = 0;
    for (v = 0; v < nvalid; v++) {
        score[v] = in->scores[idx[v]];
        label[v] = in->labels[idx[v]];
        if (label[v] == 1) {
            pos_at[r] = v;
            pos_score[r] = score[v];
            pos_orig[r++] = idx[v];
        }
    }
    *q = (approx_sorted){nvalid, npos, score, label, pos_at, pos_score, 0.0};
}

static size_t approx_workspace_bytes(int64_t nvalid, int64_t npos)
{
    return rd_arena_align((size_t)nvalid * sizeof(uint32_t)) + rd_arena_align((size_t)nvalid * sizeof(int64_t)) +
           sort_radix_scratch_bytes(nvalid) + rd_arena_align((size_t)nvalid * sizeof(float)) +
           rd_arena_align((size_t)nvalid) + 2 * rd_arena_align((size_t)npos * sizeof(int64_t)) +
           8 * rd_arena_align((size_t)npos * sizeof(double));  // pos_score and seven per-positive arrays
}

/* Gradient of the positives (from their own sums and the other positives' windows) and of
 * the negatives; ignored entries get 0. */
static void approx_gradient(const loss_inputs *in, const approx_sorted *q, const approx_stats *st,
                            const double *coef_pos, const double *coef_neg, const double *c,
                            const int64_t *pos_orig, float *grad)
{
#pragma omp parallel for schedule(dynamic, 1024) if (in->n > 4096)
    for (int64_t i = 0; i < in->n; i++) {
        if (in->labels[i] == 0)
            grad[i] = (float)approx_window_sum(q, coef_neg, in->scores[i], -1);
        else if (in->labels[i] < 0)
            grad[i] = 0.0f;
    }
#pragma omp parallel for schedule(dynamic, 64) if (q->npos > 256)
    for (int64_t r = 0; r < q->npos; r++) {
        double own = c[r] * (st->a[r] * st->db[r] - st->b[r] * st->da[r]);
        grad[pos_orig[r]] = (float)(own + approx_window_sum(q, coef_pos, q->pos_score[r], r));
    }
}

loss_status approx_ap_loss_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                                   float *grad, loss_result *out)
{
    loss_status status = loss_scan(in, out);
    if (status != LOSS_OK)
        return status;
    if (out->num_pos == 0) {
        loss_zero_update(in->n, grad, out);
        return LOSS_OK;
    }
    RD_CHECK(p->tau > 0.0 && p->eps >= 0.0, "approx_ap needs tau > 0 and eps >= 0 (got %g, %g); "
             "validate flags first", p->tau, p->eps);
    int64_t npos = out->num_pos;
    rd_arena_reserve(ws, approx_workspace_bytes(out->num_pos + out->num_neg, npos));
    int64_t *pos_orig = rd_arena_push(ws, (size_t)npos * sizeof *pos_orig);  // [npos]
    approx_sorted q;
    approx_sort(in, out, ws, &q, pos_orig);
    q.tau = p->tau;
    size_t bytes = (size_t)npos * sizeof(double);
    approx_stats st = {rd_arena_push(ws, bytes), rd_arena_push(ws, bytes), rd_arena_push(ws, bytes),
                       rd_arena_push(ws, bytes)};
    double *coef_pos = rd_arena_push(ws, bytes);  // [npos] c_i B_i
    double *coef_neg = rd_arena_push(ws, bytes);  // [npos] -c_i A_i
    double *c = rd_arena_push(ws, bytes);         // [npos] c_i

#pragma omp parallel for schedule(dynamic, 16) if (npos > 64)
    for (int64_t r = 0; r < npos; r++)
        approx_positive_stats(&q, r, &st);
    double ap = 0.0;
    for (int64_t r = 0; r < npos; r++)
        ap += st.a[r] / (st.a[r] + st.b[r]);
    ap /= (double)npos;
    double denom = ap + p->eps;
    for (int64_t r = 0; r < npos; r++) {
        double rr = st.a[r] + st.b[r];
        c[r] = -1.0 / (denom * (double)npos * rr * rr);
        coef_pos[r] = c[r] * st.b[r];
        coef_neg[r] = -c[r] * st.a[r];
    }
    approx_gradient(in, &q, &st, coef_pos, coef_neg, c, pos_orig, grad);
    out->loss = -log(denom);
    return LOSS_OK;
}
