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
/* Buffers one reading thread keeps across images, grow-only: the file's bytes and the decoded
 * pixels, so that image_read_into reallocates them only when an image is larger than any
 * before it (the codecs' own small working memory is still allocated per image). */
typedef struct image_buffers {
    unsigned char *file;  // owned
    size_t file_cap;
    uint8_t *pixels;      // owned
    size_t pixel_cap;
    size_t grows;         // reallocations so far, for tests of the steady state
} image_buffers;

/* image_read with the file and the pixels in bufs: img->rgb points into bufs->pixels, valid
 * until the next call with bufs or image_buffers_free; never image_free it. Same errors as
 * image_read (img is then empty, bufs kept). bufs starts zeroed. */
int image_read_into(const char *path, image_buffers *bufs, rd_image *img, char *err,
                    size_t errsize);
/* Release what bufs holds; it is zeroed again. */
void image_buffers_free(image_buffers *bufs);
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
