/* test_retinanet.c — the RetinaNet model: its parameter table against torchvision 0.14's
 * state_dicts (tensor counts and sizes printed by torchvision for ResNet-18/34/50/101 FPN
 * RetinaNets, see tests/make_torchvision_fixtures.py), a finite-difference check of the whole
 * network's backward (narrow ResNet-18-shaped model, both P6 conventions, and with
 * training-mode BatchNorm on a batch of two), frozen stages, and a training step that allocates
 * nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detector/retinanet.h"
#include "lib/threads.h"
#include "tests/check_main.h"
#include "tests/net_random.h"

/* A narrow ResNet-18-shaped model for the numerical tests. */
static retinanet_config narrow_config(int p6_from_c5, int frozen_stages)
{
    retinanet_config c;
    retinanet_config_default(&c, p6_from_c5);
    c.depth = 18;
    c.width = 4;
    c.fpn_channels = 8;
    c.num_classes = 3;
    c.frozen_stages = frozen_stages;
    return c;
}

/* L = Σ rc · cls_logits + Σ rb · bbox_regression of one forward, in double; *norm (if not
 * NULL) receives the root sum of squares of the outputs, the scale of L's rounding noise. */
static double weighted_outputs(retinanet *m, const float *x, const float *rc, const float *rb,
                               double *norm)
{
    retinanet_forward(m, x);
    size_t a = (size_t)m->n * m->num_anchors_total;
    double s = 0.0, ss = 0.0;
    for (size_t i = 0; i < a * m->cfg.num_classes; i++) {
        s += (double)rc[i] * m->cls_logits[i];
        ss += (double)m->cls_logits[i] * m->cls_logits[i];
    }
    for (size_t i = 0; i < a * 4; i++) {
        s += (double)rb[i] * m->bbox_regression[i];
        ss += (double)m->bbox_regression[i] * m->bbox_regression[i];
    }
    if (norm)
        *norm = sqrt(ss);
    return s;
}

/* The step of the finite differences moves L by this fraction of the outputs' norm: small
 * enough to cross few ReLU kinks, large enough for float32 rounding (measured: errors below 4%
 * for 1e-4; a missing gradient path shows as 10-70%). */
#define FD_DELTA 1e-4
#define FD_TOLERANCE 5e-2

/* Finite differences of L along the backward gradient of each trainable tensor; with bn_train
 * the BatchNorms use the statistics of the batch of two (their weights and biases are checked
 * too). */
static void check_whole_network_gradients(int p6_from_c5, int bn_train)
{
    retinanet_config c = narrow_config(p6_from_c5, 0);
    c.bn_train = bn_train;
    retinanet *m = retinanet_create(&c);
    net_fill_random(m, 11);
    int n = 2, h = 160, w = 192;
    retinanet_plan(m, n, h, w, 1);
    size_t a = (size_t)n * m->num_anchors_total;
    float *x = net_random_floats((size_t)n * 3 * h * w, 12, 1.0);
    float *rc = net_random_floats(a * c.num_classes, 13, 1.0);
    float *rb = net_random_floats(a * 4, 14, 1.0);
    double norm;
    weighted_outputs(m, x, rc, rb, &norm);
    retinanet_zero_grad(m);
    retinanet_backward(m, rc, rb);
    int checked = 0;
    for (int i = 0; i < m->nparams; i++) {
        retinanet_param *p = &m->params[i];
        if (!p->trainable)
            continue;
        double analytic = 0.0;
        float *saved = malloc(p->count * sizeof *saved);
        memcpy(saved, p->data, p->count * sizeof *saved);
        for (size_t k = 0; k < p->count; k++)
            analytic += (double)p->grad[k] * p->grad[k];
        /* Along the gradient itself: no cancellation, and any sizeable error e in the gradient
         * shows as |e|² / |g|. */
        double eps = FD_DELTA * norm / (analytic > 1e-30 ? analytic : 1e-30);
        double lp, lm;
        for (size_t k = 0; k < p->count; k++)
            p->data[k] = (float)(saved[k] + eps * p->grad[k]);
        lp = weighted_outputs(m, x, rc, rb, NULL);
        for (size_t k = 0; k < p->count; k++)
            p->data[k] = (float)(saved[k] - eps * p->grad[k]);
        lm = weighted_outputs(m, x, rc, rb, NULL);
        memcpy(p->data, saved, p->count * sizeof *saved);
        double numeric = (lp - lm) / (2.0 * eps);
        ck_assert_msg(fabs(numeric - analytic) <= FD_TOLERANCE * fabs(analytic),
                      "%s: finite difference %.6g, backward %.6g (P6 on %s)", p->name, numeric,
                      analytic, p6_from_c5 ? "C5" : "P5");
        ck_assert_msg(analytic > 0.0, "%s: no gradient reaches it", p->name);
        free(saved);
        checked++;
    }
    // every tensor but the 20 BatchNorms' four (frozen) or running statistics (bn_train)
    ck_assert_int_eq(checked, m->nparams - (bn_train ? 2 : 4) * 20);
    free(x);
    free(rc);
    free(rb);
    retinanet_destroy(m);
}

START_TEST(test_fd_whole_network_p6_on_p5)
{
    check_whole_network_gradients(0, 0);
}
END_TEST

START_TEST(test_fd_whole_network_p6_on_c5)
{
    check_whole_network_gradients(1, 0);
}
END_TEST

START_TEST(test_fd_whole_network_bn_train)
{
    check_whole_network_gradients(0, 1);
}
END_TEST

/* Tensor counts, floats and trainable floats of torchvision 0.14's RetinaNet state_dicts with
 * FrozenBatchNorm2d and trainable_backbone_layers = 3 (printed by torchvision). */
START_TEST(test_table_sizes_match_torchvision)
{
    static const struct {
        int depth, classes, tensors;
        size_t values, trainable;
    } ref[] = {
        {18, 91, 136, 21058071, 20882007}, {34, 91, 216, 31173655, 30909015},
        {50, 91, 301, 34121239, 33792599}, {101, 91, 556, 53165591, 52732503},
        {18, 20, 136, 19585176, 19409112},
    };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        retinanet_config c;
        retinanet_config_default(&c, 0);
        c.depth = ref[i].depth;
        c.num_classes = ref[i].classes;
        int tensors;
        size_t values, trainable;
        retinanet_count(&c, &tensors, &values, &trainable);
        ck_assert_int_eq(tensors, ref[i].tensors);
        ck_assert_uint_eq(values, ref[i].values);
        ck_assert_uint_eq(trainable, ref[i].trainable);
    }
}
END_TEST

static void assert_shape(retinanet *m, const char *name, int ndim, int s0, int s1, int s2, int s3)
{
    retinanet_param *p = retinanet_param_find(m, name);
    ck_assert_msg(p != NULL, "no tensor '%s'", name);
    int want[4] = {s0, s1, s2, s3};
    ck_assert_int_eq(p->ndim, ndim);
    for (int k = 0; k < ndim; k++)
        ck_assert_msg(p->shape[k] == want[k], "%s: dim %d is %d, want %d", name, k, p->shape[k],
                      want[k]);
}

/* Names, order and shapes of retinanet_resnet50_fpn's state_dict; P6 on C5 for the paper. */
START_TEST(test_table_names_resnet50)
{
    retinanet_config c;
    retinanet_config_default(&c, 0);
    retinanet *m = retinanet_create_inference(&c);
    ck_assert_int_eq(m->nparams, 301);
    ck_assert_str_eq(m->params[0].name, "backbone.body.conv1.weight");
    ck_assert_str_eq(m->params[4].name, "backbone.body.bn1.running_var");
    ck_assert_str_eq(m->params[5].name, "backbone.body.layer1.0.conv1.weight");
    ck_assert_str_eq(m->params[300].name, "head.regression_head.bbox_reg.bias");
    assert_shape(m, "backbone.body.conv1.weight", 4, 64, 3, 7, 7);
    assert_shape(m, "backbone.body.layer1.0.downsample.0.weight", 4, 256, 64, 1, 1);
    assert_shape(m, "backbone.body.layer2.0.conv2.weight", 4, 128, 128, 3, 3);
    assert_shape(m, "backbone.body.layer4.2.bn3.running_mean", 1, 2048, 0, 0, 0);
    assert_shape(m, "backbone.fpn.inner_blocks.2.0.weight", 4, 256, 2048, 1, 1);
    assert_shape(m, "backbone.fpn.extra_blocks.p6.weight", 4, 256, 256, 3, 3);
    assert_shape(m, "head.classification_head.conv.3.0.bias", 1, 256, 0, 0, 0);
    assert_shape(m, "head.classification_head.cls_logits.weight", 4, 819, 256, 3, 3);
    assert_shape(m, "head.regression_head.bbox_reg.weight", 4, 36, 256, 3, 3);
    ck_assert_ptr_null(retinanet_param_find(m, "backbone.body.layer1.3.conv1.weight"));
    ck_assert_ptr_null(retinanet_param_find(m, "backbone.body.bn1.folded_scale"));
    for (int i = 0; i < m->nparams; i++)
        ck_assert_ptr_null(m->params[i].grad);
    retinanet_destroy(m);
    retinanet_config_preset(&c, preset_find("paper"));
    ck_assert_int_eq(c.num_anchors, 6);
    m = retinanet_create_inference(&c);
    assert_shape(m, "backbone.fpn.extra_blocks.p6.weight", 4, 256, 2048, 3, 3);
    assert_shape(m, "head.classification_head.cls_logits.weight", 4, 120, 256, 3, 3);
    assert_shape(m, "head.regression_head.bbox_reg.weight", 4, 24, 256, 3, 3);
    retinanet_destroy(m);
}
END_TEST

/* The default initialisation: prior bias -log(99), heads N(0, 0.01), BatchNorm identity. */
START_TEST(test_init_weights)
{
    retinanet_config c = narrow_config(0, 2);
    c.fpn_channels = 64;
    retinanet *m = retinanet_create(&c);
    retinanet_init_weights(m, 5);
    retinanet_param *b = retinanet_param_find(m, "head.classification_head.cls_logits.bias");
    for (size_t k = 0; k < b->count; k++)
        ck_assert_float_eq_tol(b->data[k], -4.59511985f, 1e-6f);
    retinanet_param *w = retinanet_param_find(m, "head.classification_head.conv.0.0.weight");
    double ss = 0.0;
    for (size_t k = 0; k < w->count; k++)
        ss += (double)w->data[k] * w->data[k];
    ck_assert_double_eq_tol(sqrt(ss / (double)w->count), 0.01, 0.0005);  // 36864 draws
    ck_assert_float_eq(retinanet_param_find(m, "backbone.body.bn1.running_var")->data[0], 1.0f);
    ck_assert_float_eq(retinanet_param_find(m, "backbone.body.bn1.weight")->data[3], 1.0f);
    ck_assert_float_eq(retinanet_param_find(m, "backbone.fpn.layer_blocks.0.0.bias")->data[0], 0.0f);
    retinanet_destroy(m);
}
END_TEST

static double rms_of(retinanet *m, const char *name)
{
    retinanet_param *w = retinanet_param_find(m, name);
    ck_assert_ptr_nonnull(w);
    double ss = 0.0;
    for (size_t k = 0; k < w->count; k++)
        ss += (double)w->data[k] * w->data[k];
    return sqrt(ss / (double)w->count);
}

/* The from-scratch options: kaiming hidden head convolutions (std sqrt(2 / fan_in)), the class
 * logits and box layers unchanged, zero residual branches (conv2 of basic blocks only). */
START_TEST(test_init_from_scratch)
{
    retinanet_config c = narrow_config(0, 2);
    c.fpn_channels = 64;
    c.head_std = 0;
    c.zero_init_residual = 1;
    retinanet *m = retinanet_create(&c);
    retinanet_init_weights(m, 5);
    double kaiming = sqrt(2.0 / (64.0 * 9.0));
    ck_assert_double_eq_tol(rms_of(m, "head.classification_head.conv.0.0.weight"), kaiming,
                            0.03 * kaiming);
    ck_assert_double_eq_tol(rms_of(m, "head.regression_head.conv.3.0.weight"), kaiming,
                            0.03 * kaiming);
    ck_assert_double_eq_tol(rms_of(m, "head.classification_head.cls_logits.weight"), 0.01,
                            0.001);
    ck_assert_double_eq(rms_of(m, "backbone.body.layer1.0.conv2.weight"), 0.0);
    ck_assert_double_eq(rms_of(m, "backbone.body.layer4.1.conv2.weight"), 0.0);
    ck_assert(rms_of(m, "backbone.body.layer4.1.conv1.weight") > 0.01);
    ck_assert(rms_of(m, "backbone.body.layer2.0.downsample.0.weight") > 0.01);
    retinanet_destroy(m);
}
END_TEST

/* Frozen stages get no gradient, and freezing them does not change the others' gradients. */
START_TEST(test_frozen_stages)
{
    retinanet_config c0 = narrow_config(0, 0), c2 = narrow_config(0, 2);
    retinanet *m0 = retinanet_create(&c0), *m2 = retinanet_create(&c2);
    net_fill_random(m0, 21);
    net_fill_random(m2, 21);
    int n = 1, h = 96, w = 128;
    retinanet_plan(m0, n, h, w, 1);
    retinanet_plan(m2, n, h, w, 1);
    size_t a = (size_t)n * m0->num_anchors_total;
    float *x = net_random_floats((size_t)n * 3 * h * w, 22, 1.0);
    float *rc = net_random_floats(a * c0.num_classes, 23, 1.0);
    float *rb = net_random_floats(a * 4, 24, 1.0);
    retinanet_forward(m0, x);
    retinanet_forward(m2, x);
    retinanet_zero_grad(m0);
    retinanet_zero_grad(m2);
    retinanet_backward(m0, rc, rb);
    retinanet_backward(m2, rc, rb);
    int frozen = 0;
    for (int i = 0; i < m2->nparams; i++) {
        retinanet_param *p0 = &m0->params[i], *p2 = &m2->params[i];
        int early = strncmp(p2->name, "backbone.body.conv1", 19) == 0 ||
                    strncmp(p2->name, "backbone.body.layer1.", 21) == 0;
        int bn = p2->role != NET_ROLE_CONV_WEIGHT && p2->role != NET_ROLE_CONV_BIAS;
        ck_assert_int_eq(p2->trainable, !early && !bn);
        ck_assert_int_eq(p0->trainable, !bn);
        if (!p2->trainable) {
            ck_assert_ptr_null(p2->grad);
            frozen += !bn;
            continue;
        }
        for (size_t k = 0; k < p2->count; k++)
            ck_assert_msg(fabsf(p0->grad[k] - p2->grad[k]) <= 1e-5f * (fabsf(p0->grad[k]) + 1.0f),
                          "%s[%zu]: %g with all stages trainable, %g with two frozen", p2->name,
                          k, p0->grad[k], p2->grad[k]);
    }
    ck_assert_int_eq(frozen, 5);  // conv1 and layer1's four convolutions
    free(x);
    free(rc);
    free(rb);
    retinanet_destroy(m0);
    retinanet_destroy(m2);
}
END_TEST

/* After the first plan, steps and re-plans of the same or a smaller shape allocate nothing. */
START_TEST(test_step_allocates_nothing)
{
    retinanet_config c = narrow_config(1, 2);
    retinanet *m = retinanet_create(&c);
    net_fill_random(m, 31);
    int n = 2, h = 128, w = 128;
    retinanet_plan(m, n, h, w, 1);
    size_t a = (size_t)n * m->num_anchors_total;
    float *x = net_random_floats((size_t)n * 3 * h * w, 32, 1.0);
    float *rc = net_random_floats(a * c.num_classes, 33, 1.0);
    float *rb = net_random_floats(a * 4, 34, 1.0);
    size_t grows = m->param_arena.grows + m->grad_arena.grows + m->act_arena.grows +
                   m->scratch_arena.grows;
    float first = 0.0f;
    for (int step = 0; step < 3; step++) {
        retinanet_plan(m, n, h, w, 1);
        retinanet_forward(m, x);
        retinanet_zero_grad(m);
        retinanet_backward(m, rc, rb);
        if (step == 0)
            first = m->params[m->nparams - 1].grad[0];
        ck_assert_float_eq(m->params[m->nparams - 1].grad[0], first);  // zeroed, not summed
    }
    retinanet_plan(m, 1, 64, 96, 1);
    retinanet_forward(m, x);
    size_t after = m->param_arena.grows + m->grad_arena.grows + m->act_arena.grows +
                   m->scratch_arena.grows;
    ck_assert_uint_eq(after, grows);
    free(x);
    free(rc);
    free(rb);
    retinanet_destroy(m);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("retinanet");
    TCase *tc = tcase_create("retinanet");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_table_sizes_match_torchvision);
    tcase_add_test(tc, test_table_names_resnet50);
    tcase_add_test(tc, test_init_weights);
    tcase_add_test(tc, test_init_from_scratch);
    tcase_add_test(tc, test_frozen_stages);
    tcase_add_test(tc, test_step_allocates_nothing);
    tcase_add_test(tc, test_fd_whole_network_p6_on_p5);
    tcase_add_test(tc, test_fd_whole_network_p6_on_c5);
    tcase_add_test(tc, test_fd_whole_network_bn_train);
    suite_add_tcase(s, tc);
    return s;
}
