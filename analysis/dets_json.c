/* dets_json.c — detections as COCO results JSON (see dets_json.h), written with stdio in one
 * pass to PATH.tmp.PID and renamed over PATH once complete; and the VOC devkit's per-class
 * result files read line by line. */
#include "analysis/dets_json.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/coco_eval.h"
#include "lib/check.h"

char *dets_json_format_double(double v, char *buf)
{
    RD_CHECK(isfinite(v), "formatting a non-finite number %g", v);
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, 32, "%.0f", v);  // integers as integers ("-0" keeps the sign)
        return buf;
    }
    /* %.15g reads back whenever any 15 digits do (DBL_DIG), and %g drops trailing zeros, so
     * it is the shortest form then; otherwise 16, and 17 always reads back. */
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, 32, "%.*g", digits, v);
        if (digits == 17 || strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* One result as a JSON object. */
static int dets_json_put(FILE *f, const coco_result *r, int first)
{
    char b[4][32], s[32];
    for (int i = 0; i < 4; i++)
        dets_json_format_double(r->bbox[i], b[i]);
    return fprintf(f, "%s{\"image_id\": %lld, \"category_id\": %lld, \"bbox\": [%s, %s, %s, %s], "
                   "\"score\": %s}", first ? "[\n" : ",\n", (long long)r->image_id,
                   (long long)r->category_id, b[0], b[1], b[2], b[3],
                   dets_json_format_double(r->score, s));
}

/* Open PATH.tmp.PID for writing; its name in tmp. */
static FILE *dets_json_open_tmp(const char *path, char *tmp, size_t tmpsize, char *err,
                                size_t errsize)
{
    snprintf(tmp, tmpsize, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        snprintf(err, errsize, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

/* Close f and rename tmp over path; on any failure remove tmp and say so in err. */
static int dets_json_commit(FILE *f, int bad, const char *tmp, const char *path, char *err,
                            size_t errsize)
{
    bad |= ferror(f);
    bad |= fclose(f) != 0;
    if (!bad && rename(tmp, path) == 0)
        return 0;
    snprintf(err, errsize, "%s: write failed: %s", path, strerror(errno));
    remove(tmp);
    return -1;
}

int dets_json_write_results(const char *path, const coco_result *results, int64_t n,
                            char *err, size_t errsize)
{
    for (int64_t i = 0; i < n; i++) {
        const coco_result *r = &results[i];
        int finite = isfinite(r->score);
        for (int j = 0; j < 4; j++)
            finite &= isfinite(r->bbox[j]);
        if (!finite) {
            snprintf(err, errsize, "%s: detection %lld has a number that is not finite", path,
                     (long long)i);
            return -1;
        }
    }
    size_t tmpsize = strlen(path) + 32;
    char *tmp = rd_malloc(tmpsize, "a file name");
    FILE *f = dets_json_open_tmp(path, tmp, tmpsize, err, errsize);
    if (f == NULL) {
        free(tmp);
        return -1;
    }
    int bad = 0;
    for (int64_t i = 0; i < n && !bad; i++)
        bad = dets_json_put(f, &results[i], i == 0) < 0;
    bad |= fputs(n == 0 ? "[]\n" : "\n]\n", f) < 0;
    int rc = dets_json_commit(f, bad, tmp, path, err, errsize);
    free(tmp);
    return rc;
}

int dets_json_write(const char *path, const rd_detection *dets, int64_t n,
                    const int64_t *category_ids, int ncategories, char *err, size_t errsize)
{
    coco_result *res = rd_malloc((size_t)n * sizeof *res, "COCO results");
    for (int64_t i = 0; i < n; i++) {
        const rd_detection *d = &dets[i];
        if (d->label < 0 || d->label >= ncategories) {
            snprintf(err, errsize, "%s: detection %lld has label %d, outside the %d classes",
                     path, (long long)i, d->label, ncategories);
            free(res);
            return -1;
        }
        res[i].image_id = d->image_id;
        res[i].category_id = category_ids[d->label];
        res[i].score = d->score;
        coco_eval_bbox_from_box(d->box, res[i].bbox);
    }
    int rc = dets_json_write_results(path, res, n, err, errsize);
    free(res);
    return rc;
}

/* The result file of class `name`: the pattern with the name put in, or the one
 * comp*_det_*_NAME.txt in the folder. malloc'd; NULL with a message when there is none. */
static char *dets_voc_file(const char *where, const char *name, char *err, size_t errsize)
{
    const char *hole = strstr(where, "{}");
    if (hole == NULL)
        hole = strstr(where, "%s");
    if (hole != NULL) {
        size_t len = strlen(where) + strlen(name) + 1;
        char *p = rd_malloc(len, "a result file name");
        snprintf(p, len, "%.*s%s%s", (int)(hole - where), where, name, hole + 2);
        return p;
    }
    DIR *d = opendir(where);
    if (d == NULL) {
        snprintf(err, errsize, "%s: cannot open the result folder: %s", where, strerror(errno));
        return NULL;
    }
    char suffix[300], *found = NULL;
    int count = 0;
    snprintf(suffix, sizeof suffix, "_%s.txt", name);
    size_t ls = strlen(suffix);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "comp", 4) != 0 || strstr(e->d_name, "_det_") == NULL ||
            len < ls || strcmp(e->d_name + len - ls, suffix) != 0)
            continue;
        if (count++ == 0) {
            size_t plen = strlen(where) + len + 2;
            found = rd_malloc(plen, "a result file name");
            snprintf(found, plen, "%s/%s", where, e->d_name);
        }
    }
    closedir(d);
    if (count == 1)
        return found;
    free(found);
    if (count)
        snprintf(err, errsize, "%s: %d result files for class '%s' (comp*_det_*%s); keep one "
                 "or give a pattern with {}", where, count, name, suffix);
    else
        snprintf(err, errsize, "%s: no result file for class '%s' (comp4_det_test%s)", where,
                 name, suffix);
    return NULL;
}

/* One line "ID SCORE X1 Y1 X2 Y2" into d (label set by the caller); 1 for a blank line, 0 for
 * a detection, -1 with a message naming path and line. */
static int dets_voc_line(char *buf, const char *path, int line, const voc_eval_truth *t,
                         voc_eval_det *d, char *err, size_t errsize)
{
    char id[512], extra[2];
    double v[5];
    int got = sscanf(buf, "%511s %lf %lf %lf %lf %lf %1s", id, &v[0], &v[1], &v[2], &v[3], &v[4],
                     extra);
    if (got <= 0)
        return 1;
    const char *bad = NULL;
    if (got != 6)
        bad = "expected IMAGE_ID SCORE X1 Y1 X2 Y2";
    else if (!isfinite(v[0]) || !isfinite(v[1]) || !isfinite(v[2]) || !isfinite(v[3]) ||
             !isfinite(v[4]))
        bad = "a number is not finite";
    else if (v[3] < v[1] || v[4] < v[2])
        bad = "the box has x2 < x1 or y2 < y1";
    else if ((d->image = voc_eval_truth_find(t, id)) < 0)
        bad = "the image is not in the evaluated set";
    if (bad != NULL) {
        buf[strcspn(buf, "\n")] = '\0';
        snprintf(err, errsize, "%s: line %d: %s: '%.200s'", path, line, bad, buf);
        return -1;
    }
    d->score = v[0];
    memcpy(d->box, v + 1, sizeof d->box);
    return 0;
}

/* Append class k's detections from path to *out (capacity *cap, count *n). */
static int dets_voc_read_file(const char *path, int k, const voc_eval_truth *t,
                              voc_eval_det **out, int64_t *n, int64_t *cap, char *err,
                              size_t errsize)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errsize, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t bufcap = 0;
    int line = 0, rc = 0;
    while (rc >= 0 && getline(&buf, &bufcap, f) >= 0) {
        if (*n == *cap) {
            *cap = 2 * *cap + 1024;
            *out = realloc(*out, (size_t)*cap * sizeof **out);
            RD_CHECK(*out != NULL, "out of memory for VOC detections");
        }
        voc_eval_det *d = &(*out)[*n];
        d->label = k;
        rc = dets_voc_line(buf, path, ++line, t, d, err, errsize);
        *n += rc == 0;
    }
    free(buf);
    fclose(f);
    return rc < 0 ? -1 : 0;
}

int dets_voc_read(const char *where, const voc_eval_truth *t, voc_eval_det **out, int64_t *n,
                  char *err, size_t errsize)
{
    int64_t cap = 0;
    *out = NULL;
    *n = 0;
    for (int k = 0; k < t->ds.nclasses; k++) {
        char *path = dets_voc_file(where, t->ds.class_names[k], err, errsize);
        int rc = path ? dets_voc_read_file(path, k, t, out, n, &cap, err, errsize) : -1;
        free(path);
        if (rc != 0) {
            free(*out);
            *out = NULL;
            *n = 0;
            return -1;
        }
    }
    return 0;
}

int dets_voc_from_results(const coco_results *r, const char *name, const voc_eval_truth *t,
                          voc_eval_det **out, int64_t *n, char *err, size_t errsize)
{
    const rd_dataset *ds = &t->ds;
    *out = rd_malloc((size_t)r->n * sizeof **out, "VOC detections");
    *n = r->n;
    for (int64_t i = 0; i < r->n; i++) {
        const coco_result *c = &r->results[i];
        int64_t s = c->image_id;  // VOC image ids are positions; check it is one
        int label = -1;
        for (int k = 0; k < ds->nclasses && label < 0; k++)
            if (ds->category_ids[k] == c->category_id)
                label = k;
        const char *field = s < 0 || s >= ds->nsamples || ds->samples[s].image_id != s
                                ? "image_id" : label < 0 ? "category_id" : NULL;
        if (field != NULL) {
            snprintf(err, errsize, "%s: results[%lld].%s: %lld is not %s of the VOC dataset "
                     "(images are numbered 0..%lld in list order, classes 0..%d)", name,
                     (long long)i, field, (long long)(field[0] == 'i' ? s : c->category_id),
                     field[0] == 'i' ? "an image" : "a class", (long long)ds->nsamples - 1,
                     ds->nclasses - 1);
            free(*out);
            *out = NULL;
            *n = 0;
            return -1;
        }
        const double *b = c->bbox;
        (*out)[i] = (voc_eval_det){s, label, c->score,
                                   {b[0] + 1.0, b[1] + 1.0, b[0] + b[2], b[1] + b[3]}};
    }
    return 0;
}
