/* box_loss.h — the box regression losses on positive anchors: smooth L1 and L1, with their
 * gradients.
 *
 * Per coordinate, with x = delta - target (PyTorch's F.smooth_l1_loss and F.l1_loss):
 *   smooth L1:  0.5 x² / β  when |x| < β,  else |x| - 0.5 β     (β = 0 is L1)
 *   L1:         |x|                                            (d/dx at 0 is 0, as sign(0))
 * summed over the 4 coordinates of every positive anchor, then normalised:
 *   BOX_LOSS_NORM_BATCH      sum over the batch / max(1, positives in the batch)
 *                            (the AP-loss released code)
 *   BOX_LOSS_NORM_PER_IMAGE  mean over images of (sum of image i) / max(1, positives of i)
 *                            (torchvision 0.14's RetinaNetRegressionHead.compute_loss)
 * and multiplied by weight. The gradient written is the exact derivative of the returned loss,
 * so finite differences check it. Sums are in double; nothing here allocates and the result
 * does not depend on the thread count. */
#ifndef RD_BOX_LOSS_H
#define RD_BOX_LOSS_H

#include <stdint.h>

typedef enum box_loss_kind {
    BOX_LOSS_SMOOTH_L1 = 0,  // smooth L1 with β (the paper: β = 1)
    BOX_LOSS_L1,             // L1 (torchvision RetinaNet's default `_loss_type = "l1"`)
} box_loss_kind;

typedef enum box_loss_norm {
    BOX_LOSS_NORM_BATCH = 0,   // / max(1, positives of the whole batch)
    BOX_LOSS_NORM_PER_IMAGE,   // per image / max(1, its positives), then the mean over images
} box_loss_norm;

typedef struct box_loss_params {
    box_loss_kind kind;
    float beta;          // smooth L1 only: β ≥ 0 (0 gives L1)
    box_loss_norm norm;
    double weight;       // multiplies loss and gradient (the paper preset's 0.25: see preset.h)
} box_loss_params;

typedef struct box_loss_result {
    double loss;         // weight · normalised sum: the value whose gradient is written
    double sum;          // the plain sum over positives' coordinates (no normaliser, no weight)
    int64_t num_pos;     // positive anchors in the batch
} box_loss_result;

/* "smooth_l1" or "l1" → *kind; returns 0, or -1 for any other name (nothing written). */
int box_loss_kind_parse(const char *name, box_loss_kind *kind);
/* The name box_loss_kind_parse accepts for kind. */
const char *box_loss_kind_name(box_loss_kind kind);

/* The box loss of a batch of n images with A anchors each. deltas, targets [N][A][4] (targets
 * read only where the anchor is positive: box_coder_encode_matched writes them); match [N][A]:
 * an anchor is positive when match ≥ 0 (the matched ground-truth index of detector/assign.h).
 * ddeltas [N][A][4] (may be NULL) is OVERWRITTEN with d loss / d deltas, 0 off positives.
 * Cannot fail (p must be valid: β ≥ 0; aborts otherwise); allocates nothing. */
void box_loss_compute(const box_loss_params *p, const float *deltas, const float *targets,
                      const int32_t *match, int n, int64_t A, float *ddeltas,
                      box_loss_result *out);

#endif
