/* transform.c — the test-transform pieces of transform.h with torchvision 0.14's
 * GeneralizedRCNNTransform arithmetic: to_tensor (x / 255), normalise ((x - mean) / std, a
 * division as torch computes it), the resize factor (torch's `800 / t` is reciprocal(t) · 800
 * in float32), the output size (floor in double, as F.interpolate with
 * recompute_scale_factor=True), the bilinear kernel of aten's upsample_bilinear2d on CPU
 * (UpSampleKernel.cpp: float ratio in/out, source index and weight in double, the weight
 * rounded to float, 1 - weight in float, the H interpolation outside the W one; checked
 * weight for weight against torch 1.13 on every size pair up to 69) and zero padding. */
#include "data/transform.h"

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "lib/check.h"

void image_to_chw01(const rd_image *img, float *out)
{
    size_t plane = (size_t)img->width * (size_t)img->height;
    const uint8_t *p = img->rgb;
    float *r = out, *g = out + plane, *b = out + 2 * plane;
    for (size_t i = 0; i < plane; i++) {
        r[i] = (float)p[3 * i + 0] / 255.0f;
        g[i] = (float)p[3 * i + 1] / 255.0f;
        b[i] = (float)p[3 * i + 2] / 255.0f;
    }
}

void normalize_chw(float *x, int height, int width, const norm_params *norm)
{
    size_t plane = (size_t)width * (size_t)height;
    for (int c = 0; c < 3; c++) {
        float m = norm->mean[c], s = norm->std[c];
        float *p = x + (size_t)c * plane;
        for (size_t i = 0; i < plane; i++)
            p[i] = (p[i] - m) / s;
    }
}

float transform_resize_scale(int height, int width, float min_size, float max_size)
{
    RD_CHECK(height > 0 && width > 0, "image size %dx%d must be positive", width, height);
    float shorter = (float)(height < width ? height : width);
    float longer = (float)(height < width ? width : height);
    // torch evaluates `python_float / tensor` as tensor.reciprocal() * python_float
    float by_short = (1.0f / shorter) * min_size;
    float by_long = (1.0f / longer) * max_size;
    return by_short < by_long ? by_short : by_long;
}

void transform_resized_size(int height, int width, float scale, int *out_height, int *out_width)
{
    *out_height = (int)floor((double)height * (double)scale);
    *out_width = (int)floor((double)width * (double)scale);
}

/* Source indices and weights of one axis (aten's compute_source_index_and_lambda). */
void transform_bilinear_weights(int in, int out, int *i0, int *i1, float *w0, float *w1)
{
    float ratio = (float)in / (float)out;
    for (int d = 0; d < out; d++) {
        if (in == out) {
            i0[d] = i1[d] = d;
            w0[d] = 1.0f;
            w1[d] = 0.0f;
            continue;
        }
        double src = (double)ratio * ((double)d + 0.5) - 0.5;
        if (src < 0.0)
            src = 0.0;
        int lo = (int)src;
        i0[d] = lo;
        i1[d] = lo + (lo < in - 1 ? 1 : 0);
        double l1 = src - (double)lo;
        w1[d] = (float)(l1 > 1.0 ? 1.0 : l1);
        w0[d] = 1.0f - w1[d];
    }
}

enum { RESIZE_MAX_SIDE = 1 << 15 };

void resize_bilinear_chw(const float *x, int channels, int height, int width, float *y,
                         int out_height, int out_width)
{
    RD_CHECK(height > 0 && width > 0 && out_height > 0 && out_width > 0 &&
                 out_height <= RESIZE_MAX_SIDE && out_width <= RESIZE_MAX_SIDE,
             "resize %dx%d -> %dx%d: sides must be in 1..%d", width, height, out_width,
             out_height, RESIZE_MAX_SIDE);
    int *yi0 = rd_malloc(sizeof(int) * 2 * ((size_t)out_height + out_width), "resize indices");
    int *yi1 = yi0 + out_height, *xi0 = yi1 + out_height, *xi1 = xi0 + out_width;
    float *yw0 = rd_malloc(sizeof(float) * 2 * ((size_t)out_height + out_width),
                           "resize weights");
    float *yw1 = yw0 + out_height, *xw0 = yw1 + out_height, *xw1 = xw0 + out_width;
    transform_bilinear_weights(height, out_height, yi0, yi1, yw0, yw1);
    transform_bilinear_weights(width, out_width, xi0, xi1, xw0, xw1);
    for (int c = 0; c < channels; c++) {
        const float *src = x + (size_t)c * height * width;
        float *dst = y + (size_t)c * out_height * out_width;
        for (int oy = 0; oy < out_height; oy++) {
            const float *r0 = src + (size_t)yi0[oy] * width, *r1 = src + (size_t)yi1[oy] * width;
            float a = yw0[oy], b = yw1[oy];
            float *d = dst + (size_t)oy * out_width;
            for (int ox = 0; ox < out_width; ox++) {
                float t0 = r0[xi0[ox]] * xw0[ox] + r0[xi1[ox]] * xw1[ox];
                float t1 = r1[xi0[ox]] * xw0[ox] + r1[xi1[ox]] * xw1[ox];
                d[ox] = t0 * a + t1 * b;
            }
        }
    }
    free(yi0);
    free(yw0);
}

void pad_chw(const float *x, int channels, int height, int width, float *y, int pad_height,
             int pad_width)
{
    RD_CHECK(pad_height >= height && pad_width >= width, "pad %dx%d into a smaller %dx%d",
             width, height, pad_width, pad_height);
    memset(y, 0, sizeof(float) * (size_t)channels * pad_height * pad_width);
    for (int c = 0; c < channels; c++)
        for (int r = 0; r < height; r++)
            memcpy(y + ((size_t)c * pad_height + r) * pad_width,
                   x + ((size_t)c * height + r) * width, sizeof(float) * (size_t)width);
}

int transform_round_up(int n, int divisor)
{
    RD_CHECK(divisor > 0 && n >= 0, "round %d up to a multiple of %d", n, divisor);
    return (n + divisor - 1) / divisor * divisor;
}

void transform_resize_boxes(rd_box *boxes, int n, int height, int width, int new_height,
                            int new_width)
{
    float ry = (float)new_height / (float)height, rx = (float)new_width / (float)width;
    for (int i = 0; i < n; i++) {
        boxes[i].x1 *= rx;
        boxes[i].x2 *= rx;
        boxes[i].y1 *= ry;
        boxes[i].y2 *= ry;
    }
}
