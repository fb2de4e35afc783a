/* test_cmd_eval.c — `rankdet eval` end to end: on the COCO fixture files it prints the 12
 * lines pycocotools prints (tests/fixtures/eval_coco_expected.txt, same text and rounding) and
 * writes the same numbers to --json; detections written by analysis/dets_json read back to the
 * same numbers; an empty detection list gives AP 0. On the VOC fixture folder
 * (tests/fixtures/eval_voc: XML, a test list, comp4 result files and the same detections as a
 * COCO results file) it gives voc_eval.py's per-class AP at every threshold for both rules.
 * Every kind of bad input exits 1 (bad data) or 2 (usage) with a message naming the file and
 * the problem. */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/coco_eval.h"
#include "analysis/dets_json.h"
#include "analysis/voc_eval.h"
#include "data/coco_json.h"
#include "tests/check_main.h"
#include "tests/cli_run.h"

#define GT "tests/fixtures/eval_coco_gt.json"
#define DT "tests/fixtures/eval_coco_dt.json"
#define EXPECTED "tests/fixtures/eval_coco_expected.txt"
#define BUF 65536

static char out[BUF], err[BUF];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* The 12 numbers under "stats" of a --json file, by name. */
static void read_json_stats(const char *path, double stats[COCO_STAT_COUNT])
{
    size_t len;
    char e[256];
    char *text = coco_json_read_file(path, &len, e, sizeof e);
    ck_assert_msg(text != NULL, "%s", e);
    for (int s = 0; s < COCO_STAT_COUNT; s++) {
        char key[32];
        snprintf(key, sizeof key, "\"%s\": ", coco_eval_stat_name((coco_eval_stat)s));
        const char *at = strstr(text, key);
        ck_assert_msg(at != NULL, "%s: no %s", path, key);
        stats[s] = strtod(at + strlen(key), NULL);
    }
    free(text);
}

START_TEST(test_coco_matches_pycocotools_output)
{
    char *dir = test_tmpdir(), *json = test_path_in(dir, "out.json");
    char *args[] = {"eval", "--coco-gt", GT, "--coco-dt", DT, "--json", json, NULL};
    ck_assert_int_eq(cli_run_rankdet(args, out, err, BUF), 0);
    FILE *f = fopen(EXPECTED, "r");
    ck_assert_msg(f != NULL, "missing %s", EXPECTED);
    char line[512];
    double want[COCO_STAT_COUNT], got[COCO_STAT_COUNT];
    int lines = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "stats ", 6) == 0) {
            char *p = line + 6;
            for (int s = 0; s < COCO_STAT_COUNT; s++)
                want[s] = strtod(p, &p);
        } else if (strncmp(line, " Average", 8) == 0) {
            ck_assert_msg(strstr(out, line) != NULL, "stdout lacks pycocotools' line\n%s"
                          "stdout:\n%s", line, out);
            lines++;
        }
    }
    fclose(f);
    ck_assert_int_eq(lines, 12);
    read_json_stats(json, got);
    for (int s = 0; s < COCO_STAT_COUNT; s++)
        ck_assert_msg(fabs(got[s] - want[s]) <= 1e-12, "%s: --json %.17g, pycocotools %.17g",
                      coco_eval_stat_name((coco_eval_stat)s), got[s], want[s]);
    free(json);
    free(dir);
}
END_TEST

START_TEST(test_per_category_table_and_json)
{
    char *dir = test_tmpdir(), *json = test_path_in(dir, "out.json");
    char *args[] = {"eval", "--coco-gt", GT, "--coco-dt", DT, "--json", json, "--per-category",
                    NULL};
    ck_assert_int_eq(cli_run_rankdet(args, out, err, BUF), 0);
    /* category 33 has no large ground truth: "-" in the table, -1 in the file */
    ck_assert_msg(strstr(out, "    33  class33") != NULL, "%s", out);
    size_t len;
    char e[256];
    char *text = coco_json_read_file(json, &len, e, sizeof e);
    ck_assert_ptr_nonnull(text);
    const char *c33 = strstr(text, "{\"id\": 33, \"name\": \"class33\", \"num_gt\": 6");
    ck_assert_msg(c33 != NULL, "%s", text);
    ck_assert_msg(strstr(c33, "\"APl\": -1,") != NULL, "%s", c33);
    ck_assert_msg(strstr(c33, "\"AP\": 0.4929750117868934") != NULL, "%s", c33);
    free(text);
    free(json);
    free(dir);
}
END_TEST

/* Detections written by dets_json_write read back through the command to the numbers of
 * coco_eval_detections on the same detections in memory. */
START_TEST(test_written_detections_round_trip)
{
    coco_instances gt;
    coco_results dt;
    char e[512];
    ck_assert(coco_json_read_instances(GT, &gt, e, sizeof e) == 0);
    ck_assert(coco_json_read_results(DT, &dt, e, sizeof e) == 0);
    rd_dataset ds = {0};
    ds.nclasses = (int)gt.ncategories;
    ds.category_ids = malloc((size_t)gt.ncategories * sizeof *ds.category_ids);
    for (int64_t k = 0; k < gt.ncategories; k++)
        ds.category_ids[k] = gt.categories[k].id;
    ds.nsamples = gt.nimages;
    ds.samples = calloc((size_t)gt.nimages, sizeof *ds.samples);
    ds.objects = calloc((size_t)gt.nannotations, sizeof *ds.objects);
    for (int64_t i = 0; i < gt.nimages; i++) {
        ds.samples[i].image_id = gt.images[i].id;
        ds.samples[i].first_object = ds.nobjects;
        for (int64_t a = 0; a < gt.nannotations; a++) {
            const coco_annotation *g = &gt.annotations[a];
            if (g->image_id != gt.images[i].id)
                continue;
            ds.objects[ds.nobjects++] = (rd_object){
                {(float)g->bbox[0], (float)g->bbox[1], (float)(g->bbox[0] + g->bbox[2]),
                 (float)(g->bbox[1] + g->bbox[3])},
                (int32_t)coco_id_index_find(&gt.category_index, g->category_id),
                (uint8_t)g->iscrowd, 0, 0, (float)g->area};
            ds.samples[i].nobjects++;
        }
    }
    rd_detection *dets = malloc((size_t)dt.n * sizeof *dets);
    for (int64_t i = 0; i < dt.n; i++) {
        const coco_result *d = &dt.results[i];
        dets[i] = (rd_detection){d->image_id,
                                 (int32_t)coco_id_index_find(&gt.category_index, d->category_id),
                                 (float)d->score,
                                 {(float)d->bbox[0], (float)d->bbox[1],
                                  (float)(d->bbox[0] + d->bbox[2]),
                                  (float)(d->bbox[1] + d->bbox[3])}};
    }
    coco_eval_result mem;
    ck_assert_msg(coco_eval_detections(&ds, dets, dt.n, &mem, e, sizeof e) == 0, "%s", e);
    /* the file: the dataset's ground truth in COCO form, the detections through dets_json */
    char *dir = test_tmpdir(), *dpath = test_path_in(dir, "dets.json");
    ck_assert_msg(dets_json_write(dpath, dets, dt.n, ds.category_ids, ds.nclasses, e, sizeof e)
                  == 0, "%s", e);
    coco_results back;
    ck_assert_msg(coco_json_read_results(dpath, &back, e, sizeof e) == 0, "%s", e);
    ck_assert_int_eq(back.n, dt.n);
    for (int64_t i = 0; i < dt.n; i++) {
        double bb[4];
        coco_eval_bbox_from_box(dets[i].box, bb);
        ck_assert(back.results[i].score == (double)dets[i].score);
        for (int j = 0; j < 4; j++)
            ck_assert_msg(back.results[i].bbox[j] == bb[j], "detection %lld bbox[%d]: %.17g "
                          "read back as %.17g", (long long)i, j, bb[j], back.results[i].bbox[j]);
    }
    for (int64_t a = 0; a < gt.nannotations; a++) {  // gt as the dataset holds it
        const rd_object *o = &ds.objects[a];
        coco_eval_bbox_from_box(o->box, gt.annotations[a].bbox);
        gt.annotations[a].area = o->area;
    }
    coco_eval_result file;
    ck_assert(coco_eval_json(&gt, &back, dpath, &file, e, sizeof e) == 0);
    /* gt.annotations are in image order in this fixture, so ids and order match ds */
    ck_assert(memcmp(mem.stats, file.stats, sizeof mem.stats) == 0);
    coco_eval_result_free(&mem);
    coco_eval_result_free(&file);
    coco_results_free(&back);
    coco_results_free(&dt);
    coco_instances_free(&gt);
    free(dets);
    free(ds.category_ids);
    free(ds.samples);
    free(ds.objects);
    free(dpath);
    free(dir);
}
END_TEST

/* The number format of dets_json: short where a short form reads back, 17 digits otherwise. */
START_TEST(test_number_format)
{
    char b[32];
    ck_assert_str_eq(dets_json_format_double(12.5, b), "12.5");
    ck_assert_str_eq(dets_json_format_double(0.1, b), "0.1");
    ck_assert_str_eq(dets_json_format_double((double)0.1f, b), "0.10000000149011612");
    ck_assert_str_eq(dets_json_format_double(3.0, b), "3");
    ck_assert_str_eq(dets_json_format_double(-0.0, b), "-0");
    ck_assert_str_eq(dets_json_format_double(1e300, b), "1e+300");
    ck_assert_str_eq(dets_json_format_double(1.0 / 3.0, b), "0.3333333333333333");
    ck_assert_str_eq(dets_json_format_double(2e-7, b), "2e-07");
}
END_TEST

START_TEST(test_empty_detections)
{
    char *dir = test_tmpdir(), *dt = test_path_in(dir, "empty.json");
    write_text(dt, "[]\n");
    char *args[] = {"eval", "--coco-gt", GT, "--coco-dt", dt, NULL};
    ck_assert_int_eq(cli_run_rankdet(args, out, err, BUF), 0);
    ck_assert_msg(strstr(out, "| area=   all | maxDets=100 ] = 0.000") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "0 detections") != NULL, "%s", out);
    free(dt);
    free(dir);
}
END_TEST

/* Bad inputs: each exits with its status and names the problem. */
START_TEST(test_bad_inputs)
{
    char *dir = test_tmpdir();
    char *bad = test_path_in(dir, "bad.json"), *unk = test_path_in(dir, "unknown.json");
    char *neg = test_path_in(dir, "neg.json"), *json = test_path_in(dir, "o.json");
    write_text(bad, "[{\"image_id\": 1,");
    write_text(unk, "[{\"image_id\": 424242, \"category_id\": 6, \"bbox\": [1, 2, 3, 4], "
                    "\"score\": 0.5}]");
    write_text(neg, "[{\"image_id\": 1, \"category_id\": 6, \"bbox\": [1, 2, -3, 4], "
                    "\"score\": 0.5}]");
    struct {
        char *args[12];
        int status;
        const char *message;
    } cases[] = {
        {{"eval", "--coco-gt", GT, NULL}, 2, "give both --coco-gt GT.json and --coco-dt"},
        {{"eval", NULL}, 2, "give --coco-gt GT.json --coco-dt DETS.json, or --voc DIR"},
        {{"eval", "--coco-gt", GT, "--coco-dt", DT, "--threads", "-2", NULL}, 2,
         "--threads must be >= 0"},
        {{"eval", "--coco-gt", GT, "--coco-dt", DT, "extra", NULL}, 2, "extra"},
        {{"eval", "--coco-gt", GT, "--coco-dt", bad, NULL}, 1, "bad.json: malformed JSON at line 1"},
        {{"eval", "--coco-gt", GT, "--coco-dt", unk, NULL}, 1,
         "unknown.json: results[0].image_id: 424242 is not an image of the ground truth"},
        {{"eval", "--coco-gt", GT, "--coco-dt", neg, NULL}, 1,
         "neg.json: results[0].bbox: width -3 is negative"},
        {{"eval", "--coco-gt", DT, "--coco-dt", DT, NULL}, 1,
         "eval_coco_dt.json: the top level is an array, expected an object"},
        {{"eval", "--coco-gt", "/nonexistent.json", "--coco-dt", DT, NULL}, 1,
         "/nonexistent.json: cannot open: No such file or directory"},
        {{"eval", "--coco-gt", GT, "--coco-dt", DT, "--json", dir, NULL}, 1, "--json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cli_run_rankdet(cases[i].args, out, err, BUF);
        ck_assert_msg(rc == cases[i].status, "case %zu: exit %d, want %d; stderr: %s", i, rc,
                      cases[i].status, err);
        ck_assert_msg(strstr(err, cases[i].message) != NULL, "case %zu: stderr '%s' lacks '%s'",
                      i, err, cases[i].message);
    }
    free(bad);
    free(unk);
    free(neg);
    free(json);
    free(dir);
}
END_TEST

#define VOC "tests/fixtures/eval_voc"

/* Every class's 10 APs from a --json file of the VOC mode against expected.txt's METRIC rows. */
static void check_voc_json(const char *json, const char *metric)
{
    size_t len;
    char e[256];
    char *text = coco_json_read_file(json, &len, e, sizeof e);
    ck_assert_msg(text != NULL, "%s", e);
    cJSON *root = cJSON_Parse(text);
    free(text);
    ck_assert_ptr_nonnull(root);
    const cJSON *classes = cJSON_GetObjectItem(root, "per_class");
    ck_assert_int_eq(cJSON_GetArraySize(classes), 20);
    FILE *f = fopen(VOC "/expected.txt", "r");
    ck_assert_msg(f != NULL, "missing " VOC "/expected.txt");
    char line[1024], name[64], tag[8];
    int rows = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        int at;
        if (sscanf(line, "ap%7s %63s %n", tag, name, &at) != 2 || strcmp(tag, metric) != 0)
            continue;
        const cJSON *row = NULL, *c;
        cJSON_ArrayForEach(c, classes)
            if (strcmp(cJSON_GetObjectItem(c, "name")->valuestring, name) == 0)
                row = c;
        ck_assert_msg(row != NULL, "no class %s in %s", name, json);
        const cJSON *aps = cJSON_GetObjectItem(row, "AP_per_iou");
        char *p = line + at;
        for (int t = 0; t < VOC_EVAL_T; t++) {
            double want = strtod(p, &p), got = cJSON_GetArrayItem(aps, t)->valuedouble;
            ck_assert_msg(fabs(got - want) <= 1e-12, "VOC%s %s at IoU %d: %.17g, voc_eval.py "
                          "%.17g (%s)", metric, name, t, got, want, json);
        }
        rows++;
    }
    fclose(f);
    cJSON_Delete(root);
    ck_assert_int_eq(rows, 20);
}

START_TEST(test_voc_matches_voc_eval)
{
    char *dir = test_tmpdir(), *json = test_path_in(dir, "voc.json");
    const char *dets[2] = {VOC "/results", VOC "/dets.json"};
    const char *metrics[2] = {"voc07", "voc10"};
    for (int d = 0; d < 2; d++)
        for (int m = 0; m < 2; m++) {
            char *args[] = {"eval", "--voc", VOC, "--dets", (char *)dets[d], "--metric",
                            (char *)metrics[m], "--json", json, NULL};
            ck_assert_msg(cli_run_rankdet(args, out, err, BUF) == 0, "%s", err);
            check_voc_json(json, metrics[m] + 3);
        }
    ck_assert_msg(strstr(out, "8 images, 20 classes, 18 objects (4 difficult), 36 detections")
                  != NULL, "%s", out);
    /* the pattern form of --dets reads the same files */
    char *args[] = {"eval", "--voc", VOC, "--dets", VOC "/results/comp4_det_test_{}.txt",
                    "--json", json, NULL};
    ck_assert_int_eq(cli_run_rankdet(args, out, err, BUF), 0);
    check_voc_json(json, "07");
    free(json);
    free(dir);
}
END_TEST

/* A results folder for the fixture's classes: empty files, and `text` in class `name`'s. */
static char *voc_results_with(const char *dir, const char *name, const char *text)
{
    static const char *const classes[20] = {
        "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
        "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
        "train", "tvmonitor"};
    char *res = test_path_in(dir, "res");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", res, res);
    ck_assert_int_eq(cli_run_shell(cmd), 0);
    for (int k = 0; k < 20; k++) {
        char file[64];
        snprintf(file, sizeof file, "comp4_det_test_%s.txt", classes[k]);
        char *p = test_path_in(res, file);
        write_text(p, strcmp(classes[k], name) == 0 ? text : "");
        free(p);
    }
    return res;
}

START_TEST(test_voc_bad_inputs)
{
    char *dir = test_tmpdir();
    struct {
        const char *cls, *text, *message;
    } cases[] = {
        {"car", "000003 0.5 1 2 3\n", "comp4_det_test_car.txt: line 1: expected IMAGE_ID SCORE"},
        {"dog", "000003 0.5 1 2 3 4\n000999 0.5 1 2 3 4\n",
         "comp4_det_test_dog.txt: line 2: the image is not in the evaluated set"},
        {"dog", "000003 0.5 10 2 3 4\n", "line 1: the box has x2 < x1 or y2 < y1"},
        {"cat", "000003 nan 1 2 3 4\n", "line 1: a number is not finite"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *res = voc_results_with(dir, cases[i].cls, cases[i].text);
        char *args[] = {"eval", "--voc", VOC, "--dets", res, NULL};
        ck_assert_int_eq(cli_run_rankdet(args, out, err, BUF), 1);
        ck_assert_msg(strstr(err, cases[i].message) != NULL, "case %zu: '%s' lacks '%s'", i,
                      err, cases[i].message);
        free(res);
    }
    char *res = voc_results_with(dir, "car", "");
    char *gone = test_path_in(res, "comp4_det_test_sofa.txt");
    ck_assert_int_eq(remove(gone), 0);
    char *args[] = {"eval", "--voc", VOC, "--dets", res, NULL};
    ck_assert_int_eq(cli_run_rankdet(args, out, err, BUF), 1);
    ck_assert_msg(strstr(err, "no result file for class 'sofa' (comp4_det_test_sofa.txt)"),
                  "%s", err);
    char *json = test_path_in(dir, "d.json");
    write_text(json, "[{\"image_id\": 8, \"category_id\": 1, \"bbox\": [1, 2, 3, 4], "
                     "\"score\": 0.5}]");
    char *args2[] = {"eval", "--voc", VOC, "--dets", json, NULL};
    ck_assert_int_eq(cli_run_rankdet(args2, out, err, BUF), 1);
    ck_assert_msg(strstr(err, "results[0].image_id: 8 is not an image of the VOC dataset "
                              "(images are numbered 0..7"), "%s", err);
    char *args3[] = {"eval", "--voc", VOC, "--dets", json, "--metric", "voc12", NULL};
    ck_assert_int_eq(cli_run_rankdet(args3, out, err, BUF), 2);
    ck_assert_msg(strstr(err, "--metric must be voc07 or voc10, got 'voc12'"), "%s", err);
    char *args4[] = {"eval", "--voc", VOC, NULL};
    ck_assert_int_eq(cli_run_rankdet(args4, out, err, BUF), 2);
    ck_assert_msg(strstr(err, "give both --voc DIR and --dets DETS"), "%s", err);
    char *args5[] = {"eval", "--voc", VOC, "--dets", json, "--coco-gt", GT, NULL};
    ck_assert_int_eq(cli_run_rankdet(args5, out, err, BUF), 2);
    char *args6[] = {"eval", "--voc", "/nonexistent", "--dets", json, NULL};
    ck_assert_int_eq(cli_run_rankdet(args6, out, err, BUF), 1);
    ck_assert_msg(strstr(err, "/nonexistent: cannot open"), "%s", err);
    free(json);
    free(gone);
    free(res);
    free(dir);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("cmd_eval");
    TCase *tc = tcase_create("coco");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_coco_matches_pycocotools_output);
    tcase_add_test(tc, test_per_category_table_and_json);
    tcase_add_test(tc, test_written_detections_round_trip);
    tcase_add_test(tc, test_number_format);
    tcase_add_test(tc, test_empty_detections);
    tcase_add_test(tc, test_bad_inputs);
    suite_add_tcase(s, tc);
    TCase *tv = tcase_create("voc");
    tcase_set_timeout(tv, 60);
    tcase_add_test(tv, test_voc_matches_voc_eval);
    tcase_add_test(tv, test_voc_bad_inputs);
    suite_add_tcase(s, tv);
    return s;
}
