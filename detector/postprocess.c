/* postprocess.c — detections of one image (see postprocess.h): torchvision 0.14's
 * RetinaNet.postprocess_detections and transform.resize_boxes, or the AP-loss released code's
 * test path, by the preset's numbers.
 * Scores are only computed where they can pass: a logit whose sigmoid can exceed the level's
 * threshold must exceed logit(threshold) - 1e-3, and the exact float32 sigmoid then decides.
 * A first pass counts the candidates of each level so the scratch is reserved once. */
#include "detector/postprocess.h"

#include <math.h>
#include <string.h>

#include "detector/box_coder.h"
#include "detector/nms.h"
#include "lib/check.h"
#include "optim/sort.h"

/* torch.sigmoid in float32. */
static float postprocess_sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* A logit bound below which no sigmoid passes thresh (−inf when thresh ≤ 0). */
static float postprocess_logit_floor(float thresh)
{
    if (thresh <= 0.0f)
        return -INFINITY;
    if (thresh >= 1.0f)
        return INFINITY;
    return (float)(log((double)thresh / (1.0 - (double)thresh)) - 1e-3);
}

/* Scores of level l above its threshold: count only (keys NULL), or their sort keys
 * (descending score) and flat indices within the level. */
static int64_t postprocess_scan(const float *logits, int64_t n, float thresh, uint32_t *keys,
                                int64_t *idx)
{
    float floor = postprocess_logit_floor(thresh);
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!(logits[i] > floor))
            continue;
        float s = postprocess_sigmoid(logits[i]);
        if (!(s > thresh))
            continue;
        if (keys) {
            keys[count] = ~sort_key_from_f32(s);
            idx[count] = i;
        }
        count++;
    }
    return count;
}

typedef struct postprocess_work {
    uint32_t *keys;   // [max level candidates]
    int64_t *idx;     // [max level candidates]
    void *sort_scratch;
    float *boxes;     // [M][4] decoded, clipped candidates of all levels
    float *scores;    // [M]
    int32_t *labels;  // [M]
    int64_t *keep;    // [M]
    rd_arena nms_ws;  // a view of a block of ws, sized for M boxes
} postprocess_work;

static void postprocess_work_push(rd_arena *ws, int64_t cmax, int64_t m, postprocess_work *w)
{
    size_t nms_bytes = nms_scratch_bytes(m);
    rd_arena_reserve(ws, rd_arena_align((size_t)cmax * 4) + rd_arena_align((size_t)cmax * 8) +
                             sort_radix_scratch_bytes(cmax) + rd_arena_align((size_t)m * 16) +
                             rd_arena_align((size_t)m * 4) * 2 + rd_arena_align((size_t)m * 8) +
                             rd_arena_align(nms_bytes));
    w->keys = rd_arena_push(ws, (size_t)cmax * sizeof(uint32_t));
    w->idx = rd_arena_push(ws, (size_t)cmax * sizeof(int64_t));
    w->sort_scratch = rd_arena_push(ws, sort_radix_scratch_bytes(cmax));
    w->boxes = rd_arena_push(ws, (size_t)m * 4 * sizeof(float));
    w->scores = rd_arena_push(ws, (size_t)m * sizeof(float));
    w->labels = rd_arena_push(ws, (size_t)m * sizeof(int32_t));
    w->keep = rd_arena_push(ws, (size_t)m * sizeof(int64_t));
    w->nms_ws.base = rd_arena_push(ws, nms_bytes);
    w->nms_ws.cap = nms_bytes;  // nms reserves no more than this: it never allocates
    w->nms_ws.used = 0;
    w->nms_ws.grows = 0;
}

/* Top-k of level l, decoded and clipped, appended at w->boxes[m...]; returns the new m. */
static int64_t postprocess_level(const detector_preset *p, const postprocess_input *in, int l,
                                 postprocess_work *w, int64_t m)
{
    const anchor_level *lv = &in->levels[l];
    int K = in->num_classes;
    const float *logits = in->cls_logits + lv->offset * K;
    int64_t count = postprocess_scan(logits, lv->count * K, p->score_thresh[l], w->keys, w->idx);
    sort_radix_u32(w->keys, w->idx, count, w->sort_scratch);
    int64_t k = count < p->topk_per_level ? count : p->topk_per_level;
    float fw = (float)in->input_w, fh = (float)in->input_h;
    for (int64_t j = 0; j < k; j++, m++) {
        int64_t a = lv->offset + w->idx[j] / K;
        w->labels[m] = (int32_t)(w->idx[j] % K);
        w->scores[m] = sort_f32_from_key(~w->keys[j]);
        float *b = w->boxes + 4 * m;
        box_coder_decode(&p->coder, in->anchors + 4 * a, in->bbox_regression + 4 * a, 1, b);
        for (int c = 0; c < 4; c++) {  // clip_boxes_to_image: clamp(min=0, max=side)
            float side = (c % 2 == 0) ? fw : fh;
            b[c] = b[c] < 0.0f ? 0.0f : (b[c] > side ? side : b[c]);
        }
    }
    return m;
}

int postprocess_detections(const detector_preset *p, const postprocess_input *in, rd_arena *ws,
                           rd_detection *out)
{
    RD_CHECK(in->num_classes >= 1 && in->input_h > 0 && in->input_w > 0 && in->orig_h > 0 &&
                 in->orig_w > 0, "postprocess: bad sizes (K %d, input %dx%d, original %dx%d)",
             in->num_classes, in->input_h, in->input_w, in->orig_h, in->orig_w);
    int64_t cmax = 0, m = 0;
    for (int l = 0; l < PRESET_LEVELS; l++) {
        const anchor_level *lv = &in->levels[l];
        int64_t c = postprocess_scan(in->cls_logits + lv->offset * in->num_classes,
                                     lv->count * in->num_classes, p->score_thresh[l], NULL,
                                     NULL);
        cmax = c > cmax ? c : cmax;
        m += c < p->topk_per_level ? c : p->topk_per_level;
    }
    postprocess_work w;
    postprocess_work_push(ws, cmax, m, &w);
    int64_t filled = 0;
    for (int l = 0; l < PRESET_LEVELS; l++)
        filled = postprocess_level(p, in, l, &w, filled);
    RD_CHECK(filled == m, "postprocess: %lld candidates counted, %lld gathered", (long long)m,
             (long long)filled);
    int64_t nkeep = nms_batched(w.boxes, w.scores, w.labels, m, p->nms_iou, &w.nms_ws, w.keep);
    RD_CHECK(w.nms_ws.grows == 0, "postprocess: NMS scratch was sized too small");
    if (nkeep > p->detections_per_image)
        nkeep = p->detections_per_image;
    float rw = (float)in->orig_w / (float)in->input_w;  // resize_boxes' ratios
    float rh = (float)in->orig_h / (float)in->input_h;
    for (int64_t j = 0; j < nkeep; j++) {
        int64_t i = w.keep[j];
        const float *b = w.boxes + 4 * i;
        rd_detection *d = &out[j];
        d->image_id = in->image_id;
        d->label = w.labels[i];
        d->score = w.scores[i];
        d->box = (rd_box){b[0] * rw, b[1] * rh, b[2] * rw, b[3] * rh};
    }
    return (int)nkeep;
}
