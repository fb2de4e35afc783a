/* coco_eval.h — the COCO bbox metrics exactly as pycocotools' COCOeval (iouType 'bbox',
 * default Params) computes them: IoU thresholds .50:.05:.95, 101 recall points, maxDets
 * 1/10/100, area ranges all/small/medium/large from the ground truth's `area` field, and the
 * 12 numbers of COCOeval.summarize(), plus per-category values. One code path serves the
 * command (files read by data/coco_json) and training (detections in memory with the dataset's
 * ground truth): both end in coco_eval_run.
 *
 * The rules followed, as in pycocotools 2.0 cocoeval.py and maskApi.c bbIou:
 * - images and categories: the ground truth's (sorted ids); detections of other images or
 *   categories are errors in coco_eval_json and coco_eval_detections.
 * - per image and category, detections sorted by score (stable, ties in file order) and cut to
 *   100; IoU with crowd ground truth is intersection over the detection's area.
 * - per area range, a ground truth is ignored when crowd or its area is outside [lo, hi]
 *   (bounds inclusive); ground truth is visited non-ignored first (stable); a detection takes
 *   the best IoU >= min(t, 1 - 1e-10) among free ground truth (crowd is never used up, a later
 *   equal IoU wins), stopping at the ignored ones once it holds a non-ignored one; it is
 *   ignored when matched to an ignored one, or unmatched with area w·h outside the range; a
 *   match to a ground truth whose id is 0 counts as no match (pycocotools stores the id).
 * - per category, area range and maxDet, detections of all images are sorted by score (stable,
 *   ties in image-id order); precision tp / (tp + fp + eps) made non-increasing from the right
 *   and sampled at the first index whose recall is >= each recall threshold (0 past the end);
 *   recall the last value (0 without detections); -1 where the category has no non-ignored
 *   ground truth in the range, and -1 entries are left out of every mean. */
#ifndef RD_COCO_EVAL_H
#define RD_COCO_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "data/coco_json.h"
#include "data/dataset.h"
#include "lib/box.h"

#define COCO_EVAL_T 10   // IoU thresholds .50:.05:.95
#define COCO_EVAL_R 101  // recall thresholds 0:.01:1
#define COCO_EVAL_A 4    // area ranges all, small, medium, large
#define COCO_EVAL_M 3    // maxDets 1, 10, 100

/* The 12 numbers of COCOeval.summarize(), in its order. */
typedef enum coco_eval_stat {
    COCO_STAT_AP = 0,  // AP @[.50:.95], area all, 100 dets
    COCO_STAT_AP50,
    COCO_STAT_AP75,
    COCO_STAT_APS,
    COCO_STAT_APM,
    COCO_STAT_APL,
    COCO_STAT_AR1,
    COCO_STAT_AR10,
    COCO_STAT_AR100,
    COCO_STAT_ARS,
    COCO_STAT_ARM,
    COCO_STAT_ARL,
    COCO_STAT_COUNT
} coco_eval_stat;

typedef struct coco_eval_input {
    const int64_t *image_ids;  // [nimages] the images evaluated (any order; repeats allowed)
    int64_t nimages;
    const int64_t *category_ids;  // [ncategories] the categories evaluated
    int64_t ncategories;
    const coco_annotation *gt;  // [ngt]; those of other images or categories are skipped
    int64_t ngt;
    const coco_result *dt;  // [ndt]; id = position + 1, area = w * h (pycocotools loadRes)
    int64_t ndt;
} coco_eval_input;

typedef struct coco_eval_result {
    double stats[COCO_STAT_COUNT];  // -1 where no category has ground truth for it
    int64_t ncategories;
    int64_t *category_ids;  // [K] ascending
    double *precision;      // [T][R][K][A][M], pycocotools eval['precision']
    double *recall;         // [T][K][A][M], pycocotools eval['recall']
    int64_t *num_gt;        // [K] non-crowd ground truth
    int64_t *num_dt;        // [K] detections kept (at most 100 per image)
} coco_eval_result;

/* Evaluate in->dt against in->gt. Cannot fail (bad ids are the wrappers' business): every
 * detection or ground truth outside the image and category lists is skipped, as with
 * COCOeval params.imgIds / catIds. The caller frees out with coco_eval_result_free. Runs
 * categories in parallel (OpenMP); the numbers do not depend on the thread count. */
void coco_eval_run(const coco_eval_input *in, coco_eval_result *out);

/* Evaluate a results file's content against an instances file's, as
 * COCOeval(COCO(gt), COCO(gt).loadRes(dt), 'bbox'): every image and category of gt.
 * A result naming an image or a category gt does not have is an error naming the
 * result ("DTNAME: results[7].image_id: 12 is not an image of the ground truth"); the
 * error leaves out empty. An empty dt is fine (AP 0 where there is ground truth).
 * Returns 0 or -1. The caller frees out with coco_eval_result_free. */
int coco_eval_json(const coco_instances *gt, const coco_results *dt, const char *dt_name,
                   coco_eval_result *out, char *err, size_t errsize);

/* Evaluate detections in memory against a dataset's ground truth (training): every sample is
 * an image (image_id), every class a category (ds->category_ids), objects become annotations
 * with id = position + 1, `area` and `crowd` as loaded. Boxes go to [x, y, w, h] with
 * coco_eval_bbox_from_box, as analysis/dets_json writes them, so evaluating the written file
 * gives the same numbers. A detection of an unknown image or a label outside the classes is
 * an error naming it. Returns 0 or -1; the caller frees out with coco_eval_result_free. */
int coco_eval_detections(const rd_dataset *ds, const rd_detection *dets, int64_t ndets,
                         coco_eval_result *out, char *err, size_t errsize);

/* [x, y, w, h] in doubles of a box (x = x1, w = x2 - x1 in double arithmetic). */
void coco_eval_bbox_from_box(rd_box b, double bbox[4]);

/* One of the 12 summary numbers restricted to the category at position k of
 * out->category_ids (k = -1: over all categories, as in out->stats). -1 when undefined. */
double coco_eval_stat_value(const coco_eval_result *r, int64_t k, coco_eval_stat s);
/* "AP", "AP50", ..., "ARl". */
const char *coco_eval_stat_name(coco_eval_stat s);
/* pycocotools' summary line of s, as in " Average Precision  (AP) @[ IoU=0.50:0.95 | area=
 * all | maxDets=100 ]" (without the value). */
const char *coco_eval_stat_title(coco_eval_stat s);

/* The thresholds bit for bit as numpy.linspace makes them in pycocotools' Params. */
double coco_eval_iou_threshold(int t);
double coco_eval_recall_threshold(int r);

void coco_eval_result_free(coco_eval_result *r);

#endif
