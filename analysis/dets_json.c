/* dets_json.c — detections as COCO results JSON (see dets_json.h). Written with stdio, in
 * one pass, to PATH.tmp.PID and renamed over PATH once complete. */
#include "analysis/dets_json.h"

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
