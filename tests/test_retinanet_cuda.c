/* test_retinanet_cuda.c — the device twin of RetinaNet (detector/retinanet_cuda.h) against the
 * CPU model (detector/retinanet.h) on narrow ResNet-18 and ResNet-50 models of both presets
 * (P6 on P5 with 9 anchors, P6 on C5 with 6), random O(1) weights, batch 2 of 64 × 96.
 * Host part (runs everywhere): a description rebased onto copies of the CPU arenas and planned
 * with retinanet_plan_measure / _assign has the CPU's sizes and offsets, and the CPU forward
 * and backward walked on it give the CPU's bits (outputs, gradients, running statistics).
 * GPU part (SKIPPED without a GPU): forward outputs within 1e-4 of their scale in pure FP32 and
 * 2e-2 with TF32; every parameter gradient of a training step (frozen_stages 0, frozen and
 * training-mode BatchNorm) within 1e-3 of its tensor's scale in FP32 and 5e-2 with TF32; a
 * second plan of the same shape allocates nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detector/retinanet.h"
#include "detector/retinanet_cuda.h"
#include "lib/cuda_ctx.h"
#include "lib/threads.h"
#include "tests/check_main.h"
#include "tests/gpu_compare.h"
#include "tests/gpu_skip.h"
#include "tests/net_random.h"

enum { TEST_N = 2, TEST_H = 64, TEST_W = 96 };

/* A narrow model of the given depth and preset (paper: 6 anchors, P6 on C5). */
static retinanet_config twin_config(int depth, int paper, int frozen_stages, int bn_train)
{
    retinanet_config c;
    retinanet_config_default(&c, paper);
    c.depth = depth;
    c.width = 8;
    c.fpn_channels = 16;
    c.num_classes = 3;
    c.frozen_stages = frozen_stages;
    c.bn_train = bn_train;
    return c;
}

/* A model of c with random values, planned, run forward on x (and backward from dcls, dbox
 * when training). */
static retinanet *cpu_run(const retinanet_config *c, int training, const float *x,
                          const float *dcls, const float *dbox)
{
    retinanet *m = retinanet_create(c);
    net_fill_random(m, 11);
    retinanet_plan(m, TEST_N, TEST_H, TEST_W, training);
    retinanet_forward(m, x);
    if (training)
        retinanet_backward(m, dcls, dbox);
    return m;
}

static size_t input_floats(void)
{
    return (size_t)TEST_N * 3 * TEST_H * TEST_W;
}

/* ---- host: the rebased description plans and runs as the CPU model --------------------- */

/* Byte offset of ptr in the block at base. */
static ptrdiff_t offset_in(const void *ptr, const void *base)
{
    return (const unsigned char *)ptr - (const unsigned char *)base;
}

/* The views the twin computes for its own memory land at the CPU's offsets. */
static void check_plan_matches(const retinanet *m, const retinanet *d, const rd_arena *act,
                               const void *params)
{
    ck_assert_uint_eq(d->plan.act_bytes, m->act_arena.used);
    ck_assert_uint_eq(act->used, m->act_arena.used);
    for (int i = 0; i < NET_SLOTS; i++)
        ck_assert_uint_eq(d->plan.slot_floats[i], m->plan.slot_floats[i]);
    ck_assert_int_eq(offset_in(d->cls_logits, act->base),
                     offset_in(m->cls_logits, m->act_arena.base));
    ck_assert_int_eq(offset_in(d->bbox_regression, act->base),
                     offset_in(m->bbox_regression, m->act_arena.base));
    for (int l = 0; l < FPN_LEVELS; l++)
        ck_assert_int_eq(offset_in(d->fpn.p[l], act->base),
                         offset_in(m->fpn.p[l], m->act_arena.base));
    ck_assert_int_eq(offset_in(d->heads.box.last.weight, params),
                     offset_in(m->heads.box.last.weight, m->param_arena.base));
    ck_assert_int_eq(d->num_anchors_total, m->num_anchors_total);
}

/* One configuration: CPU model vs the CPU walk of a rebased description on arena copies. */
static void check_rebased(const retinanet_config *c, int training)
{
    float *x = net_random_floats(input_floats(), 5, 1.0);
    retinanet *probe = retinanet_create(c);
    retinanet_plan(probe, TEST_N, TEST_H, TEST_W, 0);
    size_t a = (size_t)TEST_N * probe->num_anchors_total;
    retinanet_destroy(probe);
    float *dcls = net_random_floats(a * c->num_classes, 6, 1.0), *dbox = net_random_floats(a * 4, 7, 1.0);
    retinanet *m = retinanet_create(c);
    net_fill_random(m, 11);
    void *params = malloc(m->param_arena.used), *grads = calloc(1, m->grad_arena.used + 1);
    ck_assert(params && grads);
    memcpy(params, m->param_arena.base, m->param_arena.used);
    retinanet_plan(m, TEST_N, TEST_H, TEST_W, training);
    retinanet_forward(m, x);
    if (training)
        retinanet_backward(m, dcls, dbox);

    retinanet d;
    retinanet_describe_at(m, &d, params, grads);
    retinanet_plan_measure(&d, TEST_N, TEST_H, TEST_W, training, &d.plan);
    rd_arena act;
    rd_arena_init(&act);
    rd_arena_reserve(&act, d.plan.act_bytes);
    d.plan.act = &act;
    float *slots[NET_SLOTS];
    for (int i = 0; i < NET_SLOTS; i++)
        d.plan.slot[i] = slots[i] = malloc(d.plan.slot_floats[i] * sizeof(float) + 4);
    d.scratch = malloc(d.plan.scratch_floats * sizeof(float) + 4);
    d.threads = rd_threads_get();
    retinanet_plan_assign(&d, TEST_N, TEST_H, TEST_W, &d.plan);
    check_plan_matches(m, &d, &act, params);

    retinanet_forward(&d, x);
    ck_assert(memcmp(d.cls_logits, m->cls_logits, a * c->num_classes * sizeof(float)) == 0);
    ck_assert(memcmp(d.bbox_regression, m->bbox_regression, a * 4 * sizeof(float)) == 0);
    if (training) {
        retinanet_backward(&d, dcls, dbox);
        for (int i = 0; i < m->nparams; i++) {  // tensor by tensor: padding is not set
            const retinanet_param *p = &m->params[i];
            if (p->grad != NULL)
                ck_assert_msg(memcmp((char *)grads + offset_in(p->grad, m->grad_arena.base),
                                     p->grad, p->count * sizeof(float)) == 0,
                              "gradient of %s", p->name);
        }
    }
    ck_assert(memcmp(params, m->param_arena.base, m->param_arena.used) == 0);  // running stats
    for (int i = 0; i < NET_SLOTS; i++)
        free(slots[i]);
    free(d.scratch);
    rd_arena_free(&act);
    free(params);
    free(grads);
    retinanet_destroy(m);
    free(x);
    free(dcls);
    free(dbox);
}

START_TEST(test_rebased_plan_and_run_match_cpu)
{
    for (int depth = 18; depth <= 50; depth += 32)
        for (int paper = 0; paper <= 1; paper++) {
            retinanet_config frozen = twin_config(depth, paper, 2, 0);
            check_rebased(&frozen, 0);
            check_rebased(&frozen, 1);
            retinanet_config all = twin_config(depth, paper, 0, paper);
            check_rebased(&all, 1);
        }
}
END_TEST

/* ---- GPU: forward and backward against the CPU ------------------------------------------ */

/* A device copy of host floats. */
static float *dev_floats(cuda_ctx *ctx, const float *host, size_t count)
{
    float *d = cuda_ctx_alloc(ctx, count * sizeof(float));
    cuda_ctx_upload(ctx, d, host, count * sizeof(float));
    return d;
}

/* Device outputs of the twin's last forward vs the CPU's, within tol of their scale. */
static void check_outputs(cuda_ctx *ctx, retinanet_cuda *g, const retinanet *m, double tol,
                          const char *what)
{
    size_t a = (size_t)m->n * m->num_anchors_total, k = (size_t)m->cfg.num_classes;
    const float *cls_d, *box_d;
    retinanet_cuda_outputs(g, &cls_d, &box_d);
    float *cls = malloc(a * k * sizeof *cls), *box = malloc(a * 4 * sizeof *box);
    ck_assert(cls && box);
    cuda_ctx_download(ctx, cls, cls_d, a * k * sizeof *cls);
    cuda_ctx_download(ctx, box, box_d, a * 4 * sizeof *box);
    double ec = gpu_scaled_err(cls, m->cls_logits, a * k), eb = gpu_scaled_err(box, m->bbox_regression,
                                                                         a * 4);
    ck_assert_msg(ec <= tol && eb <= tol, "%s: cls error %.3g, bbox error %.3g (tolerance %g)",
                  what, ec, eb, tol);
    free(cls);
    free(box);
}

/* Forward of one configuration on the GPU vs the CPU. */
static void check_forward(cuda_ctx *ctx, const retinanet_config *c, double tol)
{
    float *x = net_random_floats(input_floats(), 5, 1.0);
    retinanet *m = cpu_run(c, 0, x, NULL, NULL);
    retinanet_cuda *g = retinanet_cuda_create(ctx, m);
    retinanet_cuda_plan(g, TEST_N, TEST_H, TEST_W, 0);
    int grows = retinanet_cuda_grows(g);
    retinanet_cuda_plan(g, TEST_N, TEST_H, TEST_W, 0);
    ck_assert_int_eq(retinanet_cuda_grows(g), grows);
    float *xd = dev_floats(ctx, x, input_floats());
    retinanet_cuda_forward(g, xd);
    char what[96];
    snprintf(what, sizeof what, "forward depth %d p6_from_c5 %d tf32 %d", c->depth,
             c->p6_from_c5, cuda_ctx_tf32(ctx));
    check_outputs(ctx, g, m, tol, what);
    cuda_ctx_dealloc(ctx, xd);
    retinanet_cuda_destroy(g);
    retinanet_destroy(m);
    free(x);
}

static void check_forward_all(int tf32, double tol)
{
    cuda_ctx *ctx = cuda_ctx_init(NULL, tf32);
    for (int depth = 18; depth <= 50; depth += 32)
        for (int paper = 0; paper <= 1; paper++) {
            retinanet_config c = twin_config(depth, paper, 2, 0);
            check_forward(ctx, &c, tol);
        }
    cuda_ctx_free(ctx);
}

START_TEST(test_forward_cuda_fp32)
{
    GPU_TEST_OR_SKIP();
    check_forward_all(0, 1e-4);
}
END_TEST

START_TEST(test_forward_cuda_tf32)
{
    GPU_TEST_OR_SKIP();
    check_forward_all(1, 2e-2);
}
END_TEST

/* Every trainable tensor's device gradient (downloaded into got) vs the CPU's. */
static void check_grads(const retinanet *got, const retinanet *want, double tol)
{
    for (int i = 0; i < want->nparams; i++) {
        const retinanet_param *w = &want->params[i], *g = &got->params[i];
        if (w->grad == NULL)
            continue;
        double e = gpu_scaled_err(g->grad, w->grad, w->count);
        ck_assert_msg(e <= tol, "gradient of %s: error %.3g (tolerance %g)", w->name, e, tol);
    }
}

/* A training step of one configuration on the GPU vs the CPU. */
static void check_backward(cuda_ctx *ctx, const retinanet_config *c, double tol_out,
                           double tol_grad)
{
    float *x = net_random_floats(input_floats(), 5, 1.0);
    retinanet *probe = retinanet_create(c);
    net_fill_random(probe, 11);
    retinanet_cuda *g = retinanet_cuda_create(ctx, probe);  // values before the CPU step
    retinanet_cuda_plan(g, TEST_N, TEST_H, TEST_W, 1);
    size_t a = (size_t)TEST_N * retinanet_cuda_model(g)->num_anchors_total;
    float *dcls = net_random_floats(a * c->num_classes, 6, 1.0), *dbox = net_random_floats(a * 4, 7, 1.0);
    retinanet *m = cpu_run(c, 1, x, dcls, dbox);
    float *xd = dev_floats(ctx, x, input_floats());
    float *dcls_d = dev_floats(ctx, dcls, a * c->num_classes);
    float *dbox_d = dev_floats(ctx, dbox, a * 4);
    retinanet_cuda_zero_grad(g);
    retinanet_cuda_forward(g, xd);
    check_outputs(ctx, g, m, tol_out, "training forward");
    retinanet_cuda_backward(g, dcls_d, dbox_d);
    retinanet_cuda_download(g, probe);
    check_grads(probe, m, tol_grad);
    cuda_ctx_dealloc(ctx, xd);
    cuda_ctx_dealloc(ctx, dcls_d);
    cuda_ctx_dealloc(ctx, dbox_d);
    retinanet_cuda_destroy(g);
    retinanet_destroy(probe);
    retinanet_destroy(m);
    free(x);
    free(dcls);
    free(dbox);
}

static void check_backward_all(int tf32, double tol_out, double tol_grad)
{
    cuda_ctx *ctx = cuda_ctx_init(NULL, tf32);
    for (int depth = 18; depth <= 50; depth += 32)
        for (int paper = 0; paper <= 1; paper++) {
            retinanet_config c = twin_config(depth, paper, 0, paper);
            check_backward(ctx, &c, tol_out, tol_grad);
        }
    cuda_ctx_free(ctx);
}

START_TEST(test_backward_cuda_fp32)
{
    GPU_TEST_OR_SKIP();
    check_backward_all(0, 1e-4, 1e-3);
}
END_TEST

START_TEST(test_backward_cuda_tf32)
{
    GPU_TEST_OR_SKIP();
    check_backward_all(1, 2e-2, 5e-2);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("retinanet_cuda");
    TCase *tc = tcase_create("retinanet_cuda");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_rebased_plan_and_run_match_cpu);
    tcase_add_test(tc, test_forward_cuda_fp32);
    tcase_add_test(tc, test_forward_cuda_tf32);
    tcase_add_test(tc, test_backward_cuda_fp32);
    tcase_add_test(tc, test_backward_cuda_tf32);
    suite_add_tcase(s, tc);
    return s;
}
