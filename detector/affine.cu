/* affine.cu — the CUDA twins of affine.c (layers_cuda.h): the frozen-BN affine, its fused
 * ReLU, ReLU and the sums, elementwise on NCHW float32. Bit-identical to the CPU: the product
 * and the sum are rounded separately (__fmul_rn, __fadd_rn: nvcc would otherwise contract
 * them into an FMA, which the CPU build does not), and NaN passes ReLU as on the CPU. Grid-
 * stride loops with 64-bit indices. */
extern "C" {
#include "detector/layers_cuda.h"
}
#include "lib/cuda_ctx_impl.h"

/* y = x·scale[c] + shift[c], optionally then max(·, 0). */
__global__ void affine_forward_kernel(const float *x, int64_t count, int c, int64_t hw,
                                      const float *scale, const float *shift, float *y, int relu)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < count;
         i += (int64_t)gridDim.x * blockDim.x) {
        int ch = (int)(i / hw % c);
        float v = __fadd_rn(__fmul_rn(x[i], scale[ch]), shift[ch]);
        y[i] = relu && v < 0.0f ? 0.0f : v;
    }
}

/* dx = dy·scale[c], where y > 0 when y is given (the fused ReLU), else everywhere. */
__global__ void affine_backward_kernel(const float *y, const float *dy, int64_t count, int c,
                                       int64_t hw, const float *scale, float *dx)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < count;
         i += (int64_t)gridDim.x * blockDim.x) {
        int ch = (int)(i / hw % c);
        dx[i] = !y || y[i] > 0.0f ? __fmul_rn(dy[i], scale[ch]) : 0.0f;
    }
}

/* y = a + b (b NULL: y = a), then max(·, 0) when relu. */
__global__ void add_relu_kernel(const float *a, const float *b, int64_t count, float *y,
                                int relu)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < count;
         i += (int64_t)gridDim.x * blockDim.x) {
        float v = b ? __fadd_rn(a[i], b[i]) : a[i];
        y[i] = relu && v < 0.0f ? 0.0f : v;
    }
}

/* dx = dy where y > 0, else 0. */
__global__ void relu_backward_kernel(const float *y, const float *dy, int64_t count, float *dx)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < count;
         i += (int64_t)gridDim.x * blockDim.x)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

static void affine_launch(cuda_ctx *ctx, const float *x, int n, int c, int hw,
                          const float *scale, const float *shift, float *y, int relu)
{
    RD_CHECK(n >= 0 && c > 0 && hw >= 0, "bad affine shape %d x %d x %d", n, c, hw);
    int64_t count = (int64_t)n * c * hw;
    if (count == 0)
        return;
    affine_forward_kernel<<<cuda_grid_for(count), CUDA_BLOCK, 0, ctx->stream>>>(
        x, count, c, hw, scale, shift, y, relu);
    RD_CHECK_LAUNCH();
}

static void affine_backward_launch(cuda_ctx *ctx, const float *y, const float *dy, int n, int c,
                                   int hw, const float *scale, float *dx)
{
    RD_CHECK(n >= 0 && c > 0 && hw >= 0, "bad affine shape %d x %d x %d", n, c, hw);
    int64_t count = (int64_t)n * c * hw;
    if (count == 0)
        return;
    affine_backward_kernel<<<cuda_grid_for(count), CUDA_BLOCK, 0, ctx->stream>>>(
        y, dy, count, c, hw, scale, dx);
    RD_CHECK_LAUNCH();
}

static void add_relu_launch(cuda_ctx *ctx, const float *a, const float *b, size_t count,
                            float *y, int relu)
{
    if (count == 0)
        return;
    add_relu_kernel<<<cuda_grid_for((int64_t)count), CUDA_BLOCK, 0, ctx->stream>>>(
        a, b, (int64_t)count, y, relu);
    RD_CHECK_LAUNCH();
}

extern "C" void affine_forward_cuda(cuda_ctx *ctx, const float *x, int n, int c, int hw,
                                    const float *scale, const float *shift, float *y)
{
    affine_launch(ctx, x, n, c, hw, scale, shift, y, 0);
}

extern "C" void affine_backward_cuda(cuda_ctx *ctx, const float *dy, int n, int c, int hw,
                                     const float *scale, float *dx)
{
    affine_backward_launch(ctx, NULL, dy, n, c, hw, scale, dx);
}

extern "C" void affine_relu_forward_cuda(cuda_ctx *ctx, const float *x, int n, int c, int hw,
                                         const float *scale, const float *shift, float *y)
{
    affine_launch(ctx, x, n, c, hw, scale, shift, y, 1);
}

extern "C" void affine_relu_backward_cuda(cuda_ctx *ctx, const float *y, const float *dy, int n,
                                          int c, int hw, const float *scale, float *dx)
{
    affine_backward_launch(ctx, y, dy, n, c, hw, scale, dx);
}

extern "C" void relu_forward_cuda(cuda_ctx *ctx, const float *x, size_t count, float *y)
{
    add_relu_launch(ctx, x, NULL, count, y, 1);
}

extern "C" void relu_backward_cuda(cuda_ctx *ctx, const float *y, const float *dy, size_t count,
                                   float *dx)
{
    if (count == 0)
        return;
    relu_backward_kernel<<<cuda_grid_for((int64_t)count), CUDA_BLOCK, 0, ctx->stream>>>(
        y, dy, (int64_t)count, dx);
    RD_CHECK_LAUNCH();
}

extern "C" void add_forward_cuda(cuda_ctx *ctx, const float *a, const float *b, size_t count,
                                 float *y)
{
    add_relu_launch(ctx, a, b, count, y, 0);
}

extern "C" void add_relu_forward_cuda(cuda_ctx *ctx, const float *a, const float *b,
                                      size_t count, float *y)
{
    add_relu_launch(ctx, a, b, count, y, 1);
}
