/* sgd.h — stochastic gradient descent with momentum and weight decay, and the learning-rate
 * schedule of the detectors: a linear warm-up, then step decay.
 *
 * The update is torch.optim.SGD's (dampening 0, no Nesterov), in float32 like PyTorch:
 *   d = g + wd · w;  b = μ · b + d  (first step: b = d);  w -= lr · b
 * The schedule is detectron's WarmupMultiStepLR, which torchvision's LinearLR followed by
 * MultiStepLR (chained) also gives:
 *   lr(t) = lr · warm(t) · gamma^(number of milestones ≤ t),
 *   warm(t) = f + (1 - f) · t / T for t < T, else 1   (f = warmup_factor, T = warmup_steps)
 * so "a warm-up over 500 steps from lr/3" is f = 1/3, T = 500: step 0 trains at lr/3 and
 * step 500 at lr. Steps count from 0. */
#ifndef RD_SGD_H
#define RD_SGD_H

#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"

#define SGD_MAX_MILESTONES 8

typedef struct sgd_config {
    double lr;              // base learning rate
    double momentum;        // μ
    double weight_decay;    // wd, added to every gradient as wd · w
    int warmup_steps;       // T: steps of linear warm-up (0: none)
    double warmup_factor;   // f: the factor of step 0
    double gamma;           // decay factor at each milestone
    int num_milestones;
    int64_t milestones[SGD_MAX_MILESTONES];  // increasing steps at which lr is multiplied by gamma
} sgd_config;

/* The paper preset: lr 0.001, momentum 0.9, weight decay 1e-4, warm-up over 500 steps from
 * lr/3, gamma 0.1, no milestones (a run adds its own). */
void sgd_config_default(sgd_config *c);
/* 0 when c is usable, else -1 with a message naming the field and the problem in err. */
int sgd_config_check(const sgd_config *c, char *err, size_t errsize);
/* lr(step) of the schedule above, step ≥ 0. Cannot fail. */
double sgd_lr_at(const sgd_config *c, int64_t step);

/* One parameter tensor: values updated in place, its gradient (read only). A tensor with
 * grad NULL is frozen and never touched, so a whole parameter table can be passed. */
typedef struct sgd_tensor {
    float *data;        // [count]
    const float *grad;  // [count] or NULL (frozen)
    size_t count;
} sgd_tensor;

typedef struct sgd {
    sgd_config cfg;
    sgd_tensor *tensors;  // [ntensors] the trainable tensors (owned copy of the list)
    float **momentum;     // [ntensors] their momentum buffers, views into arena
    int ntensors;
    size_t num_values;    // floats updated per step
    int64_t step;         // steps taken; the next step uses sgd_lr_at(cfg, step)
    rd_arena arena;       // the momentum buffers (one allocation)
} sgd;

/* An optimizer over the trainable tensors of list[0..n-1] (the ones with a gradient), with zero
 * momentum buffers and step 0. c must pass sgd_config_check (aborts otherwise). Allocates its
 * buffers once (aborts on OOM); free with sgd_free. */
void sgd_init(sgd *s, const sgd_config *c, const sgd_tensor *list, int n);
void sgd_free(sgd *s);
/* One update of every trainable tensor with lr = sgd_lr_at(cfg, step), then step + 1. Returns
 * the lr used. Allocates nothing; the result does not depend on the thread count. */
double sgd_step(sgd *s);

#endif
