/* postprocess.h — head outputs of one image → detections in original image pixels.
 *
 * Per level l: sigmoid of every (anchor, class) logit; keep scores > score_thresh[l]; the
 * topk_per_level best (descending score, ties by lower flat index); decode their anchors'
 * deltas (detector/box_coder.h) and clip to [0, input_w] × [0, input_h]. Over all levels:
 * class-wise NMS at nms_iou (detector/nms.h), the detections_per_image best kept, boxes scaled
 * to the original image by (orig_w / input_w, orig_h / input_h) in float32.
 *   torchvision: RetinaNet.postprocess_detections + GeneralizedRCNNTransform.postprocess of
 *     torchvision 0.14 exactly (score > 0.05, top 1000, NMS 0.5, keep 300; input_* is the
 *     resized image size before padding, `image_sizes`, and resize_boxes' ratios).
 *   paper: the AP-loss released code's test path (lib/model/model.py): top 1000 per level,
 *     score > 0.01 on P3..P6 and > 0 on P7 (the code's own thresholds), NMS 0.5, keep 100;
 *     clipping to the image and scaling back in continuous coordinates (the code clips to
 *     side - 1 and divides by its single resize factor in its "+1" convention).
 * Output labels are 0-based class indices; detections come out by descending score. */
#ifndef RD_POSTPROCESS_H
#define RD_POSTPROCESS_H

#include <stdint.h>

#include "detector/anchors.h"
#include "detector/preset.h"
#include "lib/arena.h"
#include "lib/box.h"

/* The head outputs and geometry of one image. */
typedef struct postprocess_input {
    const float *cls_logits;       // [A][K]
    const float *bbox_regression;  // [A][4]
    const float *anchors;          // [A][4] network-input pixels (detector/anchors.h)
    const anchor_level *levels;    // [PRESET_LEVELS]: offsets and counts of the flat order
    int num_classes;               // K
    int input_h, input_w;          // resized image size before padding: the clip window
    int orig_h, orig_w;            // original image size
    int64_t image_id;              // copied into every detection
} postprocess_input;

/* Detections of one image into out [p->detections_per_image]; returns how many (≤ that).
 * ws is scratch this function reserves and pushes into (grow-only). Cannot fail on valid
 * input; a NaN logit never passes a threshold. */
int postprocess_detections(const detector_preset *p, const postprocess_input *in, rd_arena *ws,
                           rd_detection *out);

/* A logit bound below which no float32 sigmoid passes thresh: logit(thresh) - 1e-3, −inf when
 * thresh ≤ 0, +inf when thresh ≥ 1 (the CUDA twin prunes with the same bound). Cannot fail. */
float postprocess_logit_floor(float thresh);

#endif
