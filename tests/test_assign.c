/* test_assign.c — detector/assign.c: hand-computed IoU and thresholds, images without ground
 * truth, crowd boxes, the labels [A][K] and the IoU side input, no allocation once the scratch
 * has grown, and three cases against torchvision 0.14's box_iou + Matcher(0.5, 0.4, True) as
 * RetinaNet.compute_loss runs it (tests/fixtures/geometry_reference.h5): random ground truth
 * with a duplicate (tied best anchors), an exact anchor and a tiny box; 60 boxes; and a box that
 * overlaps no anchor (torchvision's quirk, and the paper preset's rule without it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detector/anchors.h"
#include "detector/assign.h"
#include "tests/check_main.h"
#include "tests/geometry_fixture.h"

START_TEST(test_iou_hand)
{
    float anchors[2][4] = {{0, 0, 10, 10}, {20, 20, 30, 30}};
    rd_box gt[2] = {{5, 5, 15, 15}, {0, 0, 10, 10}};
    float m[4];
    assign_iou_matrix(&anchors[0][0], 2, gt, 2, m);
    ck_assert_float_eq_tol(m[0], 25.0f / 175.0f, 1e-7f);
    ck_assert_float_eq(m[1], 1.0f);
    ck_assert_float_eq(m[2], 0.0f);
    ck_assert_float_eq(m[3], 0.0f);
}
END_TEST

/* Four anchors against one box (0, 0, 10, 10): IoU 1, 0.45 (ignored), 0.1 (negative), 0. */
START_TEST(test_thresholds_hand)
{
    const detector_preset *p = preset_find("torchvision");
    float anchors[4][4] = {{0, 0, 10, 10}, {0, 0, 10, 4.5f}, {0, 0, 10, 1}, {50, 50, 60, 60}};
    rd_box box = {0, 0, 10, 10};
    int32_t label = 2;
    assign_gt gt = {&box, &label, NULL, 1};
    rd_arena ws;
    rd_arena_init(&ws);
    int32_t match[4];
    float iou[4];
    ck_assert_int_eq(assign_anchors(p, &anchors[0][0], 4, &gt, &ws, match, iou), 1);
    ck_assert_int_eq(match[0], 0);
    ck_assert_int_eq(match[1], ASSIGN_IGNORED);
    ck_assert_int_eq(match[2], ASSIGN_NEGATIVE);
    ck_assert_int_eq(match[3], ASSIGN_NEGATIVE);
    ck_assert_float_eq_tol(iou[1], 0.45f, 1e-6f);
    int8_t labels[4][3];
    float side[4][3];
    assign_labels(match, iou, 4, &gt, 3, &labels[0][0], &side[0][0]);
    int8_t want[4][3] = {{0, 0, 1}, {-1, -1, -1}, {0, 0, 0}, {0, 0, 0}};
    ck_assert_mem_eq(labels, want, sizeof want);
    ck_assert_float_eq(side[0][2], 1.0f);
    ck_assert_float_eq(side[0][0], 0.0f);
    ck_assert_float_eq(side[1][0], 0.0f);
    rd_arena_free(&ws);
}
END_TEST

/* The best anchor of a box is positive below 0.5; ties make every tied anchor positive. */
START_TEST(test_low_quality_hand)
{
    const detector_preset *p = preset_find("paper");
    float anchors[3][4] = {{0, 0, 10, 10}, {10, 0, 20, 10}, {0, 20, 10, 30}};
    rd_box box = {5, 0, 15, 6};  // IoU 30/130 with both of the first two
    int32_t label = 0;
    assign_gt gt = {&box, &label, NULL, 1};
    rd_arena ws;
    rd_arena_init(&ws);
    int32_t match[3];
    ck_assert_int_eq(assign_anchors(p, &anchors[0][0], 3, &gt, &ws, match, NULL), 2);
    ck_assert_int_eq(match[0], 0);
    ck_assert_int_eq(match[1], 0);
    ck_assert_int_eq(match[2], ASSIGN_NEGATIVE);
    rd_arena_free(&ws);
}
END_TEST

START_TEST(test_no_ground_truth)
{
    const detector_preset *p = preset_find("torchvision");
    float anchors[2][4] = {{0, 0, 10, 10}, {5, 5, 20, 20}};
    assign_gt gt = {NULL, NULL, NULL, 0};
    rd_arena ws;
    rd_arena_init(&ws);
    int32_t match[2] = {7, 7};
    float iou[2] = {5, 5};
    ck_assert_int_eq(assign_anchors(p, &anchors[0][0], 2, &gt, &ws, match, iou), 0);
    ck_assert_int_eq(match[0], ASSIGN_NEGATIVE);
    ck_assert_int_eq(match[1], ASSIGN_NEGATIVE);
    ck_assert_float_eq(iou[1], 0.0f);
    int8_t labels[2][2];
    assign_labels(match, iou, 2, &gt, 2, &labels[0][0], NULL);
    int8_t want[2][2] = {{0, 0}, {0, 0}};
    ck_assert_mem_eq(labels, want, sizeof want);
    rd_arena_free(&ws);
}
END_TEST

/* A crowd box equal to an anchor never makes it positive; anchors mostly inside it (IoA > 0.5)
 * are ignored, one with IoA 0.4 stays negative; a real box keeps its positive. */
START_TEST(test_crowd)
{
    const char *names[2] = {"torchvision", "paper"};
    for (int k = 0; k < 2; k++) {
        const detector_preset *p = preset_find(names[k]);
        float anchors[5][4] = {{0, 0, 20, 20}, {10, 0, 20, 8}, {16, 0, 26, 10},
                               {100, 100, 110, 110}, {50, 50, 60, 60}};
        rd_box boxes[2] = {{0, 0, 20, 20}, {100, 100, 110, 110}};
        int32_t labels[2] = {1, 0};
        uint8_t crowd[2] = {1, 0};
        assign_gt gt = {boxes, labels, crowd, 2};
        rd_arena ws;
        rd_arena_init(&ws);
        int32_t match[5];
        ck_assert_int_eq(assign_anchors(p, &anchors[0][0], 5, &gt, &ws, match, NULL), 1);
        ck_assert_int_eq(match[0], ASSIGN_IGNORED);   // IoA 1
        ck_assert_int_eq(match[1], ASSIGN_IGNORED);   // IoA 1
        ck_assert_int_eq(match[2], ASSIGN_NEGATIVE);  // IoA 40/100
        ck_assert_int_eq(match[3], 1);
        ck_assert_int_eq(match[4], ASSIGN_NEGATIVE);
        rd_arena_free(&ws);
    }
}
END_TEST

/* Scratch grows with the ground truth count only: same-sized images allocate nothing. */
START_TEST(test_no_allocation)
{
    const detector_preset *p = preset_find("torchvision");
    anchor_level lv[PRESET_LEVELS];
    int gh[PRESET_LEVELS], gw[PRESET_LEVELS];
    anchors_grid_sizes(64, 64, gh, gw);
    int64_t A = anchors_levels(p, 64, 64, gh, gw, lv);
    float *anchors = malloc((size_t)A * 4 * sizeof(float));
    anchors_generate(p, lv, anchors);
    rd_box boxes[3] = {{1, 2, 30, 40}, {20, 20, 60, 50}, {0, 0, 64, 64}};
    int32_t labels[3] = {0, 1, 2};
    int32_t *match = malloc((size_t)A * sizeof(int32_t));
    rd_arena ws;
    rd_arena_init(&ws);
    assign_gt gt = {boxes, labels, NULL, 3};
    assign_anchors(p, anchors, A, &gt, &ws, match, NULL);
    size_t grows = ws.grows;
    for (int i = 0; i < 5; i++) {
        gt.count = 1 + i % 3;
        ck_assert_int_gt(assign_anchors(p, anchors, A, &gt, &ws, match, NULL), 0);
    }
    ck_assert_uint_eq(ws.grows, grows);
    rd_arena_free(&ws);
    free(match);
    free(anchors);
}
END_TEST

/* One fixture case through the preset's rule: match, max IoU and labels, all exact. */
static void check_fixture_case(const char *name, const detector_preset *p)
{
    hid_t f = geofix_open();
    char path[96];
    size_t n4, G4, G, A, AK;
    float *anchors = geofix_read(f, "anchors/tv_96x160/anchors", H5T_NATIVE_FLOAT, 4, &n4);
    snprintf(path, sizeof path, "assign/%s/gt", name);
    rd_box *boxes = geofix_read(f, path, H5T_NATIVE_FLOAT, 4, &G4);
    snprintf(path, sizeof path, "assign/%s/gt_labels", name);
    int32_t *labels = geofix_read(f, path, H5T_NATIVE_INT32, 4, &G);
    snprintf(path, sizeof path, "assign/%s/matched", name);
    int32_t *want_match = geofix_read(f, path, H5T_NATIVE_INT32, 4, &A);
    snprintf(path, sizeof path, "assign/%s/max_iou", name);
    float *want_iou = geofix_read(f, path, H5T_NATIVE_FLOAT, 4, &A);
    snprintf(path, sizeof path, "assign/%s/labels", name);
    int8_t *want_labels = geofix_read(f, path, H5T_NATIVE_INT8, 1, &AK);
    snprintf(path, sizeof path, "assign/%s", name);
    int K;
    geofix_attr(f, path, "K", H5T_NATIVE_INT, &K, 1);
    H5Fclose(f);
    ck_assert_uint_eq(G4, 4 * G);
    ck_assert_uint_eq(n4, 4 * A);
    ck_assert_uint_eq(AK, A * (size_t)K);

    assign_gt gt = {boxes, labels, NULL, (int)G};
    int32_t *match = malloc(A * sizeof(int32_t));
    float *iou = malloc(A * sizeof(float));
    int8_t *lab = malloc(AK);
    rd_arena ws;
    rd_arena_init(&ws);
    int64_t npos = assign_anchors(p, anchors, (int64_t)A, &gt, &ws, match, iou);
    int64_t want_pos = 0;
    for (size_t a = 0; a < A; a++) {
        ck_assert_msg(match[a] == want_match[a], "%s anchor %zu: match %d, torchvision %d", name,
                      a, match[a], want_match[a]);
        ck_assert_msg(iou[a] == want_iou[a], "%s anchor %zu: IoU %.9g, torchvision %.9g", name,
                      a, (double)iou[a], (double)want_iou[a]);
        want_pos += want_match[a] >= 0;
    }
    ck_assert_int_eq(npos, want_pos);
    assign_labels(match, iou, (int64_t)A, &gt, K, lab, NULL);
    ck_assert_mem_eq(lab, want_labels, AK);
    rd_arena_free(&ws);
    free(anchors);
    free(boxes);
    free(labels);
    free(want_match);
    free(want_iou);
    free(want_labels);
    free(match);
    free(iou);
    free(lab);
}

START_TEST(test_fixture_torchvision)
{
    const detector_preset *p = preset_find("torchvision");
    check_fixture_case("tv_random", p);
    check_fixture_case("tv_many", p);
    check_fixture_case("tv_no_overlap", p);
}
END_TEST

/* Without a box that overlaps nothing, the paper rule is torchvision's. */
START_TEST(test_fixture_paper_rule)
{
    check_fixture_case("tv_random", preset_find("paper"));
    check_fixture_case("tv_many", preset_find("paper"));
}
END_TEST

/* With one, the paper rule gives what the other boxes alone give under torchvision's rule. */
START_TEST(test_paper_no_overlap)
{
    hid_t f = geofix_open();
    size_t n4, G4, G;
    float *anchors = geofix_read(f, "anchors/tv_96x160/anchors", H5T_NATIVE_FLOAT, 4, &n4);
    rd_box *boxes = geofix_read(f, "assign/tv_no_overlap/gt", H5T_NATIVE_FLOAT, 4, &G4);
    int32_t *labels = geofix_read(f, "assign/tv_no_overlap/gt_labels", H5T_NATIVE_INT32, 4, &G);
    H5Fclose(f);
    ck_assert_uint_eq(G, 3);
    int64_t A = (int64_t)n4 / 4;
    int32_t *paper = malloc((size_t)A * sizeof(int32_t)), *tv = malloc((size_t)A * 4);
    rd_arena ws;
    rd_arena_init(&ws);
    assign_gt all = {boxes, labels, NULL, 3}, first_two = {boxes, labels, NULL, 2};
    int64_t np = assign_anchors(preset_find("paper"), anchors, A, &all, &ws, paper, NULL);
    int64_t nt = assign_anchors(preset_find("torchvision"), anchors, A, &first_two, &ws, tv, NULL);
    ck_assert_int_eq(np, nt);
    ck_assert_int_lt(np, 100);
    ck_assert_mem_eq(paper, tv, (size_t)A * sizeof(int32_t));
    int64_t quirk = assign_anchors(preset_find("torchvision"), anchors, A, &all, &ws, tv, NULL);
    ck_assert_int_gt(quirk, A / 2);
    rd_arena_free(&ws);
    free(paper);
    free(tv);
    free(anchors);
    free(boxes);
    free(labels);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("assign");
    TCase *tc = tcase_create("assign");
    tcase_add_test(tc, test_iou_hand);
    tcase_add_test(tc, test_thresholds_hand);
    tcase_add_test(tc, test_low_quality_hand);
    tcase_add_test(tc, test_no_ground_truth);
    tcase_add_test(tc, test_crowd);
    tcase_add_test(tc, test_no_allocation);
    tcase_add_test(tc, test_fixture_torchvision);
    tcase_add_test(tc, test_fixture_paper_rule);
    tcase_add_test(tc, test_paper_no_overlap);
    suite_add_tcase(s, tc);
    return s;
}
