/* draw.h — drawing on 8-bit RGB images: filled and outlined rectangles, ellipses, polygons
 * (triangles included), lines, and text in a small built-in 5×8 bitmap font. Used by the
 * synthetic shapes generator (data/synth.c) and by `rankdet detect --draw` (boxes with class
 * names and scores).
 *
 * Coverage rule: a pixel (x, y) is covered by a filled shape when its centre (x + 0.5, y + 0.5)
 * lies inside the shape (the rule of most rasterisers), so a rectangle with integer corners
 * (x1, y1, x2, y2) covers exactly the pixels x1 ≤ x < x2, y1 ≤ y < y2, and the tight box of
 * the covered pixels is (min x, min y, max x + 1, max y + 1). Everything is clipped to the
 * image; drawing outside it is not an error. */
#ifndef RD_DRAW_H
#define RD_DRAW_H

#include <stdint.h>

#include "data/image.h"
#include "lib/box.h"

typedef struct draw_color {
    uint8_t r, g, b;
} draw_color;

enum {
    DRAW_MAX_POINTS = 16,  // vertices of a draw_shape polygon
    DRAW_GLYPH_WIDTH = 5,  // font glyph, in pixels at scale 1
    DRAW_GLYPH_HEIGHT = 8, // rows 0-6 above the baseline, row 7 for descenders
    DRAW_CELL_WIDTH = 6,   // advance per character (glyph + 1 column of spacing)
    DRAW_CELL_HEIGHT = 9,  // line height (glyph + 1 row)
};

typedef enum draw_shape_kind {
    DRAW_SHAPE_RECT = 0,   // the box (x1, y1, x2, y2)
    DRAW_SHAPE_ELLIPSE,    // the ellipse inscribed in the box
    DRAW_SHAPE_POLYGON,    // npoints vertices in xy (even-odd rule; convex or not)
} draw_shape_kind;

/* A filled shape, for drawing in colour (draw_shape_fill) or into a mask (draw_shape_mask). */
typedef struct draw_shape {
    draw_shape_kind kind;
    rd_box box;                       // RECT, ELLIPSE: the shape's box, in pixels
    int npoints;                      // POLYGON: 3..DRAW_MAX_POINTS
    float xy[2 * DRAW_MAX_POINTS];    // POLYGON: x0, y0, x1, y1, ...
} draw_shape;

/* Fill the pixels the shape covers with c. */
void draw_shape_fill(rd_image *img, const draw_shape *s, draw_color c);
/* Set mask[y·width + x] = value for the pixels the shape covers ([height][width] bytes). */
void draw_shape_mask(uint8_t *mask, int width, int height, const draw_shape *s, uint8_t value);
/* The covered pixels' tight box (x1, y1, x2 + 1, y2 + 1) within a width × height image;
 * returns 0 when the shape covers no pixel (b is then all zero). */
int draw_shape_extent(const draw_shape *s, int width, int height, rd_box *b);

/* Filled rectangle over the pixels x1 ≤ x < x2, y1 ≤ y < y2. */
void draw_rect_fill(rd_image *img, int x1, int y1, int x2, int y2, draw_color c);
/* The same rectangle blended: pixel = (1 - alpha) · pixel + alpha · c, alpha in [0, 1]. */
void draw_rect_blend(rd_image *img, int x1, int y1, int x2, int y2, draw_color c, float alpha);
/* Outline of thickness t ≥ 1 drawn inside the rectangle x1 ≤ x < x2, y1 ≤ y < y2. */
void draw_rect_outline(rd_image *img, int x1, int y1, int x2, int y2, int t, draw_color c);
/* Filled ellipse inscribed in the box (x1, y1, x2, y2) (a circle when the box is square). */
void draw_ellipse_fill(rd_image *img, rd_box box, draw_color c);
/* Filled polygon of n (3..DRAW_MAX_POINTS) vertices xy[2n]; a triangle is n = 3. */
void draw_polygon_fill(rd_image *img, const float *xy, int n, draw_color c);
/* Line of thickness t ≥ 1 from (x0, y0) to (x1, y1), as a filled quadrilateral. */
void draw_line(rd_image *img, float x0, float y0, float x1, float y1, float t, draw_color c);

/* Text with its top-left corner at (x, y), each font pixel drawn as scale × scale pixels.
 * '\n' starts a new line; bytes outside printable ASCII are drawn as '?'. */
void draw_text(rd_image *img, int x, int y, const char *text, int scale, draw_color c);
/* Width and height in pixels that draw_text covers for text at scale (its longest line). */
void draw_text_size(const char *text, int scale, int *width, int *height);
/* Whether font pixel (col, row) of glyph ch is set (0 outside the 5 × 8 glyph). */
int draw_glyph_pixel(char ch, int col, int row);

/* A detection as `rankdet detect --draw` shows it: the box outline (thickness t) in c and the
 * label text (for example "dog 0.87") on a filled tag of colour c above the box (inside it
 * when there is no room above), in black or white, whichever reads better on c. */
void draw_box_label(rd_image *img, rd_box box, const char *label, int t, int scale,
                    draw_color c);
/* A colour for class index k: well separated hues, distinct for the first 20 or so. */
draw_color draw_palette(int k);

#endif
