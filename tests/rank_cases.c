/* rank_cases.c — random ranking batches, the AP/AUC update invariants and the fast-vs-oracle
 * comparison shared by the loss tests (see rank_cases.h). */
#include "tests/rank_cases.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check_main.h"

void case_fill(case_rng *r, int kind, double delta, float *s, int8_t *t, int n)
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

void case_fill_grid(uint64_t *lcg, int64_t n, int grid, int range, int pos_pct, float *s,
                    int8_t *t)
{
    for (int64_t i = 0; i < n; i++) {
        int step = (int)case_lcg_below(lcg, (uint32_t)(2 * range * grid + 1)) - range * grid;
        s[i] = (float)step / (float)grid;
        uint32_t u = case_lcg_below(lcg, 100);
        t[i] = u < (uint32_t)pos_pct ? 1 : (u < (uint32_t)pos_pct + 10 ? -1 : 0);
    }
}

void case_fill_big(float *s, int8_t *t, int64_t n, uint64_t seed, int narrow)
{
    case_rng rng = {seed};
    for (int64_t i = 0; i < n; i++) {
        double x = case_unit(&rng);
        t[i] = x < 0.002 ? 1 : x < 0.05 ? -1 : 0;
        double base = narrow ? -log(99.0) : t[i] == 1 ? -1.0 : -3.0, w = narrow ? 0.1 : 3.0;
        s[i] = (float)(base + w * (case_unit(&rng) + case_unit(&rng) - 1.0));
    }
}

/* Count one failure of case c (what, at index i, or -1 for the whole batch). */
static void case_fail(case_comparison *cmp, const char *what, int c, int64_t i, double got,
                      double want)
{
    if (cmp->failures++ == 0)
        snprintf(cmp->first, sizeof cmp->first, "case %d, %s at %lld: got %.9g, want %.9g", c, what,
                 (long long)i, got, want);
}

/* The invariants of an AP/AUC update (1e-6 relative to the updates' magnitude). */
static void case_invariants(case_comparison *cmp, int c, const int8_t *t, const float *g,
                            int64_t n, double loss)
{
    double sum = 0.0, neg = 0.0, mag = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if ((t[i] == -1 && g[i] != 0.0f) || (t[i] == 1 && g[i] > 0.0f) || (t[i] == 0 && g[i] < 0.0f))
            case_fail(cmp, "sign of update", c, i, g[i], 0.0);
        sum += g[i];
        mag += fabs(g[i]);
        neg += t[i] == 0 ? g[i] : 0.0;
    }
    if (fabs(sum) > 1e-6 * (1.0 + mag))
        case_fail(cmp, "sum of updates", c, -1, sum, 0.0);
    if (fabs(neg - loss) > 1e-6 * (1.0 + mag))
        case_fail(cmp, "loss vs negatives' updates", c, -1, loss, neg);
}

void case_compare(case_comparison *cmp, int c, const loss_inputs *in, const loss_params *p,
                  rd_arena *ws)
{
    float *g_fast = malloc((size_t)(in->n + 1) * sizeof *g_fast);  // [n]
    float *g_ref = malloc((size_t)(in->n + 1) * sizeof *g_ref);    // [n]
    ck_assert(g_fast && g_ref);
    loss_result rf, ro;
    loss_status sf = cmp->fast(in, p, ws, g_fast, &rf);
    loss_status so = cmp->oracle(in, p, ws, g_ref, &ro);
    if (sf != LOSS_OK || so != LOSS_OK)
        case_fail(cmp, "status", c, -1, sf, so);
    if (rf.num_pos != ro.num_pos || rf.num_neg != ro.num_neg || rf.no_positive != ro.no_positive)
        case_fail(cmp, "counts", c, -1, (double)rf.num_pos, (double)ro.num_pos);
    if (fabs(rf.loss - ro.loss) > 1e-9 * fmax(fabs(rf.loss), fabs(ro.loss)) + 1e-12)
        case_fail(cmp, "loss", c, -1, rf.loss, ro.loss);
    for (int64_t i = 0; i < in->n; i++)
        if (fabs(g_fast[i] - g_ref[i]) > 1e-6 * fabs(g_ref[i]) + 1e-12)
            case_fail(cmp, "update", c, i, g_fast[i], g_ref[i]);
    case_invariants(cmp, c, in->labels, g_fast, in->n, rf.loss);
    if (rf.num_pos == 0 && (rf.loss != 0.0 || !rf.no_positive))
        case_fail(cmp, "no positive", c, -1, rf.loss, 0.0);
    free(g_fast);
    free(g_ref);
}

void case_compare_random(case_comparison *cmp, uint64_t seed)
{
    static const double deltas[5] = {0.0, 0.25, 0.5, 1.0, 2.0};
    enum { CASES = 2000, NMAX = 300 };
    float s[NMAX];
    int8_t t[NMAX];
    case_rng rng = {seed};
    rd_arena ws;
    rd_arena_init(&ws);
    loss_params p;
    loss_params_default(&p);
    for (int c = 0; c < CASES; c++) {
        int n = 1 + case_below(&rng, NMAX);
        p.delta = deltas[case_below(&rng, 5)];
        p.interp = case_below(&rng, 2);
        case_fill(&rng, c % 5, p.delta, s, t, n);
        if (c % 50 == 0)
            memset(t, -1, (size_t)n);  // all ignored
        loss_inputs in = {s, t, NULL, n};
        case_compare(cmp, c, &in, &p, &ws);
    }
    rd_arena_free(&ws);
}

void case_fill_extreme(case_rng *r, double delta, float *s, int8_t *t, int n)
{
    static const float wild[] = {-5.0f, 0x1p-149f, 0x1p-148f, 1e-30f, -1e-30f, 1e30f, -1e30f,
                                 3e38f, -3e38f, 0.0f, -0.0f, 1.0f, 0x1.000002p0f};
    static const float tame[] = {-5.0f, 0x1p-149f, 0x1p-148f, 1e-30f, -1e-30f, 30.0f, -30.0f,
                                 0.0f, -0.0f, 1.0f, 0x1.000002p0f, 1.001f, 0.999f};
    enum { NPOOL = sizeof wild / sizeof wild[0] };
    const float *pool = delta == 0.0 ? wild : tame;
    for (int i = 0; i < n; i++) {
        s[i] = pool[case_below(r, NPOOL)];
        t[i] = (int8_t)(case_below(r, 3) - 1);
    }
}

void case_expect_no_failures(const case_comparison *cmp)
{
    ck_assert_msg(cmp->failures == 0, "%d failures; first: %s", cmp->failures, cmp->first);
}

int case_ranked_desc(const void *a, const void *b)
{
    const case_ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}
