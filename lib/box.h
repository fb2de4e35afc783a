/* box.h — axis-aligned boxes and detections, shared by the detector, the data pipeline and
 * evaluation. Coordinates are continuous pixels (x1, y1, x2, y2): width = x2 - x1, no "+1"
 * (torchvision's convention; the classic VOC "+1" rule lives only in the VOC evaluation). */
#ifndef RD_BOX_H
#define RD_BOX_H

#include <stdint.h>

typedef struct rd_box {
    float x1, y1, x2, y2;
} rd_box;

typedef struct rd_detection {
    int64_t image_id;  // the dataset's image id (COCO image id; position for VOC and YOLO)
    int32_t label;     // 0-based contiguous class index
    float score;
    rd_box box;        // original image pixels
} rd_detection;

/* Area of b; 0 when it is empty (x2 <= x1 or y2 <= y1). */
float box_area(rd_box b);
/* Intersection over union of a and b; 0 when the union is 0. */
float box_iou(rd_box a, rd_box b);

#endif
