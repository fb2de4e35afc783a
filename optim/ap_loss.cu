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

#include <cub/device/device_reduce.cuh>
#include <cub/device/device_scan.cuh>

#include <math.h>
#include <string.h>

#include "optim/loss_cuda_impl.h"

#define AP_THREADS LOSS_CUDA_THREADS

typedef loss_cuda_dd ap_dd;

/* Prefix sums of the positives' weights w_i and of w_i(1/2 - β s_i). */
struct ap_dd2 {
    ap_dd w, c;
};

/* What the pass after validation leaves on the device; read back by the host. */
struct ap_header {
    loss_cuda_scan_header scan;
    long long nsel[3];        // selected: positive scores, positive indices, candidates
    double err_sum;           // Σ_i err_i
};

struct ap_dd2_sum {
    __host__ __device__ ap_dd2 operator()(ap_dd2 a, ap_dd2 b) const
    {
        return ap_dd2{loss_cuda_dd_add(a.w, b.w), loss_cuda_dd_add(a.c, b.c)};
    }
};

struct ap_min {
    __host__ __device__ double operator()(double a, double b) const { return b < a ? b : a; }
};

/* Device views of one call, in ws->buf. */
struct ap_plan {
    loss_cuda_rank r;         // sorted positives and candidate negatives
    double *err_raw, *err_min, *denom, *err;  // [P] b/(a+b), its prefix minimum, a+b, final
    ap_dd2 *wc_in, *wc;       // [P] per positive, [P+1] prefix sums
};

/* Pass 4, one thread per positive i (ascending): a_i, b_i, err_i = b/(a+b) and a + b. */
__global__ void ap_pairs_kernel(ap_plan pl, double delta, double beta)
{
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= pl.r.P)
        return;
    const double si = pl.r.pos[i], kl = si - delta, ku = si + delta;
    auto below = [kl](float x) { return (double)x < kl; };
    auto at_most = [ku](float x) { return (double)x <= ku; };
    const int64_t nlo = loss_cuda_count_prefix(pl.r.neg, pl.r.nc, below);
    const int64_t nhi = loss_cuda_count_prefix(pl.r.neg, pl.r.nc, at_most);
    double b = loss_cuda_step_sum(nlo, nhi, pl.r.nc, pl.r.neg_sum, si, beta);
    b = b > 0.0 ? b : 0.0;  // rounding may leave -1e-17 where the sum is 0
    const int64_t plo = loss_cuda_count_prefix(pl.r.pos, pl.r.P, below);
    const int64_t phi = loss_cuda_count_prefix(pl.r.pos, pl.r.P, at_most);
    const double a = 0.5 + loss_cuda_step_sum(plo, phi, pl.r.P, pl.r.pos_sum, si, beta);
    pl.err_raw[i] = b / (a + b);  // 1 - prec_i, without cancellation
    pl.denom[i] = a + b;
}

/* Pass 5, one thread per positive: interpolation (err_min is the inclusive prefix minimum,
 * so min < err exactly when ap_loss.c scales), the positive's update and its weights. */
__global__ void ap_weights_kernel(ap_plan pl, int interp, double beta, float *grad)
{
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= pl.r.P)
        return;
    const double np = (double)pl.r.P, raw = pl.err_raw[i], m = pl.err_min[i];
    double err = raw, scale = 1.0;
    if (interp && m < raw) {
        scale = m / raw;
        err = m;
    }
    const double w = scale / pl.denom[i] / np;
    grad[pl.r.idx[i]] = (float)(-err / np);
    pl.err[i] = err;
    pl.wc_in[i] = ap_dd2{ap_dd{w, 0.0}, ap_dd{w * (0.5 - beta * (double)pl.r.pos[i]), 0.0}};
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
        int64_t U = 0;
        const int64_t L = l == 0 ? loss_cuda_reach(pl.r.pos, pl.r.P, v, delta, &U) : 0;
        if (L > 0) {
            const ap_dd2 hi = pl.wc[L], lo = pl.wc[U];
            const double c = (lo.w.hi + lo.w.lo) + loss_cuda_dd_diff(hi.c, lo.c);
            const double d = beta * loss_cuda_dd_diff(hi.w, lo.w);
            const double x = c + d * v;
            g = (float)(x > 0.0 ? x : 0.0);
        }
        grad[j] = g;
    }
}


/* The largest CUB scratch of any step for n entries, P positives and N negatives. */
static size_t ap_temp_bytes(int64_t n, int64_t P, int64_t N)
{
    size_t need = loss_cuda_rank_temp_bytes(n, P, N), b = 0;
    const double *cd = NULL;
    double *d = NULL;
    const ap_dd2 *cw = NULL;
    ap_dd2 *w = NULL;
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceScan::InclusiveScan(NULL, b, cd, d, ap_min{}, P));
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceScan::InclusiveScan(NULL, b, cw, w, ap_dd2_sum{}, P));
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceReduce::Sum(NULL, b, cd, d, P));
    return need;
}

/* Lay out the views of pl from base (NULL: only count); returns the bytes taken. */
static size_t ap_layout(ap_plan *pl, char *base)
{
    const size_t P = (size_t)pl->r.P;
    size_t off = 0;
    loss_cuda_rank_layout(&pl->r, base, &off);
    LOSS_CUDA_TAKE(base, off, pl->err_raw, P);
    LOSS_CUDA_TAKE(base, off, pl->err_min, P);
    LOSS_CUDA_TAKE(base, off, pl->denom, P);
    LOSS_CUDA_TAKE(base, off, pl->err, P);
    LOSS_CUDA_TAKE(base, off, pl->wc_in, P);
    LOSS_CUDA_TAKE(base, off, pl->wc, P + 1);
    pl->r.temp = base ? base + off : NULL;
    return off + pl->r.temp_bytes;
}

/* Passes 4, 5 and 7: errors, interpolation, weights and their prefix sums, the positives'
 * updates, Σ err into h->err_sum. */
static void ap_positives(const ap_plan *pl, const loss_params *p, double beta, float *grad,
                         ap_header *h, cudaStream_t st)
{
    const unsigned int blocks = (unsigned int)((pl->r.P + AP_THREADS - 1) / AP_THREADS);
    ap_pairs_kernel<<<blocks, AP_THREADS, 0, st>>>(*pl, p->delta, beta);
    RD_CHECK_LAUNCH();
    size_t tb = pl->r.temp_bytes;
    RD_CHECK_CUDA(cub::DeviceScan::InclusiveScan(pl->r.temp, tb, (const double *)pl->err_raw,
                                                 pl->err_min, ap_min{}, pl->r.P, st));
    ap_weights_kernel<<<blocks, AP_THREADS, 0, st>>>(*pl, p->interp, beta, grad);
    RD_CHECK_LAUNCH();
    RD_CHECK_CUDA(cudaMemsetAsync(pl->wc, 0, sizeof *pl->wc, st));
    tb = pl->r.temp_bytes;
    RD_CHECK_CUDA(cub::DeviceScan::InclusiveScan(pl->r.temp, tb, (const ap_dd2 *)pl->wc_in,
                                                 pl->wc + 1, ap_dd2_sum{}, pl->r.P, st));
    tb = pl->r.temp_bytes;
    RD_CHECK_CUDA(cub::DeviceReduce::Sum(pl->r.temp, tb, (const double *)pl->err, &h->err_sum,
                                         pl->r.P, st));
}

loss_status ap_loss_cuda_compute(const loss_inputs *in, const loss_params *p, loss_cuda_ws *ws,
                                 float *grad, loss_result *out, void *stream)
{
    RD_CHECK(p->delta >= 0.0 && isfinite(p->delta), "delta must be finite and >= 0 (got %g)",
             p->delta);
    cudaStream_t st = (cudaStream_t)stream;
    loss_status status;
    float minpos = 0.0f;
    if (loss_cuda_begin(in, ws, grad, out, &status, &minpos, st))
        return status;
    RD_CHECK(out->num_pos < ((int64_t)1 << 28), "%lld positives: at most 2^28 are supported",
             (long long)out->num_pos);
    ap_header *h = (ap_header *)loss_cuda_ws_header(ws, sizeof(ap_header));
    ap_plan pl;
    memset(&pl, 0, sizeof pl);
    pl.r.P = out->num_pos;
    pl.r.N = out->num_neg;
    pl.r.temp_bytes = ap_temp_bytes(in->n, pl.r.P, pl.r.N);
    ap_layout(&pl, (char *)loss_cuda_ws_reserve(ws, ap_layout(&pl, NULL)));
    const double beta = p->delta > 0.0 ? 0.5 / p->delta : 0.0;
    loss_cuda_rank_prepare(in, &pl.r, h->nsel, (double)minpos - p->delta, beta, st);
    ap_positives(&pl, p, beta, grad, h, st);
    ap_negatives_kernel<<<loss_cuda_grid(in->n), AP_THREADS, 0, st>>>(pl, in->scores, in->labels,
                                                                       in->n, p->delta, beta,
                                                                       grad);
    RD_CHECK_LAUNCH();
    out->loss = loss_cuda_read_double(&h->err_sum, st) / (double)pl.r.P;
    return LOSS_OK;
}
