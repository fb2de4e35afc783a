/* loss_expect.c — the checks shared by the registry losses' tests (see loss_expect.h). */
#include "tests/loss_expect.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check_main.h"

void expect_update(const float *g, const double *want, int n, double tol)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabs(g[i] - want[i]) <= tol, "update[%d] = %.9f, want %.9f", i, g[i], want[i]);
}

loss_result expect_loss_ok(loss_compute_fn compute, const loss_inputs *in, const loss_params *p,
                           float *grad)
{
    loss_params defaults;
    loss_params_default(&defaults);
    rd_arena ws;
    rd_arena_init(&ws);
    loss_result r;
    ck_assert_int_eq(compute(in, p ? p : &defaults, &ws, grad, &r), LOSS_OK);
    rd_arena_free(&ws);
    return r;
}

loss_result expect_loss_status(loss_compute_fn compute, const loss_inputs *in, loss_status want,
                               int64_t bad_index)
{
    loss_params p;
    loss_params_default(&p);
    rd_arena ws;
    rd_arena_init(&ws);
    float *grad = malloc((size_t)(in->n + 1) * sizeof *grad);
    ck_assert_ptr_nonnull(grad);
    loss_result r;
    ck_assert_int_eq(compute(in, &p, &ws, grad, &r), want);
    if (want != LOSS_OK)
        ck_assert_int_eq(r.bad_index, bad_index);
    free(grad);
    rd_arena_free(&ws);
    return r;
}

loss_result expect_loss_no_positive(loss_compute_fn compute, const loss_inputs *in)
{
    float *grad = malloc((size_t)(in->n + 1) * sizeof *grad);
    ck_assert_ptr_nonnull(grad);
    for (int64_t i = 0; i < in->n; i++)
        grad[i] = 7.0f;
    loss_result r = expect_loss_ok(compute, in, NULL, grad);
    ck_assert_int_eq(r.no_positive, 1);
    ck_assert_double_eq(r.loss, 0.0);
    for (int64_t i = 0; i < in->n; i++)
        ck_assert_msg(grad[i] == 0.0f, "update[%lld] = %g without positives", (long long)i,
                      grad[i]);
    free(grad);
    return r;
}

loss_result expect_threads_same_bits(loss_compute_fn compute, const loss_inputs *in,
                                     const loss_params *p, rd_arena *ws)
{
    float *g1 = malloc((size_t)(in->n + 1) * sizeof *g1);  // [n] on 1 thread
    float *g2 = malloc((size_t)(in->n + 1) * sizeof *g2);  // [n] on 2 threads
    ck_assert(g1 && g2);
    loss_result r1, r2;
    omp_set_num_threads(1);
    ck_assert_int_eq(compute(in, p, ws, g1, &r1), LOSS_OK);
    omp_set_num_threads(2);
    ck_assert_int_eq(compute(in, p, ws, g2, &r2), LOSS_OK);
    ck_assert_msg(memcmp(&r1.loss, &r2.loss, sizeof r1.loss) == 0, "loss %.17g on 1 thread, "
                  "%.17g on 2", r1.loss, r2.loss);
    ck_assert_msg(memcmp(g1, g2, (size_t)in->n * sizeof *g1) == 0, "update differs on 2 threads");
    free(g1);
    free(g2);
    return r1;
}

void expect_steady_state(loss_compute_fn compute, const loss_inputs *in, const loss_params *p)
{
    float *g = malloc((size_t)(in->n + 1) * sizeof *g);  // [n]
    ck_assert_ptr_nonnull(g);
    rd_arena ws;
    rd_arena_init(&ws);
    loss_result r;
    ck_assert_int_eq(compute(in, p, &ws, g, &r), LOSS_OK);
    size_t grows = ws.grows;
    double loss = r.loss;
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(compute(in, p, &ws, g, &r), LOSS_OK);
        ck_assert_uint_eq(ws.grows, grows);
        ck_assert(r.loss == loss);
    }
    rd_arena_free(&ws);
    free(g);
}
