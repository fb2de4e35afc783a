/* test_sgd.c — optim/sgd.c against torch.optim.SGD with torch's LinearLR + MultiStepLR schedule
 * (tests/fixtures/sgd_reference.h5, written by tests/make_sgd_fixtures.py): the lr of every
 * step, the values after each of 12 steps over three tensors with one frozen, and the paper
 * preset's schedule over 700 steps; a hand-computed two-step case; config errors; no
 * allocation after init. Run from the repository root. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "optim/sgd.h"
#include "tests/check_main.h"

#define FIXTURE_PATH "tests/fixtures/sgd_reference.h5"

static hid_t fixture_group(hid_t *file, const char *name)
{
    *file = H5Fopen(FIXTURE_PATH, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(*file >= 0, "cannot open %s (make it with /usr/bin/python3 "
                  "tests/make_sgd_fixtures.py)", FIXTURE_PATH);
    hid_t g = H5Gopen2(*file, name, H5P_DEFAULT);
    ck_assert_msg(g >= 0, "%s lacks group %s", FIXTURE_PATH, name);
    return g;
}

/* An attribute of up to `max` entries read as mem_type; returns how many it has. */
static int fixture_attr(hid_t g, const char *name, hid_t mem_type, void *out, int max)
{
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "fixture lacks attribute %s", name);
    hid_t s = H5Aget_space(a);
    int count = (int)H5Sget_simple_extent_npoints(s);
    ck_assert_int_le(count, max);
    ck_assert_int_ge(H5Aread(a, mem_type, out), 0);
    H5Sclose(s);
    H5Aclose(a);
    return count;
}

static void *fixture_data(hid_t g, const char *name, hid_t mem_type, size_t elem, size_t *count)
{
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "fixture lacks dataset %s", name);
    hid_t s = H5Dget_space(d);
    *count = (size_t)H5Sget_simple_extent_npoints(s);
    void *v = malloc(*count * elem + 1);
    ck_assert_int_ge(H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Sclose(s);
    H5Dclose(d);
    return v;
}

static void fixture_config(hid_t g, sgd_config *c)
{
    sgd_config_default(c);
    fixture_attr(g, "lr", H5T_NATIVE_DOUBLE, &c->lr, 1);
    fixture_attr(g, "momentum", H5T_NATIVE_DOUBLE, &c->momentum, 1);
    fixture_attr(g, "weight_decay", H5T_NATIVE_DOUBLE, &c->weight_decay, 1);
    fixture_attr(g, "warmup_steps", H5T_NATIVE_INT, &c->warmup_steps, 1);
    fixture_attr(g, "warmup_factor", H5T_NATIVE_DOUBLE, &c->warmup_factor, 1);
    fixture_attr(g, "gamma", H5T_NATIVE_DOUBLE, &c->gamma, 1);
    c->num_milestones = fixture_attr(g, "milestones", H5T_NATIVE_INT64, c->milestones,
                                     SGD_MAX_MILESTONES);
}

START_TEST(test_schedule_matches_torch)
{
    hid_t f, g = fixture_group(&f, "schedule");
    sgd_config c;
    fixture_config(g, &c);
    ck_assert_double_eq(c.warmup_steps, 500);
    size_t steps;
    double *lr = fixture_data(g, "lr", H5T_NATIVE_DOUBLE, sizeof(double), &steps);
    ck_assert_uint_eq(steps, 700);
    for (size_t t = 0; t < steps; t++)
        ck_assert_msg(fabs(sgd_lr_at(&c, (int64_t)t) - lr[t]) <= 1e-12 * lr[t],
                      "step %zu: lr %.17g, torch %.17g", t, sgd_lr_at(&c, (int64_t)t), lr[t]);
    ck_assert_double_eq_tol(sgd_lr_at(&c, 0), 0.001 / 3, 1e-18);       // "from lr/3"
    ck_assert_double_eq_tol(sgd_lr_at(&c, 250), 0.001 * 2 / 3, 1e-18);  // halfway
    ck_assert_double_eq_tol(sgd_lr_at(&c, 500), 0.001, 1e-18);
    free(lr);
    H5Gclose(g);
    H5Fclose(f);
}
END_TEST

START_TEST(test_steps_match_torch)
{
    hid_t f, g = fixture_group(&f, "steps");
    sgd_config c;
    fixture_config(g, &c);
    long long counts[3];
    int frozen;
    ck_assert_int_eq(fixture_attr(g, "counts", H5T_NATIVE_LLONG, counts, 3), 3);
    fixture_attr(g, "frozen", H5T_NATIVE_INT, &frozen, 1);
    size_t nv, ng, nw, nlr;
    float *w = fixture_data(g, "w0", H5T_NATIVE_FLOAT, sizeof(float), &nv);
    float *grads = fixture_data(g, "grad", H5T_NATIVE_FLOAT, sizeof(float), &ng);
    float *want = fixture_data(g, "w", H5T_NATIVE_FLOAT, sizeof(float), &nw);
    double *lr = fixture_data(g, "lr", H5T_NATIVE_DOUBLE, sizeof(double), &nlr);
    ck_assert_uint_eq(ng, nlr * nv);
    float *grad = malloc(nv * sizeof *grad), *w0 = malloc(nv * sizeof *w0);
    memcpy(w0, w, nv * sizeof *w);
    sgd_tensor list[3];
    for (int i = 0, at = 0; i < 3; at += (int)counts[i], i++)
        list[i] = (sgd_tensor){w + at, i == frozen ? NULL : grad + at, (size_t)counts[i]};
    sgd s;
    sgd_init(&s, &c, list, 3);
    ck_assert_int_eq(s.ntensors, 2);
    ck_assert_uint_eq(s.num_values, (size_t)(counts[0] + counts[2]));
    for (size_t t = 0; t < nlr; t++) {
        memcpy(grad, grads + t * nv, nv * sizeof *grad);
        double used = sgd_step(&s);
        ck_assert_msg(fabs(used - lr[t]) <= 1e-12 * lr[t], "step %zu: lr %.17g, torch %.17g", t,
                      used, lr[t]);
        for (size_t i = 0; i < nv; i++) {
            float ref = want[t * nv + i];
            ck_assert_msg(fabsf(w[i] - ref) <= 1e-6f * fmaxf(fabsf(ref), 1.0f),
                          "step %zu value %zu: %.9g, torch %.9g", t, i, w[i], ref);
        }
    }
    for (int i = 0; i < counts[frozen]; i++)  // frozen: untouched, bit for bit
        ck_assert(w[counts[0] + i] == w0[counts[0] + i]);
    ck_assert_int_eq(s.step, (int64_t)nlr);
    ck_assert_uint_eq(s.arena.grows, 1);  // the momentum buffers, once
    sgd_free(&s);
    free(w), free(grads), free(want), free(lr), free(grad), free(w0);
    H5Gclose(g);
    H5Fclose(f);
}
END_TEST

/* μ 0.5, wd 0.1, lr 1, no warm-up. Step 0: d = 1 + 0.1 = 1.1, b = 1.1, w = 1 - 1.1 = -0.1.
 * Step 1 (g 0): d = 0.1 · -0.1 = -0.01, b = 0.55 - 0.01 = 0.54, w = -0.1 - 0.54 = -0.64. */
START_TEST(test_two_steps_by_hand)
{
    sgd_config c;
    sgd_config_default(&c);
    c.lr = 1.0, c.momentum = 0.5, c.weight_decay = 0.1, c.warmup_steps = 0;
    float w = 1.0f, g = 1.0f;
    sgd_tensor t = {&w, &g, 1};
    sgd s;
    sgd_init(&s, &c, &t, 1);
    ck_assert_double_eq(sgd_step(&s), 1.0);
    ck_assert_float_eq_tol(s.momentum[0][0], 1.1f, 1e-7f);
    ck_assert_float_eq_tol(w, -0.1f, 1e-7f);
    g = 0.0f;
    sgd_step(&s);
    ck_assert_float_eq_tol(s.momentum[0][0], 0.54f, 1e-7f);
    ck_assert_float_eq_tol(w, -0.64f, 1e-7f);
    sgd_free(&s);
}
END_TEST

START_TEST(test_schedule_by_hand_and_config_errors)
{
    sgd_config c;
    sgd_config_default(&c);
    c.lr = 0.01, c.warmup_steps = 4, c.warmup_factor = 0.25, c.gamma = 0.5;
    c.num_milestones = 2, c.milestones[0] = 3, c.milestones[1] = 6;
    double want[8] = {0.0025, 0.004375, 0.00625, 0.0040625, 0.005, 0.005, 0.0025, 0.0025};
    for (int t = 0; t < 8; t++)  // the decay at 3 multiplies the warm-up factor 0.8125
        ck_assert_double_eq_tol(sgd_lr_at(&c, t), want[t], 1e-15);
    char err[128];
    ck_assert_int_eq(sgd_config_check(&c, err, sizeof err), 0);
    sgd_config b = c;
    b.lr = 0.0;
    ck_assert_int_eq(sgd_config_check(&b, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "lr"));
    b = c, b.momentum = 1.0;
    ck_assert_int_eq(sgd_config_check(&b, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "momentum"));
    b = c, b.milestones[1] = 3;
    ck_assert_int_eq(sgd_config_check(&b, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "milestones"));
    b = c, b.warmup_factor = 0.0;
    ck_assert_int_eq(sgd_config_check(&b, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "warm-up factor"));
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("sgd");
    TCase *tc = tcase_create("sgd");
    tcase_add_test(tc, test_schedule_matches_torch);
    tcase_add_test(tc, test_steps_match_torch);
    tcase_add_test(tc, test_two_steps_by_hand);
    tcase_add_test(tc, test_schedule_by_hand_and_config_errors);
    suite_add_tcase(s, tc);
    return s;
}
