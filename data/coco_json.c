/* coco_json.c — COCO instances and results files into plain arrays (see coco_json.h), with
 * cJSON. One pass over each element's members (a repeated key: the last one wins, as in
 * Python's json); every value is checked for its type and range before it is stored. */
#include "data/coco_json.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/check.h"

#define COCO_JSON_MAX_INT 9007199254740992.0  // 2^53: larger ids do not survive a double

/* Where a message points: "NAME: array[index].field: ". */
typedef struct coco_json_place {
    const char *name;
    const char *array;
    int64_t index;
    char *err;
    size_t errsize;
} coco_json_place;

static int coco_json_fail(const coco_json_place *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int coco_json_fail(const coco_json_place *p, const char *field, const char *fmt, ...)
{
    int len = snprintf(p->err, p->errsize, "%s: %s[%lld]%s%s: ", p->name, p->array,
                       (long long)p->index, field ? "." : "", field ? field : "");
    if (len >= 0 && (size_t)len < p->errsize) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + len, p->errsize - (size_t)len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The JSON type of v in words, for messages. */
static const char *coco_json_kind(const cJSON *v)
{
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    return "an invalid value";
}

static int coco_json_get_int(const cJSON *v, const coco_json_place *p, const char *field,
                             int64_t *out)
{
    if (!cJSON_IsNumber(v))
        return coco_json_fail(p, field, "expected an integer, found %s", coco_json_kind(v));
    double d = v->valuedouble;
    if (!(fabs(d) <= COCO_JSON_MAX_INT) || d != floor(d))
        return coco_json_fail(p, field, "expected an integer, found %.17g", d);
    *out = (int64_t)d;
    return 0;
}

static int coco_json_get_double(const cJSON *v, const coco_json_place *p, const char *field,
                                double *out)
{
    if (!cJSON_IsNumber(v))
        return coco_json_fail(p, field, "expected a number, found %s", coco_json_kind(v));
    if (!isfinite(v->valuedouble))
        return coco_json_fail(p, field, "expected a finite number, found %g", v->valuedouble);
    *out = v->valuedouble;
    return 0;
}

/* A size (image width or height): an integer in [0, INT32_MAX]. */
static int coco_json_get_size(const cJSON *v, const coco_json_place *p, const char *field,
                              int *out)
{
    int64_t s = 0;
    if (coco_json_get_int(v, p, field, &s) != 0)
        return -1;
    if (s < 0 || s > INT32_MAX)
        return coco_json_fail(p, field, "size %lld is %s", (long long)s,
                              s < 0 ? "negative" : "too large");
    *out = (int)s;
    return 0;
}

static int coco_json_get_string(const cJSON *v, const coco_json_place *p, const char *field,
                                const char **out)
{
    if (!cJSON_IsString(v))
        return coco_json_fail(p, field, "expected a string, found %s", coco_json_kind(v));
    *out = v->valuestring;
    return 0;
}

/* bbox: an array of exactly 4 finite numbers x, y, w, h with w, h >= 0. */
static int coco_json_get_bbox(const cJSON *v, const coco_json_place *p, double bbox[4])
{
    if (!cJSON_IsArray(v))
        return coco_json_fail(p, "bbox", "expected an array [x, y, w, h], found %s",
                              coco_json_kind(v));
    int n = 0;
    for (const cJSON *e = v->child; e != NULL; e = e->next, n++) {
        if (n >= 4)
            continue;
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
            return coco_json_fail(p, "bbox", "element %d is not a finite number", n);
        bbox[n] = e->valuedouble;
    }
    if (n != 4)
        return coco_json_fail(p, "bbox", "expected 4 numbers [x, y, w, h], found %d", n);
    if (bbox[2] < 0 || bbox[3] < 0)
        return coco_json_fail(p, "bbox", "%s %g is negative", bbox[2] < 0 ? "width" : "height",
                              bbox[2] < 0 ? bbox[2] : bbox[3]);
    return 0;
}

char *coco_json_read_file(const char *path, size_t *len, char *err, size_t errsize)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errsize, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errsize, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    char *buf = rd_malloc(size + 1, "a JSON file");
    size_t got = fread(buf, 1, size, f);
    int bad = ferror(f) || got != size;
    fclose(f);
    if (bad) {
        snprintf(err, errsize, "%s: read error after %zu of %zu bytes", path, got, size);
        free(buf);
        return NULL;
    }
    buf[size] = '\0';
    *len = size;
    return buf;
}

/* Parse text; on a syntax error the message gives the line and column where cJSON stopped
 * (the last character when the text ends early). */
static cJSON *coco_json_parse_text(const char *text, size_t len, const char *name, char *err,
                                   size_t errsize)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root != NULL)
        return root;
    if (end == NULL || end < text || end > text + len)
        end = text;
    long line = 1, col = 1;
    for (const char *c = text; c < end; c++, col++)
        if (*c == '\n')
            line++, col = 0;
    if (len == 0)
        snprintf(err, errsize, "%s: malformed JSON: the file is empty", name);
    else
        snprintf(err, errsize, "%s: malformed JSON at line %ld, column %ld%s", name, line, col,
                 end + 1 >= text + len ? " (the end of the text)" : "");
    return NULL;
}

/* root[key] must be an array (or absent when optional: *out = NULL). */
static int coco_json_top_array(const cJSON *root, const char *key, int required,
                               const char *name, const cJSON **out, char *err, size_t errsize)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
    *out = NULL;
    if (a == NULL && !required)
        return 0;
    if (a == NULL) {
        snprintf(err, errsize, "%s: no \"%s\" array: not a COCO instances file", name, key);
        return -1;
    }
    if (!cJSON_IsArray(a)) {
        snprintf(err, errsize, "%s: \"%s\" is %s, expected an array", name, key,
                 coco_json_kind(a));
        return -1;
    }
    *out = a;
    return 0;
}

static int64_t coco_json_count(const cJSON *a)
{
    int64_t n = 0;
    for (const cJSON *e = a ? a->child : NULL; e != NULL; e = e->next)
        n++;
    return n;
}

/* The element must be an object. */
static int coco_json_check_object(const cJSON *e, const coco_json_place *p)
{
    if (!cJSON_IsObject(e))
        return coco_json_fail(p, NULL, "expected an object, found %s", coco_json_kind(e));
    return 0;
}

static int coco_json_parse_image(const cJSON *e, const coco_json_place *p, coco_image *im)
{
    int have_id = 0;
    *im = (coco_image){0, 0, 0, ""};
    if (coco_json_check_object(e, p) != 0)
        return -1;
    for (const cJSON *m = e->child; m != NULL; m = m->next) {
        const char *k = m->string;
        int rc = 0;
        if (strcmp(k, "id") == 0) {
            have_id = 1;
            rc = coco_json_get_int(m, p, k, &im->id);
        }
        else if (strcmp(k, "width") == 0)
            rc = coco_json_get_size(m, p, k, &im->width);
        else if (strcmp(k, "height") == 0)
            rc = coco_json_get_size(m, p, k, &im->height);
        else if (strcmp(k, "file_name") == 0)
            rc = coco_json_get_string(m, p, k, &im->file_name);
        if (rc != 0)
            return -1;
    }
    return have_id ? 0 : coco_json_fail(p, "id", "missing");
}

static int coco_json_parse_category(const cJSON *e, const coco_json_place *p,
                                    coco_category *c)
{
    int have_id = 0;
    *c = (coco_category){0, ""};
    if (coco_json_check_object(e, p) != 0)
        return -1;
    for (const cJSON *m = e->child; m != NULL; m = m->next) {
        int rc = 0;
        if (strcmp(m->string, "id") == 0) {
            have_id = 1;
            rc = coco_json_get_int(m, p, "id", &c->id);
        }
        else if (strcmp(m->string, "name") == 0)
            rc = coco_json_get_string(m, p, "name", &c->name);
        if (rc != 0)
            return -1;
    }
    return have_id ? 0 : coco_json_fail(p, "id", "missing");
}

/* iscrowd: 0 or 1, as a number or a boolean. */
static int coco_json_get_crowd(const cJSON *v, const coco_json_place *p, int *out)
{
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v) ? 1 : 0;
        return 0;
    }
    int64_t c = 0;
    if (coco_json_get_int(v, p, "iscrowd", &c) != 0)
        return -1;
    if (c != 0 && c != 1)
        return coco_json_fail(p, "iscrowd", "expected 0 or 1, found %lld", (long long)c);
    *out = (int)c;
    return 0;
}

/* Which of the required annotation fields were seen, as bits. */
enum { COCO_HAVE_IMAGE = 1, COCO_HAVE_CATEGORY = 2, COCO_HAVE_BBOX = 4, COCO_HAVE_AREA = 8 };

static int coco_json_annotation_member(const cJSON *m, const coco_json_place *p,
                                       coco_annotation *a, int *have)
{
    const char *k = m->string;
    if (strcmp(k, "id") == 0)
        return coco_json_get_int(m, p, k, &a->id);
    if (strcmp(k, "iscrowd") == 0)
        return coco_json_get_crowd(m, p, &a->iscrowd);
    if (strcmp(k, "image_id") == 0) {
        *have |= COCO_HAVE_IMAGE;
        return coco_json_get_int(m, p, k, &a->image_id);
    }
    if (strcmp(k, "category_id") == 0) {
        *have |= COCO_HAVE_CATEGORY;
        return coco_json_get_int(m, p, k, &a->category_id);
    }
    if (strcmp(k, "bbox") == 0) {
        *have |= COCO_HAVE_BBOX;
        return coco_json_get_bbox(m, p, a->bbox);
    }
    if (strcmp(k, "area") == 0) {
        *have |= COCO_HAVE_AREA;
        if (coco_json_get_double(m, p, k, &a->area) != 0)
            return -1;
        if (a->area < 0)
            return coco_json_fail(p, k, "%g is negative", a->area);
    }
    return 0;
}

static int coco_json_parse_annotation(const cJSON *e, const coco_json_place *p,
                                      coco_annotation *a)
{
    int have = 0;
    memset(a, 0, sizeof *a);
    a->id = p->index + 1;
    if (coco_json_check_object(e, p) != 0)
        return -1;
    for (const cJSON *m = e->child; m != NULL; m = m->next)
        if (coco_json_annotation_member(m, p, a, &have) != 0)
            return -1;
    if (!(have & COCO_HAVE_IMAGE))
        return coco_json_fail(p, "image_id", "missing");
    if (!(have & COCO_HAVE_CATEGORY))
        return coco_json_fail(p, "category_id", "missing");
    if (!(have & COCO_HAVE_BBOX))
        return coco_json_fail(p, "bbox", "missing");
    if (!(have & COCO_HAVE_AREA))
        a->area = a->bbox[2] * a->bbox[3];
    return 0;
}

typedef struct coco_id_pair {
    int64_t id, pos;
} coco_id_pair;

static int coco_id_pair_cmp(const void *a, const void *b)
{
    const coco_id_pair *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Build ix over ids[k * stride] (k < n); a repeated id is an error naming both elements. */
static int coco_id_index_build(coco_id_index *ix, const int64_t *ids, size_t stride, int64_t n,
                               const char *name, const char *array, char *err, size_t errsize)
{
    coco_id_pair *pairs = rd_malloc((size_t)n * sizeof *pairs, "a COCO id index");
    for (int64_t k = 0; k < n; k++)
        pairs[k] = (coco_id_pair){*(const int64_t *)((const char *)ids + (size_t)k * stride), k};
    qsort(pairs, (size_t)n, sizeof *pairs, coco_id_pair_cmp);
    ix->ids = rd_malloc((size_t)n * sizeof *ix->ids, "a COCO id index");
    ix->pos = rd_malloc((size_t)n * sizeof *ix->pos, "a COCO id index");
    ix->n = n;
    for (int64_t k = 0; k < n; k++) {
        if (k > 0 && pairs[k].id == pairs[k - 1].id) {
            snprintf(err, errsize, "%s: %s[%lld].id: id %lld repeats %s[%lld].id", name, array,
                     (long long)pairs[k].pos, (long long)pairs[k].id, array,
                     (long long)pairs[k - 1].pos);
            free(pairs);
            return -1;
        }
        ix->ids[k] = pairs[k].id;
        ix->pos[k] = pairs[k].pos;
    }
    free(pairs);
    return 0;
}

int64_t coco_id_index_find(const coco_id_index *ix, int64_t id)
{
    int64_t lo = 0, hi = ix->n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (ix->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < ix->n && ix->ids[lo] == id) ? ix->pos[lo] : -1;
}

/* Copy every file_name and name into one owned pool and point at it (the tree goes away). */
static void coco_json_pool_strings(coco_instances *c)
{
    size_t total = 1;
    for (int64_t i = 0; i < c->nimages; i++)
        total += strlen(c->images[i].file_name) + 1;
    for (int64_t i = 0; i < c->ncategories; i++)
        total += strlen(c->categories[i].name) + 1;
    char *pool = rd_malloc(total, "COCO names"), *at = pool;
    *at++ = '\0';
    for (int64_t i = 0; i < c->nimages; i++) {
        size_t n = strlen(c->images[i].file_name) + 1;
        memcpy(at, c->images[i].file_name, n);
        c->images[i].file_name = n > 1 ? at : pool;
        at += n;
    }
    for (int64_t i = 0; i < c->ncategories; i++) {
        size_t n = strlen(c->categories[i].name) + 1;
        memcpy(at, c->categories[i].name, n);
        c->categories[i].name = n > 1 ? at : pool;
        at += n;
    }
    c->strings = pool;
}

/* Parse images and categories, then index their ids. */
static int coco_json_parse_tables(const cJSON *root, const char *name, coco_instances *c,
                                  char *err, size_t errsize)
{
    const cJSON *images, *cats;
    if (coco_json_top_array(root, "images", 1, name, &images, err, errsize) != 0 ||
        coco_json_top_array(root, "categories", 1, name, &cats, err, errsize) != 0)
        return -1;
    c->nimages = coco_json_count(images);
    c->images = rd_calloc((size_t)c->nimages, sizeof *c->images, "COCO images");
    coco_json_place p = {name, "images", 0, err, errsize};
    for (const cJSON *e = images->child; e != NULL; e = e->next, p.index++)
        if (coco_json_parse_image(e, &p, &c->images[p.index]) != 0)
            return -1;
    c->ncategories = coco_json_count(cats);
    c->categories = rd_calloc((size_t)c->ncategories, sizeof *c->categories, "COCO categories");
    p = (coco_json_place){name, "categories", 0, err, errsize};
    for (const cJSON *e = cats->child; e != NULL; e = e->next, p.index++)
        if (coco_json_parse_category(e, &p, &c->categories[p.index]) != 0)
            return -1;
    coco_json_pool_strings(c);
    if (coco_id_index_build(&c->image_index, &c->images[0].id, sizeof *c->images, c->nimages,
                            name, "images", err, errsize) != 0)
        return -1;
    return coco_id_index_build(&c->category_index, &c->categories[0].id, sizeof *c->categories,
                               c->ncategories, name, "categories", err, errsize);
}

static int coco_json_parse_annotations(const cJSON *root, const char *name, coco_instances *c,
                                       char *err, size_t errsize)
{
    const cJSON *anns;
    if (coco_json_top_array(root, "annotations", 0, name, &anns, err, errsize) != 0)
        return -1;
    c->nannotations = coco_json_count(anns);
    c->annotations = rd_calloc((size_t)c->nannotations, sizeof *c->annotations,
                               "COCO annotations");
    coco_json_place p = {name, "annotations", 0, err, errsize};
    for (const cJSON *e = anns ? anns->child : NULL; e != NULL; e = e->next, p.index++) {
        coco_annotation *a = &c->annotations[p.index];
        if (coco_json_parse_annotation(e, &p, a) != 0)
            return -1;
        if (coco_id_index_find(&c->image_index, a->image_id) < 0)
            return coco_json_fail(&p, "image_id", "%lld is not the id of any image",
                                  (long long)a->image_id);
        if (coco_id_index_find(&c->category_index, a->category_id) < 0)
            return coco_json_fail(&p, "category_id", "%lld is not the id of any category",
                                  (long long)a->category_id);
    }
    return 0;
}

int coco_json_parse_instances(const char *text, size_t len, const char *name,
                              coco_instances *out, char *err, size_t errsize)
{
    memset(out, 0, sizeof *out);
    cJSON *root = coco_json_parse_text(text, len, name, err, errsize);
    if (root == NULL)
        return -1;
    int rc = -1;
    if (!cJSON_IsObject(root))
        snprintf(err, errsize, "%s: the top level is %s, expected an object with images, "
                 "annotations and categories", name, coco_json_kind(root));
    else if (coco_json_parse_tables(root, name, out, err, errsize) == 0)
        rc = coco_json_parse_annotations(root, name, out, err, errsize);
    cJSON_Delete(root);
    if (rc != 0)
        coco_instances_free(out);
    return rc;
}

int coco_json_read_instances(const char *path, coco_instances *out, char *err, size_t errsize)
{
    size_t len;
    memset(out, 0, sizeof *out);
    char *text = coco_json_read_file(path, &len, err, errsize);
    if (text == NULL)
        return -1;
    int rc = coco_json_parse_instances(text, len, path, out, err, errsize);
    free(text);
    return rc;
}

void coco_instances_free(coco_instances *c)
{
    if (c == NULL)
        return;
    free(c->images);
    free(c->categories);
    free(c->annotations);
    free(c->image_index.ids);
    free(c->image_index.pos);
    free(c->category_index.ids);
    free(c->category_index.pos);
    free(c->strings);
    memset(c, 0, sizeof *c);
}

enum { COCO_HAVE_SCORE = 8 };  // results have no area: the bit after bbox means the score

static int coco_json_parse_result(const cJSON *e, const coco_json_place *p, coco_result *r)
{
    int have = 0;
    if (coco_json_check_object(e, p) != 0)
        return -1;
    for (const cJSON *m = e->child; m != NULL; m = m->next) {
        const char *k = m->string;
        int rc = 0;
        int bit = strcmp(k, "image_id") == 0      ? COCO_HAVE_IMAGE
                  : strcmp(k, "category_id") == 0 ? COCO_HAVE_CATEGORY
                  : strcmp(k, "bbox") == 0        ? COCO_HAVE_BBOX
                  : strcmp(k, "score") == 0       ? COCO_HAVE_SCORE
                                                  : 0;
        have |= bit;
        if (bit == COCO_HAVE_IMAGE)
            rc = coco_json_get_int(m, p, k, &r->image_id);
        else if (bit == COCO_HAVE_CATEGORY)
            rc = coco_json_get_int(m, p, k, &r->category_id);
        else if (bit == COCO_HAVE_BBOX)
            rc = coco_json_get_bbox(m, p, r->bbox);
        else if (bit == COCO_HAVE_SCORE)
            rc = coco_json_get_double(m, p, k, &r->score);
        if (rc != 0)
            return -1;
    }
    static const char *const names[] = {"image_id", "category_id", "bbox", "score"};
    for (int b = 0; b < 4; b++)
        if (!(have & (1 << b)))
            return coco_json_fail(p, names[b], "missing");
    return 0;
}

int coco_json_parse_results(const char *text, size_t len, const char *name, coco_results *out,
                            char *err, size_t errsize)
{
    memset(out, 0, sizeof *out);
    cJSON *root = coco_json_parse_text(text, len, name, err, errsize);
    if (root == NULL)
        return -1;
    int rc = 0;
    if (!cJSON_IsArray(root)) {
        snprintf(err, errsize, "%s: the top level is %s, expected an array of results "
                 "{image_id, category_id, bbox, score}", name, coco_json_kind(root));
        rc = -1;
    } else {
        out->n = coco_json_count(root);
        out->results = rd_calloc((size_t)out->n, sizeof *out->results, "COCO results");
        coco_json_place p = {name, "results", 0, err, errsize};
        for (const cJSON *e = root->child; e != NULL && rc == 0; e = e->next, p.index++)
            rc = coco_json_parse_result(e, &p, &out->results[p.index]);
    }
    cJSON_Delete(root);
    if (rc != 0)
        coco_results_free(out);
    return rc;
}

int coco_json_read_results(const char *path, coco_results *out, char *err, size_t errsize)
{
    size_t len;
    memset(out, 0, sizeof *out);
    char *text = coco_json_read_file(path, &len, err, errsize);
    if (text == NULL)
        return -1;
    int rc = coco_json_parse_results(text, len, path, out, err, errsize);
    free(text);
    return rc;
}

void coco_results_free(coco_results *r)
{
    if (r == NULL)
        return;
    free(r->results);
    memset(r, 0, sizeof *r);
}
