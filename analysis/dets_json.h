/* dets_json.h — detections on disk: written as a COCO results JSON file
 * ([{"image_id", "category_id", "bbox": [x, y, w, h], "score"}, ...], the format of
 * https://cocodataset.org/#format-results that pycocotools' loadRes reads), as `rankdet
 * detect` and training write them; and read from the PASCAL VOC devkit's per-class result
 * files (comp4_det_test_CLASS.txt: one "IMAGE SCORE X1 Y1 X2 Y2" line per detection).
 * Numbers are written in the fewest digits that read back as the same double, so evaluating
 * a written file gives what evaluating the detections in memory gives. */
#ifndef RD_DETS_JSON_H
#define RD_DETS_JSON_H

#include <stddef.h>
#include <stdint.h>

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

/* v in the fewest significant digits (up to 17) that strtod reads back as v, in buf (at least
 * 32 bytes); returns buf. "-0" for negative zero. v must be finite. */
char *dets_json_format_double(double v, char *buf);

#endif
