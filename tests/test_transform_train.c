/* test_transform_train.c — the SSD-style training transform: geometric invariants over many
 * seeded draws (boxes stay inside, the crop keeps exactly the boxes whose centre it holds,
 * flips mirror boxes and pixels exactly, expansion shifts boxes by its offset and fills with
 * the mean, the IoU constraint of each crop mode holds), reproducibility for a seed, the
 * identity draw against the test-transform pieces, hand-computed photometric cases, and a
 * scratch arena that stops growing. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/transform.h"
#include "tests/check_main.h"

#define TT_W 64
#define TT_H 48
#define TT_S 40
#define TT_N 5

static const norm_params tt_norm = {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};

/* A seeded textured image. */
static rd_image tt_image(int width, int height, uint64_t seed)
{
    rd_image img = {width, height, malloc((size_t)width * height * 3)};
    ck_assert_ptr_nonnull(img.rgb);
    rd_rng rng;
    rd_rng_init(&rng, seed);
    for (size_t i = 0; i < (size_t)width * height * 3; i++)
        img.rgb[i] = (uint8_t)rd_rng_below(&rng, 256);
    rd_rng_free(&rng);
    return img;
}

/* n seeded boxes inside a width x height image, labels 0..n-1. */
static void tt_objects(rd_object *o, int n, int width, int height, rd_rng *rng)
{
    for (int i = 0; i < n; i++) {
        float w = 2.0f + (float)rd_rng_uniform(rng) * (width - 2);
        float h = 2.0f + (float)rd_rng_uniform(rng) * (height - 2);
        float x = (float)rd_rng_uniform(rng) * (width - w);
        float y = (float)rd_rng_uniform(rng) * (height - h);
        memset(&o[i], 0, sizeof o[i]);
        o[i].box = (rd_box){x, y, x + w, y + h};
        o[i].label = i;
        o[i].crowd = (uint8_t)(i == 3);
    }
}

/* The labels of the boxes whose canvas centre lies strictly inside the crop, in order. */
static int tt_expected_kept(const train_draw *d, const rd_object *o, int n, int32_t *labels)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        float cx = 0.5f * (o[i].box.x1 + o[i].box.x2) + d->offset_x;
        float cy = 0.5f * (o[i].box.y1 + o[i].box.y2) + d->offset_y;
        if (d->crop_mode == 0 || (d->crop_x1 < cx && cx < d->crop_x2 && d->crop_y1 < cy &&
                                  cy < d->crop_y2))
            labels[k++] = o[i].label;
    }
    return k;
}

START_TEST(test_train_geometry_invariants)
{
    train_transform_config cfg;
    transform_train_defaults(&cfg, TT_S, &tt_norm);
    rd_rng rng;
    rd_rng_init(&rng, 7);
    int modes[6] = {0}, flips = 0, expands = 0;
    const float min_iou[6] = {0, 0.1f, 0.3f, 0.7f, 0.9f, -1};
    for (int t = 0; t < 3000; t++) {
        rd_object o[TT_N], out[TT_N];
        tt_objects(o, TT_N, TT_W, TT_H, &rng);
        train_draw d;
        transform_train_draw(&cfg, TT_W, TT_H, o, TT_N, &rng, &d);
        // expansion: ratio in [1, 4], the image inside the canvas
        ck_assert(d.canvas_width >= TT_W && d.canvas_width <= 4 * TT_W);
        ck_assert(d.offset_x >= 0 && d.offset_x + TT_W <= d.canvas_width);
        ck_assert(d.offset_y >= 0 && d.offset_y + TT_H <= d.canvas_height);
        expands += d.canvas_width > TT_W || d.canvas_height > TT_H;
        // crop: inside the canvas, aspect in [1/2, 2] (before truncation), IoU rule of its mode
        ck_assert(d.crop_x1 >= 0 && d.crop_x2 <= d.canvas_width && d.crop_x1 < d.crop_x2);
        ck_assert(d.crop_y1 >= 0 && d.crop_y2 <= d.canvas_height && d.crop_y1 < d.crop_y2);
        modes[d.crop_mode]++;
        flips += d.flip;
        if (d.crop_mode > 0) {
            ck_assert(d.crop_x2 - d.crop_x1 >= (int)(0.3 * d.canvas_width) - 1);
            rd_box rect = {d.crop_x1, d.crop_y1, d.crop_x2, d.crop_y2};
            float best = -1;
            for (int i = 0; i < TT_N; i++) {
                rd_box b = o[i].box;
                b.x1 += d.offset_x, b.x2 += d.offset_x, b.y1 += d.offset_y, b.y2 += d.offset_y;
                best = fmaxf(best, box_iou(b, rect));
            }
            ck_assert_msg(best >= min_iou[d.crop_mode], "mode %d: best IoU %g", d.crop_mode,
                          (double)best);
        } else {
            ck_assert(d.crop_x1 == 0 && d.crop_x2 == d.canvas_width);
        }
        int32_t want[TT_N];
        int k = tt_expected_kept(&d, o, TT_N, want);
        int m = transform_train_boxes(&d, TT_S, o, TT_N, out);
        ck_assert_int_eq(m, k);
        ck_assert_msg(m > 0, "a crop must keep at least one box");
        for (int i = 0; i < m; i++) {
            ck_assert_int_eq(out[i].label, want[i]);
            ck_assert_int_eq(out[i].crowd, want[i] == 3);
            rd_box b = out[i].box;
            ck_assert(0 <= b.x1 && b.x1 < b.x2 && b.x2 <= TT_S);
            ck_assert(0 <= b.y1 && b.y1 < b.y2 && b.y2 <= TT_S);
            ck_assert_float_eq(out[i].area, box_area(b));
        }
    }
    rd_rng_free(&rng);
    // every mode exercised (min IoU 0.9 rarely finds a crop with these boxes, so it is rare),
    // flips and expansions about half the time (±4.5 sd of 3000 coins)
    for (int m = 0; m < 6; m++)
        ck_assert_msg(modes[m] >= 10, "crop mode %d drawn %d times in 3000", m, modes[m]);
    ck_assert_msg(abs(flips - 1500) < 125, "flips: %d of 3000", flips);
    ck_assert_msg(abs(expands - 1500) < 125, "expansions: %d of 3000", expands);
}
END_TEST

START_TEST(test_train_flip_mirrors_exactly)
{
    train_transform_config cfg;
    transform_train_defaults(&cfg, TT_S, &tt_norm);
    rd_image img = tt_image(TT_W, TT_H, 3);
    rd_rng rng;
    rd_rng_init(&rng, 11);
    rd_arena a;
    rd_arena_init(&a);
    float *p0 = malloc(sizeof(float) * 3 * TT_S * TT_S);
    float *p1 = malloc(sizeof(float) * 3 * TT_S * TT_S);
    for (int t = 0; t < 20; t++) {
        rd_object o[TT_N], b0[TT_N], b1[TT_N];
        tt_objects(o, TT_N, TT_W, TT_H, &rng);
        train_draw d;
        transform_train_draw(&cfg, TT_W, TT_H, o, TT_N, &rng, &d);
        d.flip = 0;
        int n0 = transform_train_boxes(&d, TT_S, o, TT_N, b0);
        transform_train_pixels(&d, &cfg, &img, &a, p0);
        d.flip = 1;
        int n1 = transform_train_boxes(&d, TT_S, o, TT_N, b1);
        transform_train_pixels(&d, &cfg, &img, &a, p1);
        ck_assert_int_eq(n0, n1);
        for (int i = 0; i < n0; i++) {
            ck_assert_float_eq(b1[i].box.x1, TT_S - b0[i].box.x2);
            ck_assert_float_eq(b1[i].box.x2, TT_S - b0[i].box.x1);
            ck_assert_float_eq(b1[i].box.y1, b0[i].box.y1);
            ck_assert_float_eq(b1[i].box.y2, b0[i].box.y2);
        }
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < TT_S; y++)
                for (int x = 0; x < TT_S; x++)
                    ck_assert_float_eq(p1[(c * TT_S + y) * TT_S + x],
                                       p0[(c * TT_S + y) * TT_S + TT_S - 1 - x]);
    }
    free(p0);
    free(p1);
    rd_arena_free(&a);
    rd_rng_free(&rng);
    free(img.rgb);
}
END_TEST

START_TEST(test_train_expansion_offsets_and_fill)
{
    // a hand-made draw: 64x48 image at (30, 20) on a 128x96 canvas, whole canvas, S = 64:
    // scale 0.5 in x and 2/3 in y
    train_transform_config cfg;
    transform_train_defaults(&cfg, 64, &tt_norm);
    train_draw d;
    transform_train_identity(TT_W, TT_H, &d);
    d.canvas_width = d.crop_x2 = 128;
    d.canvas_height = d.crop_y2 = 96;
    d.offset_x = 30;
    d.offset_y = 20;
    rd_object o = {.box = {4, 6, 20, 30}, .label = 2}, out;
    ck_assert_int_eq(transform_train_boxes(&d, 64, &o, 1, &out), 1);
    ck_assert_float_eq(out.box.x1, 17.0f);  // (4 + 30) · 64 / 128
    ck_assert_float_eq(out.box.x2, 25.0f);
    ck_assert_float_eq_tol(out.box.y1, 26.0f * 64 / 96, 1e-5);
    ck_assert_float_eq_tol(out.box.y2, 50.0f * 64 / 96, 1e-5);
    rd_image img = tt_image(TT_W, TT_H, 5);
    rd_arena a;
    rd_arena_init(&a);
    float *p = malloc(sizeof(float) * 3 * 64 * 64);
    transform_train_pixels(&d, &cfg, &img, &a, p);
    // output pixel (0, 0) samples canvas (0.5, 0.5) → fill; so does the right edge
    for (int c = 0; c < 3; c++) {
        float fill = (cfg.fill[c] / 255.0f - tt_norm.mean[c]) / tt_norm.std[c];
        ck_assert_float_eq_tol(p[(c * 64 + 0) * 64 + 0], fill, 1e-5);
        ck_assert_float_eq_tol(p[(c * 64 + 63) * 64 + 63], fill, 1e-5);
        // output (x = 31, y = 30) inside the image: canvas x = 2·31.5 - 0.5 = 62.5 → taps 62,
        // 63 (image x 32, 33), 1/2 each; canvas y = 1.5·30.5 - 0.5 = 45.25 → rows 45, 46
        // (image y 25, 26), 3/4 and 1/4
        const uint8_t *q = img.rgb;
        float top = q[(25 * TT_W + 32) * 3 + c] * 0.5f + q[(25 * TT_W + 33) * 3 + c] * 0.5f;
        float bottom = q[(26 * TT_W + 32) * 3 + c] * 0.5f + q[(26 * TT_W + 33) * 3 + c] * 0.5f;
        float v = top * 0.75f + bottom * 0.25f;
        ck_assert_float_eq_tol(p[(c * 64 + 30) * 64 + 31],
                               (v / 255.0f - tt_norm.mean[c]) / tt_norm.std[c], 1e-5);
    }
    free(p);
    rd_arena_free(&a);
    free(img.rgb);
}
END_TEST

START_TEST(test_train_identity_is_the_resize)
{
    // the identity draw = to_chw01, resize_bilinear_chw, normalise (up to the order of the
    // affine normalisation and the resize, a few ulps)
    train_transform_config cfg;
    transform_train_defaults(&cfg, 30, &tt_norm);
    rd_image img = tt_image(TT_W, TT_H, 9);
    train_draw d;
    transform_train_identity(TT_W, TT_H, &d);
    rd_arena a;
    rd_arena_init(&a);
    float *got = malloc(sizeof(float) * 3 * 30 * 30), *x = malloc(sizeof(float) * 3 * TT_W * TT_H);
    float *want = malloc(sizeof(float) * 3 * 30 * 30);
    transform_train_pixels(&d, &cfg, &img, &a, got);
    image_to_chw01(&img, x);
    normalize_chw(x, TT_H, TT_W, &tt_norm);
    resize_bilinear_chw(x, 3, TT_H, TT_W, want, 30, 30);
    for (int i = 0; i < 3 * 30 * 30; i++)
        ck_assert_float_eq_tol(got[i], want[i], 2e-5);
    rd_object o = {.box = {8, 6, 40, 30}}, out;
    ck_assert_int_eq(transform_train_boxes(&d, 30, &o, 1, &out), 1);
    ck_assert_float_eq(out.box.x1, 3.75f);   // 8 · 30 / 64
    ck_assert_float_eq(out.box.y2, 18.75f);  // 30 · 30 / 48
    free(got);
    free(x);
    free(want);
    rd_arena_free(&a);
    free(img.rgb);
}
END_TEST

/* The output pixel (x, y) of a 1x1-per-pixel identity resize, back on the 0..255 scale. */
static float tt_pixel(const float *p, int size, int c, int y, int x)
{
    return (p[(c * size + y) * size + x] * tt_norm.std[c] + tt_norm.mean[c]) * 255.0f;
}

START_TEST(test_train_photometric_by_hand)
{
    // a 2x2 image at S = 2: the resize is a copy, so the outputs are the distorted pixels
    uint8_t rgb[12] = {200, 100, 100, 255, 0, 0, 10, 20, 30, 250, 250, 250};
    rd_image img = {2, 2, rgb};
    train_transform_config cfg;
    transform_train_defaults(&cfg, 2, &tt_norm);
    rd_arena a;
    rd_arena_init(&a);
    float p[12];
    train_draw d;
    transform_train_identity(2, 2, &d);
    d.saturation = 0.5f;  // (200,100,100): V 200, S 0.5 → 0.25, min 150; red: S 1 → 0.5
    transform_train_pixels(&d, &cfg, &img, &a, p);
    ck_assert_float_eq_tol(tt_pixel(p, 2, 0, 0, 0), 200, 1e-3);
    ck_assert_float_eq_tol(tt_pixel(p, 2, 1, 0, 0), 150, 1e-3);
    ck_assert_float_eq_tol(tt_pixel(p, 2, 2, 0, 0), 150, 1e-3);
    ck_assert_float_eq_tol(tt_pixel(p, 2, 1, 0, 1), 128, 1e-3);  // 127.5 rounds up
    transform_train_identity(2, 2, &d);
    d.hue = 120.0f;  // red → green; (200,100,100) (hue 0) → (100,200,100)
    transform_train_pixels(&d, &cfg, &img, &a, p);
    ck_assert_float_eq_tol(tt_pixel(p, 2, 0, 0, 0), 100, 1e-3);
    ck_assert_float_eq_tol(tt_pixel(p, 2, 1, 0, 0), 200, 1e-3);
    ck_assert_float_eq_tol(tt_pixel(p, 2, 2, 0, 0), 100, 1e-3);
    ck_assert_float_eq_tol(tt_pixel(p, 2, 0, 0, 1), 0, 1e-3);
    ck_assert_float_eq_tol(tt_pixel(p, 2, 1, 0, 1), 255, 1e-3);
    ck_assert_float_eq_tol(tt_pixel(p, 2, 2, 0, 1), 0, 1e-3);
    transform_train_identity(2, 2, &d);
    d.brightness = 10.0f;  // then contrast 2 before: clamp(clamp(v + 10) · 2)
    d.contrast_first = 2.0f;
    d.swap[0] = 2, d.swap[1] = 0, d.swap[2] = 1;  // out R = in B, G = R, B = G
    transform_train_pixels(&d, &cfg, &img, &a, p);
    ck_assert_float_eq_tol(tt_pixel(p, 2, 0, 1, 0), 80, 1e-3);   // B 30 → 80
    ck_assert_float_eq_tol(tt_pixel(p, 2, 1, 1, 0), 40, 1e-3);   // R 10 → 40
    ck_assert_float_eq_tol(tt_pixel(p, 2, 2, 1, 0), 60, 1e-3);   // G 20 → 60
    ck_assert_float_eq_tol(tt_pixel(p, 2, 0, 1, 1), 255, 1e-3);  // 260 clamped, ·2 clamped
    // the lighting add and the contrast after the HSV step, then the clamp
    transform_train_identity(2, 2, &d);
    d.contrast_last = 0.5f;
    d.lighting_add[1] = -60.0f;
    transform_train_pixels(&d, &cfg, &img, &a, p);
    ck_assert_float_eq_tol(tt_pixel(p, 2, 0, 0, 0), 100, 1e-3);
    ck_assert_float_eq_tol(tt_pixel(p, 2, 1, 0, 0), 0, 1e-3);    // 50 - 60 → 0
    ck_assert_float_eq_tol(tt_pixel(p, 2, 1, 1, 1), 65, 1e-3);   // 125 - 60
    rd_arena_free(&a);
}
END_TEST

START_TEST(test_train_reproducible_and_steady)
{
    train_transform_config cfg;
    transform_train_defaults(&cfg, TT_S, &tt_norm);
    cfg.lighting = TRAIN_LIGHTING_PCA;
    rd_image big = tt_image(TT_W, TT_H, 1), small = tt_image(20, 10, 2);
    rd_arena a;
    rd_arena_init(&a);
    size_t bytes = sizeof(float) * 3 * TT_S * TT_S;
    float *p[2] = {malloc(bytes), malloc(bytes)};
    rd_object o[TT_N], out[2][TT_N];
    int same_as_other_seed = 0;
    for (int run = 0; run < 3; run++) {
        uint64_t seed = run == 2 ? 43 : 42;  // runs 0 and 1 repeat a seed, run 2 differs
        rd_rng rng;
        rd_rng_init(&rng, seed);
        tt_objects(o, TT_N, TT_W, TT_H, &rng);
        train_draw d;
        transform_train_draw(&cfg, TT_W, TT_H, o, TT_N, &rng, &d);
        int slot = run == 0 ? 0 : 1;
        int n = transform_train_boxes(&d, TT_S, o, TT_N, out[slot]);
        transform_train_pixels(&d, &cfg, &big, &a, p[slot]);
        if (run == 1) {
            ck_assert_int_eq(memcmp(p[0], p[1], sizeof(float) * 3 * TT_S * TT_S), 0);
            ck_assert_int_eq(memcmp(out[0], out[1], sizeof(rd_object) * n), 0);
        }
        if (run == 2)
            same_as_other_seed = memcmp(p[0], p[1], sizeof(float) * 3 * TT_S * TT_S) == 0;
        rd_rng_free(&rng);
    }
    ck_assert(!same_as_other_seed);
    // the scratch stops growing once the largest image has been seen
    size_t grows = a.grows;
    rd_rng rng;
    rd_rng_init(&rng, 5);
    for (int t = 0; t < 50; t++) {
        const rd_image *img = t % 2 ? &big : &small;
        train_draw d;
        transform_train_draw(&cfg, img->width, img->height, NULL, 0, &rng, &d);
        transform_train_pixels(&d, &cfg, img, &a, p[0]);
    }
    ck_assert_uint_eq(a.grows, grows);
    rd_rng_free(&rng);
    rd_arena_free(&a);
    free(p[0]);
    free(p[1]);
    free(big.rgb);
    free(small.rgb);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("transform_train");
    TCase *tc = tcase_create("transform_train");
    tcase_add_test(tc, test_train_geometry_invariants);
    tcase_add_test(tc, test_train_flip_mirrors_exactly);
    tcase_add_test(tc, test_train_expansion_offsets_and_fill);
    tcase_add_test(tc, test_train_identity_is_the_resize);
    tcase_add_test(tc, test_train_photometric_by_hand);
    tcase_add_test(tc, test_train_reproducible_and_steady);
    suite_add_tcase(s, tc);
    return s;
}
