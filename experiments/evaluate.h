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
#include "lib/arena.h"
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

/* The defaults for preset p: one scale (the preset's test_min_size), the preset's max size
 * (max_size 0: the preset's ratio, which at its test_min_size is its test_max_size), no flip,
 * every image, COCO metrics, 1 thread. */
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

/* ---- The pieces of evaluate_model, for `rankdet eval`, `rankdet detect` and the tests ---- */

/* The network input of one test pass: resized size before padding (the clip window) and the
 * padded size the model is planned for. */
typedef struct eval_input_shape {
    int rh, rw;  // resized height, width
    int ph, pw;  // padded to the preset's size divisor (at least 32)
} eval_input_shape;

/* The long side cap of test scale `scale` under c: c->max_size · scale / c->scales[0], or
 * with max_size 0 the preset's ratio scale · test_max_size / test_min_size (in double,
 * rounded to float once; the preset's own scale gives exactly its test_max_size). */
float eval_max_size(const eval_config *c, int scale);

/* Sizes of the preset's test transform of an h × w image for (min_size, max_size): torchvision
 * rule (float32 scale, floor) or the paper's cv2 rule (double scale, rounded), at least 1,
 * then padded to p->size_divisor with 32 at least. */
void eval_test_shape(const detector_preset *p, int h, int w, float min_size, float max_size,
                     eval_input_shape *s);

/* The preset's test transform (the one `rankdet detect` and evaluation share): chw01 [3][h][w]
 * in [0, 1], mirrored left-right first when flip, normalised with the preset's mean and std,
 * resized bilinearly to s->rh × s->rw and zero padded to s->ph × s->pw. Returns the network
 * input [3][ph][pw], a view into work (reserved here, grow-only: valid until work's next
 * reserve). Cannot fail. */
float *eval_test_transform(const detector_preset *p, const float *chw01, int h, int w,
                           float min_size, float max_size, int flip, rd_arena *work,
                           eval_input_shape *s);

/* Boxes of detections made on the mirrored image of a width-pixel wide image back onto the
 * original: (x1, x2) → (width - x2, width - x1), y unchanged. In place; cannot fail. */
void eval_mirror_detections(rd_detection *dets, int n, int width);

/* The multi-scale merge: the pooled candidates cand [n] (every pass's detections of one image
 * in original pixels) through class-wise NMS at p->nms_iou (detector/nms.h: by descending
 * score, ties by pool position), the p->detections_per_image best written to out (which must
 * not overlap cand). Returns how many. ws is scratch, reserved here (grow-only). */
int eval_merge_detections(const detector_preset *p, const rd_detection *cand, int n,
                          rd_arena *ws, rd_detection *out);

/* Inference only: the detections of ds's first c->limit images (every pass, merge, image_id =
 * the sample's) into *dets (malloc'd, caller frees; NULL when none) and their count *ndets,
 * in sample order, each image's by descending score. Re-plans m as evaluate_model does.
 * 0, or -1 with a message naming the image that could not be read. */
int eval_detect_dataset(retinanet *m, const rd_dataset *ds, const eval_config *c,
                        rd_detection **dets, int64_t *ndets, char *err, size_t errsize);

/* The metric step of evaluate_model: dets against the ground truth of ds's first c->limit
 * images only (ground truth of the other images is neither missed nor matched), VOC protocol
 * plus COCO when c->is_voc, COCO otherwise, into out (nimages, ndets and the numbers;
 * seconds left as they were). When class_ap50 is not NULL it receives the AP at IoU 0.5 of
 * each class [ds->nclasses] (VOC 11-point for a VOC evaluation, else COCO; -1 where the class
 * has no ground truth). 0, or -1 with a message naming a detection of an unknown image or
 * class. */
int eval_compute_metrics(const rd_dataset *ds, const eval_config *c, const rd_detection *dets,
                         int64_t ndets, eval_metrics *out, double *class_ap50, char *err,
                         size_t errsize);

#endif
