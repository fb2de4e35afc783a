/* box_loss_cuda.h — the CUDA twin of box_loss.h's box_loss_compute (optim/box_loss.cu): the same
 * smooth L1 / L1 losses on positive anchors and the same normalisers (whole batch, or per image
 * then the mean), with deltas, targets, match and ddeltas device pointers. Each coordinate's loss
 * and derivative are computed in double with the CPU's roundings, so ddeltas equals the CPU's
 * bit for bit; the sums of an image are reduced in a fixed (but different) order, so loss and
 * sum agree with the CPU within double rounding (tests/test_geometry_cuda.c: 1e-12 relative);
 * num_pos is exact. The result is deterministic. In a build without CUDA the function is a stub
 * that aborts saying so. */
#ifndef RD_BOX_LOSS_CUDA_H
#define RD_BOX_LOSS_CUDA_H

#include <stdint.h>

#include "lib/cuda_ctx.h"
#include "optim/box_loss.h"

#ifdef RANKDET_CUDA
/* box_loss_compute on the GPU for n images of A anchors: deltas, targets [N][A][4], match
 * [N][A], ddeltas [N][A][4] (may be NULL; overwritten). Scratch is the context's workspace.
 * Waits for the stream to fill *out (host). Aborts on invalid p (β < 0) or n > 65535. */
void box_loss_compute_cuda(cuda_ctx *ctx, const box_loss_params *p, const float *deltas,
                           const float *targets, const int32_t *match, int n, int64_t A,
                           float *ddeltas, box_loss_result *out);
#else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
static inline void box_loss_compute_cuda(cuda_ctx *ctx, const box_loss_params *p,
                                         const float *deltas, const float *targets,
                                         const int32_t *match, int n, int64_t A, float *ddeltas,
                                         box_loss_result *out) { CUDA_CTX_UNBUILT(); }
#pragma GCC diagnostic pop
#endif

#endif
