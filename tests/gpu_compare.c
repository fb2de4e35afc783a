/* gpu_compare.c — device copies and parity comparisons of the CUDA suites (gpu_compare.h). */
#include "tests/gpu_compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

void *gpu_upload_copy(cuda_ctx *ctx, const void *host, size_t bytes)
{
    void *d = cuda_ctx_alloc(ctx, bytes ? bytes : 4);
    if (bytes)
        cuda_ctx_upload(ctx, d, host, bytes);
    return d;
}

void *gpu_download_copy(cuda_ctx *ctx, const void *dev, size_t bytes)
{
    void *h = malloc(bytes + 1);
    ck_assert_ptr_nonnull(h);
    if (bytes)
        cuda_ctx_download(ctx, h, dev, bytes);
    return h;
}

double gpu_scaled_err(const float *got, const float *want, size_t count)
{
    double err = 0.0, scale = 1e-30;
    for (size_t i = 0; i < count; i++) {
        double e = fabs((double)got[i] - want[i]);
        err = e > err || isnan(e) ? e : err;
        scale = fabs(want[i]) > scale ? fabs(want[i]) : scale;
    }
    return err / scale;
}

double gpu_dev_scaled_err(cuda_ctx *ctx, const void *dev, const float *want, size_t count)
{
    float *got = gpu_download_copy(ctx, dev, count * sizeof *got);
    double err = gpu_scaled_err(got, want, count);
    free(got);
    return err;
}

void gpu_expect_same_bits(const void *got, const void *want, size_t count, size_t elem,
                          const char *what)
{
    const char *g = got, *w = want;
    for (size_t i = 0; i < count; i++)
        ck_assert_msg(memcmp(g + i * elem, w + i * elem, elem) == 0, "%s: entry %zu differs",
                      what, i);
}

void gpu_expect_dev_same_bits(cuda_ctx *ctx, const void *dev, const void *want, size_t count,
                              size_t elem, const char *what)
{
    void *got = gpu_download_copy(ctx, dev, count * elem);
    gpu_expect_same_bits(got, want, count, elem, what);
    free(got);
}

void gpu_expect_same_floats(const float *got, const float *want, size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++)
        ck_assert_msg(memcmp(&got[i], &want[i], sizeof(float)) == 0 ||
                          (isnan(got[i]) && isnan(want[i])),
                      "%s[%zu]: GPU %.9g, CPU %.9g", what, i, (double)got[i], (double)want[i]);
}

void gpu_expect_dev_same_floats(cuda_ctx *ctx, const void *dev, const float *want, size_t count,
                                const char *what)
{
    float *got = gpu_download_copy(ctx, dev, count * sizeof *got);
    for (size_t i = 0; i < count; i++)
        ck_assert_msg(memcmp(&got[i], &want[i], sizeof(float)) == 0,
                      "%s[%zu]: GPU %.9g, CPU %.9g", what, i, (double)got[i], (double)want[i]);
    free(got);
}
