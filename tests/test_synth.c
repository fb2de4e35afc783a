/* test_synth.c — `rankdet synth`: the written set reads back through dataset_open (VOC) with
 * exactly the boxes and labels rendered, in the right split; the flags are honoured (image
 * count, classes, size, split share); the same seed writes the same bytes and another seed
 * other images; the objects obey the documented size, count and overlap limits; bad flags fail
 * with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/synth.h"
#include "tests/check_main.h"
#include "tests/cli_run.h"

#define SY_OUT 8192

/* The render index of a sample, from its file name NNNNNN.jpg. */
static int64_t sy_index_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return atoll(slash ? slash + 1 : path);
}

/* Open the set's split with no names option: the class list must come from the names.txt at
 * its root, not the 20 VOC classes of a devkit. */
static void sy_open(const char *dir, const char *split, rd_dataset *ds)
{
    char err[1024];
    dataset_options opt = {.format = "voc", .split = split, .on_bad_sample = BAD_SAMPLE_ERROR};
    ck_assert_msg(dataset_open(dir, &opt, ds, err, sizeof err) == 0, "%s", err);
}

/* Every sample of ds has the boxes and labels synth_render gives for its index. */
static void sy_check_split(const rd_dataset *ds, const synth_config *cfg, int64_t first,
                           int64_t count)
{
    ck_assert_int_eq(ds->nsamples, count);
    ck_assert_int_eq(ds->nclasses, cfg->classes);
    ck_assert_str_eq(ds->class_names[cfg->classes - 1], synth_class_name(cfg->classes - 1));
    ck_assert_int_eq(ds->dropped_boxes, 0);
    for (int64_t i = 0; i < ds->nsamples; i++) {
        const rd_sample *s = &ds->samples[i];
        int64_t index = sy_index_of(s->image_path);
        ck_assert_int_eq(index, first + i);
        ck_assert_int_eq(s->width, cfg->size);
        ck_assert_int_eq(s->height, cfg->size);
        rd_image img;
        synth_object o[SYNTH_MAX_OBJECTS];
        int n = synth_render(cfg, index, &img, o);
        image_free(&img);
        ck_assert_int_eq(s->nobjects, n);
        for (int k = 0; k < n; k++) {
            const rd_object *r = &ds->objects[s->first_object + k];
            ck_assert_int_eq(r->label, o[k].label);
            ck_assert_float_eq(r->box.x1, o[k].box.x1);
            ck_assert_float_eq(r->box.y1, o[k].box.y1);
            ck_assert_float_eq(r->box.x2, o[k].box.x2);
            ck_assert_float_eq(r->box.y2, o[k].box.y2);
        }
    }
}

START_TEST(test_synth_round_trip)
{
    char *dir = test_tmpdir(), *out = test_path_in(dir, "set");
    char line[1024], so[SY_OUT], se[SY_OUT];
    snprintf(line, sizeof line, "synth --out %s --images 12 --classes 3 --size 96 --seed 5 "
             "--test-frac 0.25 --quiet", out);
    ck_assert_msg(cli_run_rankdet_line(line, so, se, SY_OUT) == 0, "%s", se);
    synth_config cfg;
    synth_config_defaults(&cfg);
    cfg.images = 12, cfg.classes = 3, cfg.size = 96, cfg.seed = 5, cfg.test_frac = 0.25;
    rd_dataset train, test;
    sy_open(out, "train", &train);
    sy_check_split(&train, &cfg, 0, 9);
    sy_open(out, "test", &test);
    sy_check_split(&test, &cfg, 9, 3);
    // the decoded image is the rendered one up to JPEG loss (noise and 4:2:0 chroma cost a
    // few levels), far from the next image's render
    rd_image a, b, c;
    synth_object o[SYNTH_MAX_OBJECTS];
    char err[512];
    ck_assert_msg(image_read(test.samples[0].image_path, &a, err, sizeof err) == 0, "%s", err);
    synth_render(&cfg, 9, &b, o);
    synth_render(&cfg, 10, &c, o);
    double own = 0, other = 0;
    for (int i = 0; i < 96 * 96 * 3; i++) {
        own += abs((int)a.rgb[i] - (int)b.rgb[i]);
        other += abs((int)a.rgb[i] - (int)c.rgb[i]);
    }
    own /= 96 * 96 * 3, other /= 96 * 96 * 3;
    ck_assert_msg(own < 10.0 && other > 3 * own, "mean |JPEG - render| %g, other image %g", own,
                  other);
    image_free(&a);
    image_free(&b);
    image_free(&c);
    dataset_free(&train);
    dataset_free(&test);
    snprintf(line, sizeof line, "rm -rf %s", dir);
    cli_run_shell(line);
    free(out);
    free(dir);
}
END_TEST

/* 1 when the two files hold the same bytes. */
static int sy_same_file(const char *a, const char *b)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", a, b);
    return cli_run_shell(cmd) == 0;
}

START_TEST(test_synth_same_seed_same_bytes)
{
    char *dir = test_tmpdir(), line[1024], so[SY_OUT], se[SY_OUT];
    const char *runs[3][2] = {{"a", "7"}, {"b", "7"}, {"c", "8"}};
    for (int r = 0; r < 3; r++) {
        snprintf(line, sizeof line, "synth --out %s/%s --images 6 --size 64 --seed %s --quiet",
                 dir, runs[r][0], runs[r][1]);
        ck_assert_msg(cli_run_rankdet_line(line, so, se, SY_OUT) == 0, "%s", se);
    }
    const char *files[] = {"JPEGImages/000000.jpg", "JPEGImages/000005.jpg",
                           "Annotations/000003.xml", "ImageSets/Main/train.txt",
                           "ImageSets/Main/test.txt", "names.txt", "synth.txt"};
    char pa[1024], pb[1024], pc[1024];
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        snprintf(pa, sizeof pa, "%s/a/%s", dir, files[k]);
        snprintf(pb, sizeof pb, "%s/b/%s", dir, files[k]);
        ck_assert_msg(sy_same_file(pa, pb), "%s differs between two runs of seed 7", files[k]);
    }
    snprintf(pa, sizeof pa, "%s/a/JPEGImages/000000.jpg", dir);
    snprintf(pc, sizeof pc, "%s/c/JPEGImages/000000.jpg", dir);
    ck_assert_msg(!sy_same_file(pa, pc), "seeds 7 and 8 wrote the same image");
    // 6 images at the default share 0.2: round(1.2) = 1 test image, 5 train
    snprintf(pa, sizeof pa, "wc -l < %s/a/ImageSets/Main/train.txt | grep -qx 5", dir);
    ck_assert_int_eq(cli_run_shell(pa), 0);
    snprintf(pa, sizeof pa, "grep -qx 000005 %s/a/ImageSets/Main/test.txt", dir);
    ck_assert_int_eq(cli_run_shell(pa), 0);
    snprintf(pa, sizeof pa, "wc -l < %s/a/names.txt | grep -qx 4", dir);  // default 4 classes
    ck_assert_int_eq(cli_run_shell(pa), 0);
    snprintf(line, sizeof line, "rm -rf %s", dir);
    cli_run_shell(line);
    free(dir);
}
END_TEST

START_TEST(test_synth_object_limits)
{
    synth_config cfg;
    synth_config_defaults(&cfg);
    cfg.classes = 6;
    cfg.max_objects = 6;
    int per_class[SYNTH_MAX_CLASSES] = {0}, small = 0, large = 0, total = 0;
    for (int64_t i = 0; i < 150; i++) {
        rd_image img;
        synth_object o[SYNTH_MAX_OBJECTS];
        int n = synth_render(&cfg, i, &img, o);
        ck_assert(img.width == 128 && img.height == 128);
        ck_assert(n >= 1 && n <= 6);
        for (int k = 0; k < n; k++) {
            rd_box b = o[k].box;
            ck_assert(b.x1 >= 0 && b.y1 >= 0 && b.x2 <= 128 && b.y2 <= 128);
            ck_assert(b.x1 == (int)b.x1 && b.y2 == (int)b.y2);  // whole pixels
            float side = b.x2 - b.x1 > b.y2 - b.y1 ? b.x2 - b.x1 : b.y2 - b.y1;
            ck_assert_msg(side >= 0.08f * 128 && side <= 0.6f * 128, "side %g", (double)side);
            small += side < 0.2f * 128;
            large += side > 0.35f * 128;
            per_class[o[k].label]++;
            for (int j = 0; j < k; j++)
                ck_assert(box_iou(b, o[j].box) <= 0.45f + 1e-6f);
        }
        total += n;
        image_free(&img);
    }
    for (int c = 0; c < SYNTH_MAX_CLASSES; c++)
        ck_assert_msg(per_class[c] > total / 12, "class %d: %d of %d objects", c, per_class[c],
                      total);
    ck_assert_msg(small > total / 10 && large > total / 20, "small %d, large %d of %d", small,
                  large, total);
    ck_assert_msg(total > 150 * 2.5, "%d objects in 150 images of 1-6", total);
}
END_TEST

START_TEST(test_synth_bad_flags)
{
    char so[SY_OUT], se[SY_OUT];
    const char *cases[][2] = {
        {"synth --images 5", "--out DIR is required"},
        {"synth --out /tmp/x --classes 7", "--classes must be in 1..6"},
        {"synth --out /tmp/x --size 8", "--size must be in 32..2048"},
        {"synth --out /tmp/x --images 0", "--images must be in"},
        {"synth --out /tmp/x --test-frac 1", "--test-frac must be in [0, 1)"},
        {"synth --out /tmp/x --images ten", "--images expects an integer"},
        {"synth --out /tmp/x --max-objects 30", "--max-objects"},
        {"synth --out /tmp/x --seed -3", "--seed must not be negative"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ck_assert_int_eq(cli_run_rankdet_line(cases[k][0], so, se, SY_OUT), 2);
        ck_assert_msg(strstr(se, cases[k][1]) != NULL, "'%s' said: %s", cases[k][0], se);
    }
    // an existing, non-empty folder is refused with exit 1, naming it
    char *dir = test_tmpdir(), line[1024];
    snprintf(line, sizeof line, "touch %s/keep", dir);
    ck_assert_int_eq(cli_run_shell(line), 0);
    snprintf(line, sizeof line, "synth --out %s --images 2 --quiet", dir);
    ck_assert_int_eq(cli_run_rankdet_line(line, so, se, SY_OUT), 1);
    ck_assert_msg(strstr(se, dir) && strstr(se, "not empty"), "said: %s", se);
    snprintf(line, sizeof line, "rm -rf %s", dir);
    cli_run_shell(line);
    free(dir);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("synth");
    TCase *tc = tcase_create("synth");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_synth_round_trip);
    tcase_add_test(tc, test_synth_same_seed_same_bytes);
    tcase_add_test(tc, test_synth_object_limits);
    tcase_add_test(tc, test_synth_bad_flags);
    suite_add_tcase(s, tc);
    return s;
}
