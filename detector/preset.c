/* preset.c — the numbers of the two conventions presets (DESIGN.md "Two conventions presets").
 * paper: cccorn/AP-loss (lib/config.py: ratios {0.5, 1, 2}, scales {1, 2^½} × 4 · stride,
 * train 512, test [500, 833], caffe pixel means; aploss.py: IoU 0.5 / 0.4, variances
 * (0.1, 0.1, 0.2, 0.2), smooth L1 β = 1 whose gradient is divided by 4 · positives while the
 * reported loss is divided by positives only — hence weight 0.25 here; model.py: prior 0.01,
 * P6 from C5, top 1000 per level, score > 0.01 except P7 > 0, NMS 0.5, keep 100).
 * torchvision: torchvision 0.14 retinanet.py (anchor sizes (x, int(x·2^⅓), int(x·2^⅔)) for
 * x = 32..512, Matcher(0.5, 0.4, True), BoxCoder((1, 1, 1, 1)), L1 loss per image, score 0.05,
 * top 1000, NMS 0.5, keep 300, min 800 / max 1333, ImageNet mean and std). */
#include "detector/preset.h"

#include <string.h>

/* log(1000 / 16): torchvision's bbox_xform_clip, as float32. */
#define PRESET_DWH_CLIP 4.135166556742356f

static const detector_preset preset_paper = {
    .name = "paper",
    .strides = {8, 16, 32, 64, 128},
    .num_scales = 2,
    .num_ratios = 3,
    .sizes = {{32.0f, 45.254833995939045f},
              {64.0f, 90.50966799187809f},
              {128.0f, 181.01933598375618f},
              {256.0f, 362.03867196751236f},
              {512.0f, 724.0773439350247f}},
    .ratios = {0.5f, 1.0f, 2.0f},
    .anchors_per_location = 6,
    .anchor_rule = PRESET_ANCHORS_PAPER,
    .fg_iou = 0.5f,
    .bg_iou = 0.4f,
    .match_rule = PRESET_MATCH_PAPER,
    .crowd_ioa = 0.5f,
    .coder = {.weights = {10.0f, 10.0f, 5.0f, 5.0f}, .dwh_clip = PRESET_DWH_CLIP},
    .box_loss = {.kind = BOX_LOSS_SMOOTH_L1, .beta = 1.0f, .norm = BOX_LOSS_NORM_BATCH,
                 .weight = 0.25},
    .prior = 0.01f,
    .p6_from_c5 = 1,
    .score_thresh = {0.01f, 0.01f, 0.01f, 0.01f, 0.0f},
    .topk_per_level = 1000,
    .nms_iou = 0.5f,
    .detections_per_image = 100,
    /* The released code subtracts BGR means (102.9801, 115.9465, 122.7717) from 0..255 pixels
     * and divides by nothing; in rankdet's RGB [0, 1] terms: */
    .mean = {122.7717f / 255.0f, 115.9465f / 255.0f, 102.9801f / 255.0f},
    .std = {1.0f / 255.0f, 1.0f / 255.0f, 1.0f / 255.0f},
    .resize_rule = PRESET_RESIZE_CV2,
    .test_min_size = 500.0f,
    .test_max_size = 833.0f,
    .size_divisor = 32,
    .train_size = 512,
};

static const detector_preset preset_torchvision = {
    .name = "torchvision",
    .strides = {8, 16, 32, 64, 128},
    .num_scales = 3,
    .num_ratios = 3,
    .sizes = {{32.0f, 40.0f, 50.0f},
              {64.0f, 80.0f, 101.0f},
              {128.0f, 161.0f, 203.0f},
              {256.0f, 322.0f, 406.0f},
              {512.0f, 645.0f, 812.0f}},
    .ratios = {0.5f, 1.0f, 2.0f},
    .anchors_per_location = 9,
    .anchor_rule = PRESET_ANCHORS_TORCHVISION,
    .fg_iou = 0.5f,
    .bg_iou = 0.4f,
    .match_rule = PRESET_MATCH_TORCHVISION,
    .crowd_ioa = 0.5f,
    .coder = {.weights = {1.0f, 1.0f, 1.0f, 1.0f}, .dwh_clip = PRESET_DWH_CLIP},
    .box_loss = {.kind = BOX_LOSS_L1, .beta = 1.0f, .norm = BOX_LOSS_NORM_PER_IMAGE,
                 .weight = 1.0},
    .prior = 0.01f,
    .p6_from_c5 = 0,
    .score_thresh = {0.05f, 0.05f, 0.05f, 0.05f, 0.05f},
    .topk_per_level = 1000,
    .nms_iou = 0.5f,
    .detections_per_image = 300,
    .mean = {0.485f, 0.456f, 0.406f},
    .std = {0.229f, 0.224f, 0.225f},
    .resize_rule = PRESET_RESIZE_TORCHVISION,
    .test_min_size = 800.0f,
    .test_max_size = 1333.0f,
    .size_divisor = 32,
    .train_size = 0,
};

const detector_preset *preset_find(const char *name)
{
    if (name == NULL)
        return NULL;
    if (strcmp(name, "paper") == 0)
        return &preset_paper;
    if (strcmp(name, "torchvision") == 0)
        return &preset_torchvision;
    return NULL;
}

const char *preset_names(void)
{
    return "paper, torchvision";
}
