/* upsample.cu — the CUDA twin of upsample.c (layers_cuda.h): nearest upsampling on NCHW
 * float32 with aten's nearest_idx rule (same size: itself; twice: dst >> 1; else
 * min(floor(dst · s), in - 1) with s = (float)in / out and the product rounded in float, no
 * FMA). Forward: one thread per output. Backward: one thread per INPUT pixel sums dy over the
 * outputs that map to it, rows then columns in increasing order, as the CPU adds them, so the
 * sums are the CPU's bits with no atomics. */
extern "C" {
#include "detector/layers_cuda.h"
}
#include "lib/cuda_ctx_impl.h"

/* The source index of output index dst, as upsample.c's upsample_source. */
__device__ static int upsample_source(int dst, int in, int out)
{
    if (out == in)
        return dst;
    if (out == 2 * in)
        return dst >> 1;
    float scale = __fdiv_rn((float)in, (float)out);
    int src = (int)floorf(__fmul_rn((float)dst, scale));
    return src < in - 1 ? src : in - 1;
}

/* The outputs [*lo, *hi) whose source is src: the rule is non-decreasing in dst, so they
 * are contiguous; the search starts a few below the exact answer, below any float rounding
 * shift. */
__device__ static void upsample_targets(int src, int in, int out, int *lo, int *hi)
{
    int d = (int)((int64_t)src * out / in) - 4;
    if (d < 0)
        d = 0;
    while (d < out && upsample_source(d, in, out) < src)
        d++;
    *lo = d;
    while (d < out && upsample_source(d, in, out) == src)
        d++;
    *hi = d;
}

__global__ void upsample_nearest_forward_kernel(const float *x, int64_t count, int h, int w,
                                                int oh, int ow, float *y)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < count;
         i += (int64_t)gridDim.x * blockDim.x) {
        int ox = (int)(i % ow), oy = (int)(i / ow % oh);
        int64_t plane = i / ((int64_t)oh * ow);
        int sy = upsample_source(oy, h, oh), sx = upsample_source(ox, w, ow);
        y[i] = x[plane * h * w + (int64_t)sy * w + sx];
    }
}

__global__ void upsample_nearest_backward_kernel(const float *dy, int64_t count, int h, int w,
                                                 int oh, int ow, float *dx)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < count;
         i += (int64_t)gridDim.x * blockDim.x) {
        int sx = (int)(i % w), sy = (int)(i / w % h);
        const float *gp = dy + i / ((int64_t)h * w) * oh * ow;
        int oy0, oy1, ox0, ox1;
        upsample_targets(sy, h, oh, &oy0, &oy1);
        upsample_targets(sx, w, ow, &ox0, &ox1);
        float sum = 0.0f;
        for (int oy = oy0; oy < oy1; oy++)
            for (int ox = ox0; ox < ox1; ox++)
                sum = __fadd_rn(sum, gp[(int64_t)oy * ow + ox]);
        dx[i] = sum;
    }
}

extern "C" void upsample_nearest_forward_cuda(cuda_ctx *ctx, const float *x, int n, int c, int h,
                                              int w, int oh, int ow, float *y)
{
    RD_CHECK(h > 0 && w > 0 && oh > 0 && ow > 0, "bad upsampling %dx%d -> %dx%d", h, w, oh, ow);
    int64_t count = (int64_t)n * c * oh * ow;
    if (count <= 0)
        return;
    upsample_nearest_forward_kernel<<<cuda_grid_for(count), CUDA_BLOCK, 0, ctx->stream>>>(
        x, count, h, w, oh, ow, y);
    RD_CHECK_LAUNCH();
}

extern "C" void upsample_nearest_backward_cuda(cuda_ctx *ctx, const float *dy, int n, int c,
                                               int h, int w, int oh, int ow, float *dx)
{
    RD_CHECK(h > 0 && w > 0 && oh > 0 && ow > 0, "bad upsampling %dx%d -> %dx%d", h, w, oh, ow);
    int64_t count = (int64_t)n * c * h * w;
    if (count <= 0)
        return;
    upsample_nearest_backward_kernel<<<cuda_grid_for(count), CUDA_BLOCK, 0, ctx->stream>>>(
        dy, count, h, w, oh, ow, dx);
    RD_CHECK_LAUNCH();
}
