/* preset.h — the two conventions presets of DESIGN.md: every number of the detector's geometry
 * (anchors, assignment, box coding, box loss, post-processing, input normalisation and test
 * resize) in one constant struct, looked up by name.
 *
 *   paper        the AP-loss paper (Chen et al., CVPR 2019) and its released code
 *                (cccorn/AP-loss: lib/config.py, lib/model/anchors.py, aploss.py, model.py,
 *                lib/dataloader/dataloader.py), written in rankdet's continuous coordinates
 *                (lib/box.h: no "+1"); where the released code differs from the paper's text
 *                the code wins, and each deviation is named at its field.
 *   torchvision  exactly torchvision 0.14's retinanet_resnet50_fpn (v1) and its
 *                GeneralizedRCNNTransform, so weights under torchvision's names give
 *                torchvision's outputs. */
#ifndef RD_PRESET_H
#define RD_PRESET_H

#include "detector/box_coder.h"
#include "optim/box_loss.h"

#define PRESET_LEVELS 5      // P3..P7
#define PRESET_MAX_SCALES 3
#define PRESET_MAX_RATIOS 3
#define PRESET_MAX_ANCHORS (PRESET_MAX_SCALES * PRESET_MAX_RATIOS)

/* How anchors sit on the grid (detector/anchors.h gives the formulas). */
typedef enum preset_anchor_rule {
    PRESET_ANCHORS_TORCHVISION = 0,  // AnchorGenerator: corners ±(w/2, h/2) rounded half to
                                     // even, centres (x·s, y·s), s = padded size // grid
    PRESET_ANCHORS_PAPER,            // exact sizes, centres ((x + ½)·s, (y + ½)·s), s = 2^level
} preset_anchor_rule;

/* Which anchors a ground truth forces positive beyond the IoU threshold (detector/assign.h). */
typedef enum preset_match_rule {
    PRESET_MATCH_TORCHVISION = 0,  // Matcher(allow_low_quality_matches=True), quirks kept
    PRESET_MATCH_PAPER,            // the released code's rule, minus the zero-overlap quirk
} preset_match_rule;

/* How the test image is resized before padding (data/transform.h does the work). */
typedef enum preset_resize_rule {
    PRESET_RESIZE_TORCHVISION = 0,  // scale in float32, size = floor(side · scale), bilinear
    PRESET_RESIZE_CV2,              // scale in double, size = round(side · scale) (cv2.resize)
} preset_resize_rule;

typedef struct detector_preset {
    const char *name;            // "paper" or "torchvision"

    /* Anchors on P3..P7. */
    int strides[PRESET_LEVELS];                     // 8, 16, 32, 64, 128
    int num_scales, num_ratios;                     // 2 × 3 (paper), 3 × 3 (torchvision)
    float sizes[PRESET_LEVELS][PRESET_MAX_SCALES];  // anchor side before the ratio, per scale
    float ratios[PRESET_MAX_RATIOS];                // h / w: 0.5, 1, 2
    int anchors_per_location;                       // num_scales · num_ratios (6 or 9)
    preset_anchor_rule anchor_rule;

    /* Label assignment. */
    float fg_iou;               // IoU ≥ fg_iou: positive (0.5)
    float bg_iou;               // IoU < bg_iou: negative (0.4); in between: ignored
    preset_match_rule match_rule;
    float crowd_ioa;            // intersection / anchor area with a crowd box > this: ignored

    /* Box coding and the box loss. */
    box_coder coder;
    box_loss_params box_loss;

    /* Head initialisation and FPN shape (for the model's own defaults to agree with). */
    float prior;                // π of the class bias -log((1 - π) / π): 0.01
    int p6_from_c5;             // 1: P6 from C5 (paper); 0: P6 from P5 (torchvision)

    /* Post-processing (detector/postprocess.h). */
    float score_thresh[PRESET_LEVELS];  // keep sigmoid scores > this, per level
    int topk_per_level;         // candidates kept per level: 1000
    float nms_iou;              // class-wise NMS suppresses IoU > this: 0.5
    int detections_per_image;   // kept after NMS: 100 (paper), 300 (torchvision)

    /* Network input (data/transform.h). */
    float mean[3], std[3];      // RGB, on the [0, 1] scale: x' = (x - mean) / std
    preset_resize_rule resize_rule;
    float test_min_size, test_max_size;  // resize factor min(min/short, max/long)
    int size_divisor;           // zero padding to a multiple of this: 32
    int train_size;             // square training input side (512 paper; 0: the test rule)
} detector_preset;

/* The preset called name ("paper" or "torchvision"), or NULL for any other name. The returned
 * struct is static and read only. */
const detector_preset *preset_find(const char *name);
/* "paper, torchvision": the accepted names, for messages and --help. */
const char *preset_names(void);

#endif
