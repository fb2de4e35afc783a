/* affine.c — frozen BatchNorm folded into a per-channel affine, the affine itself, and ReLU,
 * on NCHW float32 (see layers.h). The fold follows torchvision.ops.FrozenBatchNorm2d in
 * float32: scale = weight · rsqrt(var + eps), shift = bias - mean · scale, y = x·scale + shift
 * (a product, then a sum, each rounded to float as PyTorch does; the build does not contract
 * them into an FMA under -std=c11). Every output element is written by one thread, so the
 * results do not depend on the thread count. Nothing here allocates. */
#include "detector/layers.h"

#include <math.h>

#include "lib/check.h"

/* Below this many elements a pass stays on one thread. */
enum { AFFINE_PARALLEL_MIN = 1 << 15 };

void frozen_bn_fold(const float *weight, const float *bias, const float *running_mean,
                    const float *running_var, float eps, int channels, float *scale,
                    float *shift)
{
    for (int c = 0; c < channels; c++) {
        float inv = 1.0f / sqrtf(running_var[c] + eps);
        scale[c] = weight[c] * inv;
        shift[c] = bias[c] - running_mean[c] * scale[c];
    }
}

void affine_forward(const float *x, int n, int c, int hw, const float *scale, const float *shift,
                    float *y)
{
    int planes = n * c;
#pragma omp parallel for schedule(static) if ((size_t)planes * hw >= AFFINE_PARALLEL_MIN)
    for (int pl = 0; pl < planes; pl++) {
        float a = scale[pl % c], b = shift[pl % c];
        const float *xp = x + (size_t)pl * hw;
        float *yp = y + (size_t)pl * hw;
        for (int j = 0; j < hw; j++)
            yp[j] = xp[j] * a + b;
    }
}

void affine_backward(const float *dy, int n, int c, int hw, const float *scale, float *dx)
{
    int planes = n * c;
#pragma omp parallel for schedule(static) if ((size_t)planes * hw >= AFFINE_PARALLEL_MIN)
    for (int pl = 0; pl < planes; pl++) {
        float a = scale[pl % c];
        const float *gp = dy + (size_t)pl * hw;
        float *dp = dx + (size_t)pl * hw;
        for (int j = 0; j < hw; j++)
            dp[j] = gp[j] * a;
    }
}

void affine_relu_forward(const float *x, int n, int c, int hw, const float *scale,
                         const float *shift, float *y)
{
    int planes = n * c;
#pragma omp parallel for schedule(static) if ((size_t)planes * hw >= AFFINE_PARALLEL_MIN)
    for (int pl = 0; pl < planes; pl++) {
        float a = scale[pl % c], b = shift[pl % c];
        const float *xp = x + (size_t)pl * hw;
        float *yp = y + (size_t)pl * hw;
        for (int j = 0; j < hw; j++) {
            float v = xp[j] * a + b;
            yp[j] = v < 0.0f ? 0.0f : v;  // NaN passes, as in torch
        }
    }
}

void affine_relu_backward(const float *y, const float *dy, int n, int c, int hw,
                          const float *scale, float *dx)
{
    int planes = n * c;
#pragma omp parallel for schedule(static) if ((size_t)planes * hw >= AFFINE_PARALLEL_MIN)
    for (int pl = 0; pl < planes; pl++) {
        float a = scale[pl % c];
        const float *yp = y + (size_t)pl * hw, *gp = dy + (size_t)pl * hw;
        float *dp = dx + (size_t)pl * hw;
        for (int j = 0; j < hw; j++)
            dp[j] = yp[j] > 0.0f ? gp[j] * a : 0.0f;
    }
}

void relu_forward(const float *x, size_t count, float *y)
{
#pragma omp parallel for schedule(static) if (count >= AFFINE_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void relu_backward(const float *y, const float *dy, size_t count, float *dx)
{
#pragma omp parallel for schedule(static) if (count >= AFFINE_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

void add_forward(const float *a, const float *b, size_t count, float *y)
{
#pragma omp parallel for schedule(static) if (count >= AFFINE_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++)
        y[i] = a[i] + b[i];
}

void add_relu_forward(const float *a, const float *b, size_t count, float *y)
{
#pragma omp parallel for schedule(static) if (count >= AFFINE_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) {
        float v = a[i] + b[i];
        y[i] = v < 0.0f ? 0.0f : v;
    }
}
