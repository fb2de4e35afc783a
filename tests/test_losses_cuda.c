/* test_losses_cuda.c — the GPU twins of the registry losses other than ap (optim/NAME_loss.cu:
 * focal, auc, ce_ohem, approx_ap, hinge_ap;
 * ap has test_ap_loss_cuda.c) against their specification, the CPU losses of the registry:
 * random batches of every kind of rank_cases.h, batches above 2^20 entries, no positive, no
 * negative, all ignored, the first bad entry, and a steady state that allocates no device
 * memory. Parity: equal status, counts, no_positive and bad_index; loss within 1e-9 (relative,
 * for losses above 1); every update within 1e-6 of the largest |update|; ce_ohem: the same
 * kept negatives exactly (nonzero updates in the same places); hinge_ap: equal updates.
 * Every registry loss with a GPU twin is checked; without a GPU every test says SKIPPED. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim/loss.h"
#include "optim/loss_cuda.h"
#include "tests/case_rng.h"
#include "tests/check_main.h"
#include "tests/gpu_skip.h"
#include "tests/loss_cuda_expect.h"
#include "tests/rank_cases.h"

/* The registry losses other than ap that have a GPU twin, into names[]; returns how many. */
static int twins(const char **names)
{
    int count, k = 0;
    const loss_def *defs = loss_registry(&count);
    for (int i = 0; i < count; i++)
        if (strcmp(defs[i].name, "ap") != 0 && loss_cuda_find(defs[i].name))
            names[k++] = defs[i].name;
    return k;
}

/* Parameters of case c: δ in {0, 0.25, 1}, tau in {0.5, 0.1}, gamma in {2, 1.5, 0}, alpha in
 * {0.25, 1}, neg_per_pos in {3, 0, 1}. */
static void case_params(int c, loss_params *p)
{
    static const double deltas[3] = {0.0, 0.25, 1.0}, gammas[3] = {2.0, 1.5, 0.0};
    static const int ratios[3] = {3, 0, 1};
    loss_params_default(p);
    p->delta = deltas[c % 3];
    p->tau = c % 2 ? 0.1 : 0.5;
    p->gamma = gammas[(c / 2) % 3];
    p->alpha = c % 5 == 4 ? 1.0 : 0.25;
    p->neg_per_pos = ratios[(c / 3) % 3];
}

/* 300 random batches of 1 to 300 entries per loss: every kind of rank_cases.h (continuous,
 * grids whose negatives fall on s_i ± δ, heavy ties, all equal), every 50th all ignored. */
START_TEST(test_losses_cuda_random_parity)
{
    GPU_TEST_OR_SKIP();
    const char *names[8];
    const int nl = twins(names);
    float s[300];
    int8_t t[300];
    loss_cuda_ws ws;
    loss_cuda_ws_init(&ws);
    for (int l = 0; l < nl; l++) {
        case_rng rng = {20190603};
        for (int c = 0; c < 300; c++) {
            loss_params p;
            case_params(c, &p);
            const int n = 1 + case_below(&rng, 300);
            case_fill(&rng, (c / 6) % 5, p.delta, s, t, n);
            for (int i = 0; c % 50 == 49 && i < n; i++)
                t[i] = -1;
            loss_inputs in = {s, t, NULL, n};
            char what[96];
            snprintf(what, sizeof what, "case %d (n %d)", c, n);
            expect_cuda_parity(names[l], &in, &p, &ws, what);
        }
    }
    loss_cuda_ws_free(&ws);
}
END_TEST

/* 2^21 + 17 entries (about 4,000 positives), overlapping and narrow scores; a tie across
 * labels; default parameters and those of case 1. */
START_TEST(test_losses_cuda_large_batch)
{
    GPU_TEST_OR_SKIP();
    const int64_t n = ((int64_t)1 << 21) + 17;
    float *s = malloc((size_t)n * sizeof *s);
    int8_t *t = malloc((size_t)n);
    ck_assert(s && t);
    const char *names[8];
    const int nl = twins(names);
    loss_cuda_ws ws;
    loss_cuda_ws_init(&ws);
    for (int c = 0; c < 4; c++) {
        case_fill_big(s, t, n, 200 + (uint64_t)c, c % 2);
        s[7] = s[11];
        loss_params p;
        case_params(c / 2, &p);
        loss_inputs in = {s, t, NULL, n};
        char what[64];
        snprintf(what, sizeof what, "large case %d", c);
        for (int l = 0; l < nl; l++)
            expect_cuda_parity(names[l], &in, &p, &ws, what);
    }
    loss_cuda_ws_free(&ws);
    free(s), free(t);
}
END_TEST

/* No positive, all ignored, empty, and no negative: the CPU's conventions. */
START_TEST(test_losses_cuda_edge_batches)
{
    GPU_TEST_OR_SKIP();
    const float s[5] = {0.5f, -1.0f, 2.0f, 0.0f, 3.0f};
    static const int8_t labels[4][5] = {
        {0, 0, -1, 0, -1}, {-1, -1, -1, -1, -1}, {0, 0, 0, 0, 0}, {1, -1, 1, 1, -1}};
    const char *names[8];
    const int nl = twins(names);
    loss_params p;
    loss_params_default(&p);
    loss_cuda_ws ws;
    loss_cuda_ws_init(&ws);
    for (int l = 0; l < nl; l++)
        for (int c = 0; c < 5; c++) {
            loss_inputs in = {s, labels[c % 4], NULL, c == 4 ? 0 : 5};
            char what[32];
            snprintf(what, sizeof what, "edge case %d", c);
            expect_cuda_parity(names[l], &in, &p, &ws, what);
        }
    loss_cuda_ws_free(&ws);
}
END_TEST

/* The first bad entry, by kind: a NaN before an Inf, a bad label, a NaN and a bad label on
 * one entry (the NaN is named). */
START_TEST(test_losses_cuda_bad_input)
{
    GPU_TEST_OR_SKIP();
    const int64_t n = 100000;
    float *s = calloc((size_t)n, sizeof *s);
    int8_t *t = calloc((size_t)n, 1);
    ck_assert(s && t);
    t[5] = 1;
    const char *names[8];
    const int nl = twins(names);
    loss_params p;
    loss_params_default(&p);
    loss_cuda_ws ws;
    loss_cuda_ws_init(&ws);
    for (int l = 0; l < nl; l++) {
        loss_inputs in = {s, t, NULL, n};
        s[70001] = NAN;
        s[90000] = INFINITY;
        expect_cuda_parity(names[l], &in, &p, &ws, "NaN at 70001");
        s[70001] = 0.0f;
        s[90000] = 0.0f;
        t[41000] = 2;
        t[60000] = -2;
        s[60000] = NAN;
        expect_cuda_parity(names[l], &in, &p, &ws, "label 2 at 41000");
        t[41000] = 0;
        expect_cuda_parity(names[l], &in, &p, &ws, "NaN and label at 60000");
        s[60000] = 0.0f;
        t[60000] = 0;
        expect_cuda_parity(names[l], &in, &p, &ws, "clean");
    }
    loss_cuda_ws_free(&ws);
    free(s), free(t);
}
END_TEST

/* Repeated calls on one device batch: after the first, no device allocation, the same
 * workspace size and the same loss bits. */
START_TEST(test_losses_cuda_steady_state_allocates_nothing)
{
    GPU_TEST_OR_SKIP();
    loss_params p;
    loss_params_default(&p);
    const char *names[8];
    const int nl = twins(names);
    for (int l = 0; l < nl; l++)
        expect_cuda_steady_state(names[l], 12, &p, 0.0);
}
END_TEST

/* Everywhere: every registry loss has a GPU twin under its registry name, and nothing else
 * is in the GPU table. */
START_TEST(test_losses_cuda_table)
{
    ck_assert_ptr_nonnull(loss_cuda_find("ap"));
    ck_assert_ptr_null(loss_cuda_find("nope"));
    int count, found = 0;
    const loss_def *defs = loss_registry(&count);
    for (int i = 0; i < count; i++) {
        const loss_cuda_def *d = loss_cuda_find(defs[i].name);
        ck_assert_msg(d != NULL, "loss '%s' has no GPU twin", defs[i].name);
        found++;
        ck_assert_str_eq(d->name, defs[i].name);
        ck_assert_ptr_nonnull(d->compute);
        ck_assert_uint_ge(d->bytes_per_entry, 9);
    }
    const char *names[8];
    ck_assert_int_eq(twins(names) + 1, found);
    ck_assert_int_eq(found, count);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("losses_cuda");
    TCase *tc = tcase_create("losses_cuda");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_losses_cuda_table);
    tcase_add_test(tc, test_losses_cuda_random_parity);
    tcase_add_test(tc, test_losses_cuda_large_batch);
    tcase_add_test(tc, test_losses_cuda_edge_batches);
    tcase_add_test(tc, test_losses_cuda_bad_input);
    tcase_add_test(tc, test_losses_cuda_steady_state_allocates_nothing);
    suite_add_tcase(s, tc);
    return s;
}
