/* test_voc_eval.c — analysis/voc_eval against the classic voc_eval.py transcribed in
 * tests/make_eval_fixtures.py: every class's AP at every IoU threshold of every case in
 * tests/fixtures/eval_voc_cases.txt (11-point and area rules, difficult boxes, IoU exactly at
 * 0.5 under the +1 rule, duplicates, classes without ground truth or detections, ties) within
 * 1e-12; the means; hand-computed curves for both rules; the training path on continuous
 * boxes (+1 frame) and its errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/voc_eval.h"
#include "tests/check_main.h"

#define CASES "tests/fixtures/eval_voc_cases.txt"

typedef struct voc_case {
    char name[64];
    voc_metric metric;
    int64_t nimages;
    int nclasses;
    voc_eval_gt *gt;
    voc_eval_det *dt;
    int64_t ngt, ndt;
    double ap[16][VOC_EVAL_T];  // [class][threshold]
} voc_case;

static void voc_case_free(voc_case *c)
{
    free(c->gt);
    free(c->dt);
}

/* The next case of f into c (0), or 1 at the end of the file. */
static int voc_case_read(FILE *f, voc_case *c)
{
    char line[1024];
    int metric;
    int64_t capg = 0, capd = 0;
    memset(c, 0, sizeof *c);
    while (fgets(line, sizeof line, f) != NULL) {
        double v[VOC_EVAL_T + 1];
        int k;
        if (line[0] == '#')
            continue;
        if (sscanf(line, "case %63s %d %lld %d", c->name, &metric, (long long *)&c->nimages,
                   &c->nclasses) == 4) {
            c->metric = metric == 7 ? VOC_METRIC_07 : VOC_METRIC_10;
            ck_assert(metric == 7 || metric == 10);
        } else if (strncmp(line, "gt ", 3) == 0) {
            if (c->ngt == capg)
                c->gt = realloc(c->gt, (size_t)(capg = 2 * capg + 16) * sizeof *c->gt);
            voc_eval_gt *g = &c->gt[c->ngt++];
            long long img;
            ck_assert(sscanf(line, "gt %lld %d %d %lf %lf %lf %lf", &img, &g->label,
                             &g->difficult, &g->box[0], &g->box[1], &g->box[2],
                             &g->box[3]) == 7);
            g->image = img;
        } else if (strncmp(line, "dt ", 3) == 0) {
            if (c->ndt == capd)
                c->dt = realloc(c->dt, (size_t)(capd = 2 * capd + 16) * sizeof *c->dt);
            voc_eval_det *d = &c->dt[c->ndt++];
            long long img;
            ck_assert(sscanf(line, "dt %lld %d %lf %lf %lf %lf %lf", &img, &d->label, &d->score,
                             &d->box[0], &d->box[1], &d->box[2], &d->box[3]) == 7);
            d->image = img;
        } else if (sscanf(line, "ap %d", &k) == 1) {
            char *p = line + 3;
            strtol(p, &p, 10);
            for (int t = 0; t < VOC_EVAL_T; t++)
                v[t] = strtod(p, &p);
            ck_assert(k >= 0 && k < 16);
            memcpy(c->ap[k], v, sizeof c->ap[k]);
        } else {
            ck_assert_msg(strncmp(line, "end", 3) == 0, "fixture: unexpected line '%s'", line);
            return 0;
        }
    }
    return 1;
}

START_TEST(test_cases_match_voc_eval)
{
    FILE *f = fopen(CASES, "r");
    ck_assert_msg(f != NULL, "missing %s (tests/make_eval_fixtures.py writes it)", CASES);
    voc_case *c = malloc(sizeof *c);
    int ncases = 0, nundefined = 0;
    while (voc_case_read(f, c) == 0) {
        voc_eval_input in = {c->nimages, c->nclasses, c->gt, c->ngt, c->dt, c->ndt, c->metric};
        voc_eval_result r;
        voc_eval_run(&in, &r);
        double sum_all = 0;
        int nall = 0;
        for (int t = 0; t < VOC_EVAL_T; t++) {
            double sum = 0;
            int n = 0;
            for (int k = 0; k < c->nclasses; k++) {
                double got = voc_eval_class_ap(&r, k, t), want = c->ap[k][t];
                ck_assert_msg(fabs(got - want) <= 1e-12, "%s (VOC%s): class %d at IoU %d: "
                              "%.17g, voc_eval.py %.17g", c->name,
                              c->metric == VOC_METRIC_07 ? "07" : "10", k, t, got, want);
                if (want >= 0)
                    sum += want, n++;
                else if (t == 0)
                    nundefined++;
            }
            double map = n ? sum / n : -1;
            ck_assert_double_eq_tol(r.map[t], map, 1e-12);
            if (n)
                sum_all += map, nall++;
        }
        ck_assert_double_eq(r.ap50, r.map[0]);
        ck_assert_double_eq(r.ap75, r.map[5]);
        ck_assert_double_eq_tol(r.ap, nall ? sum_all / nall : -1, 1e-12);
        voc_eval_result_free(&r);
        voc_case_free(c);
        ncases++;
    }
    fclose(f);
    free(c);
    ck_assert_int_eq(ncases, 14);
    ck_assert_int_ge(nundefined, 4);  // the special cases' classes 1 and 2 at least
}
END_TEST

/* One class, two boxes; detections: hit (0.9), miss (0.8), hit (0.7). rec .5 .5 1, prec
 * 1 .5 2/3. Area rule: .5 * 1 + .5 * 2/3 = 5/6. 11-point: t = 0 .. .5 (6 points) read 1,
 * .6 .. 1 (5 points) read 2/3: (6 + 10/3) / 11. */
START_TEST(test_hand_computed_rules)
{
    voc_eval_gt gt[2] = {{0, 0, 0, {1, 1, 10, 10}}, {0, 0, 0, {21, 1, 30, 10}}};
    voc_eval_det dt[3] = {{0, 0, 0.9, {1, 1, 10, 10}}, {0, 0, 0.8, {41, 1, 50, 10}},
                          {0, 0, 0.7, {21, 1, 30, 10}}};
    voc_eval_input in = {1, 1, gt, 2, dt, 3, VOC_METRIC_10};
    voc_eval_result r;
    voc_eval_run(&in, &r);
    for (int t = 0; t < VOC_EVAL_T; t++)
        ck_assert_double_eq_tol(voc_eval_class_ap(&r, 0, t), 5.0 / 6.0, 1e-15);
    ck_assert_int_eq(r.npos[0], 2);
    ck_assert_int_eq(r.ndet[0], 3);
    voc_eval_result_free(&r);
    in.metric = VOC_METRIC_07;
    voc_eval_run(&in, &r);
    ck_assert_double_eq_tol(r.ap50, (6 + 10.0 / 3.0) / 11.0, 1e-15);
    voc_eval_result_free(&r);
    /* a difficult box: its hit counts neither way, npos 1 */
    gt[1].difficult = 1;
    in.metric = VOC_METRIC_10;
    voc_eval_run(&in, &r);
    ck_assert_int_eq(r.npos[0], 1);
    ck_assert_double_eq_tol(r.ap50, 1.0, 1e-15);  // rec 1 1 1, prec 1 .5 .5
    voc_eval_result_free(&r);
}
END_TEST

/* The training path: continuous boxes, the +1 frame. gt [0, 0, 10, 10]; a detection of
 * continuous IoU exactly 0.5 ([0, 0, 10, 5]) is a false positive at .50 (strict >), one of
 * IoU 0.8 ([0, 0, 10, 8]) a hit up to .75 (0.8 > .80 fails). */
START_TEST(test_detections_in_memory)
{
    rd_sample samples[2] = {{NULL, 7, 100, 100, 0, 1}, {NULL, 3, 100, 100, 1, 0}};
    rd_object objects[1] = {{{0, 0, 10, 10}, 0, 0, 0, 0, 100}};
    int64_t catids[2] = {0, 1};
    rd_dataset ds = {"voc", 2, NULL, catids, samples, 2, objects, 1, 0, 0, 0};
    rd_detection dets[2] = {{7, 0, 0.9f, {0, 0, 10, 8}}, {7, 0, 0.5f, {0, 0, 10, 5}}};
    voc_eval_result r;
    char err[256];
    ck_assert_msg(voc_eval_detections(&ds, dets, 2, VOC_METRIC_10, &r, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_double_eq(voc_eval_class_ap(&r, 0, 0), 1.0);  // .50: hit, then false positive
    ck_assert_double_eq(voc_eval_class_ap(&r, 0, 5), 1.0);  // .75
    ck_assert_double_eq(voc_eval_class_ap(&r, 0, 6), 0.0);  // .80: 0.8 is not > .8
    ck_assert_double_eq(voc_eval_class_ap(&r, 1, 0), -1.0);  // class 1: no ground truth
    ck_assert_double_eq(r.map[0], 1.0);
    voc_eval_result_free(&r);
    dets[1].box = (rd_box){0, 0, 10, 5.0001f};  // just above 0.5: a duplicate, still fp
    ck_assert(voc_eval_detections(&ds, dets, 2, VOC_METRIC_10, &r, err, sizeof err) == 0);
    ck_assert_double_eq(voc_eval_class_ap(&r, 0, 0), 1.0);
    voc_eval_result_free(&r);
    dets[0] = (rd_detection){7, 0, 0.9f, {0, 0, 10, 5.0001f}};  // alone above 0.5: a hit
    ck_assert(voc_eval_detections(&ds, dets, 1, VOC_METRIC_10, &r, err, sizeof err) == 0);
    ck_assert_double_eq(voc_eval_class_ap(&r, 0, 0), 1.0);
    ck_assert_double_eq(voc_eval_class_ap(&r, 0, 1), 0.0);
    voc_eval_result_free(&r);

    dets[0].image_id = 5;
    ck_assert_int_eq(voc_eval_detections(&ds, dets, 1, VOC_METRIC_10, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "detection 0 (image 5, label 0, score 0.9): its image_id is not an "
                          "image of the dataset");
    dets[0] = (rd_detection){3, 2, 0.5f, {0, 0, 1, 1}};
    ck_assert_int_eq(voc_eval_detections(&ds, dets, 1, VOC_METRIC_10, &r, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "label is outside") != NULL, "%s", err);
    dets[0] = (rd_detection){3, 1, 0.5f, {5, 0, 1, 1}};
    ck_assert_int_eq(voc_eval_detections(&ds, dets, 1, VOC_METRIC_10, &r, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "negative width") != NULL, "%s", err);
    ck_assert(voc_eval_detections(&ds, dets, 0, VOC_METRIC_07, &r, err, sizeof err) == 0);
    ck_assert_double_eq(r.ap50, 0.0);  // no detections: AP 0 where there is ground truth
    voc_eval_result_free(&r);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("voc_eval");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_hand_computed_rules);
    tcase_add_test(tc, test_cases_match_voc_eval);
    tcase_add_test(tc, test_detections_in_memory);
    suite_add_tcase(s, tc);
    return s;
}
