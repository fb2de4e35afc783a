/* box_coder_cuda.h — the CUDA twins of box_coder.h (detector/box_coder.cu): the same arguments
 * with the context first, every array a device pointer, queued on the context's stream and
 * returning without waiting. Products, sums and quotients are rounded as on the CPU (no FMA)
 * and decode's expf is a port of glibc's (lib/cuda_expf_impl.h), so decoded boxes and
 * encode's dx, dy equal the CPU's bits; only encode's logf is CUDA's (within 1 ulp, glibc's
 * within 1), so dw, dh agree within a few ulp of their scale (tests/test_geometry_cuda.c checks
 * decode bit for bit, encode within 1e-6 of each box's largest magnitude). In a build without
 * CUDA every function is a stub that aborts saying so. */
#ifndef RD_BOX_CODER_CUDA_H
#define RD_BOX_CODER_CUDA_H

#include <stdint.h>

#include "detector/box_coder.h"
#include "lib/cuda_ctx.h"

#ifdef RANKDET_CUDA
/* box_coder_encode on the GPU: deltas [n][4] of boxes [n][4] against anchors [n][4]. */
void box_coder_encode_cuda(cuda_ctx *ctx, const box_coder *c, const float *anchors,
                           const float *boxes, int64_t n, float *deltas);
/* box_coder_decode on the GPU: boxes [n][4] (not aliasing the inputs). */
void box_coder_decode_cuda(cuda_ctx *ctx, const box_coder *c, const float *anchors,
                           const float *deltas, int64_t n, float *boxes);
/* box_coder_encode_matched on the GPU: targets [A][4] from anchors [A][4], match [A] and the
 * ground-truth boxes gt (device, indexed by match). */
void box_coder_encode_matched_cuda(cuda_ctx *ctx, const box_coder *c, const float *anchors,
                                   int64_t A, const int32_t *match, const rd_box *gt,
                                   float *targets);
#else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
static inline void box_coder_encode_cuda(cuda_ctx *ctx, const box_coder *c, const float *anchors,
                                         const float *boxes, int64_t n,
                                         float *deltas) { CUDA_CTX_UNBUILT(); }
static inline void box_coder_decode_cuda(cuda_ctx *ctx, const box_coder *c, const float *anchors,
                                         const float *deltas, int64_t n,
                                         float *boxes) { CUDA_CTX_UNBUILT(); }
static inline void box_coder_encode_matched_cuda(cuda_ctx *ctx, const box_coder *c,
                                                 const float *anchors, int64_t A,
                                                 const int32_t *match, const rd_box *gt,
                                                 float *targets) { CUDA_CTX_UNBUILT(); }
#pragma GCC diagnostic pop
#endif

#endif
