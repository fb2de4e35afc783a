/* test_train_step.c — the detector's training step (detector/train_step.c): a few hundred
 * steps on four small images must drive the training loss down by an order of magnitude with
 * `focal` and with `ap` from the loss registry (an overfit test of forward, assignment, both
 * losses, backward and SGD together); the gradients of the last layers' biases are the
 * derivatives of the step's loss (finite differences); 1 and 2 threads give the same bits;
 * after the first step a step allocates nothing; a NaN
 * score stops the step before SGD with a message naming the entry; a model and preset that
 * disagree are refused. The network is ResNet-18-shaped but narrow (width 8, 16 FPN channels)
 * on 64 × 64 inputs so that the suite stays within seconds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detector/train_step.h"
#include "lib/threads.h"
#include "tests/case_rng.h"
#include "tests/check_main.h"

enum { TS_N = 4, TS_SIDE = 64, TS_K = 3, TS_MAXGT = 2 };

typedef struct ts_data {
    float images[TS_N * 3 * TS_SIDE * TS_SIDE];
    rd_box boxes[TS_N][TS_MAXGT];
    int32_t labels[TS_N][TS_MAXGT];
    assign_gt gt[TS_N];
} ts_data;

/* Four images of noise with one or two filled rectangles each, the rectangle's colour telling
 * its class; the boxes are the rectangles. */
static void ts_data_make(ts_data *d)
{
    static const float colour[TS_K][3] = {{1.5f, -1.0f, -1.0f}, {-1.0f, 1.5f, -1.0f},
                                          {-1.0f, -1.0f, 1.5f}};
    static const rd_box boxes[TS_N][TS_MAXGT] = {
        {{8, 8, 40, 36}, {0, 0, 0, 0}},     {{20, 12, 56, 52}, {2, 40, 22, 62}},
        {{4, 24, 30, 60}, {34, 6, 62, 30}}, {{14, 14, 50, 50}, {0, 0, 0, 0}},
    };
    static const int32_t labels[TS_N][TS_MAXGT] = {{0, 0}, {1, 2}, {2, 0}, {1, 0}};
    static const int count[TS_N] = {1, 2, 2, 1};
    case_rng r = {2019};
    size_t plane = TS_SIDE * TS_SIDE;
    for (size_t i = 0; i < sizeof d->images / sizeof d->images[0]; i++)
        d->images[i] = (float)(0.4 * (case_unit(&r) - 0.5));
    for (int i = 0; i < TS_N; i++) {
        for (int g = 0; g < count[i]; g++) {
            rd_box b = boxes[i][g];
            for (int c = 0; c < 3; c++)
                for (int y = (int)b.y1; y < (int)b.y2; y++)
                    for (int x = (int)b.x1; x < (int)b.x2; x++)
                        d->images[((size_t)i * 3 + c) * plane + (size_t)y * TS_SIDE + x] +=
                            colour[labels[i][g]][c];
            d->boxes[i][g] = b;
            d->labels[i][g] = labels[i][g];
        }
        d->gt[i] = (assign_gt){d->boxes[i], d->labels[i], NULL, count[i]};
    }
}

/* A ResNet-18 RetinaNet of the given stem width and FPN channels. */
static retinanet *ts_model_sized(const detector_preset *p, int width, int fpn_channels)
{
    retinanet_config c;
    retinanet_config_default(&c, strcmp(p->name, "paper") == 0);
    c.depth = 18, c.width = width, c.fpn_channels = fpn_channels, c.num_classes = TS_K;
    c.num_anchors = p->anchors_per_location, c.p6_from_c5 = p->p6_from_c5;
    c.fpn_gaussian = 0;  // kaiming: scales with the narrow fan-in
    char err[256];
    ck_assert_msg(retinanet_config_check(&c, err, sizeof err) == 0, "%s", err);
    retinanet *m = retinanet_create(&c);
    retinanet_init_weights(m, 7);
    // The heads' N(0, 0.01) suits 256 channels; on 16 it would shrink every activation ~8x per
    // convolution. Scale by sqrt(256 / channels) to keep the full network's per-layer gain.
    float gain = sqrtf(256.0f / (float)fpn_channels);
    for (int i = 0; i < m->nparams; i++) {
        retinanet_param *q = &m->params[i];
        if (strncmp(q->name, "head.", 5) == 0 && q->ndim == 4)
            for (size_t j = 0; j < q->count; j++)
                q->data[j] *= gain;
    }
    return m;
}

/* The narrow network of most tests: width 8, 16 FPN channels. */
static retinanet *ts_model(const detector_preset *p)
{
    return ts_model_sized(p, 8, 16);
}

static train_config ts_config(const char *preset, const char *loss, double lr)
{
    train_config c;
    memset(&c, 0, sizeof c);
    c.preset = preset_find(preset);
    c.cls_loss = loss_find(loss);
    ck_assert_ptr_nonnull(c.preset);
    ck_assert_ptr_nonnull(c.cls_loss);
    loss_params_default(&c.cls_params);
    sgd_config_default(&c.sgd);
    c.sgd.lr = lr, c.sgd.warmup_steps = 20;
    return c;
}

/* `steps` steps of loss `loss` under preset on a ResNet-18 RetinaNet of the given width and
 * FPN channels. Over the second half of the run, some ten consecutive steps must average a
 * tenth of the first step's loss or less, the last ten at most a third of it (SGD at a fixed
 * rate on four images has spikes; which steps they hit depends on the BLAS kernels' rounding,
 * so the test asks for the order of magnitude to be reached, then kept roughly); no step
 * after the first may allocate. */
static void ts_overfit(const char *preset, const char *loss, double lr, int steps, int width,
                       int fpn_channels)
{
    rd_threads_set(1);
    static ts_data d;
    ts_data_make(&d);
    train_config c = ts_config(preset, loss, lr);
    retinanet *m = ts_model_sized(c.preset, width, fpn_channels);
    train_step t;
    train_step_init(&t, m, &c);
    train_batch b = {d.images, TS_N, TS_SIDE, TS_SIDE, d.gt};
    train_stats s;
    double first = 0.0, window[10] = {0}, best = INFINITY, last = 0.0;
    size_t grows = 0;
    for (int i = 0; i < steps; i++) {
        ck_assert_int_eq(train_step_run(&t, &b, &s), LOSS_OK);
        ck_assert_msg(isfinite(s.loss), "%s: step %d loss %g", loss, i, s.loss);
        if (i == 0) {
            first = s.loss, grows = train_step_grows(&t);
            ck_assert_int_gt(s.num_pos, 0);
        }
        window[i % 10] = s.loss;
        last = 0.0;
        for (int k = 0; k < 10; k++)
            last += window[k] / 10.0;
        if (i >= steps / 2)
            best = fmin(best, last);
    }
    ck_assert_uint_eq(train_step_grows(&t), grows);  // nothing allocated after the first step
    ck_assert_msg(best <= first / 10.0, "%s: loss %.4f at the first step, at best %.4f over ten "
                  "steps", loss, first, best);
    ck_assert_msg(last <= first / 3.0, "%s: loss %.4f at the first step, %.4f over the last ten",
                  loss, first, last);
    train_step_free(&t);
    retinanet_destroy(m);
}

START_TEST(test_focal_overfits)
{
    ts_overfit("torchvision", "focal", 0.01, 500, 16, 32);  // RetinaNet's own conventions
}
END_TEST

START_TEST(test_ap_overfits)
{
    ts_overfit("paper", "ap", 0.01, 300, 8, 16);  // the AP-loss paper's
}
END_TEST

/* The gradients the step leaves in the last layers' biases are the derivatives of its loss
 * (classification + box): central differences of train_step_gradients' loss. */
START_TEST(test_gradients_match_finite_differences)
{
    rd_threads_set(1);
    static ts_data d;
    ts_data_make(&d);
    train_config c = ts_config("paper", "focal", 0.01);
    retinanet *m = ts_model(c.preset);
    train_step t;
    train_step_init(&t, m, &c);
    train_batch b = {d.images, TS_N, TS_SIDE, TS_SIDE, d.gt};
    train_stats s;
    const char *names[2] = {"head.classification_head.cls_logits.bias",
                            "head.regression_head.bbox_reg.bias"};
    int checked = 0;
    for (int q = 0; q < 2; q++) {
        retinanet_param *p = retinanet_param_find(m, names[q]);
        ck_assert_ptr_nonnull(p);
        for (size_t i = 0; i < p->count; i += 5) {
            ck_assert_int_eq(train_step_gradients(&t, &b, &s), LOSS_OK);
            double g = p->grad[i];
            float keep = p->data[i];
            double h = 0.01;
            p->data[i] = (float)(keep + h);
            train_step_gradients(&t, &b, &s);
            double lp = s.loss;
            p->data[i] = (float)(keep - h);
            train_step_gradients(&t, &b, &s);
            double lm = s.loss;
            p->data[i] = keep;
            double fd = (lp - lm) / ((double)(float)(keep + h) - (double)(float)(keep - h));
            ck_assert_msg(fabs(g - fd) <= 2e-3 * fabs(fd) + 1e-6, "%s[%zu]: gradient %.6g, "
                          "finite difference %.6g", names[q], i, g, fd);
            checked += fabs(fd) > 1e-4;
        }
    }
    ck_assert_int_ge(checked, 4);  // not all vanishing
    train_step_free(&t);
    retinanet_destroy(m);
}
END_TEST

/* Two steps of ap on 1 and on 2 threads leave the same parameters, bit for bit, on a network
 * wide enough (width 32, 64 FPN channels) for the layers' parallel paths to run. */
START_TEST(test_same_bits_on_1_and_2_threads)
{
    static ts_data d;
    ts_data_make(&d);
    float *params[2] = {NULL, NULL};
    size_t total = 0;
    for (int threads = 1; threads <= 2; threads++) {
        rd_threads_set(threads);
        train_config c = ts_config("paper", "ap", 0.01);
        retinanet *m = ts_model_sized(c.preset, 32, 64);
        train_step t;
        train_step_init(&t, m, &c);
        train_batch b = {d.images, TS_N, TS_SIDE, TS_SIDE, d.gt};
        train_stats s;
        for (int i = 0; i < 2; i++)
            ck_assert_int_eq(train_step_run(&t, &b, &s), LOSS_OK);
        total = 0;
        for (int i = 0; i < m->nparams; i++)
            total += m->params[i].count;
        float *v = params[threads - 1] = malloc(total * sizeof *v);
        for (int i = 0, at = 0; i < m->nparams; at += (int)m->params[i].count, i++)
            memcpy(v + at, m->params[i].data, m->params[i].count * sizeof *v);
        train_step_free(&t);
        retinanet_destroy(m);
    }
    ck_assert(memcmp(params[0], params[1], total * sizeof(float)) == 0);
    free(params[0]), free(params[1]);
}
END_TEST

/* A NaN image makes NaN scores: the step reports the first one and leaves the parameters. */
START_TEST(test_nan_score_stops_before_sgd)
{
    rd_threads_set(1);
    static ts_data d;
    ts_data_make(&d);
    train_config c = ts_config("paper", "focal", 0.01);
    retinanet *m = ts_model(c.preset);
    train_step t;
    train_step_init(&t, m, &c);
    d.images[5] = NAN;
    retinanet_param *p = &m->params[m->nparams - 1];
    float before = p->data[0];
    train_batch b = {d.images, TS_N, TS_SIDE, TS_SIDE, d.gt};
    train_stats s;
    loss_status st = train_step_run(&t, &b, &s);
    ck_assert_int_eq(st, LOSS_ERR_NONFINITE);
    char msg[256];
    train_step_describe(&t, st, msg, sizeof msg);
    ck_assert_msg(strstr(msg, "image 0, anchor 0, class 0") != NULL, "message: %s", msg);
    ck_assert(p->data[0] == before || (isnan(p->data[0]) && isnan(before)));
    ck_assert_int_eq(t.opt.step, 0);
    train_step_free(&t);
    retinanet_destroy(m);
}
END_TEST

START_TEST(test_mismatched_preset_refused)
{
    train_config c = ts_config("paper", "focal", 0.01);
    const detector_preset *tv = preset_find("torchvision");
    retinanet *m = ts_model(tv);
    char err[256];
    if (tv->anchors_per_location != c.preset->anchors_per_location ||
        tv->p6_from_c5 != c.preset->p6_from_c5) {
        ck_assert_int_eq(train_step_check(m, &c, err, sizeof err), -1);
        ck_assert_ptr_nonnull(strstr(err, "preset paper"));
    }
    c.preset = tv;
    ck_assert_int_eq(train_step_check(m, &c, err, sizeof err), 0);
    c.sgd.momentum = 1.5;
    ck_assert_int_eq(train_step_check(m, &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "momentum"));
    retinanet_destroy(m);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("train_step");
    TCase *tc = tcase_create("train_step");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_focal_overfits);
    tcase_add_test(tc, test_ap_overfits);
    tcase_add_test(tc, test_gradients_match_finite_differences);
    tcase_add_test(tc, test_same_bits_on_1_and_2_threads);
    tcase_add_test(tc, test_nan_score_stops_before_sgd);
    tcase_add_test(tc, test_mismatched_preset_refused);
    suite_add_tcase(s, tc);
    return s;
}
