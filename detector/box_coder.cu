/* box_coder.cu — the CUDA twins of box_coder.c (box_coder_cuda.h): one thread per box, the
 * CPU's float32 operations in the CPU's order with explicit roundings (__fmul_rn, __fadd_rn,
 * __fsub_rn, __fdiv_rn) so nvcc cannot contract them into FMAs. Decoding is
 * detector/box_coder_cuda_impl.h's, with glibc's expf (the CPU's bits); encoding's logf is
 * CUDA's. The coder travels to the kernels by value. */
extern "C" {
#include "detector/box_coder_cuda.h"
}
#include "detector/box_coder_cuda_impl.h"
#include "lib/cuda_ctx_impl.h"

/* deltas d of box g against anchor a (box_coder_encode_one). */
__device__ void box_coder_encode_dev(const box_coder &c, const float *a, const float *g,
                                     float *d)
{
    float ex_w = __fsub_rn(a[2], a[0]), ex_h = __fsub_rn(a[3], a[1]);
    float ex_cx = __fadd_rn(a[0], __fmul_rn(0.5f, ex_w));
    float ex_cy = __fadd_rn(a[1], __fmul_rn(0.5f, ex_h));
    float gt_w = __fsub_rn(g[2], g[0]), gt_h = __fsub_rn(g[3], g[1]);
    float gt_cx = __fadd_rn(g[0], __fmul_rn(0.5f, gt_w));
    float gt_cy = __fadd_rn(g[1], __fmul_rn(0.5f, gt_h));
    d[0] = __fdiv_rn(__fmul_rn(c.weights[0], __fsub_rn(gt_cx, ex_cx)), ex_w);
    d[1] = __fdiv_rn(__fmul_rn(c.weights[1], __fsub_rn(gt_cy, ex_cy)), ex_h);
    d[2] = __fmul_rn(c.weights[2], logf(__fdiv_rn(gt_w, ex_w)));
    d[3] = __fmul_rn(c.weights[3], logf(__fdiv_rn(gt_h, ex_h)));
}

__global__ void box_coder_encode_kernel(box_coder c, const float *anchors,
                                        const float *boxes, int64_t n, float *deltas)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        box_coder_encode_dev(c, anchors + 4 * i, boxes + 4 * i, deltas + 4 * i);
}

/* targets[a] = encode(anchors[a], gt[match[a]]) for positives, 0 elsewhere. */
__global__ void box_coder_encode_matched_kernel(box_coder c, const float *anchors,
                                                int64_t A, const int32_t *match,
                                                const rd_box *gt, float *targets)
{
    for (int64_t a = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; a < A;
         a += (int64_t)gridDim.x * blockDim.x) {
        float *t = targets + 4 * a;
        int32_t m = match[a];
        if (m < 0) {
            t[0] = t[1] = t[2] = t[3] = 0.0f;
            continue;
        }
        float gb[4] = {gt[m].x1, gt[m].y1, gt[m].x2, gt[m].y2};
        box_coder_encode_dev(c, anchors + 4 * a, gb, t);
    }
}

/* boxes from deltas (box_coder_decode). */
__global__ void box_coder_decode_kernel(box_coder c, const float *anchors, const float *deltas,
                                        int64_t n, float *boxes)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        box_coder_decode_dev(c, anchors + 4 * i, deltas + 4 * i, boxes + 4 * i);
}

void box_coder_encode_cuda(cuda_ctx *ctx, const box_coder *c, const float *anchors,
                           const float *boxes, int64_t n, float *deltas)
{
    RD_CHECK(n >= 0, "box coder: %lld boxes", (long long)n);
    if (n == 0)
        return;
    box_coder_encode_kernel<<<cuda_grid_for(n), CUDA_BLOCK, 0, ctx->stream>>>(
        *c, anchors, boxes, n, deltas);
    RD_CHECK_LAUNCH();
}

void box_coder_decode_cuda(cuda_ctx *ctx, const box_coder *c, const float *anchors,
                           const float *deltas, int64_t n, float *boxes)
{
    RD_CHECK(n >= 0, "box coder: %lld boxes", (long long)n);
    if (n == 0)
        return;
    box_coder_decode_kernel<<<cuda_grid_for(n), CUDA_BLOCK, 0, ctx->stream>>>(
        *c, anchors, deltas, n, boxes);
    RD_CHECK_LAUNCH();
}

void box_coder_encode_matched_cuda(cuda_ctx *ctx, const box_coder *c, const float *anchors,
                                   int64_t A, const int32_t *match, const rd_box *gt,
                                   float *targets)
{
    RD_CHECK(A >= 0, "box coder: %lld anchors", (long long)A);
    if (A == 0)
        return;
    box_coder_encode_matched_kernel<<<cuda_grid_for(A), CUDA_BLOCK, 0, ctx->stream>>>(
        *c, anchors, A, match, gt, targets);
    RD_CHECK_LAUNCH();
}
