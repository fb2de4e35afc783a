/* approx_ap_loss.c — the approximate-gradient AP baseline of the AP-loss paper (Chen et al.,
 * CVPR 2019, sec. 4.2.3): the step of AP is replaced by a sigmoid and the objective is
 * differentiated exactly. Log objective after Henderson & Ferrari (ACCV 2016), sigmoid
 * smoothing after Song et al. (CVPR 2016).
 *   sig(x) = 1 / (1 + exp(-x / tau))   (tau 0.5 has the slope of the delta = 1 step at 0)
 *   for a positive i:  A_i = 1 + sum_{k in P, k != i} sig(s_k - s_i),
 *                      B_i = sum_{j in N} sig(s_j - s_i),   R_i = A_i + B_i,
 *                      AP = (1/|P|) sum_i A_i / R_i,   J = -log(AP + eps)
 * loss = J and grad = dJ/ds exactly. With sig' = sig (1 - sig) / tau and
 * c_i = -1 / ((AP + eps) |P| R_i^2), from d(A/R) = (B dA - A dB) / R^2:
 *   positive i:  c_i (A_i sum_j sig'(s_j - s_i) - B_i sum_{k != i} sig'(s_k - s_i))
 *                + sum_{i' != i} c_{i'} B_{i'} sig'(s_i - s_{i'})
 *   negative j:  -sum_i c_i A_i sig'(s_j - s_i)
 * Cost O(|P| n) in the worst case. Pairs with |x| / tau > APPROX_CUT (sig below 2^-60 of 1)
 * are skipped: above the window sig is 1 to double precision and counted as exactly 1, below
 * it sig and every sig' term are dropped (each under 1e-18 / tau). All valid scores are
 * radix-sorted once, so each positive finds its window by binary search.
 * When the scores span at most APPROX_SPAN temperatures (the usual case), each entry gets
 * E = exp((s - c) / tau) once, c the middle of the range, and a pair needs no exp:
 * sig(s_m - s_i) = E_m / (E_m + E_i), 1 - sig = E_i / (E_m + E_i); those loops are SIMD.
 * Otherwise every pair calls exp. Positives, then entries of the gradient pass, run in
 * parallel; each entry's sums have a fixed order, so any thread count gives the same bits. */
#include "optim/loss.h"

#include <math.h>

#include "lib/check.h"
#include "optim/sort.h"

#define APPROX_CUT 41.6
#define APPROX_SPAN 1400.0

/* The problem after sorting: valid entries ascending by score, and the positives among them. */
typedef struct approx_sorted {
    int64_t nvalid;           // |P| + |N|
    int64_t npos;             // |P|
    float *score;             // [nvalid] scores ascending
    int8_t *label;            // [nvalid] 1 or 0, in the same order
    double *ex;               // [nvalid] exp((score - center) / tau), when `factored`
    int64_t *pos_at;          // [npos] place of each positive in that order (ascending)
    double *pos_score;        // [npos] the positives' scores, ascending
    double *pos_ex;           // [npos] their ex
    int64_t *pos_orig;        // [npos] their index in the input
    double tau;
    double center;            // middle of the score range
    int factored;             // ex is filled and used
} approx_sorted;

/* Per-positive sums: A, B, the sig' sums over the other positives and over the negatives,
 * and the gradient coefficients. */
typedef struct approx_stats {
    double *a, *b, *da, *db;  // each [npos]
    double *c;                // [npos] c_i
    double *coef_pos;         // [npos] c_i B_i
    double *coef_neg;         // [npos] -c_i A_i
} approx_stats;

/* First index in [lo, hi) of v[] (ascending) with (v[i] - s) / tau >= x, or hi. */
static int64_t approx_lower_f32(const float *v, int64_t lo, int64_t hi, double s, double tau,
                                double x)
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

/* First index in [lo, hi) of v[] (ascending) with (s - v[i]) / tau <= x, or hi. */
static int64_t approx_lower_pos(const double *v, int64_t lo, int64_t hi, double s, double tau,
                                double x)
{
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

/* E of a score: exp((s - center) / tau). */
static double approx_ex(const approx_sorted *q, double s)
{
    return exp((s - q->center) / q->tau);
}

/* sig'(x) of the scaled difference x = (s_m - s_i) / tau, and sig(x) into *sig. */
static double approx_sigmoid(double x, double tau, double *sig)
{
    double e = exp(-fabs(x));
    double r = 1.0 / (1.0 + e);
    *sig = x >= 0 ? r : e * r;
    return e * r * r / tau;
}

/* Add the entries [from, to) to sums {A, B, dA, dB} of the positive with score s and ex e. */
static void approx_add_window(const approx_sorted *q, int64_t from, int64_t to, double s, double e,
                              double sums[4])
{
    double a = 0.0, b = 0.0, da = 0.0, db = 0.0;
    if (q->factored) {
        const double inv_tau = 1.0 / q->tau;
#pragma omp simd reduction(+ : a, b, da, db)
        for (int64_t v = from; v < to; v++) {
            double inv = 1.0 / (q->ex[v] + e), w = (double)q->label[v];
            double sig = q->ex[v] * inv, dsig = sig * (e * inv) * inv_tau;
            a += w * sig;
            b += (1.0 - w) * sig;
            da += w * dsig;
            db += (1.0 - w) * dsig;
        }
    } else {
        for (int64_t v = from; v < to; v++) {
            double sig, dsig = approx_sigmoid(((double)q->score[v] - s) / q->tau, q->tau, &sig);
            *(q->label[v] == 1 ? &a : &b) += sig;
            *(q->label[v] == 1 ? &da : &db) += dsig;
        }
    }
    sums[0] += a;
    sums[1] += b;
    sums[2] += da;
    sums[3] += db;
}

/* A, B and their sig' sums for the r-th positive (ascending score). */
static void approx_positive_stats(const approx_sorted *q, int64_t r, approx_stats *st)
{
    double s = q->pos_score[r], e = q->factored ? q->pos_ex[r] : 0.0;
    int64_t self = q->pos_at[r];
    int64_t lo = approx_lower_f32(q->score, 0, q->nvalid, s, q->tau, -APPROX_CUT);
    int64_t hi = approx_lower_f32(q->score, lo, q->nvalid, s, q->tau,
                                  nextafter(APPROX_CUT, INFINITY));
    int64_t pos_above = q->npos - approx_pos_before(q->pos_at, q->npos, hi);
    double sums[4] = {1.0 + (double)pos_above, (double)(q->nvalid - hi - pos_above), 0.0, 0.0};
    approx_add_window(q, lo, self, s, e, sums);
    approx_add_window(q, self + 1, hi, s, e, sums);
    st->a[r] = sums[0];
    st->b[r] = sums[1];
    st->da[r] = sums[2];
    st->db[r] = sums[3];
}

/* sum over positives r in [from, to) of coef[r] sig'(s - s_r); e is the ex of s. */
static double approx_add_coef(const approx_sorted *q, const double *coef, int64_t from, int64_t to,
                              double s, double e)
{
    double sum = 0.0, sig;
    if (q->factored) {
#pragma omp simd reduction(+ : sum)
        for (int64_t r = from; r < to; r++) {
            double inv = 1.0 / (e + q->pos_ex[r]);
            sum += coef[r] * (e * inv) * (q->pos_ex[r] * inv);
        }
        return sum / q->tau;
    }
    for (int64_t r = from; r < to; r++)
        sum += coef[r] * approx_sigmoid((s - q->pos_score[r]) / q->tau, q->tau, &sig);
    return sum;
}

/* sum over positives r != skip with |s - s_r| / tau <= APPROX_CUT of coef[r] sig'(s - s_r). */
static double approx_window_sum(const approx_sorted *q, const double *coef, double s, double e,
                                int64_t skip)
{
    int64_t lo = approx_lower_pos(q->pos_score, 0, q->npos, s, q->tau, APPROX_CUT);
    int64_t hi = approx_lower_pos(q->pos_score, lo, q->npos, s, q->tau,
                                  nextafter(-APPROX_CUT, -INFINITY));
    if (skip < lo || skip >= hi)
        return approx_add_coef(q, coef, lo, hi, s, e);
    return approx_add_coef(q, coef, lo, skip, s, e) + approx_add_coef(q, coef, skip + 1, hi, s, e);
}

static size_t approx_workspace_bytes(int64_t nvalid, int64_t npos)
{
    return rd_arena_align((size_t)nvalid * sizeof(uint32_t)) +
           rd_arena_align((size_t)nvalid * sizeof(int64_t)) + sort_radix_scratch_bytes(nvalid) +
           rd_arena_align((size_t)nvalid * sizeof(float)) +
           rd_arena_align((size_t)nvalid) + rd_arena_align((size_t)nvalid * sizeof(double)) +
           2 * rd_arena_align((size_t)npos * sizeof(int64_t)) +
           9 * rd_arena_align((size_t)npos * sizeof(double));  // pos_score, pos_ex, approx_stats
}

/* Sort the valid entries, list the positives, and fill ex when the span allows; every array
 * comes from ws (reserved). */
static void approx_sort(const loss_inputs *in, const loss_result *res, double tau, rd_arena *ws,
                        approx_sorted *q)
{
    int64_t nvalid = res->num_pos + res->num_neg, npos = res->num_pos;
    uint32_t *keys = rd_arena_push(ws, (size_t)nvalid * sizeof *keys);  // [nvalid]
    int64_t *idx = rd_arena_push(ws, (size_t)nvalid * sizeof *idx);     // [nvalid]
    void *scratch = rd_arena_push(ws, sort_radix_scratch_bytes(nvalid));
    q->nvalid = nvalid;
    q->npos = npos;
    q->tau = tau;
    q->score = rd_arena_push(ws, (size_t)nvalid * sizeof *q->score);
    q->label = rd_arena_push(ws, (size_t)nvalid * sizeof *q->label);
    q->ex = rd_arena_push(ws, (size_t)nvalid * sizeof *q->ex);
    q->pos_at = rd_arena_push(ws, (size_t)npos * sizeof *q->pos_at);
    q->pos_orig = rd_arena_push(ws, (size_t)npos * sizeof *q->pos_orig);
    q->pos_score = rd_arena_push(ws, (size_t)npos * sizeof *q->pos_score);
    q->pos_ex = rd_arena_push(ws, (size_t)npos * sizeof *q->pos_ex);

    int64_t v = 0;
    for (int64_t i = 0; i < in->n; i++)
        if (in->labels[i] >= 0) {
            keys[v] = sort_key_from_f32(in->scores[i]);
            idx[v++] = i;
        }
    sort_radix_u32(keys, idx, nvalid, scratch);
    double lowest = sort_f32_from_key(keys[0]), highest = sort_f32_from_key(keys[nvalid - 1]);
    q->center = 0.5 * (lowest + highest);
    q->factored = (highest - lowest) / tau <= APPROX_SPAN;
#pragma omp parallel for schedule(static) if (nvalid > 65536)
    for (v = 0; v < nvalid; v++) {
        q->score[v] = sort_f32_from_key(keys[v]);
        q->label[v] = in->labels[idx[v]];
        q->ex[v] = q->factored ? approx_ex(q, q->score[v]) : 0.0;
    }
    int64_t r = 0;
    for (v = 0; v < nvalid; v++)
        if (q->label[v] == 1) {
            q->pos_at[r] = v;
            q->pos_score[r] = q->score[v];
            q->pos_ex[r] = q->ex[v];
            q->pos_orig[r++] = idx[v];
        }
}

/* Per-positive sums, AP, and the coefficients c_i, c_i B_i, -c_i A_i; returns AP. */
static double approx_stats_compute(const approx_sorted *q, double eps, approx_stats *st)
{
    int64_t npos = q->npos;
#pragma omp parallel for schedule(dynamic, 16) if (npos > 64)
    for (int64_t r = 0; r < npos; r++)
        approx_positive_stats(q, r, st);
    double ap = 0.0;
    for (int64_t r = 0; r < npos; r++)
        ap += st->a[r] / (st->a[r] + st->b[r]);
    ap /= (double)npos;
    for (int64_t r = 0; r < npos; r++) {
        double rr = st->a[r] + st->b[r];
        st->c[r] = -1.0 / ((ap + eps) * (double)npos * rr * rr);
        st->coef_pos[r] = st->c[r] * st->b[r];
        st->coef_neg[r] = -st->c[r] * st->a[r];
    }
    return ap;
}

/* Gradient of the negatives and of the positives (their own sums and the other positives'
 * windows); ignored entries get 0. */
static void approx_gradient(const loss_inputs *in, const approx_sorted *q, const approx_stats *st,
                            float *grad)
{
#pragma omp parallel for schedule(dynamic, 1024) if (in->n > 4096)
    for (int64_t i = 0; i < in->n; i++) {
        if (in->labels[i] == 0) {
            double s = in->scores[i], e = q->factored ? approx_ex(q, s) : 0.0;
            grad[i] = (float)approx_window_sum(q, st->coef_neg, s, e, -1);
        } else if (in->labels[i] < 0) {
            grad[i] = 0.0f;
        }
    }
#pragma omp parallel for schedule(dynamic, 64) if (q->npos > 256)
    for (int64_t r = 0; r < q->npos; r++) {
        double own = st->c[r] * (st->a[r] * st->db[r] - st->b[r] * st->da[r]);
        double cross = approx_window_sum(q, st->coef_pos, q->pos_score[r], q->pos_ex[r], r);
        grad[q->pos_orig[r]] = (float)(own + cross);
    }
}

loss_status approx_ap_loss_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                                   float *grad, loss_result *out)
{
    loss_status status;
    if (loss_begin(in, grad, out, &status))
        return status;
    RD_CHECK(p->tau > 0.0 && p->eps >= 0.0, "approx_ap needs tau > 0 and eps >= 0 (got %g, %g); "
             "validate flags first", p->tau, p->eps);
    int64_t npos = out->num_pos;
    rd_arena_reserve(ws, approx_workspace_bytes(out->num_pos + out->num_neg, npos));
    approx_sorted q;
    approx_sort(in, out, p->tau, ws, &q);
    size_t bytes = (size_t)npos * sizeof(double);
    approx_stats st = {rd_arena_push(ws, bytes), rd_arena_push(ws, bytes), rd_arena_push(ws, bytes),
                       rd_arena_push(ws, bytes), rd_arena_push(ws, bytes), rd_arena_push(ws, bytes),
                       rd_arena_push(ws, bytes)};
    double ap = approx_stats_compute(&q, p->eps, &st);
    approx_gradient(in, &q, &st, grad);
    out->loss = -log(ap + p->eps);
    return LOSS_OK;
}
