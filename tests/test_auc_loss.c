/* test_auc_loss.c — the fast AUC-loss (optim/auc_loss.c, eq. 7 with the error-driven update)
 * against hand-computed values, the O(|P||N|) oracle (optim/rank_oracle.c) on random batches,
 * its invariants, bad input, thread-count independence and a steady state without allocation. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "optim/loss.h"
#include "optim/rank_oracle.h"
#include "tests/check_main.h"

/* The loss under test and its O(|P||N|) oracle. */
static const loss_compute_fn loss_fast = auc_loss_compute, loss_oracle = auc_oracle_compute;

typedef struct case_rng {
    uint64_t state;  // splitmix64
} case_rng;

static uint64_t case_next(case_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double case_unit(case_rng *r)
{
    return (double)(case_next(r) >> 11) * 0x1.0p-53;
}

static int case_below(case_rng *r, int n)
{
    return (int)(case_next(r) % (uint64_t)n);
}

/* One random batch. Score kinds: continuous; a grid of multiples of 1/4 (ties, and negatives
 * exactly at s_i ± δ for every δ tested); three values (heavy ties); all equal; negatives
 * placed exactly at a positive's s_i ± δ or s_i. */
static void case_fill(case_rng *r, int kind, double delta, float *s, int8_t *t, int n)
{
    static const double p_pos[] = {0.0, 0.02, 0.1, 0.3, 0.5, 0.9, 1.0};
    static const double p_ign[] = {0.0, 0.0, 0.1, 0.5, 0.9};
    double pp = p_pos[case_below(r, 7)], pi = p_ign[case_below(r, 5)];
    for (int i = 0; i < n; i++) {
        double x = case_unit(r);
        t[i] = x < pi ? -1 : case_unit(r) < pp ? 1 : 0;
        switch (kind) {
        case 0: s[i] = (float)(6.0 * case_unit(r) - 3.0); break;
        case 1: s[i] = (float)(0.25 * (case_below(r, 17) - 8)); break;
        case 2: s[i] = (float)(0.5 * case_below(r, 3)); break;
        case 3: s[i] = 0.75f; break;
        default: s[i] = (float)(0.125 * (case_below(r, 33) - 16)); break;
        }
    }
    if (kind == 4)  // negatives exactly at some positive's cut-offs or on it
        for (int i = 0; i < n; i++) {
            int k = case_below(r, n);
            if (t[i] == 0 && t[k] == 1)
                s[i] = (float)(s[k] + delta * (case_below(r, 3) - 1));
        }
}

typedef struct case_report {
    int failures;
    char first[256];  // the first failure, for the assertion message
} case_report;

static void case_fail(case_report *rep, const char *what, int c, int64_t i, double got, double want)
{
    if (rep->failures++ == 0)
        snprintf(rep->first, sizeof rep->first, "case %d, %s at %lld: got %.9g, want %.9g", c, what,
                 (long long)i, got, want);
}

/* The invariants of every AP/AUC update: ignored 0, positives <= 0, negatives >= 0, sum 0,
 * loss = sum of the negatives' updates. */
static void case_invariants(case_report *rep, int c, const int8_t *t, const float *g, int64_t n,
                            double loss)
{
    double sum = 0.0, neg = 0.0, mag = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if ((t[i] == -1 && g[i] != 0.0f) || (t[i] == 1 && g[i] > 0.0f) || (t[i] == 0 && g[i] < 0.0f))
            case_fail(rep, "sign of update", c, i, g[i], 0.0);
        sum += g[i];
        mag += fabs(g[i]);
        neg += t[i] == 0 ? g[i] : 0.0;
    }
    if (fabs(sum) > 1e-6 * (1.0 + mag))
        case_fail(rep, "sum of updates", c, -1, sum, 0.0);
    if (fabs(neg - loss) > 1e-6 * (1.0 + mag))
        case_fail(rep, "loss vs negatives' updates", c, -1, loss, neg);
}

/* Run fast and oracle on one batch and compare (grad 1e-6 relative, far below the 1e-6
 * absolute a float update needs; loss 1e-9 relative). */
static void case_compare(case_report *rep, int c, const loss_inputs *in, const loss_params *p,
                         rd_arena *ws, float *g_fast, float *g_ref)
{
    loss_result rf, ro;
    loss_status sf = loss_fast(in, p, ws, g_fast, &rf);
    loss_status so = loss_oracle(in, p, ws, g_ref, &ro);
    if (sf != LOSS_OK || so != LOSS_OK)
        case_fail(rep, "status", c, -1, sf, so);
    if (rf.num_pos != ro.num_pos || rf.num_neg != ro.num_neg || rf.no_positive != ro.no_positive)
        case_fail(rep, "counts", c, -1, (double)rf.num_pos, (double)ro.num_pos);
    if (fabs(rf.loss - ro.loss) > 1e-9 * fmax(fabs(rf.loss), fabs(ro.loss)) + 1e-12)
        case_fail(rep, "loss", c, -1, rf.loss, ro.loss);
    for (int64_t i = 0; i < in->n; i++)
        if (fabs(g_fast[i] - g_ref[i]) > 1e-6 * fabs(g_ref[i]) + 1e-12)
            case_fail(rep, "update", c, i, g_fast[i], g_ref[i]);
    case_invariants(rep, c, in->labels, g_fast, in->n, rf.loss);
    if (rf.num_pos == 0 && (rf.loss != 0.0 || !rf.no_positive))
        case_fail(rep, "no positive", c, -1, rf.loss, 0.0);
}

static void expect_update(const float *g, const double *want, int n, double tol)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabs(g[i] - want[i]) <= tol, "update[%d] = %.9f, want %.9f", i, g[i], want[i]);
}

static void run_auc(const float *s, const int8_t *t, int n, double delta, float *g,
                    loss_result *r)
{
    loss_params p;
    loss_params_default(&p);
    p.delta = delta;
    loss_inputs in = {s, t, NULL, n};
    rd_arena ws;
    rd_arena_init(&ws);
    ck_assert_int_eq(auc_loss_compute(&in, &p, &ws, g, r), LOSS_OK);
    rd_arena_free(&ws);
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
    loss_result r;
    run_auc(s, t, 5, 1.0, g, &r);
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
    loss_result r;
    run_auc(s, t, 6, 0.0, g, &r);
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
    loss_result r;
    run_auc(s, t, 3, 0.0, g, &r);
    ck_assert_double_eq_tol(r.loss, 0.75, 1e-12);
    expect_update(g, want, 3, 1e-7);
    const int8_t only_pos[3] = {1, -1, 1};
    g[0] = g[1] = g[2] = 1.0f;
    run_auc(s, only_pos, 3, 1.0, g, &r);
    ck_assert(r.loss == 0.0 && !r.no_positive && r.num_neg == 0);
    ck_assert(g[0] == 0.0f && g[1] == 0.0f && g[2] == 0.0f);
    const int8_t only_neg[3] = {0, 0, -1};
    g[0] = g[1] = g[2] = 1.0f;
    run_auc(s, only_neg, 3, 1.0, g, &r);
    ck_assert(r.loss == 0.0 && r.no_positive && r.num_pos == 0);
    ck_assert(g[0] == 0.0f && g[1] == 0.0f && g[2] == 0.0f);
}
END_TEST

START_TEST(test_auc_matches_oracle_random)
{
    static const double deltas[5] = {0.0, 0.25, 0.5, 1.0, 2.0};
    enum { CASES = 2000, NMAX = 300 };
    float s[NMAX], g_fast[NMAX], g_ref[NMAX];
    int8_t t[NMAX];
    case_rng rng = {20190607};
    case_report rep = {0, ""};
    rd_arena ws;
    rd_arena_init(&ws);
    loss_params p;
    loss_params_default(&p);
    for (int c = 0; c < CASES; c++) {
        int n = 1 + case_below(&rng, NMAX);
        p.delta = deltas[case_below(&rng, 5)];
        p.interp = case_below(&rng, 2);  // ignored by AUC
        case_fill(&rng, c % 5, p.delta, s, t, n);
        if (c % 50 == 0)
            memset(t, -1, (size_t)n);  // all ignored
        loss_inputs in = {s, t, NULL, n};
        case_compare(&rep, c, &in, &p, &ws, g_fast, g_ref);
    }
    rd_arena_free(&ws);
    ck_assert_msg(rep.failures == 0, "%d failures; first: %s", rep.failures, rep.first);
}
END_TEST

/* Large batches: overlapping scores with several hundred positives (many chunks), and every
 * score within 0.1 of -log 99 (blocks of negatives in one bucket). */
static void big_batch(float *s, int8_t *t, int64_t n, uint64_t seed, int narrow)
{
    case_rng rng = {seed};
    for (int64_t i = 0; i < n; i++) {
        double x = case_unit(&rng);
        t[i] = x < 0.002 ? 1 : x < 0.05 ? -1 : 0;
        double base = narrow ? -log(99.0) : t[i] == 1 ? -1.0 : -3.0, w = narrow ? 0.1 : 3.0;
        s[i] = (float)(base + w * (case_unit(&rng) + case_unit(&rng) - 1.0));
    }
}

START_TEST(test_auc_threads_same_bits_and_oracle)
{
    const int64_t n = 200000;
    float *s = malloc((size_t)n * sizeof *s), *g1 = malloc((size_t)n * sizeof *g1),
          *g2 = malloc((size_t)n * sizeof *g2);
    int8_t *t = malloc((size_t)n);
    ck_assert(s && g1 && g2 && t);
    loss_params p;
    loss_params_default(&p);
    loss_inputs in = {s, t, NULL, n};
    rd_arena ws;
    rd_arena_init(&ws);
    case_report rep = {0, ""};
    for (int narrow = 0; narrow < 2; narrow++) {
        big_batch(s, t, n, 5 + (uint64_t)narrow, narrow);
        loss_result r1, r2;
        omp_set_num_threads(1);
        ck_assert_int_eq(auc_loss_compute(&in, &p, &ws, g1, &r1), LOSS_OK);
        omp_set_num_threads(2);
        ck_assert_int_eq(auc_loss_compute(&in, &p, &ws, g2, &r2), LOSS_OK);
        ck_assert_int_gt(r1.num_pos, 300);
        ck_assert_msg(memcmp(g1, g2, (size_t)n * sizeof *g1) == 0, "update differs, 2 threads");
        ck_assert_msg(memcmp(&r1.loss, &r2.loss, sizeof r1.loss) == 0, "loss differs, 2 threads");
        case_compare(&rep, narrow, &in, &p, &ws, g1, g2);
    }
    ck_assert_msg(rep.failures == 0, "%d failures; first: %s", rep.failures, rep.first);
    rd_arena_free(&ws);
    free(s), free(g1), free(g2), free(t);
}
END_TEST

START_TEST(test_auc_steady_state_allocates_nothing)
{
    const int64_t n = 50000;
    float *s = malloc((size_t)n * sizeof *s), *g = malloc((size_t)n * sizeof *g);
    int8_t *t = malloc((size_t)n);
    ck_assert(s && g && t);
    big_batch(s, t, n, 13, 0);
    loss_params p;
    loss_params_default(&p);
    loss_inputs in = {s, t, NULL, n};
    rd_arena ws;
    rd_arena_init(&ws);
    loss_result r;
    ck_assert_int_eq(auc_loss_compute(&in, &p, &ws, g, &r), LOSS_OK);
    size_t grows = ws.grows;
    double loss = r.loss;
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(auc_loss_compute(&in, &p, &ws, g, &r), LOSS_OK);
        ck_assert_uint_eq(ws.grows, grows);
        ck_assert(r.loss == loss);
    }
    rd_arena_free(&ws);
    free(s), free(g), free(t);
}
END_TEST

START_TEST(test_auc_bad_input)
{
    float s[6] = {0.5f, 1.0f, -1.0f, 2.0f, 0.0f, 3.0f};
    int8_t t[6] = {1, 0, 0, 1, -1, 0};
    float g[6];
    loss_params p;
    loss_params_default(&p);
    loss_inputs in = {s, t, NULL, 6};
    rd_arena ws;
    rd_arena_init(&ws);
    loss_result r;
    s[4] = INFINITY;  // an ignored entry is still checked
    s[5] = NAN;
    ck_assert_int_eq(auc_loss_compute(&in, &p, &ws, g, &r), LOSS_ERR_NONFINITE);
    ck_assert_int_eq(r.bad_index, 4);
    s[4] = 0.0f;
    ck_assert_int_eq(auc_loss_compute(&in, &p, &ws, g, &r), LOSS_ERR_NONFINITE);
    ck_assert_int_eq(r.bad_index, 5);
    s[5] = 3.0f;
    t[2] = 5;
    ck_assert_int_eq(auc_loss_compute(&in, &p, &ws, g, &r), LOSS_ERR_LABEL);
    ck_assert_int_eq(r.bad_index, 2);
    t[2] = 0;
    ck_assert_int_eq(auc_loss_compute(&in, &p, &ws, g, &r), LOSS_OK);
    rd_arena_free(&ws);
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
