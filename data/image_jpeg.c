/* image_jpeg.c — JPEG decoding and encoding with libjpeg-turbo (baseline, progressive,
 * grayscale, CMYK/YCCK). Decoding writes JCS_EXT_RGB scanlines straight into the image with
 * the library's default (ISLOW IDCT, fancy upsampling), as PIL does, so the pixels match PIL's.
 * libjpeg's default error handler calls exit(): errors longjmp back here instead, and the
 * warnings that mean lost data (premature end of file, corrupt entropy data) are errors too,
 * except a file that ends after its last scanline without the EOI marker (PIL reads those). */
#include <setjmp.h>
#include <stdio.h>  // before jpeglib.h, which uses FILE and size_t
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>  // the JWRN_ message codes

#include "data/image_codec.h"
#include "lib/check.h"

typedef struct image_jpeg_error {
    struct jpeg_error_mgr pub;  // first: libjpeg hands back a pointer to it
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    int pixels_done;  // every scanline was read: a missing EOI marker is harmless (PIL agrees)
    int truncated;    // the data ended early (JWRN_JPEG_EOF)
} image_jpeg_error;

static void image_jpeg_error_exit(j_common_ptr c)
{
    image_jpeg_error *e = (image_jpeg_error *)c->err;
    c->err->format_message(c, e->message);
    longjmp(e->jump, 1);
}

/* Warnings that mean pixels were lost or invented; the others (extraneous bytes between
 * markers, unknown JFIF versions, ...) leave the image intact and are ignored, as PIL does. */
static int image_jpeg_warning_is_fatal(int code)
{
    return code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE ||
           code == JWRN_MUST_RESYNC || code == JWRN_NOT_SEQUENTIAL ||
           code == JWRN_BOGUS_PROGRESSION || code == JWRN_TOO_MUCH_DATA;
}

static void image_jpeg_emit_message(j_common_ptr c, int level)
{
    if (level >= 0)
        return;  // trace messages
    c->err->num_warnings++;
    image_jpeg_error *e = (image_jpeg_error *)c->err;
    int code = c->err->msg_code;
    if (code == JWRN_JPEG_EOF && e->pixels_done)
        return;
    e->truncated |= code == JWRN_JPEG_EOF;
    if (image_jpeg_warning_is_fatal(code))
        image_jpeg_error_exit(c);
}

static void image_jpeg_error_init(image_jpeg_error *e)
{
    jpeg_std_error(&e->pub);
    e->pub.error_exit = image_jpeg_error_exit;
    e->pub.emit_message = image_jpeg_emit_message;
    e->message[0] = '\0';
    e->pixels_done = 0;
    e->truncated = 0;
}

/* "truncated JPEG (...)" when the data ended early, else "corrupt JPEG: libjpeg's message". */
static int image_jpeg_fail(const image_jpeg_error *e, const char *name, char *err,
                           size_t errsize)
{
    if (e->truncated)
        return image_fail(err, errsize, name, "truncated JPEG (the data ends before the image "
                          "does)");
    return image_fail(err, errsize, name, "corrupt JPEG: %s", e->message);
}

/* PIL's CMYK -> RGB (Convert.c cmyk2rgb): r = 255 - c - k + c·k/255, rounded as MULDIV255. */
static uint8_t image_jpeg_cmyk_channel(int c, int k)
{
    int nk = 255 - k;
    int t = c * nk + 128;
    int v = nk - ((t + (t >> 8)) >> 8);
    return (uint8_t)(v < 0 ? 0 : v);
}

/* One CMYK row (Adobe files store it inverted, as PIL's "CMYK;I") into RGB. */
static void image_jpeg_cmyk_row(const JSAMPLE *cmyk, int width, int inverted, uint8_t *rgb)
{
    for (int x = 0; x < width; x++, cmyk += 4, rgb += 3) {
        int c[4];
        for (int i = 0; i < 4; i++)
            c[i] = inverted ? 255 - cmyk[i] : cmyk[i];
        for (int i = 0; i < 3; i++)
            rgb[i] = image_jpeg_cmyk_channel(c[i], c[3]);
    }
}

/* The decode after jpeg_read_header; may longjmp. img->rgb is owned by the caller's cleanup. */
static void image_jpeg_read_pixels(struct jpeg_decompress_struct *d, rd_image *img,
                                   JSAMPLE *volatile *cmyk_row)
{
    image_jpeg_error *e = (image_jpeg_error *)d->err;
    int cmyk = d->jpeg_color_space == JCS_CMYK || d->jpeg_color_space == JCS_YCCK;
    d->out_color_space = cmyk ? JCS_CMYK : JCS_EXT_RGB;
    jpeg_start_decompress(d);
    RD_CHECK((int)d->output_width == img->width && (int)d->output_height == img->height &&
                 d->output_components == (cmyk ? 4 : 3),
             "libjpeg output %ux%u x%d differs from the header", d->output_width,
             d->output_height, d->output_components);
    size_t stride = (size_t)img->width * 3;
    if (cmyk)
        *cmyk_row = rd_malloc((size_t)img->width * 4, "a CMYK JPEG row");
    while (d->output_scanline < d->output_height) {
        uint8_t *dst = img->rgb + (size_t)d->output_scanline * stride;
        if (cmyk) {
            JSAMPROW row = *cmyk_row;
            jpeg_read_scanlines(d, &row, 1);
            image_jpeg_cmyk_row(row, img->width, d->saw_Adobe_marker, dst);
        } else {
            JSAMPROW rows[8];
            int n = 0;
            for (; n < 8 && d->output_scanline + (unsigned)n < d->output_height; n++)
                rows[n] = dst + (size_t)n * stride;
            jpeg_read_scanlines(d, rows, (JDIMENSION)n);
        }
    }
    e->pixels_done = 1;
    jpeg_finish_decompress(d);
}

int image_jpeg_decode(const unsigned char *bytes, size_t n, const char *name, rd_image *img,
                      image_buffers *bufs, char *err, size_t errsize)
{
    struct jpeg_decompress_struct d;
    image_jpeg_error e;
    JSAMPLE *volatile cmyk_row = NULL;  // volatile: read after a longjmp
    image_jpeg_error_init(&e);
    d.err = &e.pub;
    jpeg_create_decompress(&d);
    if (setjmp(e.jump)) {
        jpeg_destroy_decompress(&d);
        free(cmyk_row);
        image_drop(img, bufs);
        return image_jpeg_fail(&e, name, err, errsize);
    }
    jpeg_mem_src(&d, bytes, (unsigned long)n);
    jpeg_read_header(&d, TRUE);
    if (image_check_size(d.image_width, d.image_height, name, err, errsize) != 0) {
        jpeg_destroy_decompress(&d);
        return -1;
    }
    img->width = (int)d.image_width;
    img->height = (int)d.image_height;
    img->rgb = image_pixels(img, bufs);
    image_jpeg_read_pixels(&d, img, &cmyk_row);
    jpeg_destroy_decompress(&d);
    free(cmyk_row);
    return 0;
}

int image_jpeg_read_size(FILE *f, const char *name, int *width, int *height, char *err,
                         size_t errsize)
{
    struct jpeg_decompress_struct d;
    image_jpeg_error e;
    image_jpeg_error_init(&e);
    d.err = &e.pub;
    jpeg_create_decompress(&d);
    if (setjmp(e.jump)) {
        jpeg_destroy_decompress(&d);
        return image_jpeg_fail(&e, name, err, errsize);
    }
    jpeg_stdio_src(&d, f);
    jpeg_read_header(&d, TRUE);
    int rc = image_check_size(d.image_width, d.image_height, name, err, errsize);
    if (rc == 0) {
        *width = (int)d.image_width;
        *height = (int)d.image_height;
    }
    jpeg_destroy_decompress(&d);
    return rc;
}

int image_jpeg_encode(FILE *f, const rd_image *img, int quality, const char *name, char *err,
                      size_t errsize)
{
    struct jpeg_compress_struct c;
    image_jpeg_error e;
    image_jpeg_error_init(&e);
    c.err = &e.pub;
    jpeg_create_compress(&c);
    if (setjmp(e.jump)) {
        jpeg_destroy_compress(&c);
        return image_fail(err, errsize, name, "JPEG encoding failed: %s", e.message);
    }
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)img->width;
    c.image_height = (JDIMENSION)img->height;
    c.input_components = 3;
    c.in_color_space = JCS_EXT_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    size_t stride = (size_t)img->width * 3;
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = img->rgb + (size_t)c.next_scanline * stride;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return 0;
}
