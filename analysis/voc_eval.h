/* voc_eval.h — PASCAL VOC detection AP as the classic voc_eval.py computes it (the devkit's
 * rules as py-faster-rcnn / Detectron transcribe them): per class, detections in descending
 * score order each take the ground truth box of their image with the largest "+1" IoU
 * (iw = xmax - xmin + 1, first one on ties); above the threshold (strictly) a free,
 * non-difficult box makes a true positive, a box already taken a false positive, a difficult
 * box neither; below it a false positive. recall = tp / npos (npos: non-difficult boxes),
 * precision = tp / max(tp + fp, eps); AP by the 11-point rule (VOC2007: mean over t in
 * 0, 0.1, ..., 1 of the largest precision at recall >= t) or the area rule (VOC2010+: area
 * under the precision envelope at the points where recall changes).
 * Beyond the classic code: every IoU threshold of .50:.05:.95 (numpy.linspace(.5, .95, 10),
 * as COCO), so AP50, AP75 and the paper's VOC AP averaged over them come out of one pass;
 * ties in score keep file order (the classic code's numpy quicksort leaves them unordered);
 * a class without non-difficult ground truth has no AP (the classic code divides by zero):
 * -1, left out of the means. Boxes are in the devkit's frame: 1-based inclusive pixel indices
 * as VOC XML writes them, detections as comp4_det_test_*.txt files hold them. */
#ifndef RD_VOC_EVAL_H
#define RD_VOC_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "lib/box.h"

#define VOC_EVAL_T 10  // IoU thresholds .50:.05:.95

typedef enum voc_metric {
    VOC_METRIC_07 = 0,  // 11-point interpolated AP (VOC2007 devkit)
    VOC_METRIC_10,      // area under the interpolated curve (VOC2010 and later)
} voc_metric;

typedef struct voc_eval_gt {
    int64_t image;   // position in the image list, [0, nimages)
    int32_t label;   // class, [0, nclasses)
    int32_t difficult;
    double box[4];   // xmin, ymin, xmax, ymax in the devkit's frame
} voc_eval_gt;

typedef struct voc_eval_det {
    int64_t image;
    int32_t label;
    double score;    // finite
    double box[4];   // x1, y1, x2, y2 in the devkit's frame
} voc_eval_det;

typedef struct voc_eval_input {
    int64_t nimages;
    int nclasses;
    const voc_eval_gt *gt;  // [ngt]
    int64_t ngt;
    const voc_eval_det *dt;  // [ndt], file order (it breaks ties in score)
    int64_t ndt;
    voc_metric metric;
} voc_eval_input;

typedef struct voc_eval_result {
    int nclasses;
    voc_metric metric;
    double *class_ap;        // [VOC_EVAL_T][nclasses]; -1 where the class has no npos
    int64_t *npos;           // [nclasses] non-difficult ground truth
    int64_t *ndet;           // [nclasses] detections
    double map[VOC_EVAL_T];  // mean AP over classes with npos > 0, per threshold (-1: none)
    double ap50, ap75;       // map at IoU 0.5 and 0.75
    double ap;               // mean of map over the 10 thresholds (the paper's "VOC AP")
} voc_eval_result;

/* Evaluate in->dt against in->gt. Image and label of every box must be in range and every
 * score finite (aborts otherwise: the readers check user files). Cannot fail otherwise. The
 * caller frees out with voc_eval_result_free. */
void voc_eval_run(const voc_eval_input *in, voc_eval_result *out);

/* AP of class k at threshold index t (-1 when undefined). */
double voc_eval_class_ap(const voc_eval_result *r, int k, int t);

/* Evaluate detections in memory against a VOC dataset's ground truth (training): boxes in
 * rankdet's continuous pixels go to the devkit's frame as (x1 + 1, y1 + 1, x2, y2) (the
 * convention of data/voc.h, under which the devkit's +1 IoU equals the continuous IoU).
 * A detection of an unknown image, a label outside the classes or a score that is not finite
 * is an error naming it. Returns 0 or -1; the caller frees out with voc_eval_result_free. */
int voc_eval_detections(const rd_dataset *ds, const rd_detection *dets, int64_t ndets,
                        voc_metric metric, voc_eval_result *out, char *err, size_t errsize);

/* A VOC dataset's ground truth for the command: the samples and classes as dataset_open gives
 * them (training and `rankdet detect` number images by these positions), each sample's boxes
 * read again from its XML exactly as written (voc_read_xml: no clamping, no float rounding),
 * and each sample's image stem (the VOC image id the devkit's result files use). */
typedef struct voc_eval_truth {
    rd_dataset ds;
    char **stems;        // [ds.nsamples], owned
    int64_t *by_stem;    // [ds.nsamples] sample positions sorted by stem
    voc_eval_gt *gt;     // [ngt], owned; image = sample position
    int64_t ngt;
} voc_eval_truth;

/* Read the VOC dataset at dir (a devkit root, annotations/ + images/, or image/XML pairs; see
 * data/voc.h) with the image list of ImageSets/Main/SPLIT.txt (split "" : every image).
 * Returns 0, or -1 with a message naming the file in err (t is then empty). The caller frees
 * t with voc_eval_truth_free. */
int voc_eval_truth_read(const char *dir, const char *split, voc_eval_truth *t, char *err,
                        size_t errsize);
/* Position of the sample whose image stem is stem, or -1. */
int64_t voc_eval_truth_find(const voc_eval_truth *t, const char *stem);
void voc_eval_truth_free(voc_eval_truth *t);

/* The devkit frame of a continuous box: (x1 + 1, y1 + 1, x2, y2) in doubles. */
void voc_eval_box_from_pixels(rd_box b, double box[4]);

void voc_eval_result_free(voc_eval_result *r);

#endif
