/* upsample.c — nearest-neighbour upsampling on NCHW float32 as
 * F.interpolate(x, size=(oh, ow), mode="nearest") in PyTorch 1.13 (aten nearest_idx):
 * the same size maps to itself, twice the size to dst >> 1, any other size to
 * min(floor(dst · s), in - 1) with s = (float)in / out and the product taken in float, which
 * for some odd sizes differs from the exact floor(dst · in / out). The backward sums dy over
 * each source pixel. Every plane is one thread's, summed in output order, so the results do
 * not depend on the thread count. Nothing here allocates. */
#include "detector/layers.h"

#include <math.h>
#include <string.h>

#include "lib/check.h"

enum { UPSAMPLE_PARALLEL_MIN = 1 << 15 };

/* The source index of output index dst, as aten's nearest_idx. */
static int upsample_source(int dst, int in, int out)
{
    if (out == in)
        return dst;
    if (out == 2 * in)
        return dst >> 1;
    float scale = (float)in / (float)out;
    int src = (int)floorf((float)dst * scale);
    return src < in - 1 ? src : in - 1;
}

void upsample_nearest_forward(const float *x, int n, int c, int h, int w, int oh, int ow,
                              float *y)
{
    RD_CHECK(h > 0 && w > 0 && oh > 0 && ow > 0, "bad upsampling %dx%d -> %dx%d", h, w, oh, ow);
    int planes = n * c;
#pragma omp parallel for schedule(static) if ((size_t)planes * oh * ow >= UPSAMPLE_PARALLEL_MIN)
    for (int pl = 0; pl < planes; pl++) {
        const float *xp = x + (size_t)pl * h * w;
        float *yp = y + (size_t)pl * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            const float *xr = xp + (size_t)upsample_source(oy, h, oh) * w;
            float *yr = yp + (size_t)oy * ow;
            if (ow == 2 * w)
                for (int ox = 0; ox < ow; ox++)
                    yr[ox] = xr[ox >> 1];
            else
                for (int ox = 0; ox < ow; ox++)
                    yr[ox] = xr[upsample_source(ox, w, ow)];
        }
    }
}

void upsample_nearest_backward(const float *dy, int n, int c, int h, int w, int oh, int ow,
                               float *dx)
{
    RD_CHECK(h > 0 && w > 0 && oh > 0 && ow > 0, "bad upsampling %dx%d -> %dx%d", h, w, oh, ow);
    int planes = n * c;
#pragma omp parallel for schedule(static) if ((size_t)planes * oh * ow >= UPSAMPLE_PARALLEL_MIN)
    for (int pl = 0; pl < planes; pl++) {
        float *dp = dx + (size_t)pl * h * w;
        const float *gp = dy + (size_t)pl * oh * ow;
        memset(dp, 0, (size_t)h * w * sizeof *dp);
        for (int oy = 0; oy < oh; oy++) {
            float *dr = dp + (size_t)upsample_source(oy, h, oh) * w;
            const float *gr = gp + (size_t)oy * ow;
            for (int ox = 0; ox < ow; ox++)
                dr[upsample_source(ox, w, ow)] += gr[ox];
        }
    }
}
