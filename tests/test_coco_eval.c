/* test_coco_eval.c — analysis/coco_eval against pycocotools' COCOeval: the 12 numbers and the
 * per-category numbers of every case in tests/fixtures/eval_coco_cases.txt (written by
 * tests/make_eval_fixtures.py: crowd regions, areas at 32^2 and 96^2, IoU at the thresholds,
 * more than 100 detections, missing categories, ties, empty detections, random cases) within
 * 1e-12; the thresholds bit for bit; the files path (coco_eval_json) and the training path
 * (coco_eval_detections on a dataset in memory) on the same numbers; the same result for any
 * thread count; and clear errors for detections of unknown images, categories or labels. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/coco_eval.h"
#include "tests/check_main.h"

#define CASES "tests/fixtures/eval_coco_cases.txt"
#define TOL 1e-12

/* One case of the fixture. */
typedef struct ref_case {
    char name[64];
    int64_t images[512], categories[128];
    int nimages, ncategories;
    coco_annotation *gt;
    coco_result *dt;
    int64_t ngt, ndt, capgt, capdt;
    double stats[COCO_STAT_COUNT];
    int64_t catstat_ids[128];
    double catstats[128][COCO_STAT_COUNT];
    int ncatstats;
} ref_case;

static void ref_case_free(ref_case *c)
{
    free(c->gt);
    free(c->dt);
}

/* Read n doubles after the first `skip` words of line into v; fails the test on a short line. */
static void read_doubles(const char *line, int skip, double *v, int n)
{
    char *end;
    const char *p = line;
    for (int i = 0; i < skip; i++) {
        p += strspn(p, " ");
        p += strcspn(p, " ");
    }
    for (int i = 0; i < n; i++) {
        v[i] = strtod(p, &end);
        ck_assert_msg(end != p, "fixture line '%s': number %d missing", line, i);
        p = end;
    }
}

/* The next case of f into c (0), or 1 at the end of the file. */
static int ref_case_read(FILE *f, ref_case *c)
{
    char line[4096];
    memset(c, 0, sizeof *c);
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        double v[16];
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (sscanf(line, "case %63s", c->name) == 1)
            continue;
        if (strncmp(line, "image ", 6) == 0) {
            c->images[c->nimages++] = strtoll(line + 6, NULL, 10);
        } else if (strncmp(line, "category ", 9) == 0) {
            c->categories[c->ncategories++] = strtoll(line + 9, NULL, 10);
        } else if (strncmp(line, "gt ", 3) == 0) {
            if (c->ngt == c->capgt)
                c->gt = realloc(c->gt, (size_t)(c->capgt = 2 * c->capgt + 16) * sizeof *c->gt);
            read_doubles(line, 1, v, 9);
            c->gt[c->ngt++] = (coco_annotation){(int64_t)v[0], (int64_t)v[1], (int64_t)v[2],
                                                {v[3], v[4], v[5], v[6]}, v[7], (int)v[8]};
        } else if (strncmp(line, "dt ", 3) == 0) {
            if (c->ndt == c->capdt)
                c->dt = realloc(c->dt, (size_t)(c->capdt = 2 * c->capdt + 16) * sizeof *c->dt);
            read_doubles(line, 1, v, 7);
            c->dt[c->ndt++] = (coco_result){(int64_t)v[0], (int64_t)v[1],
                                            {v[2], v[3], v[4], v[5]}, v[6]};
        } else if (strncmp(line, "stats ", 6) == 0) {
            read_doubles(line, 1, c->stats, COCO_STAT_COUNT);
        } else if (strncmp(line, "catstats ", 9) == 0) {
            c->catstat_ids[c->ncatstats] = strtoll(line + 9, NULL, 10);
            read_doubles(line, 2, c->catstats[c->ncatstats++], COCO_STAT_COUNT);
        } else {
            ck_assert_msg(strcmp(line, "end") == 0, "fixture: unexpected line '%s'", line);
            return 0;
        }
    }
    return 1;
}

static coco_eval_input ref_case_input(const ref_case *c)
{
    return (coco_eval_input){c->images, c->nimages, c->categories, c->ncategories,
                             c->gt, c->ngt, c->dt, c->ndt};
}

/* r against the case's pycocotools numbers, overall and per category. */
static void check_against_reference(const ref_case *c, const coco_eval_result *r,
                                    const char *path)
{
    for (int s = 0; s < COCO_STAT_COUNT; s++)
        ck_assert_msg(fabs(r->stats[s] - c->stats[s]) <= TOL, "%s, %s: %s = %.17g, "
                      "pycocotools %.17g", c->name, path, coco_eval_stat_name(s), r->stats[s],
                      c->stats[s]);
    ck_assert_int_eq(r->ncategories, c->ncatstats);
    for (int k = 0; k < c->ncatstats; k++) {
        ck_assert_int_eq(r->category_ids[k], c->catstat_ids[k]);
        for (int s = 0; s < COCO_STAT_COUNT; s++) {
            double got = coco_eval_stat_value(r, k, (coco_eval_stat)s);
            ck_assert_msg(fabs(got - c->catstats[k][s]) <= TOL, "%s, %s: category %lld %s = "
                          "%.17g, pycocotools %.17g", c->name, path,
                          (long long)c->catstat_ids[k], coco_eval_stat_name(s), got,
                          c->catstats[k][s]);
        }
    }
}

START_TEST(test_thresholds_bit_for_bit)
{
    FILE *f = fopen("tests/fixtures/eval_coco_thresholds.txt", "r");
    ck_assert_msg(f != NULL, "missing tests/fixtures/eval_coco_thresholds.txt");
    char line[8192];
    double v[COCO_EVAL_R];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    read_doubles(line, 1, v, COCO_EVAL_T);
    for (int t = 0; t < COCO_EVAL_T; t++)
        ck_assert_msg(coco_eval_iou_threshold(t) == v[t], "iouThrs[%d] = %.17g, numpy %.17g", t,
                      coco_eval_iou_threshold(t), v[t]);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    read_doubles(line, 1, v, COCO_EVAL_R);
    for (int r = 0; r < COCO_EVAL_R; r++)
        ck_assert_msg(coco_eval_recall_threshold(r) == v[r], "recThrs[%d] = %.17g, numpy %.17g",
                      r, coco_eval_recall_threshold(r), v[r]);
    fclose(f);
    ck_assert_double_eq(coco_eval_iou_threshold(8), 0.8999999999999999);  // not 0.9
}
END_TEST

START_TEST(test_cases_match_pycocotools)
{
    FILE *f = fopen(CASES, "r");
    ck_assert_msg(f != NULL, "missing %s (tests/make_eval_fixtures.py writes it)", CASES);
    ref_case *c = malloc(sizeof *c);
    int ncases = 0;
    while (ref_case_read(f, c) == 0) {
        coco_eval_input in = ref_case_input(c);
        coco_eval_result r;
        coco_eval_run(&in, &r);
        check_against_reference(c, &r, "coco_eval_run");
        coco_eval_result_free(&r);
        ref_case_free(c);
        ncases++;
    }
    fclose(f);
    free(c);
    ck_assert_int_eq(ncases, 33);
}
END_TEST

/* The case named `name` from the fixture into c. */
static void ref_case_find(const char *name, ref_case *c)
{
    FILE *f = fopen(CASES, "r");
    ck_assert_msg(f != NULL, "missing %s", CASES);
    while (ref_case_read(f, c) == 0) {
        if (strcmp(c->name, name) == 0) {
            fclose(f);
            return;
        }
        ref_case_free(c);
    }
    fclose(f);
    ck_abort_msg("no case %s in %s", name, CASES);
}

START_TEST(test_thread_count_does_not_matter)
{
    ref_case *c = malloc(sizeof *c);
    ref_case_find("large", c);
    coco_eval_input in = ref_case_input(c);
    coco_eval_result r1, r4;
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    coco_eval_run(&in, &r1);
    omp_set_num_threads(4);
    coco_eval_run(&in, &r4);
    omp_set_num_threads(saved);
    size_t np = (size_t)COCO_EVAL_T * COCO_EVAL_R * (size_t)r1.ncategories * COCO_EVAL_A *
                COCO_EVAL_M;
    ck_assert(memcmp(r1.precision, r4.precision, np * sizeof(double)) == 0);
    ck_assert(memcmp(r1.stats, r4.stats, sizeof r1.stats) == 0);
    check_against_reference(c, &r4, "4 threads");
    /* precision holds -1 exactly where a category has no ground truth in the range, and
     * every other entry lies in [0, 1]; num_gt counts the non-crowd ground truth */
    int64_t ngt = 0, sum_gt = 0;
    for (int64_t g = 0; g < c->ngt; g++)
        ngt += !c->gt[g].iscrowd;
    for (int64_t k = 0; k < r1.ncategories; k++)
        sum_gt += r1.num_gt[k];
    ck_assert_int_eq(sum_gt, ngt);
    for (size_t i = 0; i < np; i++)
        ck_assert(r1.precision[i] == -1.0 || (r1.precision[i] >= 0 && r1.precision[i] <= 1));
    coco_eval_result_free(&r1);
    coco_eval_result_free(&r4);
    ref_case_free(c);
    free(c);
}
END_TEST

/* Numbers of tests/fixtures/eval_coco_expected.txt: stats, then catstats lines. */
static void read_expected(ref_case *c)
{
    FILE *f = fopen("tests/fixtures/eval_coco_expected.txt", "r");
    ck_assert_msg(f != NULL, "missing tests/fixtures/eval_coco_expected.txt");
    char line[4096];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "eval_coco_*.json");
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "stats ", 6) == 0)
            read_doubles(line, 1, c->stats, COCO_STAT_COUNT);
        if (strncmp(line, "catstats ", 9) == 0) {
            c->catstat_ids[c->ncatstats] = strtoll(line + 9, NULL, 10);
            read_doubles(line, 2, c->catstats[c->ncatstats++], COCO_STAT_COUNT);
        }
    }
    fclose(f);
}

START_TEST(test_json_files_match_pycocotools)
{
    coco_instances gt;
    coco_results dt;
    coco_eval_result r;
    char err[512];
    ck_assert_msg(coco_json_read_instances("tests/fixtures/eval_coco_gt.json", &gt, err,
                                           sizeof err) == 0, "%s", err);
    ck_assert_msg(coco_json_read_results("tests/fixtures/eval_coco_dt.json", &dt, err,
                                         sizeof err) == 0, "%s", err);
    ck_assert_msg(coco_eval_json(&gt, &dt, "dt.json", &r, err, sizeof err) == 0, "%s", err);
    ref_case *want = malloc(sizeof *want);
    read_expected(want);
    check_against_reference(want, &r, "coco_eval_json");
    coco_eval_result_free(&r);
    free(want);

    dt.results[3].image_id = 999999;
    ck_assert_int_eq(coco_eval_json(&gt, &dt, "dt.json", &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "dt.json: results[3].image_id: 999999 is not an image of the "
                          "ground truth");
    ck_assert_ptr_null(r.precision);
    dt.results[3].image_id = gt.images[0].id;
    dt.results[5].category_id = 12;
    ck_assert_int_eq(coco_eval_json(&gt, &dt, "dt.json", &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "dt.json: results[5].category_id: 12 is not a category of the "
                          "ground truth");
    coco_results_free(&dt);
    coco_instances_free(&gt);
}
END_TEST

/* The case as a dataset in memory: samples in image file order, classes in category order,
 * boxes as floats (the int_coords case is exact in float). */
static void dataset_from_case(const ref_case *c, rd_dataset *ds, int64_t *catids)
{
    memset(ds, 0, sizeof *ds);
    ds->nclasses = c->ncategories;
    ds->category_ids = catids;
    for (int k = 0; k < c->ncategories; k++)
        catids[k] = c->categories[k];
    ds->nsamples = c->nimages;
    ds->samples = calloc((size_t)c->nimages, sizeof *ds->samples);
    ds->objects = calloc((size_t)c->ngt + 1, sizeof *ds->objects);
    for (int i = 0; i < c->nimages; i++) {
        rd_sample *s = &ds->samples[i];
        s->image_id = c->images[i];
        s->first_object = ds->nobjects;
        for (int64_t g = 0; g < c->ngt; g++) {
            const coco_annotation *a = &c->gt[g];
            if (a->image_id != s->image_id)
                continue;
            int label = 0;
            while (catids[label] != a->category_id)
                label++;
            const double *b = a->bbox;
            ds->objects[ds->nobjects++] = (rd_object){
                {(float)b[0], (float)b[1], (float)(b[0] + b[2]), (float)(b[1] + b[3])},
                label, (uint8_t)a->iscrowd, 0, 0, (float)a->area};
            s->nobjects++;
        }
    }
}

START_TEST(test_detections_in_memory)
{
    ref_case *c = malloc(sizeof *c);
    ref_case_find("int_coords", c);
    rd_dataset ds;
    int64_t catids[128];
    dataset_from_case(c, &ds, catids);
    rd_detection *dets = malloc((size_t)c->ndt * sizeof *dets);
    for (int64_t i = 0; i < c->ndt; i++) {
        const coco_result *d = &c->dt[i];
        int label = 0;
        while (catids[label] != d->category_id)
            label++;
        dets[i] = (rd_detection){d->image_id, label, (float)d->score,
                                 {(float)d->bbox[0], (float)d->bbox[1],
                                  (float)(d->bbox[0] + d->bbox[2]),
                                  (float)(d->bbox[1] + d->bbox[3])}};
    }
    coco_eval_result r;
    char err[512];
    ck_assert_msg(coco_eval_detections(&ds, dets, c->ndt, &r, err, sizeof err) == 0, "%s",
                  err);
    check_against_reference(c, &r, "coco_eval_detections");
    coco_eval_result_free(&r);

    dets[2].label = c->ncategories;
    ck_assert_int_eq(coco_eval_detections(&ds, dets, c->ndt, &r, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "detection 2 ") && strstr(err, "label is outside"), "%s", err);
    dets[2].label = 0;
    dets[4].image_id = -7;
    ck_assert_int_eq(coco_eval_detections(&ds, dets, c->ndt, &r, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "detection 4 (image -7") && strstr(err, "not an image"), "%s",
                  err);
    dets[4].image_id = c->images[0];
    dets[6].score = NAN;
    ck_assert_int_eq(coco_eval_detections(&ds, dets, c->ndt, &r, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "detection 6 ") && strstr(err, "score is not finite"), "%s", err);
    ck_assert_int_eq(coco_eval_detections(&ds, dets, 0, &r, err, sizeof err), 0);
    ck_assert_double_eq(r.stats[COCO_STAT_AP], 0.0);  // nothing found: 0, not -1
    ck_assert_double_eq(r.stats[COCO_STAT_AR100], 0.0);
    coco_eval_result_free(&r);
    free(dets);
    free(ds.samples);
    free(ds.objects);
    ref_case_free(c);
    free(c);
}
END_TEST

/* A case small enough to check by hand: one image, one category, two ground truth boxes, three
 * detections: a hit (IoU 1), a duplicate of it (false positive), a box of IoU 0.6 on the second
 * ground truth. At IoU .50-.60 both are found: precision [1, 1/2, 2/3] -> interpolated
 * [1, 2/3, 2/3], recall [1/2, 1/2, 1]: recall thresholds 0..0.5 (51) read 1, 0.51..1 (50) read
 * 2/3. From .65 on the second is missed: precision 1 up to recall 0.5, then 0. */
START_TEST(test_hand_computed)
{
    int64_t img = 1, cat = 1;
    coco_annotation gt[2] = {{1, 1, 1, {0, 0, 10, 10}, 100, 0}, {2, 1, 1, {50, 0, 10, 10}, 100, 0}};
    coco_result dt[3] = {{1, 1, {0, 0, 10, 10}, 0.9}, {1, 1, {0, 0, 10, 10}, 0.8},
                         {1, 1, {50, 0, 10, 6}, 0.7}};
    coco_eval_input in = {&img, 1, &cat, 1, gt, 2, dt, 3};
    coco_eval_result r;
    coco_eval_run(&in, &r);
    double low = (51 * 1.0 + 50 * (2.0 / 3.0)) / 101, high = 51.0 / 101;
    ck_assert_double_eq_tol(r.stats[COCO_STAT_AP50], low, 1e-15);
    ck_assert_double_eq_tol(r.stats[COCO_STAT_AP], (3 * low + 7 * high) / 10, 1e-15);
    ck_assert_double_eq_tol(r.stats[COCO_STAT_AP75], high, 1e-15);
    ck_assert_double_eq_tol(r.stats[COCO_STAT_AR1], 0.5, 1e-15);
    ck_assert_double_eq_tol(r.stats[COCO_STAT_AR100], (3 * 1.0 + 7 * 0.5) / 10, 1e-15);
    ck_assert_double_eq(r.stats[COCO_STAT_APS], r.stats[COCO_STAT_AP]);  // areas 100: small
    ck_assert_double_eq(r.stats[COCO_STAT_APM], -1.0);
    ck_assert_double_eq(r.stats[COCO_STAT_ARL], -1.0);
    ck_assert_int_eq(r.num_gt[0], 2);
    ck_assert_int_eq(r.num_dt[0], 3);
    coco_eval_result_free(&r);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("coco_eval");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_thresholds_bit_for_bit);
    tcase_add_test(tc, test_hand_computed);
    tcase_add_test(tc, test_cases_match_pycocotools);
    tcase_add_test(tc, test_thread_count_does_not_matter);
    tcase_add_test(tc, test_json_files_match_pycocotools);
    tcase_add_test(tc, test_detections_in_memory);
    suite_add_tcase(s, tc);
    return s;
}
