/* test_box_coder.c — detector/box_coder.c: a hand-computed two-anchor encode and decode with
 * both presets' weights, the dw/dh clip, the matched targets of one image, and 64 random boxes
 * and deltas against torchvision 0.14's BoxCoder (tests/fixtures/geometry_reference.h5). */
#include <math.h>
#include <stdlib.h>

#include "detector/assign.h"
#include "detector/box_coder.h"
#include "detector/preset.h"
#include "tests/check_main.h"
#include "tests/geometry_fixture.h"

static const float two_anchors[2][4] = {{0, 0, 10, 20}, {10, 10, 30, 30}};
static const float two_boxes[2][4] = {{2, 4, 12, 24}, {5, 15, 45, 25}};

static void expect_near(const float *got, const double *want, int n, double tol)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= tol, "entry %d: got %.9g, want %.9g", i,
                      (double)got[i], want[i]);
}

/* Anchor 1: w 10, h 20, centre (5, 10); box centre (7, 14), same size → (0.2, 0.2, 0, 0).
 * Anchor 2: w = h = 20, centre (20, 20); box 40 × 10 at (25, 20) → (0.25, 0, log 2, -log 2). */
START_TEST(test_two_anchor_encode)
{
    float d[8];
    const detector_preset *tv = preset_find("torchvision"), *paper = preset_find("paper");
    box_coder_encode(&tv->coder, &two_anchors[0][0], &two_boxes[0][0], 2, d);
    double want1[8] = {0.2, 0.2, 0, 0, 0.25, 0, log(2.0), -log(2.0)};
    expect_near(d, want1, 8, 1e-6);
    box_coder_encode(&paper->coder, &two_anchors[0][0], &two_boxes[0][0], 2, d);
    double want10[8] = {2, 2, 0, 0, 2.5, 0, 5 * log(2.0), -5 * log(2.0)};
    expect_near(d, want10, 8, 1e-5);
}
END_TEST

START_TEST(test_two_anchor_round_trip)
{
    const char *names[2] = {"torchvision", "paper"};
    for (int k = 0; k < 2; k++) {
        const detector_preset *p = preset_find(names[k]);
        float d[8], b[8];
        box_coder_encode(&p->coder, &two_anchors[0][0], &two_boxes[0][0], 2, d);
        box_coder_decode(&p->coder, &two_anchors[0][0], d, 2, b);
        double want[8];
        for (int i = 0; i < 8; i++)
            want[i] = (&two_boxes[0][0])[i];
        expect_near(b, want, 8, 1e-4);
    }
}
END_TEST

/* dw = 10 is clipped to log(1000/16): the width grows 62.5×, not e^10×. */
START_TEST(test_decode_clip)
{
    const detector_preset *tv = preset_find("torchvision"), *paper = preset_find("paper");
    float anchor[4] = {0, 0, 8, 8}, d[4] = {0, 0, 10, 3}, b[4];
    box_coder_decode(&tv->coder, anchor, d, 1, b);
    double w = 62.5 * 8, h = exp(3.0) * 8;
    double want[4] = {4 - w / 2, 4 - h / 2, 4 + w / 2, 4 + h / 2};
    expect_near(b, want, 4, 1e-3);
    float d10[4] = {1, -1, 50, 5};  // weights 10, 10, 5, 5: dx 0.1, dy -0.1, dw 10 → clip, dh 1
    box_coder_decode(&paper->coder, anchor, d10, 1, b);
    double cx = 4 + 0.8, cy = 4 - 0.8, hh = exp(1.0) * 8;
    double want10[4] = {cx - w / 2, cy - hh / 2, cx + w / 2, cy + hh / 2};
    expect_near(b, want10, 4, 1e-3);
}
END_TEST

START_TEST(test_encode_matched)
{
    const detector_preset *tv = preset_find("torchvision");
    rd_box gt[2] = {{5, 15, 45, 25}, {2, 4, 12, 24}};
    int32_t match[3] = {1, ASSIGN_IGNORED, 0};
    float anchors[3][4] = {{0, 0, 10, 20}, {1, 2, 3, 4}, {10, 10, 30, 30}}, t[3][4];
    for (int i = 0; i < 12; i++)
        (&t[0][0])[i] = 99.0f;
    box_coder_encode_matched(&tv->coder, &anchors[0][0], 3, match, gt, &t[0][0]);
    double want[12] = {0.2, 0.2, 0, 0, 0, 0, 0, 0, 0.25, 0, log(2.0), -log(2.0)};
    expect_near(&t[0][0], want, 12, 1e-6);
}
END_TEST

static void check_fixture(hid_t f, const char *tag, const char *preset)
{
    size_t n, m;
    float *anchors = geofix_read(f, "box_coder/anchors", H5T_NATIVE_FLOAT, sizeof(float), &n);
    float *boxes = geofix_read(f, "box_coder/boxes", H5T_NATIVE_FLOAT, sizeof(float), &m);
    float *deltas = geofix_read(f, "box_coder/deltas", H5T_NATIVE_FLOAT, sizeof(float), &m);
    char path[64];
    snprintf(path, sizeof path, "box_coder/encode_%s", tag);
    float *enc = geofix_read(f, path, H5T_NATIVE_FLOAT, sizeof(float), &m);
    snprintf(path, sizeof path, "box_coder/decode_%s", tag);
    float *dec = geofix_read(f, path, H5T_NATIVE_FLOAT, sizeof(float), &m);
    ck_assert_uint_eq(m, n);
    const detector_preset *p = preset_find(preset);
    float *got = malloc(n * sizeof(float));
    box_coder_encode(&p->coder, anchors, boxes, (int64_t)n / 4, got);
    for (size_t i = 0; i < n; i++)  // logf may differ from torch's log by an ulp or two
        ck_assert_msg(fabsf(got[i] - enc[i]) <= 1e-6f * (1.0f + fabsf(enc[i])),
                      "%s encode %zu: %.9g vs %.9g", tag, i, (double)got[i], (double)enc[i]);
    box_coder_decode(&p->coder, anchors, deltas, (int64_t)n / 4, got);
    for (size_t i = 0; i < n; i++) {  // a corner is centre ∓ half size: an ulp of the larger
        size_t r = i / 4 * 4;
        float scale = 1.0f;
        for (int c = 0; c < 4; c++)
            scale = fmaxf(scale, fabsf(dec[r + c]));
        ck_assert_msg(fabsf(got[i] - dec[i]) <= 1e-6f * scale, "%s decode %zu: %.9g vs %.9g",
                      tag, i, (double)got[i], (double)dec[i]);
    }
    free(got);
    free(anchors);
    free(boxes);
    free(deltas);
    free(enc);
    free(dec);
}

START_TEST(test_fixture)
{
    hid_t f = geofix_open();
    check_fixture(f, "w1", "torchvision");
    check_fixture(f, "w10", "paper");
    H5Fclose(f);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("box_coder");
    TCase *tc = tcase_create("box_coder");
    tcase_add_test(tc, test_two_anchor_encode);
    tcase_add_test(tc, test_two_anchor_round_trip);
    tcase_add_test(tc, test_decode_clip);
    tcase_add_test(tc, test_encode_matched);
    tcase_add_test(tc, test_fixture);
    suite_add_tcase(s, tc);
    return s;
}
