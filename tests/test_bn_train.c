/* test_bn_train.c — training-mode BatchNorm in the backbone (retinanet_config.bn_train): one
 * layer's forward, backward and running statistics against torch.nn.BatchNorm2d in train mode
 * (tests/make_bn_fixtures.py); the layer on 1 and 2 threads; and, on a narrow ResNet-18
 * RetinaNet trained with train_step, the running statistics the first step leaves (computed
 * here from the stem convolution), the same bits on 1 and 2 threads, no allocation after the
 * first step, and an inference plan after training that runs on the running statistics: the
 * same outputs, bit for bit, as a frozen-BatchNorm model loaded from the trained model's
 * checkpoint. (The finite-difference check of the whole network with bn_train is in
 * tests/test_retinanet.c.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "detector/checkpoint.h"
#include "detector/train_step.h"
#include "lib/threads.h"
#include "tests/case_rng.h"
#include "tests/check_main.h"
#include "tests/h5io.h"

#define BN_FIXTURE "tests/fixtures/bn_train_reference.h5"

/* A dataset of the fixture as floats (malloc'd), checking its length. */
static float *bn_read(hid_t f, const char *name, int64_t want)
{
    int64_t n;
    double *d = h5io_read_column(f, name, &n);
    ck_assert_msg(n == want, "%s: %lld values, want %lld", name, (long long)n, (long long)want);
    float *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)d[i];
    free(d);
    return v;
}

/* got[i] within 1e-5 of ref[i] relative, or of the largest |ref| near zero. */
static void bn_assert_close(const char *what, const float *got, hid_t f, const char *name,
                            int64_t n)
{
    int64_t len;
    double *ref = h5io_read_column(f, name, &len);
    ck_assert_int_eq(len, n);
    double big = 0.0;
    for (int64_t i = 0; i < n; i++)
        big = fmax(big, fabs(ref[i]));
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - ref[i]) <= 1e-5 * fabs(ref[i]) + 1e-6 * big,
                      "%s[%lld]: %.9g, PyTorch %.9g", what, (long long)i, (double)got[i], ref[i]);
    free(ref);
}

/* One layer against torch.nn.BatchNorm2d(train): y, the running statistics, dx, dweight and
 * dbias (which accumulate onto what was there). */
START_TEST(test_layer_matches_torch)
{
    hid_t f = H5Fopen(BN_FIXTURE, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "cannot open %s (run tests/make_bn_fixtures.py)", BN_FIXTURE);
    int n = (int)h5io_read_double_attr(f, "n"), c = (int)h5io_read_double_attr(f, "c");
    int hw = (int)(h5io_read_double_attr(f, "h") * h5io_read_double_attr(f, "w"));
    float eps = (float)h5io_read_double_attr(f, "eps");
    float momentum = (float)h5io_read_double_attr(f, "momentum");
    int64_t count = (int64_t)n * c * hw;
    float *x = bn_read(f, "x", count), *dy = bn_read(f, "dy", count);
    float *weight = bn_read(f, "weight", c), *bias = bn_read(f, "bias", c);
    float *rmean = bn_read(f, "running_mean0", c), *rvar = bn_read(f, "running_var0", c);
    float *y = malloc((size_t)count * sizeof *y), *dx = malloc((size_t)count * sizeof *dx);
    float stats[2 * 3], dweight[3] = {1.0f, 1.0f, 1.0f}, dbias[3] = {-1.0f, -1.0f, -1.0f};
    ck_assert_int_eq(c, 3);
    bn_train_forward(x, n, c, hw, weight, bias, eps, momentum, rmean, rvar, stats, y, 0);
    bn_assert_close("y", y, f, "y", count);
    bn_assert_close("running_mean", rmean, f, "running_mean", c);
    bn_assert_close("running_var", rvar, f, "running_var", c);
    bn_train_backward(x, dy, n, c, hw, weight, stats, dx, dweight, dbias);
    bn_assert_close("dx", dx, f, "dx", count);
    for (int k = 0; k < c; k++)
        dweight[k] -= 1.0f, dbias[k] += 1.0f;
    bn_assert_close("dweight", dweight, f, "dweight", c);
    bn_assert_close("dbias", dbias, f, "dbias", c);
    /* In place (dx = dy), as the network runs it, and fused with ReLU. */
    bn_train_backward(x, dy, n, c, hw, weight, stats, dy, dweight, dbias);
    ck_assert(memcmp(dx, dy, (size_t)count * sizeof *dx) == 0);
    float *xr = bn_read(f, "x", count), *yr = malloc((size_t)count * sizeof *yr);
    bn_train_forward(xr, n, c, hw, weight, bias, eps, momentum, rmean, rvar, stats, yr, 1);
    int zeros = 0;
    for (int64_t i = 0; i < count; i++) {
        ck_assert(yr[i] == (y[i] < 0.0f ? 0.0f : y[i]));
        ck_assert(xr[i] == x[i]);  // x̂ again
        zeros += yr[i] == 0.0f;
    }
    ck_assert_int_gt(zeros, 0);
    free(xr), free(yr), free(x), free(dy), free(weight), free(bias), free(rmean), free(rvar);
    free(y), free(dx);
    H5Fclose(f);
}
END_TEST

/* The layer on a tensor large enough for its parallel path gives the same bits on 1 and 2
 * threads, forward and backward. */
START_TEST(test_layer_same_bits_on_1_and_2_threads)
{
    enum { N = 2, C = 16, HW = 48 * 48 };
    size_t count = (size_t)N * C * HW;
    float *out[2][3];
    float w[C], b[C];
    case_rng r = {7};
    for (int k = 0; k < C; k++)
        w[k] = (float)(0.5 + case_unit(&r)), b[k] = (float)(case_unit(&r) - 0.5);
    for (int t = 0; t < 2; t++) {
        rd_threads_set(t + 1);
        case_rng q = {11};
        float *x = malloc(count * sizeof *x), *y = malloc(count * sizeof *y);
        float *dx = malloc(count * sizeof *dx), *stats = malloc(2 * C * sizeof *stats);
        float *acc = calloc(4 * C, sizeof *acc);
        for (size_t i = 0; i < count; i++)
            x[i] = (float)(3.0 * case_unit(&q) + (double)(i / HW % C));
        for (int k = 0; k < C; k++)
            acc[2 * C + k] = 1.0f;  // running_var starts at 1
        bn_train_forward(x, N, C, HW, w, b, 1e-5f, 0.1f, acc, acc + 2 * C, stats, y, 1);
        bn_train_backward(x, y, N, C, HW, w, stats, dx, acc + C, acc + 3 * C);
        out[t][0] = y, out[t][1] = dx, out[t][2] = acc;
        free(x), free(stats);
    }
    rd_threads_set(1);
    ck_assert(memcmp(out[0][0], out[1][0], count * sizeof(float)) == 0);
    ck_assert(memcmp(out[0][1], out[1][1], count * sizeof(float)) == 0);
    ck_assert(memcmp(out[0][2], out[1][2], 4 * C * sizeof(float)) == 0);
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < 3; k++)
            free(out[t][k]);
}
END_TEST

/* ---- the network ------------------------------------------------------------------------- */

enum { BT_N = 4, BT_SIDE = 64, BT_K = 3 };

typedef struct bt_data {
    float images[BT_N * 3 * BT_SIDE * BT_SIDE];
    rd_box boxes[BT_N];
    int32_t labels[BT_N];
    assign_gt gt[BT_N];
} bt_data;

/* Four noise images, each with one bright rectangle of class i % K. */
static void bt_data_make(bt_data *d)
{
    case_rng r = {2015};
    size_t plane = BT_SIDE * BT_SIDE;
    for (size_t i = 0; i < sizeof d->images / sizeof d->images[0]; i++)
        d->images[i] = (float)(case_unit(&r) - 0.5);
    for (int i = 0; i < BT_N; i++) {
        rd_box b = {(float)(4 + 8 * i), (float)(6 + 4 * i), (float)(36 + 6 * i), (float)(40 + 4 * i)};
        for (int y = (int)b.y1; y < (int)b.y2; y++)
            for (int x = (int)b.x1; x < (int)b.x2; x++)
                d->images[((size_t)i * 3 + (size_t)(i % 3)) * plane + (size_t)y * BT_SIDE + x] += 2.0f;
        d->boxes[i] = b;
        d->labels[i] = i % BT_K;
        d->gt[i] = (assign_gt){&d->boxes[i], &d->labels[i], NULL, 1};
    }
}

static retinanet_config bt_model_config(int bn_train)
{
    retinanet_config c;
    retinanet_config_preset(&c, preset_find("paper"));
    c.depth = 18, c.width = 8, c.fpn_channels = 16, c.num_classes = BT_K;
    c.frozen_stages = 1, c.fpn_gaussian = 0, c.head_std = 0, c.zero_init_residual = 1;
    c.bn_train = bn_train;
    return c;
}

static train_config bt_train_config(void)
{
    train_config c;
    memset(&c, 0, sizeof c);
    c.preset = preset_find("paper");
    c.cls_loss = loss_find("focal");
    loss_params_default(&c.cls_params);
    sgd_config_default(&c.sgd);
    c.sgd.lr = 0.01, c.sgd.warmup_steps = 0;
    return c;
}

/* After the first step, the running statistics of layer1.0.bn1 (the first training-mode
 * BatchNorm: frozen_stages 1 freezes the stem) equal 0.9 · (0, 1) + 0.1 · the batch mean and
 * unbiased variance of its convolution's output, computed here; the frozen stem's bn1 keeps
 * its statistics; BatchNorm weight and bias are trainable, the running ones not; with
 * zero_init_residual the last BatchNorm of each branch starts at weight 0. */
START_TEST(test_step_updates_running_stats)
{
    rd_threads_set(1);
    static bt_data d;
    bt_data_make(&d);
    retinanet_config mc = bt_model_config(1);
    retinanet *m = retinanet_create(&mc);
    retinanet_init_weights(m, 3);
    ck_assert_float_eq(retinanet_param_find(m, "backbone.body.layer2.1.bn2.weight")->data[0], 0);
    ck_assert_float_eq(retinanet_param_find(m, "backbone.body.layer2.1.bn1.weight")->data[0], 1);
    ck_assert(!retinanet_param_find(m, "backbone.body.bn1.weight")->trainable);
    ck_assert(retinanet_param_find(m, "backbone.body.layer1.0.bn1.weight")->trainable);
    ck_assert(retinanet_param_find(m, "backbone.body.layer4.1.bn2.bias")->trainable);
    ck_assert(!retinanet_param_find(m, "backbone.body.layer1.0.bn1.running_var")->trainable);
    train_config tc = bt_train_config();
    train_step t;
    train_step_init(&t, m, &tc);
    train_batch b = {d.images, BT_N, BT_SIDE, BT_SIDE, d.gt};
    train_stats s;
    float stem_var = retinanet_param_find(m, "backbone.body.bn1.running_var")->data[2];
    retinanet_param *cw = retinanet_param_find(m, "backbone.body.layer1.0.conv1.weight");
    float *weight = malloc(cw->count * sizeof *weight);
    memcpy(weight, cw->data, cw->count * sizeof *weight);  // before the update
    ck_assert_int_eq(train_step_run(&t, &b, &s), LOSS_OK);
    /* layer1.0.conv1's input, the frozen stem's max pool output, is kept by the training plan. */
    const resnet *r = &m->backbone;
    const net_conv *cv = &r->layer[0][0].c1;
    int ph = r->ph, pw = r->pw, C = cv->d.cout;
    float *y = malloc((size_t)BT_N * C * ph * pw * sizeof *y);
    float *scratch = malloc(conv2d_scratch_floats(&cv->d, BT_N, ph, pw) * sizeof *scratch + 4);
    conv2d_forward(&cv->d, r->pool_out, BT_N, ph, pw, weight, NULL, y, scratch);
    const float *rm = retinanet_param_find(m, "backbone.body.layer1.0.bn1.running_mean")->data;
    const float *rv = retinanet_param_find(m, "backbone.body.layer1.0.bn1.running_var")->data;
    size_t plane = (size_t)ph * pw, cnt = BT_N * plane;
    for (int k = 0; k < C; k++) {
        double sum = 0, ss = 0;
        for (int i = 0; i < BT_N; i++)
            for (size_t j = 0; j < plane; j++)
                sum += y[((size_t)i * C + k) * plane + j];
        double mean = sum / (double)cnt;
        for (int i = 0; i < BT_N; i++)
            for (size_t j = 0; j < plane; j++) {
                double e = y[((size_t)i * C + k) * plane + j] - mean;
                ss += e * e;
            }
        double var = ss / (double)(cnt - 1);
        ck_assert_double_eq_tol(rm[k], 0.1 * mean, 1e-5 * (fabs(mean) + 1e-3));
        ck_assert_double_eq_tol(rv[k], 0.9 + 0.1 * var, 1e-5 * (0.9 + 0.1 * var));
        ck_assert(fabs(mean) > 1e-3 && fabs(var - 1.0) > 1e-2);  // the check can fail
    }
    ck_assert_float_eq(retinanet_param_find(m, "backbone.body.bn1.running_var")->data[2],
                       stem_var);
    free(weight), free(y), free(scratch);
    train_step_free(&t);
    retinanet_destroy(m);
}
END_TEST

/* Parameters (running statistics included) after `steps` steps of a bn_train model on
 * `threads` threads, in a malloc'd array of *total floats; *grows receives whether any arena
 * grew after the first step. */
static float *bt_train(int threads, int steps, size_t *total, int *grew)
{
    rd_threads_set(threads);
    static bt_data d;
    bt_data_make(&d);
    retinanet_config mc = bt_model_config(1);
    retinanet *m = retinanet_create(&mc);
    retinanet_init_weights(m, 5);
    train_config tc = bt_train_config();
    train_step t;
    train_step_init(&t, m, &tc);
    train_batch b = {d.images, BT_N, BT_SIDE, BT_SIDE, d.gt};
    train_stats s;
    size_t grows = 0;
    for (int i = 0; i < steps; i++) {
        ck_assert_int_eq(train_step_run(&t, &b, &s), LOSS_OK);
        ck_assert(isfinite(s.loss));
        if (i == 0)
            grows = train_step_grows(&t);
    }
    *grew = train_step_grows(&t) != grows;
    *total = 0;
    for (int i = 0; i < m->nparams; i++)
        *total += m->params[i].count;
    float *v = malloc(*total * sizeof *v);
    for (size_t i = 0, at = 0; i < (size_t)m->nparams; at += m->params[i].count, i++)
        memcpy(v + at, m->params[i].data, m->params[i].count * sizeof *v);
    train_step_free(&t);
    retinanet_destroy(m);
    rd_threads_set(1);
    return v;
}

/* Three steps on 1 and on 2 threads leave the same parameters and running statistics, bit for
 * bit (the stem's 4 × 8 × 32 × 32 outputs run the layer's parallel path); after the first step
 * no arena grows. */
START_TEST(test_steps_same_bits_and_no_allocation)
{
    size_t n1, n2;
    int grew1, grew2;
    float *a = bt_train(1, 3, &n1, &grew1), *b = bt_train(2, 3, &n2, &grew2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_msg(!grew1 && !grew2, "an arena grew after the first step");
    ck_assert(memcmp(a, b, n1 * sizeof *a) == 0);
    free(a), free(b);
}
END_TEST

/* Train a few steps with bn_train, then plan for inference: the outputs equal, bit for bit,
 * those of a frozen-BatchNorm model loaded from the trained model's checkpoint (so the
 * inference plan runs on the running statistics, and the checkpoint carries them); they
 * differ from the training plan's outputs on the same batch (batch statistics). */
START_TEST(test_inference_plan_uses_running_stats)
{
    rd_threads_set(1);
    static bt_data d;
    bt_data_make(&d);
    retinanet_config mc = bt_model_config(1), fc = bt_model_config(0);
    retinanet *m = retinanet_create(&mc);
    retinanet_init_weights(m, 9);
    train_config tc = bt_train_config();
    train_step t;
    train_step_init(&t, m, &tc);
    train_batch b = {d.images, BT_N, BT_SIDE, BT_SIDE, d.gt};
    train_stats s;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(train_step_run(&t, &b, &s), LOSS_OK);
    size_t outs = (size_t)BT_N * m->num_anchors_total * BT_K;
    float *train_out = malloc(outs * sizeof *train_out);
    memcpy(train_out, m->cls_logits, outs * sizeof *train_out);  // the last step's forward
    char *dir = test_tmpdir(), *path = test_path_in(dir, "bn.h5"), err[1024];
    ck_assert_msg(checkpoint_save(path, m, err, sizeof err) == 0, "%s", err);
    retinanet_plan(m, BT_N, BT_SIDE, BT_SIDE, 0);
    retinanet_forward(m, d.images);
    retinanet *f = retinanet_create_inference(&fc);
    ck_assert_msg(checkpoint_load(path, f, err, sizeof err) == 0, "%s", err);
    retinanet_plan(f, BT_N, BT_SIDE, BT_SIDE, 0);
    retinanet_forward(f, d.images);
    ck_assert(memcmp(m->cls_logits, f->cls_logits, outs * sizeof(float)) == 0);
    size_t boxes = (size_t)BT_N * m->num_anchors_total * 4;
    ck_assert(memcmp(m->bbox_regression, f->bbox_regression, boxes * sizeof(float)) == 0);
    double diff = 0;
    for (size_t i = 0; i < outs; i++)
        diff = fmax(diff, fabs(m->cls_logits[i] - train_out[i]));
    ck_assert_msg(diff > 1e-3, "inference outputs equal the training plan's (%g)", diff);
    const float *rv = retinanet_param_find(f, "backbone.body.layer3.0.bn1.running_var")->data;
    ck_assert(rv[0] != 1.0f);
    free(train_out);
    free(path), free(dir);
    train_step_free(&t);
    retinanet_destroy(m);
    retinanet_destroy(f);
}
END_TEST

/* bn_train takes 0 or 1; anything else is refused with a message naming it. */
START_TEST(test_config_checks_bn_train)
{
    retinanet_config c = bt_model_config(2);
    char err[256];
    ck_assert_int_eq(retinanet_config_check(&c, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "bn_train must be 0 or 1") != NULL, "%s", err);
    c.bn_train = 1;
    ck_assert_int_eq(retinanet_config_check(&c, err, sizeof err), 0);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("bn_train");
    TCase *tc = tcase_create("bn_train");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_layer_matches_torch);
    tcase_add_test(tc, test_layer_same_bits_on_1_and_2_threads);
    tcase_add_test(tc, test_step_updates_running_stats);
    tcase_add_test(tc, test_steps_same_bits_and_no_allocation);
    tcase_add_test(tc, test_inference_plan_uses_running_stats);
    tcase_add_test(tc, test_config_checks_bn_train);
    suite_add_tcase(s, tc);
    return s;
}
