/* pool.cu — the CUDA twin of pool.c (layers_cuda.h): max pooling on NCHW float32 as
 * torch.nn.MaxPool2d with the CPU's rules (padding never wins, the window scanned row by row,
 * a value replaces the maximum only when strictly greater or NaN, so the first maximum wins;
 * argmax indexes the input plane). Forward: one thread per output. Backward: one thread per
 * INPUT pixel gathers dy from the windows that cover it, in increasing output order, which
 * is the order in which the CPU adds them, so the sums are the CPU's bits with no atomics. */
extern "C" {
#include "detector/layers_cuda.h"
}
#include "lib/cuda_ctx_impl.h"

__global__ void maxpool2d_forward_kernel(const float *x, int64_t count, int h, int w, int k,
                                         int stride, int pad, int oh, int ow, float *y,
                                         int32_t *argmax)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < count;
         i += (int64_t)gridDim.x * blockDim.x) {
        int ox = (int)(i % ow), oy = (int)(i / ow % oh);
        const float *xp = x + i / ((int64_t)oh * ow) * h * w;
        int y0 = max(oy * stride - pad, 0), y1 = min(oy * stride - pad + k, h);
        int x0 = max(ox * stride - pad, 0), x1 = min(ox * stride - pad + k, w);
        float best = -INFINITY;
        int32_t at = y0 * w + x0;
        for (int iy = y0; iy < y1; iy++)
            for (int ix = x0; ix < x1; ix++) {
                float v = xp[iy * w + ix];
                if (v > best || isnan(v)) {
                    best = v;
                    at = iy * w + ix;
                }
            }
        y[i] = best;
        argmax[i] = at;
    }
}

/* The outputs o in [lo, hi] whose window (o·stride - pad, k wide) covers input index in. */
__device__ static void maxpool2d_cover(int in, int k, int stride, int pad, int out, int *lo,
                                       int *hi)
{
    int a = in + pad - k + 1;  // o·stride must reach this
    *lo = a <= 0 ? 0 : (a + stride - 1) / stride;
    *hi = min((in + pad) / stride, out - 1);
}

__global__ void maxpool2d_backward_kernel(const float *dy, const int32_t *argmax, int64_t count,
                                          int h, int w, int oh, int ow, int k, int stride,
                                          int pad, float *dx)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < count;
         i += (int64_t)gridDim.x * blockDim.x) {
        int32_t at = (int32_t)(i % ((int64_t)h * w));
        int iy = at / w, ix = at % w;
        int64_t plane = i / ((int64_t)h * w) * oh * ow;
        int oy0, oy1, ox0, ox1;
        maxpool2d_cover(iy, k, stride, pad, oh, &oy0, &oy1);
        maxpool2d_cover(ix, k, stride, pad, ow, &ox0, &ox1);
        float sum = 0.0f;
        for (int oy = oy0; oy <= oy1; oy++)
            for (int ox = ox0; ox <= ox1; ox++) {
                int64_t j = plane + (int64_t)oy * ow + ox;
                if (argmax[j] == at)
                    sum = __fadd_rn(sum, dy[j]);
            }
        dx[i] = sum;
    }
}

extern "C" void maxpool2d_forward_cuda(cuda_ctx *ctx, const float *x, int n, int c, int h, int w,
                                       int k, int stride, int pad, float *y, int32_t *argmax)
{
    RD_CHECK(k > 0 && stride > 0 && pad >= 0 && 2 * pad <= k && h + 2 * pad >= k &&
             w + 2 * pad >= k, "bad max pooling k%d s%d p%d on %dx%d (torch needs pad <= k/2)",
             k, stride, pad, h, w);
    RD_CHECK((int64_t)h * w <= INT32_MAX, "plane of %dx%d too large for int32 argmax", h, w);
    int oh = conv2d_out(h, k, stride, pad), ow = conv2d_out(w, k, stride, pad);
    int64_t count = (int64_t)n * c * oh * ow;
    if (count <= 0)
        return;
    maxpool2d_forward_kernel<<<cuda_grid_for(count), CUDA_BLOCK, 0, ctx->stream>>>(
        x, count, h, w, k, stride, pad, oh, ow, y, argmax);
    RD_CHECK_LAUNCH();
}

extern "C" void maxpool2d_backward_cuda(cuda_ctx *ctx, const float *dy, const int32_t *argmax,
                                        int n, int c, int h, int w, int oh, int ow, int k,
                                        int stride, int pad, float *dx)
{
    RD_CHECK(k > 0 && stride > 0 && pad >= 0 && oh == conv2d_out(h, k, stride, pad) &&
             ow == conv2d_out(w, k, stride, pad),
             "max pooling backward: %dx%d -> %dx%d is not k%d s%d p%d", h, w, oh, ow, k, stride,
             pad);
    int64_t count = (int64_t)n * c * h * w;
    if (count <= 0)
        return;
    maxpool2d_backward_kernel<<<cuda_grid_for(count), CUDA_BLOCK, 0, ctx->stream>>>(
        dy, argmax, count, h, w, oh, ow, k, stride, pad, dx);
    RD_CHECK_LAUNCH();
}
