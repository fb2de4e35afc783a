/* nms.c — greedy non-maximum suppression with torchvision 0.14's semantics (see nms.h):
 * torchvision/csrc/ops/cpu/nms_kernel.cpp for one class, batched_nms for many. Boxes are put in
 * (label, descending score, index) order with two stable radix sorts (optim/sort.h), each
 * label's run is suppressed greedily in that order, and the survivors are read back in
 * (descending score, index) order. */
#include "detector/nms.h"

#include <string.h>

#include "lib/check.h"
#include "optim/sort.h"

typedef struct nms_work {
    uint32_t *keys;      // [n] sort keys
    int64_t *order;      // [n] indices by (descending score, index)
    int64_t *grouped;    // [n] indices by (label, descending score, index)
    float *x1, *y1, *x2, *y2, *area;  // [n] boxes in grouped order
    uint8_t *removed;    // [n] suppressed, in grouped order
    uint8_t *kept;       // [n] kept, by original index
    void *sort_scratch;
} nms_work;

size_t nms_scratch_bytes(int64_t n)
{
    size_t fn = (size_t)n * sizeof(float), in = (size_t)n * sizeof(int64_t);
    return rd_arena_align((size_t)n * sizeof(uint32_t)) + 2 * rd_arena_align(in) +
           5 * rd_arena_align(fn) + 2 * rd_arena_align((size_t)n) + sort_radix_scratch_bytes(n);
}

static void nms_work_push(rd_arena *ws, int64_t n, nms_work *w)
{
    size_t fn = (size_t)n * sizeof(float), in = (size_t)n * sizeof(int64_t);
    rd_arena_reserve(ws, nms_scratch_bytes(n));
    w->keys = rd_arena_push(ws, (size_t)n * sizeof(uint32_t));
    w->order = rd_arena_push(ws, in);
    w->grouped = rd_arena_push(ws, in);
    float **f[5] = {&w->x1, &w->y1, &w->x2, &w->y2, &w->area};
    for (int k = 0; k < 5; k++)
        *f[k] = rd_arena_push(ws, fn);
    w->removed = rd_arena_push(ws, (size_t)n);
    w->kept = rd_arena_push(ws, (size_t)n);
    w->sort_scratch = rd_arena_push(ws, sort_radix_scratch_bytes(n));
}

/* Greedy suppression of the grouped positions [begin, end) (one label). */
static void nms_run(nms_work *w, int64_t begin, int64_t end, float iou_thresh)
{
    for (int64_t i = begin; i < end; i++) {
        if (w->removed[i])
            continue;
        w->kept[w->grouped[i]] = 1;
        float ix1 = w->x1[i], iy1 = w->y1[i], ix2 = w->x2[i], iy2 = w->y2[i];
        float iarea = w->area[i];
        for (int64_t j = i + 1; j < end; j++) {
            if (w->removed[j])
                continue;
            float xx1 = ix1 > w->x1[j] ? ix1 : w->x1[j];
            float yy1 = iy1 > w->y1[j] ? iy1 : w->y1[j];
            float xx2 = ix2 < w->x2[j] ? ix2 : w->x2[j];
            float yy2 = iy2 < w->y2[j] ? iy2 : w->y2[j];
            float ww = xx2 - xx1 > 0.0f ? xx2 - xx1 : 0.0f;
            float hh = yy2 - yy1 > 0.0f ? yy2 - yy1 : 0.0f;
            float inter = ww * hh;
            float ovr = inter / (iarea + w->area[j] - inter);
            if ((double)ovr > (double)iou_thresh)
                w->removed[j] = 1;
        }
    }
}

static int64_t nms_impl(const float *boxes, const float *scores, const int32_t *labels,
                        int64_t n, float iou_thresh, rd_arena *ws, int64_t *keep)
{
    RD_CHECK(n >= 0, "negative box count %lld", (long long)n);
    if (n == 0)
        return 0;
    nms_work w;
    nms_work_push(ws, n, &w);
    for (int64_t i = 0; i < n; i++) {
        RD_CHECK(scores[i] == scores[i], "score %lld is NaN", (long long)i);
        w.keys[i] = ~sort_key_from_f32(scores[i]);
        w.order[i] = i;
    }
    sort_radix_u32(w.keys, w.order, n, w.sort_scratch);
    memcpy(w.grouped, w.order, (size_t)n * sizeof(int64_t));
    if (labels) {
        for (int64_t i = 0; i < n; i++)
            w.keys[i] = (uint32_t)labels[w.grouped[i]] ^ 0x80000000u;
        sort_radix_u32(w.keys, w.grouped, n, w.sort_scratch);
    }
    for (int64_t i = 0; i < n; i++) {
        const float *b = boxes + 4 * w.grouped[i];
        w.x1[i] = b[0];
        w.y1[i] = b[1];
        w.x2[i] = b[2];
        w.y2[i] = b[3];
        w.area[i] = (b[2] - b[0]) * (b[3] - b[1]);
        w.removed[i] = 0;
        w.kept[i] = 0;  // by original index: every index in [0, n) is cleared once
    }
    for (int64_t begin = 0; begin < n;) {
        int64_t end = begin + 1;
        if (labels)
            while (end < n && labels[w.grouped[end]] == labels[w.grouped[begin]])
                end++;
        else
            end = n;
        nms_run(&w, begin, end, iou_thresh);
        begin = end;
    }
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++)
        if (w.kept[w.order[i]])
            keep[count++] = w.order[i];
    return count;
}

int64_t nms_boxes(const float *boxes, const float *scores, int64_t n, float iou_thresh,
                  rd_arena *ws, int64_t *keep)
{
    return nms_impl(boxes, scores, NULL, n, iou_thresh, ws, keep);
}

int64_t nms_batched(const float *boxes, const float *scores, const int32_t *labels, int64_t n,
                    float iou_thresh, rd_arena *ws, int64_t *keep)
{
    return nms_impl(boxes, scores, labels, n, iou_thresh, ws, keep);
}
