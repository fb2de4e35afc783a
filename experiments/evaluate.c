/* evaluate.c — a model over a dataset's images → detections → metrics (experiments/evaluate.h).
 *
 * Per image: decode (up to c->threads images at once, ahead of the network; the order of the
 * results is the sample order whatever the thread count), then per test pass (each scale, and
 * its mirrored image with flip) the preset's test transform, forward, anchors and
 * post-processing (detector/postprocess.h). With more than one pass the passes' detections
 * (each pass's post-processed list, in original pixels) are pooled and go through class-wise
 * NMS and the keep-best cut again (eval_merge_detections), as the test-time augmentation of
 * Detectron and the AP-loss release pools per-scale detections. Memory: one arena per kind of
 * scratch and one decode buffer per thread, all grow-only, so a steady loop allocates only when
 * an image or a scale is larger than any before (the model's plan does the same for its
 * activations). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/voc_eval.h"
#include "data/image.h"
#include "data/transform.h"
#include "detector/anchors.h"
#include "detector/nms.h"
#include "detector/postprocess.h"
#include "experiments/evaluate.h"
#include "lib/check.h"
#include "lib/progress.h"

void eval_config_default(eval_config *c, const detector_preset *p)
{
    memset(c, 0, sizeof *c);
    c->preset = p;
    c->nscales = 1;
    c->scales[0] = (int)lrintf(p->test_min_size);
    c->max_size = 0;
    c->threads = 1;
}

/* One positive decimal integer of at most 5 digits at *s; advances *s. 0 when there is none. */
static int eval_parse_side(const char **s)
{
    int v = 0, digits = 0;
    while (**s >= '0' && **s <= '9' && digits < 6) {
        v = v * 10 + (**s - '0');
        (*s)++;
        digits++;
    }
    return digits == 0 || digits > 5 ? 0 : v;
}

int eval_parse_scales(eval_config *c, const char *text, char *err, size_t errsize)
{
    int scales[EVAL_MAX_SCALES], n = 0;
    const char *s = text;
    for (;;) {
        int v = eval_parse_side(&s);
        if (v < 32 || v > 10000) {
            snprintf(err, errsize, "--scales '%s': each scale must be an integer in [32, 10000] "
                     "(short sides in pixels, comma separated, as 400,500,600)", text);
            return -1;
        }
        if (n == EVAL_MAX_SCALES) {
            snprintf(err, errsize, "--scales '%s': at most %d scales", text, EVAL_MAX_SCALES);
            return -1;
        }
        scales[n++] = v;
        if (*s == '\0')
            break;
        if (*s != ',') {
            snprintf(err, errsize, "--scales '%s': unexpected '%c' (give sizes separated by "
                     "commas, as 400,500,600)", text, *s);
            return -1;
        }
        s++;
    }
    c->nscales = n;
    memcpy(c->scales, scales, sizeof(int) * (size_t)n);
    return 0;
}

float eval_max_size(const eval_config *c, int scale)
{
    const detector_preset *p = c->preset;
    if (c->max_size > 0)
        return (float)((double)scale * c->max_size / c->scales[0]);
    return (float)((double)scale * p->test_max_size / p->test_min_size);
}

void eval_test_shape(const detector_preset *p, int h, int w, float min_size, float max_size,
                     eval_input_shape *s)
{
    if (p->resize_rule == PRESET_RESIZE_TORCHVISION) {
        float scale = transform_resize_scale(h, w, min_size, max_size);
        transform_resized_size(h, w, scale, &s->rh, &s->rw);
    } else {  // cv2.resize(fx = fy = scale): scale in double, sizes rounded
        double scale = fmin(min_size / fmin(h, w), max_size / fmax(h, w));
        s->rh = (int)lround(h * scale);
        s->rw = (int)lround(w * scale);
    }
    s->rh = s->rh < 1 ? 1 : s->rh;
    s->rw = s->rw < 1 ? 1 : s->rw;
    s->ph = transform_round_up(s->rh < 32 ? 32 : s->rh, p->size_divisor);
    s->pw = transform_round_up(s->rw < 32 ? 32 : s->rw, p->size_divisor);
}

float *eval_test_transform(const detector_preset *p, const float *chw01, int h, int w,
                           float min_size, float max_size, int flip, rd_arena *work,
                           eval_input_shape *s)
{
    eval_test_shape(p, h, w, min_size, max_size, s);
    size_t n0 = sizeof(float) * 3 * (size_t)h * w, n1 = sizeof(float) * 3 * (size_t)s->rh * s->rw;
    size_t n2 = sizeof(float) * 3 * (size_t)s->ph * s->pw;
    rd_arena_reserve(work, rd_arena_align(n0) + rd_arena_align(n1) + rd_arena_align(n2));
    float *x = rd_arena_push(work, n0), *r = rd_arena_push(work, n1);
    float *padded = rd_arena_push(work, n2);
    if (!flip)
        memcpy(x, chw01, n0);
    else
        for (size_t row = 0; row < 3 * (size_t)h; row++)
            for (int col = 0; col < w; col++)
                x[row * w + col] = chw01[row * w + (w - 1 - col)];
    norm_params norm;
    memcpy(norm.mean, p->mean, sizeof norm.mean);
    memcpy(norm.std, p->std, sizeof norm.std);
    normalize_chw(x, h, w, &norm);
    resize_bilinear_chw(x, 3, h, w, r, s->rh, s->rw);
    pad_chw(r, 3, s->rh, s->rw, padded, s->ph, s->pw);
    return padded;
}

void eval_mirror_detections(rd_detection *dets, int n, int width)
{
    for (int i = 0; i < n; i++) {
        float x1 = dets[i].box.x1, x2 = dets[i].box.x2;
        dets[i].box.x1 = (float)width - x2;
        dets[i].box.x2 = (float)width - x1;
    }
}

int eval_merge_detections(const detector_preset *p, const rd_detection *cand, int n,
                          rd_arena *ws, rd_detection *out)
{
    if (n <= 0)
        return 0;
    size_t nms_bytes = nms_scratch_bytes(n);
    rd_arena_reserve(ws, rd_arena_align(sizeof(float) * 4 * (size_t)n) +
                             rd_arena_align(sizeof(float) * (size_t)n) +
                             rd_arena_align(sizeof(int32_t) * (size_t)n) +
                             rd_arena_align(sizeof(int64_t) * (size_t)n) +
                             rd_arena_align(nms_bytes));
    float *boxes = rd_arena_push(ws, sizeof(float) * 4 * (size_t)n);
    float *scores = rd_arena_push(ws, sizeof(float) * (size_t)n);
    int32_t *labels = rd_arena_push(ws, sizeof(int32_t) * (size_t)n);
    int64_t *keep = rd_arena_push(ws, sizeof(int64_t) * (size_t)n);
    rd_arena nms_ws = {rd_arena_push(ws, nms_bytes), nms_bytes, 0, 0};  // never grows
    for (int i = 0; i < n; i++) {
        const rd_box *b = &cand[i].box;
        memcpy(boxes + 4 * (size_t)i, (const float[4]){b->x1, b->y1, b->x2, b->y2},
               sizeof(float) * 4);
        scores[i] = cand[i].score;
        labels[i] = cand[i].label;
    }
    int64_t kept = nms_batched(boxes, scores, labels, n, p->nms_iou, &nms_ws, keep);
    if (kept > p->detections_per_image)
        kept = p->detections_per_image;
    for (int64_t i = 0; i < kept; i++)
        out[i] = cand[keep[i]];
    return (int)kept;
}

/* ---- the image loop ---- */

/* One decoding thread's image. */
typedef struct eval_slot {
    image_buffers bufs;
    rd_image img;  // pixels in bufs
    int rc;
    char err[512];
} eval_slot;

/* Scratch of the image loop, grow-only. */
typedef struct eval_work {
    rd_arena chw;        // the current image as float [3][H][W] in [0, 1]
    rd_arena transform;  // eval_test_transform: intermediates and the network input
    rd_arena anchors;    // [A][4]
    rd_arena post;       // postprocess_detections
    rd_arena merge;      // eval_merge_detections
    rd_detection *pool;  // [passes · detections_per_image]
    rd_detection *kept;  // [detections_per_image]
    eval_slot *slots;    // [threads]
    rd_detection *dets;  // the results so far (grown by doubling)
    int64_t ndets, cap;
} eval_work;

static void eval_work_free(eval_work *w, int nslots)
{
    rd_arena_free(&w->chw);
    rd_arena_free(&w->transform);
    rd_arena_free(&w->anchors);
    rd_arena_free(&w->post);
    rd_arena_free(&w->merge);
    free(w->pool);
    free(w->kept);
    for (int i = 0; w->slots && i < nslots; i++)
        image_buffers_free(&w->slots[i].bufs);
    free(w->slots);
    free(w->dets);
}

/* One test pass of an image at short side `scale` (mirrored when flip): its detections in
 * original pixels into out [detections_per_image]; returns how many. */
static int eval_pass(retinanet *m, const eval_config *c, const float *chw01, int h, int w,
                     int scale, int flip, int64_t image_id, eval_work *wk, rd_detection *out)
{
    const detector_preset *p = c->preset;
    eval_input_shape s;
    float *x = eval_test_transform(p, chw01, h, w, (float)scale, eval_max_size(c, scale), flip,
                                   &wk->transform, &s);
    retinanet_plan(m, 1, s.ph, s.pw, 0);
    retinanet_forward(m, x);
    int gh[PRESET_LEVELS], gw[PRESET_LEVELS];
    for (int l = 0; l < PRESET_LEVELS; l++) {
        gh[l] = m->levels[l].h;
        gw[l] = m->levels[l].w;
    }
    anchor_level levels[PRESET_LEVELS];
    int64_t a = anchors_levels(p, s.ph, s.pw, gh, gw, levels);
    RD_CHECK(a == m->num_anchors_total, "%lld anchors for %lld head positions", (long long)a,
             (long long)m->num_anchors_total);
    rd_arena_reserve(&wk->anchors, rd_arena_align(sizeof(float) * 4 * (size_t)a));
    float *anchors = rd_arena_push(&wk->anchors, sizeof(float) * 4 * (size_t)a);
    anchors_generate(p, levels, anchors);
    postprocess_input in = {m->cls_logits, m->bbox_regression, anchors, levels,
                            m->cfg.num_classes, s.rh, s.rw, h, w, image_id};
    int n = postprocess_detections(p, &in, &wk->post, out);
    if (flip)
        eval_mirror_detections(out, n, w);
    return n;
}

/* Append n detections to the results. */
static void eval_work_append(eval_work *w, const rd_detection *d, int n)
{
    if (w->ndets + n > w->cap) {
        int64_t cap = w->cap ? 2 * w->cap : 1024;
        while (cap < w->ndets + n)
            cap *= 2;
        rd_detection *grown = realloc(w->dets, sizeof *grown * (size_t)cap);
        RD_CHECK(grown != NULL, "out of memory for %lld detections", (long long)cap);
        w->dets = grown;
        w->cap = cap;
    }
    if (n > 0)
        memcpy(w->dets + w->ndets, d, sizeof *d * (size_t)n);
    w->ndets += n;
}

/* Every pass of one decoded image, merged; appended to the results. */
static void eval_image(retinanet *m, const eval_config *c, const rd_image *img,
                       int64_t image_id, eval_work *wk)
{
    int h = img->height, w = img->width;
    size_t bytes = sizeof(float) * 3 * (size_t)h * w;
    rd_arena_reserve(&wk->chw, rd_arena_align(bytes));
    float *chw01 = rd_arena_push(&wk->chw, bytes);
    image_to_chw01(img, chw01);
    int npool = 0;
    for (int si = 0; si < c->nscales; si++)
        for (int flip = 0; flip <= (c->flip ? 1 : 0); flip++)
            npool += eval_pass(m, c, chw01, h, w, c->scales[si], flip, image_id, wk,
                               wk->pool + npool);
    if (c->nscales == 1 && !c->flip) {  // the single-scale test exactly
        eval_work_append(wk, wk->pool, npool);
        return;
    }
    int n = eval_merge_detections(c->preset, wk->pool, npool, &wk->merge, wk->kept);
    eval_work_append(wk, wk->kept, n);
}

/* Decode samples [first, first + count) into the slots, count ≤ threads, in parallel. */
static void eval_decode(const rd_dataset *ds, int64_t first, int count, eval_slot *slots)
{
#pragma omp parallel for num_threads(count) schedule(static, 1)
    for (int i = 0; i < count; i++) {
        eval_slot *s = &slots[i];
        s->rc = image_read_into(ds->samples[first + i].image_path, &s->bufs, &s->img, s->err,
                                sizeof s->err);
    }
}

static int64_t eval_image_count(const rd_dataset *ds, const eval_config *c)
{
    return c->limit > 0 && c->limit < ds->nsamples ? c->limit : ds->nsamples;
}

int eval_detect_dataset(retinanet *m, const rd_dataset *ds, const eval_config *c,
                        rd_detection **dets, int64_t *ndets, char *err, size_t errsize)
{
    RD_CHECK(c->preset && c->nscales >= 1 && c->nscales <= EVAL_MAX_SCALES && c->threads >= 1,
             "evaluation config: preset %p, %d scales, %d threads", (const void *)c->preset,
             c->nscales, c->threads);
    int passes = c->nscales * (c->flip ? 2 : 1), dpi = c->preset->detections_per_image;
    int64_t nimages = eval_image_count(ds, c);
    eval_work wk;
    memset(&wk, 0, sizeof wk);
    wk.pool = rd_malloc(sizeof *wk.pool * (size_t)passes * dpi, "pooled detections");
    wk.kept = rd_malloc(sizeof *wk.kept * (size_t)dpi, "merged detections");
    wk.slots = rd_calloc((size_t)c->threads, sizeof *wk.slots, "decoding slots");
    int rc = 0;
    for (int64_t first = 0; first < nimages && rc == 0; first += c->threads) {
        int count = (int)(nimages - first < c->threads ? nimages - first : c->threads);
        eval_decode(ds, first, count, wk.slots);
        for (int i = 0; i < count && rc == 0; i++) {
            if (wk.slots[i].rc != 0) {
                snprintf(err, errsize, "%s", wk.slots[i].err);
                rc = -1;
            } else
                eval_image(m, c, &wk.slots[i].img, ds->samples[first + i].image_id, &wk);
        }
    }
    if (rc == 0 && dets) {
        *dets = wk.dets;
        wk.dets = NULL;
    }
    if (ndets)
        *ndets = rc == 0 ? wk.ndets : 0;
    eval_work_free(&wk, c->threads);
    return rc;
}

/* ---- metrics ---- */

/* ds restricted to its first n samples: own copies of the sample and object arrays (objects
 * renumbered), everything else shared with ds. Free with eval_view_free. */
static void eval_view_make(const rd_dataset *ds, int64_t n, rd_dataset *v)
{
    *v = *ds;
    v->nsamples = n;
    int64_t nobj = 0;
    for (int64_t s = 0; s < n; s++)
        nobj += ds->samples[s].nobjects;
    v->samples = rd_malloc(sizeof *v->samples * (size_t)(n > 0 ? n : 1), "evaluated samples");
    v->objects = rd_malloc(sizeof *v->objects * (size_t)(nobj > 0 ? nobj : 1),
                           "evaluated objects");
    v->nobjects = nobj;
    int64_t at = 0;
    for (int64_t s = 0; s < n; s++) {
        v->samples[s] = ds->samples[s];
        v->samples[s].first_object = at;
        memcpy(v->objects + at, ds->objects + ds->samples[s].first_object,
               sizeof *v->objects * (size_t)ds->samples[s].nobjects);
        at += ds->samples[s].nobjects;
    }
}

static void eval_view_free(rd_dataset *v)
{
    free(v->samples);
    free(v->objects);
}

/* The COCO numbers into out, and per class AP50 when class_ap50 (for a non-VOC run). */
static void eval_take_coco(const rd_dataset *ds, const coco_eval_result *r, eval_metrics *out,
                           double *class_ap50)
{
    memcpy(out->coco, r->stats, sizeof out->coco);
    out->aps = r->stats[COCO_STAT_APS];
    out->apm = r->stats[COCO_STAT_APM];
    out->apl = r->stats[COCO_STAT_APL];
    for (int k = 0; class_ap50 && k < ds->nclasses; k++) {
        class_ap50[k] = -1;
        for (int64_t j = 0; j < r->ncategories; j++)
            if (r->category_ids[j] == ds->category_ids[k])
                class_ap50[k] = coco_eval_stat_value(r, j, COCO_STAT_AP50);
    }
}

int eval_compute_metrics(const rd_dataset *ds, const eval_config *c, const rd_detection *dets,
                         int64_t ndets, eval_metrics *out, double *class_ap50, char *err,
                         size_t errsize)
{
    rd_dataset v;
    eval_view_make(ds, eval_image_count(ds, c), &v);
    out->nimages = v.nsamples;
    out->ndets = ndets;
    out->voc_ap = out->voc_ap50 = out->voc_ap75 = -1;
    coco_eval_result cr;
    int rc = coco_eval_detections(&v, dets, ndets, &cr, err, errsize);
    if (rc == 0) {
        eval_take_coco(&v, &cr, out, c->is_voc ? NULL : class_ap50);
        out->ap = cr.stats[COCO_STAT_AP];
        out->ap50 = cr.stats[COCO_STAT_AP50];
        out->ap75 = cr.stats[COCO_STAT_AP75];
        coco_eval_result_free(&cr);
    }
    voc_eval_result vr;
    if (rc == 0 && c->is_voc &&
        (rc = voc_eval_detections(&v, dets, ndets, VOC_METRIC_07, &vr, err, errsize)) == 0) {
        out->ap = out->voc_ap = vr.ap;
        out->ap50 = out->voc_ap50 = vr.ap50;
        out->ap75 = out->voc_ap75 = vr.ap75;
        for (int k = 0; class_ap50 && k < ds->nclasses; k++)
            class_ap50[k] = voc_eval_class_ap(&vr, k, 0);
        voc_eval_result_free(&vr);
    }
    eval_view_free(&v);
    return rc;
}

int evaluate_model(retinanet *m, const rd_dataset *ds, const eval_config *c, eval_metrics *out,
                   rd_detection **dets, int64_t *ndets, char *err, size_t errsize)
{
    double t0 = rd_seconds();
    memset(out, 0, sizeof *out);
    rd_detection *all = NULL;
    int64_t n = 0;
    int rc = eval_detect_dataset(m, ds, c, &all, &n, err, errsize);
    if (rc == 0)
        rc = eval_compute_metrics(ds, c, all, n, out, NULL, err, errsize);
    out->seconds = rd_seconds() - t0;
    if (rc == 0 && dets) {
        *dets = all;
        all = NULL;
    }
    if (ndets)
        *ndets = rc == 0 ? n : 0;
    free(all);
    return rc;
}
