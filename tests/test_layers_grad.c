/* test_layers_grad.c — finite-difference checks of every backward in detector/layers.h.
 * For each layer, L = Σ r · f(inputs) with r a random weighting of the output and f a plain
 * double-precision reference written here (direct loops, no im2col); the backward, fed
 * dy = r, must give ∂L/∂input as central differences of L in double. The layers are linear
 * in each input (convolution, affine, upsampling) or piecewise linear with every value kept
 * well away from a kink or a tie (ReLU, max pooling), so the differences are exact up to
 * rounding and the tolerance can be tight: a transposed or shifted index moves a gradient
 * by O(1) of its scale and fails. Run from the repository root. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detector/layers.h"
#include "tests/case_rng.h"
#include "tests/check_main.h"

#define FD_STEP 1e-3

static void fill_uniform(case_rng *r, float *v, size_t count, double lo, double hi)
{
    for (size_t i = 0; i < count; i++)
        v[i] = (float)(lo + (hi - lo) * case_unit(r));
}


/* |got - want| <= 2e-5 · max(|want|, rms of want) for each entry. */
static void expect_fd(const char *what, const float *got, const double *want, size_t count)
{
    double ss = 0.0;
    for (size_t i = 0; i < count; i++)
        ss += want[i] * want[i];
    double rms = sqrt(ss / (double)count);
    ck_assert_msg(rms > 0.0, "%s: the finite differences are all zero", what);
    for (size_t i = 0; i < count; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= 2e-5 * fmax(fabs(want[i]), rms),
                      "%s[%zu]: backward %.9g, finite difference %.9g", what, i, got[i], want[i]);
}

/* --- convolution --- */

typedef struct conv_fd {
    conv2d_desc d;
    int n, h, w, oh, ow;
    float *x, *wt, *b;  // the variables, perturbed in place by the differences
    float *dy;          // r, the weighting of the output, as float
    double *r;          // [ny] the same values in double
    double *y;          // [ny] reference output
} conv_fd;

/* L = Σ r · conv(x, W, b) by direct loops in double. */
static double conv_fd_loss(const conv_fd *c)
{
    const conv2d_desc *d = &c->d;
    size_t at = 0;
    for (int i = 0; i < c->n; i++)
        for (int co = 0; co < d->cout; co++)
            for (int oy = 0; oy < c->oh; oy++)
                for (int ox = 0; ox < c->ow; ox++, at++) {
                    double s = c->b[co];
                    for (int ci = 0; ci < d->cin; ci++)
                        for (int kh = 0; kh < d->k; kh++)
                            for (int kw = 0; kw < d->k; kw++) {
                                int iy = oy * d->stride - d->pad + kh;
                                int ix = ox * d->stride - d->pad + kw;
                                if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w)
                                    continue;
                                s += (double)c->wt[((co * d->cin + ci) * d->k + kh) * d->k + kw] *
                                     c->x[((i * d->cin + ci) * c->h + iy) * c->w + ix];
                            }
                    c->y[at] = s;
                }
    size_t ny = (size_t)c->n * d->cout * c->oh * c->ow;
    double loss = 0.0;
    for (size_t j = 0; j < ny; j++)
        loss += c->r[j] * c->y[j];
    return loss;
}

/* Central differences of L over every entry of v (one of c's variables). */
static void conv_fd_grad(conv_fd *c, float *v, size_t count, double *g)
{
    for (size_t i = 0; i < count; i++) {
        float keep = v[i];
        double vp = (double)keep + FD_STEP, vm = (double)keep - FD_STEP;
        v[i] = (float)vp;
        double lp = conv_fd_loss(c);
        v[i] = (float)vm;
        double lm = conv_fd_loss(c);
        v[i] = keep;
        g[i] = (lp - lm) / ((double)(float)vp - (double)(float)vm);
    }
}

static void conv_fd_check(conv2d_desc d, int n, int h, int w, uint64_t seed)
{
    case_rng rng = {seed};
    conv_fd c = {d, n, h, w, conv2d_out(h, d.k, d.stride, d.pad), conv2d_out(w, d.k, d.stride, d.pad),
                 0, 0, 0, 0, 0, 0};
    size_t nx = (size_t)n * d.cin * h * w, nw = (size_t)d.cout * d.cin * d.k * d.k;
    size_t ny = (size_t)n * d.cout * c.oh * c.ow;
    c.x = malloc(nx * 4), c.wt = malloc(nw * 4), c.b = malloc((size_t)d.cout * 4);
    c.dy = malloc(ny * 4), c.r = malloc(ny * 8), c.y = malloc(ny * 8);
    fill_uniform(&rng, c.x, nx, -1, 1), fill_uniform(&rng, c.wt, nw, -1, 1);
    fill_uniform(&rng, c.b, (size_t)d.cout, -1, 1), fill_uniform(&rng, c.dy, ny, -1, 1);
    for (size_t j = 0; j < ny; j++)
        c.r[j] = c.dy[j];
    float *y = malloc(ny * 4), *dx = malloc(nx * 4), *dw = calloc(nw, 4);
    float *db = calloc((size_t)d.cout, 4);
    float *scratch = malloc(conv2d_scratch_floats(&d, n, h, w) * 4 + 4);
    double *gx = malloc(nx * 8), *gw = malloc(nw * 8), *gb = malloc((size_t)d.cout * 8);
    conv2d_forward(&d, c.x, n, h, w, c.wt, c.b, y, scratch);
    conv_fd_loss(&c);  // fills c.y: the forward must match the reference too
    expect_fd("conv y", y, c.y, ny);
    conv2d_backward(&d, c.x, n, h, w, c.wt, c.dy, dx, dw, db, scratch);
    conv_fd_grad(&c, c.x, nx, gx);
    conv_fd_grad(&c, c.wt, nw, gw);
    conv_fd_grad(&c, c.b, (size_t)d.cout, gb);
    expect_fd("conv dx", dx, gx, nx);
    expect_fd("conv dweight", dw, gw, nw);
    expect_fd("conv dbias", db, gb, (size_t)d.cout);
    free(c.x), free(c.wt), free(c.b), free(c.dy), free(c.r), free(c.y);
    free(y), free(dx), free(dw), free(db), free(scratch), free(gx), free(gw), free(gb);
}

START_TEST(test_conv_backward_finite_differences)
{
    conv_fd_check((conv2d_desc){3, 4, 3, 1, 1}, 2, 6, 5, 1);   // 3×3, same padding
    conv_fd_check((conv2d_desc){4, 3, 3, 2, 1}, 1, 7, 8, 2);   // 3×3/2, odd and even sides
    conv_fd_check((conv2d_desc){5, 4, 1, 1, 0}, 2, 4, 3, 3);   // 1×1: the plain GEMM path
    conv_fd_check((conv2d_desc){4, 6, 1, 2, 0}, 2, 5, 6, 4);   // 1×1/2: a ResNet downsample
    conv_fd_check((conv2d_desc){2, 3, 7, 2, 3}, 1, 11, 9, 5);  // 7×7/2: the stem
    conv_fd_check((conv2d_desc){3, 2, 3, 1, 0}, 1, 5, 7, 6);   // no padding
    conv_fd_check((conv2d_desc){2, 3, 2, 3, 1}, 1, 8, 7, 7);   // stride larger than the kernel
    conv_fd_check((conv2d_desc){2, 3, 3, 1, 1}, 2, 17, 15, 8);  // Winograd: 144 tiles, odd sides
    conv_fd_check((conv2d_desc){3, 2, 3, 1, 0}, 2, 18, 17, 9);  // Winograd without padding
}
END_TEST

/* --- the other layers: one generic difference over a loss callback --- */

/* L(x) = Σ r · f(x) in double, for the layer a context describes. */
typedef double (*fd_loss_fn)(const void *ctx, const float *x);

static void fd_grad(fd_loss_fn loss, const void *ctx, float *x, size_t count, double *g)
{
    for (size_t i = 0; i < count; i++) {
        float keep = x[i];
        float xp = (float)(keep + FD_STEP), xm = (float)(keep - FD_STEP);
        x[i] = xp;
        double lp = loss(ctx, x);
        x[i] = xm;
        double lm = loss(ctx, x);
        x[i] = keep;
        g[i] = (lp - lm) / ((double)xp - (double)xm);
    }
}

typedef struct plane_fd {
    int n, c, h, w, k, stride, pad, oh, ow;
    const double *r;      // [N][C][OH][OW]
    const float *scale;   // [C] affine layers
    const float *shift;   // [C]
} plane_fd;

static double maxpool_ref_loss(const void *ctx, const float *x)
{
    const plane_fd *p = ctx;
    double loss = 0.0;
    for (int pl = 0; pl < p->n * p->c; pl++)
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++) {
                double best = -INFINITY;
                for (int ky = 0; ky < p->k; ky++)
                    for (int kx = 0; kx < p->k; kx++) {
                        int iy = oy * p->stride - p->pad + ky, ix = ox * p->stride - p->pad + kx;
                        if (iy >= 0 && iy < p->h && ix >= 0 && ix < p->w)
                            best = fmax(best, x[(pl * p->h + iy) * p->w + ix]);
                    }
                loss += p->r[(pl * p->oh + oy) * p->ow + ox] * best;
            }
    return loss;
}

/* Distinct values 0.05 apart in a random order: no tie within a step of the differences. */
static void fill_distinct(case_rng *rng, float *v, size_t count)
{
    for (size_t i = 0; i < count; i++)
        v[i] = (float)(0.05 * ((double)i - (double)count / 2));
    for (size_t i = count - 1; i > 0; i--) {
        size_t j = (size_t)case_below(rng, (int)i + 1);
        float t = v[i];
        v[i] = v[j], v[j] = t;
    }
}

static void maxpool_fd_check(int n, int c, int h, int w, int k, int stride, int pad, uint64_t seed)
{
    case_rng rng = {seed};
    plane_fd p = {n, c, h, w, k, stride, pad, conv2d_out(h, k, stride, pad),
                  conv2d_out(w, k, stride, pad), NULL, NULL, NULL};
    size_t nx = (size_t)n * c * h * w, ny = (size_t)n * c * p.oh * p.ow;
    float *x = malloc(nx * 4), *y = malloc(ny * 4), *dy = malloc(ny * 4), *dx = malloc(nx * 4);
    int32_t *arg = malloc(ny * 4);
    double *r = malloc(ny * 8), *g = malloc(nx * 8);
    fill_distinct(&rng, x, nx);
    fill_uniform(&rng, dy, ny, -1, 1);
    for (size_t j = 0; j < ny; j++)
        r[j] = dy[j];
    p.r = r;
    maxpool2d_forward(x, n, c, h, w, k, stride, pad, y, arg);
    maxpool2d_backward(dy, arg, n, c, h, w, p.oh, p.ow, dx);
    fd_grad(maxpool_ref_loss, &p, x, nx, g);
    expect_fd("maxpool dx", dx, g, nx);
    free(x), free(y), free(dy), free(dx), free(arg), free(r), free(g);
}

START_TEST(test_maxpool_backward_finite_differences)
{
    maxpool_fd_check(2, 2, 7, 8, 3, 2, 1, 11);  // the stem's pooling, overlapping windows
    maxpool_fd_check(1, 3, 6, 5, 2, 2, 0, 12);
    maxpool_fd_check(1, 1, 5, 5, 3, 1, 1, 13);  // stride 1: each pixel wins several windows
}
END_TEST

/* The exact source rule min(floor(dst · in / out), in - 1); the sizes used below are ones
 * where PyTorch's float32 scale agrees with it (tests/test_layers.c covers the others). */
static double upsample_ref_loss(const void *ctx, const float *x)
{
    const plane_fd *p = ctx;
    double loss = 0.0;
    for (int pl = 0; pl < p->n * p->c; pl++)
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++) {
                int sy = (int)fmin(floor((double)oy * p->h / p->oh), p->h - 1);
                int sx = (int)fmin(floor((double)ox * p->w / p->ow), p->w - 1);
                loss += p->r[(pl * p->oh + oy) * p->ow + ox] * x[(pl * p->h + sy) * p->w + sx];
            }
    return loss;
}

static void upsample_fd_check(int n, int c, int h, int w, int oh, int ow, uint64_t seed)
{
    case_rng rng = {seed};
    plane_fd p = {n, c, h, w, 0, 0, 0, oh, ow, NULL, NULL, NULL};
    size_t nx = (size_t)n * c * h * w, ny = (size_t)n * c * oh * ow;
    float *x = malloc(nx * 4), *dy = malloc(ny * 4), *dx = malloc(nx * 4);
    double *r = malloc(ny * 8), *g = malloc(nx * 8);
    fill_uniform(&rng, x, nx, -1, 1);
    fill_uniform(&rng, dy, ny, -1, 1);
    for (size_t j = 0; j < ny; j++)
        r[j] = dy[j];
    p.r = r;
    upsample_nearest_backward(dy, n, c, h, w, oh, ow, dx);
    fd_grad(upsample_ref_loss, &p, x, nx, g);
    expect_fd("upsample dx", dx, g, nx);
    free(x), free(dy), free(dx), free(r), free(g);
}

START_TEST(test_upsample_backward_finite_differences)
{
    upsample_fd_check(2, 2, 4, 5, 8, 10, 21);  // twice the size
    upsample_fd_check(1, 2, 7, 5, 13, 9, 22);  // FPN on odd sides
    upsample_fd_check(1, 1, 3, 4, 7, 11, 23);
}
END_TEST

/* Σ r · act(x · scale[c] + shift[c]) with act the identity (shift != NULL, r from ctx) or
 * ReLU; ReLU alone when scale is NULL. */
typedef struct affine_fd {
    plane_fd p;
    int relu;
} affine_fd;

static double affine_ref_loss(const void *ctx, const float *x)
{
    const affine_fd *a = ctx;
    const plane_fd *p = &a->p;
    double loss = 0.0;
    int hw = p->h * p->w;
    for (int i = 0; i < p->n * p->c * hw; i++) {
        int ch = i / hw % p->c;
        double v = p->scale ? (double)x[i] * p->scale[ch] + p->shift[ch] : x[i];
        loss += p->r[i] * (a->relu ? fmax(v, 0.0) : v);
    }
    return loss;
}

/* x with every x · scale + shift at least 0.05 from the ReLU kink. */
static void fill_off_kink(case_rng *rng, float *x, size_t count, int c, int hw, const float *scale,
                          const float *shift)
{
    for (size_t i = 0; i < count; i++) {
        int ch = (int)(i / (size_t)hw % (size_t)c);
        double v;
        do {
            x[i] = (float)(2.0 * case_unit(rng) - 1.0);
            v = scale ? (double)x[i] * scale[ch] + shift[ch] : x[i];
        } while (fabs(v) < 0.05);
    }
}

START_TEST(test_affine_and_relu_backward_finite_differences)
{
    enum { N = 2, C = 3, H = 4, W = 5, COUNT = N * C * H * W };
    case_rng rng = {31};
    float scale[C] = {1.5f, -0.75f, 0.3f}, shift[C] = {0.2f, -0.1f, 0.05f};
    float x[COUNT], y[COUNT], dy[COUNT], dx[COUNT];
    double r[COUNT], g[COUNT];
    fill_uniform(&rng, dy, COUNT, -1, 1);
    for (int i = 0; i < COUNT; i++)
        r[i] = dy[i];
    affine_fd a = {{N, C, H, W, 0, 0, 0, H, W, r, scale, shift}, 0};
    fill_off_kink(&rng, x, COUNT, C, H * W, scale, shift);
    affine_backward(dy, N, C, H * W, scale, dx);
    fd_grad(affine_ref_loss, &a, x, COUNT, g);
    expect_fd("affine dx", dx, g, COUNT);
    a.relu = 1;
    affine_relu_forward(x, N, C, H * W, scale, shift, y);
    affine_relu_backward(y, dy, N, C, H * W, scale, dx);
    fd_grad(affine_ref_loss, &a, x, COUNT, g);
    expect_fd("affine_relu dx", dx, g, COUNT);
    a.p.scale = a.p.shift = NULL;
    fill_off_kink(&rng, x, COUNT, C, H * W, NULL, NULL);
    relu_forward(x, COUNT, y);
    relu_backward(y, dy, COUNT, dx);
    fd_grad(affine_ref_loss, &a, x, COUNT, g);
    expect_fd("relu dx", dx, g, COUNT);
    memcpy(dx, dy, sizeof dx);
    relu_backward(y, dx, COUNT, dx);  // in place, as a block's backward does
    expect_fd("relu dx (in place)", dx, g, COUNT);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("layers_grad");
    TCase *tc = tcase_create("layers_grad");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_conv_backward_finite_differences);
    tcase_add_test(tc, test_maxpool_backward_finite_differences);
    tcase_add_test(tc, test_upsample_backward_finite_differences);
    tcase_add_test(tc, test_affine_and_relu_backward_finite_differences);
    suite_add_tcase(s, tc);
    return s;
}
