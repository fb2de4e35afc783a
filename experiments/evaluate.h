/* evaluate.h — a model over a dataset's images → detections in original image pixels →
 * metrics; used by training (periodic and final evaluation) and by `rankdet eval --weights`.
 *
 * Each image goes through the preset's test transform (as `rankdet detect`: normalise, resize
 * so the short side is `scale` and the long side at most scale · test_max_size / test_min_size
 * of the preset, zero padding to 32), the forward pass and the preset's post-processing
 * (detector/postprocess.h). Multi-scale testing (Table 3's "✓" rows) runs every scale of
 * `scales` (and, with flip, the mirrored image at each scale), pools the candidates of all
 * passes in original pixels, then class-wise NMS at the preset's IoU and keeps the preset's
 * detections_per_image best. One scale without flip is exactly the single-scale test.
 *
 * Metrics: the headline AP, AP50, AP75 (and APs, APm, APl) are
 *   - for a VOC dataset (data/voc.h), the paper's PASCAL VOC protocol: the VOC2007 11-point AP
 *     at IoU 0.50 and 0.75 and averaged over .50:.05:.95 (analysis/voc_eval.h), difficult
 *     objects neither counted nor penalised; APs/APm/APl from the COCO evaluation;
 *   - otherwise (COCO, YOLO) the COCO metrics of analysis/coco_eval.h.
 * Both evaluations are kept in the result. */
#ifndef RD_EVALUATE_H
#define RD_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/coco_eval.h"
#include "data/dataset.h"
#include "detector/preset.h"
#include "detector/retinanet.h"
#include "lib/box.h"

#define EVAL_MAX_SCALES 8

typedef struct eval_config {
    const detector_preset *preset;
    int nscales;                     // ≥ 1
    int scales[EVAL_MAX_SCALES];     // test short sides (pixels)
    int max_size;                    // long side cap at scales[0] (0: the preset's ratio)
    int flip;                        // also test the mirrored image (each scale)
    int64_t limit;                   // evaluate the first `limit` images only (0: all)
    int is_voc;                      // 1: VOC protocol (set from the dataset's format)
    int threads;                     // image decoding threads (≥ 1)
} eval_config;

typedef struct eval_metrics {
    double ap, ap50, ap75, aps, apm, apl;  // the headline numbers in [0, 1] (-1: undefined)
    double coco[COCO_STAT_COUNT];          // the COCO evaluation's 12 numbers
    double voc_ap, voc_ap50, voc_ap75;     // VOC2007 11-point (-1 when not a VOC dataset)
    int64_t nimages, ndets;
    double seconds;                        // wall clock of the whole evaluation
} eval_metrics;

/* The defaults for preset p: one scale (the preset's test_min_size), the preset's max size, no
 * flip, every image, COCO metrics, 1 thread. */
void eval_config_default(eval_config *c, const detector_preset *p);
/* Parse "400,500,600" into c->scales (1..EVAL_MAX_SCALES positive sizes). 0, or -1 with a
 * message naming the text. */
int eval_parse_scales(eval_config *c, const char *text, char *err, size_t errsize);

/* Run m (any plan; it is re-planned per image for inference, so a training caller must plan
 * again before its next step) over ds's first c->limit images. When dets is not NULL, *dets
 * receives every detection (malloc'd, caller frees; labels 0-based, image_id = the sample's)
 * and *ndets their count. 0, or -1 with a message naming the image that could not be read. */
int evaluate_model(retinanet *m, const rd_dataset *ds, const eval_config *c, eval_metrics *out,
                   rd_detection **dets, int64_t *ndets, char *err, size_t errsize);

#endif
