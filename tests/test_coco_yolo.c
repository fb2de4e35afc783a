/* test_coco_yolo.c — the COCO and YOLO readers: YOLO lines by hand, names files (text and the
 * YAML forms), small COCO and YOLO folders built in a temporary folder (clamping, degenerate
 * and crowd boxes, background, orphans, bad samples under both policies), format detection,
 * and coco128, where the COCO JSON and the YOLO labels must agree box for box. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/dataset_build.h"
#include "data/yolo.h"
#include "tests/check_main.h"
#include "tests/data_fixture.h"

/* YOLO's 6 decimals round cx and w by at most 5e-7 each, so x1 = W·(cx - w/2) moves by at most
 * 7.5e-7·W = 4.8e-4 px at W = 640; float32 rounding of a coordinate below 1024 adds at most
 * 3.1e-5 px on each side. */
#define COCO_YOLO_TOL_PX 1e-3

static void yolo_expect_box(const char *line, int width, int height, int label, rd_box want)
{
    int32_t got_label = -1;
    rd_box got;
    char err[256];
    ck_assert_msg(yolo_parse_line(line, 5, width, height, "x.txt", 1, &got_label, &got, err,
                                  sizeof err) == 0, "%s", err);
    ck_assert_int_eq(got_label, label);
    ck_assert_msg(got.x1 == want.x1 && got.y1 == want.y1 && got.x2 == want.x2 &&
                      got.y2 == want.y2, "%s: (%g %g %g %g)", line, got.x1, got.y1, got.x2,
                  got.y2);
}

static void yolo_expect_error(const char *line, const char *want)
{
    int32_t label;
    rd_box box;
    char err[256] = "";
    ck_assert_int_eq(yolo_parse_line(line, 5, 100, 50, "x.txt", 4, &label, &box, err,
                                     sizeof err), -1);
    ck_assert_msg(strncmp(err, "x.txt: line 4: ", 15) == 0, "no file and line: %s", err);
    ck_assert_msg(strstr(err, want) != NULL, "expected \"%s\" in: %s", want, err);
}

START_TEST(test_yolo_lines_by_hand)
{
    yolo_expect_box("3 0.5 0.5 0.2 0.4\n", 100, 50, 3, (rd_box){40, 15, 60, 35});
    yolo_expect_box("0 0.25 0.75 0.5 0.5", 8, 4, 0, (rd_box){0, 2, 4, 4});
    yolo_expect_box("1 0.1 0.2 0.5 0.1 0.3 0.6", 10, 10, 1, (rd_box){1, 1, 5, 6});  // polygon
    int32_t label;
    rd_box box;
    char err[64];
    ck_assert_int_eq(yolo_parse_line(" \t\r\n", 5, 10, 10, "x.txt", 1, &label, &box, err,
                                     sizeof err), 1);
    yolo_expect_error("7 0.5 0.5 0.1 0.1", "unknown class 7 (the names file has 5 classes, 0 "
                                           "to 4)");
    yolo_expect_error("1.5 0.5 0.5 0.1 0.1", "unknown class 1.5");
    yolo_expect_error("-1 0.5 0.5 0.1 0.1", "unknown class -1");
    yolo_expect_error("1 0.5 0.5 -0.1 0.1", "negative width -0.1");
    yolo_expect_error("1 0.5 0.5 0.1 -2", "negative height -2");
    yolo_expect_error("1 0.5 0.5x 0.1 0.1", "'0.5x' is not a number");
    yolo_expect_error("1 nan 0.5 0.1 0.1", "'nan' is not a number");
    yolo_expect_error("1 0.5 0.5 0.1", "found 4 numbers");
    yolo_expect_error("1 0.5 0.5 0.1 0.1 0.2", "found 6 numbers");
}
END_TEST

/* dataset_read_names on text written to a file called name: its return code. */
static int names_read(const char *name, const char *text, rd_dataset *ds, char *err)
{
    char *dir = test_tmpdir();
    data_fixture_text(dir, name, text);
    char *path = test_path_in(dir, name);
    *ds = (rd_dataset){0};
    int rc = dataset_read_names(path, ds, err, 512);
    free(path);
    free(dir);
    return rc;
}

static void names_expect(const char *name, const char *text, int n, const char *first,
                         const char *last)
{
    rd_dataset ds;
    char err[512];
    ck_assert_msg(names_read(name, text, &ds, err) == 0, "%s", err);
    ck_assert_int_eq(ds.nclasses, n);
    ck_assert_str_eq(ds.class_names[0], first);
    ck_assert_str_eq(ds.class_names[n - 1], last);
    ck_assert_int_eq(ds.category_ids[n - 1], n - 1);
    dataset_free(&ds);
}

static void names_expect_error(const char *name, const char *text, const char *want)
{
    rd_dataset ds;
    char err[512];
    ck_assert_int_eq(names_read(name, text, &ds, err), -1);
    ck_assert_msg(strstr(err, want) != NULL, "expected \"%s\" in: %s", want, err);
    ck_assert_msg(strstr(err, name) != NULL, "the file is not named: %s", err);
}

START_TEST(test_names_files)
{
    names_expect("classes.txt", "cat\n\n  big dog \n", 2, "cat", "big dog");
    names_expect("a.yaml", "path: .\nnames:\n  - cat  # a comment\n  - 'hot dog'\nnc: 2\n", 2,
                 "cat", "hot dog");
    names_expect("b.yaml", "names:\n- a\n- b\n- c\ntrain: x\n", 3, "a", "c");
    names_expect("c.yaml", "nc: 3\nnames: ['x', \"y\", z]  # flow\n", 3, "x", "z");
    names_expect("d.yml", "names:\n  2: two\n  0: zero\n  1: one\n", 3, "zero", "two");
    names_expect_error("e.yaml", "names:\n  0: a\n  2: c\n", "class 1 has no name");
    names_expect_error("f.yaml", "nc: 3\nnames: [a, b]\n", "nc: 3 but 2 names");
    names_expect_error("g.txt", "a\nb\na\n", "'a' is listed twice (classes 0 and 2)");
    names_expect_error("h.yaml", "names:\n  - a\n  x y\n", "line 3: names: expected");
    names_expect_error("i.yaml", "names: a\n", "line 1: names: expected a list");
    names_expect_error("j.yaml", "train: x\n", "no class names found");
    names_expect_error("k.yaml", "names:\n  0: a\n  0: b\n", "line 3: names: index 0 given "
                                                            "twice");
}
END_TEST

/* Index of the sample whose image path ends in suffix, or -1. */
static int64_t cy_find(const rd_dataset *ds, const char *suffix)
{
    for (int64_t i = 0; i < ds->nsamples; i++) {
        const char *p = ds->samples[i].image_path;
        size_t n = strlen(p), m = strlen(suffix);
        if (n >= m && strcmp(p + n - m, suffix) == 0)
            return i;
    }
    return -1;
}

static void cy_open(const char *path, const char *format, const char *split, rd_dataset *ds)
{
    dataset_options opt = {.format = format, .split = split};
    char err[512];
    ck_assert_msg(dataset_open(path, &opt, ds, err, sizeof err) == 0, "%s", err);
}

START_TEST(test_coco128_json_and_yolo_agree)
{
    const char *root = data_fixture_shared("coco128");
    rd_dataset c, y;
    cy_open(root, "coco", "train2017", &c);
    cy_open(root, "yolo", "train2017", &y);
    ck_assert_int_eq(c.nsamples, 128);
    ck_assert_int_eq(y.nsamples, 128);
    ck_assert_int_eq(c.nobjects, 939);
    ck_assert_int_eq(y.nobjects, 929);
    ck_assert_int_eq(c.orphan_labels, 0);
    ck_assert_int_eq(y.orphan_labels, 2);  // 000000000656.txt, 000000000659.txt
    ck_assert_int_eq(c.nclasses, 80);
    ck_assert_int_eq(y.nclasses, 80);
    int crowd = 0, background = 0;
    double worst = 0;
    for (int64_t i = 0; i < c.nsamples; i++) {
        const rd_sample *cs = &c.samples[i], *ys = &y.samples[i];
        ck_assert_str_eq(cs->image_path, ys->image_path);
        background += cs->nobjects == 0;
        ck_assert_int_eq(cs->nobjects == 0, ys->nobjects == 0);
        const rd_object *co = c.objects + cs->first_object, *yo = y.objects + ys->first_object;
        int k = 0;
        for (int j = 0; j < cs->nobjects; j++) {
            crowd += co[j].crowd;
            if (co[j].crowd)
                continue;  // YOLO labels leave crowd boxes out
            ck_assert_int_lt(k, ys->nobjects);
            ck_assert_int_eq(co[j].label, yo[k].label);
            const float *a = &co[j].box.x1, *b = &yo[k].box.x1;
            for (int e = 0; e < 4; e++)
                worst = fmax(worst, fabs((double)a[e] - b[e]));
            k++;
        }
        ck_assert_int_eq(k, ys->nobjects);
    }
    ck_assert_msg(worst <= COCO_YOLO_TOL_PX, "largest difference %g px", worst);
    ck_assert_int_eq(crowd, 10);
    ck_assert_int_eq(background, 2);
    ck_assert_int_eq(c.samples[cy_find(&c, "/000000000250.jpg")].nobjects, 0);
    ck_assert_int_eq(c.samples[cy_find(&c, "/000000000508.jpg")].nobjects, 0);
    ck_assert_int_eq(y.samples[cy_find(&y, "/000000000250.jpg")].nobjects, 0);
    ck_assert_int_eq(y.samples[cy_find(&y, "/000000000508.jpg")].nobjects, 0);
    for (int k = 0; k < 80; k++)  // the YAML's names are the categories in ascending id
        ck_assert_str_eq(c.class_names[k], y.class_names[k]);
    ck_assert_int_eq(c.category_ids[0], 1);
    ck_assert_int_eq(c.category_ids[11], 13);  // stop sign: COCO has no category 12
    ck_assert_int_eq(c.category_ids[79], 90);
    ck_assert_str_eq(c.class_names[11], "stop sign");
    const rd_sample *first = &c.samples[0];
    ck_assert_int_eq(first->image_id, 9);
    ck_assert_int_eq(y.samples[0].image_id, 0);
    ck_assert(fabsf(c.objects[first->first_object].area - 120057.13925f) < 0.01f);  // kept
    dataset_free(&c);
    dataset_free(&y);
}
END_TEST

static const char *const COCO_MINI =
    "{\"images\": [{\"id\": 3, \"file_name\": \"3.jpg\", \"width\": 40, \"height\": 30},\n"
    " {\"id\": 1, \"file_name\": \"1.jpg\", \"width\": 40, \"height\": 30},\n"
    " {\"id\": 2, \"file_name\": \"2.png\", \"width\": %d, \"height\": 20}],\n"
    " \"categories\": [{\"id\": 7, \"name\": \"b\"}, {\"id\": 3, \"name\": \"a\"}],\n"
    " \"annotations\": [\n"
    "  {\"id\": 1, \"image_id\": 1, \"category_id\": 7, \"bbox\": [-2, 5, 10, 10], "
    "\"area\": 77.5},\n"
    "  {\"id\": 2, \"image_id\": 1, \"category_id\": 3, \"bbox\": [35, 0, 10, 40], "
    "\"iscrowd\": 1, \"area\": 400},\n"
    "  {\"id\": 3, \"image_id\": 1, \"category_id\": 3, \"bbox\": [10, 10, 0, 5]},\n"
    "  {\"id\": 4, \"image_id\": 3, \"category_id\": 3, \"bbox\": [1, 1, 5, 5]},\n"
    "  {\"id\": 5, \"image_id\": 3, \"category_id\": 7, \"bbox\": [1, 1, 5, 5]}]}\n";

/* root/annotations/instances_mini.json (image 2 said to be width2 wide) and root/images/mini
 * with 1.jpg (40x30) and 2.png (20x20); 3.jpg is missing. */
static char *coco_make_mini(int width2)
{
    char *dir = test_tmpdir(), json[2048];
    snprintf(json, sizeof json, COCO_MINI, width2);
    data_fixture_text(dir, "root/annotations/instances_mini.json", json);
    data_fixture_image(dir, "root/images/mini/1.jpg", 40, 30, 0);
    data_fixture_image(dir, "root/images/mini/2.png", 20, 20, 1);
    data_fixture_text(dir, "names.txt", "b\n");
    return dir;
}

START_TEST(test_coco_built_json)
{
    char *dir = coco_make_mini(20), *root = test_path_in(dir, "root");
    char *json = test_path_in(dir, "root/annotations/instances_mini.json");
    for (int pass = 0; pass < 2; pass++) {
        rd_dataset ds;
        if (pass == 0)
            cy_open(root, NULL, "mini", &ds);
        else
            cy_open(json, NULL, NULL, &ds);
        ck_assert_int_eq(ds.nclasses, 2);
        ck_assert_str_eq(ds.class_names[0], "a");  // id 3 before id 7
        ck_assert_int_eq(ds.category_ids[1], 7);
        ck_assert_int_eq(ds.nsamples, 2);  // 3.jpg is missing
        ck_assert_int_eq(ds.orphan_labels, 2);
        ck_assert_int_eq(ds.dropped_boxes, 1);  // w = 0
        const rd_sample *s1 = &ds.samples[0], *s2 = &ds.samples[1];
        ck_assert_int_eq(s1->image_id, 1);
        ck_assert_int_eq(s1->nobjects, 2);
        const rd_object *o = &ds.objects[s1->first_object];
        ck_assert(o[0].box.x1 == 0 && o[0].box.y1 == 5 && o[0].box.x2 == 8 && o[0].box.y2 == 15);
        ck_assert_int_eq(o[0].label, 1);
        ck_assert(o[0].area == 77.5f);  // as written, not the clamped 80
        ck_assert(o[1].box.x1 == 35 && o[1].box.x2 == 40 && o[1].box.y2 == 30);
        ck_assert_int_eq(o[1].crowd, 1);
        ck_assert_int_eq(s2->image_id, 2);
        ck_assert_int_eq(s2->nobjects, 0);
        dataset_free(&ds);
    }
    free(json);
    free(root);
    free(dir);
}
END_TEST

START_TEST(test_coco_bad_samples)
{
    char *dir = coco_make_mini(21), *root = test_path_in(dir, "root"), err[512];
    dataset_options opt = {.split = "mini"};
    rd_dataset ds;
    ck_assert_int_eq(dataset_open(root, &opt, &ds, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "instances_mini.json: images[2] (2.png): the JSON says 21x20, "
                              "the image is 20x20"), "%s", err);
    opt.on_bad_sample = BAD_SAMPLE_SKIP;
    ck_assert_int_eq(dataset_open(root, &opt, &ds, err, sizeof err), 0);
    ck_assert_int_eq(ds.nsamples, 1);
    ck_assert_int_eq(ds.skipped_samples, 1);
    dataset_free(&ds);
    char *names = test_path_in(dir, "names.txt");
    opt = (dataset_options){.split = "mini", .names = names};
    ck_assert_int_eq(dataset_open(root, &opt, &ds, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "annotations[1].category_id: 3 ('a') is not among the 1 classes"),
                  "%s", err);
    data_fixture_text(dir, "root/annotations/instances_bad.json", "{\"images\": [\n");
    opt = (dataset_options){.split = "bad"};
    ck_assert_int_eq(dataset_open(root, &opt, &ds, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "instances_bad.json") != NULL, "%s", err);
    opt = (dataset_options){.split = "nosuch"};
    ck_assert_int_eq(dataset_open(root, &opt, &ds, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no instances_nosuch.json"), "%s", err);
    free(names);
    free(root);
    free(dir);
}
END_TEST

/* root/images/train: a.jpg (40x20), b.png (10x10), c.jpg (not an image); root/labels/train:
 * a.txt, b.txt (empty), d.txt (no image), classes.txt; root/data.yaml. */
static char *yolo_make_root(void)
{
    char *dir = test_tmpdir();
    data_fixture_image(dir, "root/images/train/a.jpg", 40, 20, 0);
    data_fixture_image(dir, "root/images/train/b.png", 10, 10, 1);
    data_fixture_copy("not_image.jpg", dir, "root/images/train/c.jpg");
    data_fixture_text(dir, "root/labels/train/a.txt",
                      "0 0.5 0.5 0.5 0.5\n1 0.95 0.5 0.2 1.2\n\n0 1.2 0.5 0.1 0.1\n");
    data_fixture_text(dir, "root/labels/train/b.txt", "");
    data_fixture_text(dir, "root/labels/train/d.txt", "0 0.5 0.5 0.1 0.1\n");
    data_fixture_text(dir, "root/labels/train/classes.txt", "x\ny\nz\n");
    data_fixture_text(dir, "root/data.yaml", "names: [cat, dog]\n");
    data_fixture_image(dir, "bad/images/v/e.png", 8, 8, 1);
    data_fixture_text(dir, "bad/labels/v/e.txt", "0 0.5 0.5 0.1 0.1\n2 0.5 0.5 0.1 0.1\n");
    data_fixture_text(dir, "bad/labels/classes.txt", "p\nq\n");
    return dir;
}

START_TEST(test_yolo_built_folder)
{
    char *dir = yolo_make_root(), *root = test_path_in(dir, "root"), err[512];
    dataset_options opt = {.split = "train"};
    rd_dataset ds;
    ck_assert_int_eq(dataset_open(root, &opt, &ds, err, sizeof err), -1);  // YOLO detected
    ck_assert_msg(strstr(err, "images/train/c.jpg: not a JPEG or PNG"), "%s", err);
    opt.on_bad_sample = BAD_SAMPLE_SKIP;
    ck_assert_msg(dataset_open(root, &opt, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ds.nclasses, 3);  // classes.txt in labels/train comes first
    ck_assert_str_eq(ds.class_names[2], "z");
    ck_assert_int_eq(ds.nsamples, 2);
    ck_assert_int_eq(ds.skipped_samples, 1);
    ck_assert_int_eq(ds.orphan_labels, 1);  // d.txt, not classes.txt
    ck_assert_int_eq(ds.dropped_boxes, 1);  // x 46..50 in a 40-wide image
    ck_assert_int_eq(ds.samples[0].nobjects, 2);
    const rd_object *o = &ds.objects[0];
    ck_assert(o[0].box.x1 == 10 && o[0].box.y1 == 5 && o[0].box.x2 == 30 && o[0].box.y2 == 15);
    ck_assert(o[1].box.x1 == 34 && o[1].box.y1 == 0 && o[1].box.x2 == 40 && o[1].box.y2 == 20);
    ck_assert_int_eq(o[1].label, 1);
    ck_assert(o[1].area == 120.0f);
    ck_assert_int_eq(ds.samples[1].nobjects, 0);  // empty label file: background
    ck_assert_int_eq(ds.samples[1].image_id, 1);
    dataset_free(&ds);
    char *yaml = test_path_in(dir, "root/data.yaml");
    opt.names = yaml;
    ck_assert_msg(dataset_open(root, &opt, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ds.nclasses, 2);
    ck_assert_str_eq(ds.class_names[1], "dog");
    dataset_free(&ds);
    char *bad = test_path_in(dir, "bad/images/v");  // an images folder: labels beside it
    opt = (dataset_options){.format = "yolo"};
    ck_assert_int_eq(dataset_open(bad, &opt, &ds, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "labels/v/e.txt: line 2: unknown class 2"), "%s", err);
    free(bad);
    free(yaml);
    free(root);
    free(dir);
}
END_TEST

START_TEST(test_dataset_format_detection_and_errors)
{
    char *dir = test_tmpdir(), err[512];
    rd_dataset ds;
    ck_assert_int_eq(dataset_open(dir, NULL, &ds, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "cannot tell the dataset format"), "%s", err);
    dataset_options opt = {.format = "xml"};
    ck_assert_int_eq(dataset_open(dir, &opt, &ds, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "unknown dataset format 'xml'"), "%s", err);
    char *missing = test_path_in(dir, "nothing");
    ck_assert_int_eq(dataset_open(missing, NULL, &ds, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "nothing: cannot open"), "%s", err);
    data_fixture_mkdir(dir, "y/labels");
    data_fixture_mkdir(dir, "y/images");
    data_fixture_text(dir, "y/labels/classes.txt", "a\n");
    char *y = test_path_in(dir, "y");
    ck_assert_int_eq(dataset_open(y, NULL, &ds, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no images found (read as yolo)"), "%s", err);
    ck_assert_ptr_null(ds.samples);
    free(y);
    free(missing);
    free(dir);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("coco_yolo");
    TCase *tc = tcase_create("coco_yolo");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_yolo_lines_by_hand);
    tcase_add_test(tc, test_names_files);
    tcase_add_test(tc, test_coco128_json_and_yolo_agree);
    tcase_add_test(tc, test_coco_built_json);
    tcase_add_test(tc, test_coco_bad_samples);
    tcase_add_test(tc, test_yolo_built_folder);
    tcase_add_test(tc, test_dataset_format_detection_and_errors);
    suite_add_tcase(s, tc);
    return s;
}
