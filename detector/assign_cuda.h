/* assign_cuda.h — the CUDA twins of assign.h (detector/assign.cu): the same rule (thresholds,
 * every ground truth's best anchor(s) forced positive with ties, the paper preset's exception for
 * a ground truth that overlaps nothing, crowd boxes never matched and IoA > crowd_ioa ignored),
 * the same match codes and labels. IoU is computed with box_iou's float32 operations in the
 * CPU's order, rounded one by one (no FMA), and maxima and first argmaxima are exact, so match,
 * iou and labels equal the CPU's bit for bit. anchors, match, iou, labels and iou_side are device
 * pointers; the ground truth (assign_gt) stays on the host: a few boxes, uploaded into the
 * context's workspace by each call. In a build without CUDA every function is a stub that aborts
 * saying so. */
#ifndef RD_ASSIGN_CUDA_H
#define RD_ASSIGN_CUDA_H

#include <stdint.h>

#include "detector/assign.h"
#include "lib/cuda_ctx.h"

#ifdef RANKDET_CUDA
/* assign_anchors on the GPU: match [A] and, when iou is not NULL, iou [A] (device) for the A
 * anchors [A][4] (device) against the host ground truth gt under preset p. Returns the number of
 * positives, so it waits for the stream. Scratch is the context's workspace. */
int64_t assign_anchors_cuda(cuda_ctx *ctx, const detector_preset *p, const float *anchors,
                            int64_t A, const assign_gt *gt, int32_t *match, float *iou);
/* assign_labels on the GPU: labels [A][K] and, when not NULL, iou_side [A][K] (device) from
 * match and iou (device, as assign_anchors_cuda wrote them; iou may be NULL only when iou_side
 * is) and the host gt. Unlike the CPU, which checks the classes of the matched ground truth
 * only, it aborts on any non-crowd ground truth whose class is outside [0, K) before launching;
 * match must come from assign_anchors_cuda with the same gt (it is not checked on the device).
 * Returns without waiting. */
void assign_labels_cuda(cuda_ctx *ctx, const int32_t *match, const float *iou, int64_t A,
                        const assign_gt *gt, int K, int8_t *labels, float *iou_side);
#else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
static inline int64_t assign_anchors_cuda(cuda_ctx *ctx, const detector_preset *p,
                                          const float *anchors, int64_t A, const assign_gt *gt,
                                          int32_t *match, float *iou) { CUDA_CTX_UNBUILT(); }
static inline void assign_labels_cuda(cuda_ctx *ctx, const int32_t *match, const float *iou,
                                      int64_t A, const assign_gt *gt, int K, int8_t *labels,
                                      float *iou_side) { CUDA_CTX_UNBUILT(); }
#pragma GCC diagnostic pop
#endif

#endif
