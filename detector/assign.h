/* assign.h — label assignment of one image: anchors × ground truth IoU, the positive /
 * negative / ignored rule, and the per (anchor, class) labels of DESIGN.md.
 *
 * With IoU(a, g) of anchor a and non-crowd ground truth g (torchvision.ops.box_iou in float32)
 * and m(a) = max_g IoU(a, g), g*(a) its first argmax:
 *   m(a) ≥ fg_iou → positive, matched to g*(a);  m(a) < bg_iou → negative;  else ignored;
 *   then every ground truth forces its best anchor(s) positive: every a with
 *   IoU(a, g) = max_a' IoU(a', g) for some g (ties all count), matched to its OWN g*(a) —
 *   torchvision's Matcher with allow_low_quality_matches and the AP-loss released code alike
 *   (a forced anchor may end up regressing to another gt that it overlaps more).
 *   PRESET_MATCH_TORCHVISION keeps torchvision's quirk for a gt that overlaps no anchor
 *   (best IoU 0): every anchor whose IoU with it is 0 is forced and matched to its g*(a)
 *   (index 0 when it overlaps nothing). PRESET_MATCH_PAPER forces nothing for such a gt (the
 *   released code has the same quirk, a bug that makes almost every anchor positive).
 * Crowd ground truth (COCO iscrowd) never matches: it takes no part in the rule above, and an
 * anchor that is not positive and whose intersection with a crowd box covers more than
 * crowd_ioa of its own area is ignored (mmdetection's ignore_iof_thr; torchvision's training
 * reference drops crowd boxes, so with no crowd box both presets are torchvision's rule).
 * An image without (non-crowd) ground truth has every anchor negative, except the crowd-ignored.
 *
 * match [A] holds the state and the matched index together, with torchvision's codes:
 *   match[a] ≥ 0: positive, matched to gt index match[a] (an index into the caller's arrays);
 *   ASSIGN_NEGATIVE (-1), ASSIGN_IGNORED (-2).
 * Cost: one pass over A × G IoUs plus a second over the anchors that can be forced; the
 * A × G matrix is never stored. Scratch comes from the caller's arena (grow-only: a loop of
 * images allocates only when an image has more ground truth than any before). */
#ifndef RD_ASSIGN_H
#define RD_ASSIGN_H

#include <stdint.h>

#include "detector/preset.h"
#include "lib/arena.h"
#include "lib/box.h"

enum {
    ASSIGN_NEGATIVE = -1,  // torchvision's Matcher.BELOW_LOW_THRESHOLD
    ASSIGN_IGNORED = -2,   // torchvision's Matcher.BETWEEN_THRESHOLDS (and crowd overlap)
};

/* The ground truth of one image, as parallel arrays of count entries. */
typedef struct assign_gt {
    const rd_box *boxes;    // [count] network-input pixels
    const int32_t *labels;  // [count] 0-based class index
    const uint8_t *crowd;   // [count] 1: crowd box; NULL: none is
    int count;
} assign_gt;

/* Assign the A anchors [A][4] of one image to gt under preset p. Writes match [A] and, when
 * iou is not NULL, iou [A] = m(a) (the IoU with the matched gt for positives; 0 without
 * non-crowd gt). ws is scratch this function reserves and pushes into (its earlier contents are
 * lost). Returns the number of positives. Cannot fail; allocates only when ws must grow. */
int64_t assign_anchors(const detector_preset *p, const float *anchors, int64_t A,
                       const assign_gt *gt, rd_arena *ws, int32_t *match, float *iou);

/* Labels [A][K] (DESIGN.md's [N][A][K] for one image) from match: a positive anchor gets 1 at
 * the class gt->labels[match[a]] and 0 at the others, a negative 0 everywhere, an ignored -1
 * everywhere. iou_side [A][K] (may be NULL; the loss registry's `iou` side input) gets iou[a] at
 * a positive's class entry and 0 elsewhere (iou from assign_anchors; may be NULL only when
 * iou_side is). Aborts on a gt label outside [0, K) (validate data first). */
void assign_labels(const int32_t *match, const float *iou, int64_t A, const assign_gt *gt,
                   int K, int8_t *labels, float *iou_side);

/* IoU matrix out [A][G] of anchors [A][4] and boxes [G] (torchvision.ops.box_iou's float32
 * arithmetic; for tests and tools: assign_anchors never builds it). */
void assign_iou_matrix(const float *anchors, int64_t A, const rd_box *boxes, int G, float *out);

#endif
