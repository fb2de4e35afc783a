/* dets_json.h — detections on disk: written as a COCO results JSON file
 * ([{"image_id", "category_id", "bbox": [x, y, w, h], "score"}, ...], the format of
 * https://cocodataset.org/#format-results that pycocotools' loadRes reads), as `rankdet
 * detect` and training write them; and read from the PASCAL VOC devkit's per-class result
 * files (comp4_det_test_CLASS.txt: one "IMAGE SCORE X1 Y1 X2 Y2" line per detection).
 * Numbers are written so that they read back as the same doubles (integers as integers, else
 * the shortest of %.15g, %.16g, %.17g that reads back), so evaluating a written file gives
 * what evaluating the detections in memory gives. */
#ifndef RD_DETS_JSON_H
#define RD_DETS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/voc_eval.h"
#include "data/coco_json.h"
#include "lib/box.h"

/* Write results[n] to path as a COCO results file, atomically (a temporary file renamed into
 * place: a failed write leaves an existing file as it was). Returns 0, or -1 with a message
 * naming the file in err. */
int dets_json_write_results(const char *path, const coco_result *results, int64_t n,
                            char *err, size_t errsize);

/* Write detections[n] (0-based labels) as a COCO results file: category_id =
 * category_ids[label] (label < ncategories, else -1 with a message), bbox from
 * coco_eval_bbox_from_box. Returns 0, or -1 with a message in err. */
int dets_json_write(const char *path, const rd_detection *dets, int64_t n,
                    const int64_t *category_ids, int ncategories, char *err, size_t errsize);

/* Read the VOC devkit's per-class result files for the classes of t: `where` is a folder
 * holding one comp*_det_*_CLASS.txt per class (comp4_det_test_CLASS.txt as the devkit names
 * them), or a pattern with "{}" or "%s" standing for the class name (voc_eval.py's detpath).
 * Each line: "IMAGE_ID SCORE X1 Y1 X2 Y2" in the devkit's frame, IMAGE_ID a sample's image
 * stem. A missing file, a malformed line, an unknown image, a score that is not finite or a
 * box with x2 < x1 or y2 < y1 is an error naming the file and line. Detections go to *out
 * (malloc'd, the caller frees it; labels are class positions), their count to *n.
 * Returns 0 or -1 with a message in err. */
int dets_voc_read(const char *where, const voc_eval_truth *t, voc_eval_det **out, int64_t *n,
                  char *err, size_t errsize);

/* A COCO results file's content as VOC detections of t: image_id is a sample's image_id (for
 * VOC its position in the list, as training and `rankdet detect` write them), category_id a
 * class's category id (for VOC its index); bbox [x, y, w, h] in continuous pixels goes to the
 * devkit's frame as (x + 1, y + 1, x + w, y + h). Unknown ids are errors naming the result.
 * Returns 0 or -1 with a message in err; *out as for dets_voc_read. */
int dets_voc_from_results(const coco_results *r, const char *name, const voc_eval_truth *t,
                          voc_eval_det **out, int64_t *n, char *err, size_t errsize);

/* v as text that strtod reads back as v: an integer below 1e15 as one, else the first of
 * %.15g (the shortest form whenever 15 digits suffice), %.16g, %.17g that reads back; into buf
 * (at least 32 bytes); returns buf. "-0" for negative zero. v must be finite. */
char *dets_json_format_double(double v, char *buf);

#endif
