/* transform_train.c — the SSD-style training transform of the AP-loss release
 * (cccorn/AP-loss lib/dataloader/augmentations.py, from ssd.pytorch): PhotometricDistort,
 * Expand, RandomSampleCrop with the release's constraint (a crop passes when its best IoU with
 * a box reaches the mode's minimum), RandomMirror, Resize, normalisation. See transform.h for
 * the conventions and the deliberate differences.
 *
 * The pixels are produced in one pass per output: only the part of the image inside the crop
 * is distorted (the distortion is per pixel, so this equals distorting the whole image first,
 * as the release does), the expansion fill is never materialised (a tap outside the image
 * reads the fill colour), and flip and normalisation are folded into the resize. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "data/transform.h"
#include "lib/check.h"

enum { CROP_TRIALS = 50, CROP_ROUNDS = 200, CROP_MODES = 6 };
static const float crop_min_iou[CROP_MODES] = {0.0f, 0.1f, 0.3f, 0.7f, 0.9f, -1.0f};

/* The release's AlexNet PCA colour basis (per BGR channel) and eigenvalues. */
static const double pca_eigval[3] = {55.46, 4.794, 1.148};
static const double pca_eigvec[3][3] = {{-0.5675, 0.7192, 0.4009},
                                        {-0.5808, -0.0045, -0.8140},
                                        {-0.5836, -0.6948, 0.4203}};

/* ssd.pytorch's channel permutations, in its order. */
static const int swap_perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};

void transform_train_defaults(train_transform_config *cfg, int size, const norm_params *norm)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->size = size;
    cfg->norm = *norm;
    for (int c = 0; c < 3; c++)
        cfg->fill[c] = 255.0f * norm->mean[c];
    cfg->max_expand = 4.0f;
    cfg->photometric = cfg->expand = cfg->crop = cfg->flip = 1;
    cfg->lighting = TRAIN_LIGHTING_SWAP;
}

void transform_train_identity(int width, int height, train_draw *d)
{
    memset(d, 0, sizeof *d);
    d->width = d->canvas_width = d->crop_x2 = width;
    d->height = d->canvas_height = d->crop_y2 = height;
    d->contrast_first = d->saturation = d->contrast_last = 1.0f;
    for (int c = 0; c < 3; c++)
        d->swap[c] = c;
}

/* Python's random.uniform(a, b). */
static float uniform(rd_rng *rng, double a, double b)
{
    return (float)(a + (b - a) * rd_rng_uniform(rng));
}

static int coin(rd_rng *rng)
{
    return (int)rd_rng_below(rng, 2);
}

/* PhotometricDistort's draws: brightness, the branch, contrast / saturation / hue / contrast,
 * then the lighting step. */
static void draw_photometric(const train_transform_config *cfg, rd_rng *rng, train_draw *d)
{
    if (coin(rng))
        d->brightness = uniform(rng, -32.0, 32.0);
    int contrast_first = coin(rng);
    if (contrast_first && coin(rng))
        d->contrast_first = uniform(rng, 0.5, 1.5);
    if (coin(rng))
        d->saturation = uniform(rng, 0.5, 1.5);
    if (coin(rng))
        d->hue = uniform(rng, -18.0, 18.0);
    if (!contrast_first && coin(rng))
        d->contrast_last = uniform(rng, 0.5, 1.5);
    if (cfg->lighting == TRAIN_LIGHTING_SWAP && coin(rng)) {
        memcpy(d->swap, swap_perms[rd_rng_below(rng, 6)], sizeof d->swap);
    } else if (cfg->lighting == TRAIN_LIGHTING_PCA && coin(rng)) {
        double alpha[3], add_bgr[3];
        for (int j = 0; j < 3; j++)
            alpha[j] = rd_rng_gaussian(rng, 0.1);
        for (int i = 0; i < 3; i++) {
            add_bgr[i] = 0;
            for (int j = 0; j < 3; j++)
                add_bgr[i] += pca_eigvec[i][j] * alpha[j] * pca_eigval[j];
        }
        for (int c = 0; c < 3; c++)  // the release adds to a BGR image
            d->lighting_add[c] = (float)add_bgr[2 - c];
    }
}

static void draw_expand(const train_transform_config *cfg, rd_rng *rng, train_draw *d)
{
    if (coin(rng))  // the release returns early on 1
        return;
    float ratio = uniform(rng, 1.0, cfg->max_expand);
    int cw = (int)((float)d->width * ratio), ch = (int)((float)d->height * ratio);
    float left = uniform(rng, 0.0, cw - d->width), top = uniform(rng, 0.0, ch - d->height);
    d->canvas_width = cw;
    d->canvas_height = ch;
    d->offset_x = (int)left;
    d->offset_y = (int)top;
}

/* Whether the crop rectangle passes mode's test with the (canvas) boxes: some IoU reaches the
 * minimum and some centre lies strictly inside. An image without boxes passes. */
static int crop_accepts(rd_box rect, float min_iou, const rd_object *objects, int n, int dx,
                        int dy)
{
    if (n == 0)
        return 1;
    float best = -1.0f;
    int centre_inside = 0;
    for (int i = 0; i < n; i++) {
        rd_box b = objects[i].box;
        b.x1 += dx, b.x2 += dx, b.y1 += dy, b.y2 += dy;
        float iou = box_iou(b, rect);
        best = iou > best ? iou : best;
        float cx = 0.5f * (b.x1 + b.x2), cy = 0.5f * (b.y1 + b.y2);
        centre_inside |= rect.x1 < cx && cx < rect.x2 && rect.y1 < cy && cy < rect.y2;
    }
    return best >= min_iou && centre_inside;
}

/* RandomSampleCrop: modes until one yields a crop within 50 trials. */
static void draw_crop(rd_rng *rng, const rd_object *objects, int n, train_draw *d)
{
    double W = d->canvas_width, H = d->canvas_height;
    for (int round = 0; round < CROP_ROUNDS; round++) {
        int mode = (int)rd_rng_below(rng, CROP_MODES);
        if (mode == 0)
            return;
        for (int trial = 0; trial < CROP_TRIALS; trial++) {
            float w = uniform(rng, 0.3 * W, W), h = uniform(rng, 0.3 * H, H);
            if (h / w < 0.5f || h / w > 2.0f || w < 1.0f || h < 1.0f)
                continue;
            float left = uniform(rng, 0.0, W - w), top = uniform(rng, 0.0, H - h);
            int x1 = (int)left, y1 = (int)top, x2 = (int)(left + w), y2 = (int)(top + h);
            rd_box rect = {(float)x1, (float)y1, (float)x2, (float)y2};
            if (!crop_accepts(rect, crop_min_iou[mode], objects, n, d->offset_x, d->offset_y))
                continue;
            d->crop_mode = mode;
            d->crop_x1 = x1, d->crop_y1 = y1, d->crop_x2 = x2, d->crop_y2 = y2;
            return;
        }
    }
}

void transform_train_draw(const train_transform_config *cfg, int width, int height,
                          const rd_object *objects, int n, rd_rng *rng, train_draw *d)
{
    RD_CHECK(width > 0 && height > 0, "image size %dx%d must be positive", width, height);
    transform_train_identity(width, height, d);
    if (cfg->photometric)
        draw_photometric(cfg, rng, d);
    if (cfg->expand)
        draw_expand(cfg, rng, d);
    d->crop_x2 = d->canvas_width;
    d->crop_y2 = d->canvas_height;
    if (cfg->crop)
        draw_crop(rng, objects, n, d);
    if (cfg->flip)
        d->flip = coin(rng);
}

int transform_train_boxes(const train_draw *d, int size, const rd_object *in, int n,
                          rd_object *out)
{
    float cx1 = (float)d->crop_x1, cy1 = (float)d->crop_y1;
    float cx2 = (float)d->crop_x2, cy2 = (float)d->crop_y2;
    float S = (float)size, cw = cx2 - cx1, ch = cy2 - cy1;
    int whole = d->crop_mode == 0, kept = 0;
    for (int i = 0; i < n; i++) {
        rd_box b = in[i].box;
        b.x1 += (float)d->offset_x, b.x2 += (float)d->offset_x;
        b.y1 += (float)d->offset_y, b.y2 += (float)d->offset_y;
        float mx = 0.5f * (b.x1 + b.x2), my = 0.5f * (b.y1 + b.y2);
        if (!whole && !(cx1 < mx && mx < cx2 && cy1 < my && my < cy2))
            continue;
        // (v - start) · S / length: the crop's far edge lands on S exactly
        rd_box c = {(fmaxf(b.x1, cx1) - cx1) * S / cw, (fmaxf(b.y1, cy1) - cy1) * S / ch,
                    (fminf(b.x2, cx2) - cx1) * S / cw, (fminf(b.y2, cy2) - cy1) * S / ch};
        if (d->flip) {
            float x1 = S - c.x2;
            c.x2 = S - c.x1;
            c.x1 = x1;
        }
        out[kept] = in[i];
        out[kept].box = c;
        out[kept].area = box_area(c);
        kept++;
    }
    return kept;
}

/* ---- pixels ---- */

typedef struct train_region {
    int x1, y1, x2, y2;    // crop ∩ image, in image pixels (empty when x2 <= x1 or y2 <= y1)
    const uint8_t *base;   // the region's top-left pixel (distorted copy or the image itself)
    size_t stride;         // bytes per row of base
} train_region;

static int draw_is_neutral(const train_draw *d)
{
    return d->brightness == 0.0f && d->contrast_first == 1.0f && d->saturation == 1.0f &&
           d->hue == 0.0f && d->contrast_last == 1.0f && d->swap[0] == 0 && d->swap[1] == 1 &&
           d->swap[2] == 2 && d->lighting_add[0] == 0.0f && d->lighting_add[1] == 0.0f &&
           d->lighting_add[2] == 0.0f;
}

static float clamp255(float v)
{
    return v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
}

/* Eight floats at a time with GCC's vector extensions: compares give lane masks, selects are
 * bitwise, so the HSV round trip runs without branches (plain C loops would not vectorise:
 * with -ftrapping-math the compiler keeps the selects as branches). */
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

/* Macros, not functions: a 32-byte vector passed by value changes the ABI on a target without
 * AVX (the DEBUG build's), which -Wpsabi reports. */
#define V8(x) ((v8f){(x), (x), (x), (x), (x), (x), (x), (x)})
#define V8_SELECT(m, a, b) ((v8f)(((v8i)(a) & (m)) | ((v8i)(b) & ~(m))))
#define V8_MIN(a, b) V8_SELECT((a) < (b), (a), (b))
#define V8_MAX(a, b) V8_SELECT((a) > (b), (a), (b))

/* One channel back from HSV: v - v·s·clamp(min(k, 4 - k), 0, 1), k = (n + H/60) mod 6. */
static inline void hsv_channel(v8f *out, const v8f *v, const v8f *vs, const v8f *q, float n)
{
    v8f k = *q + V8(n);
    k = V8_SELECT(k >= V8(6.0f), k - V8(6.0f), k);
    v8f t = V8_MIN(k, V8(4.0f) - k);
    t = V8_MAX(V8_MIN(t, V8(1.0f)), V8(0.0f));
    *out = *v - *vs * t;
}

/* cv2's float HSV (H in degrees, S in [0, 1], V in the pixel scale) of 8 pixels: S scaled (at
 * most 1), H shifted with wrap-around, back to RGB. */
static void hsv_shift8(v8f *r, v8f *g, v8f *b, float sat, float hue)
{
    v8f R = *r, G = *g, B = *b;
    v8f v = V8_MAX(R, V8_MAX(G, B)), delta = v - V8_MIN(R, V8_MIN(G, B));
    // no division by zero: delta = 0 makes every hue term 0, v = 0 makes s 0
    v8f s = delta / V8_MAX(v, V8(1e-20f)), inv = V8(60.0f) / V8_MAX(delta, V8(1e-20f));
    v8f hr = (G - B) * inv, hg = V8(120.0f) + (B - R) * inv;
    v8f hb = V8(240.0f) + (R - G) * inv;
    hr = V8_SELECT(hr < V8(0.0f), hr + V8(360.0f), hr);
    v8f h = V8_SELECT(v == R, hr, V8_SELECT(v == G, hg, hb)) + V8(hue);
    h = V8_SELECT(h >= V8(360.0f), h - V8(360.0f), h);
    h = V8_SELECT(h < V8(0.0f), h + V8(360.0f), h);
    s = V8_MIN(s * V8(sat), V8(1.0f));
    v8f q = h / V8(60.0f), vs = v * s;
    hsv_channel(r, &v, &vs, &q, 5.0f);
    hsv_channel(g, &v, &vs, &q, 3.0f);
    hsv_channel(b, &v, &vs, &q, 1.0f);
}

static void distort_hsv(float *r, float *g, float *b, int n, float sat, float hue)
{
    int i = 0;
    for (; i + 8 <= n; i += 8) {  // whole vectors: fixed-size copies become plain moves
        v8f vr, vg, vb;
        memcpy(&vr, r + i, sizeof vr), memcpy(&vg, g + i, sizeof vg), memcpy(&vb, b + i, sizeof vb);
        hsv_shift8(&vr, &vg, &vb, sat, hue);
        memcpy(r + i, &vr, sizeof vr), memcpy(g + i, &vg, sizeof vg), memcpy(b + i, &vb, sizeof vb);
    }
    if (i < n) {  // the tail, padded with zeros
        size_t m = sizeof(float) * (size_t)(n - i);
        v8f vr = V8(0.0f), vg = vr, vb = vr;
        memcpy(&vr, r + i, m), memcpy(&vg, g + i, m), memcpy(&vb, b + i, m);
        hsv_shift8(&vr, &vg, &vb, sat, hue);
        memcpy(r + i, &vr, m), memcpy(g + i, &vg, m), memcpy(b + i, &vb, m);
    }
}

/* clamp(clamp(x · mul) + add) + 1/2, the clamps to [0, 255]: ready to truncate to 8 bits. */
static inline void contrast_add8(v8f *x, float mul, float add)
{
    v8f y = V8_MIN(*x * V8(mul), V8(255.0f));
    y = V8_MAX(y, V8(0.0f)) + V8(add);
    y = V8_MIN(y, V8(255.0f));
    *x = V8_MAX(y, V8(0.0f)) + V8(0.5f);
}

static void contrast_add_round(float *f, int n, float mul, float add)
{
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        v8f x;
        memcpy(&x, f + i, sizeof x);
        contrast_add8(&x, mul, add);
        memcpy(f + i, &x, sizeof x);
    }
    if (i < n) {
        size_t m = sizeof(float) * (size_t)(n - i);
        v8f x = V8(0.0f);
        memcpy(&x, f + i, m);
        contrast_add8(&x, mul, add);
        memcpy(f + i, &x, m);
    }
}

/* One row of the photometric distortion, uint8 in and out; rgb is scratch [3][n]. */
static void distort_row(const train_draw *d, const uint8_t *src, int n, float *rgb,
                        uint8_t *dst)
{
    float *ch[3] = {rgb, rgb + n, rgb + 2 * n};
    float bright = d->brightness, cf = d->contrast_first, cl = d->contrast_last;
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < n; i++)
            ch[c][i] = clamp255(clamp255((float)src[3 * i + c] + bright) * cf);
    if (d->saturation != 1.0f || d->hue != 0.0f)
        distort_hsv(ch[0], ch[1], ch[2], n, d->saturation, d->hue);
    for (int c = 0; c < 3; c++)  // output channel c takes source channel swap[c]
        contrast_add_round(ch[d->swap[c]], n, cl, d->lighting_add[c]);
    const float *f0 = ch[d->swap[0]], *f1 = ch[d->swap[1]], *f2 = ch[d->swap[2]];
    for (int i = 0; i < n; i++) {
        dst[3 * i + 0] = (uint8_t)(int)f0[i];
        dst[3 * i + 1] = (uint8_t)(int)f1[i];
        dst[3 * i + 2] = (uint8_t)(int)f2[i];
    }
}

/* The region of the image the crop sees, distorted into scratch when the draw distorts. */
static train_region region_prepare(const train_draw *d, const rd_image *img, rd_arena *a)
{
    train_region g;
    g.x1 = d->crop_x1 - d->offset_x, g.y1 = d->crop_y1 - d->offset_y;
    g.x2 = d->crop_x2 - d->offset_x, g.y2 = d->crop_y2 - d->offset_y;
    g.x1 = g.x1 < 0 ? 0 : g.x1, g.y1 = g.y1 < 0 ? 0 : g.y1;
    g.x2 = g.x2 > img->width ? img->width : g.x2;
    g.y2 = g.y2 > img->height ? img->height : g.y2;
    g.stride = (size_t)img->width * 3;
    if (g.x2 <= g.x1 || g.y2 <= g.y1) {  // the crop sees only the fill
        g.base = img->rgb;
        return g;
    }
    g.base = img->rgb + (size_t)g.y1 * g.stride + (size_t)g.x1 * 3;
    if (draw_is_neutral(d))
        return g;
    int rw = g.x2 - g.x1, rh = g.y2 - g.y1;
    uint8_t *copy = rd_arena_push(a, (size_t)rw * rh * 3);
    float *rgb = rd_arena_push(a, sizeof(float) * 3 * (size_t)rw);
    for (int y = 0; y < rh; y++)
        distort_row(d, g.base + (size_t)y * g.stride, rw, rgb, copy + (size_t)y * rw * 3);
    g.base = copy;
    g.stride = (size_t)rw * 3;
    return g;
}

/* Taps of one axis: indices into the region for destination d (region_len: outside it, the
 * fill), and weights. `start` is the crop's first pixel in region coordinates; `reverse`
 * mirrors the axis. */
static void taps_prepare(int crop_len, int size, int start, int region_len, int reverse,
                         int *i0, int *i1, float *w0, float *w1)
{
    transform_bilinear_weights(crop_len, size, i0, i1, w0, w1);
    for (int j = 0; j < size; j++) {
        int p0 = start + i0[j], p1 = start + i1[j];
        i0[j] = p0 >= 0 && p0 < region_len ? p0 : region_len;
        i1[j] = p1 >= 0 && p1 < region_len ? p1 : region_len;
    }
    for (int j = 0; reverse && j < size / 2; j++) {
        int k = size - 1 - j, t;
        float u;
        t = i0[j], i0[j] = i0[k], i0[k] = t;
        t = i1[j], i1[j] = i1[k], i1[k] = t;
        u = w0[j], w0[j] = w0[k], w0[k] = u;
        u = w1[j], w1[j] = w1[k], w1[k] = u;
    }
}

/* The vertical pass of one output row: region rows v0 and v1 (rh: the fill) blended with
 * weights a and b into R [3][rw + 1], whose last column is the fill (the horizontal taps that
 * fall outside the region read it). */
static void rows_blend(const train_region *g, int rh, int v0, int v1, float a, float b,
                       const float *fill, float *R)
{
    int rw = g->x2 - g->x1;
    const uint8_t *r0 = v0 < rh ? g->base + (size_t)v0 * g->stride : NULL;
    const uint8_t *r1 = v1 < rh ? g->base + (size_t)v1 * g->stride : NULL;
    for (int c = 0; c < 3; c++) {
        float *o = R + (size_t)c * (rw + 1), f = fill[c];
        if (r0 && r1)
            for (int x = 0; x < rw; x++)
                o[x] = (float)r0[3 * x + c] * a + (float)r1[3 * x + c] * b;
        else if (r0)
            for (int x = 0; x < rw; x++)
                o[x] = (float)r0[3 * x + c] * a + f * b;
        else if (r1)
            for (int x = 0; x < rw; x++)
                o[x] = f * a + (float)r1[3 * x + c] * b;
        else
            for (int x = 0; x < rw; x++)
                o[x] = f * a + f * b;
        o[rw] = f * a + f * b;
    }
}

size_t transform_train_scratch_bytes(int width, int height, int size)
{
    return rd_arena_align((size_t)width * height * 3) +
           rd_arena_align(sizeof(float) * 3 * (size_t)width) +
           rd_arena_align(sizeof(float) * 3 * ((size_t)width + 1)) +
           8 * rd_arena_align(sizeof(float) * (size_t)size);
}

void transform_train_pixels(const train_draw *d, const train_transform_config *cfg,
                            const rd_image *img, rd_arena *scratch, float *out)
{
    RD_CHECK(img->width == d->width && img->height == d->height,
             "image %dx%d is not the %dx%d the draw was made for", img->width, img->height,
             d->width, d->height);
    int S = cfg->size, cw = d->crop_x2 - d->crop_x1, ch = d->crop_y2 - d->crop_y1;
    rd_arena_reserve(scratch, transform_train_scratch_bytes(img->width, img->height, S));
    train_region g = region_prepare(d, img, scratch);
    int rw = g.x2 > g.x1 ? g.x2 - g.x1 : 0, rh = g.y2 > g.y1 ? g.y2 - g.y1 : 0;
    g.x2 = g.x1 + rw;
    float *R = rd_arena_push(scratch, sizeof(float) * 3 * ((size_t)rw + 1));
    int *x0 = rd_arena_push(scratch, sizeof(int) * S), *x1 = rd_arena_push(scratch, sizeof(int) * S);
    int *y0 = rd_arena_push(scratch, sizeof(int) * S), *y1 = rd_arena_push(scratch, sizeof(int) * S);
    float *wx0 = rd_arena_push(scratch, sizeof(float) * S);
    float *wx1 = rd_arena_push(scratch, sizeof(float) * S);
    float *wy0 = rd_arena_push(scratch, sizeof(float) * S);
    float *wy1 = rd_arena_push(scratch, sizeof(float) * S);
    taps_prepare(cw, S, d->crop_x1 - d->offset_x - g.x1, rw, d->flip, x0, x1, wx0, wx1);
    taps_prepare(ch, S, d->crop_y1 - d->offset_y - g.y1, rh, 0, y0, y1, wy0, wy1);
    float scale[3], bias[3];
    for (int c = 0; c < 3; c++) {
        scale[c] = 1.0f / (255.0f * cfg->norm.std[c]);
        bias[c] = -cfg->norm.mean[c] / cfg->norm.std[c];
    }
    for (int i = 0; i < S; i++) {
        rows_blend(&g, rh, y0[i], y1[i], wy0[i], wy1[i], cfg->fill, R);
        for (int c = 0; c < 3; c++) {
            const float *r = R + (size_t)c * (rw + 1);
            float *o = out + ((size_t)c * S + i) * S, sc = scale[c], bi = bias[c];
            for (int j = 0; j < S; j++)
                o[j] = (r[x0[j]] * wx0[j] + r[x1[j]] * wx1[j]) * sc + bi;
        }
    }
}
