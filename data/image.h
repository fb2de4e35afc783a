/* image.h — decoded images: JPEG (baseline, progressive, grayscale; libjpeg-turbo) and PNG
 * (RGB, RGBA, palette, gray, 16-bit; libpng), chosen by the file's first bytes, never by its
 * name. Every decoded image is 8-bit RGB. Errors name the file and the problem. */
#ifndef RD_IMAGE_H
#define RD_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct rd_image {
    int width, height;
    uint8_t *rgb;  // [height][width][3], owned (image_free); NULL when empty
} rd_image;

typedef enum image_format {
    IMAGE_FORMAT_UNKNOWN = 0,
    IMAGE_FORMAT_JPEG,
    IMAGE_FORMAT_PNG,
} image_format;

/* The format the first bytes announce (needs at most 8 bytes). */
image_format image_sniff(const unsigned char *bytes, size_t n);

/* Decode bytes (name is only for messages) into img (allocated here; the caller frees it with
 * image_free). Returns 0, or -1 with "NAME: what is wrong" in err: unknown format, truncated or
 * corrupt data, zero or absurd size. Grayscale is replicated, alpha is dropped, palettes are
 * expanded, 16-bit samples are reduced to 8. */
int image_decode(const unsigned char *bytes, size_t n, const char *name, rd_image *img,
                 char *err, size_t errsize);
/* image_decode of a whole file. */
int image_read(const char *path, rd_image *img, char *err, size_t errsize);
/* Width and height from the file's header only (no pixel decode). 0, or -1 with a message. */
int image_read_size(const char *path, int *width, int *height, char *err, size_t errsize);

/* Write img as PNG or JPEG (quality 1-100), atomically (temporary file, then rename). 0, or -1
 * with a message naming the path. */
int image_write_png(const char *path, const rd_image *img, char *err, size_t errsize);
int image_write_jpeg(const char *path, const rd_image *img, int quality, char *err,
                     size_t errsize);

/* An image of width × height (zeroed), owned by img. Aborts on OOM. */
void image_alloc(rd_image *img, int width, int height);
void image_free(rd_image *img);

#endif
