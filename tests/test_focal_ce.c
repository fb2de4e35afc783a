/* test_focal_ce.c — the focal and ce_ohem losses against the NumPy reference values of
 * tests/fixtures/loss_reference.txt (tests/make_loss_fixtures.py), hand-computed cases
 * (focal at s = 0, OHEM tie-breaking by index and -0 == +0), a sort-based OHEM oracle on
 * batches of many chunks, the shared conventions (bad scores and labels, no positive), and
 * identical bits on 1 and 2 threads. The fixture is read by tests/loss_fixture.c. Run from the
 * repository root. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optim/loss.h"
#include "tests/check_main.h"
#include "tests/loss_expect.h"
#include "tests/loss_fixture.h"
#include "tests/rank_cases.h"

#define FIXTURE_PATH "tests/fixtures/loss_reference.txt"

/* Every fixture case of one loss; returns how many were checked. */
static int fixture_check_loss(const char *loss_name, loss_compute_fn compute)
{
    loss_fixture fx;
    loss_fixture_open(&fx, FIXTURE_PATH, "tests/make_loss_fixtures.py");
    rd_arena ws;
    rd_arena_init(&ws);
    loss_fixture_case c;
    int checked = 0;
    while (loss_fixture_read(&fx, &c)) {
        if (strcmp(c.loss, loss_name) == 0) {
            ck_assert_msg(c.grad != NULL, "%s: %s: no reference update", FIXTURE_PATH, c.name);
            loss_inputs in = {c.scores, c.labels, NULL, c.n};
            float *grad = malloc((size_t)(c.n + 1) * sizeof *grad);
            loss_result r;
            ck_assert_int_eq(compute(&in, &c.params, &ws, grad, &r), LOSS_OK);
            double tol = 1e-6 * fmax(fabs(c.loss_value), 1e-12);
            ck_assert_msg(fabs(r.loss - c.loss_value) <= tol, "%s: loss %.12g, reference %.12g",
                          c.name, r.loss, c.loss_value);
            for (int64_t i = 0; i < c.n; i++)
                ck_assert_msg(fabs(grad[i] - c.grad[i]) <= 1e-6, "%s: grad[%lld] %.9g, reference %.9g",
                              c.name, (long long)i, grad[i], c.grad[i]);
            ck_assert_int_eq(r.no_positive, r.num_pos == 0);
            free(grad);
            checked++;
        }
        loss_fixture_case_free(&c);
    }
    loss_fixture_close(&fx);
    rd_arena_free(&ws);
    return checked;
}

START_TEST(test_focal_matches_reference)
{
    ck_assert_int_ge(fixture_check_loss("focal", focal_loss_compute), 10);
}
END_TEST

START_TEST(test_ce_ohem_matches_reference)
{
    ck_assert_int_ge(fixture_check_loss("ce_ohem", ce_ohem_loss_compute), 12);
}
END_TEST

/* Focal at s = 0: p = 1/2, FL = alpha (1/2)^2 log 2 for t = 1 and (1-alpha) (1/2)^2 log 2 for
 * t = 0; dFL/ds = -alpha/4 (log 2 + 1/2) and (1-alpha)/4 (1/2 + log 2). */
START_TEST(test_focal_hand_values)
{
    float scores[3] = {0.0f, 0.0f, 0.0f};
    int8_t labels[3] = {1, 0, -1};
    loss_inputs in = {scores, labels, NULL, 3};
    float grad[3];
    loss_result r = expect_loss_ok(focal_loss_compute, &in, NULL, grad);
    ck_assert_double_eq_tol(r.loss, 0.04332169878499658 + 3 * 0.04332169878499658, 1e-15);
    ck_assert_float_eq_tol(grad[0], -0.07457169878499659f, 1e-8f);
    ck_assert_float_eq_tol(grad[1], 3 * 0.07457169878499659f, 1e-8f);
    ck_assert_float_eq(grad[2], 0.0f);
}
END_TEST

/* One positive, neg_per_pos 3: the negatives 2.0 and two of the three tied at 1.0 (the lower
 * indices 1 and 2) are kept; -0.0 and 0.0 are not. loss = sp(-0.5) + 2 sp(1) + sp(2). */
START_TEST(test_ce_ohem_ties_go_to_lower_index)
{
    float scores[7] = {0.5f, 1.0f, 1.0f, -0.0f, 1.0f, 0.0f, 2.0f};
    int8_t labels[7] = {1, 0, 0, 0, 0, 0, 0};
    float expect[7] = {-0.3775406687981454f, 0.7310585786300049f, 0.7310585786300049f, 0.0f,
                       0.0f, 0.0f, 0.8807970779778823f};
    loss_inputs in = {scores, labels, NULL, 7};
    loss_params p;
    loss_params_default(&p);
    rd_arena ws;
    rd_arena_init(&ws);
    float grad[7];
    loss_result r;
    ck_assert_int_eq(ce_ohem_loss_compute(&in, &p, &ws, grad, &r), LOSS_OK);
    ck_assert_double_eq_tol(r.loss, 5.227528370259526, 1e-14);
    for (int i = 0; i < 7; i++)
        ck_assert_float_eq_tol(grad[i], expect[i], 1e-7f);

    /* -0.0 and +0.0 are the same score: with one negative kept, the first of them wins. */
    float scores2[5] = {3.0f, -0.0f, 0.0f, -0.0f, -1.0f};
    int8_t labels2[5] = {1, 0, 0, 0, 0};
    in = (loss_inputs){scores2, labels2, NULL, 5};
    p.neg_per_pos = 1;
    ck_assert_int_eq(ce_ohem_loss_compute(&in, &p, &ws, grad, &r), LOSS_OK);
    ck_assert_double_eq_tol(r.loss, 0.7417345321336873, 1e-14);
    ck_assert_float_eq_tol(grad[0], -0.047425873177566635f, 1e-8f);
    ck_assert_float_eq(grad[1], 0.5f);
    ck_assert_float_eq(grad[2], 0.0f);
    ck_assert_float_eq(grad[3], 0.0f);
    ck_assert_float_eq(grad[4], 0.0f);
    rd_arena_free(&ws);
}
END_TEST

/* A random batch: scores on a coarse grid (many ties), about 1% positives, 5% ignored. */
static void random_batch(unsigned seed, int64_t n, float *scores, int8_t *labels)
{
    srand(seed);
    for (int64_t i = 0; i < n; i++) {
        scores[i] = (float)((rand() % 1024) - 600) / 64.0f;
        int u = rand() % 1000;
        labels[i] = u < 10 ? 1 : (u < 60 ? -1 : 0);
    }
}

/* Selection by a full sort on (-score, index) against the O(n) radix select, on batches of
 * many chunks with heavy ties at the cut-off. */
START_TEST(test_ce_ohem_matches_sort_oracle)
{
    int64_t n = 120000;
    float *scores = malloc((size_t)n * sizeof *scores), *grad = malloc((size_t)n * sizeof *grad);
    int8_t *labels = malloc((size_t)n);
    case_ranked *neg = malloc((size_t)n * sizeof *neg);
    char *keep = malloc((size_t)n);
    rd_arena ws;
    rd_arena_init(&ws);
    for (int ratio = 1; ratio <= 40; ratio *= 3) {
        random_batch(11u + (unsigned)ratio, n, scores, labels);
        int64_t nneg = 0, npos = 0;
        for (int64_t i = 0; i < n; i++) {
            keep[i] = labels[i] == 1;
            npos += labels[i] == 1;
            if (labels[i] == 0)
                neg[nneg++] = (case_ranked){scores[i], i};
        }
        qsort(neg, (size_t)nneg, sizeof *neg, case_ranked_desc);
        for (int64_t j = 0; j < nneg && j < ratio * npos; j++)
            keep[neg[j].index] = 1;
        loss_params p;
        loss_params_default(&p);
        p.neg_per_pos = ratio;
        loss_inputs in = {scores, labels, NULL, n};
        loss_result r;
        ck_assert_int_eq(ce_ohem_loss_compute(&in, &p, &ws, grad, &r), LOSS_OK);
        double sum = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double s = scores[i], t = labels[i];
            double expect = keep[i] ? (1.0 / (1.0 + exp(-s)) - t) / (double)npos : 0.0;
            ck_assert_msg(fabs(grad[i] - expect) <= 1e-9, "ratio %d: grad[%lld] %.9g, expected %.9g",
                          ratio, (long long)i, grad[i], expect);
            if (keep[i])
                sum += log1p(exp(s)) - t * s;
        }
        ck_assert_double_eq_tol(r.loss, sum / (double)npos, 1e-9 * r.loss);
    }
    rd_arena_free(&ws);
    free(scores);
    free(grad);
    free(labels);
    free(neg);
    free(keep);
}
END_TEST

static const loss_compute_fn tested_losses[2] = {focal_loss_compute, ce_ohem_loss_compute};

/* A NaN or Inf score and a label outside {1, 0, -1} are errors naming their index. */
START_TEST(test_bad_input_names_index)
{
    loss_compute_fn compute = tested_losses[_i];
    float scores[6] = {0.1f, -0.2f, 0.3f, NAN, 0.5f, INFINITY};
    int8_t labels[6] = {1, 0, 0, 0, -1, 0};
    loss_inputs in = {scores, labels, NULL, 6};
    expect_loss_status(compute, &in, LOSS_ERR_NONFINITE, 3);
    scores[3] = 0.0f;
    expect_loss_status(compute, &in, LOSS_ERR_NONFINITE, 5);
    scores[5] = -INFINITY;
    labels[1] = 2;
    expect_loss_status(compute, &in, LOSS_ERR_LABEL, 1);
}
END_TEST

/* No positive: zero update, loss 0, counted in no_positive. */
START_TEST(test_no_positive_gives_zero_update)
{
    float scores[5] = {2.0f, -1.0f, 0.5f, 3.0f, -4.0f};
    int8_t labels[5] = {0, 0, -1, 0, -1};
    loss_inputs in = {scores, labels, NULL, 5};
    loss_result r = expect_loss_no_positive(tested_losses[_i], &in);
    ck_assert_int_eq(r.num_neg, 3);
}
END_TEST

/* 1 and 2 threads give the same bits; a second same-sized call allocates nothing. */
START_TEST(test_threads_give_same_bits)
{
    int64_t n = 200000;
    float *scores = malloc((size_t)n * sizeof *scores);
    int8_t *labels = malloc((size_t)n);
    random_batch(5u, n, scores, labels);
    loss_inputs in = {scores, labels, NULL, n};
    loss_params p;
    loss_params_default(&p);
    rd_arena ws;
    rd_arena_init(&ws);
    loss_result r1 = expect_threads_same_bits(tested_losses[_i], &in, &p, &ws);
    ck_assert_uint_eq(ws.grows, 1);
    ck_assert_double_gt(r1.loss, 0.0);
    rd_arena_free(&ws);
    free(scores);
    free(labels);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("focal_ce");
    TCase *tc = tcase_create("focal_ce");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_focal_matches_reference);
    tcase_add_test(tc, test_ce_ohem_matches_reference);
    tcase_add_test(tc, test_focal_hand_values);
    tcase_add_test(tc, test_ce_ohem_ties_go_to_lower_index);
    tcase_add_test(tc, test_ce_ohem_matches_sort_oracle);
    tcase_add_loop_test(tc, test_bad_input_names_index, 0, 2);
    tcase_add_loop_test(tc, test_no_positive_gives_zero_update, 0, 2);
    tcase_add_loop_test(tc, test_threads_give_same_bits, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}
