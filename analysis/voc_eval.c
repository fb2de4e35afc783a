/* voc_eval.c — the classic voc_eval.py AP (see voc_eval.h). Ground truth is bucketed by
 * (class, image) once; per class the detections are sorted once, and each one's best box and
 * its IoU (which do not depend on the threshold) are found once; the 10 thresholds then only
 * replay the greedy assignment over those. */
#include "analysis/voc_eval.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis/coco_eval.h"
#include "data/voc.h"
#include "lib/check.h"

void voc_eval_box_from_pixels(rd_box b, double box[4])
{
    box[0] = (double)b.x1 + 1.0;
    box[1] = (double)b.y1 + 1.0;
    box[2] = b.x2;
    box[3] = b.y2;
}

/* The devkit's IoU with the +1 width and height, in voc_eval.py's order of operations. */
static double voc_iou(const double *bb, const double *g)
{
    double iw = fmax(fmin(g[2], bb[2]) - fmax(g[0], bb[0]) + 1.0, 0.0);
    double ih = fmax(fmin(g[3], bb[3]) - fmax(g[1], bb[1]) + 1.0, 0.0);
    double inters = iw * ih;
    double uni = (bb[2] - bb[0] + 1.0) * (bb[3] - bb[1] + 1.0) +
                 (g[2] - g[0] + 1.0) * (g[3] - g[1] + 1.0) - inters;
    return inters / uni;
}

/* voc_ap: AP of the curve rec[n], prec[n] (scratch: n + 2 slots each in mrec, mpre). */
static double voc_ap(const double *rec, const double *prec, int64_t n, voc_metric metric,
                     double *mrec, double *mpre)
{
    if (metric == VOC_METRIC_07) {
        double ap = 0.0;
        for (int i = 0; i < 11; i++) {
            double t = (double)i * 0.1, p = 0.0;  // numpy.arange(0., 1.1, 0.1)
            int any = 0;
            for (int64_t j = 0; j < n; j++)
                if (rec[j] >= t && (!any || prec[j] > p)) {
                    p = prec[j];
                    any = 1;
                }
            ap = ap + p / 11.0;
        }
        return ap;
    }
    mrec[0] = 0.0;
    mpre[0] = 0.0;
    memcpy(mrec + 1, rec, (size_t)n * sizeof *rec);
    memcpy(mpre + 1, prec, (size_t)n * sizeof *prec);
    mrec[n + 1] = 1.0;
    mpre[n + 1] = 0.0;
    for (int64_t i = n + 1; i > 0; i--)
        mpre[i - 1] = fmax(mpre[i - 1], mpre[i]);
    double ap = 0.0;
    for (int64_t i = 0; i < n + 1; i++)
        if (mrec[i + 1] != mrec[i])
            ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
    return ap;
}

static int voc_det_cmp(const void *a, const void *b, void *ctx)
{
    const voc_eval_det *dt = ctx;
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    if (dt[i].score != dt[j].score)
        return dt[i].score > dt[j].score ? -1 : 1;
    return (i > j) - (i < j);
}

/* Per-class ground truth lists: order[off[k * I + i] .. off[k * I + i + 1]) are class k's boxes
 * in image i, file order. */
typedef struct voc_buckets {
    int64_t *order, *off;
} voc_buckets;

static void voc_buckets_build(const voc_eval_input *in, voc_buckets *b)
{
    int64_t cells = (int64_t)in->nclasses * in->nimages;
    b->off = rd_calloc((size_t)cells + 1, sizeof *b->off, "VOC ground truth offsets");
    b->order = rd_malloc((size_t)in->ngt * sizeof *b->order, "VOC ground truth order");
    for (int64_t g = 0; g < in->ngt; g++)
        b->off[(int64_t)in->gt[g].label * in->nimages + in->gt[g].image + 1]++;
    for (int64_t c = 0; c < cells; c++)
        b->off[c + 1] += b->off[c];
    int64_t *at = rd_malloc((size_t)cells * sizeof *at, "VOC ground truth offsets");
    memcpy(at, b->off, (size_t)cells * sizeof *at);
    for (int64_t g = 0; g < in->ngt; g++)
        b->order[at[(int64_t)in->gt[g].label * in->nimages + in->gt[g].image]++] = g;
    free(at);
}

/* One class: its detections dets[n] (sorted by score), AP at every threshold into out. */
static void voc_eval_class(const voc_eval_input *in, const voc_buckets *b, int k,
                           const int64_t *dets, int64_t n, voc_eval_result *out)
{
    int64_t npos = 0, first = b->off[(int64_t)k * in->nimages];
    for (int64_t j = first; j < b->off[(int64_t)(k + 1) * in->nimages]; j++)
        npos += !in->gt[b->order[j]].difficult;
    out->npos[k] = npos;
    out->ndet[k] = n;
    int64_t *best = rd_malloc((size_t)n * sizeof *best, "VOC best boxes");
    double *ovmax = rd_malloc((size_t)n * sizeof *ovmax, "VOC overlaps");
    for (int64_t d = 0; d < n; d++) {
        const voc_eval_det *det = &in->dt[dets[d]];
        int64_t cell = (int64_t)k * in->nimages + det->image;
        best[d] = -1;
        ovmax[d] = -INFINITY;
        for (int64_t j = b->off[cell]; j < b->off[cell + 1]; j++) {
            double ov = voc_iou(det->box, in->gt[b->order[j]].box);
            if (best[d] < 0 || ov > ovmax[d]) {  // np.argmax: the first largest
                ovmax[d] = ov;
                best[d] = b->order[j];
            }
        }
    }
    uint8_t *taken = rd_calloc((size_t)in->ngt + 1, 1, "VOC taken flags");
    double *rec = rd_malloc((size_t)n * sizeof *rec, "VOC recall");
    double *prec = rd_malloc((size_t)n * sizeof *prec, "VOC precision");
    double *mrec = rd_malloc((size_t)(n + 2) * sizeof *mrec, "VOC recall");
    double *mpre = rd_malloc((size_t)(n + 2) * sizeof *mpre, "VOC precision");
    for (int t = 0; t < VOC_EVAL_T; t++) {
        double thr = coco_eval_iou_threshold(t), tp = 0, fp = 0;
        for (int64_t d = 0; d < n; d++) {
            if (ovmax[d] > thr) {
                if (!in->gt[best[d]].difficult) {
                    if (!taken[best[d]]) {
                        tp += 1;
                        taken[best[d]] = 1;
                    } else
                        fp += 1;
                }
            } else
                fp += 1;
            rec[d] = tp / (double)npos;
            prec[d] = tp / fmax(tp + fp, DBL_EPSILON);
        }
        for (int64_t d = 0; d < n; d++)
            if (best[d] >= 0)
                taken[best[d]] = 0;
        out->class_ap[(size_t)t * (size_t)in->nclasses + (size_t)k] =
            npos > 0 ? voc_ap(rec, prec, n, in->metric, mrec, mpre) : -1.0;
    }
    free(best);
    free(ovmax);
    free(taken);
    free(rec);
    free(prec);
    free(mrec);
    free(mpre);
}

/* Every box in range: a programming error otherwise (the readers check user input). */
static void voc_eval_check_input(const voc_eval_input *in)
{
    for (int64_t g = 0; g < in->ngt; g++)
        RD_CHECK(in->gt[g].image >= 0 && in->gt[g].image < in->nimages &&
                     in->gt[g].label >= 0 && in->gt[g].label < in->nclasses,
                 "VOC ground truth %lld: image %lld, label %d", (long long)g,
                 (long long)in->gt[g].image, in->gt[g].label);
    for (int64_t d = 0; d < in->ndt; d++)
        RD_CHECK(in->dt[d].image >= 0 && in->dt[d].image < in->nimages &&
                     in->dt[d].label >= 0 && in->dt[d].label < in->nclasses &&
                     isfinite(in->dt[d].score),
                 "VOC detection %lld: image %lld, label %d, score %g", (long long)d,
                 (long long)in->dt[d].image, in->dt[d].label, in->dt[d].score);
}

/* The means over classes with ground truth. */
static void voc_eval_means(voc_eval_result *r)
{
    double sum_all = 0;
    int nall = 0;
    for (int t = 0; t < VOC_EVAL_T; t++) {
        double sum = 0;
        int n = 0;
        for (int k = 0; k < r->nclasses; k++) {
            double v = r->class_ap[(size_t)t * (size_t)r->nclasses + (size_t)k];
            if (v >= 0) {
                sum += v;
                n++;
            }
        }
        r->map[t] = n ? sum / n : -1.0;
        if (n) {
            sum_all += r->map[t];
            nall++;
        }
    }
    r->ap50 = r->map[0];
    r->ap75 = r->map[5];
    r->ap = nall ? sum_all / nall : -1.0;
}

void voc_eval_run(const voc_eval_input *in, voc_eval_result *out)
{
    voc_eval_check_input(in);
    memset(out, 0, sizeof *out);
    int K = in->nclasses;
    out->nclasses = K;
    out->metric = in->metric;
    out->class_ap = rd_malloc((size_t)VOC_EVAL_T * (size_t)K * sizeof *out->class_ap, "VOC AP table");
    out->npos = rd_calloc((size_t)K, sizeof *out->npos, "VOC counts");
    out->ndet = rd_calloc((size_t)K, sizeof *out->ndet, "VOC counts");
    voc_buckets b;
    voc_buckets_build(in, &b);
    int64_t *koff = rd_calloc((size_t)K + 1, sizeof *koff, "VOC detection offsets");
    int64_t *order = rd_malloc((size_t)in->ndt * sizeof *order, "VOC detection order");
    for (int64_t d = 0; d < in->ndt; d++)
        koff[in->dt[d].label + 1]++;
    for (int k = 0; k < K; k++)
        koff[k + 1] += koff[k];
    int64_t *at = rd_malloc((size_t)K * sizeof *at, "VOC detection offsets");
    memcpy(at, koff, (size_t)K * sizeof *at);
    for (int64_t d = 0; d < in->ndt; d++)
        order[at[in->dt[d].label]++] = d;
    free(at);
#pragma omp parallel for schedule(dynamic, 1)
    for (int k = 0; k < K; k++) {
        int64_t *dets = order + koff[k], n = koff[k + 1] - koff[k];
        qsort_r(dets, (size_t)n, sizeof *dets, voc_det_cmp, (void *)in->dt);
        voc_eval_class(in, &b, k, dets, n, out);
    }
    voc_eval_means(out);
    free(order);
    free(koff);
    free(b.order);
    free(b.off);
}

double voc_eval_class_ap(const voc_eval_result *r, int k, int t)
{
    RD_CHECK(k >= 0 && k < r->nclasses && t >= 0 && t < VOC_EVAL_T, "class %d, threshold %d",
             k, t);
    return r->class_ap[(size_t)t * (size_t)r->nclasses + (size_t)k];
}

void voc_eval_result_free(voc_eval_result *r)
{
    if (r == NULL)
        return;
    free(r->class_ap);
    free(r->npos);
    free(r->ndet);
    memset(r, 0, sizeof *r);
}

static int voc_i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Position of id among the sorted ids[n] (pos[] gives the sample), or -1. */
static int64_t voc_find(const int64_t *ids, int64_t n, int64_t id)
{
    const int64_t *hit = bsearch(&id, ids, (size_t)n, sizeof *ids, voc_i64_cmp);
    return hit ? hit - ids : -1;
}

/* The dataset's detections in the devkit's frame; -1 with a message on a bad one. */
static int voc_eval_convert_dets(const rd_dataset *ds, const int64_t *ids,
                                 const rd_detection *dets, int64_t n, voc_eval_det *out,
                                 char *err, size_t errsize)
{
    for (int64_t i = 0; i < n; i++) {
        const rd_detection *d = &dets[i];
        int64_t pos = voc_find(ids, ds->nsamples, d->image_id);
        const char *bad = pos < 0 ? "its image_id is not an image of the dataset"
                          : d->label < 0 || d->label >= ds->nclasses
                              ? "its label is outside the dataset's classes"
                          : !isfinite(d->score) ? "its score is not finite"
                          : !(d->box.x2 >= d->box.x1 && d->box.y2 >= d->box.y1)
                              ? "its box has a negative width or height"
                              : NULL;
        if (bad != NULL) {
            snprintf(err, errsize, "detection %lld (image %lld, label %d, score %g): %s",
                     (long long)i, (long long)d->image_id, d->label, d->score, bad);
            return -1;
        }
        out[i] = (voc_eval_det){pos, d->label, d->score, {0}};
        voc_eval_box_from_pixels(d->box, out[i].box);
    }
    return 0;
}

int voc_eval_detections(const rd_dataset *ds, const rd_detection *dets, int64_t ndets,
                        voc_metric metric, voc_eval_result *out, char *err, size_t errsize)
{
    memset(out, 0, sizeof *out);
    /* image ids sorted, as positions into the sample list (VOC ids are positions already) */
    int64_t *ids = rd_malloc((size_t)ds->nsamples * sizeof *ids, "dataset image ids");
    for (int64_t s = 0; s < ds->nsamples; s++)
        ids[s] = ds->samples[s].image_id;
    qsort(ids, (size_t)ds->nsamples, sizeof *ids, voc_i64_cmp);
    voc_eval_det *dt = rd_malloc((size_t)ndets * sizeof *dt, "VOC detections");
    voc_eval_gt *gt = rd_malloc((size_t)ds->nobjects * sizeof *gt, "VOC ground truth");
    int rc = voc_eval_convert_dets(ds, ids, dets, ndets, dt, err, errsize);
    for (int64_t s = 0; rc == 0 && s < ds->nsamples; s++) {
        const rd_sample *sm = &ds->samples[s];
        int64_t pos = voc_find(ids, ds->nsamples, sm->image_id);
        for (int64_t j = sm->first_object; j < sm->first_object + sm->nobjects; j++) {
            const rd_object *o = &ds->objects[j];
            gt[j] = (voc_eval_gt){pos, o->label, o->difficult, {0}};
            voc_eval_box_from_pixels(o->box, gt[j].box);
        }
    }
    if (rc == 0) {
        voc_eval_input in = {ds->nsamples, ds->nclasses, gt, ds->nobjects, dt, ndets, metric};
        voc_eval_run(&in, out);
    }
    free(gt);
    free(dt);
    free(ids);
    return rc;
}

/* The stem of path's last component (malloc'd). */
static char *voc_stem(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *s = rd_malloc(n + 1, "an image stem");
    memcpy(s, base, n);
    s[n] = '\0';
    return s;
}

/* The XML of an image stem, where data/voc.c looks: DIR/Annotations/, DIR/annotations/, or
 * beside the image. NULL when there is none (a background image). */
static char *voc_xml_path(const char *dir, const char *image_path, const char *stem)
{
    const char *sub[3] = {"Annotations/", "annotations/", NULL};
    size_t len = strlen(dir) + strlen(image_path) + strlen(stem) + 32;
    char *p = rd_malloc(len, "an XML path");
    struct stat st;
    for (int i = 0; i < 3; i++) {
        if (sub[i] != NULL) {
            snprintf(p, len, "%s/%s%s.xml", dir, sub[i], stem);
        } else {
            const char *slash = strrchr(image_path, '/');
            int n = slash ? (int)(slash - image_path) : 1;
            snprintf(p, len, "%.*s/%s.xml", n, slash ? image_path : ".", stem);
        }
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            return p;
    }
    free(p);
    return NULL;
}

/* Sample s's objects from its XML, appended to t->gt (capacity *cap). */
static int voc_truth_read_sample(const char *dir, voc_eval_truth *t, int64_t s, int64_t *cap,
                                 char *err, size_t errsize)
{
    char *xml = voc_xml_path(dir, t->ds.samples[s].image_path, t->stems[s]);
    if (xml == NULL)
        return 0;
    voc_annotation a;
    int rc = voc_read_xml(xml, &a, err, errsize);
    for (int j = 0; rc == 0 && j < a.nobjects; j++) {
        const voc_object *o = &a.objects[j];
        int label = -1;
        for (int k = 0; k < t->ds.nclasses && label < 0; k++)
            if (strcmp(t->ds.class_names[k], o->name) == 0)
                label = k;
        if (label < 0) {
            snprintf(err, errsize, "%s: line %d: unknown class '%s'", xml, o->line, o->name);
            rc = -1;
            break;
        }
        if (t->ngt == *cap) {
            *cap = 2 * *cap + 64;
            t->gt = realloc(t->gt, (size_t)*cap * sizeof *t->gt);
            RD_CHECK(t->gt != NULL, "out of memory for VOC ground truth");
        }
        t->gt[t->ngt++] = (voc_eval_gt){s, label, o->difficult,
                                        {o->xmin, o->ymin, o->xmax, o->ymax}};
    }
    voc_annotation_free(&a);
    free(xml);
    return rc;
}

static int voc_stem_cmp(const void *a, const void *b, void *ctx)
{
    char *const *stems = ctx;
    return strcmp(stems[*(const int64_t *)a], stems[*(const int64_t *)b]);
}

int voc_eval_truth_read(const char *dir, const char *split, voc_eval_truth *t, char *err,
                        size_t errsize)
{
    memset(t, 0, sizeof *t);
    dataset_options opt = {"voc", split, NULL, BAD_SAMPLE_ERROR};
    if (dataset_open(dir, &opt, &t->ds, err, errsize) != 0)
        return -1;
    int64_t n = t->ds.nsamples, cap = 0;
    t->stems = rd_calloc((size_t)n, sizeof *t->stems, "image stems");
    t->by_stem = rd_malloc((size_t)n * sizeof *t->by_stem, "image stems");
    for (int64_t s = 0; s < n; s++) {
        t->stems[s] = voc_stem(t->ds.samples[s].image_path);
        t->by_stem[s] = s;
    }
    qsort_r(t->by_stem, (size_t)n, sizeof *t->by_stem, voc_stem_cmp, t->stems);
    for (int64_t s = 0; s < n; s++)
        if (voc_truth_read_sample(dir, t, s, &cap, err, errsize) != 0) {
            voc_eval_truth_free(t);
            return -1;
        }
    return 0;
}

int64_t voc_eval_truth_find(const voc_eval_truth *t, const char *stem)
{
    int64_t lo = 0, hi = t->ds.nsamples;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t->stems[t->by_stem[mid]], stem);
        if (c == 0)
            return t->by_stem[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

void voc_eval_truth_free(voc_eval_truth *t)
{
    if (t == NULL)
        return;
    for (int64_t s = 0; t->stems && s < t->ds.nsamples; s++)
        free(t->stems[s]);
    free(t->stems);
    free(t->by_stem);
    free(t->gt);
    dataset_free(&t->ds);
    memset(t, 0, sizeof *t);
}
