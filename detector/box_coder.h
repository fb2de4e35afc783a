/* box_coder.h — box ⇄ regression-delta coding of R-CNN, as torchvision 0.14's
 * det_utils.BoxCoder (encode_single, decode_single) computes it in float32, with no "+1":
 *   anchor a: w = x2 - x1, cx = x1 + 0.5 w (h, cy likewise)
 *   encode:  dx = wx (gcx - cx) / w,  dy = wy (gcy - cy) / h,
 *            dw = ww log(gw / w),     dh = wh log(gh / h)
 *   decode:  dw' = min(dw / ww, clip), pcx = (dx / wx) w + cx, pw = exp(dw') w,
 *            box = (pcx - 0.5 pw, pcy - 0.5 ph, pcx + 0.5 pw, pcy + 0.5 ph)
 * The paper preset's SSD variances (0.1, 0.1, 0.2, 0.2) are the weights (10, 10, 5, 5);
 * torchvision RetinaNet uses (1, 1, 1, 1); both clip dw, dh above at log(1000/16).
 * Boxes and anchors are float [n][4] (x1, y1, x2, y2); nothing here allocates or fails. */
#ifndef RD_BOX_CODER_H
#define RD_BOX_CODER_H

#include <stdint.h>

#include "lib/box.h"

typedef struct box_coder {
    float weights[4];  // wx, wy, ww, wh
    float dwh_clip;    // upper clamp of dw, dh in decode (log(1000/16))
} box_coder;

/* deltas [n][4] of boxes [n][4] relative to anchors [n][4]. Boxes of zero width or height give
 * -inf in dw or dh, as torchvision does; assignment never matches such boxes to anchors. */
void box_coder_encode(const box_coder *c, const float *anchors, const float *boxes, int64_t n,
                      float *deltas);
/* boxes [n][4] from deltas [n][4] and anchors [n][4]. boxes must not alias the inputs. */
void box_coder_decode(const box_coder *c, const float *anchors, const float *deltas, int64_t n,
                      float *boxes);
/* Regression targets of one image: for every anchor a with match[a] ≥ 0, targets[a] =
 * encode(anchors[a], gt[match[a]]); the other rows are set to 0. anchors, targets [A][4];
 * match [A] as detector/assign.h writes it; gt [ngt]. */
void box_coder_encode_matched(const box_coder *c, const float *anchors, int64_t A,
                              const int32_t *match, const rd_box *gt, float *targets);

#endif
