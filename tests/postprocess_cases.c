/* postprocess_cases.c — the shared post-processing test inputs (postprocess_cases.h). */
#include "tests/postprocess_cases.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "tests/geometry_fixture.h"

void ppcase_levels_from_counts(const int64_t *count, anchor_level *lv)
{
    int64_t at = 0;
    for (int l = 0; l < PRESET_LEVELS; l++) {
        memset(&lv[l], 0, sizeof lv[l]);
        lv[l].offset = at;
        lv[l].count = count[l];
        at += count[l];
    }
}

/* Dataset ds of group into a malloc'd array. */
static void *ppcase_read(hid_t f, const char *group, const char *ds, hid_t type, size_t elem,
                         size_t *count)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", group, ds);
    return geofix_read(f, path, type, elem, count);
}

void ppcase_fixture(ppcase *c, const char *name)
{
    memset(c, 0, sizeof *c);
    hid_t f = geofix_open();
    char group[64];
    snprintf(group, sizeof group, "postprocess/%s", name);
    size_t nl, nr, na, nc, nb, nlab;
    c->logits = ppcase_read(f, group, "cls_logits", H5T_NATIVE_FLOAT, 4, &nl);
    c->reg = ppcase_read(f, group, "bbox_regression", H5T_NATIVE_FLOAT, 4, &nr);
    c->anchors = ppcase_read(f, group, "anchors", H5T_NATIVE_FLOAT, 4, &na);
    int64_t *counts = ppcase_read(f, group, "level_count", H5T_NATIVE_INT64, 8, &nc);
    c->boxes = ppcase_read(f, group, "boxes", H5T_NATIVE_FLOAT, 4, &nb);
    c->scores = ppcase_read(f, group, "scores", H5T_NATIVE_FLOAT, 4, &c->n);
    c->labels = ppcase_read(f, group, "labels", H5T_NATIVE_INT64, 8, &nlab);
    geofix_attr(f, group, "input_h", H5T_NATIVE_INT, &c->in.input_h, 1);
    geofix_attr(f, group, "input_w", H5T_NATIVE_INT, &c->in.input_w, 1);
    geofix_attr(f, group, "orig_h", H5T_NATIVE_INT, &c->in.orig_h, 1);
    geofix_attr(f, group, "orig_w", H5T_NATIVE_INT, &c->in.orig_w, 1);
    geofix_attr(f, group, "K", H5T_NATIVE_INT, &c->in.num_classes, 1);
    H5Fclose(f);
    ck_assert_uint_eq(nc, PRESET_LEVELS);
    ppcase_levels_from_counts(counts, c->levels);
    free(counts);
    c->A = (int64_t)(na / 4);
    c->in.cls_logits = c->logits;
    c->in.bbox_regression = c->reg;
    c->in.anchors = c->anchors;
    c->in.levels = c->levels;
    c->in.image_id = 42;
}

void ppcase_hand(ppcase *c)
{
    memset(c, 0, sizeof *c);
    float logit9 = logf(0.9f / 0.1f), logit8 = logf(0.8f / 0.2f), logit7 = logf(0.7f / 0.3f);
    const float logits[5][2] = {{-9, logit9}, {logit7, logit8}, {logf(0.04f / 0.96f), -9},
                                {-9, 0.0f}, {-9, -9}};
    const float anchors[5][4] = {{0, 0, 100, 50}, {0, 0, 90, 45}, {0, 0, 10, 10},
                                 {150, 80, 250, 120}, {0, 0, 1, 1}};
    const int64_t counts[PRESET_LEVELS] = {1, 1, 1, 1, 1};
    c->A = 5;
    c->logits = malloc(sizeof logits);
    c->reg = calloc(5 * 4, sizeof(float));
    c->anchors = malloc(sizeof anchors);
    ck_assert(c->logits && c->reg && c->anchors);
    memcpy(c->logits, logits, sizeof logits);
    memcpy(c->anchors, anchors, sizeof anchors);
    ppcase_levels_from_counts(counts, c->levels);
    c->in = (postprocess_input){c->logits, c->reg, c->anchors, c->levels, 2, 100, 200, 50, 100,
                                7};
}

void ppcase_prior(ppcase *c)
{
    memset(c, 0, sizeof *c);
    const int64_t counts[PRESET_LEVELS] = {300, 200, 100, 50, 20};
    const int64_t A = 670;
    const int K = 3;
    c->A = A;
    c->logits = malloc((size_t)A * K * sizeof(float));
    c->reg = calloc((size_t)A * 4, sizeof(float));
    c->anchors = malloc((size_t)A * 4 * sizeof(float));
    ck_assert(c->logits && c->reg && c->anchors);
    for (int64_t i = 0; i < A * K; i++)
        c->logits[i] = -logf(99.0f) - 0.01f;
    for (int64_t a = 0; a < A; a++) {
        float x = (float)(a % 30) * 10.0f, y = (float)(a / 30) * 10.0f;
        float box[4] = {x, y, x + 8, y + 8};
        memcpy(c->anchors + 4 * a, box, sizeof box);
    }
    ppcase_levels_from_counts(counts, c->levels);
    c->in = (postprocess_input){c->logits, c->reg, c->anchors, c->levels, K, 300, 300, 300, 300,
                                0};
}

void ppcase_free(ppcase *c)
{
    free(c->logits);
    free(c->reg);
    free(c->anchors);
    free(c->boxes);
    free(c->scores);
    free(c->labels);
    memset(c, 0, sizeof *c);
}

size_t ppcase_nms_fixture(float **boxes, float **scores, int32_t **labels)
{
    hid_t f = geofix_open();
    size_t n4, n, nl;
    *boxes = geofix_read(f, "nms/boxes", H5T_NATIVE_FLOAT, 4, &n4);
    *scores = geofix_read(f, "nms/scores", H5T_NATIVE_FLOAT, 4, &n);
    *labels = geofix_read(f, "nms/labels", H5T_NATIVE_INT32, 4, &nl);
    H5Fclose(f);
    ck_assert_uint_eq(n4, 4 * n);
    ck_assert_uint_eq(nl, n);
    return n;
}
