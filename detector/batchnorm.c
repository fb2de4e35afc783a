/* batchnorm.c — training-mode BatchNorm on NCHW float32 (see layers.h): torch.nn.BatchNorm2d
 * in train mode. Per channel, the batch mean and biased variance over (N, H, W) normalise the
 * input, x̂ = (x - mean) / sqrt(var + eps), y = weight · x̂ + bias; the running statistics
 * move by momentum towards the batch mean and the UNBIASED batch variance (PyTorch's
 * _BatchNorm). Backward is the standard one (Ioffe & Szegedy, ICML 2015, sec. 3):
 * dx = weight/σ · (dy - mean(dy) - x̂ · mean(dy · x̂)). Every channel is summed in double by one
 * thread in the order (image, pixel), so the results do not depend on the thread count. */
#include "detector/layers.h"

#include <math.h>

/* Below this many elements a pass stays on one thread. */
enum { BN_PARALLEL_MIN = 1 << 15 };

/* Mean and biased variance of channel ch over [N][C][HW] (two passes, in double). */
static void bn_channel_moments(const float *x, int n, int c, int hw, int ch, double *mean,
                               double *var)
{
    double cnt = (double)n * hw, s = 0.0, ss = 0.0;
    for (int i = 0; i < n; i++) {
        const float *xp = x + ((size_t)i * c + ch) * hw;
        for (int j = 0; j < hw; j++)
            s += xp[j];
    }
    double m = s / cnt;
    for (int i = 0; i < n; i++) {
        const float *xp = x + ((size_t)i * c + ch) * hw;
        for (int j = 0; j < hw; j++) {
            double d = xp[j] - m;
            ss += d * d;
        }
    }
    *mean = m;
    *var = ss / cnt;
}

void bn_train_forward(float *x, int n, int c, int hw, const float *weight, const float *bias,
                      float eps, float momentum, float *running_mean, float *running_var,
                      float *stats, float *y, int relu)
{
    size_t cnt = (size_t)n * hw;
#pragma omp parallel for schedule(static) if ((size_t)c * cnt >= BN_PARALLEL_MIN)
    for (int ch = 0; ch < c; ch++) {
        double mean, var;
        bn_channel_moments(x, n, c, hw, ch, &mean, &var);
        double invstd = 1.0 / sqrt(var + (double)eps);
        stats[ch] = (float)mean;
        stats[c + ch] = (float)invstd;
        double unbiased = cnt > 1 ? var * (double)cnt / (double)(cnt - 1) : var;
        running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * mean);
        running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * unbiased);
        float a = weight[ch], b = bias[ch];
        for (int i = 0; i < n; i++) {
            float *xp = x + ((size_t)i * c + ch) * hw;
            float *yp = y + ((size_t)i * c + ch) * hw;
            for (int j = 0; j < hw; j++) {
                float h = (float)((xp[j] - mean) * invstd);
                float v = a * h + b;
                xp[j] = h;
                yp[j] = relu && v < 0.0f ? 0.0f : v;  // NaN passes, as in torch
            }
        }
    }
}

void bn_train_backward(const float *xhat, const float *dy, int n, int c, int hw,
                       const float *weight, const float *stats, float *dx, float *dweight,
                       float *dbias)
{
    double cnt = (double)n * hw;
#pragma omp parallel for schedule(static) if ((size_t)c * n * hw >= BN_PARALLEL_MIN)
    for (int ch = 0; ch < c; ch++) {
        double sdy = 0.0, sdyx = 0.0;
        for (int i = 0; i < n; i++) {
            const float *hp = xhat + ((size_t)i * c + ch) * hw;
            const float *gp = dy + ((size_t)i * c + ch) * hw;
            for (int j = 0; j < hw; j++) {
                sdy += gp[j];
                sdyx += (double)gp[j] * hp[j];
            }
        }
        dweight[ch] += (float)sdyx;
        dbias[ch] += (float)sdy;
        double k = (double)weight[ch] * stats[c + ch], mdy = sdy / cnt, mdyx = sdyx / cnt;
        for (int i = 0; i < n; i++) {
            const float *hp = xhat + ((size_t)i * c + ch) * hw;
            const float *gp = dy + ((size_t)i * c + ch) * hw;
            float *dp = dx + ((size_t)i * c + ch) * hw;
            for (int j = 0; j < hw; j++)
                dp[j] = (float)(k * (gp[j] - mdy - hp[j] * mdyx));
        }
    }
}
