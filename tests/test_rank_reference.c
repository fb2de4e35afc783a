/* test_rank_reference.c — the ranking losses of the registry (ap, auc, approx_ap, hinge_ap) and
 * the O(|P||N|) oracles of ap and auc (optim/rank_oracle.c) against reference values produced
 * outside the C code: tests/fixtures/rank_reference.txt, written by tests/make_rank_fixtures.py
 * from the paper (Chen et al., CVPR 2019, eq. 3-5, 7, 14, Algorithm 1) in exact rational
 * arithmetic for ap and auc, with a complex-step-checked gradient for approx_ap and by brute
 * force over every ranking for hinge_ap. Tolerances: loss 1e-9 relative (approx_ap 1e-7),
 * update min(1e-6, 1e-7 + 1e-5 |reference|) absolute. The fixture is read by
 * tests/loss_fixture.c. Run from the repository root. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "optim/loss.h"
#include "optim/rank_oracle.h"
#include "tests/check_main.h"
#include "tests/loss_fixture.h"

#define FIXTURE_PATH "tests/fixtures/rank_reference.txt"
#define FIXTURE_MAKER "tests/make_rank_fixtures.py"

/* Who is checked against the cases of one loss: a registry loss (found by name) or an oracle. */
typedef struct rank_subject {
    const char *loss;          // the fixture's loss name
    const char *label;         // for messages
    loss_compute_fn oracle;    // NULL: the registry's loss of that name
    double loss_rtol;
    int min_cases;             // the fixture must hold at least this many
    int min_grad_cases;        // of which at least this many with an update
} rank_subject;

static const rank_subject subjects[] = {
    {"ap", "ap", NULL, 1e-9, 65, 65},
    {"ap", "ap_oracle", ap_oracle_compute, 1e-9, 65, 65},
    {"auc", "auc", NULL, 1e-9, 30, 30},
    {"auc", "auc_oracle", auc_oracle_compute, 1e-9, 30, 30},
    {"approx_ap", "approx_ap", NULL, 1e-7, 14, 13},
    {"hinge_ap", "hinge_ap", NULL, 1e-9, 50, 45},
};

/* The update tolerance: 1e-6 absolute, tighter for small values (a float update is good to
 * 6e-8 relative). */
static double rank_grad_tol(double want)
{
    return fmin(1e-6, 1e-7 + 1e-5 * fabs(want));
}

/* Run the subject on one case and compare loss, counts and update with the reference. */
static void rank_case_check(const rank_subject *sub, loss_compute_fn compute,
                            const loss_fixture_case *c, rd_arena *ws)
{
    loss_inputs in = {c->scores, c->labels, NULL, c->n};
    float *grad = malloc((size_t)(c->n + 1) * sizeof *grad);  // [n]
    ck_assert_ptr_nonnull(grad);
    loss_result r;
    ck_assert_msg(compute(&in, &c->params, ws, grad, &r) == LOSS_OK, "%s: %s: status not ok",
                  sub->label, c->name);
    int64_t npos = 0, nneg = 0;
    for (int64_t i = 0; i < c->n; i++) {
        npos += c->labels[i] == 1;
        nneg += c->labels[i] == 0;
    }
    ck_assert_msg(r.num_pos == npos && r.num_neg == nneg && r.no_positive == (npos == 0),
                  "%s: %s: counts %lld/%lld, no_positive %d", sub->label, c->name,
                  (long long)r.num_pos, (long long)r.num_neg, r.no_positive);
    double tol = sub->loss_rtol * fmax(fabs(c->loss_value), 1e-6);
    ck_assert_msg(fabs(r.loss - c->loss_value) <= tol, "%s: %s: loss %.17g, reference %.17g",
                  sub->label, c->name, r.loss, c->loss_value);
    for (int64_t i = 0; c->grad != NULL && i < c->n; i++)
        ck_assert_msg(fabs(grad[i] - c->grad[i]) <= rank_grad_tol(c->grad[i]),
                      "%s: %s: update[%lld] %.9g, reference %.9g", sub->label, c->name,
                      (long long)i, grad[i], c->grad[i]);
    free(grad);
}

/* Every fixture case of the subject's loss. */
START_TEST(test_matches_reference)
{
    const rank_subject *sub = &subjects[_i];
    loss_compute_fn compute = sub->oracle;
    if (compute == NULL) {
        const loss_def *def = loss_find(sub->loss);
        ck_assert_msg(def != NULL, "loss %s is not in the registry", sub->loss);
        compute = def->compute;
    }
    loss_fixture fx;
    loss_fixture_open(&fx, FIXTURE_PATH, FIXTURE_MAKER);
    rd_arena ws;
    rd_arena_init(&ws);
    loss_fixture_case c;
    int cases = 0, with_grad = 0;
    while (loss_fixture_read(&fx, &c)) {
        if (strcmp(c.loss, sub->loss) == 0) {
            rank_case_check(sub, compute, &c, &ws);
            cases++;
            with_grad += c.grad != NULL;
        }
        loss_fixture_case_free(&c);
    }
    loss_fixture_close(&fx);
    rd_arena_free(&ws);
    ck_assert_msg(cases >= sub->min_cases && with_grad >= sub->min_grad_cases,
                  "%s: %d cases (%d with an update) in %s", sub->label, cases, with_grad,
                  FIXTURE_PATH);
}
END_TEST

/* What the fixture must cover: ap with every delta of {0, 1/4, 1/2, 1, 2} with and without
 * interpolation, auc with every delta, approx_ap with several tau and eps, hinge_ap cases that
 * keep only their loss, and the worked example at its value for the float32 scores
 * (0.142361287 from the decimal scores, 0.1423612819 after their rounding to float32). */
START_TEST(test_fixture_coverage)
{
    static const double deltas[5] = {0.0, 0.25, 0.5, 1.0, 2.0};
    int ap_seen[5][2] = {{0}}, auc_seen[5] = {0}, loss_only = 0, example = 0;
    double taus[16], epss[16];
    int ntau = 0, neps = 0;
    loss_fixture fx;
    loss_fixture_open(&fx, FIXTURE_PATH, FIXTURE_MAKER);
    loss_fixture_case c;
    while (loss_fixture_read(&fx, &c)) {
        for (int d = 0; d < 5; d++) {
            if (c.params.delta != deltas[d])
                continue;
            if (strcmp(c.loss, "ap") == 0)
                ap_seen[d][c.params.interp != 0] = 1;
            auc_seen[d] |= strcmp(c.loss, "auc") == 0;
        }
        if (strcmp(c.loss, "approx_ap") == 0) {
            int t = 0, e = 0;
            while (t < ntau && taus[t] != c.params.tau)
                t++;
            while (e < neps && epss[e] != c.params.eps)
                e++;
            if (t == ntau && ntau < 16)
                taus[ntau++] = c.params.tau;
            if (e == neps && neps < 16)
                epss[neps++] = c.params.eps;
        }
        loss_only += c.grad == NULL;
        if (strcmp(c.name, "ap_issue_example") == 0) {
            example = 1;
            ck_assert(c.params.delta == 1.0 && c.params.interp == 1);
            ck_assert_double_eq_tol(c.loss_value, 0.1423612819, 1e-10);
        }
        loss_fixture_case_free(&c);
    }
    loss_fixture_close(&fx);
    for (int d = 0; d < 5; d++)
        ck_assert_msg(ap_seen[d][0] && ap_seen[d][1] && auc_seen[d], "delta %g not covered",
                      deltas[d]);
    ck_assert_int_ge(ntau, 4);
    ck_assert_int_ge(neps, 4);
    ck_assert_int_ge(loss_only, 1);
    ck_assert_int_eq(example, 1);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("rank_reference");
    TCase *tc = tcase_create("rank_reference");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_matches_reference, 0,
                        (int)(sizeof subjects / sizeof subjects[0]));
    tcase_add_test(tc, test_fixture_coverage);
    suite_add_tcase(s, tc);
    return s;
}
