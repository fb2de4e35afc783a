/* test_approx_ap.c — the sigmoid-smoothed AP objective -log(AP + eps) and its gradient:
 * a hand-computed pair, central finite differences of the objective on random small cases,
 * a plain pairwise transcription in double (no window, no sort) on larger and on widely
 * spread cases (where the window skips pairs), and the shared conventions (bad input, no
 * positive, no negative, 1 vs 2 threads). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "optim/loss.h"
#include "tests/case_rng.h"
#include "tests/check_main.h"
#include "tests/loss_expect.h"
#include "tests/rank_cases.h"

/* case_fill_grid, then one entry made positive so every case has at least one. */
static void make_case(uint64_t *rng, int64_t n, int grid, int range, int pos_pct, float *s,
                      int8_t *t)
{
    case_fill_grid(rng, n, grid, range, pos_pct, s, t);
    t[case_lcg_below(rng, (uint32_t)n)] = 1;
}

/* The objective and gradient by the formulas of the header, pair by pair, in double. */
static double oracle_approx_ap(const float *s, const int8_t *t, int64_t n, double tau, double eps,
                               double *grad)
{
    int64_t npos = 0;
    for (int64_t i = 0; i < n; i++)
        npos += t[i] == 1;
    double *a = calloc((size_t)n, sizeof *a), *b = calloc((size_t)n, sizeof *b);
    double ap = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (t[i] != 1)
            continue;
        a[i] = 1.0;
        for (int64_t m = 0; m < n; m++)
            if (m != i && t[m] >= 0) {
                double sig = 1.0 / (1.0 + exp(-((double)s[m] - s[i]) / tau));
                *(t[m] == 1 ? &a[i] : &b[i]) += sig;
            }
        ap += a[i] / (a[i] + b[i]) / (double)npos;
    }
    memset(grad, 0, (size_t)n * sizeof *grad);
    for (int64_t i = 0; i < n; i++) {
        if (t[i] != 1)
            continue;
        double r = a[i] + b[i], c = -1.0 / ((ap + eps) * (double)npos * r * r);
        for (int64_t m = 0; m < n; m++) {
            if (m == i || t[m] < 0)
                continue;
            double sig = 1.0 / (1.0 + exp(-((double)s[m] - s[i]) / tau));
            double dsig = sig * (1.0 - sig) / tau;
            /* d(A_i / R_i) = (B_i dA_i - A_i dB_i) / R_i^2, with dA_i or dB_i = dsig (ds_m - ds_i) */
            double w = t[m] == 1 ? c * b[i] * dsig : -c * a[i] * dsig;
            grad[m] += w;
            grad[i] -= w;
        }
    }
    free(a);
    free(b);
    return -log(ap + eps);
}

/* One positive and one negative at equal scores: sig = 1/2, A = 1, B = 1/2, AP = 2/3,
 * J = -log(2/3 + eps); sig'(0) = 1/(4 tau) = 1/2, c = -1/((2/3 + eps) 2.25),
 * so the positive gets c/2 and the negative -c/2. */
START_TEST(test_approx_ap_hand_pair)
{
    float scores[3] = {0.25f, 0.25f, -3.0f};
    int8_t labels[3] = {1, 0, -1};
    loss_inputs in = {scores, labels, NULL, 3};
    float grad[3];
    loss_result r = expect_loss_ok(approx_ap_loss_compute, &in, NULL, grad);
    ck_assert_double_eq_tol(r.loss, 0.40396623198442855, 1e-15);
    ck_assert_float_eq_tol(grad[0], -0.3328340822100183f, 1e-7f);
    ck_assert_float_eq_tol(grad[1], 0.3328340822100183f, 1e-7f);
    ck_assert_float_eq(grad[2], 0.0f);

    /* No negative: AP = 1, J = -log(1 + eps), and the gradient is 0. */
    labels[1] = 1;
    r = expect_loss_ok(approx_ap_loss_compute, &in, NULL, grad);
    ck_assert_double_eq_tol(r.loss, -0.0009995003330834232, 1e-17);
    ck_assert_float_eq(grad[0], 0.0f);
    ck_assert_float_eq(grad[1], 0.0f);
}
END_TEST

static double approx_objective(loss_inputs *in, const loss_params *p, rd_arena *ws, float *grad)
{
    loss_result r;
    ck_assert_int_eq(approx_ap_loss_compute(in, p, ws, grad, &r), LOSS_OK);
    return r.loss;
}

/* Central differences of the objective (h = 2^-14, exact on the 1/256 score grid). */
START_TEST(test_approx_ap_finite_differences)
{
    static const double taus[3] = {0.25, 0.5, 1.0};
    uint64_t rng = 42;
    float s[12], grad[12], scratch[12];
    int8_t t[12];
    rd_arena ws;
    rd_arena_init(&ws);
    for (int trial = 0; trial < 300; trial++) {
        int64_t n = 2 + case_lcg_below(&rng, 11);
        make_case(&rng, n, 256, 3, 30, s, t);
        loss_params p;
        loss_params_default(&p);
        p.tau = taus[trial % 3];
        loss_inputs in = {s, t, NULL, n};
        approx_objective(&in, &p, &ws, grad);
        const float h = 1.0f / 16384.0f;
        for (int64_t m = 0; m < n; m++) {
            float keep = s[m];
            s[m] = keep + h;
            double up = approx_objective(&in, &p, &ws, scratch);
            s[m] = keep - h;
            double down = approx_objective(&in, &p, &ws, scratch);
            s[m] = keep;
            double fd = (up - down) / (2.0 * h);
            ck_assert_msg(fabs(fd - grad[m]) <= 1e-4 * fabs(fd) + 1e-7,
                          "trial %d, n %lld, tau %g: grad[%lld] %.9g, finite differences %.9g",
                          trial, (long long)n, p.tau, (long long)m, grad[m], fd);
        }
    }
    rd_arena_free(&ws);
}
END_TEST

/* Against the pairwise transcription: moderate spreads (every pair inside the window, the
 * parallel paths taken) and wide ones (most pairs outside the window and skipped). */
START_TEST(test_approx_ap_matches_pairwise_oracle)
{
    static const struct { int64_t n; int grid, range, pos_pct; double tau; } cases[] = {
        {300, 64, 2, 20, 0.5}, {3000, 16, 4, 5, 0.5}, {6000, 1024, 1, 3, 0.25},
        {400, 4, 100, 20, 0.5}, {5000, 8, 200, 2, 1.0}, {2000, 2, 1000, 10, 0.1},
    };
    uint64_t rng = 7;
    rd_arena ws;
    rd_arena_init(&ws);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t n = cases[c].n;
        float *s = malloc((size_t)n * sizeof *s), *grad = malloc((size_t)n * sizeof *grad);
        int8_t *t = malloc((size_t)n);
        double *expect = malloc((size_t)n * sizeof *expect);
        make_case(&rng, n, cases[c].grid, cases[c].range, cases[c].pos_pct, s, t);
        loss_params p;
        loss_params_default(&p);
        p.tau = cases[c].tau;
        double want = oracle_approx_ap(s, t, n, p.tau, p.eps, expect);
        loss_inputs in = {s, t, NULL, n};
        double got = approx_objective(&in, &p, &ws, grad);
        ck_assert_msg(fabs(got - want) <= 1e-12 * fabs(want), "case %zu: loss %.17g, oracle %.17g",
                      c, got, want);
        double gmax = 0.0;
        for (int64_t i = 0; i < n; i++)
            gmax = fmax(gmax, fabs(expect[i]));
        ck_assert_double_gt(gmax, 0.0);
        for (int64_t i = 0; i < n; i++)
            ck_assert_msg(fabs(grad[i] - expect[i]) <= 1e-6 * fabs(expect[i]) + 1e-12 * gmax,
                          "case %zu: grad[%lld] %.9g, oracle %.9g", c, (long long)i, grad[i],
                          expect[i]);
        free(s);
        free(grad);
        free(t);
        free(expect);
    }
    rd_arena_free(&ws);
}
END_TEST

/* A NaN or Inf score and a label outside {1, 0, -1} are errors naming their index. */
START_TEST(test_approx_ap_bad_input)
{
    float scores[6] = {0.1f, -0.2f, 0.3f, -INFINITY, 0.5f, NAN};
    int8_t labels[6] = {1, 0, 0, 0, -1, 0};
    loss_inputs in = {scores, labels, NULL, 6};
    expect_loss_status(approx_ap_loss_compute, &in, LOSS_ERR_NONFINITE, 3);
    scores[3] = 1.0f;
    expect_loss_status(approx_ap_loss_compute, &in, LOSS_ERR_NONFINITE, 5);
    scores[5] = 1.0f;
    labels[4] = -2;
    expect_loss_status(approx_ap_loss_compute, &in, LOSS_ERR_LABEL, 4);
}
END_TEST

START_TEST(test_approx_ap_no_positive)
{
    float scores[4] = {2.0f, -1.0f, 0.5f, 3.0f};
    int8_t labels[4] = {0, 0, -1, 0};
    expect_loss_no_positive(approx_ap_loss_compute, &(loss_inputs){scores, labels, NULL, 4});
}
END_TEST

/* 1 and 2 threads give the same bits, with and without the factored exp; a second same-sized
 * call allocates nothing. */
START_TEST(test_approx_ap_threads_same_bits)
{
    int64_t n = 40000;
    float *s = malloc((size_t)n * sizeof *s);
    int8_t *t = malloc((size_t)n);
    uint64_t rng = 99;
    make_case(&rng, n, 64, 30, 1, s, t);
    loss_inputs in = {s, t, NULL, n};
    loss_params p;
    loss_params_default(&p);
    rd_arena ws;
    rd_arena_init(&ws);
    for (int wide = 0; wide < 2; wide++) {  // tau 0.01: the scores span 6000 tau, exp per pair
        p.tau = wide ? 0.01 : 0.5;
        expect_threads_same_bits(approx_ap_loss_compute, &in, &p, &ws);
        ck_assert_uint_eq(ws.grows, 1);
    }
    rd_arena_free(&ws);
    free(s);
    free(t);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("approx_ap");
    TCase *tc = tcase_create("approx_ap");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_approx_ap_hand_pair);
    tcase_add_test(tc, test_approx_ap_finite_differences);
    tcase_add_test(tc, test_approx_ap_matches_pairwise_oracle);
    tcase_add_test(tc, test_approx_ap_bad_input);
    tcase_add_test(tc, test_approx_ap_no_positive);
    tcase_add_test(tc, test_approx_ap_threads_same_bits);
    suite_add_tcase(s, tc);
    return s;
}
