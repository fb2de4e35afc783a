/* transform.h — image → network input. The test transforms of both presets are built from the
 * pieces below exactly as torchvision 0.14's GeneralizedRCNNTransform computes them (float32
 * scale, floor of the output size, bilinear with align_corners=False, zero padding to a
 * multiple of 32), so that `--preset torchvision` sees the tensor torchvision sees. The
 * SSD-style training transform (photometric distortion, expansion, IoU-constrained crop, flip,
 * resize to S×S) is declared below them. */
#ifndef RD_TRANSFORM_H
#define RD_TRANSFORM_H

#include <stdint.h>

#include "data/dataset.h"
#include "data/image.h"
#include "lib/arena.h"
#include "lib/box.h"
#include "lib/rng.h"

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
/* The source indices and weights resize_bilinear_chw uses along one axis of `in` → `out`
 * pixels: destination d reads i0[d] and i1[d] with weights w0[d] and w1[d]. */
void transform_bilinear_weights(int in, int out, int *i0, int *i1, float *w0, float *w1);

/* ---- SSD-style training transform (data/transform_train.c) ----
 * The augmentation of the AP-loss release (lib/dataloader/augmentations.py, itself
 * ssd.pytorch's): photometric distortion, expansion, IoU-constrained random crop, horizontal
 * flip, resize to S×S, normalisation; boxes follow. Split in three so each part can be tested:
 * transform_train_draw makes every random choice of one sample (from the caller's generator,
 * in the release's order), transform_train_boxes and transform_train_pixels apply them.
 * Boxes are continuous pixels (no "+1"): a crop is the integer rectangle [x1, x2) × [y1, y2);
 * a flip maps x to S - x; the canvas of an expansion is int(W·ratio) × int(H·ratio) with the
 * image at integer offsets. Differences from the release, on purpose: pixels are clamped to
 * [0, 255] after brightness, after each contrast and after the lighting step, saturation is
 * clamped to 1 (the release lets values run outside the HSV cone), the distorted pixels are
 * rounded to 8 bits, the resize is always bilinear (the release picks one of five
 * interpolations at random), and an image without boxes takes any crop of a valid shape. */

typedef enum train_lighting {
    TRAIN_LIGHTING_NONE = 0,
    TRAIN_LIGHTING_SWAP,  // ssd.pytorch's RandomLightingNoise: a random channel permutation
    TRAIN_LIGHTING_PCA,   // the AP-loss release: AlexNet's PCA colour noise (std 0.1)
} train_lighting;

typedef struct train_transform_config {
    int size;                 // S: the output is [3][S][S]
    norm_params norm;         // applied to x / 255 after the augmentation
    float fill[3];            // RGB 0..255 that an expansion fills with (the mean pixel)
    float max_expand;         // canvas sides up to max_expand × the image's (4)
    int photometric;          // 1: brightness, contrast, saturation, hue, lighting
    train_lighting lighting;  // the photometric distortion's last step
    int expand, crop, flip;   // 1: the step may happen (each draws its own coin)
} train_transform_config;

/* Every random choice for one sample. Neutral values mean "not applied". */
typedef struct train_draw {
    int width, height;              // the input image
    float brightness;               // added to every channel (0)
    float contrast_first;           // multiplier before the HSV step (1)
    float saturation;               // multiplier of S in HSV (1)
    float hue;                      // degrees added to H (0)
    float contrast_last;            // multiplier after the HSV step (1)
    int swap[3];                    // output channel c takes input channel swap[c] ({0,1,2})
    float lighting_add[3];          // PCA noise added per RGB channel (0)
    int canvas_width, canvas_height;  // after expansion (= the image's when none)
    int offset_x, offset_y;         // the image's top-left on the canvas (0, 0)
    int crop_mode;                  // 0: whole canvas; 1-4: min IoU 0.1, 0.3, 0.7, 0.9; 5: any
    int crop_x1, crop_y1, crop_x2, crop_y2;  // canvas pixels [x1, x2) × [y1, y2)
    int flip;                       // mirrored left-right after the crop
} train_draw;

/* The release's settings: size S, expansion up to 4× filled with the mean pixel, every step on,
 * channel-swap lighting. */
void transform_train_defaults(train_transform_config *cfg, int size, const norm_params *norm);
/* Draw one sample's choices for a width × height image with n objects (their boxes steer the
 * crop), consuming rng. Cannot fail; the crop search is bounded (then the whole canvas). */
void transform_train_draw(const train_transform_config *cfg, int width, int height,
                          const rd_object *objects, int n, rd_rng *rng, train_draw *d);
/* The choices of the test transform of the `paper` preset: no distortion, no expansion, the
 * whole image, no flip (resize to S×S and normalise only). */
void transform_train_identity(int width, int height, train_draw *d);
/* The objects as the network sees them, in output pixels [0, S]: shifted by the expansion,
 * kept when the crop holds their centre strictly inside (every one when the crop is the whole
 * canvas), clipped to the crop, scaled to S×S, mirrored. Labels and flags are kept; area
 * becomes the new box's area. Writes at most n objects to out; returns how many. */
int transform_train_boxes(const train_draw *d, int size, const rd_object *in, int n,
                          rd_object *out);
/* The pixels: out [3][S][S] = normalised bilinear resize of the crop of the distorted, expanded
 * image (mirrored when d->flip). scratch is grow-only and is reserved to
 * transform_train_scratch_bytes(img), so once it holds that much for the largest image, calls
 * allocate nothing. img must be d->width × d->height. */
void transform_train_pixels(const train_draw *d, const train_transform_config *cfg,
                            const rd_image *img, rd_arena *scratch, float *out);
/* The scratch transform_train_pixels needs for a width × height image at size S, whatever the
 * draw (grows with each argument). */
size_t transform_train_scratch_bytes(int width, int height, int size);

#endif
