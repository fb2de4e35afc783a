/* conv2d_winograd.c — 3×3 stride-1 convolutions by Winograd's minimal filtering F(2×2, 3×3)
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016), forward
 * and backward, with the contracts of layers.h.
 * Each 2×2 output tile t comes from the 4×4 input patch d_t (zero outside the image):
 *   y_t = Aᵀ [ U ⊙ V_t ] A,  U = G w Gᵀ (4×4 per channel pair),  V_t = Bᵀ d_t B,
 * and for the 16 positions ξ of the 4×4 tile the channel sums are GEMMs over all tiles:
 *   M[ξ] (Cout×T) = U[ξ] (Cout×Cin) · V[ξ] (Cin×T).
 * The backward differentiates the same algebra (the tiles of dy are zero past the output):
 *   dY_t = A dy_t Aᵀ;  dU[ξ] = Σ_t dY[ξ] V[ξ]ᵀ, dw += Gᵀ dU G;
 *   dV[ξ] = U[ξ]ᵀ dY[ξ], dx += B dV_t Bᵀ over the overlapping 4×4 patches.
 * The GEMMs do 16·Cin·Cout multiply-adds per tile instead of 36 for the direct product
 * (2.25× fewer); the transforms use only additions and halvings, so the rounding stays that
 * of a direct convolution. Used for 3×3 stride-1 convolutions of at least WINO_MIN_TILES
 * tiles (conv2d.c dispatches; smaller ones go through im2col). Tiles of all images are processed in chunks of WINO_CHUNK (scratch
 * is bounded for any image size). Every transform writes each output from one thread in a
 * fixed order, the 16 GEMMs of a chunk are one single-threaded SGEMM each, and the chunks are
 * summed in order, so the results do not depend on the thread count. Nothing allocates. */
#include <stdint.h>
#include <string.h>

#include "detector/conv2d_impl.h"
#include "lib/check.h"

/* Fewer tiles than WINO_MIN_TILES in a call: im2col is faster (the 16 GEMMs are too thin and
 * the weight transform dominates). Tiles per chunk of GEMMs; tiles per run of a row in the transforms; channels per lane group
 * of the weight transforms; below WINO_PARALLEL_MIN values a transform stays on one thread. */
enum { WINO_MIN_TILES = 64, WINO_CHUNK = 1024, WINO_SEG = 32, WINO_LANES = 16, WINO_PARALLEL_MIN = 1 << 14 };

typedef struct wino_shape {
    int n, cin, cout, h, w, pad;
    int oh, ow;     // output sides
    int th, tw;     // tiles per column and row: ceil(oh / 2), ceil(ow / 2)
    int64_t tiles;  // n · th · tw
    int tc;         // tiles per chunk: min(tiles, WINO_CHUNK)
} wino_shape;

int conv2d_winograd_applies(const conv2d_desc *d, int n, int h, int w)
{
    if (d->k != 3 || d->stride != 1)
        return 0;
    int64_t th = (conv2d_out(h, 3, 1, d->pad) + 1) / 2, tw = (conv2d_out(w, 3, 1, d->pad) + 1) / 2;
    return n * th * tw >= WINO_MIN_TILES;
}

static void wino_shape_init(wino_shape *s, const conv2d_desc *d, int n, int h, int w)
{
    s->n = n, s->cin = d->cin, s->cout = d->cout, s->h = h, s->w = w, s->pad = d->pad;
    s->oh = conv2d_out(h, 3, 1, d->pad), s->ow = conv2d_out(w, 3, 1, d->pad);
    s->th = (s->oh + 1) / 2, s->tw = (s->ow + 1) / 2;
    s->tiles = (int64_t)n * s->th * s->tw;
    s->tc = s->tiles < WINO_CHUNK ? (int)s->tiles : WINO_CHUNK;
}

size_t conv2d_winograd_scratch_floats(const conv2d_desc *d, int n, int h, int w)
{
    wino_shape s;
    wino_shape_init(&s, d, n, h, w);
    // U and dU [16][Cout][Cin], V (later dV) [16][Cin][tc], M (later dY) [16][Cout][tc]
    return 16 * (2 * (size_t)s.cout * s.cin + ((size_t)s.cin + s.cout) * s.tc);
}

/* U[ξ][co][ci] = (G w[co][ci] Gᵀ)[ξ], 16 input channels at a time (lanes). */
static void wino_weights(const float *w, int cout, int cin, float *u)
{
    size_t plane = (size_t)cout * cin;
#pragma omp parallel for schedule(static) if (plane * 16 >= WINO_PARALLEL_MIN)
    for (int co = 0; co < cout; co++)
        for (int c0 = 0; c0 < cin; c0 += WINO_LANES) {
            int nl = cin - c0 < WINO_LANES ? cin - c0 : WINO_LANES;
            float g[9][WINO_LANES] = {{0}}, t[4][3][WINO_LANES], o[16][WINO_LANES];
            for (int l = 0; l < nl; l++)
                for (int k = 0; k < 9; k++)
                    g[k][l] = w[((size_t)co * cin + c0 + l) * 9 + k];
            for (int j = 0; j < 3; j++)
                for (int l = 0; l < WINO_LANES; l++) {  // G g
                    t[0][j][l] = g[j][l];
                    t[1][j][l] = 0.5f * (g[j][l] + g[3 + j][l] + g[6 + j][l]);
                    t[2][j][l] = 0.5f * (g[j][l] - g[3 + j][l] + g[6 + j][l]);
                    t[3][j][l] = g[6 + j][l];
                }
            for (int i = 0; i < 4; i++)
                for (int l = 0; l < WINO_LANES; l++) {  // (G g) Gᵀ
                    o[i * 4 + 0][l] = t[i][0][l];
                    o[i * 4 + 1][l] = 0.5f * (t[i][0][l] + t[i][1][l] + t[i][2][l]);
                    o[i * 4 + 2][l] = 0.5f * (t[i][0][l] - t[i][1][l] + t[i][2][l]);
                    o[i * 4 + 3][l] = t[i][2][l];
                }
            for (int x = 0; x < 16; x++)
                memcpy(u + x * plane + (size_t)co * cin + c0, o[x], (size_t)nl * sizeof(float));
        }
}

/* dw[co][ci] += (Gᵀ dU[co][ci] G), from dU[ξ][co][ci], 16 input channels at a time. */
static void wino_grad_weights(const float *du, int cout, int cin, float *dw)
{
    size_t plane = (size_t)cout * cin;
#pragma omp parallel for schedule(static) if (plane * 16 >= WINO_PARALLEL_MIN)
    for (int co = 0; co < cout; co++)
        for (int c0 = 0; c0 < cin; c0 += WINO_LANES) {
            int nl = cin - c0 < WINO_LANES ? cin - c0 : WINO_LANES;
            float m[16][WINO_LANES] = {{0}}, t[3][4][WINO_LANES], o[9][WINO_LANES];
            for (int x = 0; x < 16; x++)
                memcpy(m[x], du + x * plane + (size_t)co * cin + c0, (size_t)nl * sizeof(float));
            for (int j = 0; j < 4; j++)
                for (int l = 0; l < WINO_LANES; l++) {  // Gᵀ dU
                    t[0][j][l] = m[j][l] + 0.5f * (m[4 + j][l] + m[8 + j][l]);
                    t[1][j][l] = 0.5f * (m[4 + j][l] - m[8 + j][l]);
                    t[2][j][l] = 0.5f * (m[4 + j][l] + m[8 + j][l]) + m[12 + j][l];
                }
            for (int i = 0; i < 3; i++)
                for (int l = 0; l < WINO_LANES; l++) {  // (Gᵀ dU) G
                    o[i * 3 + 0][l] = t[i][0][l] + 0.5f * (t[i][1][l] + t[i][2][l]);
                    o[i * 3 + 1][l] = 0.5f * (t[i][1][l] - t[i][2][l]);
                    o[i * 3 + 2][l] = 0.5f * (t[i][1][l] + t[i][2][l]) + t[i][3][l];
                }
            for (int l = 0; l < nl; l++)
                for (int k = 0; k < 9; k++)
                    dw[((size_t)co * cin + c0 + l) * 9 + k] += o[k][l];
        }
}

/* A run of tiles along one tile row: image img, tile row ty, tiles tx0 .. tx0 + len - 1, the
 * first being tile number t - t0 of the chunk. */
typedef struct wino_seg {
    int img, ty, tx0, len, at;
} wino_seg;

/* The next run starting at chunk tile `at` (of count), at most WINO_SEG long. */
static wino_seg wino_seg_at(const wino_shape *s, int64_t t0, int at, int count)
{
    int64_t t = t0 + at;
    int per_image = s->th * s->tw, r = (int)(t % per_image);
    wino_seg g = {(int)(t / per_image), r / s->tw, r % s->tw, 0, at};
    g.len = s->tw - g.tx0;
    if (g.len > count - at)
        g.len = count - at;
    if (g.len > WINO_SEG)
        g.len = WINO_SEG;
    return g;
}

/* Row y of plane p [h][w] from column x0 for `len` columns into out, zero outside. */
static void wino_load_row(const wino_shape *s, const float *p, int y, int x0, int len, float *out)
{
    if (y < 0 || y >= s->h) {
        memset(out, 0, (size_t)len * sizeof *out);
        return;
    }
    int lo = x0 < 0 ? -x0 : 0, hi = s->w - x0 < len ? s->w - x0 : len;
    if (hi < lo)
        hi = lo;
    memset(out, 0, (size_t)lo * sizeof *out);
    memcpy(out + lo, p + (size_t)y * s->w + x0 + lo, (size_t)(hi - lo) * sizeof *out);
    memset(out + hi, 0, (size_t)(len - hi) * sizeof *out);
}

/* V[ξ][ci][j] = (Bᵀ d_t B)[ξ] for one run of one channel. Rows are split into even and odd
 * columns, so that d[i][k] of tile j is E_i[j], O_i[j], E_i[j+1], O_i[j+1]. */
static void wino_input_seg(const wino_shape *s, const float *p, const wino_seg *g, float *v,
                           size_t plane)
{
    float row[2 * WINO_SEG + 2], e[4][WINO_SEG + 1], o[4][WINO_SEG + 1];
    float ce[4][WINO_SEG + 1], co[4][WINO_SEG + 1];
    int n = g->len + 1;
    for (int i = 0; i < 4; i++) {
        wino_load_row(s, p, 2 * g->ty - s->pad + i, 2 * g->tx0 - s->pad, 2 * n, row);
        for (int j = 0; j < n; j++)
            e[i][j] = row[2 * j], o[i][j] = row[2 * j + 1];
    }
    for (int j = 0; j < n; j++) {  // Bᵀ d, on the even and the odd columns
        ce[0][j] = e[0][j] - e[2][j], co[0][j] = o[0][j] - o[2][j];
        ce[1][j] = e[1][j] + e[2][j], co[1][j] = o[1][j] + o[2][j];
        ce[2][j] = e[2][j] - e[1][j], co[2][j] = o[2][j] - o[1][j];
        ce[3][j] = e[1][j] - e[3][j], co[3][j] = o[1][j] - o[3][j];
    }
    for (int i = 0; i < 4; i++) {  // (Bᵀ d) B
        float *v0 = v + (size_t)(i * 4) * plane + g->at, *v1 = v0 + plane, *v2 = v1 + plane,
              *v3 = v2 + plane;
        for (int j = 0; j < g->len; j++) {
            v0[j] = ce[i][j] - ce[i][j + 1];
            v1[j] = co[i][j] + ce[i][j + 1];
            v2[j] = ce[i][j + 1] - co[i][j];
            v3[j] = co[i][j] - co[i][j + 1];
        }
    }
}

/* V[ξ][ci][t - t0] for the tiles t0 .. t0 + count - 1. */
static void wino_input(const wino_shape *s, const float *x, int64_t t0, int count, float *v)
{
    size_t plane = (size_t)s->cin * s->tc, hw = (size_t)s->h * s->w;
#pragma omp parallel for schedule(static) if ((size_t)s->cin * count * 16 >= WINO_PARALLEL_MIN)
    for (int ci = 0; ci < s->cin; ci++)
        for (int at = 0; at < count;) {
            wino_seg g = wino_seg_at(s, t0, at, count);
            wino_input_seg(s, x + ((size_t)g.img * s->cin + ci) * hw, &g, v + (size_t)ci * s->tc,
                           plane);
            at += g.len;
        }
}

/* y tiles (+ bias) = Aᵀ M_t A for one run of one output channel; past the edge dropped. */
static void wino_output_seg(const wino_shape *s, const float *m, const wino_seg *g, size_t plane,
                            float bias, float *py)
{
    float row[2][2 * WINO_SEG];
    const float *q[16];
    for (int x = 0; x < 16; x++)
        q[x] = m + (size_t)x * plane + g->at;
    for (int j = 0; j < g->len; j++) {
        float a0[4], a1[4];
        for (int k = 0; k < 4; k++) {  // Aᵀ M
            a0[k] = q[k][j] + q[4 + k][j] + q[8 + k][j];
            a1[k] = q[4 + k][j] - q[8 + k][j] - q[12 + k][j];
        }
        row[0][2 * j] = a0[0] + a0[1] + a0[2] + bias;  // (Aᵀ M) A
        row[0][2 * j + 1] = a0[1] - a0[2] - a0[3] + bias;
        row[1][2 * j] = a1[0] + a1[1] + a1[2] + bias;
        row[1][2 * j + 1] = a1[1] - a1[2] - a1[3] + bias;
    }
    int ox = 2 * g->tx0, cols = 2 * g->len < s->ow - ox ? 2 * g->len : s->ow - ox;
    for (int i = 0; i < 2 && 2 * g->ty + i < s->oh; i++)
        memcpy(py + (size_t)(2 * g->ty + i) * s->ow + ox, row[i], (size_t)cols * sizeof(float));
}

static void wino_output(const wino_shape *s, const float *m, int64_t t0, int count,
                        const float *bias, float *y)
{
    size_t plane = (size_t)s->cout * s->tc, ohw = (size_t)s->oh * s->ow;
#pragma omp parallel for schedule(static) if ((size_t)s->cout * count * 16 >= WINO_PARALLEL_MIN)
    for (int co = 0; co < s->cout; co++)
        for (int at = 0; at < count;) {
            wino_seg g = wino_seg_at(s, t0, at, count);
            wino_output_seg(s, m + (size_t)co * s->tc, &g, plane, bias ? bias[co] : 0.0f,
                            y + ((size_t)g.img * s->cout + co) * ohw);
            at += g.len;
        }
}

/* dY[ξ][co][j] = (A dy_t Aᵀ)[ξ] for one run of one channel, dy zero past the output edge. */
static void wino_grad_output_seg(const wino_shape *s, const float *p, const wino_seg *g,
                                 float *out, size_t plane)
{
    float row[2 * WINO_SEG], e[2][WINO_SEG], o[2][WINO_SEG], ae[4][WINO_SEG], ao[4][WINO_SEG];
    for (int i = 0; i < 2; i++) {
        int y = 2 * g->ty + i, x0 = 2 * g->tx0, len = 2 * g->len, valid = 0;
        if (y < s->oh)
            valid = s->ow - x0 < len ? s->ow - x0 : len;
        if (valid > 0)
            memcpy(row, p + (size_t)y * s->ow + x0, (size_t)valid * sizeof(float));
        memset(row + valid, 0, (size_t)(len - valid) * sizeof(float));
        for (int j = 0; j < g->len; j++)
            e[i][j] = row[2 * j], o[i][j] = row[2 * j + 1];
    }
    for (int j = 0; j < g->len; j++) {  // A dy, on the even and the odd columns
        ae[0][j] = e[0][j], ao[0][j] = o[0][j];
        ae[1][j] = e[0][j] + e[1][j], ao[1][j] = o[0][j] + o[1][j];
        ae[2][j] = e[0][j] - e[1][j], ao[2][j] = o[0][j] - o[1][j];
        ae[3][j] = -e[1][j], ao[3][j] = -o[1][j];
    }
    for (int c = 0; c < 4; c++) {  // (A dy) Aᵀ
        float *v0 = out + (size_t)(c * 4) * plane + g->at, *v1 = v0 + plane, *v2 = v1 + plane,
              *v3 = v2 + plane;
        for (int j = 0; j < g->len; j++) {
            v0[j] = ae[c][j];
            v1[j] = ae[c][j] + ao[c][j];
            v2[j] = ae[c][j] - ao[c][j];
            v3[j] = -ao[c][j];
        }
    }
}

static void wino_grad_output(const wino_shape *s, const float *dy, int64_t t0, int count,
                             float *gbuf)
{
    size_t plane = (size_t)s->cout * s->tc, ohw = (size_t)s->oh * s->ow;
#pragma omp parallel for schedule(static) if ((size_t)s->cout * count * 16 >= WINO_PARALLEL_MIN)
    for (int co = 0; co < s->cout; co++)
        for (int at = 0; at < count;) {
            wino_seg g = wino_seg_at(s, t0, at, count);
            wino_grad_output_seg(s, dy + ((size_t)g.img * s->cout + co) * ohw, &g,
                                 gbuf + (size_t)co * s->tc, plane);
            at += g.len;
        }
}

/* dx += B dV_t Bᵀ over the 4×4 patches of one run of one channel. Column 2j of a patch row
 * collects tile j's column 0 and tile j-1's column 2; column 2j+1 tile j's 1 and j-1's 3. */
static void wino_grad_input_seg(const wino_shape *s, const float *dv, const wino_seg *g,
                                size_t plane, float *p)
{
    float r[4][4][WINO_SEG + 1], row[2 * WINO_SEG + 2];
    const float *q[16];
    for (int x = 0; x < 16; x++)
        q[x] = dv + (size_t)x * plane + g->at;
    for (int j = 0; j < g->len; j++) {
        float b[4][4];
        for (int k = 0; k < 4; k++) {  // B dV
            b[0][k] = q[k][j];
            b[1][k] = q[4 + k][j] - q[8 + k][j] + q[12 + k][j];
            b[2][k] = q[4 + k][j] + q[8 + k][j] - q[k][j];
            b[3][k] = -q[12 + k][j];
        }
        for (int i = 0; i < 4; i++) {  // (B dV) Bᵀ
            r[i][0][j] = b[i][0];
            r[i][1][j] = b[i][1] - b[i][2] + b[i][3];
            r[i][2][j] = b[i][1] + b[i][2] - b[i][0];
            r[i][3][j] = -b[i][3];
        }
    }
    int n = g->len, x0 = 2 * g->tx0 - s->pad;
    int lo = x0 < 0 ? -x0 : 0, hi = s->w - x0 < 2 * n + 2 ? s->w - x0 : 2 * n + 2;
    for (int i = 0; i < 4; i++) {
        int y = 2 * g->ty - s->pad + i;
        if (y < 0 || y >= s->h)
            continue;
        row[0] = r[i][0][0], row[1] = r[i][1][0];
        for (int j = 1; j < n; j++) {
            row[2 * j] = r[i][0][j] + r[i][2][j - 1];
            row[2 * j + 1] = r[i][1][j] + r[i][3][j - 1];
        }
        row[2 * n] = r[i][2][n - 1], row[2 * n + 1] = r[i][3][n - 1];
        float *out = p + (size_t)y * s->w;
        for (int c = lo; c < hi; c++)
            out[x0 + c] += row[c];
    }
}

static void wino_grad_input(const wino_shape *s, const float *dv, int64_t t0, int count,
                            float *dx)
{
    size_t plane = (size_t)s->cin * s->tc, hw = (size_t)s->h * s->w;
#pragma omp parallel for schedule(static) if ((size_t)s->cin * count * 16 >= WINO_PARALLEL_MIN)
    for (int ci = 0; ci < s->cin; ci++)
        for (int at = 0; at < count;) {
            wino_seg g = wino_seg_at(s, t0, at, count);
            wino_grad_input_seg(s, dv + (size_t)ci * s->tc, &g, plane,
                                dx + ((size_t)g.img * s->cin + ci) * hw);
            at += g.len;
        }
}

/* The 16 GEMMs of one chunk, C[ξ] = op(A[ξ]) · op(B[ξ]) + beta C[ξ], one single-threaded SGEMM
 * each, 16 tasks for OpenMP. */
static void wino_gemms(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
                       const float *a, int lda, size_t astride, const float *b, int ldb,
                       size_t bstride, float beta, float *c, int ldc, size_t cstride)
{
    conv2d_blas_single();
#pragma omp parallel for schedule(static) if ((double)m * n * k * 16 >= 1 << 20)
    for (int x = 0; x < 16; x++)
        cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a + x * astride, lda, b + x * bstride,
                    ldb, beta, c + x * cstride, ldc);
}

void conv2d_winograd_forward(const conv2d_desc *d, const float *x, int n, int h, int w,
                             const float *weight, const float *bias, float *y, float *scratch)
{
    wino_shape s;
    wino_shape_init(&s, d, n, h, w);
    size_t uplane = (size_t)s.cout * s.cin;
    float *u = scratch, *v = u + 32 * uplane, *m = v + 16 * (size_t)s.cin * s.tc;
    wino_weights(weight, s.cout, s.cin, u);
    for (int64_t t0 = 0; t0 < s.tiles; t0 += s.tc) {
        int count = s.tiles - t0 < s.tc ? (int)(s.tiles - t0) : s.tc;
        wino_input(&s, x, t0, count, v);
        wino_gemms(CblasNoTrans, CblasNoTrans, s.cout, count, s.cin, u, s.cin, uplane, v, s.tc,
                   (size_t)s.cin * s.tc, 0.0f, m, s.tc, (size_t)s.cout * s.tc);
        wino_output(&s, m, t0, count, bias, y);
    }
}

void conv2d_winograd_backward(const conv2d_desc *d, const float *x, int n, int h, int w,
                              const float *weight, const float *dy, float *dx, float *dweight,
                              float *scratch)
{
    wino_shape s;
    wino_shape_init(&s, d, n, h, w);
    size_t uplane = (size_t)s.cout * s.cin, vstride = (size_t)s.cin * s.tc;
    size_t gstride = (size_t)s.cout * s.tc;
    float *u = scratch, *du = u + 16 * uplane, *v = du + 16 * uplane, *g = v + 16 * vstride;
    wino_weights(weight, s.cout, s.cin, u);
    if (dx)
        memset(dx, 0, (size_t)n * s.cin * h * w * sizeof *dx);
    for (int64_t t0 = 0; t0 < s.tiles; t0 += s.tc) {
        int count = s.tiles - t0 < s.tc ? (int)(s.tiles - t0) : s.tc;
        wino_grad_output(&s, dy, t0, count, g);
        if (dweight) {
            wino_input(&s, x, t0, count, v);
            wino_gemms(CblasNoTrans, CblasTrans, s.cout, s.cin, count, g, s.tc, gstride, v, s.tc,
                       vstride, t0 == 0 ? 0.0f : 1.0f, du, s.cin, uplane);
        }
        if (dx) {
            wino_gemms(CblasTrans, CblasNoTrans, s.cin, count, s.cout, u, s.cin, uplane, g, s.tc,
                       gstride, 0.0f, v, s.tc, vstride);
            wino_grad_input(&s, v, t0, count, dx);
        }
    }
    if (dweight)
        wino_grad_weights(du, s.cout, s.cin, dweight);
}
