/* test_anchors.c — detector/anchors.c and detector/preset.c: hand-computed cell anchors of
 * both presets (torchvision's half-to-even rounding, the paper's exact sizes and half-stride
 * centres), torchvision's uneven strides on a padded size that is not a multiple of 128, and
 * every anchor against tests/fixtures/geometry_reference.h5 (torchvision 0.14's
 * AnchorGenerator; the AP-loss released code's generator converted to continuous boxes). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detector/anchors.h"
#include "tests/check_main.h"
#include "tests/geometry_fixture.h"

/* The anchors of p for a height × width input with the ResNet grids; caller frees. */
static float *anchors_for(const detector_preset *p, int height, int width, anchor_level *lv,
                          int64_t *A)
{
    int gh[PRESET_LEVELS], gw[PRESET_LEVELS];
    anchors_grid_sizes(height, width, gh, gw);
    *A = anchors_levels(p, height, width, gh, gw, lv);
    float *a = malloc((size_t)*A * 4 * sizeof(float));
    anchors_generate(p, lv, a);
    return a;
}

static void expect_box(const float *got, float x1, float y1, float x2, float y2, float tol)
{
    float want[4] = {x1, y1, x2, y2};
    for (int c = 0; c < 4; c++)
        ck_assert_msg(fabsf(got[c] - want[c]) <= tol, "coordinate %d: got %.7g, want %.7g", c,
                      (double)got[c], (double)want[c]);
}

START_TEST(test_preset_lookup)
{
    const detector_preset *paper = preset_find("paper"), *tv = preset_find("torchvision");
    ck_assert_ptr_nonnull(paper);
    ck_assert_ptr_nonnull(tv);
    ck_assert_ptr_null(preset_find("retinanet"));
    ck_assert_ptr_null(preset_find(NULL));
    ck_assert_int_eq(paper->anchors_per_location, 6);
    ck_assert_int_eq(tv->anchors_per_location, 9);
    ck_assert_float_eq(paper->coder.weights[0], 10.0f);
    ck_assert_float_eq(paper->coder.weights[3], 5.0f);
    ck_assert_float_eq_tol(tv->coder.dwh_clip, (float)log(1000.0 / 16.0), 1e-7);
    ck_assert_int_eq(tv->detections_per_image, 300);
    ck_assert_int_eq(paper->detections_per_image, 100);
    ck_assert_int_eq(tv->sizes[1][2], 101);  // int(64 · 2^(2/3)) = 101
    ck_assert_str_eq(preset_names(), "paper, torchvision");
}
END_TEST

/* torchvision's cells at location (0, 0): w = round(size / sqrt(ratio) / 2) · 2 half to even. */
START_TEST(test_torchvision_cells)
{
    const detector_preset *p = preset_find("torchvision");
    anchor_level lv[PRESET_LEVELS];
    int64_t A;
    float *a = anchors_for(p, 128, 128, lv, &A);
    // P3, ratio 0.5, size 32: w = 45.2548 → ±23 (22.63 rounds up), h = 22.6274 → ±11.
    expect_box(a + 0, -23, -11, 23, 11, 0);
    // P3, ratio 1, sizes 32, 40, 50.
    expect_box(a + 4 * 3, -16, -16, 16, 16, 0);
    expect_box(a + 4 * 4, -20, -20, 20, 20, 0);
    expect_box(a + 4 * 5, -25, -25, 25, 25, 0);
    // P4, ratio 1, size 101: 50.5 rounds half to even → ±50 (not 51).
    expect_box(a + 4 * (lv[1].offset + 5), -50, -50, 50, 50, 0);
    // P5, ratio 1, size 161 → ±80; size 203 → 101.5 → ±102.
    expect_box(a + 4 * (lv[2].offset + 4), -80, -80, 80, 80, 0);
    expect_box(a + 4 * (lv[2].offset + 5), -102, -102, 102, 102, 0);
    // P3 location (y 1, x 2): centres (16, 8), order level, y, x, anchor.
    int64_t at = (int64_t)(1 * lv[0].w + 2) * 9 + 3;
    expect_box(a + 4 * at, 0, -8, 32, 24, 0);
    ck_assert_int_eq(A, (16 * 16 + 8 * 8 + 4 * 4 + 2 * 2 + 1) * 9);
    free(a);
}
END_TEST

/* 96 × 160 is not a multiple of 128: torchvision's strides are padded size // grid. */
START_TEST(test_torchvision_uneven_strides)
{
    const detector_preset *p = preset_find("torchvision");
    int gh[PRESET_LEVELS], gw[PRESET_LEVELS];
    anchors_grid_sizes(96, 160, gh, gw);
    ck_assert_int_eq(gh[0], 12);
    ck_assert_int_eq(gw[0], 20);
    ck_assert_int_eq(gh[4], 1);
    ck_assert_int_eq(gw[4], 2);
    anchor_level lv[PRESET_LEVELS];
    int64_t A = anchors_levels(p, 96, 160, gh, gw, lv);
    ck_assert_int_eq(A, (12 * 20 + 6 * 10 + 3 * 5 + 2 * 3 + 1 * 2) * 9);
    ck_assert_int_eq(lv[3].stride_y, 48);  // 96 // 2, not 64
    ck_assert_int_eq(lv[4].stride_y, 96);
    ck_assert_int_eq(lv[4].stride_x, 80);  // 160 // 2
    ck_assert_int_eq(lv[2].stride_x, 32);
    ck_assert_int_eq(lv[4].offset, A - 2 * 9);
    const detector_preset *paper = preset_find("paper");
    anchors_levels(paper, 96, 160, gh, gw, lv);
    ck_assert_int_eq(lv[3].stride_y, 64);  // the paper's strides are 2^l
    ck_assert_int_eq(lv[4].count, 2 * 6);
}
END_TEST

/* The paper's cells: w = 4·stride·scale / sqrt(ratio), centre (stride / 2, stride / 2). */
START_TEST(test_paper_cells)
{
    const detector_preset *p = preset_find("paper");
    anchor_level lv[PRESET_LEVELS];
    int64_t A;
    float *a = anchors_for(p, 128, 128, lv, &A);
    double w = 32.0 / sqrt(0.5), h = 32.0 * sqrt(0.5);  // P3, ratio 0.5, scale 1
    expect_box(a, (float)(4 - w / 2), (float)(4 - h / 2), (float)(4 + w / 2), (float)(4 + h / 2),
               1e-5f);
    double s = 32.0 * sqrt(2.0);  // P3, ratio 1, scale 2^½
    expect_box(a + 4 * 3, (float)(4 - s / 2), (float)(4 - s / 2), (float)(4 + s / 2),
               (float)(4 + s / 2), 1e-5f);
    // P7 (stride 128), location (0, 0), ratio 2, scale 1: w = 512 / sqrt 2, centre 64.
    double w7 = 512.0 / sqrt(2.0), h7 = 512.0 * sqrt(2.0);
    expect_box(a + 4 * (lv[4].offset + 4), (float)(64 - w7 / 2), (float)(64 - h7 / 2),
               (float)(64 + w7 / 2), (float)(64 + h7 / 2), 1e-4f);
    ck_assert_int_eq(A, (16 * 16 + 8 * 8 + 4 * 4 + 2 * 2 + 1) * 6);
    free(a);
}
END_TEST

/* Every anchor of a fixture case; tolerance 0 for torchvision (exact float32 arithmetic). */
static void check_fixture_case(const char *preset, const char *name, float tol)
{
    hid_t f = geofix_open();
    char path[128];
    snprintf(path, sizeof path, "anchors/%s", name);
    int height, width, gh[PRESET_LEVELS], gw[PRESET_LEVELS];
    geofix_attr(f, path, "height", H5T_NATIVE_INT, &height, 1);
    geofix_attr(f, path, "width", H5T_NATIVE_INT, &width, 1);
    ck_assert_int_eq(geofix_attr(f, path, "grid_h", H5T_NATIVE_INT, gh, 5), 5);
    geofix_attr(f, path, "grid_w", H5T_NATIVE_INT, gw, 5);
    snprintf(path, sizeof path, "anchors/%s/anchors", name);
    size_t n;
    float *want = geofix_read(f, path, H5T_NATIVE_FLOAT, sizeof(float), &n);
    H5Fclose(f);

    const detector_preset *p = preset_find(preset);
    int my_h[PRESET_LEVELS], my_w[PRESET_LEVELS];
    anchors_grid_sizes(height, width, my_h, my_w);
    ck_assert_mem_eq(my_h, gh, sizeof gh);
    ck_assert_mem_eq(my_w, gw, sizeof gw);
    anchor_level lv[PRESET_LEVELS];
    int64_t A = anchors_levels(p, height, width, gh, gw, lv);
    ck_assert_int_eq((size_t)A * 4, n);
    float *got = malloc(n * sizeof(float));
    anchors_generate(p, lv, got);
    double worst = 0.0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)got[i] - want[i]));
    ck_assert_msg(worst <= tol, "%s: anchors differ by %g (tolerance %g)", name, worst, tol);
    free(got);
    free(want);
}

START_TEST(test_fixture_torchvision)
{
    check_fixture_case("torchvision", "tv_96x160", 0.0f);
    check_fixture_case("torchvision", "tv_64x64", 0.0f);
}
END_TEST

START_TEST(test_fixture_paper)
{
    check_fixture_case("paper", "paper_96x160", 1e-4f);
    check_fixture_case("paper", "paper_128x128", 1e-4f);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("anchors");
    TCase *tc = tcase_create("anchors");
    tcase_add_test(tc, test_preset_lookup);
    tcase_add_test(tc, test_torchvision_cells);
    tcase_add_test(tc, test_torchvision_uneven_strides);
    tcase_add_test(tc, test_paper_cells);
    tcase_add_test(tc, test_fixture_torchvision);
    tcase_add_test(tc, test_fixture_paper);
    suite_add_tcase(s, tc);
    return s;
}
