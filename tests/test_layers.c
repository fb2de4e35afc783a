/* test_layers.c — the detector's CPU layers (detector/layers.h) against PyTorch: conv2d
 * forward and backward (F.conv2d and its autograd gradients in float64: stride 1 and 2,
 * padding, 1×1, 1×1 stride 2, 7×7/2, odd sizes), max pooling (values, first-maximum argmax
 * with ties and -inf, backward), nearest upsampling (the source rows and columns PyTorch picks,
 * including sizes where its float32 scale differs from the exact floor, and the backward), and
 * the frozen BatchNorm fold (torchvision's FrozenBatchNorm2d in float32). Reference values:
 * tests/fixtures/layers_reference.h5, written by tests/make_layer_fixtures.py. Also: dweight
 * and dbias accumulate while dx is overwritten, the NULL outputs, and identical bits on 1 and
 * 2 threads. Finite-difference checks live in tests/test_layers_grad.c. Run from the
 * repository root. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "detector/layers.h"
#include "lib/threads.h"
#include "tests/case_rng.h"
#include "tests/check_main.h"

#define FIXTURE_PATH "tests/fixtures/layers_reference.h5"

/* --- fixture reading (plain HDF5) --- */

static hid_t fixture_open(void)
{
    hid_t f = H5Fopen(FIXTURE_PATH, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "cannot open %s (make it with /usr/bin/python3 "
                  "tests/make_layer_fixtures.py)", FIXTURE_PATH);
    return f;
}

static int fixture_attr_int(hid_t g, const char *name)
{
    long long v = 0;
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "fixture group lacks attribute %s", name);
    ck_assert_int_ge(H5Aread(a, H5T_NATIVE_LLONG, &v), 0);
    H5Aclose(a);
    return (int)v;
}

static double fixture_attr_double(hid_t g, const char *name)
{
    double v = 0;
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "fixture group lacks attribute %s", name);
    ck_assert_int_ge(H5Aread(a, H5T_NATIVE_DOUBLE, &v), 0);
    H5Aclose(a);
    return v;
}

/* A whole dataset of `count` entries read as mem_type into a malloc'd buffer the caller frees. */
static void *fixture_read(hid_t g, const char *name, hid_t mem_type, size_t elem, size_t count)
{
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "fixture group lacks dataset %s", name);
    hid_t s = H5Dget_space(d);
    ck_assert_msg((size_t)H5Sget_simple_extent_npoints(s) == count,
                  "dataset %s has %lld entries, expected %zu", name,
                  (long long)H5Sget_simple_extent_npoints(s), count);
    void *v = malloc(count * elem + 1);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_ge(H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Sclose(s);
    H5Dclose(d);
    return v;
}

static float *fixture_floats(hid_t g, const char *name, size_t count)
{
    return fixture_read(g, name, H5T_NATIVE_FLOAT, sizeof(float), count);
}

static double *fixture_doubles(hid_t g, const char *name, size_t count)
{
    return fixture_read(g, name, H5T_NATIVE_DOUBLE, sizeof(double), count);
}

/* Every member name of group `path`, visited in order. */
typedef void (*fixture_case_fn)(hid_t g, const char *name);

static int fixture_each(const char *path, fixture_case_fn fn)
{
    hid_t f = fixture_open();
    hid_t grp = H5Gopen2(f, path, H5P_DEFAULT);
    ck_assert_msg(grp >= 0, "%s lacks group %s", FIXTURE_PATH, path);
    hsize_t count = 0;
    ck_assert_int_ge(H5Gget_num_objs(grp, &count), 0);
    for (hsize_t i = 0; i < count; i++) {
        char name[128];
        H5Gget_objname_by_idx(grp, i, name, sizeof name);
        hid_t g = H5Gopen2(grp, name, H5P_DEFAULT);
        fn(g, name);
        H5Gclose(g);
    }
    H5Gclose(grp);
    H5Fclose(f);
    return (int)count;
}

/* |got - want| <= 1e-5 · max(|want|, rms(want)) for every entry: relative, with the tensor's
 * own scale as the floor where an entry cancels to near zero. */
static void expect_close(const char *what, const char *name, const float *got,
                         const double *want, size_t count)
{
    double ss = 0.0;
    for (size_t i = 0; i < count; i++)
        ss += want[i] * want[i];
    double rms = sqrt(ss / (double)count);
    for (size_t i = 0; i < count; i++) {
        double tol = 1e-5 * fmax(fabs(want[i]), rms);
        ck_assert_msg(fabs(got[i] - want[i]) <= tol, "%s %s[%zu]: %.9g, PyTorch %.9g", name, what,
                      i, got[i], want[i]);
    }
}

/* --- conv2d --- */

typedef struct conv_case {
    conv2d_desc d;
    int n, h, w, oh, ow, has_bias;
    size_t nx, nw, ny;
    float *x, *weight, *bias, *dy, *scratch;
} conv_case;

static void conv_case_read(hid_t g, conv_case *c)
{
    c->d = (conv2d_desc){fixture_attr_int(g, "cin"), fixture_attr_int(g, "cout"),
                         fixture_attr_int(g, "k"), fixture_attr_int(g, "stride"),
                         fixture_attr_int(g, "pad")};
    c->n = fixture_attr_int(g, "n");
    c->h = fixture_attr_int(g, "h");
    c->w = fixture_attr_int(g, "w");
    c->has_bias = fixture_attr_int(g, "has_bias");
    c->oh = conv2d_out(c->h, c->d.k, c->d.stride, c->d.pad);
    c->ow = conv2d_out(c->w, c->d.k, c->d.stride, c->d.pad);
    c->nx = (size_t)c->n * c->d.cin * c->h * c->w;
    c->nw = (size_t)c->d.cout * c->d.cin * c->d.k * c->d.k;
    c->ny = (size_t)c->n * c->d.cout * c->oh * c->ow;
    c->x = fixture_floats(g, "x", c->nx);
    c->weight = fixture_floats(g, "weight", c->nw);
    c->bias = fixture_floats(g, "bias", (size_t)c->d.cout);
    c->dy = fixture_floats(g, "dy", c->ny);
    c->scratch = malloc(conv2d_scratch_floats(&c->d, c->n, c->h, c->w) * sizeof(float) + 1);
}

static void conv_case_free(conv_case *c)
{
    free(c->x);
    free(c->weight);
    free(c->bias);
    free(c->dy);
    free(c->scratch);
}

static void conv_forward_case(hid_t g, const char *name)
{
    conv_case c;
    conv_case_read(g, &c);
    double *want = fixture_doubles(g, "y", c.ny);
    float *y = malloc(c.ny * sizeof *y);
    conv2d_forward(&c.d, c.x, c.n, c.h, c.w, c.weight, c.has_bias ? c.bias : NULL, y, c.scratch);
    expect_close("y", name, y, want, c.ny);
    free(y);
    free(want);
    conv_case_free(&c);
}

START_TEST(test_conv_forward_matches_torch)
{
    ck_assert_int_ge(fixture_each("conv", conv_forward_case), 10);
}
END_TEST

/* want[i] = start[i] + rep · g[i]. */
static void expect_accumulated(const char *what, const char *name, int rep, const float *got,
                               const double *start, const double *g, size_t count)
{
    double *want = malloc(count * sizeof *want);
    for (size_t i = 0; i < count; i++)
        want[i] = start[i] + rep * g[i];
    char label[64];
    snprintf(label, sizeof label, "%s (start + %d g)", what, rep);
    expect_close(label, name, got, want, count);
    free(want);
}

/* dx is overwritten (it starts as NaN), dweight and dbias accumulate onto a start value:
 * once gives start + g, twice start + 2g. */
static void conv_backward_case(hid_t g, const char *name)
{
    conv_case c;
    conv_case_read(g, &c);
    size_t cout = (size_t)c.d.cout;
    double *want_dx = fixture_doubles(g, "dx", c.nx);
    double *want_dw = fixture_doubles(g, "dweight", c.nw);
    double *want_db = fixture_doubles(g, "dbias", cout);
    float *dx = malloc(c.nx * sizeof *dx), *dw = malloc(c.nw * sizeof *dw);
    float *db = malloc(cout * sizeof *db);
    double *start_dw = malloc(c.nw * sizeof *start_dw), *start_db = malloc(cout * sizeof *start_db);
    for (size_t i = 0; i < c.nw; i++)
        dw[i] = (float)(start_dw[i] = 0.25 * (double)(i % 7) - 0.5);
    for (size_t i = 0; i < cout; i++)
        db[i] = (float)(start_db[i] = 0.5 * (double)i - 1.0);
    for (int rep = 1; rep <= 2; rep++) {
        for (size_t i = 0; i < c.nx; i++)
            dx[i] = NAN;
        conv2d_backward(&c.d, c.x, c.n, c.h, c.w, c.weight, c.dy, dx, dw,
                        c.has_bias ? db : NULL, c.scratch);
        expect_close("dx", name, dx, want_dx, c.nx);
        expect_accumulated("dweight", name, rep, dw, start_dw, want_dw, c.nw);
        if (c.has_bias)
            expect_accumulated("dbias", name, rep, db, start_db, want_db, cout);
    }
    free(dx), free(dw), free(db), free(start_dw), free(start_db);
    free(want_dx), free(want_dw), free(want_db);
    conv_case_free(&c);
}

START_TEST(test_conv_backward_matches_torch_and_accumulates)
{
    ck_assert_int_ge(fixture_each("conv", conv_backward_case), 8);
}
END_TEST

/* Each output wanted alone gives the same numbers as all three together. */
static void conv_null_outputs_case(hid_t g, const char *name)
{
    conv_case c;
    conv_case_read(g, &c);
    double *want_dx = fixture_doubles(g, "dx", c.nx);
    double *want_dw = fixture_doubles(g, "dweight", c.nw);
    float *dx = malloc(c.nx * sizeof *dx), *dw = calloc(c.nw, sizeof *dw);
    conv2d_backward(&c.d, c.x, c.n, c.h, c.w, c.weight, c.dy, NULL, dw, NULL, c.scratch);
    expect_close("dweight (dx NULL)", name, dw, want_dw, c.nw);
    conv2d_backward(&c.d, c.x, c.n, c.h, c.w, c.weight, c.dy, dx, NULL, NULL, c.scratch);
    expect_close("dx (dweight NULL)", name, dx, want_dx, c.nx);
    free(dx), free(dw), free(want_dx), free(want_dw);
    conv_case_free(&c);
}

START_TEST(test_conv_backward_null_outputs)
{
    ck_assert_int_ge(fixture_each("conv", conv_null_outputs_case), 8);
}
END_TEST

START_TEST(test_conv_out_and_scratch)
{
    ck_assert_int_eq(conv2d_out(13, 7, 2, 3), 7);
    ck_assert_int_eq(conv2d_out(8, 3, 2, 1), 4);
    ck_assert_int_eq(conv2d_out(9, 1, 2, 0), 5);
    ck_assert_int_eq(conv2d_out(5, 3, 1, 0), 3);
    conv2d_desc pointwise = {64, 256, 1, 1, 0}, stem = {3, 64, 7, 2, 3};
    ck_assert_uint_eq(conv2d_scratch_floats(&pointwise, 2, 32, 32), 0);  // the input is the col
    ck_assert_uint_eq(conv2d_scratch_floats(&stem, 2, 256, 256), (size_t)3 * 49 * 128 * 128);
}
END_TEST

/* --- max pooling --- */

static void pool_case(hid_t g, const char *name)
{
    int n = fixture_attr_int(g, "n"), c = fixture_attr_int(g, "c"), h = fixture_attr_int(g, "h"),
        w = fixture_attr_int(g, "w"), k = fixture_attr_int(g, "k"),
        s = fixture_attr_int(g, "stride"), p = fixture_attr_int(g, "pad");
    int oh = conv2d_out(h, k, s, p), ow = conv2d_out(w, k, s, p);
    size_t nx = (size_t)n * c * h * w, ny = (size_t)n * c * oh * ow;
    float *x = fixture_floats(g, "x", nx), *want_y = fixture_floats(g, "y", ny);
    float *dy = fixture_floats(g, "dy", ny);
    long long *want_arg = fixture_read(g, "argmax", H5T_NATIVE_LLONG, sizeof(long long), ny);
    double *want_dx = fixture_doubles(g, "dx", nx);
    float *y = malloc(ny * sizeof *y), *dx = malloc(nx * sizeof *dx);
    int32_t *arg = malloc(ny * sizeof *arg);
    maxpool2d_forward(x, n, c, h, w, k, s, p, y, arg);
    for (size_t i = 0; i < ny; i++) {
        ck_assert_msg(y[i] == want_y[i], "%s y[%zu]: %g, PyTorch %g", name, i, y[i], want_y[i]);
        ck_assert_msg(arg[i] == want_arg[i], "%s argmax[%zu]: %d, PyTorch %lld", name, i, arg[i],
                      want_arg[i]);
    }
    for (size_t i = 0; i < nx; i++)
        dx[i] = NAN;
    maxpool2d_backward(dy, arg, n, c, h, w, oh, ow, dx);
    expect_close("dx", name, dx, want_dx, nx);
    free(x), free(want_y), free(dy), free(want_arg), free(want_dx), free(y), free(dx), free(arg);
}

START_TEST(test_maxpool_matches_torch)
{
    ck_assert_int_ge(fixture_each("pool", pool_case), 4);
}
END_TEST

/* A 3×3/2 pad-1 window over a plane of equal values: the first valid pixel wins, padding
 * never does (even over negative values). */
START_TEST(test_maxpool_ties_and_padding)
{
    float x[16], y[4];
    int32_t arg[4];
    for (int i = 0; i < 16; i++)
        x[i] = -2.0f;
    maxpool2d_forward(x, 1, 1, 4, 4, 3, 2, 1, y, arg);
    int32_t want[4] = {0, 1, 4, 5};  // windows start at rows/cols {-1, 1} clipped to {0, 1}
    for (int i = 0; i < 4; i++) {
        ck_assert_float_eq(y[i], -2.0f);
        ck_assert_int_eq(arg[i], want[i]);
    }
}
END_TEST

/* --- nearest upsampling --- */

static void upsample_case(hid_t g, const char *name)
{
    int n = fixture_attr_int(g, "n"), c = fixture_attr_int(g, "c"), h = fixture_attr_int(g, "h"),
        w = fixture_attr_int(g, "w"), oh = fixture_attr_int(g, "oh"), ow = fixture_attr_int(g, "ow");
    size_t nx = (size_t)n * c * h * w, ny = (size_t)n * c * oh * ow;
    long long *src_y = fixture_read(g, "src_y", H5T_NATIVE_LLONG, sizeof(long long), (size_t)oh);
    long long *src_x = fixture_read(g, "src_x", H5T_NATIVE_LLONG, sizeof(long long), (size_t)ow);
    float *plane = malloc((size_t)h * w * sizeof *plane), *out = malloc((size_t)oh * ow * sizeof *out);
    for (int i = 0; i < h * w; i++)
        plane[i] = (float)i;
    upsample_nearest_forward(plane, 1, 1, h, w, oh, ow, out);
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
            ck_assert_msg(out[oy * ow + ox] == (float)(src_y[oy] * w + src_x[ox]),
                          "%s: output (%d, %d) reads pixel %g, PyTorch (%lld, %lld)", name, oy, ox,
                          out[oy * ow + ox], src_y[oy], src_x[ox]);
    float *x = fixture_floats(g, "x", nx), *want_y = fixture_floats(g, "y", ny);
    float *dy = fixture_floats(g, "dy", ny), *want_dx = fixture_floats(g, "dx", nx);
    float *y = malloc(ny * sizeof *y), *dx = malloc(nx * sizeof *dx);
    upsample_nearest_forward(x, n, c, h, w, oh, ow, y);
    ck_assert_msg(memcmp(y, want_y, ny * sizeof *y) == 0, "%s: y differs from PyTorch", name);
    upsample_nearest_backward(dy, n, c, h, w, oh, ow, dx);
    double *want = malloc(nx * sizeof *want);
    for (size_t i = 0; i < nx; i++)
        want[i] = want_dx[i];
    expect_close("dx", name, dx, want, nx);
    free(src_y), free(src_x), free(plane), free(out), free(x), free(want_y), free(dy);
    free(want_dx), free(y), free(dx), free(want);
}

START_TEST(test_upsample_matches_torch)
{
    ck_assert_int_ge(fixture_each("upsample", upsample_case), 10);
}
END_TEST

/* --- frozen BatchNorm and the affine --- */

static void bn_case(hid_t g, const char *name)
{
    int n = fixture_attr_int(g, "n"), c = fixture_attr_int(g, "c"),
        hw = fixture_attr_int(g, "h") * fixture_attr_int(g, "w");
    float eps = (float)fixture_attr_double(g, "eps");
    size_t count = (size_t)n * c * hw;
    float *wt = fixture_floats(g, "weight", (size_t)c), *b = fixture_floats(g, "bias", (size_t)c);
    float *rm = fixture_floats(g, "running_mean", (size_t)c);
    float *rv = fixture_floats(g, "running_var", (size_t)c);
    float *x = fixture_floats(g, "x", count), *want = fixture_floats(g, "y", count);
    float *scale = malloc((size_t)c * sizeof *scale), *shift = malloc((size_t)c * sizeof *shift);
    float *y = malloc(count * sizeof *y);
    frozen_bn_fold(wt, b, rm, rv, eps, c, scale, shift);
    affine_forward(x, n, c, hw, scale, shift, y);
    for (size_t i = 0; i < count; i++)  // float32 throughout, as torchvision: a few ulp at most
        ck_assert_msg(fabsf(y[i] - want[i]) <= 4e-7f * fmaxf(fabsf(want[i]), 1.0f),
                      "%s y[%zu]: %.9g, torchvision %.9g", name, i, y[i], want[i]);
    affine_forward(x, n, c, hw, scale, shift, x);  // in place
    ck_assert(memcmp(x, y, count * sizeof *y) == 0);
    free(wt), free(b), free(rm), free(rv), free(x), free(want), free(scale), free(shift), free(y);
}

START_TEST(test_frozen_bn_matches_torchvision)
{
    ck_assert_int_ge(fixture_each("bn", bn_case), 2);
}
END_TEST

/* Hand-computed: 2 images × 2 channels × 2 pixels, scale (2, -0.5), shift (1, 3). */
START_TEST(test_affine_relu_by_hand)
{
    float x[8] = {1, -1, 4, 8, 0, -0.25f, 6, 10}, scale[2] = {2, -0.5f}, shift[2] = {1, 3};
    float y[8], dy[8] = {1, 2, 3, 4, 5, 6, 7, 8}, dx[8];
    float want_y[8] = {3, -1, 1, -1, 1, 0.5f, 0, -2};
    affine_forward(x, 2, 2, 2, scale, shift, y);
    for (int i = 0; i < 8; i++)
        ck_assert_float_eq(y[i], want_y[i]);
    affine_backward(dy, 2, 2, 2, scale, dx);
    float want_dx[8] = {2, 4, -1.5f, -2, 10, 12, -3.5f, -4};
    for (int i = 0; i < 8; i++)
        ck_assert_float_eq(dx[i], want_dx[i]);
    affine_relu_forward(x, 2, 2, 2, scale, shift, y);
    float want_r[8] = {3, 0, 1, 0, 1, 0.5f, 0, 0};
    for (int i = 0; i < 8; i++)
        ck_assert_float_eq(y[i], want_r[i]);
    affine_relu_backward(y, dy, 2, 2, 2, scale, dx);
    float want_rdx[8] = {2, 0, -1.5f, 0, 10, 12, 0, 0};
    for (int i = 0; i < 8; i++)
        ck_assert_float_eq(dx[i], want_rdx[i]);
    relu_forward(x, 8, y);
    float want_relu[8] = {1, 0, 4, 8, 0, 0, 6, 10};
    for (int i = 0; i < 8; i++)
        ck_assert_float_eq(y[i], want_relu[i]);
    relu_backward(y, dy, 8, dx);  // y = 0 at x = 0: no gradient, as torch (grad where out > 0)
    float want_relu_dx[8] = {1, 0, 3, 4, 0, 0, 7, 8};
    for (int i = 0; i < 8; i++)
        ck_assert_float_eq(dx[i], want_relu_dx[i]);
    float nan_in[2] = {NAN, -1.0f}, nan_out[2];  // NaN passes as in torch.relu: a step can see it
    relu_forward(nan_in, 2, nan_out);
    ck_assert(isnan(nan_out[0]) && nan_out[1] == 0.0f);
    affine_relu_forward(nan_in, 1, 1, 2, scale, shift, nan_out);
    ck_assert(isnan(nan_out[0]));
    add_forward(x, dy, 8, y);
    ck_assert_float_eq(y[1], 1.0f);
    ck_assert_float_eq(y[5], 5.75f);
    add_relu_forward(x, scale, 2, y);  // {1 + 2, -1 - 0.5}
    ck_assert_float_eq(y[0], 3.0f);
    ck_assert_float_eq(y[1], 0.0f);
}
END_TEST

/* --- thread counts --- */

static void fill_uniform(case_rng *r, float *v, size_t count)
{
    for (size_t i = 0; i < count; i++)
        v[i] = (float)(2.0 * case_unit(r) - 1.0);
}

/* One conv forward + backward, big enough for OpenBLAS and OpenMP to use both threads (and,
 * for the 3×3 stride-1 shape, for two chunks of Winograd tiles). */
static void conv_run(int threads, const conv2d_desc *d, int n, int h, int w, const float *x,
                     const float *wt, const float *b, const float *dy, float *y, float *dx,
                     float *dw, float *db, float *scratch)
{
    rd_threads_set(threads);
    ck_assert_int_eq(rd_threads_get(), threads);
    size_t nw = (size_t)d->cout * d->cin * d->k * d->k;
    memset(dw, 0, nw * sizeof *dw);
    memset(db, 0, (size_t)d->cout * sizeof *db);
    conv2d_forward(d, x, n, h, w, wt, b, y, scratch);
    conv2d_backward(d, x, n, h, w, wt, dy, dx, dw, db, scratch);
}

START_TEST(test_conv_same_bits_on_1_and_2_threads)
{
    const conv2d_desc shapes[3] = {{48, 64, 3, 1, 1}, {32, 96, 3, 2, 1}, {64, 128, 1, 1, 0}};
    case_rng r = {77};
    for (int s = 0; s < 3; s++) {
        const conv2d_desc *d = &shapes[s];
        int n = 2, h = 50, w = 46, oh = conv2d_out(h, d->k, d->stride, d->pad),
            ow = conv2d_out(w, d->k, d->stride, d->pad);
        size_t nx = (size_t)n * d->cin * h * w, ny = (size_t)n * d->cout * oh * ow,
               nw = (size_t)d->cout * d->cin * d->k * d->k;
        float *buf[2][4], *x = malloc(nx * 4), *wt = malloc(nw * 4), *b = malloc(d->cout * 4),
              *dy = malloc(ny * 4);
        float *scratch = malloc(conv2d_scratch_floats(d, n, h, w) * 4 + 4);
        fill_uniform(&r, x, nx), fill_uniform(&r, wt, nw), fill_uniform(&r, b, d->cout);
        fill_uniform(&r, dy, ny);
        for (int t = 0; t < 2; t++) {
            buf[t][0] = malloc(ny * 4), buf[t][1] = malloc(nx * 4), buf[t][2] = malloc(nw * 4);
            buf[t][3] = malloc(d->cout * 4);
            conv_run(t + 1, d, n, h, w, x, wt, b, dy, buf[t][0], buf[t][1], buf[t][2], buf[t][3],
                     scratch);
        }
        const size_t sizes[4] = {ny, nx, nw, (size_t)d->cout};
        const char *names[4] = {"y", "dx", "dweight", "dbias"};
        for (int k = 0; k < 4; k++) {
            ck_assert_msg(memcmp(buf[0][k], buf[1][k], sizes[k] * 4) == 0,
                          "shape %d: %s differs between 1 and 2 threads", s, names[k]);
            free(buf[0][k]), free(buf[1][k]);
        }
        free(x), free(wt), free(b), free(dy), free(scratch);
    }
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("layers");
    TCase *tc = tcase_create("layers");
    tcase_add_test(tc, test_conv_forward_matches_torch);
    tcase_add_test(tc, test_conv_backward_matches_torch_and_accumulates);
    tcase_add_test(tc, test_conv_backward_null_outputs);
    tcase_add_test(tc, test_conv_out_and_scratch);
    tcase_add_test(tc, test_maxpool_matches_torch);
    tcase_add_test(tc, test_maxpool_ties_and_padding);
    tcase_add_test(tc, test_upsample_matches_torch);
    tcase_add_test(tc, test_frozen_bn_matches_torchvision);
    tcase_add_test(tc, test_affine_relu_by_hand);
    tcase_add_test(tc, test_conv_same_bits_on_1_and_2_threads);
    suite_add_tcase(s, tc);
    return s;
}
