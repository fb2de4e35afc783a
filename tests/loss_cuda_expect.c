/* loss_cuda_expect.c — the CPU/GPU parity check of the GPU loss tests (loss_cuda_expect.h). */
#include "tests/loss_cuda_expect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "tests/check_main.h"
#include "tests/rank_cases.h"

loss_status loss_cuda_run_host(const char *name, const loss_inputs *host, const loss_params *p,
                               loss_cuda_ws *ws, float *grad, loss_result *out)
{
    const loss_cuda_def *def = loss_cuda_find(name);
    ck_assert_msg(def != NULL, "loss '%s' has no GPU twin", name);
    loss_cuda_batch b;
    loss_cuda_batch_init(&b, host->n);
    loss_cuda_batch_upload(&b, host->scores, host->labels);
    loss_inputs in = {b.scores, b.labels, NULL, host->n};
    loss_status st = def->compute(&in, p, ws, b.grad, out, NULL);
    if (st == LOSS_OK)
        loss_cuda_batch_download(&b, grad);
    loss_cuda_batch_free(&b);
    return st;
}

/* Compare the CPU and GPU updates of one batch (both runs succeeded). */
static void expect_cuda_updates(const char *name, const loss_inputs *in, const float *want,
                                const float *got, const char *what)
{
    const int kept = strcmp(name, "ce_ohem") == 0;
    double max_grad = 0.0, max_diff = 0.0;
    for (int64_t i = 0; i < in->n; i++) {
        max_grad = fmax(max_grad, fabs(want[i]));
        max_diff = fmax(max_diff, fabs((double)got[i] - want[i]));
        if (kept)
            ck_assert_msg((want[i] != 0.0f) == (got[i] != 0.0f), "%s %s: entry %lld kept by %s "
                          "only", name, what, (long long)i,
                          want[i] != 0.0f ? "the CPU" : "the GPU");
    }
    const double tol = strcmp(name, "hinge_ap") == 0 ? 0.0 : 1e-6 * max_grad;
    ck_assert_msg(max_diff <= tol, "%s %s: updates differ by %.3g (max |update| %.3g)", name,
                  what, max_diff, max_grad);
}

loss_result expect_cuda_parity(const char *name, const loss_inputs *in, const loss_params *p,
                               loss_cuda_ws *ws, const char *what)
{
    const size_t n = in->n > 0 ? (size_t)in->n : 1;
    float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    ck_assert(want && got);
    rd_arena cpu_ws;
    rd_arena_init(&cpu_ws);
    loss_result cpu, gpu;
    loss_status cpu_st = loss_find(name)->compute(in, p, &cpu_ws, want, &cpu);
    rd_arena_free(&cpu_ws);
    loss_status gpu_st = loss_cuda_run_host(name, in, p, ws, got, &gpu);
    ck_assert_msg(gpu_st == cpu_st, "%s %s: GPU status %d, CPU %d", name, what, gpu_st, cpu_st);
    if (cpu_st != LOSS_OK) {
        ck_assert_msg(gpu.bad_index == cpu.bad_index, "%s %s: GPU bad_index %lld, CPU %lld",
                      name, what, (long long)gpu.bad_index, (long long)cpu.bad_index);
    } else {
        ck_assert_msg(gpu.num_pos == cpu.num_pos && gpu.num_neg == cpu.num_neg &&
                      gpu.no_positive == cpu.no_positive,
                      "%s %s: GPU counts %lld/%lld/%d, CPU %lld/%lld/%d", name, what,
                      (long long)gpu.num_pos, (long long)gpu.num_neg, gpu.no_positive,
                      (long long)cpu.num_pos, (long long)cpu.num_neg, cpu.no_positive);
        ck_assert_msg(fabs(gpu.loss - cpu.loss) <= 1e-9 * fmax(1.0, fabs(cpu.loss)),
                      "%s %s: GPU loss %.17g, CPU %.17g", name, what, gpu.loss, cpu.loss);
        expect_cuda_updates(name, in, want, got, what);
    }
    free(want);
    free(got);
    return gpu;
}

void expect_cuda_steady_state(const char *name, uint64_t seed, const loss_params *p, double tol)
{
    const int64_t n = 300000;
    float *s = malloc((size_t)n * sizeof *s);
    int8_t *t = malloc((size_t)n);
    ck_assert(s && t);
    case_fill_big(s, t, n, seed, 0);
    loss_cuda_batch b;
    loss_cuda_batch_init(&b, n);
    loss_cuda_batch_upload(&b, s, t);
    const loss_inputs in = {b.scores, b.labels, NULL, n};
    const loss_cuda_fn fn = loss_cuda_find(name)->compute;
    loss_cuda_ws ws;
    loss_cuda_ws_init(&ws);
    loss_result first, r;
    ck_assert_int_eq(fn(&in, p, &ws, b.grad, &first, NULL), LOSS_OK);
    const size_t allocations = ws.allocations, bytes = ws.bytes;
    ck_assert_uint_gt(allocations, 0);
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(fn(&in, p, &ws, b.grad, &r, NULL), LOSS_OK);
        ck_assert_msg(ws.allocations == allocations && ws.bytes == bytes,
                      "%s allocates in a steady state", name);
        ck_assert_msg(fabs(r.loss - first.loss) <= tol, "%s: loss %.17g then %.17g", name,
                      first.loss, r.loss);
    }
    loss_cuda_ws_free(&ws);
    loss_cuda_batch_free(&b);
    free(s), free(t);
}
