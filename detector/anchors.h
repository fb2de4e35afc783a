/* anchors.h — the anchors of P3..P7 for one network input, in DESIGN.md's flat order
 * (level, y, x, anchor), as float [A][4] (x1, y1, x2, y2) in network-input pixels.
 *
 * Within a location the anchors are ratio-major: index = ratio · num_scales + scale, with
 * w = size / sqrt(ratio), h = size · sqrt(ratio) (ratio = h / w).
 *   torchvision (AnchorGenerator of torchvision 0.14): sizes 32·2^{0,1/3,2/3} per level
 *     truncated to integers; in float32, h_ratio = sqrt(ratio), w_ratio = 1 / h_ratio,
 *     corners round(±w/2), round(±h/2) half to even; centres (x·sx, y·sy) with the level
 *     stride sy = padded height // grid height (sx likewise), so a padded input whose side is
 *     not a multiple of 128 gets torchvision's uneven strides exactly.
 *   paper (the AP-loss released code, lib/model/anchors.py): sizes 4·stride·{1, 2^½}, no
 *     rounding; centres ((x + ½)·2^l, (y + ½)·2^l). The released code writes boxes in the
 *     inclusive pixel-index convention (width = x2 - x1 + 1, centre (stride - 1)/2 + x·stride);
 *     the same boxes in continuous coordinates (lib/box.h) have exactly these centres and sizes.
 * Nothing here allocates or fails on valid arguments. */
#ifndef RD_ANCHORS_H
#define RD_ANCHORS_H

#include <stdint.h>

#include "detector/preset.h"

/* One level of the flat order. */
typedef struct anchor_level {
    int h, w;              // grid (feature map) size
    int stride_y, stride_x;
    int64_t offset;        // index of the level's first anchor in [A]
    int64_t count;         // h · w · anchors_per_location
} anchor_level;

/* The grid sizes a ResNet-FPN gives for an input of height × width: ceil(side / 2^l) for
 * l = 3..7 (every stride-2 convolution or pooling of the network maps n to ceil(n / 2)). */
void anchors_grid_sizes(int height, int width, int grid_h[PRESET_LEVELS],
                        int grid_w[PRESET_LEVELS]);

/* Fill levels[PRESET_LEVELS] (strides, offsets, counts) for the (padded) network input
 * height × width and the feature grids grid_h, grid_w (P3..P7, each ≥ 1). Returns A, the
 * anchors of all levels. Aborts on a grid larger than the input (a programming error). */
int64_t anchors_levels(const detector_preset *p, int height, int width,
                       const int grid_h[PRESET_LEVELS], const int grid_w[PRESET_LEVELS],
                       anchor_level levels[PRESET_LEVELS]);

/* Write the A anchors of levels (from anchors_levels with the same preset) into anchors [A][4]. */
void anchors_generate(const detector_preset *p, const anchor_level levels[PRESET_LEVELS],
                      float *anchors);

#endif
