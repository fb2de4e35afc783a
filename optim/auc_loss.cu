/* auc_loss.cu — the CUDA twin of optim/auc_loss.c: AUC-loss with the error-driven update
 * (eq. 7 of Chen et al., CVPR 2019). With f the step of eq. 14 and w = 1/(|P||N|):
 * b_i = Σ_{j∈N} f(s_j - s_i), g_i = -w b_i, g_j = w Σ_{i∈P} f(s_j - s_i), loss = w Σ_i b_i.
 * The positives and the negatives some positive reaches are selected and radix-sorted
 * (loss_cuda_rank_prepare, shared with ap); each positive finds b_i by binary search in the
 * sorted negatives with double-double prefix sums of their scores, each negative its sum by
 * binary search in the sorted positives. A batch without negatives has loss 0 and a zero
 * update. The loss is a fixed-order sum of per-block partials. */
#include <cuda_runtime.h>

#include <math.h>
#include <string.h>

#include "optim/loss_cuda_impl.h"

/* What the ranking selection leaves on the device, after the validation pass's counts. */
struct auc_header {
    loss_cuda_scan_header scan;
    long long nsel[3];
    double b_sum;
};

/* Per positive (grid stride): b_i, its update -w b_i, and the block's Σ b_i. */
__global__ void auc_positives_kernel(loss_cuda_rank r, double delta, double beta, double w,
                                     float *grad, double *partials)
{
    double sum = 0.0;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < r.P; i += stride) {
        const double si = r.pos[i], kl = si - delta, ku = si + delta;
        const int64_t lo = loss_cuda_count_prefix(r.neg, r.nc, [kl](float x) {
            return (double)x < kl;
        });
        const int64_t hi = loss_cuda_count_prefix(r.neg, r.nc, [ku](float x) {
            return (double)x <= ku;
        });
        double b = loss_cuda_step_sum(lo, hi, r.nc, r.neg_sum, si, beta);
        b = b > 0.0 ? b : 0.0;  // rounding may leave -1e-17 where the sum is 0
        grad[r.idx[i]] = (float)(-b * w);
        sum += b;
    }
    loss_cuda_block_partial(sum, partials);
}

/* Every other entry: negatives g_j = w (#saturated + Σ_lin (1/2 + β(v - s_i))), clamped at 0
 * as the CPU; ignored entries 0. */
__global__ void auc_negatives_kernel(loss_cuda_rank r, const float *s, const int8_t *t,
                                     int64_t n, double delta, double beta, double w, float *grad)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += stride) {
        const int l = t[j];
        if (l == 1)
            continue;
        float g = 0.0f;
        const double v = s[j];
        int64_t U = 0;
        const int64_t L = l == 0 ? loss_cuda_reach(r.pos, r.P, v, delta, &U) : 0;
        if (L > 0) {
            const double lin = (double)(L - U);
            double f = (double)U + 0.5 * lin;
            if (beta > 0.0)
                f += beta * (v * lin - loss_cuda_dd_diff(r.pos_sum[L], r.pos_sum[U]));
            const double x = w * f;
            g = (float)(x > 0.0 ? x : 0.0);
        }
        grad[j] = g;
    }
}

/* The rank arrays, then the per-block partials, then CUB scratch, from ws. */
static double *auc_layout(loss_cuda_rank *r, loss_cuda_ws *ws, unsigned int blocks)
{
    size_t off = 0;
    double *partials = NULL;
    loss_cuda_rank_layout(r, NULL, &off);
    LOSS_CUDA_TAKE((char *)NULL, off, partials, blocks + 1);
    char *base = (char *)loss_cuda_ws_reserve(ws, off + r->temp_bytes);
    off = 0;
    loss_cuda_rank_layout(r, base, &off);
    LOSS_CUDA_TAKE(base, off, partials, blocks + 1);
    r->temp = base + off;
    return partials;
}

loss_status auc_loss_cuda_compute(const loss_inputs *in, const loss_params *p, loss_cuda_ws *ws,
                                  float *grad, loss_result *out, void *stream)
{
    RD_CHECK(p->delta >= 0.0 && isfinite(p->delta), "delta must be finite and >= 0 (got %g)",
             p->delta);
    cudaStream_t st = (cudaStream_t)stream;
    loss_status status;
    float minpos = 0.0f;
    if (loss_cuda_begin(in, ws, grad, out, &status, &minpos, st))
        return status;
    if (out->num_neg == 0) {  // b_i = 0: a zero update, loss 0
        loss_cuda_zero(grad, in->n, st);
        RD_CHECK_CUDA(cudaStreamSynchronize(st));
        return LOSS_OK;
    }
    RD_CHECK(out->num_pos < ((int64_t)1 << 28), "%lld positives: at most 2^28 are supported",
             (long long)out->num_pos);
    auc_header *h = (auc_header *)loss_cuda_ws_header(ws, sizeof(auc_header));
    loss_cuda_rank r;
    memset(&r, 0, sizeof r);
    r.P = out->num_pos;
    r.N = out->num_neg;
    r.temp_bytes = loss_cuda_rank_temp_bytes(in->n, r.P, r.N);
    const unsigned int blocks = loss_cuda_grid(r.P);
    double *partials = auc_layout(&r, ws, blocks);
    const double beta = p->delta > 0.0 ? 0.5 / p->delta : 0.0;
    const double w = 1.0 / ((double)r.N * (double)r.P);
    loss_cuda_rank_prepare(in, &r, h->nsel, (double)minpos - p->delta, beta, st);
    auc_positives_kernel<<<blocks, LOSS_CUDA_THREADS, 0, st>>>(r, p->delta, beta, w, grad,
                                                               partials);
    RD_CHECK_LAUNCH();
    auc_negatives_kernel<<<loss_cuda_grid(in->n), LOSS_CUDA_THREADS, 0, st>>>(
        r, in->scores, in->labels, in->n, p->delta, beta, w, grad);
    RD_CHECK_LAUNCH();
    loss_cuda_sum(partials, blocks, &h->b_sum, st);
    out->loss = loss_cuda_read_double(&h->b_sum, st) * w;
    return LOSS_OK;
}
