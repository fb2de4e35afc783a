/* train_ctx.h — the state of one training run, shared by experiments/train_run.c (the loop)
 * and experiments/train_setup.c (opening, resuming, checkpoints, final outputs). Internal to
 * `rankdet train`. */
#ifndef RD_TRAIN_CTX_H
#define RD_TRAIN_CTX_H

#include <stdint.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "detector/retinanet.h"
#include "detector/train_step.h"
#include "experiments/evaluate.h"
#include "experiments/train_run.h"
#include "lib/progress.h"
#include "lib/runlog.h"

#define TRAIN_LOG_COLS 11   // train/ columns (train_run.h)
#define TRAIN_EVAL_COLS 9   // eval/ columns

/* Sums over the steps since the last train/ row (kept in checkpoints, so a resumed run writes
 * the rows the uninterrupted one writes). */
typedef struct train_window {
    double loss, cls, box, ap, pos, lr, grad_norm;
    int64_t steps;
    double start;  // elapsed seconds at the window's start
} train_window;

typedef struct train_ctx {
    const train_run_config *c;
    const detector_preset *preset;
    const loss_def *loss;
    rd_dataset train_ds, val_ds;
    int have_train_ds, have_val_ds;
    retinanet *model;
    train_step step;
    int have_step;
    rd_loader *loader;
    rd_runlog *log;
    eval_config eval;
    rd_progress progress;
    char *config_text;             // resolved config, "key = value" lines
    int64_t batches_per_epoch;
    int64_t total_steps;
    int64_t last_checkpoint;       // step of the last checkpoint written or read; -1: none
    int64_t start_step;            // 0, or the checkpoint's step when resuming
    double t0;                     // monotonic start of this process's part of the run
    double elapsed_before;         // seconds the run had taken before a resume
    double resumed_at;             // elapsed seconds at this process's start
    train_window window;
    double last_loss;              // of the last step, for the progress display
    assign_gt *gt;                 // [batch]
} train_ctx;

/* Open everything for c (datasets, model, loader, log; the checkpoint when resuming). 0, or the
 * exit status after a message (2 bad config, 1 bad data or files); train_teardown either way. */
int train_setup(train_ctx *x, const train_run_config *c, const char *command_line);
void train_teardown(train_ctx *x);

/* out/checkpoint.h5 with the state after `step` steps, atomically. 0, or 1 after a message. */
int train_save_checkpoint(train_ctx *x, int64_t step);
/* metrics.tsv, detections.json and final.h5 in out/. 0, or 1 after a message. */
int train_write_final(train_ctx *x, const eval_metrics *em, const rd_detection *dets,
                      int64_t ndets);
/* Seconds of the run so far, over every resume. */
double train_elapsed(const train_ctx *x);

#endif
