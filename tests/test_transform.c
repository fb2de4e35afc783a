/* test_transform.c — the test transform against torchvision 0.14's GeneralizedRCNNTransform
 * (tests/fixtures/transform_reference.txt, written by tests/make_transform_fixtures.py): to
 * tensor, normalise, resize factor and size, bilinear values, zero padding and box resizing;
 * and hand-computed cases of the pieces. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/transform.h"
#include "tests/check_main.h"

#define FIXTURE "tests/fixtures/transform_reference.txt"
#define MAKER "tests/make_transform_fixtures.py"

typedef struct tf_case {
    char name[64];
    int height, width;
    float min_size, max_size;
    norm_params norm;
    rd_image image;
    float scale;
    int out_height, out_width, pad_height, pad_width;
    float *output;        // [3][pad_height][pad_width]
    int nboxes;
    rd_box *boxes;        // [nboxes]
    rd_box *resized;      // [nboxes]
} tf_case;

static void tf_expect_word(FILE *f, const char *word, const char *name)
{
    char got[64];
    ck_assert_msg(fscanf(f, "%63s", got) == 1 && strcmp(got, word) == 0,
                  "%s: case %s: expected '%s', found '%s'", FIXTURE, name, word, got);
}

static void tf_read_floats(FILE *f, float *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fscanf(f, "%f", &v[i]) == 1, "%s: case %s: number %zu missing", FIXTURE,
                      name, i);
}

/* The next case, or 0 at the end of the file. */
static int tf_case_read(FILE *f, tf_case *c)
{
    memset(c, 0, sizeof *c);
    char word[64];
    if (fscanf(f, "%63s", word) != 1)
        return 0;
    ck_assert_str_eq(word, "case");
    ck_assert_int_eq(fscanf(f, "%63s %d %d %f %f", c->name, &c->height, &c->width, &c->min_size,
                            &c->max_size), 5);
    tf_expect_word(f, "mean", c->name);
    tf_read_floats(f, c->norm.mean, 3, c->name);
    tf_expect_word(f, "std", c->name);
    tf_read_floats(f, c->norm.std, 3, c->name);
    tf_expect_word(f, "pixels", c->name);
    c->image.width = c->width;
    c->image.height = c->height;
    c->image.rgb = malloc((size_t)c->width * c->height * 3);
    for (size_t i = 0; i < (size_t)c->width * c->height * 3; i++) {
        unsigned v;
        ck_assert_int_eq(fscanf(f, "%u", &v), 1);
        c->image.rgb[i] = (uint8_t)v;
    }
    tf_expect_word(f, "scale", c->name);
    tf_read_floats(f, &c->scale, 1, c->name);
    tf_expect_word(f, "resized", c->name);
    ck_assert_int_eq(fscanf(f, "%d %d", &c->out_height, &c->out_width), 2);
    tf_expect_word(f, "padded", c->name);
    ck_assert_int_eq(fscanf(f, "%d %d", &c->pad_height, &c->pad_width), 2);
    size_t n = (size_t)3 * c->pad_height * c->pad_width;
    c->output = malloc(sizeof(float) * n);
    tf_expect_word(f, "output", c->name);
    tf_read_floats(f, c->output, n, c->name);
    tf_expect_word(f, "boxes", c->name);
    ck_assert_int_eq(fscanf(f, "%d", &c->nboxes), 1);
    c->boxes = malloc(sizeof(rd_box) * c->nboxes);
    c->resized = malloc(sizeof(rd_box) * c->nboxes);
    tf_read_floats(f, (float *)c->boxes, 4 * (size_t)c->nboxes, c->name);
    tf_expect_word(f, "resized_boxes", c->name);
    tf_read_floats(f, (float *)c->resized, 4 * (size_t)c->nboxes, c->name);
    tf_expect_word(f, "end", c->name);
    return 1;
}

static void tf_case_free(tf_case *c)
{
    free(c->image.rgb);
    free(c->output);
    free(c->boxes);
    free(c->resized);
}

/* to tensor, normalise, resize, pad: the GeneralizedRCNNTransform of one image. */
static float *tf_run(const tf_case *c, int *oh, int *ow, int *ph, int *pw)
{
    float scale = transform_resize_scale(c->height, c->width, c->min_size, c->max_size);
    ck_assert_msg(scale == c->scale, "case %s: scale %.9g, torchvision %.9g", c->name,
                  (double)scale, (double)c->scale);
    transform_resized_size(c->height, c->width, scale, oh, ow);
    *ph = transform_round_up(*oh, 32);
    *pw = transform_round_up(*ow, 32);
    float *x = malloc(sizeof(float) * 3 * c->height * c->width);
    float *y = malloc(sizeof(float) * 3 * *oh * *ow);
    float *z = malloc(sizeof(float) * 3 * *ph * *pw);
    image_to_chw01(&c->image, x);
    normalize_chw(x, c->height, c->width, &c->norm);
    resize_bilinear_chw(x, 3, c->height, c->width, y, *oh, *ow);
    pad_chw(y, 3, *oh, *ow, z, *ph, *pw);
    free(x);
    free(y);
    return z;
}

START_TEST(test_transform_matches_torchvision)
{
    FILE *f = fopen(FIXTURE, "r");
    ck_assert_msg(f != NULL, "cannot open %s: run from the repository root, or regenerate it "
                  "with /usr/bin/python3 %s", FIXTURE, MAKER);
    char line[512];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    tf_case c;
    int cases = 0;
    while (tf_case_read(f, &c)) {
        int oh, ow, ph, pw;
        float *z = tf_run(&c, &oh, &ow, &ph, &pw);
        ck_assert_int_eq(oh, c.out_height);
        ck_assert_int_eq(ow, c.out_width);
        ck_assert_int_eq(ph, c.pad_height);
        ck_assert_int_eq(pw, c.pad_width);
        double worst = 0;
        for (size_t i = 0; i < (size_t)3 * ph * pw; i++)
            worst = fmax(worst, fabs((double)z[i] - c.output[i]));
        ck_assert_msg(worst <= 1e-6, "case %s: max |C - torchvision| = %g", c.name, worst);
        transform_resize_boxes(c.boxes, c.nboxes, c.height, c.width, oh, ow);
        for (int i = 0; i < 4 * c.nboxes; i++)
            ck_assert_float_eq(((float *)c.boxes)[i], ((float *)c.resized)[i]);
        free(z);
        tf_case_free(&c);
        cases++;
    }
    fclose(f);
    ck_assert_int_eq(cases, 6);
}
END_TEST

START_TEST(test_transform_resize_scale_by_hand)
{
    // 480x640 to min 800 / max 1333: 800/480 = 1.6667 (short side rules), 800x1066
    float s = transform_resize_scale(480, 640, 800.0f, 1333.0f);
    ck_assert_float_eq(s, (1.0f / 480.0f) * 800.0f);
    int oh, ow;
    transform_resized_size(480, 640, s, &oh, &ow);
    ck_assert_int_eq(oh, 800);
    ck_assert_int_eq(ow, 1066);
    // 100x1000: 800/100 = 8 but 1333/1000 = 1.333 (long side rules): 133x1333
    s = transform_resize_scale(100, 1000, 800.0f, 1333.0f);
    transform_resized_size(100, 1000, s, &oh, &ow);
    ck_assert_int_eq(oh, 133);
    ck_assert_int_eq(ow, 1333);
    ck_assert_int_eq(transform_round_up(1066, 32), 1088);
    ck_assert_int_eq(transform_round_up(800, 32), 800);
    ck_assert_int_eq(transform_round_up(1, 32), 32);
}
END_TEST

START_TEST(test_transform_bilinear_by_hand)
{
    // 1x2 -> 1x4: ratio 0.5, sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (index 1, clamp)
    const float x[2] = {1.0f, 3.0f};
    float y[4];
    resize_bilinear_chw(x, 1, 1, 2, y, 1, 4);
    ck_assert_float_eq(y[0], 1.0f);
    ck_assert_float_eq(y[1], 1.5f);
    ck_assert_float_eq(y[2], 2.5f);
    ck_assert_float_eq(y[3], 3.0f);
    // 2x2 -> 1x1: source (0.5, 0.5), the mean of the four
    const float q[4] = {0.0f, 4.0f, 8.0f, 12.0f};
    float m;
    resize_bilinear_chw(q, 1, 2, 2, &m, 1, 1);
    ck_assert_float_eq(m, 6.0f);
    // 4 -> 2 along one axis: sources 0.5 and 2.5
    const float r[4] = {0.0f, 2.0f, 4.0f, 10.0f};
    float s[2];
    resize_bilinear_chw(r, 1, 4, 1, s, 2, 1);
    ck_assert_float_eq(s[0], 1.0f);
    ck_assert_float_eq(s[1], 7.0f);
}
END_TEST

START_TEST(test_transform_pad_and_normalize_by_hand)
{
    const float x[2 * 1 * 2] = {1, 2, 3, 4};  // [2][1][2]
    float y[2 * 2 * 3];
    memset(y, 0x7f, sizeof y);
    pad_chw(x, 2, 1, 2, y, 2, 3);
    const float want[12] = {1, 2, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0};
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq(y[i], want[i]);
    float v[3] = {0.5f, 0.25f, 1.0f};
    norm_params n = {{0.5f, 0.75f, 0.0f}, {0.25f, 0.5f, 2.0f}};
    normalize_chw(v, 1, 1, &n);
    ck_assert_float_eq(v[0], 0.0f);
    ck_assert_float_eq(v[1], -1.0f);
    ck_assert_float_eq(v[2], 0.5f);
    uint8_t rgb[3] = {255, 51, 0};
    rd_image img = {.width = 1, .height = 1, .rgb = rgb};
    image_to_chw01(&img, v);
    ck_assert_float_eq(v[0], 1.0f);
    ck_assert_float_eq(v[1], 0.2f);
    ck_assert_float_eq(v[2], 0.0f);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("transform");
    TCase *tc = tcase_create("test_transform");
    tcase_add_test(tc, test_transform_matches_torchvision);
    tcase_add_test(tc, test_transform_resize_scale_by_hand);
    tcase_add_test(tc, test_transform_bilinear_by_hand);
    tcase_add_test(tc, test_transform_pad_and_normalize_by_hand);
    suite_add_tcase(s, tc);
    return s;
}
