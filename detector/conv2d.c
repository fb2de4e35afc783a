/* conv2d.c — 2-D convolution on NCHW float32 (OIHW weights, torch.nn.functional.conv2d with
 * dilation 1 and groups 1) by im2col and OpenBLAS SGEMM, forward and backward (see layers.h).
 *   forward   y_n [Cout][OH·OW] = W [Cout][Cin·k·k] · col_n [Cin·k·k][OH·OW] (+ bias)
 *   backward  dW += dy_n · col_nᵀ,  dx_n = col2im(Wᵀ · dy_n),  db += Σ dy
 * A 1×1 stride-1 unpadded convolution is a plain GEMM on the input plane itself: no im2col
 * copy at all. 3×3 stride-1 convolutions of enough output go through Winograd's F(2×2, 3×3)
 * instead (conv2d_winograd.c: 2.25× fewer multiply-adds). Memory: one col buffer [Cin·k·k][OH·OW] of caller scratch, reused per image
 * (the backward fills it with col_n for dW, then overwrites it with Wᵀ·dy_n for dx). Nothing
 * here allocates.
 * Threads: OpenBLAS runs single-threaded (lib/threads.c); each GEMM is cut into blocks of
 * output columns (or rows) by a rule that depends on its shape only, and OpenMP runs the
 * blocks. OpenBLAS's own threading gives different bits for different thread counts (its
 * edge kernels see different panels); fixed blocks do not. im2col, col2im and the bias sums
 * are OpenMP loops in which every output is written by one thread in a fixed order. So the
 * results are the same for every thread count (tests/test_layers.c checks 1 against 2).
 * dweight may also be NULL: a layer whose weight is frozen but whose input gradient is
 * wanted. */
#include "detector/layers.h"

#include <cblas.h>
#include <stdint.h>
#include <string.h>

#include "detector/conv2d_impl.h"
#include "lib/check.h"

/* Below this many floats an im2col or col2im pass stays on one thread. */
enum { CONV2D_PARALLEL_MIN = 1 << 15 };
/* GEMM blocks: at least this many multiply-adds each, at most GEMM_BLOCKS_MAX of them, and
 * no narrower than GEMM_BLOCK_MIN columns or rows (narrower blocks repack the other operand
 * too often). */
enum { GEMM_BLOCK_WORK = 1 << 22, GEMM_BLOCKS_MAX = 8, GEMM_BLOCK_MIN = 96 };

/* How many blocks a dimension of `extent` is cut into for `work` multiply-adds: a power of
 * two, a function of the shape only. */
static int gemm_block_count(int extent, double work)
{
    int nb = 1;
    while (nb < GEMM_BLOCKS_MAX && work / (2 * nb) >= GEMM_BLOCK_WORK &&
           extent / (2 * nb) >= GEMM_BLOCK_MIN)
        nb *= 2;
    return nb;
}

void conv2d_blas_single(void)
{
    if (openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
}

void conv2d_gemm(const gemm_args *g)
{
    conv2d_blas_single();
    double work = (double)g->m * g->n * g->k;
    int by_cols = g->n >= g->m || g->n / 2 >= GEMM_BLOCK_MIN;
    int nb = gemm_block_count(by_cols ? g->n : g->m, work);
#pragma omp parallel for schedule(static) if (nb > 1)
    for (int blk = 0; blk < nb; blk++) {
        int extent = by_cols ? g->n : g->m;
        int lo = (int)((int64_t)extent * blk / nb), hi = (int)((int64_t)extent * (blk + 1) / nb);
        int m0 = by_cols ? 0 : lo, m1 = by_cols ? g->m : hi;
        int n0 = by_cols ? lo : 0, n1 = by_cols ? hi : g->n;
        const float *a = g->a + (g->ta == CblasNoTrans ? (size_t)m0 * g->lda : (size_t)m0);
        const float *b = g->b + (g->tb == CblasNoTrans ? (size_t)n0 : (size_t)n0 * g->ldb);
        float *c = g->c + (size_t)m0 * g->ldc + n0;
        if (g->row_bias)
            for (int i = m0; i < m1; i++)
                for (int j = n0; j < n1; j++)
                    g->c[(size_t)i * g->ldc + j] = g->row_bias[i];
        cblas_sgemm(CblasRowMajor, g->ta, g->tb, m1 - m0, n1 - n0, g->k, 1.0f, a, g->lda, b,
                    g->ldb, g->row_bias ? 1.0f : g->beta, c, g->ldc);
    }
}

int conv2d_out(int in, int k, int stride, int pad)
{
    return (in + 2 * pad - k) / stride + 1;
}

static int conv2d_is_pointwise(const conv2d_desc *d)
{
    return d->k == 1 && d->stride == 1 && d->pad == 0;
}

static void conv2d_check(const conv2d_desc *d, int n, int h, int w)
{
    RD_CHECK(d->cin > 0 && d->cout > 0 && d->k > 0 && d->stride > 0 && d->pad >= 0,
             "bad convolution %d->%d k%d s%d p%d", d->cin, d->cout, d->k, d->stride, d->pad);
    RD_CHECK(n > 0 && h + 2 * d->pad >= d->k && w + 2 * d->pad >= d->k,
             "input %dx%dx%d is smaller than the %dx%d kernel with pad %d", n, h, w, d->k, d->k,
             d->pad);
}

size_t conv2d_scratch_floats(const conv2d_desc *d, int n, int h, int w)
{
    conv2d_check(d, n, h, w);
    if (conv2d_winograd_applies(d, n, h, w))
        return conv2d_winograd_scratch_floats(d, n, h, w);
    if (conv2d_is_pointwise(d))
        return 0;
    size_t oh = (size_t)conv2d_out(h, d->k, d->stride, d->pad);
    size_t ow = (size_t)conv2d_out(w, d->k, d->stride, d->pad);
    return (size_t)d->cin * d->k * d->k * oh * ow;
}

/* The output columns [lo, hi) whose input column ox·stride - pad + kw lies inside [0, w). */
static void conv2d_valid_span(int w, int ow, int stride, int pad, int kw, int *lo, int *hi)
{
    int first = pad - kw;  // ox·stride must reach this
    *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
    int last = w - 1 + pad - kw;  // ox·stride must not pass this
    *hi = last < 0 ? 0 : last / stride + 1;
    if (*hi > ow)
        *hi = ow;
    if (*lo > *hi)
        *lo = *hi;
}

/* col [Cin·k·k][OH·OW] from one image x [Cin][H][W]; padding reads as 0. */
static void conv2d_im2col(const conv2d_desc *d, const float *x, int h, int w, int oh, int ow,
                          float *col)
{
    int k = d->k, s = d->stride, p = d->pad, rows = d->cin * k * k;
    size_t ohw = (size_t)oh * ow;
#pragma omp parallel for schedule(static) if ((size_t)rows * ohw >= CONV2D_PARALLEL_MIN)
    for (int r = 0; r < rows; r++) {
        int ci = r / (k * k), kh = r / k % k, kw = r % k, lo, hi;
        conv2d_valid_span(w, ow, s, p, kw, &lo, &hi);
        const float *xc = x + (size_t)ci * h * w;
        for (int oy = 0; oy < oh; oy++) {
            float *out = col + (size_t)r * ohw + (size_t)oy * ow;
            int iy = oy * s - p + kh;
            if (iy < 0 || iy >= h) {
                memset(out, 0, (size_t)ow * sizeof *out);
                continue;
            }
            const float *xr = xc + (size_t)iy * w;
            int shift = kw - p;  // input column of output column ox: ox·s + shift
            memset(out, 0, (size_t)lo * sizeof *out);
            if (s == 1)
                memcpy(out + lo, xr + lo + shift, (size_t)(hi - lo) * sizeof *out);
            else
                for (int ox = lo; ox < hi; ox++)
                    out[ox] = xr[ox * s + shift];
            memset(out + hi, 0, (size_t)(ow - hi) * sizeof *out);
        }
    }
}

/* dx [Cin][H][W] = the sums of col [Cin·k·k][OH·OW] over the places each entry was read from
 * (the adjoint of im2col). Each input channel is one thread's, summed in (kh, kw, oy, ox)
 * order. */
static void conv2d_col2im(const conv2d_desc *d, const float *col, int h, int w, int oh, int ow,
                          float *dx)
{
    int k = d->k, s = d->stride, p = d->pad;
    size_t ohw = (size_t)oh * ow;
#pragma omp parallel for schedule(static) if ((size_t)d->cin * k * k * ohw >= CONV2D_PARALLEL_MIN)
    for (int ci = 0; ci < d->cin; ci++) {
        float *dc = dx + (size_t)ci * h * w;
        memset(dc, 0, (size_t)h * w * sizeof *dc);
        for (int kh = 0; kh < k; kh++)
            for (int kw = 0; kw < k; kw++) {
                int lo, hi;
                conv2d_valid_span(w, ow, s, p, kw, &lo, &hi);
                const float *src = col + ((size_t)(ci * k + kh) * k + kw) * ohw;
                for (int oy = 0; oy < oh; oy++) {
                    int iy = oy * s - p + kh;
                    if (iy < 0 || iy >= h)
                        continue;
                    float *dr = dc + (size_t)iy * w;
                    const float *sr = src + (size_t)oy * ow;
                    for (int ox = lo; ox < hi; ox++)
                        dr[ox * s + kw - p] += sr[ox];
                }
            }
    }
}

void conv2d_forward(const conv2d_desc *d, const float *x, int n, int h, int w,
                    const float *weight, const float *bias, float *y, float *scratch)
{
    conv2d_check(d, n, h, w);
    int oh = conv2d_out(h, d->k, d->stride, d->pad), ow = conv2d_out(w, d->k, d->stride, d->pad);
    int kdim = d->cin * d->k * d->k, ohw = oh * ow;
    int pointwise = conv2d_is_pointwise(d);
    RD_CHECK(pointwise || scratch != NULL, "conv2d_forward needs conv2d_scratch_floats of scratch");
    if (conv2d_winograd_applies(d, n, h, w)) {
        conv2d_winograd_forward(d, x, n, h, w, weight, bias, y, scratch);
        return;
    }
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d->cin * h * w;
        float *yi = y + (size_t)i * d->cout * ohw;
        const float *col = xi;
        if (!pointwise) {
            conv2d_im2col(d, xi, h, w, oh, ow, scratch);
            col = scratch;
        }
        gemm_args g = {CblasNoTrans, CblasNoTrans, d->cout, ohw, kdim, weight, kdim, col, ohw,
                       0.0f, yi, ohw, bias};
        conv2d_gemm(&g);
    }
}

/* dbias[co] += Σ over images and places of dy, summed in double per channel. */
static void conv2d_bias_grad(const float *dy, int n, int cout, int ohw, float *dbias)
{
#pragma omp parallel for schedule(static) if ((size_t)n * cout * ohw >= CONV2D_PARALLEL_MIN)
    for (int co = 0; co < cout; co++) {
        double sum = 0.0;
        for (int i = 0; i < n; i++) {
            const float *p = dy + ((size_t)i * cout + co) * ohw;
            float part = 0.0f;
            for (int j = 0; j < ohw; j++)
                part += p[j];
            sum += part;
        }
        dbias[co] += (float)sum;
    }
}

void conv2d_backward(const conv2d_desc *d, const float *x, int n, int h, int w,
                     const float *weight, const float *dy, float *dx, float *dweight,
                     float *dbias, float *scratch)
{
    conv2d_check(d, n, h, w);
    int oh = conv2d_out(h, d->k, d->stride, d->pad), ow = conv2d_out(w, d->k, d->stride, d->pad);
    int kdim = d->cin * d->k * d->k, ohw = oh * ow;
    int pointwise = conv2d_is_pointwise(d);
    RD_CHECK(pointwise || scratch != NULL, "conv2d_backward needs conv2d_scratch_floats of scratch");
    if (conv2d_winograd_applies(d, n, h, w)) {
        if (dx || dweight)
            conv2d_winograd_backward(d, x, n, h, w, weight, dy, dx, dweight, scratch);
        if (dbias)
            conv2d_bias_grad(dy, n, d->cout, ohw, dbias);
        return;
    }
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d->cin * h * w;
        const float *dyi = dy + (size_t)i * d->cout * ohw;
        if (dweight) {
            const float *col = xi;
            if (!pointwise) {
                conv2d_im2col(d, xi, h, w, oh, ow, scratch);
                col = scratch;
            }
            gemm_args g = {CblasNoTrans, CblasTrans, d->cout, kdim, ohw, dyi, ohw, col, ohw,
                           1.0f, dweight, kdim, NULL};
            conv2d_gemm(&g);
        }
        if (dx) {
            float *dxi = dx + (size_t)i * d->cin * h * w;
            float *dcol = pointwise ? dxi : scratch;
            gemm_args g = {CblasTrans, CblasNoTrans, kdim, ohw, d->cout, weight, kdim, dyi, ohw,
                           0.0f, dcol, ohw, NULL};
            conv2d_gemm(&g);
            if (!pointwise)
                conv2d_col2im(d, dcol, h, w, oh, ow, dxi);
        }
    }
    if (dbias)
        conv2d_bias_grad(dy, n, d->cout, ohw, dbias);
}
