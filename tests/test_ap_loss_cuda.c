/* test_ap_loss_cuda.c — the GPU ap loss (optim/ap_loss.cu) against its specification, the
 * CPU ap_loss_compute (optim/ap_loss.c): random batches with ties and scores exactly on the
 * window edges (δ = 0, 0.25, 1; interpolation on and off), floats of every magnitude, the
 * worked example, batches above 2^20 entries, no positive, all ignored, the first bad entry,
 * and a steady state that allocates no device memory. Parity: equal status, counts and
 * bad_index; loss within 1e-9 (relative, for losses above 1); every update within 1e-6 of the
 * largest |update|. Without a GPU every test says SKIPPED. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "optim/loss.h"
#include "optim/loss_cuda.h"
#include "tests/case_rng.h"
#include "tests/check_main.h"
#include "tests/gpu_skip.h"
#include "tests/loss_cuda_expect.h"
#include "tests/rank_cases.h"

/* expect_cuda_parity of the ap loss. */
static loss_result expect_parity(const loss_inputs *in, const loss_params *p, loss_cuda_ws *ws,
                                 const char *what)
{
    return expect_cuda_parity("ap", in, p, ws, what);
}

/* The GPU ap loss on host data. */
static loss_status gpu_run(const loss_inputs *host, const loss_params *p, loss_cuda_ws *ws,
                           float *grad, loss_result *out)
{
    return loss_cuda_run_host("ap", host, p, ws, grad, out);
}

START_TEST(test_ap_cuda_worked_example)
{
    GPU_TEST_OR_SKIP();
    const float s[6] = {1.57f, -0.056f, 0.747f, -0.847f, 2.567f, -0.096f};
    const int8_t t[6] = {1, -1, 0, 1, 1, 0};
    loss_inputs in = {s, t, NULL, 6};
    loss_params p;
    loss_params_default(&p);
    loss_cuda_ws ws;
    loss_cuda_ws_init(&ws);
    loss_result r = expect_parity(&in, &p, &ws, "worked example");
    ck_assert_double_eq_tol(r.loss, 0.142361, 2e-6);  // test_ap_loss.c's worked example
    loss_cuda_ws_free(&ws);
}
END_TEST

/* 600 random batches of 1 to 300 entries: every kind of rank_cases.h (continuous, grids whose
 * negatives fall exactly on s_i ± δ, heavy ties, all equal), δ in {0, 0.25, 1}, interpolation
 * on and off, every 50th batch all ignored. */
START_TEST(test_ap_cuda_random_parity)
{
    GPU_TEST_OR_SKIP();
    static const double deltas[3] = {0.0, 0.25, 1.0};
    float s[300];
    int8_t t[300];
    case_rng rng = {20190602};
    loss_cuda_ws ws;
    loss_cuda_ws_init(&ws);
    loss_params p;
    loss_params_default(&p);
    for (int c = 0; c < 600; c++) {
        p.delta = deltas[c % 3];
        p.interp = (c / 3) % 2;
        const int n = 1 + case_below(&rng, 300);
        case_fill(&rng, (c / 6) % 5, p.delta, s, t, n);
        for (int i = 0; c % 50 == 49 && i < n; i++)
            t[i] = -1;
        loss_inputs in = {s, t, NULL, n};
        char what[96];
        snprintf(what, sizeof what, "case %d (n %d, delta %g, interp %d)", c, n, p.delta,
                 p.interp);
        expect_parity(&in, &p, &ws, what);
    }
    loss_cuda_ws_free(&ws);
}
END_TEST

/* test_ap_loss.c's extreme scores (case_fill_extreme): denormals, ±1e30, ±3e38, signed zeros,
 * neighbours one ulp apart with the Heaviside step; |s|/δ below 1e5 with δ > 0. */
START_TEST(test_ap_cuda_extreme_scores)
{
    GPU_TEST_OR_SKIP();
    static const double deltas[] = {0.0, 1e-3, 0.5, 8.0};
    enum { N = 40 };
    float s[N];
    int8_t t[N];
    case_rng rng = {315};
    loss_cuda_ws ws;
    loss_cuda_ws_init(&ws);
    loss_params p;
    loss_params_default(&p);
    for (int c = 0; c < 200; c++) {
        p.delta = deltas[c % 4];
        p.interp = (c / 4) % 2;
        case_fill_extreme(&rng, p.delta, s, t, N);
        loss_inputs in = {s, t, NULL, N};
        char what[64];
        snprintf(what, sizeof what, "extreme case %d (delta %g)", c, p.delta);
        expect_parity(&in, &p, &ws, what);
    }
    loss_cuda_ws_free(&ws);
}
END_TEST

/* 2^21 + 17 entries (about 4,000 positives), overlapping and narrow scores, δ 0 and 1,
 * interpolation on and off; a tie across labels. */
START_TEST(test_ap_cuda_large_batch)
{
    GPU_TEST_OR_SKIP();
    const int64_t n = ((int64_t)1 << 21) + 17;
    float *s = malloc((size_t)n * sizeof *s);
    int8_t *t = malloc((size_t)n);
    ck_assert(s && t);
    loss_cuda_ws ws;
    loss_cuda_ws_init(&ws);
    loss_params p;
    loss_params_default(&p);
    for (int c = 0; c < 8; c++) {
        case_fill_big(s, t, n, 100 + (uint64_t)c, c % 2);
        s[7] = s[11];
        p.delta = c / 2 % 2 ? 1.0 : 0.0;
        p.interp = c / 4;
        loss_inputs in = {s, t, NULL, n};
        char what[64];
        snprintf(what, sizeof what, "large case %d (delta %g, interp %d)", c, p.delta, p.interp);
        expect_parity(&in, &p, &ws, what);
    }
    loss_cuda_ws_free(&ws);
    free(s), free(t);
}
END_TEST

/* No positive, all ignored, and an empty batch: zero update, loss 0, no_positive. */
START_TEST(test_ap_cuda_no_positive)
{
    GPU_TEST_OR_SKIP();
    float s[5] = {0.5f, -1.0f, 2.0f, 0.0f, 3.0f};
    int8_t t[5] = {0, 0, -1, 0, -1};
    loss_params p;
    loss_params_default(&p);
    loss_cuda_ws ws;
    loss_cuda_ws_init(&ws);
    for (int c = 0; c < 3; c++) {
        for (int i = 0; c == 1 && i < 5; i++)
            t[i] = -1;
        loss_inputs in = {s, t, NULL, c == 2 ? 0 : 5};
        float g[5] = {7, 7, 7, 7, 7};
        loss_result r;
        ck_assert_int_eq(gpu_run(&in, &p, &ws, g, &r), LOSS_OK);
        ck_assert_int_eq(r.no_positive, 1);
        ck_assert_double_eq(r.loss, 0.0);
        ck_assert_int_eq(r.num_pos, 0);
        ck_assert_int_eq(r.num_neg, c == 0 ? 3 : 0);
        for (int i = 0; i < in.n; i++)
            ck_assert_float_eq(g[i], 0.0f);
    }
    loss_cuda_ws_free(&ws);
}
END_TEST

/* The first bad entry, by kind, as test_ap_loss.c's test_ap_bad_input. */
START_TEST(test_ap_cuda_bad_input)
{
    GPU_TEST_OR_SKIP();
    const int64_t n = 100000;
    float *s = calloc((size_t)n, sizeof *s);
    int8_t *t = calloc((size_t)n, 1);
    ck_assert(s && t);
    t[5] = 1;
    loss_inputs in = {s, t, NULL, n};
    loss_params p;
    loss_params_default(&p);
    loss_cuda_ws ws;
    loss_cuda_ws_init(&ws);
    s[70001] = NAN;
    s[90000] = INFINITY;
    expect_parity(&in, &p, &ws, "NaN at 70001");
    s[70001] = 0.0f;
    expect_parity(&in, &p, &ws, "Inf at 90000");
    s[90000] = 0.0f;
    t[41000] = 2;
    t[60000] = -2;
    s[60000] = NAN;  // a NaN and a bad label on one entry: the NaN is named
    expect_parity(&in, &p, &ws, "label 2 at 41000");
    t[41000] = 0;
    loss_result r;
    float *g = malloc((size_t)n * sizeof *g);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gpu_run(&in, &p, &ws, g, &r), LOSS_ERR_NONFINITE);
    ck_assert_int_eq(r.bad_index, 60000);
    s[60000] = 0.0f;
    ck_assert_int_eq(gpu_run(&in, &p, &ws, g, &r), LOSS_ERR_LABEL);
    ck_assert_int_eq(r.bad_index, 60000);
    t[60000] = 0;
    expect_parity(&in, &p, &ws, "clean");
    loss_cuda_ws_free(&ws);
    free(g), free(s), free(t);
}
END_TEST

/* Repeated calls on one device batch: after the first, no device allocation and the same
 * workspace size, and the loss comes back equal. */
START_TEST(test_ap_cuda_steady_state_allocates_nothing)
{
    GPU_TEST_OR_SKIP();
    loss_params p;
    loss_params_default(&p);
    expect_cuda_steady_state("ap", 12, &p, 1e-12);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("ap_loss_cuda");
    TCase *tc = tcase_create("ap_loss_cuda");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_ap_cuda_worked_example);
    tcase_add_test(tc, test_ap_cuda_random_parity);
    tcase_add_test(tc, test_ap_cuda_extreme_scores);
    tcase_add_test(tc, test_ap_cuda_large_batch);
    tcase_add_test(tc, test_ap_cuda_no_positive);
    tcase_add_test(tc, test_ap_cuda_bad_input);
    tcase_add_test(tc, test_ap_cuda_steady_state_allocates_nothing);
    suite_add_tcase(s, tc);
    return s;
}
