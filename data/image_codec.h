/* image_codec.h — what data/image.c shares with its two codecs (image_jpeg.c on libjpeg-turbo,
 * image_png.c on libpng). Not a public interface: callers use data/image.h. */
#ifndef RD_IMAGE_CODEC_H
#define RD_IMAGE_CODEC_H

#include <stdio.h>

#include "data/image.h"

/* Largest side and pixel count image_decode accepts (a 2^27-pixel RGB image is 384 MiB). */
#define IMAGE_MAX_SIDE 32768
#define IMAGE_MAX_PIXELS (1LL << 27)

/* "NAME: what" into err; returns -1. */
int image_fail(char *err, size_t errsize, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 0 when width × height is a size image_decode accepts, else -1 with a message. */
int image_check_size(long long width, long long height, const char *name, char *err,
                     size_t errsize);

/* Pixels for img (its width and height set): from bufs when given (grown if needed), else a
 * fresh allocation the image owns. */
uint8_t *image_pixels(rd_image *img, image_buffers *bufs);
/* Release img's pixels when it owns them (bufs NULL); img is empty afterwards. */
void image_drop(rd_image *img, image_buffers *bufs);
/* Decoders of a whole file in memory; pixels from image_pixels; img is empty on failure. */
int image_jpeg_decode(const unsigned char *bytes, size_t n, const char *name, rd_image *img,
                      image_buffers *bufs, char *err, size_t errsize);
int image_png_decode(const unsigned char *bytes, size_t n, const char *name, rd_image *img,
                     image_buffers *bufs, char *err, size_t errsize);
/* Header readers on an open file positioned at its start. */
int image_jpeg_read_size(FILE *f, const char *name, int *width, int *height, char *err,
                         size_t errsize);
int image_png_read_size(FILE *f, const char *name, int *width, int *height, char *err,
                        size_t errsize);
/* Encoders into an open file; name is for messages. */
int image_jpeg_encode(FILE *f, const rd_image *img, int quality, const char *name, char *err,
                      size_t errsize);
int image_png_encode(FILE *f, const rd_image *img, const char *name, char *err,
                     size_t errsize);

#endif
