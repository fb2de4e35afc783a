/* box_coder.c — torchvision 0.14's BoxCoder.encode_single / decode_single in float32, operation
 * for operation (detection/_utils.py: encode_boxes, decode_single), so rankdet's deltas and
 * decoded boxes equal torchvision's up to the last bit of exp and log. */
#include "detector/box_coder.h"

#include <math.h>
#include <string.h>

/* deltas of one box against one anchor (encode_boxes). */
static void box_coder_encode_one(const box_coder *c, const float *a, const float *g, float *d)
{
    float ex_w = a[2] - a[0], ex_h = a[3] - a[1];
    float ex_cx = a[0] + 0.5f * ex_w, ex_cy = a[1] + 0.5f * ex_h;
    float gt_w = g[2] - g[0], gt_h = g[3] - g[1];
    float gt_cx = g[0] + 0.5f * gt_w, gt_cy = g[1] + 0.5f * gt_h;
    d[0] = c->weights[0] * (gt_cx - ex_cx) / ex_w;
    d[1] = c->weights[1] * (gt_cy - ex_cy) / ex_h;
    d[2] = c->weights[2] * logf(gt_w / ex_w);
    d[3] = c->weights[3] * logf(gt_h / ex_h);
}

void box_coder_encode(const box_coder *c, const float *anchors, const float *boxes, int64_t n,
                      float *deltas)
{
    for (int64_t i = 0; i < n; i++)
        box_coder_encode_one(c, anchors + 4 * i, boxes + 4 * i, deltas + 4 * i);
}

void box_coder_decode(const box_coder *c, const float *anchors, const float *deltas, int64_t n,
                      float *boxes)
{
    for (int64_t i = 0; i < n; i++) {
        const float *a = anchors + 4 * i, *d = deltas + 4 * i;
        float w = a[2] - a[0], h = a[3] - a[1];
        float cx = a[0] + 0.5f * w, cy = a[1] + 0.5f * h;
        float dx = d[0] / c->weights[0], dy = d[1] / c->weights[1];
        float dw = d[2] / c->weights[2], dh = d[3] / c->weights[3];
        dw = dw > c->dwh_clip ? c->dwh_clip : dw;  // torch.clamp(max=): NaN stays NaN
        dh = dh > c->dwh_clip ? c->dwh_clip : dh;
        float pcx = dx * w + cx, pcy = dy * h + cy;
        float pw = expf(dw) * w, ph = expf(dh) * h;
        float half_w = 0.5f * pw, half_h = 0.5f * ph;
        float *b = boxes + 4 * i;
        b[0] = pcx - half_w;
        b[1] = pcy - half_h;
        b[2] = pcx + half_w;
        b[3] = pcy + half_h;
    }
}

void box_coder_encode_matched(const box_coder *c, const float *anchors, int64_t A,
                              const int32_t *match, const rd_box *gt, float *targets)
{
    for (int64_t a = 0; a < A; a++) {
        float *t = targets + 4 * a;
        if (match[a] < 0) {
            memset(t, 0, 4 * sizeof(float));
            continue;
        }
        const rd_box *g = &gt[match[a]];
        float gb[4] = {g->x1, g->y1, g->x2, g->y2};
        box_coder_encode_one(c, anchors + 4 * a, gb, t);
    }
}
