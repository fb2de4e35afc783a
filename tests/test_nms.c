/* test_nms.c — detector/nms.c: four hand-made boxes (suppression within a class, none across
 * classes, IoU exactly at the threshold kept, equal scores by index), an empty input, no
 * allocation on repeated calls, and 400 random boxes of 5 classes against torchvision 0.14's
 * nms and batched_nms (tests/fixtures/geometry_reference.h5). */
#include <stdlib.h>

#include "detector/nms.h"
#include "tests/check_main.h"
#include "tests/geometry_fixture.h"

/* A (0,0,10,10) .9; B (1,1,11,11) .8 overlaps A with IoU 81/119; C far away .7; D = A but
 * of another class .6. */
static const float four_boxes[4][4] = {{0, 0, 10, 10}, {1, 1, 11, 11}, {20, 20, 30, 30},
                                       {0, 0, 10, 10}};
static const float four_scores[4] = {0.9f, 0.8f, 0.7f, 0.6f};
static const int32_t four_labels[4] = {0, 0, 0, 1};

START_TEST(test_four_boxes)
{
    rd_arena ws;
    rd_arena_init(&ws);
    int64_t keep[4];
    int64_t n = nms_batched(&four_boxes[0][0], four_scores, four_labels, 4, 0.5f, &ws, keep);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(keep[0], 0);
    ck_assert_int_eq(keep[1], 2);
    ck_assert_int_eq(keep[2], 3);
    n = nms_boxes(&four_boxes[0][0], four_scores, 4, 0.5f, &ws, keep);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(keep[0], 0);
    ck_assert_int_eq(keep[1], 2);
    n = nms_boxes(&four_boxes[0][0], four_scores, 4, 0.7f, &ws, keep);  // 0.68 < 0.7: B stays
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(keep[1], 1);
    rd_arena_free(&ws);
}
END_TEST

/* IoU exactly 0.5 (50 / 100) is not suppressed (> threshold); equal scores: lower index first,
 * in any input order. */
START_TEST(test_threshold_and_ties)
{
    float boxes[3][4] = {{0, 0, 10, 5}, {0, 0, 10, 10}, {0, 0, 10, 10}};
    float scores[3] = {0.5f, 0.5f, 0.5f};
    rd_arena ws;
    rd_arena_init(&ws);
    int64_t keep[3];
    int64_t n = nms_boxes(&boxes[0][0], scores, 3, 0.5f, &ws, keep);
    ck_assert_int_eq(n, 2);  // 0 keeps 1 (IoU 0.5); 1 removes its twin 2
    ck_assert_int_eq(keep[0], 0);
    ck_assert_int_eq(keep[1], 1);
    scores[2] = 0.75f;  // now 2 comes first and removes its twin 1
    n = nms_boxes(&boxes[0][0], scores, 3, 0.5f, &ws, keep);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(keep[0], 2);
    ck_assert_int_eq(keep[1], 0);
    ck_assert_int_eq(nms_boxes(&boxes[0][0], scores, 0, 0.5f, &ws, keep), 0);
    rd_arena_free(&ws);
}
END_TEST

static void check_fixture(int batched)
{
    hid_t f = geofix_open();
    size_t n4, n, nl, nk;
    float *boxes = geofix_read(f, "nms/boxes", H5T_NATIVE_FLOAT, 4, &n4);
    float *scores = geofix_read(f, "nms/scores", H5T_NATIVE_FLOAT, 4, &n);
    int32_t *labels = geofix_read(f, "nms/labels", H5T_NATIVE_INT32, 4, &nl);
    int64_t *want = geofix_read(f, batched ? "nms/keep_batched" : "nms/keep_single",
                                H5T_NATIVE_INT64, 8, &nk);
    H5Fclose(f);
    ck_assert_uint_eq(n4, 4 * n);
    int64_t *keep = malloc(n * sizeof(int64_t));
    rd_arena ws;
    rd_arena_init(&ws);
    int64_t got = batched ? nms_batched(boxes, scores, labels, (int64_t)n, 0.5f, &ws, keep)
                          : nms_boxes(boxes, scores, (int64_t)n, 0.5f, &ws, keep);
    ck_assert_int_eq(got, (int64_t)nk);
    ck_assert_int_lt(got, (int64_t)n);
    for (size_t i = 0; i < nk; i++)
        ck_assert_msg(keep[i] == want[i], "kept #%zu: %lld, torchvision %lld", i,
                      (long long)keep[i], (long long)want[i]);
    size_t grows = ws.grows;
    for (int rep = 0; rep < 3; rep++)
        nms_batched(boxes, scores, labels, (int64_t)n, 0.5f, &ws, keep);
    ck_assert_uint_eq(ws.grows, grows);
    rd_arena_free(&ws);
    free(boxes);
    free(scores);
    free(labels);
    free(want);
    free(keep);
}

START_TEST(test_fixture_batched)
{
    check_fixture(1);
}
END_TEST

START_TEST(test_fixture_single)
{
    check_fixture(0);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("nms");
    TCase *tc = tcase_create("nms");
    tcase_add_test(tc, test_four_boxes);
    tcase_add_test(tc, test_threshold_and_ties);
    tcase_add_test(tc, test_fixture_batched);
    tcase_add_test(tc, test_fixture_single);
    suite_add_tcase(s, tc);
    return s;
}
