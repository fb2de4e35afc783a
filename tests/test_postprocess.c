/* test_postprocess.c — detector/postprocess.c against torchvision 0.14's
 * RetinaNet.postprocess_detections + transform.resize_boxes (torchvision preset) and the AP-loss
 * released code's test path in continuous coordinates (paper preset) on random logits
 * (tests/fixtures/geometry_reference.h5); a hand-made case (threshold, clip, class-wise NMS,
 * scaling, keep-N); a head at its prior (no detection above 0.05); no allocation on repeats. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detector/postprocess.h"
#include "tests/check_main.h"
#include "tests/geometry_fixture.h"

static void levels_from_counts(const int64_t *count, anchor_level *lv)
{
    int64_t at = 0;
    for (int l = 0; l < PRESET_LEVELS; l++) {
        memset(&lv[l], 0, sizeof lv[l]);
        lv[l].offset = at;
        lv[l].count = count[l];
        at += count[l];
    }
}

static void check_fixture_case(const char *name, const char *preset)
{
    hid_t f = geofix_open();
    char path[96], group[64];
    snprintf(group, sizeof group, "postprocess/%s", name);
    size_t nl, nr, na, nc, nb, ns, nlab;
#define GEOFIX_PATH_OF(ds) (snprintf(path, sizeof path, "%s/%s", group, ds), path)
    float *logits = geofix_read(f, GEOFIX_PATH_OF("cls_logits"), H5T_NATIVE_FLOAT, 4, &nl);
    float *reg = geofix_read(f, GEOFIX_PATH_OF("bbox_regression"), H5T_NATIVE_FLOAT, 4, &nr);
    float *anchors = geofix_read(f, GEOFIX_PATH_OF("anchors"), H5T_NATIVE_FLOAT, 4, &na);
    int64_t *counts = geofix_read(f, GEOFIX_PATH_OF("level_count"), H5T_NATIVE_INT64, 8, &nc);
    float *boxes = geofix_read(f, GEOFIX_PATH_OF("boxes"), H5T_NATIVE_FLOAT, 4, &nb);
    float *scores = geofix_read(f, GEOFIX_PATH_OF("scores"), H5T_NATIVE_FLOAT, 4, &ns);
    int64_t *labels = geofix_read(f, GEOFIX_PATH_OF("labels"), H5T_NATIVE_INT64, 8, &nlab);
#undef GEOFIX_PATH_OF
    postprocess_input in = {0};
    geofix_attr(f, group, "input_h", H5T_NATIVE_INT, &in.input_h, 1);
    geofix_attr(f, group, "input_w", H5T_NATIVE_INT, &in.input_w, 1);
    geofix_attr(f, group, "orig_h", H5T_NATIVE_INT, &in.orig_h, 1);
    geofix_attr(f, group, "orig_w", H5T_NATIVE_INT, &in.orig_w, 1);
    geofix_attr(f, group, "K", H5T_NATIVE_INT, &in.num_classes, 1);
    H5Fclose(f);
    ck_assert_uint_eq(nc, PRESET_LEVELS);
    anchor_level lv[PRESET_LEVELS];
    levels_from_counts(counts, lv);
    in.cls_logits = logits;
    in.bbox_regression = reg;
    in.anchors = anchors;
    in.levels = lv;
    in.image_id = 42;
    const detector_preset *p = preset_find(preset);
    rd_detection *det = malloc((size_t)p->detections_per_image * sizeof *det);
    rd_arena ws;
    rd_arena_init(&ws);
    int n = postprocess_detections(p, &in, &ws, det);
    ck_assert_int_eq(n, (int)ns);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(det[i].image_id, 42);
        ck_assert_msg(det[i].label == labels[i] && fabsf(det[i].score - scores[i]) <= 1e-6f,
                      "%s detection %d: class %d score %.8g, reference class %lld score %.8g",
                      name, i, det[i].label, (double)det[i].score, (long long)labels[i],
                      (double)scores[i]);
        const float *b = &det[i].box.x1, *w = boxes + 4 * i;
        for (int c = 0; c < 4; c++)
            ck_assert_msg(fabsf(b[c] - w[c]) <= 1e-3f, "%s detection %d coordinate %d: %.7g vs "
                          "%.7g", name, i, c, (double)b[c], (double)w[c]);
    }
    size_t grows = ws.grows;
    ck_assert_int_eq(postprocess_detections(p, &in, &ws, det), n);
    ck_assert_uint_eq(ws.grows, grows);
    rd_arena_free(&ws);
    free(det);
    free(logits);
    free(reg);
    free(anchors);
    free(counts);
    free(boxes);
    free(scores);
    free(labels);
}

START_TEST(test_fixture_torchvision)
{
    check_fixture_case("tv", "torchvision");
}
END_TEST

START_TEST(test_fixture_paper)
{
    check_fixture_case("paper", "paper");
}
END_TEST

/* Five anchors, one per level, K = 2, zero deltas, input 100 × 200 scaled to 50 × 100:
 * anchor 0 class 1 (score .9) and anchor 1 class 1 (.8, IoU .81 with it) → NMS drops anchor 1;
 * anchor 1 class 0 (.7) survives (other class); anchor 2 (.04) is under 0.05; anchor 3 sticks
 * out of the image and is clipped. */
START_TEST(test_hand_case)
{
    const detector_preset *p = preset_find("torchvision");
    float logit9 = logf(0.9f / 0.1f), logit8 = logf(0.8f / 0.2f), logit7 = logf(0.7f / 0.3f);
    float logits[5][2] = {{-9, logit9}, {logit7, logit8}, {logf(0.04f / 0.96f), -9},
                          {-9, 0.0f}, {-9, -9}};
    float anchors[5][4] = {{0, 0, 100, 50}, {0, 0, 90, 45}, {0, 0, 10, 10}, {150, 80, 250, 120},
                           {0, 0, 1, 1}};
    float reg[5][4] = {{0}};
    int64_t counts[PRESET_LEVELS] = {1, 1, 1, 1, 1};
    anchor_level lv[PRESET_LEVELS];
    levels_from_counts(counts, lv);
    postprocess_input in = {&logits[0][0], &reg[0][0], &anchors[0][0], lv, 2, 100, 200, 50, 100,
                            7};
    rd_detection det[300];
    rd_arena ws;
    rd_arena_init(&ws);
    int n = postprocess_detections(p, &in, &ws, det);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(det[0].label, 1);
    ck_assert_float_eq_tol(det[0].score, 0.9f, 1e-6f);
    ck_assert_float_eq_tol(det[0].box.x2, 50.0f, 1e-5f);  // 100 · 100/200
    ck_assert_float_eq_tol(det[0].box.y2, 25.0f, 1e-5f);  // 50 · 50/100
    ck_assert_int_eq(det[1].label, 0);
    ck_assert_float_eq_tol(det[1].score, 0.7f, 1e-6f);
    ck_assert_int_eq(det[2].label, 1);
    ck_assert_float_eq_tol(det[2].score, 0.5f, 1e-6f);
    ck_assert_float_eq_tol(det[2].box.x1, 75.0f, 1e-5f);  // 150 / 2
    ck_assert_float_eq_tol(det[2].box.x2, 100.0f, 1e-5f); // clipped at 200, then / 2
    ck_assert_float_eq_tol(det[2].box.y2, 50.0f, 1e-5f);  // clipped at 100, then / 2
    ck_assert_int_eq(det[2].image_id, 7);
    rd_arena_free(&ws);
}
END_TEST

/* A head just under its prior (logits -log 99 - 0.01, scores 0.0099) gives nothing in torchvision's preset
 * and everything up to keep-100 from P7 alone in the paper's (P7 keeps scores > 0). */
START_TEST(test_prior_head)
{
    int64_t counts[PRESET_LEVELS] = {300, 200, 100, 50, 20};
    int64_t A = 670;
    int K = 3;
    float *logits = malloc((size_t)A * K * sizeof(float));
    float *reg = calloc((size_t)A * 4, sizeof(float));
    float *anchors = malloc((size_t)A * 4 * sizeof(float));
    for (int64_t i = 0; i < A * K; i++)
        logits[i] = -logf(99.0f) - 0.01f;
    for (int64_t a = 0; a < A; a++) {
        float x = (float)(a % 30) * 10.0f, y = (float)(a / 30) * 10.0f;
        float box[4] = {x, y, x + 8, y + 8};
        memcpy(anchors + 4 * a, box, sizeof box);
    }
    anchor_level lv[PRESET_LEVELS];
    levels_from_counts(counts, lv);
    postprocess_input in = {logits, reg, anchors, lv, K, 300, 300, 300, 300, 0};
    rd_detection det[300];
    rd_arena ws;
    rd_arena_init(&ws);
    ck_assert_int_eq(postprocess_detections(preset_find("torchvision"), &in, &ws, det), 0);
    int n = postprocess_detections(preset_find("paper"), &in, &ws, det);
    ck_assert_int_eq(n, 20 * K);  // P7's 20 anchors × 3 classes; nothing else passes 0.01
    rd_arena_free(&ws);
    free(logits);
    free(reg);
    free(anchors);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("postprocess");
    TCase *tc = tcase_create("postprocess");
    tcase_add_test(tc, test_fixture_torchvision);
    tcase_add_test(tc, test_fixture_paper);
    tcase_add_test(tc, test_hand_case);
    tcase_add_test(tc, test_prior_head);
    suite_add_tcase(s, tc);
    return s;
}
