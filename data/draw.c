/* draw.c — scanline rasterisation of rectangles, ellipses and polygons by the pixel-centre rule
 * (see draw.h), lines as quadrilaterals, and text in a 5×8 bitmap font drawn for rankdet (its
 * glyphs are below, one string per character, '#' for a set pixel, rows separated by spaces). */
#include "data/draw.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "lib/check.h"

/* Printable ASCII 32..126; 8 rows of 5 columns, rows left out at the end are blank. */
static const char *const draw_font[] = {
    "", "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..", ".#.#. .#.#.",
    ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.", "..#.. .#### #.#.. .###. ..#.# ####. ..#..",
    "##... ##..# ...#. ..#.. .#... #..## ...##", ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#",
    "..#.. ..#.. .#...", "...#. ..#.. .#... .#... .#... ..#.. ...#.",
    ".#... ..#.. ...#. ...#. ...#. ..#.. .#...", "..... ..#.. #.#.# .###. #.#.# ..#..",
    "..... ..#.. ..#.. ##### ..#.. ..#..", "..... ..... ..... ..... ..... ..#.. ..#.. .#...",
    "..... ..... ..... #####", "..... ..... ..... ..... ..... .##.. .##..",
    "....# ...#. ...#. ..#.. .#... .#... #....",
    /* 0-9 */
    ".###. #...# #..## #.#.# ##..# #...# .###.", "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    ".###. #...# ....# ...#. ..#.. .#... #####", "##### ...#. ..#.. ...#. ....# #...# .###.",
    "...#. ..##. .#.#. #..#. ##### ...#. ...#.", "##### #.... ####. ....# ....# #...# .###.",
    "..##. .#... #.... ####. #...# #...# .###.", "##### ....# ...#. ..#.. .#... .#... .#...",
    ".###. #...# #...# .###. #...# #...# .###.", ".###. #...# #...# .#### ....# ...#. .##..",
    "..... .##.. .##.. ..... .##.. .##..", "..... .##.. .##.. ..... .##.. .##.. .#...",
    "...#. ..#.. .#... #.... .#... ..#.. ...#.", "..... ..... ##### ..... #####",
    ".#... ..#.. ...#. ....# ...#. ..#.. .#...", ".###. #...# ....# ...#. ..#.. ..... ..#..",
    ".###. #...# ....# .##.# #.#.# #.#.# .###.",
    /* A-Z */
    ".###. #...# #...# ##### #...# #...# #...#", "####. #...# #...# ####. #...# #...# ####.",
    ".###. #...# #.... #.... #.... #...# .###.", "###.. #..#. #...# #...# #...# #..#. ###..",
    "##### #.... #.... ####. #.... #.... #####", "##### #.... #.... ####. #.... #.... #....",
    ".###. #...# #.... #.### #...# #...# .####", "#...# #...# #...# ##### #...# #...# #...#",
    ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.", "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "#...# #..#. #.#.. ##... #.#.. #..#. #...#", "#.... #.... #.... #.... #.... #.... #####",
    "#...# ##.## #.#.# #.#.# #...# #...# #...#", "#...# #...# ##..# #.#.# #..## #...# #...#",
    ".###. #...# #...# #...# #...# #...# .###.", "####. #...# #...# ####. #.... #.... #....",
    ".###. #...# #...# #...# #.#.# #..#. .##.#", "####. #...# #...# ####. #.#.. #..#. #...#",
    ".#### #.... #.... .###. ....# ....# ####.", "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "#...# #...# #...# #...# #...# #...# .###.", "#...# #...# #...# #...# #...# .#.#. ..#..",
    "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.", "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..", "##### ....# ...#. ..#.. .#... #.... #####",
    ".###. .#... .#... .#... .#... .#... .###.", "#.... .#... .#... ..#.. ...#. ...#. ....#",
    ".###. ...#. ...#. ...#. ...#. ...#. .###.", "..#.. .#.#. #...#",
    "..... ..... ..... ..... ..... ..... ..... #####", ".#... ..#..",
    /* a-z */
    "..... ..... .###. ....# .#### #...# .####", "#.... #.... #.##. ##..# #...# #...# ####.",
    "..... ..... .###. #.... #.... #...# .###.", "....# ....# .##.# #..## #...# #...# .####",
    "..... ..... .###. #...# ##### #.... .###.", "..##. .#..# .#... ###.. .#... .#... .#...",
    "..... ..... .#### #...# #...# .#### ....# .###.", "#.... #.... #.##. ##..# #...# #...# #...#",
    "..#.. ..... .##.. ..#.. ..#.. ..#.. .###.", "...#. ..... ..##. ...#. ...#. ...#. #..#. .##..",
    "#.... #.... #..#. #.#.. ##... #.#.. #..#.", ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "..... ..... ##.#. #.#.# #.#.# #...# #...#", "..... ..... #.##. ##..# #...# #...# #...#",
    "..... ..... .###. #...# #...# #...# .###.", "..... ..... ####. #...# #...# ####. #.... #....",
    "..... ..... .#### #...# #...# .#### ....# ....#", "..... ..... #.##. ##..# #.... #.... #....",
    "..... ..... .#### #.... .###. ....# ####.", ".#... .#... ###.. .#... .#... .#..# ..##.",
    "..... ..... #...# #...# #...# #..## .##.#", "..... ..... #...# #...# #...# .#.#. ..#..",
    "..... ..... #...# #...# #.#.# #.#.# .#.#.", "..... ..... #...# .#.#. ..#.. .#.#. #...#",
    "..... ..... #...# #...# #...# .#### ....# .###.", "..... ..... ##### ...#. ..#.. .#... #####",
    "...#. ..#.. ..#.. .#... ..#.. ..#.. ...#.", "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    ".#... ..#.. ..#.. ...#. ..#.. ..#.. .#...", "..... ..... .#... #.#.# ...#.",
};
_Static_assert(sizeof draw_font / sizeof draw_font[0] == 95, "one glyph per printable byte");

int draw_glyph_pixel(char ch, int col, int row)
{
    unsigned char u = (unsigned char)ch;
    if (u < 32 || u > 126)
        u = '?';
    if (col < 0 || col >= DRAW_GLYPH_WIDTH || row < 0 || row >= DRAW_GLYPH_HEIGHT)
        return 0;
    const char *g = draw_font[u - 32];
    size_t at = (size_t)row * (DRAW_GLYPH_WIDTH + 1) + (size_t)col;
    return at < strlen(g) && g[at] == '#';
}

/* ---- spans ---- */

typedef void (*draw_span_fn)(void *ctx, int y, int x0, int x1);  // pixels x0 ≤ x < x1

/* The pixel range whose centres lie in [a, b), clipped to [0, width). */
static int draw_clip_span(float a, float b, int width, int *x0, int *x1)
{
    double lo = ceil((double)a - 0.5), hi = ceil((double)b - 0.5);
    lo = lo < 0 ? 0 : lo;
    hi = hi > width ? width : hi;
    *x0 = (int)lo;
    *x1 = (int)hi;
    return hi > lo;
}

/* Rows whose centres lie in [top, bottom), clipped to the image. */
static void draw_rows(float top, float bottom, int height, int *y0, int *y1)
{
    draw_clip_span(top, bottom, height, y0, y1);
    if (*y1 < *y0)
        *y1 = *y0;
}

static void draw_rect_spans(rd_box b, int width, int height, draw_span_fn fn, void *ctx)
{
    int y0, y1, x0, x1;
    draw_rows(b.y1, b.y2, height, &y0, &y1);
    if (!draw_clip_span(b.x1, b.x2, width, &x0, &x1))
        return;
    for (int y = y0; y < y1; y++)
        fn(ctx, y, x0, x1);
}

static void draw_ellipse_spans(rd_box b, int width, int height, draw_span_fn fn, void *ctx)
{
    double cx = 0.5 * ((double)b.x1 + b.x2), cy = 0.5 * ((double)b.y1 + b.y2);
    double rx = 0.5 * ((double)b.x2 - b.x1), ry = 0.5 * ((double)b.y2 - b.y1);
    if (rx <= 0 || ry <= 0)
        return;
    int y0, y1;
    draw_rows(b.y1, b.y2, height, &y0, &y1);
    for (int y = y0; y < y1; y++) {
        double dy = ((double)y + 0.5 - cy) / ry;
        if (dy * dy >= 1.0)
            continue;
        double half = rx * sqrt(1.0 - dy * dy);
        int x0, x1;
        if (draw_clip_span((float)(cx - half), (float)(cx + half), width, &x0, &x1))
            fn(ctx, y, x0, x1);
    }
}

static void draw_polygon_spans(const float *xy, int n, int width, int height, draw_span_fn fn,
                               void *ctx)
{
    RD_CHECK(n >= 3 && n <= DRAW_MAX_POINTS, "polygon of %d vertices (3..%d)", n,
             DRAW_MAX_POINTS);
    float top = xy[1], bottom = xy[1];
    for (int i = 1; i < n; i++) {
        top = fminf(top, xy[2 * i + 1]);
        bottom = fmaxf(bottom, xy[2 * i + 1]);
    }
    int y0, y1;
    draw_rows(top, bottom, height, &y0, &y1);
    for (int y = y0; y < y1; y++) {
        double py = (double)y + 0.5, cross[DRAW_MAX_POINTS];
        int m = 0;
        for (int i = 0; i < n; i++) {
            double xa = xy[2 * i], ya = xy[2 * i + 1];
            double xb = xy[2 * ((i + 1) % n)], yb = xy[2 * ((i + 1) % n) + 1];
            if ((ya <= py) == (yb <= py))
                continue;
            double x = xa + (py - ya) * (xb - xa) / (yb - ya);
            int k = m++;  // insertion sort: at most DRAW_MAX_POINTS crossings
            for (; k > 0 && cross[k - 1] > x; k--)
                cross[k] = cross[k - 1];
            cross[k] = x;
        }
        for (int k = 0; k + 1 < m; k += 2) {
            int x0, x1;
            if (draw_clip_span((float)cross[k], (float)cross[k + 1], width, &x0, &x1))
                fn(ctx, y, x0, x1);
        }
    }
}

static void draw_shape_spans(const draw_shape *s, int width, int height, draw_span_fn fn,
                             void *ctx)
{
    switch (s->kind) {
    case DRAW_SHAPE_RECT: draw_rect_spans(s->box, width, height, fn, ctx); break;
    case DRAW_SHAPE_ELLIPSE: draw_ellipse_spans(s->box, width, height, fn, ctx); break;
    case DRAW_SHAPE_POLYGON:
        draw_polygon_spans(s->xy, s->npoints, width, height, fn, ctx);
        break;
    default: RD_CHECK(0, "unknown shape kind %d", (int)s->kind);
    }
}

/* ---- span targets ---- */

typedef struct draw_paint {
    rd_image *img;
    draw_color c;
    float alpha;  // 1: opaque
} draw_paint;

static void draw_paint_span(void *ctx, int y, int x0, int x1)
{
    const draw_paint *p = ctx;
    uint8_t *row = p->img->rgb + (size_t)y * p->img->width * 3;
    if (p->alpha >= 1.0f) {
        for (int x = x0; x < x1; x++) {
            row[3 * x] = p->c.r, row[3 * x + 1] = p->c.g, row[3 * x + 2] = p->c.b;
        }
        return;
    }
    const uint8_t c[3] = {p->c.r, p->c.g, p->c.b};
    for (int x = x0; x < x1; x++)
        for (int k = 0; k < 3; k++) {
            float v = (1.0f - p->alpha) * row[3 * x + k] + p->alpha * c[k];
            row[3 * x + k] = (uint8_t)lrintf(v);
        }
}

typedef struct draw_masking {
    uint8_t *mask;
    int width;
    uint8_t value;
} draw_masking;

static void draw_mask_span(void *ctx, int y, int x0, int x1)
{
    const draw_masking *m = ctx;
    memset(m->mask + (size_t)y * m->width + x0, m->value, (size_t)(x1 - x0));
}

typedef struct draw_bounds {
    int x1, y1, x2, y2, any;
} draw_bounds;

static void draw_bounds_span(void *ctx, int y, int x0, int x1)
{
    draw_bounds *b = ctx;
    if (!b->any) {
        *b = (draw_bounds){x0, y, x1, y + 1, 1};
        return;
    }
    b->x1 = x0 < b->x1 ? x0 : b->x1;
    b->x2 = x1 > b->x2 ? x1 : b->x2;
    b->y1 = y < b->y1 ? y : b->y1;
    b->y2 = y + 1 > b->y2 ? y + 1 : b->y2;
}

/* ---- public shapes ---- */

void draw_shape_fill(rd_image *img, const draw_shape *s, draw_color c)
{
    draw_paint p = {img, c, 1.0f};
    draw_shape_spans(s, img->width, img->height, draw_paint_span, &p);
}

void draw_shape_mask(uint8_t *mask, int width, int height, const draw_shape *s, uint8_t value)
{
    draw_masking m = {mask, width, value};
    draw_shape_spans(s, width, height, draw_mask_span, &m);
}

int draw_shape_extent(const draw_shape *s, int width, int height, rd_box *b)
{
    draw_bounds d = {0, 0, 0, 0, 0};
    draw_shape_spans(s, width, height, draw_bounds_span, &d);
    *b = (rd_box){(float)d.x1, (float)d.y1, (float)d.x2, (float)d.y2};
    return d.any;
}

void draw_rect_fill(rd_image *img, int x1, int y1, int x2, int y2, draw_color c)
{
    draw_rect_blend(img, x1, y1, x2, y2, c, 1.0f);
}

void draw_rect_blend(rd_image *img, int x1, int y1, int x2, int y2, draw_color c, float alpha)
{
    draw_paint p = {img, c, alpha < 0 ? 0.0f : (alpha > 1 ? 1.0f : alpha)};
    draw_rect_spans((rd_box){(float)x1, (float)y1, (float)x2, (float)y2}, img->width,
                    img->height, draw_paint_span, &p);
}

void draw_rect_outline(rd_image *img, int x1, int y1, int x2, int y2, int t, draw_color c)
{
    RD_CHECK(t >= 1, "outline thickness %d must be at least 1", t);
    if (x2 - x1 <= 2 * t || y2 - y1 <= 2 * t) {  // too small for a hole: a filled box
        draw_rect_fill(img, x1, y1, x2, y2, c);
        return;
    }
    draw_rect_fill(img, x1, y1, x2, y1 + t, c);
    draw_rect_fill(img, x1, y2 - t, x2, y2, c);
    draw_rect_fill(img, x1, y1 + t, x1 + t, y2 - t, c);
    draw_rect_fill(img, x2 - t, y1 + t, x2, y2 - t, c);
}

void draw_ellipse_fill(rd_image *img, rd_box box, draw_color c)
{
    draw_shape s = {.kind = DRAW_SHAPE_ELLIPSE, .box = box};
    draw_shape_fill(img, &s, c);
}

void draw_polygon_fill(rd_image *img, const float *xy, int n, draw_color c)
{
    RD_CHECK(n >= 3 && n <= DRAW_MAX_POINTS, "polygon of %d vertices (3..%d)", n,
             DRAW_MAX_POINTS);
    draw_shape s = {.kind = DRAW_SHAPE_POLYGON, .npoints = n};
    memcpy(s.xy, xy, sizeof(float) * 2 * (size_t)n);
    draw_shape_fill(img, &s, c);
}

void draw_line(rd_image *img, float x0, float y0, float x1, float y1, float t, draw_color c)
{
    float dx = x1 - x0, dy = y1 - y0, len = sqrtf(dx * dx + dy * dy);
    float h = 0.5f * (t < 1.0f ? 1.0f : t);
    float nx = len > 0 ? -dy / len * h : 0.0f, ny = len > 0 ? dx / len * h : h;
    float ex = len > 0 ? dx / len * 0.5f : 0.5f, ey = len > 0 ? dy / len * 0.5f : 0.0f;
    // extend by half a pixel at both ends so a line of length 0 still covers a pixel
    const float xy[8] = {x0 - ex + nx, y0 - ey + ny, x1 + ex + nx, y1 + ey + ny,
                         x1 + ex - nx, y1 + ey - ny, x0 - ex - nx, y0 - ey - ny};
    draw_polygon_fill(img, xy, 4, c);
}

/* ---- text ---- */

void draw_text_size(const char *text, int scale, int *width, int *height)
{
    int cols = 0, longest = 0, lines = 1;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            lines++;
            cols = 0;
            continue;
        }
        cols++;
        longest = cols > longest ? cols : longest;
    }
    // the last column and row of spacing are not drawn
    *width = longest > 0 ? (longest * DRAW_CELL_WIDTH - 1) * scale : 0;
    *height = (lines * DRAW_CELL_HEIGHT - 1) * scale;
}

void draw_text(rd_image *img, int x, int y, const char *text, int scale, draw_color c)
{
    RD_CHECK(scale >= 1, "text scale %d must be at least 1", scale);
    int cx = x, cy = y;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            cx = x;
            cy += DRAW_CELL_HEIGHT * scale;
            continue;
        }
        for (int row = 0; row < DRAW_GLYPH_HEIGHT; row++)
            for (int col = 0; col < DRAW_GLYPH_WIDTH; col++)
                if (draw_glyph_pixel(*p, col, row))
                    draw_rect_fill(img, cx + col * scale, cy + row * scale,
                                   cx + (col + 1) * scale, cy + (row + 1) * scale, c);
        cx += DRAW_CELL_WIDTH * scale;
    }
}

void draw_box_label(rd_image *img, rd_box box, const char *label, int t, int scale,
                    draw_color c)
{
    int x1 = (int)lrintf(box.x1), y1 = (int)lrintf(box.y1);
    int x2 = (int)lrintf(box.x2), y2 = (int)lrintf(box.y2);
    draw_rect_outline(img, x1, y1, x2, y2, t, c);
    if (!label || !*label)
        return;
    int tw, th, pad = scale;
    draw_text_size(label, scale, &tw, &th);
    int tag_w = tw + 2 * pad, tag_h = th + 2 * pad;
    int top = y1 - tag_h >= 0 ? y1 - tag_h : y1;  // above the box, or inside when no room
    int left = x1 < 0 ? 0 : x1;
    draw_rect_fill(img, left, top, left + tag_w, top + tag_h, c);
    // ITU-R BT.601 luma decides the text colour
    int luma = (299 * c.r + 587 * c.g + 114 * c.b) / 1000;
    draw_color ink = luma > 140 ? (draw_color){0, 0, 0} : (draw_color){255, 255, 255};
    draw_text(img, left + pad, top + pad, label, scale, ink);
}

draw_color draw_palette(int k)
{
    // hue steps of the golden angle, alternating two saturation/value levels
    double h = fmod(0.07 + 0.618033988749895 * (k < 0 ? -k : k), 1.0) * 6.0;
    double s = (k / 2) % 2 ? 0.65 : 0.9, v = k % 2 ? 0.8 : 0.95;
    int i = (int)h;
    double f = h - i, p = v * (1 - s), q = v * (1 - s * f), u = v * (1 - s * (1 - f));
    double rgb[6][3] = {{v, u, p}, {q, v, p}, {p, v, u}, {p, q, v}, {u, p, v}, {v, p, q}};
    const double *w = rgb[i % 6];
    return (draw_color){(uint8_t)lrint(255 * w[0]), (uint8_t)lrint(255 * w[1]),
                        (uint8_t)lrint(255 * w[2])};
}
