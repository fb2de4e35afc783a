/* box.c — box area and IoU in continuous pixel coordinates (torchvision.ops.box_iou). */
#include "lib/box.h"

float box_area(rd_box b)
{
    float w = b.x2 - b.x1, h = b.y2 - b.y1;
    return (w > 0 && h > 0) ? w * h : 0.0f;
}

float box_iou(rd_box a, rd_box b)
{
    float iw = (a.x2 < b.x2 ? a.x2 : b.x2) - (a.x1 > b.x1 ? a.x1 : b.x1);
    float ih = (a.y2 < b.y2 ? a.y2 : b.y2) - (a.y1 > b.y1 ? a.y1 : b.y1);
    float inter = (iw > 0 && ih > 0) ? iw * ih : 0.0f;
    float uni = box_area(a) + box_area(b) - inter;
    return uni > 0 ? inter / uni : 0.0f;
}
