/* postprocess.c — detections of one image (see postprocess.h): torchvision 0.14's
 * RetinaNet.postprocess_detections and transform.resize_boxes, or the AP-loss released code's
 * test path, by the preset's numbers.
 * Each level is one pass over its logits keeping a heap of its best top-k candidates. Sigmoids
 * are only computed where they can matter: a logit must exceed logit(threshold) - 1e-3 (then
 * the float32 sigmoid decides) and, once the heap is full, the logit of the heap's worst. The
 * scratch depends on top-k only, so a loop of images allocates once. */
#include "detector/postprocess.h"

#include <math.h>
#include <stdlib.h>

#include "detector/box_coder.h"
#include "detector/nms.h"
#include "lib/check.h"

/* torch.sigmoid in float32. */
static float postprocess_sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

float postprocess_logit_floor(float thresh)
{
    if (thresh <= 0.0f)
        return -INFINITY;
    if (thresh >= 1.0f)
        return INFINITY;
    return (float)(log((double)thresh / (1.0 - (double)thresh)) - 1e-3);
}

/* A candidate of a level: its score, logit and flat index within the level. */
typedef struct postprocess_cand {
    float score, logit;
    int64_t idx;
} postprocess_cand;

/* a ranks below b: lower score, or the same score and a higher index (torch.topk keeps the
 * larger scores; equal scores go by index here). */
static int postprocess_worse(const postprocess_cand *a, const postprocess_cand *b)
{
    return a->score < b->score || (a->score == b->score && a->idx > b->idx);
}

/* Restore the heap (worst candidate at the root) below position i. */
static void postprocess_sift_down(postprocess_cand *h, int64_t n, int64_t i)
{
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && postprocess_worse(&h[c + 1], &h[c]))
            c++;
        if (!postprocess_worse(&h[c], &h[i]))
            return;
        postprocess_cand t = h[i];
        h[i] = h[c];
        h[c] = t;
        i = c;
    }
}

static void postprocess_sift_up(postprocess_cand *h, int64_t i)
{
    while (i > 0) {
        int64_t parent = (i - 1) / 2;
        if (!postprocess_worse(&h[i], &h[parent]))
            return;
        postprocess_cand t = h[i];
        h[i] = h[parent];
        h[parent] = t;
        i = parent;
    }
}

/* qsort order: descending score, then ascending index. */
static int postprocess_rank_cmp(const void *pa, const void *pb)
{
    const postprocess_cand *a = pa, *b = pb;
    return postprocess_worse(a, b) ? 1 : (postprocess_worse(b, a) ? -1 : 0);
}

/* The best min(k, passing) scores > thresh of logits[n] into heap[], ranked best first; returns
 * how many. One pass: once the heap is full, a logit at or below the root's cannot enter
 * (the sigmoid is monotone, and an equal score loses on its higher index). */
static int64_t postprocess_topk(const float *logits, int64_t n, float thresh, int64_t k,
                                postprocess_cand *heap)
{
    float floor = postprocess_logit_floor(thresh), bound = floor;
    int64_t size = 0;
    for (int64_t i = 0; i < n; i++) {
        float x = logits[i];
        if (!(x > bound))
            continue;
        postprocess_cand c = {postprocess_sigmoid(x), x, i};
        if (!(c.score > thresh))
            continue;
        if (size < k) {
            heap[size] = c;
            postprocess_sift_up(heap, size++);
        } else if (postprocess_worse(&heap[0], &c)) {
            heap[0] = c;
            postprocess_sift_down(heap, size, 0);
        } else {
            continue;
        }
        if (size == k)
            bound = heap[0].logit > floor ? heap[0].logit : floor;
    }
    qsort(heap, (size_t)size, sizeof *heap, postprocess_rank_cmp);
    return size;
}

typedef struct postprocess_work {
    postprocess_cand *heap;  // [topk_per_level] one level's best candidates
    float *boxes;            // [M][4] decoded, clipped candidates of all levels
    float *scores;           // [M]
    int32_t *labels;         // [M]
    int64_t *keep;           // [M]
    rd_arena nms_ws;         // a view of a block of ws, sized for M boxes
} postprocess_work;

static void postprocess_work_push(rd_arena *ws, int64_t k, int64_t m, postprocess_work *w)
{
    size_t nms_bytes = nms_scratch_bytes(m);
    rd_arena_reserve(ws, rd_arena_align((size_t)k * sizeof(postprocess_cand)) +
                             rd_arena_align((size_t)m * 16) + rd_arena_align((size_t)m * 4) * 2 +
                             rd_arena_align((size_t)m * 8) + rd_arena_align(nms_bytes));
    w->heap = rd_arena_push(ws, (size_t)k * sizeof(postprocess_cand));
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
    int64_t k = postprocess_topk(in->cls_logits + lv->offset * K, lv->count * K,
                                 p->score_thresh[l], p->topk_per_level, w->heap);
    float fw = (float)in->input_w, fh = (float)in->input_h;
    for (int64_t j = 0; j < k; j++, m++) {
        int64_t a = lv->offset + w->heap[j].idx / K;
        w->labels[m] = (int32_t)(w->heap[j].idx % K);
        w->scores[m] = w->heap[j].score;
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
    RD_CHECK(p->topk_per_level >= 1, "preset %s: topk_per_level %d", p->name,
             p->topk_per_level);
    int64_t k = p->topk_per_level, m = 0;
    postprocess_work w;
    postprocess_work_push(ws, k, PRESET_LEVELS * k, &w);
    for (int l = 0; l < PRESET_LEVELS; l++)
        m = postprocess_level(p, in, l, &w, m);
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
