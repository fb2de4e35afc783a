/* test_box_loss.c — optim/box_loss.c: hand-computed smooth L1 and L1 values, both normalisers,
 * batches without positives, torchvision 0.14's RetinaNetRegressionHead.compute_loss (L1, per
 * image) with its autograd gradient (tests/fixtures/geometry_reference.h5), and central finite
 * differences of the loss for smooth L1 (β = 1 and 0.2, both normalisers, weight 0.25). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detector/assign.h"
#include "optim/box_loss.h"
#include "tests/check_main.h"
#include "tests/geometry_fixture.h"

/* One image, two positive anchors and one negative; differences (0.5, -2, 0, 1) and
 * (0.1, 0, 0, -0.3); the negative's values must not count. */
static const float hand_deltas[3][4] = {{0.5f, -2, 0, 1}, {0.1f, 0, 0, -0.3f}, {9, 9, 9, 9}};
static const float hand_targets[3][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}};
static const int32_t hand_match[3] = {0, 3, ASSIGN_NEGATIVE};

START_TEST(test_smooth_l1_hand)
{
    box_loss_params p = {BOX_LOSS_SMOOTH_L1, 1.0f, BOX_LOSS_NORM_BATCH, 1.0};
    float d[3][4];
    box_loss_result r;
    box_loss_compute(&p, &hand_deltas[0][0], &hand_targets[0][0], hand_match, 1, 3, &d[0][0], &r);
    // 0.125 + 1.5 + 0 + 0.5 (|1| is not < β: 1 - 0.5) + 0.005 + 0 + 0 + 0.045 = 2.175
    ck_assert_double_eq_tol(r.sum, 2.175, 1e-7);
    ck_assert_double_eq_tol(r.loss, 2.175 / 2, 1e-7);
    ck_assert_int_eq(r.num_pos, 2);
    float want[12] = {0.25f, -0.5f, 0, 0.5f, 0.05f, 0, 0, -0.15f, 0, 0, 0, 0};
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq_tol((&d[0][0])[i], want[i], 1e-7f);
}
END_TEST

START_TEST(test_l1_hand)
{
    box_loss_params p = {BOX_LOSS_L1, 1.0f, BOX_LOSS_NORM_BATCH, 0.25};
    float d[3][4];
    box_loss_result r;
    box_loss_compute(&p, &hand_deltas[0][0], &hand_targets[0][0], hand_match, 1, 3, &d[0][0], &r);
    ck_assert_double_eq_tol(r.sum, 3.9, 1e-6);
    ck_assert_double_eq_tol(r.loss, 0.25 * 3.9 / 2, 1e-6);
    float want[12] = {0.125f, -0.125f, 0, 0.125f, 0.125f, 0, 0, -0.125f, 0, 0, 0, 0};
    ck_assert_mem_eq(d, want, sizeof want);  // sign(0) = 0, as PyTorch
    box_loss_params beta0 = {BOX_LOSS_SMOOTH_L1, 0.0f, BOX_LOSS_NORM_BATCH, 0.25};
    box_loss_compute(&beta0, &hand_deltas[0][0], &hand_targets[0][0], hand_match, 1, 3,
                     &d[0][0], &r);
    ck_assert_double_eq_tol(r.sum, 3.9, 1e-6);  // β = 0 is L1
    ck_assert_mem_eq(d, want, sizeof want);
}
END_TEST

/* Two images: 2 positives (sum 2.175) and none. Batch: 2.175 / 2; per image: (2.175/2 + 0) / 2. */
START_TEST(test_normalisers)
{
    float deltas[2][3][4], targets[2][3][4] = {{{0}}};
    int32_t match[2][3] = {{0, 3, ASSIGN_NEGATIVE},
                           {ASSIGN_NEGATIVE, ASSIGN_IGNORED, ASSIGN_NEGATIVE}};
    memcpy(deltas[0], hand_deltas, sizeof hand_deltas);
    memcpy(deltas[1], hand_deltas, sizeof hand_deltas);
    box_loss_params p = {BOX_LOSS_SMOOTH_L1, 1.0f, BOX_LOSS_NORM_PER_IMAGE, 1.0};
    box_loss_result r;
    float d[2][3][4];
    box_loss_compute(&p, &deltas[0][0][0], &targets[0][0][0], &match[0][0], 2, 3, &d[0][0][0], &r);
    ck_assert_double_eq_tol(r.loss, 2.175 / 2 / 2, 1e-7);
    ck_assert_float_eq_tol(d[0][0][1], -0.25f, 1e-7f);
    ck_assert_float_eq(d[1][0][0], 0.0f);
    p.norm = BOX_LOSS_NORM_BATCH;
    box_loss_compute(&p, &deltas[0][0][0], &targets[0][0][0], &match[0][0], 2, 3, &d[0][0][0], &r);
    ck_assert_double_eq_tol(r.loss, 2.175 / 2, 1e-7);
    // No positive anywhere: loss 0, zero gradient (normaliser max(1, 0) = 1).
    memcpy(match[0], match[1], sizeof match[1]);
    box_loss_compute(&p, &deltas[0][0][0], &targets[0][0][0], &match[0][0], 2, 3, &d[0][0][0], &r);
    ck_assert_double_eq(r.loss, 0.0);
    ck_assert_int_eq(r.num_pos, 0);
    for (int i = 0; i < 24; i++)
        ck_assert_float_eq((&d[0][0][0])[i], 0.0f);
}
END_TEST

/* torchvision's L1 regression loss of two images on the 64 × 64 anchors. */
START_TEST(test_fixture_torchvision)
{
    hid_t f = geofix_open();
    size_t n4, nm, ng, G0, G1;
    float *anchors = geofix_read(f, "anchors/tv_64x64/anchors", H5T_NATIVE_FLOAT, 4, &n4);
    float *reg = geofix_read(f, "box_loss/regression", H5T_NATIVE_FLOAT, 4, &ng);
    float *want_grad = geofix_read(f, "box_loss/grad", H5T_NATIVE_FLOAT, 4, &ng);
    int32_t *match = geofix_read(f, "box_loss/matched", H5T_NATIVE_INT32, 4, &nm);
    rd_box *gt0 = geofix_read(f, "box_loss/gt0", H5T_NATIVE_FLOAT, 4, &G0);
    rd_box *gt1 = geofix_read(f, "box_loss/gt1", H5T_NATIVE_FLOAT, 4, &G1);
    double want_loss;
    geofix_attr(f, "box_loss", "loss", H5T_NATIVE_DOUBLE, &want_loss, 1);
    H5Fclose(f);
    int64_t A = (int64_t)n4 / 4;
    ck_assert_uint_eq(nm, 2 * (size_t)A);
    const detector_preset *p = preset_find("torchvision");
    float *targets = malloc(ng * sizeof(float)), *grad = malloc(ng * sizeof(float));
    box_coder_encode_matched(&p->coder, anchors, A, match, gt0, targets);
    box_coder_encode_matched(&p->coder, anchors, A, match + A, gt1, targets + 4 * A);
    box_loss_result r;
    box_loss_compute(&p->box_loss, reg, targets, match, 2, A, grad, &r);
    ck_assert_int_gt(r.num_pos, 2);
    ck_assert_msg(fabs(r.loss - want_loss) <= 1e-5 * want_loss, "loss %.9g, torchvision %.9g",
                  r.loss, want_loss);
    for (size_t i = 0; i < ng; i++)
        ck_assert_msg(fabsf(grad[i] - want_grad[i]) <= 1e-7f, "grad %zu: %.9g vs %.9g", i,
                      (double)grad[i], (double)want_grad[i]);
    free(anchors);
    free(reg);
    free(want_grad);
    free(match);
    free(gt0);
    free(gt1);
    free(targets);
    free(grad);
}
END_TEST

/* Central differences of the loss in double against the written gradient, on 3 images of
 * 16 anchors with random matches; differences are kept 0.05 away from the kinks (0, ±β). */
static void check_finite_differences(box_loss_params p)
{
    enum { N = 3, A = 16 };
    float deltas[N * A * 4], targets[N * A * 4], grad[N * A * 4];
    int32_t match[N * A];
    uint64_t s = 12345;
    for (int i = 0; i < N * A; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        match[i] = (s >> 33) % 3 == 0 ? (int32_t)((s >> 40) % 4) : ASSIGN_NEGATIVE;
    }
    match[A] = ASSIGN_IGNORED;
    for (int i = 0; i < N * A * 4; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(s >> 11) / 9007199254740992.0;  // [0, 1)
        targets[i] = (float)(u - 0.5);
        double x = (u * 4.0 - 2.0) * p.beta * 1.5;
        if (fabs(x) < 0.05 || fabs(fabs(x) - p.beta) < 0.05)
            x += 0.1;
        deltas[i] = (float)(targets[i] + x);
    }
    box_loss_result r;
    box_loss_compute(&p, deltas, targets, match, N, A, grad, &r);
    ck_assert_int_gt(r.num_pos, 4);
    const float h = 1e-3f;
    for (int i = 0; i < N * A * 4; i++) {
        float keep = deltas[i];
        box_loss_result up, down;
        deltas[i] = keep + h;
        box_loss_compute(&p, deltas, targets, match, N, A, NULL, &up);
        deltas[i] = keep - h;
        box_loss_compute(&p, deltas, targets, match, N, A, NULL, &down);
        deltas[i] = keep;
        double fd = (up.loss - down.loss) / ((double)(keep + h) - (double)(keep - h));
        ck_assert_msg(fabs(fd - grad[i]) <= 1e-4 * (1.0 + fabs(fd)),
                      "entry %d: finite difference %.8g, gradient %.8g", i, fd, (double)grad[i]);
    }
}

START_TEST(test_finite_differences)
{
    check_finite_differences((box_loss_params){BOX_LOSS_SMOOTH_L1, 1.0f, BOX_LOSS_NORM_BATCH, 0.25});
    check_finite_differences((box_loss_params){BOX_LOSS_SMOOTH_L1, 0.2f, BOX_LOSS_NORM_PER_IMAGE,
                                               1.0});
    check_finite_differences((box_loss_params){BOX_LOSS_L1, 1.0f, BOX_LOSS_NORM_PER_IMAGE, 1.0});
}
END_TEST

START_TEST(test_kind_names)
{
    box_loss_kind k = BOX_LOSS_L1;
    ck_assert_int_eq(box_loss_kind_parse("smooth_l1", &k), 0);
    ck_assert_int_eq(k, BOX_LOSS_SMOOTH_L1);
    ck_assert_int_eq(box_loss_kind_parse("l1", &k), 0);
    ck_assert_int_eq(k, BOX_LOSS_L1);
    ck_assert_int_eq(box_loss_kind_parse("giou", &k), -1);
    ck_assert_str_eq(box_loss_kind_name(BOX_LOSS_SMOOTH_L1), "smooth_l1");
    ck_assert_str_eq(box_loss_kind_name(BOX_LOSS_L1), "l1");
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("box_loss");
    TCase *tc = tcase_create("box_loss");
    tcase_add_test(tc, test_smooth_l1_hand);
    tcase_add_test(tc, test_l1_hand);
    tcase_add_test(tc, test_normalisers);
    tcase_add_test(tc, test_fixture_torchvision);
    tcase_add_test(tc, test_finite_differences);
    tcase_add_test(tc, test_kind_names);
    suite_add_tcase(s, tc);
    return s;
}
