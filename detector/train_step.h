/* train_step.h — one training step of the detector over a batch (DESIGN.md, "Data flow of one
 * training step"): forward (detector/retinanet.h) → label assignment and box coding
 * (detector/assign.h, detector/box_coder.h) → scores [N][A][K] and labels [N][A][K] in the
 * order (image, level, y, x, anchor, class) → the classification loss from the registry
 * (optim/loss.h), on the whole minibatch at once → the box loss on positives (optim/box_loss.h)
 * → backward through heads, FPN and backbone → SGD (optim/sgd.h).
 *
 * Memory: the model's arenas (planned per input shape) and this step's arena (anchors, match,
 * labels, box targets, the gradients of the outputs) are sized when the input shape changes;
 * the loss and the assignment have their own grow-only scratch. After the first step of a
 * shape, a step allocates nothing (train_step_grows sums the arenas' `grows` counters so a test
 * can assert it; the assignment scratch grows only for an image with more ground truth than
 * any before). */
#ifndef RD_TRAIN_STEP_H
#define RD_TRAIN_STEP_H

#include <stddef.h>
#include <stdint.h>

#include "detector/assign.h"
#include "detector/preset.h"
#include "detector/retinanet.h"
#include "lib/arena.h"
#include "optim/box_loss.h"
#include "optim/loss.h"
#include "optim/sgd.h"

typedef struct train_config {
    const detector_preset *preset;  // anchors, assignment, box coding and box loss
    const loss_def *cls_loss;       // a registry entry (loss_find)
    loss_params cls_params;
    sgd_config sgd;
    int no_box_loss;                // 1: box regression off (no box loss, no box gradient)
    int track_ap_loss;              // 1: also the interpolated AP-loss of the scores (δ = 1)
    double clip_grad;               // > 0: gradients scaled so their global L2 norm is at most
                                    // this before the update (0: never)
} train_config;

/* Seconds of the phases of the last step (wall clock). */
typedef struct train_timing {
    double backbone_fwd, fpn_fwd, heads_fwd;
    double assign;         // anchors × ground truth, labels, box targets
    double cls_loss, box_loss;
    double zero_grad;
    double heads_bwd, fpn_bwd, backbone_bwd;
    double sgd;
    double total;
} train_timing;

/* What one step did. */
typedef struct train_stats {
    double loss;           // cls_loss + box_loss
    double cls_loss;       // the registry loss's value
    double box_loss;       // box_loss_result.loss
    double ap_loss;        // the batch's interpolated AP-loss (track_ap_loss; else -1)
    int64_t num_pos;       // positive (anchor, class) entries in the batch
    double lr;             // the learning rate the step used
    double grad_norm;      // global L2 norm of the parameter gradients, before any clipping
    train_timing time;
} train_stats;

/* The batch: normalised images and the ground truth of each. */
typedef struct train_batch {
    const float *images;   // [N][3][H][W]
    int n, h, w;
    const assign_gt *gt;   // [N] network-input pixels; labels in [0, K)
} train_batch;

typedef struct train_step {
    retinanet *model;      // not owned; its parameters are updated in place
    train_config cfg;
    sgd opt;               // over the model's trainable tensors
    int n, h, w;           // the planned batch shape (0 before the first step)
    int64_t A;             // anchors per image
    int K;
    float *anchors;        // [A][4]
    int32_t *match;        // [N][A] assign.h codes
    int8_t *labels;        // [N][A][K]
    float *targets;        // [N][A][4] box targets of positives
    float *dcls;           // [N][A][K] the loss's update of the scores
    float *dbbox;          // [N][A][4] d box loss / d deltas
    float *dap;            // [N][A][K] the AP-loss's update when tracked (else NULL)
    rd_arena arena;        // the arrays above
    rd_arena loss_ws;      // classification loss scratch
    rd_arena assign_ws;    // assignment scratch
    loss_result last;      // the classification loss's result of the last step
} train_step;

/* 0 when c fits model m (the preset's anchors per position and P6 input equal the model's, a
 * loss is set, the SGD config passes sgd_config_check), else -1 with a message naming the
 * problem in err. */
int train_step_check(const retinanet *m, const train_config *c, char *err, size_t errsize);

/* A step for model m (made with retinanet_create, training gradients present) under c, which
 * must pass train_step_check (aborts otherwise). Allocates the optimizer state. Free with
 * train_step_free (the model is not freed). */
void train_step_init(train_step *t, retinanet *m, const train_config *c);
void train_step_free(train_step *t);

/* One step on b (labels in [0, K); validate data first). Returns LOSS_OK, or the registry's
 * error when a score is not finite (the parameters are then left as they were; describe it
 * with train_step_describe). Allocates only when the batch shape changes or an image has more
 * ground truth than any before. The result does not depend on the thread count (every layer,
 * loss and the optimizer sum in fixed orders; tests/test_train_step.c checks 1 against 2). */
loss_status train_step_run(train_step *t, const train_batch *b, train_stats *out);
/* train_step_run without the SGD update: forward, losses and the parameter gradients (left in
 * the model's gradient tensors), the same statistics but no lr. */
loss_status train_step_gradients(train_step *t, const train_batch *b, train_stats *out);
/* Forget the planned batch shape, so the next step plans the model again (call after using the
 * model for anything else, e.g. an evaluation that re-planned it for inference). */
void train_step_replan(train_step *t);
/* The name of the first model parameter holding a NaN or Inf, or NULL when all are finite. */
const char *train_step_nonfinite_param(const train_step *t);

/* "score 12 (image 0, anchor 0, class 12) is NaN"-style text for a failed step, into buf. */
const char *train_step_describe(const train_step *t, loss_status st, char *buf, int bufsize);

/* The sum of the `grows` counters of every arena a step uses (the model's four and the
 * step's three): unchanged over steps means no allocation. */
size_t train_step_grows(const train_step *t);

#endif
