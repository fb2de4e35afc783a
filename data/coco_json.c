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
    va_list ap;
    va_start(ap, fmt);
    rd_err_vappend(p->err, p->errsize, len, fmt, ap);
    va_end(ap);
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

/* A JSON text being read, and the name messages give it. */
typedef struct coco_json_text {
    const char *text, *end;
    const char *name;
    char *err;
    size_t errsize;
} coco_json_text;

/* "NAME: malformed JSON at line L, column C" for the character at `at` (the last one when the
 * text ends early). Returns -1. */
static int coco_json_syntax(const coco_json_text *t, const char *at)
{
    size_t len = (size_t)(t->end - t->text);
    if (at == NULL || at < t->text || at >= t->end)
        at = len ? t->end - 1 : t->text;
    long line = 1, col = 1;
    for (const char *c = t->text; c < at; c++, col++)
        if (*c == '\n')
            line++, col = 0;
    snprintf(t->err, t->errsize, "%s: malformed JSON at line %ld, column %ld%s", t->name, line,
             col, at + 1 >= t->end ? " (the end of the text)" : "");
    return -1;
}

static const char *coco_json_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Characters the bracket scan stops at: 1 quote, 2 opening, 3 closing bracket. */
static const unsigned char coco_json_stops[256] = {['"'] = 1, ['{'] = 2, ['['] = 2,
                                                   ['}'] = 3, [']'] = 3};

/* The end of the JSON value starting at p, found by its brackets and strings only (cJSON
 * checks the rest); NULL when the text ends first. */
static const char *coco_json_value_end(const char *p, const char *end)
{
    int depth = 0;
    if (p < end && *p != '"' && *p != '{' && *p != '[') {
        while (p < end && !strchr(",]}: \t\r\n", *p) && *p != '\0')
            p++;
        return p;
    }
    for (; p < end; p++) {
        while (p < end && !coco_json_stops[(unsigned char)*p])
            p++;
        if (p >= end)
            return NULL;
        unsigned char c = coco_json_stops[(unsigned char)*p];
        if (c == 1) {
            for (p++; p < end && *p != '"'; p++)
                p += *p == '\\';
            if (p >= end)
                return NULL;
            if (depth == 0)
                return p + 1;
        } else if (c == 2) {
            depth++;
        } else if (--depth == 0) {
            return p + 1;
        }
    }
    return NULL;
}

/* The kind of the value starting with c, in words. */
static const char *coco_json_kind_at(char c)
{
    return c == '{' ? "an object" : c == '[' ? "an array" : c == '"' ? "a string"
         : c == 't' || c == 'f' ? "a boolean" : c == 'n' ? "null" : "a number";
}

/* Called with each element of an array (parsed by cJSON, freed after the call) and its
 * position; 0 or -1 after a message. */
typedef int (*coco_json_element_fn)(const cJSON *e, int64_t index, void *ctx);

/* Parse [p, p_end) as one value with cJSON; NULL after a message. */
static cJSON *coco_json_parse_span(const coco_json_text *t, const char *p, const char *p_end)
{
    const char *stop = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(p, (size_t)(p_end - p), &stop, 0);
    if (v != NULL && stop == p_end)
        return v;
    cJSON_Delete(v);
    coco_json_syntax(t, stop != NULL && stop >= p && stop <= p_end ? stop : p);
    return NULL;
}

/* The array whose '[' is at p: without fn, its element count; with fn, each element parsed
 * on its own (never the whole array at once) and handed to fn. Returns the count, or -1
 * after a message. */
static int64_t coco_json_each(const coco_json_text *t, const char *p, coco_json_element_fn fn,
                              void *ctx)
{
    const char *q = coco_json_ws(p + 1, t->end);
    int64_t n = 0;
    if (q < t->end && *q == ']')
        return 0;
    for (;;) {
        q = coco_json_ws(q, t->end);
        const char *e = coco_json_value_end(q, t->end);
        if (e == NULL || e == q)
            return coco_json_syntax(t, e == NULL ? t->end : q);
        if (fn != NULL) {
            cJSON *v = coco_json_parse_span(t, q, e);
            int rc = v != NULL ? fn(v, n, ctx) : -1;
            cJSON_Delete(v);
            if (rc != 0)
                return -1;
        }
        n++;
        q = coco_json_ws(e, t->end);
        if (q < t->end && *q == ',') {
            q++;
            continue;
        }
        if (q < t->end && *q == ']')
            return n;
        return coco_json_syntax(t, q);
    }
}

/* The start of the text's one value (after whitespace and a UTF-8 byte order mark), or NULL
 * with a message when there is none. */
static const char *coco_json_start(const coco_json_text *t)
{
    const char *p = t->text;
    if (t->end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    p = coco_json_ws(p, t->end);
    if (p == t->end)
        snprintf(t->err, t->errsize, "%s: malformed JSON: the file is empty", t->name);
    return p == t->end ? NULL : p;
}

/* After the value ending at p only whitespace may follow; 0, or -1 after a message. */
static int coco_json_finish(const coco_json_text *t, const char *p)
{
    p = coco_json_ws(p, t->end);
    return p == t->end ? 0 : coco_json_syntax(t, p);
}

/* Strings copied out of the parsed elements (which are freed one by one). */
typedef struct coco_json_pool {
    char *buf;
    size_t used, cap;
} coco_json_pool;

/* Offset of a copy of s in the pool ("" is offset 0). */
static size_t coco_json_pool_add(coco_json_pool *p, const char *s)
{
    size_t n = strlen(s) + 1;
    if (n == 1)
        return 0;
    if (p->used + n > p->cap) {
        p->cap = 2 * (p->used + n) + 256;
        p->buf = realloc(p->buf, p->cap);
        RD_CHECK(p->buf != NULL, "out of memory for COCO names");
    }
    memcpy(p->buf + p->used, s, n);
    p->used += n;
    return p->used - n;
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

/* Where the elements of an instances file go while they are parsed. */
typedef struct coco_json_sink {
    coco_instances *c;
    coco_json_place place;
    coco_json_pool pool;
    size_t *image_names, *category_names;  // pool offsets
} coco_json_sink;

static int coco_json_image_fn(const cJSON *e, int64_t i, void *ctx)
{
    coco_json_sink *s = ctx;
    s->place.index = i;
    if (coco_json_parse_image(e, &s->place, &s->c->images[i]) != 0)
        return -1;
    s->image_names[i] = coco_json_pool_add(&s->pool, s->c->images[i].file_name);
    return 0;
}

static int coco_json_category_fn(const cJSON *e, int64_t i, void *ctx)
{
    coco_json_sink *s = ctx;
    s->place.index = i;
    if (coco_json_parse_category(e, &s->place, &s->c->categories[i]) != 0)
        return -1;
    s->category_names[i] = coco_json_pool_add(&s->pool, s->c->categories[i].name);
    return 0;
}

static int coco_json_annotation_fn(const cJSON *e, int64_t i, void *ctx)
{
    coco_json_sink *s = ctx;
    coco_annotation *a = &s->c->annotations[i];
    s->place.index = i;
    if (coco_json_parse_annotation(e, &s->place, a) != 0)
        return -1;
    if (coco_id_index_find(&s->c->image_index, a->image_id) < 0)
        return coco_json_fail(&s->place, "image_id", "%lld is not the id of any image",
                              (long long)a->image_id);
    if (coco_id_index_find(&s->c->category_index, a->category_id) < 0)
        return coco_json_fail(&s->place, "category_id", "%lld is not the id of any category",
                              (long long)a->category_id);
    return 0;
}

/* Where the three arrays of an instances file start (NULL: absent). */
typedef struct coco_json_tables {
    const char *images, *categories, *annotations;
} coco_json_tables;

/* Walk the top-level object starting at p: record where images, categories and annotations
 * start (the last of a repeated key wins, as in Python's json), check every other value
 * with cJSON. 0, or -1 after a message. */
static int coco_json_find_tables(const coco_json_text *t, const char *p, coco_json_tables *tb)
{
    const char *q = coco_json_ws(p + 1, t->end);
    *tb = (coco_json_tables){NULL, NULL, NULL};
    if (q < t->end && *q == '}')
        return coco_json_finish(t, q + 1);
    for (;;) {
        q = coco_json_ws(q, t->end);
        const char *kend = q < t->end && *q == '"' ? coco_json_value_end(q, t->end) : NULL;
        if (kend == NULL)
            return coco_json_syntax(t, q);
        const char *v = coco_json_ws(kend, t->end);
        if (v >= t->end || *v != ':')
            return coco_json_syntax(t, v);
        v = coco_json_ws(v + 1, t->end);
        const char *vend = coco_json_value_end(v, t->end);
        if (vend == NULL || vend == v)
            return coco_json_syntax(t, vend == NULL ? t->end : v);
        size_t klen = (size_t)(kend - q) - 2;
        const char **slot = klen == 6 && memcmp(q + 1, "images", 6) == 0 ? &tb->images
                          : klen == 10 && memcmp(q + 1, "categories", 10) == 0 ? &tb->categories
                          : klen == 11 && memcmp(q + 1, "annotations", 11) == 0
                              ? &tb->annotations : NULL;
        if (slot != NULL && *v == '[')
            *slot = v;  // checked element by element later
        else {
            cJSON *other = coco_json_parse_span(t, v, vend);
            if (other == NULL)
                return -1;
            cJSON_Delete(other);
            if (slot != NULL)
                return snprintf(t->err, t->errsize, "%s: \"%.*s\" is %s, expected an array",
                                t->name, (int)klen, q + 1, coco_json_kind_at(*v)), -1;
        }
        q = coco_json_ws(vend, t->end);
        if (q < t->end && *q == ',') {
            q++;
            continue;
        }
        if (q < t->end && *q == '}')
            return coco_json_finish(t, q + 1);
        return coco_json_syntax(t, q);
    }
}

/* Count, allocate and parse one array of the instances file. */
static int coco_json_read_table(const coco_json_text *t, const char *at, const char *array,
                                size_t elem, void **out, int64_t *n, coco_json_element_fn fn,
                                coco_json_sink *sink)
{
    *n = at ? coco_json_each(t, at, NULL, NULL) : 0;
    if (*n < 0)
        return -1;
    *out = rd_calloc((size_t)*n, elem, "COCO elements");
    sink->place.array = array;
    return at && coco_json_each(t, at, fn, sink) < 0 ? -1 : 0;
}

/* Images and categories (names into the pool, ids indexed), then annotations. */
static int coco_json_read_tables(const coco_json_text *t, const coco_json_tables *tb,
                                 coco_instances *c)
{
    coco_json_sink s = {c, {t->name, "", 0, t->err, t->errsize}, {NULL, 1, 256}, NULL, NULL};
    s.pool.buf = rd_malloc(s.pool.cap, "COCO names");
    s.pool.buf[0] = '\0';  // offset 0: ""
    int64_t ni = tb->images ? coco_json_each(t, tb->images, NULL, NULL) : 0;
    int64_t nc = tb->categories ? coco_json_each(t, tb->categories, NULL, NULL) : 0;
    s.image_names = rd_calloc((size_t)(ni > 0 ? ni : 0), sizeof *s.image_names, "COCO names");
    s.category_names = rd_calloc((size_t)(nc > 0 ? nc : 0), sizeof *s.category_names,
                                 "COCO names");
    int rc = ni < 0 || nc < 0 ? -1 : 0;
    if (rc == 0)
        rc = coco_json_read_table(t, tb->images, "images", sizeof *c->images,
                                  (void **)&c->images, &c->nimages, coco_json_image_fn, &s);
    if (rc == 0)
        rc = coco_json_read_table(t, tb->categories, "categories", sizeof *c->categories,
                                  (void **)&c->categories, &c->ncategories,
                                  coco_json_category_fn, &s);
    c->strings = s.pool.buf;
    for (int64_t i = 0; rc == 0 && i < c->nimages; i++)
        c->images[i].file_name = c->strings + s.image_names[i];
    for (int64_t i = 0; rc == 0 && i < c->ncategories; i++)
        c->categories[i].name = c->strings + s.category_names[i];
    free(s.image_names);
    free(s.category_names);
    if (rc == 0)
        rc = coco_id_index_build(&c->image_index, &c->images[0].id, sizeof *c->images,
                                 c->nimages, t->name, "images", t->err, t->errsize);
    if (rc == 0)
        rc = coco_id_index_build(&c->category_index, &c->categories[0].id,
                                 sizeof *c->categories, c->ncategories, t->name, "categories",
                                 t->err, t->errsize);
    if (rc == 0)
        rc = coco_json_read_table(t, tb->annotations, "annotations", sizeof *c->annotations,
                                  (void **)&c->annotations, &c->nannotations,
                                  coco_json_annotation_fn, &s);
    return rc;
}

int coco_json_parse_instances(const char *text, size_t len, const char *name,
                              coco_instances *out, char *err, size_t errsize)
{
    memset(out, 0, sizeof *out);
    coco_json_text t = {text, text + len, name, err, errsize};
    const char *p = coco_json_start(&t);
    if (p == NULL)
        return -1;
    coco_json_tables tb;
    int rc = -1;
    if (*p != '{')
        snprintf(err, errsize, "%s: the top level is %s, expected an object with images, "
                 "annotations and categories", name, coco_json_kind_at(*p));
    else if (coco_json_find_tables(&t, p, &tb) != 0)
        rc = -1;
    else if (tb.images == NULL || tb.categories == NULL)
        snprintf(err, errsize, "%s: no \"%s\" array: not a COCO instances file", name,
                 tb.images == NULL ? "images" : "categories");
    else
        rc = coco_json_read_tables(&t, &tb, out);
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

static int coco_json_result_fn(const cJSON *e, int64_t i, void *ctx)
{
    coco_json_place *p = ((coco_json_place **)ctx)[0];
    coco_results *r = ((coco_results **)ctx)[1];
    p->index = i;
    return coco_json_parse_result(e, p, &r->results[i]);
}

int coco_json_parse_results(const char *text, size_t len, const char *name, coco_results *out,
                            char *err, size_t errsize)
{
    memset(out, 0, sizeof *out);
    coco_json_text t = {text, text + len, name, err, errsize};
    const char *p = coco_json_start(&t);
    if (p == NULL)
        return -1;
    if (*p != '[') {
        snprintf(err, errsize, "%s: the top level is %s, expected an array of results "
                 "{image_id, category_id, bbox, score}", name, coco_json_kind_at(*p));
        return -1;
    }
    int64_t n = coco_json_each(&t, p, NULL, NULL);
    int rc = n < 0 ? -1 : coco_json_finish(&t, coco_json_value_end(p, t.end));
    if (rc == 0) {
        out->n = n;
        out->results = rd_calloc((size_t)n, sizeof *out->results, "COCO results");
        coco_json_place place = {name, "results", 0, err, errsize};
        void *ctx[2] = {&place, out};
        rc = coco_json_each(&t, p, coco_json_result_fn, ctx) < 0 ? -1 : 0;
    }
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
