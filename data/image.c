/* image.c — image files: the format from the first bytes (JPEG SOI FF D8 FF, the 8-byte PNG
 * signature), whole-file reads (one read per file), header-only sizes, atomic writes. The
 * codecs live in image_jpeg.c (libjpeg-turbo) and image_png.c (libpng). */
#include "data/image.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/image_codec.h"
#include "lib/check.h"

static const unsigned char IMAGE_PNG_SIGNATURE[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

int image_fail(char *err, size_t errsize, const char *name, const char *fmt, ...)
{
    int len = snprintf(err, errsize, "%s: ", name);
    va_list ap;
    va_start(ap, fmt);
    rd_err_vappend(err, errsize, len, fmt, ap);
    va_end(ap);
    return -1;
}

int image_check_size(long long width, long long height, const char *name, char *err,
                     size_t errsize)
{
    if (width <= 0 || height <= 0)
        return image_fail(err, errsize, name, "image size %lldx%lld is empty", width, height);
    if (width > IMAGE_MAX_SIDE || height > IMAGE_MAX_SIDE || width * height > IMAGE_MAX_PIXELS)
        return image_fail(err, errsize, name,
                          "image size %lldx%lld is too large (at most %d per side and %lld "
                          "pixels)", width, height, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS);
    return 0;
}

image_format image_sniff(const unsigned char *bytes, size_t n)
{
    if (n >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff)
        return IMAGE_FORMAT_JPEG;
    if (n >= 8 && memcmp(bytes, IMAGE_PNG_SIGNATURE, 8) == 0)
        return IMAGE_FORMAT_PNG;
    return IMAGE_FORMAT_UNKNOWN;
}

/* "not a JPEG or PNG file (first bytes 3c 3f 78 6d)" for an unknown format. */
static int image_fail_unknown(const unsigned char *bytes, size_t n, const char *name, char *err,
                              size_t errsize)
{
    if (n == 0)
        return image_fail(err, errsize, name, "empty file, not an image");
    char hex[3 * 8 + 1] = "";
    size_t len = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        len += (size_t)snprintf(hex + len, sizeof hex - len, i ? " %02x" : "%02x", bytes[i]);
    return image_fail(err, errsize, name, "not a JPEG or PNG file (first bytes %s)", hex);
}

uint8_t *image_pixels(rd_image *img, image_buffers *bufs)
{
    size_t bytes = (size_t)img->width * (size_t)img->height * 3;
    if (bufs == NULL)
        return rd_malloc(bytes, "image pixels");
    if (bytes > bufs->pixel_cap) {
        free(bufs->pixels);
        bufs->pixels = rd_malloc(bytes, "image pixels");
        bufs->pixel_cap = bytes;
        bufs->grows++;
    }
    return bufs->pixels;
}

void image_drop(rd_image *img, image_buffers *bufs)
{
    if (bufs == NULL)
        free(img->rgb);
    img->rgb = NULL;
    img->width = img->height = 0;
}

/* image_decode with the pixels from bufs (NULL: owned by img). */
static int image_decode_with(const unsigned char *bytes, size_t n, const char *name,
                             rd_image *img, image_buffers *bufs, char *err, size_t errsize)
{
    img->width = img->height = 0;
    img->rgb = NULL;
    switch (image_sniff(bytes, n)) {
    case IMAGE_FORMAT_JPEG:
        return image_jpeg_decode(bytes, n, name, img, bufs, err, errsize);
    case IMAGE_FORMAT_PNG:
        return image_png_decode(bytes, n, name, img, bufs, err, errsize);
    default:
        return image_fail_unknown(bytes, n, name, err, errsize);
    }
}

int image_decode(const unsigned char *bytes, size_t n, const char *name, rd_image *img,
                 char *err, size_t errsize)
{
    return image_decode_with(bytes, n, name, img, NULL, err, errsize);
}

/* The whole regular file at path: in bufs->file when bufs is given (grown if needed), else
 * in a fresh buffer the caller frees. *n bytes; NULL with a message when it cannot be read. */
static unsigned char *image_read_file(const char *path, image_buffers *bufs, size_t *n,
                                      char *err, size_t errsize)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        image_fail(err, errsize, path, "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        image_fail(err, errsize, path, "not a regular file");
        fclose(f);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    unsigned char *buf = NULL;
    if (bufs == NULL) {
        buf = rd_malloc(size, "an image file");
    } else {
        if (size > bufs->file_cap) {
            free(bufs->file);
            bufs->file = rd_malloc(size, "an image file");
            bufs->file_cap = size;
            bufs->grows++;
        }
        buf = bufs->file;
    }
    size_t got = fread(buf, 1, size, f);
    int bad = ferror(f) || got != size;
    fclose(f);
    if (bad) {
        image_fail(err, errsize, path, "read error after %zu of %zu bytes", got, size);
        if (bufs == NULL)
            free(buf);
        return NULL;
    }
    *n = size;
    return buf;
}

int image_read(const char *path, rd_image *img, char *err, size_t errsize)
{
    img->width = img->height = 0;
    img->rgb = NULL;
    size_t n = 0;
    unsigned char *bytes = image_read_file(path, NULL, &n, err, errsize);
    if (bytes == NULL)
        return -1;
    int rc = image_decode(bytes, n, path, img, err, errsize);
    free(bytes);
    return rc;
}

int image_read_into(const char *path, image_buffers *bufs, rd_image *img, char *err,
                    size_t errsize)
{
    img->width = img->height = 0;
    img->rgb = NULL;
    size_t n = 0;
    unsigned char *bytes = image_read_file(path, bufs, &n, err, errsize);
    if (bytes == NULL)
        return -1;
    return image_decode_with(bytes, n, path, img, bufs, err, errsize);
}

void image_buffers_free(image_buffers *bufs)
{
    free(bufs->file);
    free(bufs->pixels);
    *bufs = (image_buffers){0};
}

int image_read_size(const char *path, int *width, int *height, char *err, size_t errsize)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return image_fail(err, errsize, path, "cannot open: %s", strerror(errno));
    unsigned char head[8];
    size_t n = fread(head, 1, sizeof head, f);
    int rc = -1;
    image_format format = image_sniff(head, n);
    if (format == IMAGE_FORMAT_UNKNOWN)
        rc = image_fail_unknown(head, n, path, err, errsize);
    else if (fseek(f, 0, SEEK_SET) != 0)
        rc = image_fail(err, errsize, path, "cannot seek: %s", strerror(errno));
    else if (format == IMAGE_FORMAT_JPEG)
        rc = image_jpeg_read_size(f, path, width, height, err, errsize);
    else
        rc = image_png_read_size(f, path, width, height, err, errsize);
    fclose(f);
    return rc;
}

/* Encode into a temporary file beside path, then rename it over path. */
static int image_write_atomic(const char *path, const rd_image *img, int quality, int png,
                              char *err, size_t errsize)
{
    RD_CHECK(img->rgb != NULL && img->width > 0 && img->height > 0, "writing an empty image");
    size_t len = strlen(path) + 16;
    char *tmp = rd_malloc(len, "a temporary file name");
    snprintf(tmp, len, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        image_fail(err, errsize, path, "cannot create a temporary file: %s", strerror(errno));
        free(tmp);
        return -1;
    }
    (void)fchmod(fd, 0644);  // mkstemp creates 0600; written files are for everyone to read
    FILE *f = fdopen(fd, "wb");
    RD_CHECK(f != NULL, "fdopen of a fresh temporary file failed: %s", strerror(errno));
    int rc = png ? image_png_encode(f, img, path, err, errsize)
                 : image_jpeg_encode(f, img, quality, path, err, errsize);
    if (fflush(f) != 0 && rc == 0)
        rc = image_fail(err, errsize, path, "write error: %s", strerror(errno));
    if (fclose(f) != 0 && rc == 0)
        rc = image_fail(err, errsize, path, "write error: %s", strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = image_fail(err, errsize, path, "cannot rename the temporary file: %s",
                        strerror(errno));
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int image_write_png(const char *path, const rd_image *img, char *err, size_t errsize)
{
    return image_write_atomic(path, img, 0, 1, err, errsize);
}

int image_write_jpeg(const char *path, const rd_image *img, int quality, char *err,
                     size_t errsize)
{
    RD_CHECK(quality >= 1 && quality <= 100, "JPEG quality %d is outside 1-100", quality);
    return image_write_atomic(path, img, quality, 0, err, errsize);
}

void image_alloc(rd_image *img, int width, int height)
{
    RD_CHECK(width > 0 && height > 0, "image size %dx%d", width, height);
    img->width = width;
    img->height = height;
    img->rgb = rd_calloc((size_t)width * (size_t)height, 3, "image pixels");
}

void image_free(rd_image *img)
{
    free(img->rgb);
    img->rgb = NULL;
    img->width = img->height = 0;
}
