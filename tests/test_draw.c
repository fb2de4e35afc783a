/* test_draw.c — the pixel-centre coverage rule on hand-counted shapes (rectangles with
 * fractional corners, a circle's pixel count and symmetry, a triangle), clipping at the image
 * border, masks and extents agreeing with the painted pixels, outlines, blending, and text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/draw.h"
#include "tests/check_main.h"

static rd_image draw_test_image(int width, int height)
{
    rd_image img = {width, height, calloc((size_t)width * height * 3, 1)};
    ck_assert_ptr_nonnull(img.rgb);
    return img;
}

/* Pixels whose red channel is `r`. */
static int draw_test_count(const rd_image *img, uint8_t r)
{
    int n = 0;
    for (int i = 0; i < img->width * img->height; i++)
        n += img->rgb[3 * i] == r;
    return n;
}

static int draw_test_red(const rd_image *img, int x, int y)
{
    return img->rgb[3 * ((size_t)y * img->width + x)];
}

static const draw_color WHITE = {255, 255, 255};

START_TEST(test_draw_rect_coverage)
{
    rd_image img = draw_test_image(10, 8);
    draw_rect_fill(&img, 2, 1, 5, 4, WHITE);  // x 2..4, y 1..3: 9 pixels
    ck_assert_int_eq(draw_test_count(&img, 255), 9);
    ck_assert_int_eq(draw_test_red(&img, 2, 1), 255);
    ck_assert_int_eq(draw_test_red(&img, 4, 3), 255);
    ck_assert_int_eq(draw_test_red(&img, 5, 3), 0);
    // fractional corners: centres 0.5..: x in [1.6, 3.4) holds centres 2.5 only (x = 2);
    // y in [0.4, 2.6) holds 0.5, 1.5, 2.5 (y = 0, 1, 2)
    draw_shape s = {.kind = DRAW_SHAPE_RECT, .box = {1.6f, 0.4f, 3.4f, 2.6f}};
    rd_box e;
    ck_assert(draw_shape_extent(&s, 10, 8, &e));
    ck_assert_float_eq(e.x1, 2); ck_assert_float_eq(e.x2, 3);
    ck_assert_float_eq(e.y1, 0); ck_assert_float_eq(e.y2, 3);
    // clipped at the border: -3..2 x 6..20 on 10x8 covers x 0..1, y 6..7
    memset(img.rgb, 0, 10 * 8 * 3);
    draw_rect_fill(&img, -3, 6, 2, 20, WHITE);
    ck_assert_int_eq(draw_test_count(&img, 255), 4);
    s.box = (rd_box){20, 20, 30, 30};
    ck_assert(!draw_shape_extent(&s, 10, 8, &e));
    free(img.rgb);
}
END_TEST

START_TEST(test_draw_circle_and_triangle)
{
    // a circle of radius 5 centred on (8, 8): pixel centres within 5 of it. Rows at
    // dy = 0.5, 1.5, 2.5, 3.5, 4.5 reach |dx| < 4.97, 4.77, 4.33, 3.57, 2.18, so hold 10, 10,
    // 8, 8, 4 centres; both halves: 80
    rd_image img = draw_test_image(16, 16);
    draw_ellipse_fill(&img, (rd_box){3, 3, 13, 13}, WHITE);
    ck_assert_int_eq(draw_test_count(&img, 255), 80);
    for (int y = 0; y < 16; y++)  // symmetric in x and in y
        for (int x = 0; x < 16; x++) {
            ck_assert_int_eq(draw_test_red(&img, x, y), draw_test_red(&img, 15 - x, y));
            ck_assert_int_eq(draw_test_red(&img, x, y), draw_test_red(&img, x, 15 - y));
        }
    // right triangle (0,0), (8,0), (0,8): centres with (x+.5) + (y+.5) < 8, i.e. x + y < 7:
    // rows of 7, 6, ..., 1 = 28
    memset(img.rgb, 0, 16 * 16 * 3);
    const float tri[6] = {0, 0, 8, 0, 0, 8};
    draw_polygon_fill(&img, tri, 3, WHITE);
    ck_assert_int_eq(draw_test_count(&img, 255), 28);
    ck_assert_int_eq(draw_test_red(&img, 6, 0), 255);
    ck_assert_int_eq(draw_test_red(&img, 7, 0), 0);
    ck_assert_int_eq(draw_test_red(&img, 6, 1), 0);
    // the mask and the extent see exactly the painted pixels
    uint8_t mask[16 * 16] = {0};
    draw_shape s = {.kind = DRAW_SHAPE_POLYGON, .npoints = 3};
    memcpy(s.xy, tri, sizeof tri);
    draw_shape_mask(mask, 16, 16, &s, 7);
    for (int i = 0; i < 256; i++)
        ck_assert_int_eq(mask[i] == 7, img.rgb[3 * i] == 255);
    rd_box e;
    ck_assert(draw_shape_extent(&s, 16, 16, &e));
    ck_assert_float_eq(e.x1, 0); ck_assert_float_eq(e.y1, 0);
    ck_assert_float_eq(e.x2, 7); ck_assert_float_eq(e.y2, 7);
    free(img.rgb);
}
END_TEST

START_TEST(test_draw_outline_blend_line)
{
    rd_image img = draw_test_image(12, 12);
    draw_rect_outline(&img, 1, 1, 11, 9, 2, WHITE);  // 10x8 minus 6x4 inside = 56
    ck_assert_int_eq(draw_test_count(&img, 255), 56);
    ck_assert_int_eq(draw_test_red(&img, 3, 3), 0);
    memset(img.rgb, 100, 12 * 12 * 3);
    draw_rect_blend(&img, 0, 0, 1, 1, (draw_color){200, 0, 50}, 0.25f);
    ck_assert_int_eq(img.rgb[0], 125);  // 0.75·100 + 0.25·200
    ck_assert_int_eq(img.rgb[1], 75);
    ck_assert_int_eq(img.rgb[2], 88);   // 87.5 rounds to even: 88
    memset(img.rgb, 0, 12 * 12 * 3);
    // centre to centre, 1 thick, half a pixel added at both ends: x in [2, 10), y = 5
    draw_line(&img, 2.5f, 5.5f, 9.5f, 5.5f, 1, WHITE);
    ck_assert_int_eq(draw_test_count(&img, 255), 8);
    ck_assert_int_eq(draw_test_red(&img, 2, 5), 255);
    ck_assert_int_eq(draw_test_red(&img, 9, 5), 255);
    free(img.rgb);
}
END_TEST

START_TEST(test_draw_text)
{
    int w, h;
    draw_text_size("AP 0.5", 1, &w, &h);
    ck_assert_int_eq(w, 6 * 6 - 1);
    ck_assert_int_eq(h, 8);
    draw_text_size("ab\nlonger", 2, &w, &h);
    ck_assert_int_eq(w, (6 * 6 - 1) * 2);
    ck_assert_int_eq(h, (2 * 9 - 1) * 2);
    // 'A': .###. / #...# / #...# / ##### / #...# x3: 3 + 2 + 2 + 5 + 2·3 = 18 pixels
    ck_assert(!draw_glyph_pixel('A', 0, 0) && draw_glyph_pixel('A', 1, 0));
    ck_assert(draw_glyph_pixel('A', 4, 3) && !draw_glyph_pixel('A', 2, 4));
    ck_assert(draw_glyph_pixel('g', 1, 7) && !draw_glyph_pixel('A', 0, 7));
    ck_assert(draw_glyph_pixel('\x01', 0, 1) == draw_glyph_pixel('?', 0, 1));
    rd_image img = draw_test_image(20, 20);
    draw_text(&img, 1, 2, "A", 2, WHITE);
    ck_assert_int_eq(draw_test_count(&img, 255), 18 * 4);
    ck_assert_int_eq(draw_test_red(&img, 1 + 2, 2), 255);  // (col 1, row 0) at scale 2
    ck_assert_int_eq(draw_test_red(&img, 1, 2), 0);
    // a label tag over a box: the tag is filled with the class colour above the box
    memset(img.rgb, 0, 20 * 20 * 3);
    draw_color c = {255, 255, 0};
    draw_box_label(&img, (rd_box){2, 12, 18, 19}, "x", 1, 1, c);
    ck_assert_int_eq(draw_test_red(&img, 2, 12 - 10), 255);  // tag: 5+2 wide, 8+2 high
    ck_assert_int_eq(img.rgb[3 * (3 * 20 + 3) + 2], 0);     // black ink or yellow, never blue
    free(img.rgb);
    draw_color p0 = draw_palette(0), p1 = draw_palette(1);
    ck_assert(p0.r != p1.r || p0.g != p1.g || p0.b != p1.b);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("draw");
    TCase *tc = tcase_create("draw");
    tcase_add_test(tc, test_draw_rect_coverage);
    tcase_add_test(tc, test_draw_circle_and_triangle);
    tcase_add_test(tc, test_draw_outline_blend_line);
    tcase_add_test(tc, test_draw_text);
    suite_add_tcase(s, tc);
    return s;
}
