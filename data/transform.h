/* transform.h — image → network input. The test transforms of both presets are built from the
 * pieces below exactly as torchvision 0.14's GeneralizedRCNNTransform computes them (float32
 * scale, floor of the output size, bilinear with align_corners=False, zero padding to a
 * multiple of 32), so that `--preset torchvision` sees the tensor torchvision sees. The
 * SSD-style training transform (photometric distortion, expansion, IoU-constrained crop, flip,
 * resize to S×S) is declared below them. */
#ifndef RD_TRANSFORM_H
#define RD_TRANSFORM_H

#include "data/image.h"
#include "lib/box.h"

typedef struct norm_params {
    float mean[3], std[3];  // RGB, on the [0, 1] scale
} norm_params;

/* uint8 RGB [H][W][3] → float [3][H][W] in [0, 1] (x / 255). out holds 3·H·W floats. */
void image_to_chw01(const rd_image *img, float *out);
/* (x - mean[c]) / std[c], in place, on float [3][H][W]. */
void normalize_chw(float *x, int height, int width, const norm_params *norm);
/* torchvision's resize factor: min(min_size / short side, max_size / long side), in float32. */
float transform_resize_scale(int height, int width, float min_size, float max_size);
/* The resized size for that factor: floor(side · scale) as PyTorch's interpolate computes it. */
void transform_resized_size(int height, int width, float scale, int *out_height, int *out_width);
/* Bilinear resize of float [C][H][W] into [C][OH][OW], align_corners=False, with PyTorch's
 * index arithmetic (source = (dst + 0.5) · in/out - 0.5, clamped at 0). */
void resize_bilinear_chw(const float *x, int channels, int height, int width, float *y,
                         int out_height, int out_width);
/* Copy float [C][H][W] into the top-left of a zeroed [C][PH][PW] (PH, PW ≥ H, W). */
void pad_chw(const float *x, int channels, int height, int width, float *y, int pad_height,
             int pad_width);
/* Smallest multiple of `divisor` that is ≥ n. */
int transform_round_up(int n, int divisor);
/* torchvision's resize_boxes, in place: x · (float(new_width) / float(width)), y likewise, in
 * float32. Maps boxes onto the resized image, and detections back with the sizes swapped. */
void transform_resize_boxes(rd_box *boxes, int n, int height, int width, int new_height,
                            int new_width);

#endif
