/* image_png.c — PNG decoding and encoding with libpng 1.6. Every colour type and depth becomes
 * 8-bit RGB as PIL's convert("RGB") makes it: palettes expanded (tRNS ignored), gray replicated,
 * 1/2/4-bit gray scaled to 0-255, alpha dropped (not composited), 16-bit samples reduced to
 * their high byte (PIL's "RGB;16B" unpacking, libpng's png_set_strip_16); Adam7 interlacing is
 * undone. libpng reports errors by longjmp to the jmp_buf set here; warnings are ignored. */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "data/image_codec.h"
#include "lib/check.h"

typedef struct image_png_state {
    const unsigned char *bytes;  // the file in memory (decoding)
    size_t n, pos;
    int truncated;  // the file ended early
    char message[256];
} image_png_state;

static void image_png_error(png_structp p, png_const_charp message)
{
    image_png_state *s = png_get_error_ptr(p);
    snprintf(s->message, sizeof s->message, "%s", message);
    png_longjmp(p, 1);
}

static void image_png_warning(png_structp p, png_const_charp message)
{
    (void)p;
    (void)message;
}

static void image_png_read_mem(png_structp p, png_bytep out, size_t len)
{
    image_png_state *s = png_get_io_ptr(p);
    if (len > s->n - s->pos) {
        s->truncated = 1;
        png_error(p, "the file ends early");
    }
    memcpy(out, s->bytes + s->pos, len);
    s->pos += len;
}

/* Ask libpng for 8-bit RGB whatever the file holds. */
static void image_png_set_rgb8(png_structp p, png_infop info)
{
    int color = png_get_color_type(p, info);
    int depth = png_get_bit_depth(p, info);
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(p);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(p);
    if (depth == 16)
        png_set_strip_16(p);
    if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(p, info, PNG_INFO_tRNS))
        png_set_strip_alpha(p);  // palette expansion turns tRNS into alpha
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(p);
    png_set_interlace_handling(p);
    png_read_update_info(p, info);
}

/* The decode after png_read_info; may longjmp. img->rgb and *rows belong to the caller.
 * Rows are read one by one, except interlaced images, which need every row at once. */
static void image_png_read_pixels(png_structp p, png_infop info, rd_image *img,
                                  image_buffers *bufs, png_bytep *volatile *rows)
{
    image_png_set_rgb8(p, info);
    RD_CHECK(png_get_rowbytes(p, info) == (size_t)img->width * 3,
             "libpng row of %zu bytes for an RGB row of width %d", png_get_rowbytes(p, info),
             img->width);
    size_t stride = (size_t)img->width * 3;
    img->rgb = image_pixels(img, bufs);
    if (png_get_interlace_type(p, info) == PNG_INTERLACE_NONE) {
        for (int y = 0; y < img->height; y++)
            png_read_row(p, img->rgb + (size_t)y * stride, NULL);
    } else {
        png_bytep *r = rd_malloc(sizeof *r * (size_t)img->height, "PNG row pointers");
        *rows = r;
        for (int y = 0; y < img->height; y++)
            r[y] = img->rgb + (size_t)y * stride;
        png_read_image(p, r);
    }
    png_read_end(p, NULL);
}

int image_png_decode(const unsigned char *bytes, size_t n, const char *name, rd_image *img,
                     image_buffers *bufs, char *err, size_t errsize)
{
    image_png_state s = {.bytes = bytes, .n = n, .pos = 0, .message = ""};
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, image_png_error,
                                           image_png_warning);
    RD_CHECK(p != NULL, "png_create_read_struct failed (out of memory?)");
    png_infop info = png_create_info_struct(p);
    RD_CHECK(info != NULL, "png_create_info_struct failed (out of memory?)");
    png_bytep *volatile rows = NULL;  // volatile: read after a longjmp
    if (setjmp(png_jmpbuf(p))) {
        png_destroy_read_struct(&p, &info, NULL);
        free(rows);
        image_drop(img, bufs);
        return image_fail(err, errsize, name, "%s PNG: %s",
                          s.truncated ? "truncated" : "corrupt", s.message);
    }
    png_set_read_fn(p, &s, image_png_read_mem);
    png_read_info(p, info);
    png_uint_32 width = png_get_image_width(p, info), height = png_get_image_height(p, info);
    if (image_check_size(width, height, name, err, errsize) != 0) {
        png_destroy_read_struct(&p, &info, NULL);
        return -1;
    }
    img->width = (int)width;
    img->height = (int)height;
    image_png_read_pixels(p, info, img, bufs, &rows);
    png_destroy_read_struct(&p, &info, NULL);
    free(rows);
    return 0;
}

static uint32_t image_png_be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

int image_png_read_size(FILE *f, const char *name, int *width, int *height, char *err,
                        size_t errsize)
{
    unsigned char head[24];  // signature, IHDR length and tag, width, height
    if (fread(head, 1, sizeof head, f) != sizeof head)
        return image_fail(err, errsize, name, "truncated PNG: the file ends inside its header");
    if (memcmp(head + 12, "IHDR", 4) != 0 || image_png_be32(head + 8) != 13)
        return image_fail(err, errsize, name, "corrupt PNG: the first chunk is not IHDR");
    uint32_t w = image_png_be32(head + 16), h = image_png_be32(head + 20);
    if (image_check_size(w, h, name, err, errsize) != 0)
        return -1;
    *width = (int)w;
    *height = (int)h;
    return 0;
}

int image_png_encode(FILE *f, const rd_image *img, const char *name, char *err,
                     size_t errsize)
{
    image_png_state s = {.message = ""};
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, image_png_error,
                                            image_png_warning);
    RD_CHECK(p != NULL, "png_create_write_struct failed (out of memory?)");
    png_infop info = png_create_info_struct(p);
    RD_CHECK(info != NULL, "png_create_info_struct failed (out of memory?)");
    if (setjmp(png_jmpbuf(p))) {
        png_destroy_write_struct(&p, &info);
        return image_fail(err, errsize, name, "PNG encoding failed: %s", s.message);
    }
    png_init_io(p, f);
    png_set_IHDR(p, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    size_t stride = (size_t)img->width * 3;
    for (int y = 0; y < img->height; y++)
        png_write_row(p, img->rgb + (size_t)y * stride);
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    return 0;
}
