/* ap_loss.cu — the CUDA twin of optim/ap_loss.c: the exact AP-loss with the error-driven
 * update of Algorithm 1 (Chen et al., CVPR 2019), on device memory, with CUB.
 *
 * Same quantities as the CPU (see ap_loss.c and rank_pairs.h): with f the step of eq. 14,
 * for a positive i, a_i = 1/2 + Σ_{k∈P} f(s_k - s_i), b_i = Σ_{j∈N} f(s_j - s_i),
 * err_i = b_i/(a_i + b_i); with interpolation err_i becomes the running minimum over the
 * positives in ascending score order and the pair weights are scaled by min/err_i;
 * g_i = -err_i/|P|, w_i = scale_i/(a_i + b_i)/|P|, g_j = Σ_i w_i f(s_j - s_i), loss = Σ err_i/|P|.
 * The window edges are those of rank_pairs.c, compared in double: v is past the lower edge of
 * positive i when v >= s_i - δ and past its upper edge when v > s_i + δ (f = 1); in between
 * f = 1/2 + β(v - s_i), β = 1/(2δ) (δ = 0: only v = s_i, f = 1/2).
 *
 * Passes: (1) validate and count, with the first bad entry and the lowest positive score
 * (one host synchronisation); (2) select the positives (score, index) and the negatives that
 * some positive reaches (v >= min s_i - δ; a second synchronisation for their count);
 * (3) radix-sort both (stable, so tied positives keep index order as on the CPU); (4) per
 * positive, a_i and b_i by binary search in the sorted arrays and double-double prefix sums
 * of their scores; (5) a prefix-min scan for the interpolation, the weights, and
 * double-double prefix sums of w_i and w_i(1/2 - β s_i); (6) per negative, g_j by binary search
 * in the sorted positives; (7) the loss as a device sum. Indices are int64 throughout. */
#include <cuda_runtime.h>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_reduce.cuh>
#include <cub/device/device_scan.cuh>
#include <cub/device/device_select.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include <math.h>
#include <string.h>

extern "C" {
#include "optim/loss_cuda.h"
}

#include "lib/cuda_check.h"

#define AP_THREADS 256
#define AP_BLOCKS_MAX (1 << 15)  // grid-stride loops beyond this
#define AP_ALIGN 256
#define AP_NO_BAD (~0ull)

/* The unevaluated sum hi + lo. */
struct ap_dd {
    double hi, lo;
};

/* Prefix sums of the positives' weights w_i and of w_i(1/2 - β s_i). */
struct ap_dd2 {
    ap_dd w, c;
};

/* What pass 1 and the selections leave on the device; read back by the host. */
struct ap_header {
    unsigned long long npos, nneg;
    unsigned long long bad;   // 2·index, + 1 for a bad label: the first bad entry; AP_NO_BAD
    unsigned int minpos;      // order-preserving bits of the lowest positive score
    unsigned int pad;
    long long nsel[3];        // selected: positive scores, positive indices, candidates
    double err_sum;           // Σ_i err_i
};

/* Knuth's two-sum of two double-doubles, renormalised. */
__host__ __device__ inline ap_dd ap_dd_add(ap_dd a, ap_dd b)
{
    const double s = a.hi + b.hi, z = s - a.hi;
    const double e = (a.hi - (s - z)) + (b.hi - z) + (a.lo + b.lo);
    const double hi = s + e;
    return ap_dd{hi, e - (hi - s)};
}

__host__ __device__ inline double ap_dd_diff(ap_dd a, ap_dd b)
{
    return (a.hi - b.hi) + (a.lo - b.lo);
}

struct ap_dd_sum {
    __host__ __device__ ap_dd operator()(ap_dd a, ap_dd b) const { return ap_dd_add(a, b); }
};

struct ap_dd2_sum {
    __host__ __device__ ap_dd2 operator()(ap_dd2 a, ap_dd2 b) const
    {
        return ap_dd2{ap_dd_add(a.w, b.w), ap_dd_add(a.c, b.c)};
    }
};

struct ap_min {
    __host__ __device__ double operator()(double a, double b) const { return b < a ? b : a; }
};

struct ap_to_dd {
    __host__ __device__ ap_dd operator()(float x) const { return ap_dd{(double)x, 0.0}; }
};

struct ap_is_label {
    int want;
    __host__ __device__ bool operator()(int8_t l) const { return l == want; }
};

/* Entry i is a negative that some positive reaches: v >= min_P s - δ. */
struct ap_is_candidate {
    const float *scores;
    const int8_t *labels;
    double cut;
    __host__ __device__ bool operator()(int64_t i) const
    {
        return labels[i] == 0 && (double)scores[i] >= cut;
    }
};

typedef thrust::transform_iterator<ap_to_dd, const float *> ap_dd_iter;
typedef thrust::counting_iterator<int64_t> ap_index_iter;

/* Device views of one call, in ws->buf. */
struct ap_plan {
    float *pos_in, *pos;      // [P] positive scores in index order, sorted
    int64_t *idx_in, *idx;    // [P] their entries
    float *neg_in, *neg;      // [N] candidate negatives' scores, sorted (first nc used)
    ap_dd *pos_sum, *neg_sum; // [P+1], [N+1] prefix sums of the sorted scores
    double *err_raw, *err_min, *denom, *err;  // [P] b/(a+b), its prefix minimum, a+b, final
    ap_dd2 *wc_in, *wc;       // [P] per positive, [P+1] prefix sums
    void *temp;               // CUB scratch
    size_t temp_bytes;
    int64_t P, N, nc;         // positives, negatives, candidate negatives
};

static unsigned int ap_grid(int64_t n)
{
    int64_t b = (n + AP_THREADS - 1) / AP_THREADS;
    return (unsigned int)(b < 1 ? 1 : b > AP_BLOCKS_MAX ? AP_BLOCKS_MAX : b);
}

/* Float bits ordered as the floats (for atomicMin), and back. */
__device__ inline unsigned int ap_ordered(float v)
{
    const unsigned int u = __float_as_uint(v);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static float ap_unordered(unsigned int u)
{
    u = (u & 0x80000000u) ? (u & 0x7fffffffu) : ~u;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* How many of the ascending x[0..len) satisfy pred (pred true on a prefix). */
template <typename Pred>
__device__ inline int64_t ap_count_prefix(const float *x, int64_t len, Pred pred)
{
    int64_t lo = 0, hi = len;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (pred(x[mid]))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Pass 1: counts, the first bad entry (a non-finite score before a bad label, as loss_scan)
 * and the lowest positive score, reduced per warp then by atomics into h. */
__global__ void ap_scan_kernel(const float *s, const int8_t *t, int64_t n, ap_header *h)
{
    unsigned long long npos = 0, nneg = 0, bad = AP_NO_BAD;
    unsigned int minpos = ~0u;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float v = s[i];
        const int l = t[i];
        const bool finite = isfinite(v);
        const unsigned long long key = !finite ? 2ull * (unsigned long long)i
                                       : (l < -1 || l > 1) ? 2ull * (unsigned long long)i + 1
                                                           : AP_NO_BAD;
        bad = key < bad ? key : bad;
        npos += l == 1;
        nneg += l == 0;
        if (l == 1 && finite) {
            const unsigned int o = ap_ordered(v);
            minpos = o < minpos ? o : minpos;
        }
    }
    for (int off = 16; off > 0; off >>= 1) {
        npos += __shfl_down_sync(0xffffffffu, npos, off);
        nneg += __shfl_down_sync(0xffffffffu, nneg, off);
        const unsigned long long b = __shfl_down_sync(0xffffffffu, bad, off);
        const unsigned int m = __shfl_down_sync(0xffffffffu, minpos, off);
        bad = b < bad ? b : bad;
        minpos = m < minpos ? m : minpos;
    }
    if ((threadIdx.x & 31) == 0) {
        atomicAdd(&h->npos, npos);
        atomicAdd(&h->nneg, nneg);
        atomicMin(&h->bad, bad);
        atomicMin(&h->minpos, minpos);
    }
}

/* Σ over the values counted in [0, total) of f(v - s_i), given how many lie below the window
 * (lo) and at most its upper edge (hi): rank_pairs.c's rank_step_sum. */
__device__ inline double ap_step_sum(int64_t lo, int64_t hi, int64_t total, const ap_dd *sum,
                                     double si, double beta)
{
    const double lin = (double)(hi - lo), sat = (double)(total - hi);
    if (beta == 0.0)
        return sat + 0.5 * lin;
    const double centred = ap_dd_diff(sum[hi], sum[lo]) - si * lin;  // Σ_lin (v - s_i)
    return sat + 0.5 * lin + beta * centred;
}

/* Pass 4, one thread per positive i (ascending): a_i, b_i, err_i = b/(a+b) and a + b. */
__global__ void ap_pairs_kernel(ap_plan pl, double delta, double beta)
{
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= pl.P)
        return;
    const double si = pl.pos[i], kl = si - delta, ku = si + delta;
    auto below = [kl](float x) { return (double)x < kl; };
    auto at_most = [ku](float x) { return (double)x <= ku; };
    const int64_t nlo = ap_count_prefix(pl.neg, pl.nc, below);
    const int64_t nhi = ap_count_prefix(pl.neg, pl.nc, at_most);
    double b = ap_step_sum(nlo, nhi, pl.nc, pl.neg_sum, si, beta);
    b = b > 0.0 ? b : 0.0;  // rounding may leave -1e-17 where the sum is 0
    const int64_t plo = ap_count_prefix(pl.pos, pl.P, below);
    const int64_t phi = ap_count_prefix(pl.pos, pl.P, at_most);
    const double a = 0.5 + ap_step_sum(plo, phi, pl.P, pl.pos_sum, si, beta);
    pl.err_raw[i] = b / (a + b);  // 1 - prec_i, without cancellation
    pl.denom[i] = a + b;
}

/* Pass 5, one thread per positive: interpolation (err_min is the inclusive prefix minimum,
 * so min < err exactly when ap_loss.c scales), the positive's update and its weights. */
__global__ void ap_weights_kernel(ap_plan pl, int interp, double beta, float *grad)
{
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= pl.P)
        return;
    const double np = (double)pl.P, raw = pl.err_raw[i], m = pl.err_min[i];
    double err = raw, scale = 1.0;
    if (interp && m < raw) {
        scale = m / raw;
        err = m;
    }
    const double w = scale / pl.denom[i] / np;
    grad[pl.idx[i]] = (float)(-err / np);
    pl.err[i] = err;
    pl.wc_in[i] = ap_dd2{ap_dd{w, 0.0}, ap_dd{w * (0.5 - beta * (double)pl.pos[i]), 0.0}};
}

/* Pass 6 over every entry: negatives g_j = Σ_sat w_i + Σ_lin w_i(1/2 + β(v - s_i)) (clamped
 * at 0 as the CPU), ignored entries 0; positives were written by ap_weights_kernel. */
__global__ void ap_negatives_kernel(ap_plan pl, const float *s, const int8_t *t, int64_t n,
                                    double delta, double beta, float *grad)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += stride) {
        const int l = t[j];
        if (l == 1)
            continue;
        float g = 0.0f;
        const double v = s[j];
        const int64_t L = l == 0 ? ap_count_prefix(pl.pos, pl.P, [v, delta](float x) {
            return (double)x - delta <= v;
        }) : 0;
        if (L > 0) {
            const int64_t U = ap_count_prefix(pl.pos, pl.P, [v, delta](float x) {
                return (double)x + delta < v;
            });
            const ap_dd2 hi = pl.wc[L], lo = pl.wc[U];
            const double c = (lo.w.hi + lo.w.lo) + ap_dd_diff(hi.c, lo.c);
            const double d = beta * ap_dd_diff(hi.w, lo.w);
            const double x = c + d * v;
            g = (float)(x > 0.0 ? x : 0.0);
        }
        grad[j] = g;
    }
}

/* The largest CUB scratch of any step for n entries, P positives and N negatives. */
static size_t ap_temp_bytes(int64_t n, int64_t P, int64_t N)
{
    size_t need = 0, b = 0;
#define AP_TEMP(call)                              \
    do {                                           \
        b = 0;                                     \
        RD_CHECK_CUDA(call);                       \
        need = b > need ? b : need;                \
    } while (0)
    const float *cf = NULL;
    float *f = NULL;
    const int8_t *t = NULL;
    long long *cnt = NULL;
    AP_TEMP(cub::DeviceSelect::FlaggedIf(NULL, b, cf, t, f, cnt, n, ap_is_label{1}));
    AP_TEMP(cub::DeviceSelect::FlaggedIf(NULL, b, ap_index_iter(0), t, (int64_t *)NULL, cnt, n,
                                         ap_is_label{1}));
    AP_TEMP(cub::DeviceSelect::FlaggedIf(NULL, b, cf, ap_index_iter(0), f, cnt, n,
                                         ap_is_candidate{NULL, NULL, 0.0}));
    AP_TEMP(cub::DeviceRadixSort::SortPairs(NULL, b, cf, f, (const int64_t *)NULL,
                                            (int64_t *)NULL, P));
    AP_TEMP(cub::DeviceRadixSort::SortKeys(NULL, b, cf, f, N));
    AP_TEMP(cub::DeviceScan::InclusiveScan(NULL, b, ap_dd_iter(cf, ap_to_dd{}), (ap_dd *)NULL,
                                           ap_dd_sum{}, N > P ? N : P));
    AP_TEMP(cub::DeviceScan::InclusiveScan(NULL, b, (const double *)NULL, (double *)NULL,
                                           ap_min{}, P));
    AP_TEMP(cub::DeviceScan::InclusiveScan(NULL, b, (const ap_dd2 *)NULL, (ap_dd2 *)NULL,
                                           ap_dd2_sum{}, P));
    AP_TEMP(cub::DeviceReduce::Sum(NULL, b, (const double *)NULL, (double *)NULL, P));
#undef AP_TEMP
    return need;
}

/* Lay out the views of pl from base (NULL: only count); returns the bytes taken. */
static size_t ap_layout(ap_plan *pl, char *base)
{
    const size_t P = (size_t)pl->P, N = (size_t)pl->N;
    size_t off = 0;
#define AP_TAKE(ptr, count)                                                               \
    do {                                                                                  \
        (ptr) = base ? (decltype(ptr))(base + off) : NULL;                                \
        off += ((count) * sizeof *(ptr) + AP_ALIGN - 1) / AP_ALIGN * AP_ALIGN;            \
    } while (0)
    AP_TAKE(pl->pos_in, P);
    AP_TAKE(pl->pos, P);
    AP_TAKE(pl->idx_in, P);
    AP_TAKE(pl->idx, P);
    AP_TAKE(pl->neg_in, N);
    AP_TAKE(pl->neg, N);
    AP_TAKE(pl->pos_sum, P + 1);
    AP_TAKE(pl->neg_sum, N + 1);
    AP_TAKE(pl->err_raw, P);
    AP_TAKE(pl->err_min, P);
    AP_TAKE(pl->denom, P);
    AP_TAKE(pl->err, P);
    AP_TAKE(pl->wc_in, P);
    AP_TAKE(pl->wc, P + 1);
#undef AP_TAKE
    pl->temp = base ? base + off : NULL;
    return off + pl->temp_bytes;
}

/* Pass 1 and its read-back into *hh (synchronises the stream). */
static void ap_validate(const loss_inputs *in, ap_header *h, ap_header *hh, cudaStream_t st)
{
    RD_CHECK_CUDA(cudaMemsetAsync(h, 0, sizeof *h, st));
    RD_CHECK_CUDA(cudaMemsetAsync(&h->bad, 0xff, sizeof h->bad + sizeof h->minpos, st));
    ap_scan_kernel<<<ap_grid(in->n), AP_THREADS, 0, st>>>(in->scores, in->labels, in->n, h);
    RD_CHECK_LAUNCH();
    RD_CHECK_CUDA(cudaMemcpyAsync(hh, h, sizeof *hh, cudaMemcpyDeviceToHost, st));
    RD_CHECK_CUDA(cudaStreamSynchronize(st));
}

/* Pass 2: the positives (index order) and the candidate negatives; pl->nc is set
 * (synchronises the stream). */
static void ap_select(const loss_inputs *in, ap_plan *pl, ap_header *h, double cut,
                      cudaStream_t st)
{
    size_t tb = pl->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceSelect::FlaggedIf(pl->temp, tb, in->scores, in->labels, pl->pos_in,
                                               &h->nsel[0], in->n, ap_is_label{1}, st));
    tb = pl->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceSelect::FlaggedIf(pl->temp, tb, ap_index_iter(0), in->labels,
                                               pl->idx_in, &h->nsel[1], in->n, ap_is_label{1},
                                               st));
    tb = pl->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceSelect::FlaggedIf(pl->temp, tb, in->scores, ap_index_iter(0),
                                               pl->neg_in, &h->nsel[2], in->n,
                                               ap_is_candidate{in->scores, in->labels, cut},
                                               st));
    long long nsel[3];
    RD_CHECK_CUDA(cudaMemcpyAsync(nsel, h->nsel, sizeof nsel, cudaMemcpyDeviceToHost, st));
    RD_CHECK_CUDA(cudaStreamSynchronize(st));
    RD_CHECK(nsel[0] == pl->P && nsel[1] == pl->P && nsel[2] >= 0 && nsel[2] <= pl->N,
             "selected %lld and %lld positives of %lld, %lld negatives of %lld", nsel[0],
             nsel[1], (long long)pl->P, nsel[2], (long long)pl->N);
    pl->nc = nsel[2];
}

/* Prefix sums sum[0..len] of the ascending x[0..len), as double-doubles. */
static void ap_prefix_scores(const ap_plan *pl, const float *x, int64_t len, ap_dd *sum,
                             cudaStream_t st)
{
    RD_CHECK_CUDA(cudaMemsetAsync(sum, 0, sizeof *sum, st));
    if (len == 0)
        return;
    size_t tb = pl->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceScan::InclusiveScan(pl->temp, tb, ap_dd_iter(x, ap_to_dd{}),
                                                 sum + 1, ap_dd_sum{}, len, st));
}

/* Pass 3 and the score prefix sums (only the linear parts need them: δ > 0). */
static void ap_sort(const ap_plan *pl, double beta, cudaStream_t st)
{
    size_t tb = pl->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceRadixSort::SortPairs(pl->temp, tb, pl->pos_in, pl->pos,
                                                  pl->idx_in, pl->idx, pl->P, 0,
                                                  (int)sizeof(float) * 8, st));
    if (pl->nc > 0) {
        tb = pl->temp_bytes;
        RD_CHECK_CUDA(cub::DeviceRadixSort::SortKeys(pl->temp, tb, pl->neg_in, pl->neg, pl->nc,
                                                     0, (int)sizeof(float) * 8, st));
    }
    if (beta > 0.0) {
        ap_prefix_scores(pl, pl->pos, pl->P, pl->pos_sum, st);
        ap_prefix_scores(pl, pl->neg, pl->nc, pl->neg_sum, st);
    }
}

/* Passes 4, 5 and 7: errors, interpolation, weights and their prefix sums, the positives'
 * updates, Σ err into h->err_sum. */
static void ap_positives(const ap_plan *pl, const loss_params *p, double beta, float *grad,
                         ap_header *h, cudaStream_t st)
{
    const unsigned int blocks = (unsigned int)((pl->P + AP_THREADS - 1) / AP_THREADS);
    ap_pairs_kernel<<<blocks, AP_THREADS, 0, st>>>(*pl, p->delta, beta);
    RD_CHECK_LAUNCH();
    size_t tb = pl->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceScan::InclusiveScan(pl->temp, tb, (const double *)pl->err_raw,
                                                 pl->err_min, ap_min{}, pl->P, st));
    ap_weights_kernel<<<blocks, AP_THREADS, 0, st>>>(*pl, p->interp, beta, grad);
    RD_CHECK_LAUNCH();
    RD_CHECK_CUDA(cudaMemsetAsync(pl->wc, 0, sizeof *pl->wc, st));
    tb = pl->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceScan::InclusiveScan(pl->temp, tb, (const ap_dd2 *)pl->wc_in,
                                                 pl->wc + 1, ap_dd2_sum{}, pl->P, st));
    tb = pl->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceReduce::Sum(pl->temp, tb, (const double *)pl->err, &h->err_sum,
                                         pl->P, st));
}

/* The counts of pass 1 into out; returns the status (out->bad_index on an error). */
static loss_status ap_read_scan(const ap_header *hh, loss_result *out)
{
    memset(out, 0, sizeof *out);
    if (hh->bad != AP_NO_BAD) {
        out->bad_index = (int64_t)(hh->bad >> 1);
        return (hh->bad & 1) ? LOSS_ERR_LABEL : LOSS_ERR_NONFINITE;
    }
    out->num_pos = (int64_t)hh->npos;
    out->num_neg = (int64_t)hh->nneg;
    return LOSS_OK;
}

loss_status ap_loss_cuda_compute(const loss_inputs *in, const loss_params *p, loss_cuda_ws *ws,
                                 float *grad, loss_result *out, void *stream)
{
    RD_CHECK(p->delta >= 0.0 && isfinite(p->delta), "delta must be finite and >= 0 (got %g)",
             p->delta);
    RD_CHECK(in->n >= 0, "a batch of %lld entries", (long long)in->n);
    cudaStream_t st = (cudaStream_t)stream;
    ap_header *h = (ap_header *)loss_cuda_ws_header(ws, sizeof(ap_header)), hh;
    ap_validate(in, h, &hh, st);
    loss_status status = ap_read_scan(&hh, out);
    if (status != LOSS_OK)
        return status;
    if (out->num_pos == 0) {
        if (in->n > 0)
            RD_CHECK_CUDA(cudaMemsetAsync(grad, 0, (size_t)in->n * sizeof *grad, st));
        RD_CHECK_CUDA(cudaStreamSynchronize(st));
        out->no_positive = 1;
        return LOSS_OK;
    }
    RD_CHECK(out->num_pos < ((int64_t)1 << 28), "%lld positives: at most 2^28 are supported",
             (long long)out->num_pos);
    ap_plan pl;
    memset(&pl, 0, sizeof pl);
    pl.P = out->num_pos;
    pl.N = out->num_neg;
    pl.temp_bytes = ap_temp_bytes(in->n, pl.P, pl.N);
    ap_layout(&pl, (char *)loss_cuda_ws_reserve(ws, ap_layout(&pl, NULL)));
    const double beta = p->delta > 0.0 ? 0.5 / p->delta : 0.0;
    ap_select(in, &pl, h, (double)ap_unordered(hh.minpos) - p->delta, st);
    ap_sort(&pl, beta, st);
    ap_positives(&pl, p, beta, grad, h, st);
    ap_negatives_kernel<<<ap_grid(in->n), AP_THREADS, 0, st>>>(pl, in->scores, in->labels,
                                                                in->n, p->delta, beta, grad);
    RD_CHECK_LAUNCH();
    double err_sum = 0.0;
    RD_CHECK_CUDA(cudaMemcpyAsync(&err_sum, &h->err_sum, sizeof err_sum, cudaMemcpyDeviceToHost,
                                  st));
    RD_CHECK_CUDA(cudaStreamSynchronize(st));
    out->loss = err_sum / (double)pl.P;
    return LOSS_OK;
}
