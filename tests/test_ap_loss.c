/* test_ap_loss.c — the fast AP-loss (optim/ap_loss.c) against hand-computed values, the
 * issue's worked example, the O(|P||N|) oracle (optim/rank_oracle.c) on random batches, its
 * invariants, bad input, thread-count independence and a steady state without allocation. */
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

/* The issue's worked example, δ = 1, interpolation on. By hand (f(x) = x/2 + 1/2 clamped):
 *   positives ascending -0.847, 1.57, 2.567; negatives 0.747, -0.096; -0.056 ignored.
 *   -0.847: a = 1/2 + (1/2 + 1 + 1) = 3, b = f(1.594) + f(0.751) = 1 + 0.8755, prec 0.6153
 *    1.57:  a = 1/2 + (0 + 1/2 + f(0.997) = 0.9985) = 1.9985, b = f(-0.823) = 0.0885, prec 0.9576
 *    2.567: a = 1/2 + (0 + 0.0015 + 1/2), b = 0, prec 1
 *   precisions rise, so no interpolation: loss = (b1/(a1+b1) + b2/(a2+b2))/3,
 *   g(0.747) = (1/(a1+b1) + 0.0885/(a2+b2))/3, g(-0.096) = 0.8755/(a1+b1)/3. */
START_TEST(test_ap_worked_example)
{
    const float s[6] = {1.57f, -0.056f, 0.747f, -0.847f, 2.567f, -0.096f};
    const int8_t t[6] = {1, -1, 0, 1, 1, 0};
    const double a1 = 3.0, b1 = 1.8755, a2 = 1.9985, b2 = 0.0885;
    const double want[6] = {-b2 / (a2 + b2) / 3, 0.0, (1.0 / (a1 + b1) + b2 / (a2 + b2)) / 3,
                            -b1 / (a1 + b1) / 3, 0.0, 0.8755 / (a1 + b1) / 3};
    loss_inputs in = {s, t, NULL, 6};
    float g[6];
    loss_result r = expect_loss_ok(ap_loss_compute, &in, NULL, g);
    ck_assert_double_eq_tol(r.loss, (b1 / (a1 + b1) + b2 / (a2 + b2)) / 3, 1e-7);
    expect_update(g, want, 6, 1e-6);
    /* The issue quotes loss 0.142372 and [-0.014148, 0, 0.082518, -0.128224, 0, 0.059854]; the
     * printed scores give 0.142361 and [-0.014135, 0, 0.082504, -0.128226, 0, 0.059857]. The
     * figures agree to 1.3e-5, as expected if they came from the scores before their rounding
     * to 3 decimals (a shift of 1e-4 in the scores reproduces all six). */
    const double issue[6] = {-0.014148, 0.0, 0.082518, -0.128224, 0.0, 0.059854};
    ck_assert_double_eq_tol(r.loss, 0.142372, 2e-5);
    expect_update(g, issue, 6, 2e-5);
}
END_TEST

/* Eq. 5 with the Heaviside step (δ = 0), distinct scores, by hand. Ranked from the top:
 *   2.0 P (rank 1, rank+ 1), 1.2 N, 0.8 P (rank 3, rank+ 2), 0.3 P (rank 4, rank+ 3), -0.5 N, -1 N
 *   AP = (1/1 + 2/3 + 3/4)/3 = 29/36, loss 7/36; g(0.8) = -(1/3)/3, g(0.3) = -(1/4)/3,
 *   g(1.2) = (1/3 + 1/4)/3 = 7/36 (L_ij = 1/rank(i) for the negative above i).
 * Interpolated (ascending: 0.3 has 3/4, then 0.8 has 2/3 < 3/4 so counts 3/4 and its L is
 * scaled by (1/4)/(1/3)): AP = (3/4 + 3/4 + 1)/3, loss 1/6; g(0.8) = -1/12,
 * g(1.2) = (1/4 + 1/3 · 3/4)/3 = 1/6. */
START_TEST(test_ap_eq5_by_hand)
{
    const float s[6] = {0.3f, 2.0f, -0.5f, 1.2f, 0.8f, -1.0f};
    const int8_t t[6] = {1, 1, 0, 0, 1, 0};
    const double plain[6] = {-1.0 / 12, 0.0, 0.0, 7.0 / 36, -1.0 / 9, 0.0};
    const double interp[6] = {-1.0 / 12, 0.0, 0.0, 1.0 / 6, -1.0 / 12, 0.0};
    loss_params p;
    loss_params_default(&p);
    p.delta = 0.0;
    p.interp = 0;
    loss_inputs in = {s, t, NULL, 6};
    float g[6];
    loss_result r = expect_loss_ok(ap_loss_compute, &in, &p, g);
    ck_assert_double_eq_tol(r.loss, 7.0 / 36, 1e-12);
    expect_update(g, plain, 6, 1e-7);
    ck_assert_int_eq(r.num_pos, 3);
    ck_assert_int_eq(r.num_neg, 3);
    p.interp = 1;
    r = expect_loss_ok(ap_loss_compute, &in, &p, g);
    ck_assert_double_eq_tol(r.loss, 1.0 / 6, 1e-12);
    expect_update(g, interp, 6, 1e-7);
}
END_TEST

/* Tied positives share a value (f(0) = 1/2 both ways), and a negative tied with a positive
 * counts half: δ = 0, scores P 1, P 1, N 1, N 0. a = 1/2 + 1/2 + 1/2 = 3/2, b = 1/2,
 * prec = 3/4 for both; loss 1/4; g(P) = -1/8 each, g(N at 1) = 2 · (1/2)/2 / 2 = 1/4. */
START_TEST(test_ap_ties_by_hand)
{
    const float s[4] = {1.0f, 1.0f, 1.0f, 0.0f};
    const int8_t t[4] = {1, 1, 0, 0};
    const double want[4] = {-0.125, -0.125, 0.25, 0.0};
    loss_params p;
    loss_params_default(&p);
    p.delta = 0.0;
    loss_inputs in = {s, t, NULL, 4};
    float g[4];
    loss_result r = expect_loss_ok(ap_loss_compute, &in, &p, g);
    ck_assert_double_eq_tol(r.loss, 0.25, 1e-12);
    expect_update(g, want, 4, 1e-7);
}
END_TEST

START_TEST(test_ap_matches_oracle_random)
{
    case_comparison cmp = {ap_loss_compute, ap_oracle_compute, 0, ""};
    case_compare_random(&cmp, 20190601);
    case_expect_no_failures(&cmp);
}
END_TEST

/* Scores far apart in magnitude (case_fill_extreme): with δ = 0 any floats must work; with
 * δ > 0 the linear parts come from prefix sums, so the pool keeps |s|/δ below 1e5. */
START_TEST(test_ap_extreme_scores_match_oracle)
{
    static const double deltas[] = {0.0, 1e-3, 0.5, 8.0};
    enum { N = 40 };
    float s[N];
    int8_t t[N];
    case_rng rng = {314};
    case_comparison cmp = {ap_loss_compute, ap_oracle_compute, 0, ""};
    rd_arena ws;
    rd_arena_init(&ws);
    loss_params p;
    loss_params_default(&p);
    for (int c = 0; c < 400; c++) {
        p.delta = deltas[c % 4];
        p.interp = (c / 4) % 2;
        case_fill_extreme(&rng, p.delta, s, t, N);
        loss_inputs in = {s, t, NULL, N};
        case_compare(&cmp, c, &in, &p, &ws);
    }
    rd_arena_free(&ws);
    case_expect_no_failures(&cmp);
}
END_TEST

/* A batch large enough for many chunks, with several hundred positives and a tie across
 * labels. */
static void big_batch(float *s, int8_t *t, int64_t n, uint64_t seed)
{
    case_fill_big(s, t, n, seed, 0);
    s[7] = s[11];
}

START_TEST(test_ap_threads_same_bits_and_oracle)
{
    const int64_t n = 200000;
    float *s = malloc((size_t)n * sizeof *s);
    int8_t *t = malloc((size_t)n);
    ck_assert(s && t);
    big_batch(s, t, n, 7);
    loss_params p;
    loss_params_default(&p);
    loss_inputs in = {s, t, NULL, n};
    rd_arena ws;
    rd_arena_init(&ws);
    loss_result r1 = expect_threads_same_bits(ap_loss_compute, &in, &p, &ws);
    ck_assert_int_gt(r1.num_pos, 300);
    case_comparison cmp = {ap_loss_compute, ap_oracle_compute, 0, ""};
    case_compare(&cmp, 0, &in, &p, &ws);
    case_expect_no_failures(&cmp);
    rd_arena_free(&ws);
    free(s), free(t);
}
END_TEST

/* Every score within 0.1 of -log 99, as at the start of training: whole blocks of negatives
 * fall between the positives' lower and upper breakpoints (one bucket each). */
START_TEST(test_ap_narrow_scores_match_oracle)
{
    const int64_t n = 100000;
    float *s = malloc((size_t)n * sizeof *s);
    int8_t *t = malloc((size_t)n);
    ck_assert(s && t);
    case_rng rng = {99};
    for (int64_t i = 0; i < n; i++) {
        double x = case_unit(&rng);
        t[i] = x < 0.0005 ? 1 : x < 0.01 ? -1 : 0;
        s[i] = (float)(-log(99.0) + 0.2 * case_unit(&rng) - 0.1);
    }
    loss_params p;
    loss_params_default(&p);
    loss_inputs in = {s, t, NULL, n};
    rd_arena ws;
    rd_arena_init(&ws);
    case_comparison cmp = {ap_loss_compute, ap_oracle_compute, 0, ""};
    for (int interp = 0; interp < 2; interp++) {
        p.interp = interp;
        case_compare(&cmp, interp, &in, &p, &ws);
    }
    case_expect_no_failures(&cmp);
    rd_arena_free(&ws);
    free(s), free(t);
}
END_TEST

START_TEST(test_ap_steady_state_allocates_nothing)
{
    const int64_t n = 50000;
    float *s = malloc((size_t)n * sizeof *s);
    int8_t *t = malloc((size_t)n);
    ck_assert(s && t);
    big_batch(s, t, n, 11);
    loss_params p;
    loss_params_default(&p);
    loss_inputs in = {s, t, NULL, n};
    expect_steady_state(ap_loss_compute, &in, &p);
    free(s), free(t);
}
END_TEST

/* The first bad entry is reported, by kind, also when it lies in a later chunk. */
START_TEST(test_ap_bad_input)
{
    const int64_t n = 100000;
    float *s = calloc((size_t)n, sizeof *s);
    int8_t *t = calloc((size_t)n, 1);
    ck_assert(s && t);
    t[5] = 1;
    loss_inputs in = {s, t, NULL, n};
    s[70001] = NAN;
    s[90000] = INFINITY;
    expect_loss_status(ap_loss_compute, &in, LOSS_ERR_NONFINITE, 70001);
    s[70001] = 0.0f;
    expect_loss_status(ap_loss_compute, &in, LOSS_ERR_NONFINITE, 90000);
    s[90000] = 0.0f;
    s[3] = -INFINITY;
    expect_loss_status(ap_loss_compute, &in, LOSS_ERR_NONFINITE, 3);
    s[3] = 0.0f;
    t[41000] = 2;
    t[60000] = -2;
    expect_loss_status(ap_loss_compute, &in, LOSS_ERR_LABEL, 41000);
    t[41000] = 0;
    s[50000] = NAN;  // before the bad label
    expect_loss_status(ap_loss_compute, &in, LOSS_ERR_NONFINITE, 50000);
    s[50000] = 0.0f;
    expect_loss_status(ap_loss_compute, &in, LOSS_ERR_LABEL, 60000);
    t[60000] = 0;
    loss_result r = expect_loss_status(ap_loss_compute, &in, LOSS_OK, -1);
    ck_assert_int_eq(r.num_pos, 1);
    ck_assert_int_eq(r.num_neg, n - 1);
    free(s), free(t);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("ap_loss");
    TCase *tc = tcase_create("ap_loss");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ap_worked_example);
    tcase_add_test(tc, test_ap_eq5_by_hand);
    tcase_add_test(tc, test_ap_ties_by_hand);
    tcase_add_test(tc, test_ap_matches_oracle_random);
    tcase_add_test(tc, test_ap_extreme_scores_match_oracle);
    tcase_add_test(tc, test_ap_threads_same_bits_and_oracle);
    tcase_add_test(tc, test_ap_narrow_scores_match_oracle);
    tcase_add_test(tc, test_ap_steady_state_allocates_nothing);
    tcase_add_test(tc, test_ap_bad_input);
    suite_add_tcase(s, tc);
    return s;
}
