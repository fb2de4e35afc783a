/* test_tv_parity.c — rankdet's RetinaNet against torchvision 0.14 (tests/fixtures/tv_*.h5 by
 * tests/make_torchvision_fixtures.py): retinanet_resnet50_fpn and a ResNet-18 FPN RetinaNet
 * with generated weights (rebuilt here bit for bit, written to HDF5, loaded back through the
 * checkpoint loader) on a generated image through the torchvision test transform, and narrow
 * RetinaNets whose real torchvision state_dicts (P6 on P5 and on C5) load by name. FPN levels
 * and head outputs must agree within 1e-4 relative: per sampled value
 * |c - t| <= 1e-4 (|t| + mean |t|), per tensor the sum and the sum of magnitudes within
 * 1e-4 of the sum of magnitudes. Detections (detector/anchors.h and postprocess.h on top of
 * the model) must be torchvision's as a set: same labels, scores within 1e-4, boxes within
 * 1e-4 (1 + |coordinate|) pixels; only a detection whose score is within 1e-4 of the 0.05
 * threshold may be missing on either side (the fixture script picks weights without any). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "data/image.h"
#include "data/transform.h"
#include "detector/anchors.h"
#include "detector/checkpoint.h"
#include "detector/postprocess.h"
#include "detector/retinanet.h"
#include "tests/check_main.h"
#include "tests/h5io.h"
#include "tests/tv_fixture.h"
#include "tests/tv_weights.h"

/* The FPN levels and head outputs of m's last forward (one image) against the fixture's
 * summaries under prefix ("" or "odd/"). */
static void check_outputs(hid_t f, const retinanet *m, const char *prefix)
{
    char name[64];
    for (int l = 0; l < FPN_LEVELS; l++) {
        int64_t shape[4] = {1, m->cfg.fpn_channels, m->fpn.h[l], m->fpn.w[l]};
        snprintf(name, sizeof name, "%sfpn/P%d", prefix, l + 3);
        tvf_check_summary(f, name, m->fpn.p[l], shape, 4);
    }
    int64_t cls[3] = {1, m->num_anchors_total, m->cfg.num_classes};
    int64_t box[3] = {1, m->num_anchors_total, 4};
    snprintf(name, sizeof name, "%shead/cls_logits", prefix);
    tvf_check_summary(f, name, m->cls_logits, cls, 3);
    snprintf(name, sizeof name, "%shead/bbox_regression", prefix);
    tvf_check_summary(f, name, m->bbox_regression, box, 3);
}

/* Anchors and post-processing of m's last forward against torchvision's detections. */
static void check_detections(hid_t f, const retinanet *m, int rh, int rw, int oh, int ow)
{
    const detector_preset *p = preset_find("torchvision");
    int gh[FPN_LEVELS], gw[FPN_LEVELS];
    for (int l = 0; l < FPN_LEVELS; l++) {
        gh[l] = m->levels[l].h;
        gw[l] = m->levels[l].w;
    }
    anchor_level levels[PRESET_LEVELS];
    int64_t a = anchors_levels(p, m->h, m->w, gh, gw, levels);
    ck_assert_int_eq(a, m->num_anchors_total);
    float *anchors = malloc(sizeof(float) * 4 * (size_t)a);
    anchors_generate(p, levels, anchors);
    double sum = 0.0;
    for (int64_t i = 0; i < 4 * a; i++)
        sum += anchors[i];
    int64_t n;
    double *ref_sum = h5io_read_column(f, "anchors/anchors_sum", &n);
    ck_assert_double_eq_tol(sum, ref_sum[0], 1e-9 * fabs(ref_sum[0]));
    postprocess_input in = {m->cls_logits, m->bbox_regression, anchors, levels,
                            m->cfg.num_classes, rh, rw, oh, ow, 0};
    rd_arena ws;
    rd_arena_init(&ws);
    rd_detection *got = calloc((size_t)p->detections_per_image, sizeof *got);
    int count = postprocess_detections(p, &in, &ws, got);
    tvf_check_detections(f, got, count);
    free(ref_sum);
    free(got);
    free(anchors);
    rd_arena_free(&ws);
}

/* torchvision's test transform of an 8-bit image: [0, 1], ImageNet normalisation, bilinear
 * resize by min(min_size / short, max_size / long), zero padding to a multiple of 32. Returns
 * the padded tensor (caller frees); *rh, *rw the resized and *ph, *pw the padded size. */
static float *tv_transform(const rd_image *img, float min_size, float max_size, int *rh, int *rw,
                           int *ph, int *pw)
{
    static const norm_params imagenet = {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
    int h = img->height, w = img->width;
    float *x = malloc(sizeof(float) * 3 * h * w);
    image_to_chw01(img, x);
    normalize_chw(x, h, w, &imagenet);
    float scale = transform_resize_scale(h, w, min_size, max_size);
    transform_resized_size(h, w, scale, rh, rw);
    float *r = malloc(sizeof(float) * 3 * *rh * *rw);
    resize_bilinear_chw(x, 3, h, w, r, *rh, *rw);
    *ph = transform_round_up(*rh, 32);
    *pw = transform_round_up(*rw, 32);
    float *p = malloc(sizeof(float) * 3 * *ph * *pw);
    pad_chw(r, 3, *rh, *rw, p, *ph, *pw);
    free(x);
    free(r);
    return p;
}

/* Generated weights → checkpoint file → a fresh model loaded from it → the fixture's image
 * through the transform → forward; checks sizes and outputs. Returns the model. */
static retinanet *parity_run(const char *fixture, hid_t *file_out)
{
    hid_t f = tvf_open(fixture);
    retinanet_config c;
    retinanet_config_default(&c, 0);
    c.depth = tvf_attr_int(f, "depth");
    c.num_classes = tvf_attr_int(f, "num_classes");
    uint64_t seed = (uint64_t)tvf_attr_int(f, "seed");
    retinanet *gen = retinanet_create_inference(&c);
    tvw_fill_model(gen, seed, h5io_read_double_attr(f, "gain_cls"),
                   h5io_read_double_attr(f, "gain_box"));
    char *dir = test_tmpdir(), *path = test_path_in(dir, "weights.h5"), err[4096];
    ck_assert_msg(checkpoint_save(path, gen, err, sizeof err) == 0, "%s", err);
    retinanet_destroy(gen);
    retinanet *m = retinanet_create_inference(&c);
    ck_assert_msg(checkpoint_load(path, m, err, sizeof err) == 0, "%s", err);
    remove(path);
    remove(dir);
    free(path);
    free(dir);

    rd_image img;
    image_alloc(&img, tvf_attr_int(f, "image_w"), tvf_attr_int(f, "image_h"));
    tvw_image(seed, img.height, img.width, img.rgb);
    int rh, rw, ph, pw;
    float *x = tv_transform(&img, (float)tvf_attr_int(f, "min_size"), (float)tvf_attr_int(f, "max_size"),
                            &rh, &rw, &ph, &pw);
    int64_t n;
    double *input = h5io_read_column(f, "input_size", &n), *resized;
    resized = h5io_read_column(f, "image_size", &n);
    ck_assert_int_eq(ph, (int)input[0]);
    ck_assert_int_eq(pw, (int)input[1]);
    ck_assert_int_eq(rh, (int)resized[0]);
    ck_assert_int_eq(rw, (int)resized[1]);
    retinanet_plan(m, 1, ph, pw, 0);
    retinanet_forward(m, x);
    check_outputs(f, m, "");
    check_detections(f, m, rh, rw, img.height, img.width);
    free(input);
    free(resized);
    free(x);
    image_free(&img);
    *file_out = f;
    return m;
}

START_TEST(test_parity_resnet50)
{
    hid_t f;
    retinanet *m = parity_run("tv_r50.h5", &f);
    H5Fclose(f);
    retinanet_destroy(m);
}
END_TEST

START_TEST(test_parity_resnet18)
{
    hid_t f;
    retinanet *m = parity_run("tv_r18.h5", &f);
    H5Fclose(f);
    retinanet_destroy(m);
}
END_TEST

/* Saving m (loaded from fixture file f) gives exactly torchvision's names, in its order, with
 * the same shapes and values. */
static void check_round_trip(hid_t f, const retinanet *m)
{
    char err[4096];
    char *dir = test_tmpdir(), *copy = test_path_in(dir, "copy.h5");
    ck_assert_msg(checkpoint_save(copy, m, err, sizeof err) == 0, "%s", err);
    hid_t g = H5Fopen(copy, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t names = H5Dopen2(f, "names", H5P_DEFAULT);
    hid_t space = H5Dget_space(names);
    hssize_t count = H5Sget_simple_extent_npoints(space);
    ck_assert_int_eq(count, m->nparams);
    char **list = calloc((size_t)count, sizeof *list);
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, H5T_VARIABLE);
    H5Tset_cset(str, H5T_CSET_UTF8);
    ck_assert_int_ge(H5Dread(names, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, list), 0);
    for (hssize_t i = 0; i < count; i++) {
        char key[160];
        snprintf(key, sizeof key, "state_dict/%s", list[i]);
        ck_assert_str_eq(m->params[i].name, list[i]);  // torchvision's state_dict order
        int ra, rb;
        hsize_t da[8], db[8];
        size_t na, nb;
        float *va = tvf_read_floats(f, key, &ra, da, &na), *vb = tvf_read_floats(g, key, &rb, db, &nb);
        ck_assert_int_eq(ra, rb);
        for (int k = 0; k < ra; k++)
            ck_assert_int_eq(da[k], db[k]);
        ck_assert_msg(na == nb && memcmp(va, vb, na * sizeof(float)) == 0, "%s differs", key);
        free(va);
        free(vb);
    }
    H5Dvlen_reclaim(str, space, H5P_DEFAULT, list);
    free(list);
    H5Tclose(str);
    H5Sclose(space);
    H5Dclose(names);
    H5Fclose(g);
    remove(copy);
    remove(dir);
    free(copy);
    free(dir);
}

/* A real torchvision state_dict (narrow model, torchvision's init, random BatchNorm statistics)
 * loads by name, gives torchvision's outputs, and saves back to the same names and values. */
static void check_narrow(const char *fixture)
{
    hid_t f = tvf_open(fixture);
    retinanet_config c;
    retinanet_config_default(&c, 0);
    c.depth = 18;
    c.width = tvf_attr_int(f, "width");
    c.fpn_channels = tvf_attr_int(f, "fpn_channels");
    c.num_classes = tvf_attr_int(f, "num_classes");
    c.p6_from_c5 = tvf_attr_int(f, "p6_from_c5");
    char path[256], err[4096];
    snprintf(path, sizeof path, "tests/fixtures/%s", fixture);
    int h = tvf_attr_int(f, "input_h"), w = tvf_attr_int(f, "input_w");
    H5Fclose(f);  // HDF5 opens a file once per access property list
    retinanet *m = retinanet_create_inference(&c);
    ck_assert_msg(checkpoint_load(path, m, err, sizeof err) == 0, "%s", err);
    f = tvf_open(fixture);
    float *x = malloc(sizeof(float) * 3 * h * w);
    tvw_uniform_pm1("input", 0, (size_t)3 * h * w, x);
    retinanet_plan(m, 1, h, w, 0);
    retinanet_forward(m, x);
    check_outputs(f, m, "");
    int oh = tvf_attr_int(f, "odd_h"), ow = tvf_attr_int(f, "odd_w");
    float *odd = malloc(sizeof(float) * 3 * oh * ow);
    tvw_uniform_pm1("input", 0, (size_t)3 * oh * ow, odd);
    retinanet_plan(m, 1, oh, ow, 0);
    retinanet_forward(m, odd);
    ck_assert_int_eq(m->fpn.h[0], 9);  // ceil(70 / 8): P4 is 5 high, so P3 is no 2x of it
    check_outputs(f, m, "odd/");
    free(odd);

    check_round_trip(f, m);
    free(x);
    H5Fclose(f);
    retinanet_destroy(m);
}

START_TEST(test_narrow_torchvision_state_dict_p5)
{
    check_narrow("tv_narrow_p5.h5");
}
END_TEST

START_TEST(test_narrow_torchvision_state_dict_c5)
{
    check_narrow("tv_narrow_c5.h5");
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("tv_parity");
    TCase *tc = tcase_create("tv_parity");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_parity_resnet50);
    tcase_add_test(tc, test_parity_resnet18);
    tcase_add_test(tc, test_narrow_torchvision_state_dict_p5);
    tcase_add_test(tc, test_narrow_torchvision_state_dict_c5);
    suite_add_tcase(s, tc);
    return s;
}
