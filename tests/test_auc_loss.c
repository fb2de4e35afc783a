/* test_auc_loss.c — the fast AUC-loss (optim/auc_loss.c, eq. 7 with the error-driven update)
 * against hand-computed values, the O(|P||N|) oracle (optim/rank_oracle.c) on random batches,
 * its invariants, bad input, thread-count independence and a steady state without allocation. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "optim/loss.h"
#include "optim/rank_oracle.h"
#include "tests/case_rng.h"
#include "tests/check_main.h"
#include "tests/loss_expect.h"
#include "tests/rank_cases.h"

/* AUC-loss with default parameters but delta; asserts LOSS_OK. */
static loss_result run_auc(const float *s, const int8_t *t, int n, double delta, float *g)
{
    loss_params p;
    loss_params_default(&p);
    p.delta = delta;
    loss_inputs in = {s, t, NULL, n};
    return expect_loss_ok(auc_loss_compute, &in, &p, g);
}

/* δ = 1, one positive at 0, negatives at 0.5, -1.5, 3 (and one ignored at 0.2):
 * f(0.5) = 0.75, f(-1.5) = 0 (clamped from -0.25), f(3) = 1; |N| = 3, so
 * L' = (0.25, 0, 1/3), loss = 7/12, g(positive) = -7/12. */
START_TEST(test_auc_by_hand_delta1)
{
    const float s[5] = {0.0f, 0.5f, -1.5f, 3.0f, 0.2f};
    const int8_t t[5] = {1, 0, 0, 0, -1};
    const double want[5] = {-7.0 / 12, 0.25, 0.0, 1.0 / 3, 0.0};
    float g[5];
    loss_result r = run_auc(s, t, 5, 1.0, g);
    ck_assert_double_eq_tol(r.loss, 7.0 / 12, 1e-12);
    expect_update(g, want, 5, 1e-7);
}
END_TEST

/* δ = 0 (Heaviside), the 6 scores of the AP eq. 5 example: positives 2.0, 0.8, 0.3 have 0, 1
 * and 1 of the 3 negatives above them, so loss = (0 + 1 + 1)/(3·3) = 2/9,
 * g(0.8) = g(0.3) = -(1/3)/3, g(1.2) = (1/3 + 1/3)/3. */
START_TEST(test_auc_by_hand_heaviside)
{
    const float s[6] = {0.3f, 2.0f, -0.5f, 1.2f, 0.8f, -1.0f};
    const int8_t t[6] = {1, 1, 0, 0, 1, 0};
    const double want[6] = {-1.0 / 9, 0.0, 0.0, 2.0 / 9, -1.0 / 9, 0.0};
    float g[6];
    loss_result r = run_auc(s, t, 6, 0.0, g);
    ck_assert_double_eq_tol(r.loss, 2.0 / 9, 1e-12);
    expect_update(g, want, 6, 1e-7);
}
END_TEST

/* Ties count half with the Heaviside (f(0) = 1/2): positive and negative both at 1, another
 * negative at 2: L' = (1/2, 1)/2, loss 3/4. No negative: loss 0, zero update, and it is not a
 * batch without positives. */
START_TEST(test_auc_ties_and_no_negative)
{
    const float s[3] = {1.0f, 1.0f, 2.0f};
    const int8_t t[3] = {1, 0, 0};
    const double want[3] = {-0.75, 0.25, 0.5};
    float g[3];
    loss_result r = run_auc(s, t, 3, 0.0, g);
    ck_assert_double_eq_tol(r.loss, 0.75, 1e-12);
    expect_update(g, want, 3, 1e-7);
    const int8_t only_pos[3] = {1, -1, 1};
    g[0] = g[1] = g[2] = 1.0f;
    r = run_auc(s, only_pos, 3, 1.0, g);
    ck_assert(r.loss == 0.0 && !r.no_positive && r.num_neg == 0);
    ck_assert(g[0] == 0.0f && g[1] == 0.0f && g[2] == 0.0f);
    const int8_t only_neg[3] = {0, 0, -1};
    r = expect_loss_no_positive(auc_loss_compute, &(loss_inputs){s, only_neg, NULL, 3});
    ck_assert_int_eq(r.num_pos, 0);
}
END_TEST

START_TEST(test_auc_matches_oracle_random)
{
    case_comparison cmp = {auc_loss_compute, auc_oracle_compute, 0, ""};
    case_compare_random(&cmp, 20190607);  // the interpolation flag drawn is ignored by AUC
    case_expect_no_failures(&cmp);
}
END_TEST

/* Large batches (case_fill_big): overlapping scores with several hundred positives (many
 * chunks), and every score within 0.1 of -log 99 (blocks of negatives in one bucket). */
START_TEST(test_auc_threads_same_bits_and_oracle)
{
    const int64_t n = 200000;
    float *s = malloc((size_t)n * sizeof *s);
    int8_t *t = malloc((size_t)n);
    ck_assert(s && t);
    loss_params p;
    loss_params_default(&p);
    loss_inputs in = {s, t, NULL, n};
    rd_arena ws;
    rd_arena_init(&ws);
    case_comparison cmp = {auc_loss_compute, auc_oracle_compute, 0, ""};
    for (int narrow = 0; narrow < 2; narrow++) {
        case_fill_big(s, t, n, 5 + (uint64_t)narrow, narrow);
        loss_result r1 = expect_threads_same_bits(auc_loss_compute, &in, &p, &ws);
        ck_assert_int_gt(r1.num_pos, 300);
        case_compare(&cmp, narrow, &in, &p, &ws);
    }
    case_expect_no_failures(&cmp);
    rd_arena_free(&ws);
    free(s), free(t);
}
END_TEST

START_TEST(test_auc_steady_state_allocates_nothing)
{
    const int64_t n = 50000;
    float *s = malloc((size_t)n * sizeof *s);
    int8_t *t = malloc((size_t)n);
    ck_assert(s && t);
    case_fill_big(s, t, n, 13, 0);
    loss_params p;
    loss_params_default(&p);
    loss_inputs in = {s, t, NULL, n};
    expect_steady_state(auc_loss_compute, &in, &p);
    free(s), free(t);
}
END_TEST

START_TEST(test_auc_bad_input)
{
    float s[6] = {0.5f, 1.0f, -1.0f, 2.0f, 0.0f, 3.0f};
    int8_t t[6] = {1, 0, 0, 1, -1, 0};
    loss_inputs in = {s, t, NULL, 6};
    s[4] = INFINITY;  // an ignored entry is still checked
    s[5] = NAN;
    expect_loss_status(auc_loss_compute, &in, LOSS_ERR_NONFINITE, 4);
    s[4] = 0.0f;
    expect_loss_status(auc_loss_compute, &in, LOSS_ERR_NONFINITE, 5);
    s[5] = 3.0f;
    t[2] = 5;
    expect_loss_status(auc_loss_compute, &in, LOSS_ERR_LABEL, 2);
    t[2] = 0;
    expect_loss_status(auc_loss_compute, &in, LOSS_OK, -1);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("auc_loss");
    TCase *tc = tcase_create("auc_loss");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_auc_by_hand_delta1);
    tcase_add_test(tc, test_auc_by_hand_heaviside);
    tcase_add_test(tc, test_auc_ties_and_no_negative);
    tcase_add_test(tc, test_auc_matches_oracle_random);
    tcase_add_test(tc, test_auc_threads_same_bits_and_oracle);
    tcase_add_test(tc, test_auc_steady_state_allocates_nothing);
    tcase_add_test(tc, test_auc_bad_input);
    suite_add_tcase(s, tc);
    return s;
}
