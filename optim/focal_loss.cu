/* focal_loss.cu — the CUDA twin of optim/focal_loss.c: the sigmoid focal loss (Lin et al.,
 * ICCV 2017, eq. 5; torchvision's alpha convention), normalised by the number of positives.
 * One grid-stride pass computes every entry's FL and update in double, exactly as the CPU
 * (softplus forms of log p and log(1 - p)); the loss is the fixed-order sum of per-block
 * partials, so repeated calls give the same bits. */
#include <cuda_runtime.h>

#include <math.h>

#include "optim/loss_cuda_impl.h"

static __device__ double focal_pow(double x, double gamma)
{
    return gamma == 2.0 ? x * x : pow(x, gamma);
}

/* FL of one score with label t in {0, 1}; its derivative goes to *dscore (focal_entry). */
static __device__ double focal_entry(double s, int t, double alpha, double gamma, double *dscore)
{
    const double e = exp(-fabs(s)), r = 1.0 / (1.0 + e);
    const double p = s >= 0 ? r : e * r;  // sigmoid(s)
    const double q = s >= 0 ? e * r : r;  // 1 - p
    const double softplus_pos = fmax(s, 0.0) + log1p(e);  // -log(1 - p)
    const double softplus_neg = softplus_pos - s;         // -log p
    if (t == 1) {
        const double w = alpha * focal_pow(q, gamma);
        *dscore = w * (-gamma * p * softplus_neg - q);
        return w * softplus_neg;
    }
    const double w = (1.0 - alpha) * focal_pow(p, gamma);
    *dscore = w * (p + gamma * q * softplus_pos);
    return w * softplus_pos;
}

/* Every entry's update (ignored: 0) and the block's summed FL into partials[blockIdx.x]. */
__global__ void focal_kernel(const float *s, const int8_t *t, int64_t n, double alpha,
                             double gamma, double inv_pos, float *grad, double *partials)
{
    double sum = 0.0;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const int l = t[i];
        if (l < 0) {
            grad[i] = 0.0f;
            continue;
        }
        double dscore;
        sum += focal_entry(s[i], l, alpha, gamma, &dscore);
        grad[i] = (float)(dscore * inv_pos);
    }
    loss_cuda_block_partial(sum, partials);
}

loss_status focal_loss_cuda_compute(const loss_inputs *in, const loss_params *p,
                                    loss_cuda_ws *ws, float *grad, loss_result *out,
                                    void *stream)
{
    RD_CHECK(p->alpha >= 0.0 && p->alpha <= 1.0 && p->gamma >= 0.0,
             "focal needs 0 <= alpha <= 1 and gamma >= 0 (got %g, %g); validate flags first",
             p->alpha, p->gamma);
    cudaStream_t st = (cudaStream_t)stream;
    loss_status status;
    if (loss_cuda_begin(in, ws, grad, out, &status, NULL, st))
        return status;
    const unsigned int blocks = loss_cuda_grid(in->n);
    double *partials = (double *)loss_cuda_ws_reserve(ws, (size_t)(blocks + 1) * sizeof(double));
    focal_kernel<<<blocks, LOSS_CUDA_THREADS, 0, st>>>(in->scores, in->labels, in->n, p->alpha,
                                                       p->gamma, 1.0 / (double)out->num_pos,
                                                       grad, partials);
    RD_CHECK_LAUNCH();
    loss_cuda_sum(partials, blocks, partials + blocks, st);
    out->loss = loss_cuda_read_double(partials + blocks, st) / (double)out->num_pos;
    return LOSS_OK;
}
