/* coco_eval.c — pycocotools COCOeval for boxes (see coco_eval.h for the rules), organised for
 * speed: ground truth and detections are bucketed once by (category, image) with two stable
 * counting sorts; each category runs on its own (OpenMP), image by image (IoU matrix of the
 * kept detections against that image's ground truth, then the greedy match per area range and
 * IoU threshold), then one stable sort of the category's detections serves every area range,
 * maxDet and threshold of the accumulation. */
#include "analysis/coco_eval.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check.h"

static const int coco_max_dets[COCO_EVAL_M] = {1, 10, 100};
static const double coco_area_lo[COCO_EVAL_A] = {0.0, 0.0, 32.0 * 32.0, 96.0 * 96.0};
static const double coco_area_hi[COCO_EVAL_A] = {1e10, 32.0 * 32.0, 96.0 * 96.0, 1e10};

double coco_eval_iou_threshold(int t)
{
    RD_CHECK(t >= 0 && t < COCO_EVAL_T, "IoU threshold index %d", t);
    if (t == COCO_EVAL_T - 1)
        return 0.95;  // linspace sets the end point exactly
    double step = (0.95 - 0.5) / (COCO_EVAL_T - 1);
    double y = (double)t * step;  // arange * step, then + start: two roundings, as numpy
    return y + 0.5;
}

double coco_eval_recall_threshold(int r)
{
    RD_CHECK(r >= 0 && r < COCO_EVAL_R, "recall threshold index %d", r);
    if (r == COCO_EVAL_R - 1)
        return 1.0;
    double step = 1.0 / (COCO_EVAL_R - 1);
    return (double)r * step;
}

void coco_eval_bbox_from_box(rd_box b, double bbox[4])
{
    bbox[0] = b.x1;
    bbox[1] = b.y1;
    bbox[2] = (double)b.x2 - (double)b.x1;
    bbox[3] = (double)b.y2 - (double)b.y1;
}

static int coco_i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A sorted copy of ids[n] without repeats; its length in *nout. The caller frees it. */
static int64_t *coco_ids_unique(const int64_t *ids, int64_t n, int64_t *nout)
{
    int64_t *u = rd_malloc((size_t)n * sizeof *u, "COCO ids");
    memcpy(u, ids, (size_t)n * sizeof *u);
    qsort(u, (size_t)n, sizeof *u, coco_i64_cmp);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (m == 0 || u[m - 1] != u[i])
            u[m++] = u[i];
    *nout = m;
    return u;
}

/* Position of id in the ascending ids[n], or -1. */
static int64_t coco_ids_find(const int64_t *ids, int64_t n, int64_t id)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < n && ids[lo] == id) ? lo : -1;
}

/* Stable sort of idx[n] by score[idx] descending (bottom-up merge sort; tmp has n slots):
 * numpy.argsort(-score, kind='mergesort'). */
static void coco_sort_desc(const double *score, int32_t *idx, int32_t *tmp, int64_t n)
{
    int32_t *src = idx, *dst = tmp;
    for (int64_t width = 1; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n;
            int64_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            int64_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                dst[o++] = score[src[j]] > score[src[i]] ? src[j++] : src[i++];
            while (i < mid)
                dst[o++] = src[i++];
            while (j < hi)
                dst[o++] = src[j++];
        }
        int32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != idx)
        memcpy(idx, src, (size_t)n * sizeof *idx);
}

/* Elements sorted by (category, image), input order within: order[koff[k] .. koff[k+1]) are
 * category k's, by image. kidx[e] < 0 leaves element e out. */
typedef struct coco_buckets {
    int64_t *order;
    int64_t *koff;  // [K + 1]
} coco_buckets;

static void coco_buckets_build(const int32_t *kidx, const int32_t *iidx, int64_t n, int64_t K,
                               int64_t I, coco_buckets *b)
{
    int64_t *cnt = rd_calloc((size_t)(I > K ? I : K) + 1, sizeof *cnt, "COCO bucket counts");
    int64_t *by_image = rd_malloc((size_t)n * sizeof *by_image, "COCO buckets");
    int64_t kept = 0;
    for (int64_t e = 0; e < n; e++)
        if (kidx[e] >= 0) {
            cnt[iidx[e] + 1]++;
            kept++;
        }
    for (int64_t i = 0; i < I; i++)
        cnt[i + 1] += cnt[i];
    for (int64_t e = 0; e < n; e++)
        if (kidx[e] >= 0)
            by_image[cnt[iidx[e]]++] = e;
    b->koff = rd_calloc((size_t)K + 1, sizeof *b->koff, "COCO bucket offsets");
    b->order = rd_malloc((size_t)kept * sizeof *b->order, "COCO buckets");
    for (int64_t j = 0; j < kept; j++)
        b->koff[kidx[by_image[j]] + 1]++;
    for (int64_t k = 0; k < K; k++)
        b->koff[k + 1] += b->koff[k];
    memcpy(cnt, b->koff, (size_t)K * sizeof *cnt);
    for (int64_t j = 0; j < kept; j++)
        b->order[cnt[kidx[by_image[j]]]++] = by_image[j];
    free(by_image);
    free(cnt);
}

static void coco_buckets_free(coco_buckets *b)
{
    free(b->order);
    free(b->koff);
}

/* What every category's evaluation reads. */
typedef struct coco_eval_ctx {
    const coco_eval_input *in;
    int64_t K, I;
    const int32_t *gt_image, *dt_image;  // image position of each gt / dt
    coco_buckets gt, dt;
    double *det_score;                   // [ndt] scores, for sorting indices
} coco_eval_ctx;

/* One detection kept for accumulation: per area range, bit t of matched / ignored. */
typedef struct coco_kept_det {
    uint16_t matched[COCO_EVAL_A];
    uint16_t ignored[COCO_EVAL_A];
    int32_t rank;  // position in its image's score order (maxDet cut)
} coco_kept_det;

/* One category's work space, sized for its largest image. */
typedef struct coco_cat_work {
    coco_kept_det *kept;  // [category detections]
    double *score;        // [category detections]
    int64_t nkept;
    int64_t npig[COCO_EVAL_A];
    int32_t *dorder, *dtmp;  // [max D] an image's detections by score
    double *dscore;          // [max D] their scores
    int64_t *dsorted;        // [min(max D, 100)] the kept ones, by score
    double *iou;             // [min(max D, 100) * max G]
    int32_t *gorder;         // [max G] ground truth, non-ignored first
    uint8_t *gignore, *gtm;  // [max G]
} coco_cat_work;

/* IoU of detection d against ground truth g as maskApi.c bbIou: crowd uses the detection's
 * area as the union. */
static double coco_bbox_iou(const double *d, const double *g, int crowd)
{
    double w = fmin(d[2] + d[0], g[2] + g[0]) - fmax(d[0], g[0]);
    if (w <= 0)
        return 0.0;
    double h = fmin(d[3] + d[1], g[3] + g[1]) - fmax(d[1], g[1]);
    if (h <= 0)
        return 0.0;
    double i = w * h, da = d[2] * d[3], ga = g[2] * g[3];
    double u = crowd ? da : da + ga - i;
    return i / u;
}

/* Greedy matching of one image for area range a (evaluateImg): fills kept[0..D) for a. */
static void coco_match_area(const coco_eval_ctx *c, const int64_t *gts, int64_t G,
                            const int64_t *dts, int64_t D, int a, coco_cat_work *w,
                            coco_kept_det *kept)
{
    const coco_annotation *gt = c->in->gt;
    int64_t ng = 0;
    for (int64_t g = 0; g < G; g++) {
        double area = gt[gts[g]].area;
        w->gignore[g] = gt[gts[g]].iscrowd || area < coco_area_lo[a] || area > coco_area_hi[a];
        if (!w->gignore[g])
            w->gorder[ng++] = (int32_t)g;
    }
    w->npig[a] += ng;
    for (int64_t g = 0, j = ng; g < G; g++)
        if (w->gignore[g])
            w->gorder[j++] = (int32_t)g;
    for (int64_t d = 0; d < D; d++)
        kept[d].matched[a] = kept[d].ignored[a] = 0;
    for (int t = 0; t < COCO_EVAL_T; t++) {
        memset(w->gtm, 0, (size_t)G);
        double thr = fmin(coco_eval_iou_threshold(t), 1 - 1e-10);
        for (int64_t d = 0; d < D; d++) {
            double best = thr;
            int64_t m = -1;
            for (int64_t j = 0; j < G; j++) {
                int32_t g = w->gorder[j];
                if (w->gtm[g] && !gt[gts[g]].iscrowd)
                    continue;
                if (m > -1 && !w->gignore[m] && w->gignore[g])
                    break;
                double iou = w->iou[d * G + g];
                if (iou < best)
                    continue;
                best = iou;
                m = g;
            }
            if (m == -1)
                continue;
            w->gtm[m] = 1;
            if (w->gignore[m])
                kept[d].ignored[a] |= (uint16_t)(1u << t);
            if (gt[gts[m]].id != 0)
                kept[d].matched[a] |= (uint16_t)(1u << t);
        }
    }
    for (int64_t d = 0; d < D; d++) {
        const double *bb = c->in->dt[dts[d]].bbox;
        double area = bb[2] * bb[3];
        if (area < coco_area_lo[a] || area > coco_area_hi[a])
            kept[d].ignored[a] |= (uint16_t)~kept[d].matched[a] & ((1u << COCO_EVAL_T) - 1);
    }
}

/* One image of one category: gts[G] (file order), dts[D] (file order). */
static void coco_eval_image(const coco_eval_ctx *c, const int64_t *gts, int64_t G,
                            const int64_t *dts, int64_t D, coco_cat_work *w)
{
    for (int64_t d = 0; d < D; d++)
        w->dorder[d] = (int32_t)d;
    double *score = w->dscore;
    int64_t *sorted = w->dsorted;
    for (int64_t d = 0; d < D; d++)
        score[d] = c->det_score[dts[d]];
    coco_sort_desc(score, w->dorder, w->dtmp, D);
    int64_t Dk = D < coco_max_dets[COCO_EVAL_M - 1] ? D : coco_max_dets[COCO_EVAL_M - 1];
    for (int64_t d = 0; d < Dk; d++)
        sorted[d] = dts[w->dorder[d]];
    for (int64_t d = 0; d < Dk; d++)
        for (int64_t g = 0; g < G; g++)
            w->iou[d * G + g] = coco_bbox_iou(c->in->dt[sorted[d]].bbox, c->in->gt[gts[g]].bbox,
                                              c->in->gt[gts[g]].iscrowd);
    coco_kept_det *kept = w->kept + w->nkept;
    for (int a = 0; a < COCO_EVAL_A; a++)
        coco_match_area(c, gts, G, sorted, Dk, a, w, kept);
    for (int64_t d = 0; d < Dk; d++) {
        kept[d].rank = (int32_t)d;
        w->score[w->nkept + d] = c->det_score[sorted[d]];
    }
    w->nkept += Dk;
}

/* Sizes of category k's largest image (ground truth, detections). */
static void coco_cat_sizes(const coco_eval_ctx *c, int64_t k, int64_t *maxg, int64_t *maxd)
{
    *maxg = *maxd = 0;
    for (int pass = 0; pass < 2; pass++) {
        const coco_buckets *b = pass ? &c->dt : &c->gt;
        const int32_t *img = pass ? c->dt_image : c->gt_image;
        int64_t *mx = pass ? maxd : maxg;
        for (int64_t j = b->koff[k]; j < b->koff[k + 1];) {
            int64_t e = j;
            while (e < b->koff[k + 1] && img[b->order[e]] == img[b->order[j]])
                e++;
            if (e - j > *mx)
                *mx = e - j;
            j = e;
        }
    }
}

static void coco_cat_work_init(const coco_eval_ctx *c, int64_t k, coco_cat_work *w)
{
    int64_t maxg, maxd, nd = c->dt.koff[k + 1] - c->dt.koff[k];
    coco_cat_sizes(c, k, &maxg, &maxd);
    int64_t dk = maxd < coco_max_dets[COCO_EVAL_M - 1] ? maxd : coco_max_dets[COCO_EVAL_M - 1];
    memset(w, 0, sizeof *w);
    w->kept = rd_malloc((size_t)nd * sizeof *w->kept, "COCO kept detections");
    w->score = rd_malloc((size_t)nd * sizeof *w->score, "COCO kept scores");
    w->dorder = rd_malloc((size_t)maxd * sizeof *w->dorder, "COCO image order");
    w->dtmp = rd_malloc((size_t)maxd * sizeof *w->dtmp, "COCO image order");
    w->dscore = rd_malloc((size_t)maxd * sizeof *w->dscore, "COCO image scores");
    w->dsorted = rd_malloc((size_t)dk * sizeof *w->dsorted, "COCO image order");
    w->iou = rd_malloc((size_t)(dk * maxg) * sizeof *w->iou, "COCO IoU matrix");
    w->gorder = rd_malloc((size_t)maxg * sizeof *w->gorder, "COCO gt order");
    w->gignore = rd_malloc((size_t)maxg, "COCO gt ignore flags");
    w->gtm = rd_malloc((size_t)maxg, "COCO gt matches");
}

static void coco_cat_work_free(coco_cat_work *w)
{
    free(w->kept);
    free(w->score);
    free(w->dorder);
    free(w->dtmp);
    free(w->dscore);
    free(w->dsorted);
    free(w->iou);
    free(w->gorder);
    free(w->gignore);
    free(w->gtm);
}

/* Scratch of one category's accumulation, n slots each. */
typedef struct coco_acc_work {
    int32_t *sel;           // kept detections with rank < maxDet, in score order
    uint16_t *mt, *ig;      // their matched / ignored bits for one area range
    double *tpc, *cnt;      // cumulative true positives and non-ignored detections
    double *rc, *pr;
} coco_acc_work;

/* accumulate() for one category, area range, maxDet and threshold t over the nd detections
 * whose bits are in w->mt, w->ig (score order): recall into *recall_out, the 101 sampled
 * precisions into prec_out[r * prec_stride]. tp / (tp + fp + eps) with tp + fp counted
 * exactly, divided in a separate loop that the compiler vectorises (same roundings). */
static void coco_accumulate_one(coco_acc_work *w, int64_t nd, double npig, int t,
                                double *prec_out, size_t prec_stride, double *recall_out)
{
    uint16_t bit = (uint16_t)(1u << t);
    double tp = 0, cnt = 0;
    for (int64_t j = 0; j < nd; j++) {
        if (!(w->ig[j] & bit)) {
            cnt += 1;
            tp += (w->mt[j] & bit) ? 1 : 0;
        }
        w->tpc[j] = tp;
        w->cnt[j] = cnt;
    }
    double *rc = w->rc, *pr = w->pr;
    for (int64_t j = 0; j < nd; j++) {
        rc[j] = w->tpc[j] / npig;
        pr[j] = w->tpc[j] / (w->cnt[j] + DBL_EPSILON);
    }
    *recall_out = nd ? rc[nd - 1] : 0.0;
    for (int64_t i = nd - 1; i > 0; i--)
        if (pr[i] > pr[i - 1])
            pr[i - 1] = pr[i];
    int64_t pi = 0;
    for (int r = 0; r < COCO_EVAL_R; r++) {
        double thr = coco_eval_recall_threshold(r);
        while (pi < nd && rc[pi] < thr)
            pi++;
        prec_out[(size_t)r * prec_stride] = pi < nd ? pr[pi] : 0.0;
    }
}

/* Every area range, maxDet and threshold of category k over its kept detections in score
 * order perm[n]. */
static void coco_accumulate_category(const coco_cat_work *cw, const int32_t *perm, int64_t n,
                                     int64_t k, int64_t K, coco_eval_result *out)
{
    coco_acc_work w;
    size_t bytes = (size_t)(n > 0 ? n : 1);
    w.sel = rd_malloc(bytes * sizeof *w.sel, "COCO accumulation");
    w.mt = rd_malloc(bytes * sizeof *w.mt, "COCO accumulation");
    w.ig = rd_malloc(bytes * sizeof *w.ig, "COCO accumulation");
    double *d = rd_malloc(4 * bytes * sizeof *d, "COCO accumulation");
    w.tpc = d, w.cnt = d + bytes, w.rc = d + 2 * bytes, w.pr = d + 3 * bytes;
    size_t prec_stride = (size_t)K * COCO_EVAL_A * COCO_EVAL_M;
    for (int m = 0; m < COCO_EVAL_M; m++) {
        int64_t nd = 0;
        for (int64_t j = 0; j < n; j++)
            if (cw->kept[perm[j]].rank < coco_max_dets[m])
                w.sel[nd++] = perm[j];
        for (int a = 0; a < COCO_EVAL_A; a++) {
            if (cw->npig[a] == 0)
                continue;  // -1 stays: no ground truth to find
            for (int64_t j = 0; j < nd; j++) {
                w.mt[j] = cw->kept[w.sel[j]].matched[a];
                w.ig[j] = cw->kept[w.sel[j]].ignored[a];
            }
            size_t at = (size_t)k * COCO_EVAL_A * COCO_EVAL_M + (size_t)a * COCO_EVAL_M + m;
            for (int t = 0; t < COCO_EVAL_T; t++)
                coco_accumulate_one(&w, nd, (double)cw->npig[a], t,
                                    out->precision + (size_t)t * COCO_EVAL_R * prec_stride + at,
                                    prec_stride, out->recall + (size_t)t * prec_stride + at);
        }
    }
    free(w.sel);
    free(w.mt);
    free(w.ig);
    free(d);
}

static void coco_eval_category(const coco_eval_ctx *c, int64_t k, coco_eval_result *out)
{
    coco_cat_work w;
    coco_cat_work_init(c, k, &w);
    const coco_buckets *gb = &c->gt, *db = &c->dt;
    int64_t gj = gb->koff[k], gend = gb->koff[k + 1], dj = db->koff[k], dend = db->koff[k + 1];
    while (gj < gend || dj < dend) {
        int32_t gi = gj < gend ? c->gt_image[gb->order[gj]] : INT32_MAX;
        int32_t di = dj < dend ? c->dt_image[db->order[dj]] : INT32_MAX;
        int32_t img = gi < di ? gi : di;
        int64_t g0 = gj, d0 = dj;
        while (gj < gend && c->gt_image[gb->order[gj]] == img)
            gj++;
        while (dj < dend && c->dt_image[db->order[dj]] == img)
            dj++;
        coco_eval_image(c, gb->order + g0, gj - g0, db->order + d0, dj - d0, &w);
    }
    for (int64_t g = gb->koff[k]; g < gend; g++)
        out->num_gt[k] += !c->in->gt[gb->order[g]].iscrowd;
    out->num_dt[k] = w.nkept;

    int64_t n = w.nkept;
    int32_t *perm = rd_malloc((size_t)n * sizeof *perm, "COCO category order");
    int32_t *tmp = rd_malloc((size_t)n * sizeof *tmp, "COCO category order");
    for (int64_t j = 0; j < n; j++)
        perm[j] = (int32_t)j;
    coco_sort_desc(w.score, perm, tmp, n);
    coco_accumulate_category(&w, perm, n, k, c->K, out);
    free(perm);
    free(tmp);
    coco_cat_work_free(&w);
}

/* Positions of every gt and dt among the sorted images and categories (-1: left out). */
static void coco_eval_positions(coco_eval_ctx *c, const int64_t *imgs, const int64_t *cats,
                                int32_t *gk, int32_t *gi, int32_t *dk, int32_t *di)
{
    const coco_eval_input *in = c->in;
    for (int64_t e = 0; e < in->ngt; e++) {
        gi[e] = (int32_t)coco_ids_find(imgs, c->I, in->gt[e].image_id);
        gk[e] = gi[e] < 0 ? -1 : (int32_t)coco_ids_find(cats, c->K, in->gt[e].category_id);
    }
    for (int64_t e = 0; e < in->ndt; e++) {
        di[e] = (int32_t)coco_ids_find(imgs, c->I, in->dt[e].image_id);
        dk[e] = di[e] < 0 ? -1 : (int32_t)coco_ids_find(cats, c->K, in->dt[e].category_id);
        c->det_score[e] = in->dt[e].score;
    }
}

static void coco_eval_result_alloc(coco_eval_result *out, int64_t K)
{
    size_t np = (size_t)COCO_EVAL_T * COCO_EVAL_R * (size_t)K * COCO_EVAL_A * COCO_EVAL_M;
    size_t nr = (size_t)COCO_EVAL_T * (size_t)K * COCO_EVAL_A * COCO_EVAL_M;
    out->ncategories = K;
    out->precision = rd_malloc(np * sizeof *out->precision, "COCO precision table");
    out->recall = rd_malloc(nr * sizeof *out->recall, "COCO recall table");
    for (size_t i = 0; i < np; i++)
        out->precision[i] = -1.0;
    for (size_t i = 0; i < nr; i++)
        out->recall[i] = -1.0;
    out->num_gt = rd_calloc((size_t)K, sizeof *out->num_gt, "COCO counts");
    out->num_dt = rd_calloc((size_t)K, sizeof *out->num_dt, "COCO counts");
}

void coco_eval_run(const coco_eval_input *in, coco_eval_result *out)
{
    RD_CHECK(in->ngt < INT32_MAX && in->ndt < INT32_MAX && in->nimages < INT32_MAX,
             "COCO evaluation of more than 2^31 boxes or images");
    memset(out, 0, sizeof *out);
    coco_eval_ctx c = {.in = in};
    int64_t *imgs = coco_ids_unique(in->image_ids, in->nimages, &c.I);
    out->category_ids = coco_ids_unique(in->category_ids, in->ncategories, &c.K);
    coco_eval_result_alloc(out, c.K);
    int32_t *gk = rd_malloc((size_t)in->ngt * sizeof *gk, "COCO gt positions");
    int32_t *gi = rd_malloc((size_t)in->ngt * sizeof *gi, "COCO gt positions");
    int32_t *dk = rd_malloc((size_t)in->ndt * sizeof *dk, "COCO dt positions");
    int32_t *di = rd_malloc((size_t)in->ndt * sizeof *di, "COCO dt positions");
    c.det_score = rd_malloc((size_t)in->ndt * sizeof *c.det_score, "COCO scores");
    coco_eval_positions(&c, imgs, out->category_ids, gk, gi, dk, di);
    c.gt_image = gi;
    c.dt_image = di;
    coco_buckets_build(gk, gi, in->ngt, c.K, c.I, &c.gt);
    coco_buckets_build(dk, di, in->ndt, c.K, c.I, &c.dt);
    free(gk);
    free(dk);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t k = 0; k < c.K; k++)
        coco_eval_category(&c, k, out);
    for (int s = 0; s < COCO_STAT_COUNT; s++)
        out->stats[s] = coco_eval_stat_value(out, -1, (coco_eval_stat)s);
    coco_buckets_free(&c.gt);
    coco_buckets_free(&c.dt);
    free(gi);
    free(di);
    free(c.det_score);
    free(imgs);
}

static const char *const coco_stat_names[COCO_STAT_COUNT] = {
    "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};

static const char *const coco_stat_titles[COCO_STAT_COUNT] = {
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
    " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ]",
    " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ]",
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
    " Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ]",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ]",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
    " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
};

const char *coco_eval_stat_name(coco_eval_stat s)
{
    RD_CHECK(s >= 0 && s < COCO_STAT_COUNT, "COCO stat %d", (int)s);
    return coco_stat_names[s];
}

const char *coco_eval_stat_title(coco_eval_stat s)
{
    RD_CHECK(s >= 0 && s < COCO_STAT_COUNT, "COCO stat %d", (int)s);
    return coco_stat_titles[s];
}

/* summarize()._summarize: the mean of the entries > -1 of precision (AP) or recall (AR) at
 * the threshold iou (all when iou < 0), area range a and maxDet index m, over category k
 * (all when k < 0); -1 when there is none. */
static double coco_summarize(const coco_eval_result *r, int64_t k, int ap, double iou, int a,
                             int m)
{
    int64_t K = r->ncategories, k0 = k < 0 ? 0 : k, k1 = k < 0 ? K : k + 1;
    double sum = 0;
    int64_t count = 0;
    for (int t = 0; t < COCO_EVAL_T; t++) {
        if (iou >= 0 && coco_eval_iou_threshold(t) != iou)
            continue;
        for (int q = 0; q < (ap ? COCO_EVAL_R : 1); q++)
            for (int64_t kk = k0; kk < k1; kk++) {
                size_t at = ((size_t)kk * COCO_EVAL_A + (size_t)a) * COCO_EVAL_M + (size_t)m;
                double v = ap ? r->precision[((size_t)t * COCO_EVAL_R + (size_t)q) * (size_t)K *
                                             COCO_EVAL_A * COCO_EVAL_M + at]
                              : r->recall[(size_t)t * (size_t)K * COCO_EVAL_A * COCO_EVAL_M + at];
                if (v > -1) {
                    sum += v;
                    count++;
                }
            }
    }
    return count ? sum / (double)count : -1.0;
}

double coco_eval_stat_value(const coco_eval_result *r, int64_t k, coco_eval_stat s)
{
    RD_CHECK(s >= 0 && s < COCO_STAT_COUNT, "COCO stat %d", (int)s);
    RD_CHECK(k >= -1 && k < r->ncategories, "category position %lld of %lld", (long long)k,
             (long long)r->ncategories);
    static const int area[COCO_STAT_COUNT] = {0, 0, 0, 1, 2, 3, 0, 0, 0, 1, 2, 3};
    static const int maxdet[COCO_STAT_COUNT] = {2, 2, 2, 2, 2, 2, 0, 1, 2, 2, 2, 2};
    double iou = s == COCO_STAT_AP50 ? 0.5 : s == COCO_STAT_AP75 ? 0.75 : -1.0;
    return coco_summarize(r, k, s <= COCO_STAT_APL, iou, area[s], maxdet[s]);
}

int coco_eval_json(const coco_instances *gt, const coco_results *dt, const char *dt_name,
                   coco_eval_result *out, char *err, size_t errsize)
{
    memset(out, 0, sizeof *out);
    for (int64_t i = 0; i < dt->n; i++) {
        const coco_result *d = &dt->results[i];
        const char *field = NULL;
        int64_t id = 0;
        if (coco_id_index_find(&gt->image_index, d->image_id) < 0)
            field = "image_id", id = d->image_id;
        else if (coco_id_index_find(&gt->category_index, d->category_id) < 0)
            field = "category_id", id = d->category_id;
        if (field != NULL) {
            snprintf(err, errsize, "%s: results[%lld].%s: %lld is not %s of the ground truth",
                     dt_name, (long long)i, field, (long long)id,
                     field[0] == 'i' ? "an image" : "a category");
            return -1;
        }
    }
    coco_eval_input in = {gt->image_index.ids, gt->image_index.n, gt->category_index.ids,
                          gt->category_index.n, gt->annotations, gt->nannotations,
                          dt->results, dt->n};
    coco_eval_run(&in, out);
    return 0;
}

/* The dataset's detections as results; -1 with a message for an unknown image or label or a
 * score that is not finite. */
static int coco_eval_convert_dets(const rd_dataset *ds, const int64_t *ids,
                                  const rd_detection *dets, int64_t n, coco_result *res,
                                  char *err, size_t errsize)
{
    for (int64_t i = 0; i < n; i++) {
        const rd_detection *d = &dets[i];
        const char *bad = NULL;
        if (coco_ids_find(ids, ds->nsamples, d->image_id) < 0)
            bad = "its image_id is not an image of the dataset";
        else if (d->label < 0 || d->label >= ds->nclasses)
            bad = "its label is outside the dataset's classes";
        else if (!isfinite(d->score))
            bad = "its score is not finite";
        if (bad != NULL) {
            snprintf(err, errsize, "detection %lld (image %lld, label %d, score %g): %s",
                     (long long)i, (long long)d->image_id, d->label, d->score, bad);
            return -1;
        }
        res[i].image_id = d->image_id;
        res[i].category_id = ds->category_ids[d->label];
        res[i].score = d->score;
        coco_eval_bbox_from_box(d->box, res[i].bbox);
    }
    return 0;
}

int coco_eval_detections(const rd_dataset *ds, const rd_detection *dets, int64_t ndets,
                         coco_eval_result *out, char *err, size_t errsize)
{
    memset(out, 0, sizeof *out);
    int64_t *ids = rd_malloc((size_t)ds->nsamples * sizeof *ids, "dataset image ids");
    for (int64_t s = 0; s < ds->nsamples; s++)
        ids[s] = ds->samples[s].image_id;
    qsort(ids, (size_t)ds->nsamples, sizeof *ids, coco_i64_cmp);
    coco_result *res = rd_malloc((size_t)ndets * sizeof *res, "COCO results");
    if (coco_eval_convert_dets(ds, ids, dets, ndets, res, err, errsize) != 0) {
        free(ids);
        free(res);
        return -1;
    }
    coco_annotation *gt = rd_malloc((size_t)ds->nobjects * sizeof *gt, "COCO annotations");
    for (int64_t s = 0; s < ds->nsamples; s++) {
        const rd_sample *sm = &ds->samples[s];
        for (int64_t j = sm->first_object; j < sm->first_object + sm->nobjects; j++) {
            const rd_object *o = &ds->objects[j];
            RD_CHECK(o->label >= 0 && o->label < ds->nclasses, "object label %d", o->label);
            gt[j] = (coco_annotation){.id = j + 1, .image_id = sm->image_id,
                                      .category_id = ds->category_ids[o->label],
                                      .area = o->area, .iscrowd = o->crowd};
            coco_eval_bbox_from_box(o->box, gt[j].bbox);
        }
    }
    coco_eval_input in = {ids, ds->nsamples, ds->category_ids, ds->nclasses, gt, ds->nobjects,
                          res, ndets};
    coco_eval_run(&in, out);
    free(gt);
    free(res);
    free(ids);
    return 0;
}

void coco_eval_result_free(coco_eval_result *r)
{
    if (r == NULL)
        return;
    free(r->category_ids);
    free(r->precision);
    free(r->recall);
    free(r->num_gt);
    free(r->num_dt);
    memset(r, 0, sizeof *r);
}
