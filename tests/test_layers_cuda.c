/* test_layers_cuda.c — the CUDA twins of the detector's layers (detector/layers_cuda.h)
 * against their CPU specification (detector/layers.h) on seeded random inputs: convolutions
 * (7×7/2 padded, 3×3/1 and /2, 3×3 unpadded, 1×1/1 and /2, odd sizes, batch > 1) forward and
 * backward within 1e-5 of the output's scale in pure FP32 and 1e-2 with TF32; the affine, its
 * fused ReLU, ReLU, the sums, max pooling (values, argmax, backward; ties and NaN) and nearest
 * upsampling (2×, same size, odd sizes, shrinking) to the bit; training BatchNorm within 1e-6
 * of the scale. The GPU tests say SKIPPED without a GPU. The algorithm table of the CUDA
 * context is host code and is tested everywhere. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detector/layers.h"
#include "detector/layers_cuda.h"
#include "lib/cuda_ctx.h"
#include "tests/case_rng.h"
#include "tests/check_main.h"
#include "tests/gpu_compare.h"
#include "tests/gpu_skip.h"

/* --- the algorithm table (host) --- */

START_TEST(test_conv_cache_lookup)
{
    cuda_conv_cache cache;
    cuda_conv_cache_init(&cache);
    cuda_conv_key k = {CUDA_CONV_DIR_FORWARD, 2, 64, 56, 56, 64, 3, 1, 1, 1};
    cuda_conv_choice c = {0}, got = {0};
    ck_assert_int_eq(cuda_conv_cache_find(&cache, &k, &got), 0);
    for (int i = 0; i < 100; i++) {  // past the first growth
        cuda_conv_key ki = k;
        ki.h = 10 + i;
        cuda_conv_choice ci = {i % 7, 3, (size_t)i * 1000};
        cuda_conv_cache_put(&cache, &ki, &ci);
    }
    ck_assert_int_eq(cache.count, 100);
    k.h = 10 + 42;
    ck_assert_int_eq(cuda_conv_cache_find(&cache, &k, &got), 1);
    ck_assert_int_eq(got.algo, 42 % 7);
    ck_assert_uint_eq(got.workspace_bytes, 42000);
    cuda_conv_key other = k;  // every field is part of the key
    int *fields[] = {&other.dir, &other.n, &other.cin, &other.w, &other.cout, &other.k,
                     &other.stride, &other.pad, &other.tf32};
    for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
        other = k;
        *fields[f] += 1;  // the pointers aim into other
        ck_assert_msg(cuda_conv_cache_find(&cache, &other, &got) == 0, "field %zu ignored", f);
    }
    c.algo = 5;
    c.workspace_bytes = 7;
    cuda_conv_cache_put(&cache, &k, &c);  // replaces, does not add
    ck_assert_int_eq(cache.count, 100);
    ck_assert_int_eq(cuda_conv_cache_find(&cache, &k, &got), 1);
    ck_assert_int_eq(got.algo, 5);
    cuda_conv_cache_free(&cache);
    ck_assert_int_eq(cache.count, 0);
}
END_TEST

/* --- convolutions --- */

typedef struct conv_case {
    conv2d_desc d;
    int n, h, w;
} conv_case;

static const conv_case CONV_CASES[] = {
    {{3, 8, 7, 2, 3}, 2, 23, 19},    // the stem: 7×7/2, padded, odd sizes
    {{16, 16, 3, 1, 1}, 2, 13, 11},  // 3×3/1 padded
    {{8, 12, 3, 2, 1}, 3, 15, 17},   // 3×3/2 padded
    {{5, 7, 3, 2, 0}, 2, 10, 9},     // 3×3/2 unpadded
    {{16, 32, 1, 1, 0}, 2, 9, 7},    // 1×1/1
    {{16, 32, 1, 2, 0}, 2, 9, 10},   // 1×1/2 (a downsampling shortcut)
    {{32, 24, 3, 1, 1}, 1, 32, 32},  // 3×3/1 large enough for the CPU's Winograd path
};

/* One case on CPU and GPU: forward with bias, backward into preloaded dweight and dbias; the
 * errors relative to each tensor's scale must stay below tol. */
static void conv_case_check(cuda_ctx *ctx, const conv_case *cc, uint64_t seed, double tol)
{
    const conv2d_desc *d = &cc->d;
    int oh = conv2d_out(cc->h, d->k, d->stride, d->pad), ow = conv2d_out(cc->w, d->k, d->stride, d->pad);
    size_t nx = (size_t)cc->n * d->cin * cc->h * cc->w, ny = (size_t)cc->n * d->cout * oh * ow;
    size_t nw = (size_t)d->cout * d->cin * d->k * d->k;
    case_rng r = {seed};
    float *x = case_floats(&r, nx, -1, 1), *wt = case_floats(&r, nw, -0.5f, 0.5f);
    float *b = case_floats(&r, d->cout, -1, 1), *dy = case_floats(&r, ny, -1, 1);
    float *dw = case_floats(&r, nw, -1, 1), *db = case_floats(&r, d->cout, -1, 1);
    float *y = malloc(ny * sizeof *y), *dx = malloc(nx * sizeof *dx);
    float *scratch = malloc(conv2d_scratch_floats(d, cc->n, cc->h, cc->w) * sizeof(float) + 1);
    float *gx = gpu_upload_copy(ctx, x, nx * 4), *gw = gpu_upload_copy(ctx, wt, nw * 4);
    float *gb = gpu_upload_copy(ctx, b, d->cout * 4), *gdy = gpu_upload_copy(ctx, dy, ny * 4);
    float *gdw = gpu_upload_copy(ctx, dw, nw * 4), *gdb = gpu_upload_copy(ctx, db, d->cout * 4);
    float *gy = cuda_ctx_alloc(ctx, ny * 4), *gdx = cuda_ctx_alloc(ctx, nx * 4);
    conv2d_forward(d, x, cc->n, cc->h, cc->w, wt, b, y, scratch);
    conv2d_backward(d, x, cc->n, cc->h, cc->w, wt, dy, dx, dw, db, scratch);
    conv2d_forward_cuda(ctx, d, gx, cc->n, cc->h, cc->w, gw, gb, gy);
    conv2d_backward_cuda(ctx, d, gx, cc->n, cc->h, cc->w, gw, gdy, gdx, gdw, gdb);
    const float *want[] = {y, dx, dw, db};
    const float *dev[] = {gy, gdx, gdw, gdb};
    size_t counts[] = {ny, nx, nw, (size_t)d->cout};
    const char *names[] = {"y", "dx", "dweight", "dbias"};
    for (int t = 0; t < 4; t++) {
        double err = gpu_dev_scaled_err(ctx, dev[t], want[t], counts[t]);
        ck_assert_msg(err <= tol, "conv %d->%d k%d s%d p%d on %dx%dx%d, tf32 %d: %s error %.3g "
                      "of its scale > %.3g", d->cin, d->cout, d->k, d->stride, d->pad, cc->n,
                      cc->h, cc->w, cuda_ctx_tf32(ctx), names[t], err, tol);
    }
    void *devs[] = {gx, gw, gb, gdy, gdw, gdb, gy, gdx};
    for (int i = 0; i < 8; i++)
        cuda_ctx_dealloc(ctx, devs[i]);
    float *hosts[] = {x, wt, b, dy, dw, db, y, dx, scratch};
    for (int i = 0; i < 9; i++)
        free(hosts[i]);
}

/* Every case in one math mode; a second pass finds every algorithm in the table. */
static void conv_cases_check(int tf32, double tol)
{
    cuda_ctx *ctx = cuda_ctx_init(NULL, tf32);
    int ncases = (int)(sizeof CONV_CASES / sizeof *CONV_CASES);
    for (int i = 0; i < ncases; i++)
        conv_case_check(ctx, &CONV_CASES[i], 100 + (uint64_t)i, tol);
    int chosen = cuda_ctx_conv_cache(ctx)->count;
    ck_assert_int_eq(chosen, 3 * ncases);  // forward, backward data, backward filter
    for (int i = 0; i < ncases; i++)
        conv_case_check(ctx, &CONV_CASES[i], 200 + (uint64_t)i, tol);
    ck_assert_int_eq(cuda_ctx_conv_cache(ctx)->count, chosen);
    cuda_ctx_free(ctx);
}

START_TEST(test_conv_cuda_fp32)
{
    GPU_TEST_OR_SKIP();
    conv_cases_check(0, 1e-5);
}
END_TEST

START_TEST(test_conv_cuda_tf32)
{
    GPU_TEST_OR_SKIP();
    conv_cases_check(1, 1e-2);
}
END_TEST

/* dweight alone leaves dx untouched; dx alone matches the CPU's dx. */
START_TEST(test_conv_cuda_null_outputs)
{
    GPU_TEST_OR_SKIP();
    cuda_ctx *ctx = cuda_ctx_init(NULL, 0);
    conv2d_desc d = {4, 6, 3, 2, 1};
    int n = 2, h = 9, w = 8, oh = conv2d_out(h, 3, 2, 1), ow = conv2d_out(w, 3, 2, 1);
    size_t nx = (size_t)n * 4 * h * w, ny = (size_t)n * 6 * oh * ow, nw = 6 * 4 * 9;
    case_rng r = {7};
    float *x = case_floats(&r, nx, -1, 1), *wt = case_floats(&r, nw, -1, 1);
    float *dy = case_floats(&r, ny, -1, 1), *sentinel = case_floats(&r, nx, 5, 6);
    float *gx = gpu_upload_copy(ctx, x, nx * 4), *gw = gpu_upload_copy(ctx, wt, nw * 4);
    float *gdy = gpu_upload_copy(ctx, dy, ny * 4), *gdx = gpu_upload_copy(ctx, sentinel, nx * 4);
    float *gdw = cuda_ctx_alloc(ctx, nw * 4);
    cuda_ctx_zero(ctx, gdw, nw * 4);
    conv2d_backward_cuda(ctx, &d, gx, n, h, w, gw, gdy, NULL, gdw, NULL);
    gpu_expect_dev_same_floats(ctx, gdx, sentinel, nx, "dx untouched");
    conv2d_backward_cuda(ctx, &d, gx, n, h, w, gw, gdy, gdx, NULL, NULL);
    float *dx = malloc(nx * 4), *scratch = malloc(conv2d_scratch_floats(&d, n, h, w) * 4 + 4);
    conv2d_backward(&d, x, n, h, w, wt, dy, dx, NULL, NULL, scratch);
    ck_assert_double_le(gpu_dev_scaled_err(ctx, gdx, dx, nx), 1e-5);
    void *devs[] = {gx, gw, gdy, gdx, gdw};
    for (int i = 0; i < 5; i++)
        cuda_ctx_dealloc(ctx, devs[i]);
    float *hosts[] = {x, wt, dy, sentinel, dx, scratch};
    for (int i = 0; i < 6; i++)
        free(hosts[i]);
    cuda_ctx_free(ctx);
}
END_TEST

/* --- elementwise ops, to the bit --- */

START_TEST(test_elementwise_cuda_same_bits)
{
    GPU_TEST_OR_SKIP();
    cuda_ctx *ctx = cuda_ctx_init(NULL, 1);
    int n = 3, c = 5, hw = 37 * 29;
    size_t count = (size_t)n * c * hw;
    case_rng r = {11};
    float *x = case_floats(&r, count, -3, 3), *b = case_floats(&r, count, -3, 3);
    float *dy = case_floats(&r, count, -2, 2), *scale = case_floats(&r, c, -2, 2);
    float *shift = case_floats(&r, c, -1, 1), *want = malloc(count * 4);
    x[5] = NAN;  // NaN passes ReLU on both
    x[6] = -0.0f;
    float *gx = gpu_upload_copy(ctx, x, count * 4), *gb = gpu_upload_copy(ctx, b, count * 4);
    float *gdy = gpu_upload_copy(ctx, dy, count * 4), *gs = gpu_upload_copy(ctx, scale, c * 4);
    float *gt = gpu_upload_copy(ctx, shift, c * 4), *gy = cuda_ctx_alloc(ctx, count * 4);
    affine_forward(x, n, c, hw, scale, shift, want);
    affine_forward_cuda(ctx, gx, n, c, hw, gs, gt, gy);
    gpu_expect_dev_same_floats(ctx, gy, want, count, "affine");
    affine_backward(dy, n, c, hw, scale, want);
    affine_backward_cuda(ctx, gdy, n, c, hw, gs, gy);
    gpu_expect_dev_same_floats(ctx, gy, want, count, "affine dx");
    affine_relu_forward(x, n, c, hw, scale, shift, want);
    affine_relu_forward_cuda(ctx, gx, n, c, hw, gs, gt, gy);
    gpu_expect_dev_same_floats(ctx, gy, want, count, "affine relu");
    affine_relu_backward(b, dy, n, c, hw, scale, want);  // b plays the forward output
    affine_relu_backward_cuda(ctx, gb, gdy, n, c, hw, gs, gy);
    gpu_expect_dev_same_floats(ctx, gy, want, count, "affine relu dx");
    relu_forward(x, count, want);
    relu_forward_cuda(ctx, gx, count, gy);
    gpu_expect_dev_same_floats(ctx, gy, want, count, "relu");
    relu_backward(b, dy, count, want);
    relu_backward_cuda(ctx, gb, gdy, count, gy);
    gpu_expect_dev_same_floats(ctx, gy, want, count, "relu dx");
    add_forward(x, b, count, want);
    add_forward_cuda(ctx, gx, gb, count, gy);
    gpu_expect_dev_same_floats(ctx, gy, want, count, "add");
    add_relu_forward(x, b, count, want);
    add_relu_forward_cuda(ctx, gx, gb, count, gy);
    gpu_expect_dev_same_floats(ctx, gy, want, count, "add relu");
    affine_relu_forward_cuda(ctx, gx, n, c, hw, gs, gt, gx);  // in place, as the CPU allows
    affine_relu_forward(x, n, c, hw, scale, shift, x);
    gpu_expect_dev_same_floats(ctx, gx, x, count, "affine relu in place");
    void *devs[] = {gx, gb, gdy, gs, gt, gy};
    for (int i = 0; i < 6; i++)
        cuda_ctx_dealloc(ctx, devs[i]);
    float *hosts[] = {x, b, dy, scale, shift, want};
    for (int i = 0; i < 6; i++)
        free(hosts[i]);
    cuda_ctx_free(ctx);
}
END_TEST

/* --- pooling and upsampling, to the bit --- */

/* One pooling shape: values drawn from 4 levels (many ties), a NaN and a -inf plane corner. */
static void maxpool_case_check(cuda_ctx *ctx, int n, int c, int h, int w, int k, int s, int p)
{
    int oh = conv2d_out(h, k, s, p), ow = conv2d_out(w, k, s, p);
    size_t nx = (size_t)n * c * h * w, ny = (size_t)n * c * oh * ow;
    case_rng r = {(uint64_t)(h * 131 + w * 7 + k)};
    float *x = malloc(nx * 4), *y = malloc(ny * 4), *dx = malloc(nx * 4);
    int32_t *am = malloc(ny * 4), *gam_host = malloc(ny * 4);
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)case_below(&r, 4);
    x[3] = NAN;
    x[nx - 1] = -INFINITY;
    float *dy = case_floats(&r, ny, -1, 1);
    float *gx = gpu_upload_copy(ctx, x, nx * 4), *gdy = gpu_upload_copy(ctx, dy, ny * 4);
    float *gy = cuda_ctx_alloc(ctx, ny * 4), *gdx = cuda_ctx_alloc(ctx, nx * 4);
    int32_t *gam = cuda_ctx_alloc(ctx, ny * 4);
    maxpool2d_forward(x, n, c, h, w, k, s, p, y, am);
    maxpool2d_backward(dy, am, n, c, h, w, oh, ow, dx);
    maxpool2d_forward_cuda(ctx, gx, n, c, h, w, k, s, p, gy, gam);
    maxpool2d_backward_cuda(ctx, gdy, gam, n, c, h, w, oh, ow, k, s, p, gdx);
    gpu_expect_dev_same_floats(ctx, gy, y, ny, "maxpool y");
    cuda_ctx_download(ctx, gam_host, gam, ny * 4);
    ck_assert_msg(memcmp(gam_host, am, ny * 4) == 0, "maxpool argmax differs (k%d s%d p%d)", k,
                  s, p);
    gpu_expect_dev_same_floats(ctx, gdx, dx, nx, "maxpool dx");
    void *devs[] = {gx, gdy, gy, gdx, gam};
    for (int i = 0; i < 5; i++)
        cuda_ctx_dealloc(ctx, devs[i]);
    void *hosts[] = {x, y, dx, am, gam_host, dy};
    for (int i = 0; i < 6; i++)
        free(hosts[i]);
}

START_TEST(test_maxpool_cuda_same_bits)
{
    GPU_TEST_OR_SKIP();
    cuda_ctx *ctx = cuda_ctx_init(NULL, 1);
    maxpool_case_check(ctx, 2, 3, 17, 13, 3, 2, 1);  // the stem's pool, odd sizes
    maxpool_case_check(ctx, 2, 3, 16, 16, 3, 2, 1);
    maxpool_case_check(ctx, 1, 4, 9, 11, 2, 2, 0);
    maxpool_case_check(ctx, 3, 2, 7, 6, 3, 1, 1);   // windows overlapping by 2
    maxpool_case_check(ctx, 1, 2, 12, 9, 5, 3, 2);
    cuda_ctx_free(ctx);
}
END_TEST

static void upsample_case_check(cuda_ctx *ctx, int n, int c, int h, int w, int oh, int ow)
{
    size_t nx = (size_t)n * c * h * w, ny = (size_t)n * c * oh * ow;
    case_rng r = {(uint64_t)(h * 1000 + w * 100 + oh * 10 + ow)};
    float *x = case_floats(&r, nx, -1, 1), *dy = case_floats(&r, ny, -1, 1);
    float *y = malloc(ny * 4), *dx = malloc(nx * 4);
    float *gx = gpu_upload_copy(ctx, x, nx * 4), *gdy = gpu_upload_copy(ctx, dy, ny * 4);
    float *gy = cuda_ctx_alloc(ctx, ny * 4), *gdx = cuda_ctx_alloc(ctx, nx * 4);
    upsample_nearest_forward(x, n, c, h, w, oh, ow, y);
    upsample_nearest_backward(dy, n, c, h, w, oh, ow, dx);
    upsample_nearest_forward_cuda(ctx, gx, n, c, h, w, oh, ow, gy);
    upsample_nearest_backward_cuda(ctx, gdy, n, c, h, w, oh, ow, gdx);
    gpu_expect_dev_same_floats(ctx, gy, y, ny, "upsample y");
    gpu_expect_dev_same_floats(ctx, gdx, dx, nx, "upsample dx");
    void *devs[] = {gx, gdy, gy, gdx};
    for (int i = 0; i < 4; i++)
        cuda_ctx_dealloc(ctx, devs[i]);
    float *hosts[] = {x, dy, y, dx};
    for (int i = 0; i < 4; i++)
        free(hosts[i]);
}

START_TEST(test_upsample_cuda_same_bits)
{
    GPU_TEST_OR_SKIP();
    cuda_ctx *ctx = cuda_ctx_init(NULL, 1);
    upsample_case_check(ctx, 2, 3, 8, 5, 16, 10);   // 2×, the FPN's usual case
    upsample_case_check(ctx, 1, 2, 6, 6, 6, 6);     // same size
    upsample_case_check(ctx, 2, 2, 13, 10, 25, 19); // odd sizes (torchvision's padded inputs)
    upsample_case_check(ctx, 1, 3, 7, 9, 10, 20);
    upsample_case_check(ctx, 1, 2, 11, 13, 7, 5);   // shrinking: sources without a target
    upsample_case_check(ctx, 1, 1, 3, 300, 1000, 997);
    cuda_ctx_free(ctx);
}
END_TEST

/* --- training BatchNorm --- */

START_TEST(test_bn_train_cuda)
{
    GPU_TEST_OR_SKIP();
    cuda_ctx *ctx = cuda_ctx_init(NULL, 1);
    int n = 3, c = 6, hw = 23 * 17, relu = 1;
    size_t count = (size_t)n * c * hw;
    case_rng r = {21};
    float *x = case_floats(&r, count, -2, 3), *dy = case_floats(&r, count, -1, 1);
    float *wt = case_floats(&r, c, 0.5f, 1.5f), *bias = case_floats(&r, c, -0.5f, 0.5f);
    float *rm = case_floats(&r, c, -1, 1), *rv = case_floats(&r, c, 0.5f, 2);
    float *dw = case_floats(&r, c, -1, 1), *db = case_floats(&r, c, -1, 1);
    float *stats = malloc(2 * c * 4), *y = malloc(count * 4), *dx = malloc(count * 4);
    float *gx = gpu_upload_copy(ctx, x, count * 4), *gdy = gpu_upload_copy(ctx, dy, count * 4);
    float *gw = gpu_upload_copy(ctx, wt, c * 4), *gb = gpu_upload_copy(ctx, bias, c * 4);
    float *grm = gpu_upload_copy(ctx, rm, c * 4), *grv = gpu_upload_copy(ctx, rv, c * 4);
    float *gdw = gpu_upload_copy(ctx, dw, c * 4), *gdb = gpu_upload_copy(ctx, db, c * 4);
    float *gst = cuda_ctx_alloc(ctx, 2 * c * 4), *gy = cuda_ctx_alloc(ctx, count * 4);
    float *gdx = cuda_ctx_alloc(ctx, count * 4);
    bn_train_forward(x, n, c, hw, wt, bias, 1e-5f, 0.1f, rm, rv, stats, y, relu);
    relu_backward(y, dy, count, dy);
    bn_train_backward(x, dy, n, c, hw, wt, stats, dx, dw, db);
    bn_train_forward_cuda(ctx, gx, n, c, hw, gw, gb, 1e-5f, 0.1f, grm, grv, gst, gy, relu);
    relu_backward_cuda(ctx, gy, gdy, count, gdy);
    bn_train_backward_cuda(ctx, gx, gdy, n, c, hw, gw, gst, gdx, gdw, gdb);
    const float *want[] = {x, y, stats, rm, rv, dx, dw, db};
    const float *dev[] = {gx, gy, gst, grm, grv, gdx, gdw, gdb};
    size_t counts[] = {count, count, 2 * (size_t)c, c, c, count, c, c};
    const char *names[] = {"xhat", "y", "stats", "running_mean", "running_var", "dx", "dweight",
                           "dbias"};
    for (int t = 0; t < 8; t++) {
        double err = gpu_dev_scaled_err(ctx, dev[t], want[t], counts[t]);
        ck_assert_msg(err <= 1e-6, "bn_train %s: error %.3g of its scale", names[t], err);
    }
    void *devs[] = {gx, gdy, gw, gb, grm, grv, gdw, gdb, gst, gy, gdx};
    for (int i = 0; i < 11; i++)
        cuda_ctx_dealloc(ctx, devs[i]);
    float *hosts[] = {x, dy, wt, bias, rm, rv, dw, db, stats, y, dx};
    for (int i = 0; i < 11; i++)
        free(hosts[i]);
    cuda_ctx_free(ctx);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("layers_cuda");
    TCase *tc = tcase_create("layers_cuda");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_conv_cache_lookup);
    tcase_add_test(tc, test_conv_cuda_fp32);
    tcase_add_test(tc, test_conv_cuda_tf32);
    tcase_add_test(tc, test_conv_cuda_null_outputs);
    tcase_add_test(tc, test_elementwise_cuda_same_bits);
    tcase_add_test(tc, test_maxpool_cuda_same_bits);
    tcase_add_test(tc, test_upsample_cuda_same_bits);
    tcase_add_test(tc, test_bn_train_cuda);
    suite_add_tcase(s, tc);
    return s;
}
