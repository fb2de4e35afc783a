/* anchors.c — anchors of P3..P7 in the flat order (level, y, x, anchor): torchvision 0.14's
 * AnchorGenerator (generate_anchors, grid_anchors, forward) in float32 for the torchvision
 * preset, the AP-loss released code's lib/model/anchors.py (in continuous coordinates) for the
 * paper preset. See anchors.h for the formulas. */
#include "detector/anchors.h"

#include <math.h>

#include "lib/check.h"

void anchors_grid_sizes(int height, int width, int grid_h[PRESET_LEVELS],
                        int grid_w[PRESET_LEVELS])
{
    for (int l = 0; l < PRESET_LEVELS; l++) {
        int s = 1 << (l + 3);
        grid_h[l] = (height + s - 1) / s;
        grid_w[l] = (width + s - 1) / s;
    }
}

int64_t anchors_levels(const detector_preset *p, int height, int width,
                       const int grid_h[PRESET_LEVELS], const int grid_w[PRESET_LEVELS],
                       anchor_level levels[PRESET_LEVELS])
{
    int64_t offset = 0;
    for (int l = 0; l < PRESET_LEVELS; l++) {
        RD_CHECK(grid_h[l] >= 1 && grid_w[l] >= 1 && grid_h[l] <= height && grid_w[l] <= width,
                 "level %d grid %dx%d does not fit the input %dx%d", l, grid_h[l], grid_w[l],
                 height, width);
        anchor_level *lv = &levels[l];
        lv->h = grid_h[l];
        lv->w = grid_w[l];
        if (p->anchor_rule == PRESET_ANCHORS_TORCHVISION) {
            lv->stride_y = height / grid_h[l];  // image_size // grid, as torchvision
            lv->stride_x = width / grid_w[l];
        } else {
            lv->stride_y = lv->stride_x = p->strides[l];
        }
        lv->offset = offset;
        lv->count = (int64_t)lv->h * lv->w * p->anchors_per_location;
        offset += lv->count;
    }
    return offset;
}

/* The zero-centred cell anchors [anchors_per_location][4] of level l. torchvision: float32
 * h_ratio = sqrt(ratio), w_ratio = 1 / h_ratio, corners round(±w_ratio·size / 2) half to even.
 * paper: the released code's _ratio_enum then _scale_enum in double (w = sqrt(s² / ratio)
 * for the base size s = stride, then times 4·scale), cell centre (stride / 2, stride / 2). */
static void anchors_cell(const detector_preset *p, int l, float cell[PRESET_MAX_ANCHORS][4])
{
    int a = 0;
    for (int r = 0; r < p->num_ratios; r++) {
        for (int s = 0; s < p->num_scales; s++, a++) {
            float ratio = p->ratios[r], size = p->sizes[l][s];
            if (p->anchor_rule == PRESET_ANCHORS_TORCHVISION) {
                float h_ratio = sqrtf(ratio);
                float w_ratio = 1.0f / h_ratio;
                float ws = w_ratio * size, hs = h_ratio * size;
                cell[a][0] = rintf(-ws / 2.0f);
                cell[a][1] = rintf(-hs / 2.0f);
                cell[a][2] = rintf(ws / 2.0f);
                cell[a][3] = rintf(hs / 2.0f);
            } else {
                double base = p->strides[l];
                double scale = (double)size / base;  // 4·{1, 2^½}
                double ws = sqrt(base * base / ratio) * scale;
                double hs = ws * ratio;
                double c = 0.5 * base;
                cell[a][0] = (float)(c - 0.5 * ws);
                cell[a][1] = (float)(c - 0.5 * hs);
                cell[a][2] = (float)(c + 0.5 * ws);
                cell[a][3] = (float)(c + 0.5 * hs);
            }
        }
    }
}

void anchors_generate(const detector_preset *p, const anchor_level levels[PRESET_LEVELS],
                      float *anchors)
{
    RD_CHECK(p->anchors_per_location == p->num_ratios * p->num_scales &&
             p->anchors_per_location <= PRESET_MAX_ANCHORS, "preset %s: bad anchor counts",
             p->name);
    int na = p->anchors_per_location;
    for (int l = 0; l < PRESET_LEVELS; l++) {
        const anchor_level *lv = &levels[l];
        float cell[PRESET_MAX_ANCHORS][4];
        anchors_cell(p, l, cell);
        float *out = anchors + 4 * lv->offset;
        for (int y = 0; y < lv->h; y++) {
            float sy = (float)(y * lv->stride_y);
            for (int x = 0; x < lv->w; x++) {
                float sx = (float)(x * lv->stride_x);
                for (int a = 0; a < na; a++, out += 4) {
                    out[0] = sx + cell[a][0];
                    out[1] = sy + cell[a][1];
                    out[2] = sx + cell[a][2];
                    out[3] = sy + cell[a][3];
                }
            }
        }
    }
}
