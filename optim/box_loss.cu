/* box_loss.cu — the CUDA twin of box_loss.c (box_loss_cuda.h). Three steps, all deterministic:
 * partial sums and positive counts of each (chunk of A, image) by block reductions (CUB); one
 * thread adds the chunks of each image in order and the images in the CPU's order, applying the
 * CPU's normalisers, and writes each image's gradient scale; then each coordinate's derivative
 * is rounded to float and scaled in double exactly as the CPU does. Double arithmetic is written
 * with __dmul_rn / __dadd_rn where nvcc could otherwise contract it into an FMA. */
extern "C" {
#include "optim/box_loss_cuda.h"
}
#include <string.h>

#include <cub/block/block_reduce.cuh>

#include "lib/cuda_ctx_impl.h"

/* Blocks per image in the partial-sum step (each covers a grid-stride share of the A anchors). */
static const int BOX_LOSS_CHUNKS = 32;

/* Loss of one coordinate difference x and its derivative (box_loss_entry). */
__device__ double box_loss_entry_dev(int smooth, double beta, double x, double *dx)
{
    double ax = fabs(x);
    if (smooth && ax < beta) {
        *dx = x / beta;
        return 0.5 * x * x / beta;
    }
    *dx = x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0);
    return smooth ? __dadd_rn(ax, -__dmul_rn(0.5, beta)) : ax;
}

/* partial[i][chunk] = loss sum over the positives of image i in this chunk; count likewise. */
__global__ void box_loss_partial_kernel(int smooth, double beta, const float *deltas,
                                        const float *targets, const int32_t *match, int64_t A,
                                        double *partial, long long *count)
{
    typedef cub::BlockReduce<double, 256> sum_reduce;
    typedef cub::BlockReduce<long long, 256> count_reduce;
    __shared__ typename sum_reduce::TempStorage sum_tmp;
    __shared__ typename count_reduce::TempStorage count_tmp;
    int64_t img = blockIdx.y;
    double s = 0.0;
    long long c = 0;
    for (int64_t a = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; a < A;
         a += (int64_t)gridDim.x * blockDim.x) {
        int64_t e = img * A + a;
        if (match[e] < 0)
            continue;
        c++;
        for (int k = 0; k < 4; k++) {
            double d;
            s += box_loss_entry_dev(smooth, beta,
                                    (double)deltas[4 * e + k] - (double)targets[4 * e + k], &d);
        }
    }
    double block_sum = sum_reduce(sum_tmp).Sum(s);
    long long block_count = count_reduce(count_tmp).Sum(c);
    if (threadIdx.x == 0) {
        partial[img * gridDim.x + blockIdx.x] = block_sum;
        count[img * gridDim.x + blockIdx.x] = block_count;
    }
}

/* One thread: the totals and normalisers of box_loss_compute; scale[i] multiplies image i's
 * raw derivatives; result = {loss, sum, num_pos}. */
__global__ void box_loss_total_kernel(int per_image, double weight, int n, int chunks,
                                      const double *partial, const long long *count,
                                      double *scale, double *result)
{
    double total = 0.0, per_image_sum = 0.0;
    long long npos_all = 0;
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        long long npos = 0;
        for (int j = 0; j < chunks; j++) {
            s += partial[(int64_t)i * chunks + j];
            npos += count[(int64_t)i * chunks + j];
        }
        total += s;
        npos_all += npos;
        double norm_i = npos > 1 ? (double)npos : 1.0;
        scale[i] = weight / __dmul_rn(norm_i, (double)n);
        per_image_sum += s / norm_i;
    }
    double norm = npos_all > 1 ? (double)npos_all : 1.0;
    if (!per_image)
        for (int i = 0; i < n; i++)
            scale[i] = weight / norm;
    result[0] = per_image ? (n > 0 ? weight * per_image_sum / n : 0.0) : weight * total / norm;
    result[1] = total;
    result[2] = (double)npos_all;
}

/* ddeltas = (float)((double)(float)d · scale[image]) on positives, 0 elsewhere. */
__global__ void box_loss_grad_kernel(int smooth, double beta, const float *deltas,
                                     const float *targets, const int32_t *match, int64_t A,
                                     int64_t count, const double *scale, float *ddeltas)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < count;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t e = i / 4;
        if (match[e] < 0) {
            ddeltas[i] = 0.0f;
            continue;
        }
        double d;
        box_loss_entry_dev(smooth, beta, (double)deltas[i] - (double)targets[i], &d);
        ddeltas[i] = (float)((double)(float)d * scale[e / A]);
    }
}

void box_loss_compute_cuda(cuda_ctx *ctx, const box_loss_params *p, const float *deltas,
                           const float *targets, const int32_t *match, int n, int64_t A,
                           float *ddeltas, box_loss_result *out)
{
    RD_CHECK(p->beta >= 0.0f && n >= 0 && A >= 0, "box loss needs beta >= 0 (got %g), n, A >= 0",
             (double)p->beta);
    RD_CHECK(n <= 65535, "box loss on the GPU: %d images (at most 65535 per call)", n);
    memset(out, 0, sizeof *out);
    if (n == 0)
        return;
    const int chunks = BOX_LOSS_CHUNKS;
    size_t parts = (size_t)n * chunks;
    size_t bytes = parts * (sizeof(double) + sizeof(long long)) + (size_t)n * sizeof(double) +
                   3 * sizeof(double);
    double *partial = (double *)cuda_ctx_workspace(ctx, bytes);
    long long *count = (long long *)(partial + parts);
    double *scale = (double *)(count + parts);
    double *result = scale + n;
    int smooth = p->kind == BOX_LOSS_SMOOTH_L1, per_image = p->norm == BOX_LOSS_NORM_PER_IMAGE;
    dim3 grid((unsigned)chunks, (unsigned)n);
    box_loss_partial_kernel<<<grid, 256, 0, ctx->stream>>>(smooth, (double)p->beta, deltas,
                                                           targets, match, A, partial, count);
    RD_CHECK_LAUNCH();
    box_loss_total_kernel<<<1, 1, 0, ctx->stream>>>(per_image, p->weight, n, chunks, partial,
                                                    count, scale, result);
    RD_CHECK_LAUNCH();
    int64_t coords = 4 * A * (int64_t)n;
    if (ddeltas && coords > 0) {
        box_loss_grad_kernel<<<cuda_grid_for(coords), CUDA_BLOCK, 0, ctx->stream>>>(
            smooth, (double)p->beta, deltas, targets, match, A, coords, scale, ddeltas);
        RD_CHECK_LAUNCH();
    }
    double host[3];
    cuda_ctx_download(ctx, host, result, sizeof host);
    out->loss = host[0];
    out->sum = host[1];
    out->num_pos = (int64_t)host[2];
}
