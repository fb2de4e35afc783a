/* nms.h — non-maximum suppression, plain and class-wise, with torchvision 0.14's semantics
 * (torchvision.ops.nms / batched_nms): boxes are visited by descending score (equal scores:
 * lower index first), a kept box suppresses every later box of the same class whose IoU with it
 * is > iou_thresh, with the IoU computed as torchvision's CPU kernel does in float32:
 * inter / (area_i + area_j - inter), areas (x2 - x1)(y2 - y1) unclamped (a NaN IoU suppresses
 * nothing). The kept indices come out by descending score, ties by index.
 * Cost O(n log n + kept · n) over the boxes of one class; the scratch comes from the caller's
 * arena (grow-only), so a loop of same-sized calls allocates only on its first call. */
#ifndef RD_NMS_H
#define RD_NMS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"

/* Bytes nms_boxes and nms_batched reserve in ws for n boxes (to size a shared arena). */
size_t nms_scratch_bytes(int64_t n);

/* Class-agnostic NMS of boxes [n][4] (x1, y1, x2, y2) with scores [n]. Writes the kept indices
 * into keep [n] (at most n) and returns their count. ws is reserved and pushed into here. */
int64_t nms_boxes(const float *boxes, const float *scores, int64_t n, float iou_thresh,
                  rd_arena *ws, int64_t *keep);

/* Class-wise NMS: as nms_boxes, but a box only suppresses boxes of its own label (labels [n],
 * any int32 values). keep [n]; returns the count. */
int64_t nms_batched(const float *boxes, const float *scores, const int32_t *labels, int64_t n,
                    float iou_thresh, rd_arena *ws, int64_t *keep);

#endif
