/* train_run.h — `rankdet train CONFIG [key=value ...]`: a whole training run of the detector
 * on the CPU: dataset and loader, model, training steps, periodic evaluation, HDF5 run log,
 * checkpoints, resume, signals, progress.
 *
 * Config: one `key = value` file (experiments/<name>.cfg; keys are the table's names, '-' and '_'
 * alike) then key=value overrides; every key of train_run_opts can be overridden. The resolved
 * config goes into the run log and every checkpoint.
 *
 * What a run writes into its directory `out`:
 *   log.h5         the run log (lib/runlog.h). Root attributes: version, git_commit,
 *                  command_line, config, seed, start_time. Groups (float64 columns):
 *                    train/  step epoch loss cls_loss box_loss ap_loss lr num_pos seconds
 *                            images_per_s grad_norm        (one row every log_every steps; loss columns
 *                            are means over those steps; ap_loss is the interpolated AP-loss
 *                            of the batch's scores whatever the training loss, Figure 5b)
 *                    eval/   step epoch AP AP50 AP75 APs APm APl seconds   (each evaluation)
 *   checkpoint.h5  the latest training state (every checkpoint_every steps, at a signal and
 *                  at the end): state_dict/, optim/momentum/<name>, root attributes step,
 *                  epoch, seed, config, format_version.
 *   final.h5       the trained weights (state_dict/ only), written at the end.
 *   metrics.tsv    the final evaluation: a header line `# AP AP50 AP75 APs APm APl` and one
 *                  row of numbers in [0, 1], tab-separated; the same numbers as the last row
 *                  of eval/ (experiments/evaluate.h says which metric defines them).
 *   detections.json  the final evaluation's detections (COCO results format).
 *
 * Resume (`resume=1`): reads out/checkpoint.h5, checks that its config equals this run's
 * (apart from keys that do not change the result: threads, steps budget extensions are
 * refused too — every key must match but `resume`, `threads`, `progress`), trims log.h5 to
 * the checkpoint's step and continues so that weights, momentum, losses and metrics are bit
 * for bit those of the uninterrupted run.
 *
 * Exit: 0 when the run finished; 130 (SIGINT) or 143 (SIGTERM) after writing checkpoint.h5
 * and flushing the log; 1 when a loss or weight became NaN or Inf (message naming the step and
 * tensor; checkpoint.h5 is left as the last good one) or an image could not be read; 2 for a
 * bad config (message naming the key). */
#ifndef RD_TRAIN_RUN_H
#define RD_TRAIN_RUN_H

#include <stdint.h>

#include "lib/cli.h"

typedef struct train_run_config {
    /* data */
    char data[RD_CLI_STR];         // dataset root (VOC, COCO or YOLO; data/dataset.h)
    char train_split[RD_CLI_STR];  // VOC split or COCO annotation file of the training set
    char val_split[RD_CLI_STR];    // ... of the evaluation set
    char val_data[RD_CLI_STR];     // evaluation dataset root when it differs from data
    char names[RD_CLI_STR];        // class names file ("" : the dataset's own)
    int skip_bad;                  // 1: leave bad samples out (counted), 0: stop at the first
    /* model */
    char preset[RD_CLI_STR];       // paper | torchvision
    char backbone[RD_CLI_STR];     // resnet18 | resnet34 | resnet50 | resnet101
    int width;                     // ResNet stem channels (64)
    int fpn_channels;              // FPN and head channels (256)
    int frozen_stages;             // 0 none ... 5 whole backbone (2: stem + layer1)
    char pretrained[RD_CLI_STR];   // HDF5 with state_dict/ tensors to start from ("" : none)
    char fpn_init[RD_CLI_STR];     // preset | gaussian | kaiming
    double head_std;               // heads' hidden convolutions (0: kaiming)
    int zero_init_residual;        // residual branches start at zero
    int bn_train;                  // training-mode BatchNorm in the trainable stages
    /* loss */
    char loss[RD_CLI_STR];         // registry name: ap auc approx_ap hinge_ap focal ce_ohem
    double delta;                  // ap, auc
    int interp;                    // ap
    double tau, eps, alpha, gamma; // approx_ap, focal
    int neg_per_pos;               // ce_ohem
    int box_loss;                  // 1: box regression on; 0: off (Figure 5b)
    /* schedule */
    int batch;                     // images per step (all ranked together)
    int train_size;                // S: training input S×S
    double epochs;                 // length of the run in epochs (steps = epochs × batches/epoch)
    int64_t steps;                 // > 0: overrides epochs
    double lr;
    double momentum, weight_decay;
    int warmup_steps;
    double warmup_factor;
    char lr_steps[RD_CLI_STR];     // epochs at which lr ×= gamma_lr, "110,140"
    double lr_gamma;
    double clip_grad;              // > 0: global gradient norm cap before each update
    int augment;                   // SSD-style augmentation on
    /* evaluation */
    int64_t eval_every;            // steps between evaluations (0: only at the end)
    int test_size;                 // test short side (0: the preset's)
    char test_scales[RD_CLI_STR];  // "" single scale; "400,500,600" multi-scale test
    int test_flip;                 // multi-scale: also the mirrored image
    int64_t eval_limit;            // evaluate on the first N images only (0: all)
    /* run */
    char out[RD_CLI_STR];          // run directory
    int64_t seed;
    int threads;
    int64_t log_every;
    int64_t checkpoint_every;      // 0: only at signals and at the end
    int resume;
    int progress;                  // 1: progress display on stderr
} train_run_config;

extern const cli_spec train_run_spec;

/* Run the training described by c (already resolved). Returns the exit status above. */
int train_run(const train_run_config *c, const char *command_line);

#endif
