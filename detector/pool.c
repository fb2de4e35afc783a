/* pool.c — max pooling on NCHW float32 as torch.nn.MaxPool2d (see layers.h): padding is -inf
 * and never wins, the window is scanned row by row and a value replaces the running maximum
 * only when strictly greater (or NaN, as torch does), so the first maximum wins ties; argmax is
 * the winner's index within its input plane (return_indices=True). Every plane is one thread's,
 * so the results do not depend on the thread count. Nothing here allocates. */
#include "detector/layers.h"

#include <math.h>
#include <string.h>

#include "lib/check.h"

enum { POOL_PARALLEL_MIN = 1 << 15 };

/* One output plane from one input plane. */
static void maxpool2d_plane(const float *x, int h, int w, int k, int stride, int pad, int oh,
                            int ow, float *y, int32_t *argmax)
{
    for (int oy = 0; oy < oh; oy++) {
        int y0 = oy * stride - pad, y1 = y0 + k;
        if (y0 < 0)
            y0 = 0;
        if (y1 > h)
            y1 = h;
        for (int ox = 0; ox < ow; ox++) {
            int x0 = ox * stride - pad, x1 = x0 + k;
            if (x0 < 0)
                x0 = 0;
            if (x1 > w)
                x1 = w;
            float best = -INFINITY;
            int32_t at = y0 * w + x0;
            for (int iy = y0; iy < y1; iy++)
                for (int ix = x0; ix < x1; ix++) {
                    float v = x[iy * w + ix];
                    if (v > best || isnan(v)) {
                        best = v;
                        at = iy * w + ix;
                    }
                }
            y[oy * ow + ox] = best;
            argmax[oy * ow + ox] = at;
        }
    }
}

void maxpool2d_forward(const float *x, int n, int c, int h, int w, int k, int stride, int pad,
                       float *y, int32_t *argmax)
{
    RD_CHECK(k > 0 && stride > 0 && pad >= 0 && 2 * pad <= k && h + 2 * pad >= k &&
             w + 2 * pad >= k, "bad max pooling k%d s%d p%d on %dx%d (torch needs pad <= k/2)",
             k, stride, pad, h, w);
    RD_CHECK((int64_t)h * w <= INT32_MAX, "plane of %dx%d too large for int32 argmax", h, w);
    int oh = conv2d_out(h, k, stride, pad), ow = conv2d_out(w, k, stride, pad), planes = n * c;
#pragma omp parallel for schedule(static) if ((size_t)planes * oh * ow * k * k >= POOL_PARALLEL_MIN)
    for (int pl = 0; pl < planes; pl++)
        maxpool2d_plane(x + (size_t)pl * h * w, h, w, k, stride, pad, oh, ow,
                        y + (size_t)pl * oh * ow, argmax + (size_t)pl * oh * ow);
}

void maxpool2d_backward(const float *dy, const int32_t *argmax, int n, int c, int h, int w,
                        int oh, int ow, float *dx)
{
    int planes = n * c;
#pragma omp parallel for schedule(static) if ((size_t)planes * h * w >= POOL_PARALLEL_MIN)
    for (int pl = 0; pl < planes; pl++) {
        float *dp = dx + (size_t)pl * h * w;
        const float *gp = dy + (size_t)pl * oh * ow;
        const int32_t *ap = argmax + (size_t)pl * oh * ow;
        memset(dp, 0, (size_t)h * w * sizeof *dp);
        for (int j = 0; j < oh * ow; j++)
            dp[ap[j]] += gp[j];
    }
}
