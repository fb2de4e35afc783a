/* toy_train.h — a linear ranker s = w·x + b trained by any registry loss with plain SGD on a
 * toy set (data/toy.h), full-batch or minibatch, logging the true AP after every step.
 * The study of Proposition 1 and Figure 5b (Chen et al., CVPR 2019). */
#ifndef RD_TOY_TRAIN_H
#define RD_TOY_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "data/toy.h"
#include "lib/progress.h"
#include "lib/runlog.h"
#include "optim/loss.h"

typedef struct toy_train_config {
    const loss_def *loss;  // from the registry (loss_find)
    loss_params params;
    double lr;             // SGD step: w -= lr·dw, b -= lr·db
    int64_t steps;         // SGD steps (one per batch)
    int64_t batch;         // scores per minibatch; 0 or >= n: full batch
    double init_std;       // w starts at N(0, init_std^2) per weight; 0: w = 0 (b is always 0)
    uint64_t seed;         // initial weights and the per-epoch minibatch shuffle
    int stop_at_perfect;   // stop after the first step whose training AP is 1
    rd_progress *progress; // optional: updated after every step; NULL for none
} toy_train_config;

typedef struct toy_train_result {
    int64_t steps_run;         // steps taken (rows logged)
    int64_t steps_to_perfect;  // first step after which training AP = 1; 0: at the start; -1: never
    double initial_ap;         // training AP before the first step
    double final_ap;           // training AP after the last step
    double best_ap;            // highest training AP seen (the start included)
    double final_loss;         // the loss's own value on the last batch
    double final_wnorm;        // ||w|| after the last step
    int64_t empty_batches;     // batches without a positive (zero update)
    size_t steady_allocs;      // scratch allocations after the first step (0 expected)
} toy_train_result;

/* Names of the columns logged per step in group "train", in row order. */
#define TOY_TRAIN_NCOLS 5
extern const char *const toy_train_columns[TOY_TRAIN_NCOLS];

/* Train from scratch on set. When log is not NULL, declares the "train" columns and appends
 * one row per step (step, ap, loss, wnorm, one_minus_ap). Allocates its buffers once before
 * the first step. Returns 0, or -1 after printing an error when the loss reports a bad score
 * (the run diverged: a score became NaN or Inf); result holds the steps done so far. */
int toy_train_run(const toy_train_config *cfg, const toy_set *set, rd_runlog *log,
                  toy_train_result *result);

#endif
