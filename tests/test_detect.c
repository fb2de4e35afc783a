/* test_detect.c — `rankdet detect` end to end: torchvision 0.14's outputs for a ResNet-18 FPN
 * RetinaNet with generated weights (tests/fixtures/tv_r18.h5; weights rebuilt by
 * tests/tv_weights.c and written as a checkpoint) from a PNG and from the same pixels as an
 * HDF5 float image, read back from --dump; the --draw PNG; a paper-preset model at its default
 * initialisation (no detection, 6 anchors per location); and the errors of bad flags, weights
 * that do not fit, and bad images. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "data/image.h"
#include "detector/checkpoint.h"
#include "detector/retinanet.h"
#include "tests/check_main.h"
#include "tests/cli_run.h"
#include "tests/h5io.h"
#include "tests/tv_fixture.h"
#include "tests/tv_weights.h"

#define OUT_SIZE 65536

typedef struct detect_case {
    char *dir, *weights, *png, *h5;
    int seed, height, width, min_size, max_size;
    rd_image img;
} detect_case;

/* The tv_r18 fixture's weights and image written into a fresh directory. */
static void case_make(detect_case *t)
{
    hid_t f = tvf_open("tv_r18.h5");
    t->seed = tvf_attr_int(f, "seed");
    t->height = tvf_attr_int(f, "image_h");
    t->width = tvf_attr_int(f, "image_w");
    t->min_size = tvf_attr_int(f, "min_size");
    t->max_size = tvf_attr_int(f, "max_size");
    retinanet_config c;
    retinanet_config_default(&c, 0);
    c.depth = 18;
    c.num_classes = tvf_attr_int(f, "num_classes");
    retinanet *m = retinanet_create_inference(&c);
    tvw_fill_model(m, (uint64_t)t->seed, h5io_read_double_attr(f, "gain_cls"),
                   h5io_read_double_attr(f, "gain_box"));
    H5Fclose(f);
    t->dir = test_tmpdir();
    t->weights = test_path_in(t->dir, "w.h5");
    t->png = test_path_in(t->dir, "image.png");
    t->h5 = test_path_in(t->dir, "image.h5");
    char err[1024];
    ck_assert_msg(checkpoint_save(t->weights, m, err, sizeof err) == 0, "%.800s", err);
    retinanet_destroy(m);
    image_alloc(&t->img, t->width, t->height);
    tvw_image((uint64_t)t->seed, t->height, t->width, t->img.rgb);
    ck_assert_msg(image_write_png(t->png, &t->img, err, sizeof err) == 0, "%.800s", err);
    /* The same pixels as float [3][H][W] = k / 255. */
    size_t plane = (size_t)t->height * t->width;
    float *chw = malloc(3 * plane * sizeof *chw);
    for (size_t i = 0; i < plane; i++)
        for (int ch = 0; ch < 3; ch++)
            chw[ch * plane + i] = (float)t->img.rgb[3 * i + ch] / 255.0f;
    hid_t g = H5Fcreate(t->h5, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[3] = {3, (hsize_t)t->height, (hsize_t)t->width};
    hid_t space = H5Screate_simple(3, dims, NULL);
    hid_t d = H5Dcreate2(g, "image", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                         H5P_DEFAULT);
    ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, chw), 0);
    H5Dclose(d);
    H5Sclose(space);
    H5Fclose(g);
    free(chw);
}

static void case_free(detect_case *t)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    cli_run_shell(cmd);
    free(t->dir);
    free(t->weights);
    free(t->png);
    free(t->h5);
    image_free(&t->img);
}

/* Run detect on input with the fixture's flags plus extra (spaces separate words). */
static int case_run(const detect_case *t, const char *input, const char *extra, char *out,
                    char *err)
{
    char line[4096];
    snprintf(line, sizeof line, "detect --weights %s --preset torchvision --backbone resnet18 "
             "--num-classes 20 --input %s --min-size %d --max-size %d --threads 2 %s",
             t->weights, input, t->min_size, t->max_size, extra);
    return cli_run_rankdet_line(line, out, err, OUT_SIZE);
}

/* The dump against the fixture: FPN levels, head outputs, anchors and detections. */
static void check_dump(const char *path)
{
    hid_t f = tvf_open("tv_r18.h5");
    hid_t d = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "no dump %s", path);
    static const char *names[] = {"fpn/P3", "fpn/P4", "fpn/P5", "fpn/P6", "fpn/P7",
                                  "head/cls_logits", "head/bbox_regression"};
    for (int i = 0; i < 7; i++) {
        int rank;
        hsize_t dims[8];
        size_t count;
        float *v = tvf_read_floats(d, names[i], &rank, dims, &count);
        int64_t shape[8];
        for (int k = 0; k < rank; k++)
            shape[k] = (int64_t)dims[k];
        tvf_check_summary(f, names[i], v, shape, rank);
        free(v);
    }
    int rank;
    hsize_t dims[8];
    size_t count;
    float *anchors = tvf_read_floats(d, "anchors/anchors", &rank, dims, &count);
    ck_assert_int_eq(rank, 2);
    ck_assert_int_eq(dims[1], 4);
    double sum = 0.0;
    for (size_t i = 0; i < count; i++)
        sum += anchors[i];
    int64_t n;
    double *ref = h5io_read_column(f, "anchors/anchors_sum", &n);
    ck_assert_double_eq_tol(sum, ref[0], 1e-9 * fabs(ref[0]));
    float *boxes = tvf_read_floats(d, "detections/boxes", &rank, dims, &count);
    ck_assert_int_eq(rank, 2);
    int m = (int)dims[0];
    double *scores = h5io_read_column(d, "detections/scores", &n);
    ck_assert_int_eq(n, m);
    hid_t ld = H5Dopen2(d, "detections/labels", H5P_DEFAULT);
    hid_t lt = H5Dget_type(ld);
    ck_assert(H5Tequal(lt, H5T_STD_I64LE) > 0);
    int64_t *labels = malloc(sizeof *labels * (size_t)(m + 1));
    ck_assert_int_ge(H5Dread(ld, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels), 0);
    rd_detection *got = calloc((size_t)m + 1, sizeof *got);
    for (int i = 0; i < m; i++)
        got[i] = (rd_detection){0, (int32_t)labels[i], (float)scores[i],
                                {boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2],
                                 boxes[4 * i + 3]}};
    tvf_check_detections(f, got, m);
    H5Tclose(lt);
    H5Dclose(ld);
    free(got);
    free(labels);
    free(scores);
    free(boxes);
    free(ref);
    free(anchors);
    H5Fclose(d);
    H5Fclose(f);
}

START_TEST(test_detect_png_matches_torchvision)
{
    detect_case t;
    case_make(&t);
    char *out = malloc(OUT_SIZE), *err = malloc(OUT_SIZE), extra[2048];
    char *dump = test_path_in(t.dir, "dump.h5"), *draw = test_path_in(t.dir, "draw.png");
    snprintf(extra, sizeof extra, "--dump %s --draw %s --draw-min-score 0", dump, draw);
    int rc = case_run(&t, t.png, extra, out, err);
    ck_assert_msg(rc == 0, "exit %d: %.800s", rc, err);
    ck_assert_msg(strstr(out, "46 detections") != NULL, "%.800s", out);
    ck_assert_msg(strstr(out, "network input 160 x 224 (resized 160 x 205)") != NULL, "%.800s", out);
    check_dump(dump);
    /* The drawing: the image enlarged (nearest) to at least 300 pixels a side, boxes over it. */
    rd_image drawn;
    char msg[1024];
    ck_assert_msg(image_read(draw, &drawn, msg, sizeof msg) == 0, "%s", msg);
    int side = t.width < t.height ? t.width : t.height;
    int up = side < 300 ? (300 + side - 1) / side : 1;
    ck_assert_int_eq(drawn.width, t.width * up);
    ck_assert_int_eq(drawn.height, t.height * up);
    size_t changed = 0;
    for (int y = 0; y < drawn.height; y++)
        for (int x = 0; x < drawn.width; x++)
            for (int ch = 0; ch < 3; ch++)
                changed += drawn.rgb[3 * ((size_t)y * drawn.width + x) + ch] !=
                           t.img.rgb[3 * ((size_t)(y / up) * t.width + x / up) + ch];
    ck_assert_uint_gt(changed, 100);
    image_free(&drawn);
    free(dump);
    free(draw);
    free(out);
    free(err);
    case_free(&t);
}
END_TEST

START_TEST(test_detect_h5_input_matches_torchvision)
{
    detect_case t;
    case_make(&t);
    char *out = malloc(OUT_SIZE), *err = malloc(OUT_SIZE), extra[2048];
    char *dump = test_path_in(t.dir, "dump.h5");
    snprintf(extra, sizeof extra, "--dump %s", dump);
    int rc = case_run(&t, t.h5, extra, out, err);
    ck_assert_msg(rc == 0, "exit %d: %.800s", rc, err);
    check_dump(dump);
    free(dump);
    free(out);
    free(err);
    case_free(&t);
}
END_TEST

/* The paper preset at its default initialisation: the prior bias -log(99) puts every score near
 * 0.01, the paper's threshold, so about half pass and the list is cut at the paper's 100; the
 * dump has 6 anchors per location. */
START_TEST(test_detect_paper_default_init)
{
    char *dir = test_tmpdir(), *w = test_path_in(dir, "w.h5"), *img = test_path_in(dir, "i.png");
    char *dump = test_path_in(dir, "d.h5"), msg[1024];
    retinanet_config c;
    retinanet_config_preset(&c, preset_find("paper"));
    c.depth = 18;
    retinanet *m = retinanet_create_inference(&c);
    retinanet_init_weights(m, 1);
    ck_assert_msg(checkpoint_save(w, m, msg, sizeof msg) == 0, "%s", msg);
    retinanet_destroy(m);
    rd_image im;
    image_alloc(&im, 50, 40);
    for (int i = 0; i < 50 * 40 * 3; i++)
        im.rgb[i] = (uint8_t)(i * 7);
    ck_assert_msg(image_write_png(img, &im, msg, sizeof msg) == 0, "%s", msg);
    image_free(&im);
    char *out = malloc(OUT_SIZE), *err = malloc(OUT_SIZE), line[4096];
    snprintf(line, sizeof line, "detect --weights %s --preset paper --backbone resnet18 "
             "--num-classes 20 --input %s --min-size 100 --max-size 160 --dump %s", w, img,
             dump);
    int rc = cli_run_rankdet_line(line, out, err, OUT_SIZE);
    ck_assert_msg(rc == 0, "exit %d: %.800s", rc, err);
    /* 40 x 50 → scale min(100/40, 160/50) = 2.5 → 100 x 125, padded to 128 x 128. */
    ck_assert_msg(strstr(out, "network input 128 x 128 (resized 125 x 100), 100 detections"),
                  "%.500s", out);
    hid_t d = H5Fopen(dump, H5F_ACC_RDONLY, H5P_DEFAULT);
    int rank;
    hsize_t dims[8];
    size_t count;
    float *anchors = tvf_read_floats(d, "anchors/anchors", &rank, dims, &count);
    ck_assert_int_eq(dims[0], 6 * (16 * 16 + 8 * 8 + 4 * 4 + 2 * 2 + 1));
    float *scores = tvf_read_floats(d, "detections/scores", &rank, dims, &count);
    ck_assert_int_eq(rank, 1);
    ck_assert_int_eq(dims[0], 100);
    for (int i = 0; i < 100; i++) {
        ck_assert(scores[i] > 0.01f && scores[i] < 0.02f);
        ck_assert(i == 0 || scores[i] <= scores[i - 1]);
    }
    free(anchors);
    free(scores);
    H5Fclose(d);
    snprintf(line, sizeof line, "rm -rf '%s'", dir);
    cli_run_shell(line);
    free(out);
    free(err);
    free(dir);
    free(w);
    free(img);
    free(dump);
}
END_TEST

START_TEST(test_detect_errors)
{
    detect_case t;
    case_make(&t);
    char *out = malloc(OUT_SIZE), *err = malloc(OUT_SIZE), line[4096];
    /* Usage errors: exit 2 with the flag named. */
    ck_assert_int_eq(cli_run_rankdet_line("detect --input x.png --num-classes 3", out, err,
                                          OUT_SIZE), 2);
    ck_assert_msg(strstr(err, "--weights"), "%.800s", err);
    snprintf(line, sizeof line, "detect --weights %s --input %s --num-classes 20 --preset yolo",
             t.weights, t.png);
    ck_assert_int_eq(cli_run_rankdet_line(line, out, err, OUT_SIZE), 2);
    ck_assert_msg(strstr(err, "unknown --preset 'yolo'"), "%.800s", err);
    snprintf(line, sizeof line, "detect --weights %s --input %s --num-classes 20 --backbone "
             "resnet152", t.weights, t.png);
    ck_assert_int_eq(cli_run_rankdet_line(line, out, err, OUT_SIZE), 2);
    ck_assert_msg(strstr(err, "unknown --backbone 'resnet152'"), "%.800s", err);
    /* Without --backbone and --num-classes the network is read from the weights. */
    snprintf(line, sizeof line, "detect --weights %s --preset torchvision --input %s", t.weights,
             t.png);
    ck_assert_int_eq(cli_run_rankdet_line(line, out, err, OUT_SIZE), 0);
    char extra[1024];
    snprintf(extra, sizeof extra, "--dump %s", t.dir);
    ck_assert_int_eq(case_run(&t, t.png, extra, out, err), 2);
    ck_assert_msg(strstr(err, "is a directory"), "%.800s", err);
    /* Flags that disagree with the weights: exit 1 saying what the weights hold. */
    snprintf(line, sizeof line, "detect --weights %s --preset torchvision --backbone resnet18 "
             "--num-classes 21 --input %s", t.weights, t.png);
    ck_assert_int_eq(cli_run_rankdet_line(line, out, err, OUT_SIZE), 1);
    ck_assert_msg(strstr(err, "hold a resnet18 RetinaNet with 20 classes under the torchvision "
                              "preset"), "%.800s", err);
    snprintf(line, sizeof line, "detect --weights %s --preset torchvision --backbone resnet34 "
             "--num-classes 20 --input %s", t.weights, t.png);
    ck_assert_int_eq(cli_run_rankdet_line(line, out, err, OUT_SIZE), 1);
    ck_assert_msg(strstr(err, "hold a resnet18"), "%.800s", err);
    /* Under the paper preset the 180 logits read as 30 classes of 6 anchors, but its P6 takes
     * C5, not P5: the load names the tensor that does not fit. */
    snprintf(line, sizeof line, "detect --weights %s --preset paper --input %s", t.weights,
             t.png);
    ck_assert_int_eq(cli_run_rankdet_line(line, out, err, OUT_SIZE), 1);
    ck_assert_msg(strstr(err, "state_dict/"), "%.800s", err);
    /* Bad images: exit 1 naming the file. */
    char *bad = test_path_in(t.dir, "bad.h5");
    hid_t g = H5Fcreate(bad, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[3] = {3, 4, 4};
    float v[48];
    for (int i = 0; i < 48; i++)
        v[i] = i == 7 ? 2.0f : 0.5f;
    h5io_add_dataset(g, "other", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, v, 48, 0);
    hid_t space = H5Screate_simple(3, dims, NULL);
    hid_t d = H5Dcreate2(g, "image", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                         H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(d);
    H5Sclose(space);
    H5Fclose(g);
    ck_assert_int_eq(case_run(&t, bad, "", out, err), 1);
    ck_assert_msg(strstr(err, bad) && strstr(err, "outside [0, 1]"), "%.800s", err);
    ck_assert_int_eq(case_run(&t, t.weights, "", out, err), 1);  // HDF5 without `image`
    ck_assert_msg(strstr(err, "has no dataset 'image'"), "%.800s", err);
    ck_assert_int_eq(case_run(&t, "/no/such.png", "", out, err), 1);
    ck_assert_msg(strstr(err, "/no/such.png"), "%.800s", err);
    free(bad);
    free(out);
    free(err);
    case_free(&t);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("detect");
    TCase *tc = tcase_create("detect");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_detect_png_matches_torchvision);
    tcase_add_test(tc, test_detect_h5_input_matches_torchvision);
    tcase_add_test(tc, test_detect_paper_default_init);
    tcase_add_test(tc, test_detect_errors);
    suite_add_tcase(s, tc);
    return s;
}
