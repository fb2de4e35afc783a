/* postprocess_cuda.h — the CUDA twins of NMS (detector/nms.h, detector/nms.cu) and of the
 * post-processing chain (detector/postprocess.h, detector/postprocess.cu): the same
 * semantics and outputs, on inputs in device memory, work queued on the context's stream
 * (lib/cuda_ctx.h) and scratch from its grow-only workspace (a loop of same-sized calls
 * allocates only on its first). No CUDA types here: C files include this header.
 * Agreement with the CPU (tests/test_postprocess_cuda.c): the same kept indices in the same
 * order and the same detections (labels, order, count) exactly; scores and boxes within
 * 1e-5 relative (max(1, |CPU value|)), though they are computed operation for operation in
 * float32 without FMA contraction, with a port of glibc's expf, to give the CPU's bits.
 * In a build without CUDA every function is a stub that aborts saying so; callers check
 * rd_cuda_available (lib/device.h) first. */
#ifndef RD_POSTPROCESS_CUDA_H
#define RD_POSTPROCESS_CUDA_H

#include <stdint.h>

#include "detector/postprocess.h"
#include "lib/cuda_ctx.h"

#ifdef RANKDET_CUDA
#define POSTPROCESS_CUDA_BUILT 1

/* nms_boxes on the GPU: boxes [n][4] and scores [n] in device memory; the kept indices go to
 * the device array keep [n] (by descending score, ties by index); returns their count (after
 * synchronising the stream). Aborts on a NaN score, naming its index, as the CPU does. Masks
 * take n · ceil(n / 64) · 8 bytes of workspace; n is at most 65535 · 64. */
int64_t nms_boxes_cuda(cuda_ctx *ctx, const float *boxes, const float *scores, int64_t n,
                       float iou_thresh, int64_t *keep);
/* nms_batched on the GPU: as nms_boxes_cuda, a box only suppressing boxes of its own label
 * (labels [n] device, any int32 values). */
int64_t nms_batched_cuda(cuda_ctx *ctx, const float *boxes, const float *scores,
                         const int32_t *labels, int64_t n, float iou_thresh, int64_t *keep);

/* postprocess_detections on the GPU: in->cls_logits, in->bbox_regression and in->anchors are
 * device pointers, in->levels a host array; out [p->detections_per_image] is host memory.
 * Returns the number of detections (≤ detections_per_image), the CPU's in the CPU's order.
 * Synchronises the stream a few times (candidate counts, NMS, the result). Aborts on bad
 * sizes as the CPU does. */
int postprocess_detections_cuda(cuda_ctx *ctx, const detector_preset *p,
                                const postprocess_input *in, rd_detection *out);

/* The expf the GPU post-processing and box decoding compute (lib/cuda_expf_impl.h): glibc's
 * algorithm, here evaluated on the host, so a test can check it against the C library's expf. */
float postprocess_cuda_expf(float x);
#else
#define POSTPROCESS_CUDA_BUILT 0
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
static inline int64_t nms_boxes_cuda(cuda_ctx *ctx, const float *boxes, const float *scores,
                                     int64_t n, float iou_thresh, int64_t *keep)
{
    CUDA_CTX_UNBUILT();
}
static inline int64_t nms_batched_cuda(cuda_ctx *ctx, const float *boxes, const float *scores,
                                       const int32_t *labels, int64_t n, float iou_thresh,
                                       int64_t *keep)
{
    CUDA_CTX_UNBUILT();
}
static inline int postprocess_detections_cuda(cuda_ctx *ctx, const detector_preset *p,
                                              const postprocess_input *in, rd_detection *out)
{
    CUDA_CTX_UNBUILT();
}
static inline float postprocess_cuda_expf(float x) { CUDA_CTX_UNBUILT(); }
#pragma GCC diagnostic pop
#endif

#endif
