/* retinanet.h — the RetinaNet model on the CPU (Lin et al., ICCV 2017): a ResNet backbone
 * (detector/resnet.h), the FPN P3–P7 (detector/fpn.h) and the class and box heads shared
 * over levels (detector/heads.h), with training-grade backward.
 *
 * Memory: one arena each for parameters, gradients, activations and scratch. The parameter
 * and gradient arenas are sized at creation; retinanet_plan sizes activations and scratch for
 * one input shape, and forward, backward and zero_grad then allocate nothing (a training loop
 * that plans the same shape every step allocates only on its first step; the arenas' `grows`
 * counters let a test assert it).
 *
 * The parameter table lists every tensor of torchvision's state_dict for the same network
 * (retinanet_resnet50_fpn for depth 50, width 64, 256 FPN channels, K = 91): name, OIHW or
 * [C] shape, values, and a gradient when trainable. BatchNorm tensors are frozen by default;
 * with bn_train the BatchNorms of the trainable stages run in training mode
 * (torch.nn.BatchNorm2d: batch statistics in a training plan, running statistics updated with
 * momentum 0.1 in the table's running_mean / running_var, so checkpoints carry them, and folded
 * into the affine by every inference plan) and their weight and bias are trainable; the SGD
 * applies weight decay to them like to every trainable tensor, as PyTorch's SGD does when given
 * all parameters. The running statistics are never trainable. The stem and first layers are
 * frozen as retinanet_config says. */
#ifndef RD_RETINANET_H
#define RD_RETINANET_H

#include <stddef.h>
#include <stdint.h>

#include "detector/heads.h"
#include "detector/preset.h"
#include "lib/arena.h"

#define RETINANET_NAME_MAX 96  // longest state_dict name + 1

typedef struct retinanet_config {
    int depth;            // ResNet depth: 18, 34, 50 or 101
    int width;            // ResNet stem channels (64; smaller only for tests)
    int fpn_channels;     // FPN and head channels (256; smaller only for tests)
    int num_classes;      // K ≥ 1 (no background class: sigmoid scores)
    int num_anchors;      // anchors per position (6 paper, 9 torchvision)
    int p6_from_c5;       // 1: P6 on C5 (paper preset); 0: P6 on P5 (torchvision preset)
    int frozen_stages;    // 0 none, 1 stem, 2 stem + layer1 (default), ... 5 whole backbone
    float bn_eps;         // frozen BatchNorm eps (1e-5)
    float prior;          // prior probability π of the class logits' bias -log((1-π)/π) (0.01)
    float box_last_std;   // std of bbox_reg's initial weights (0.01; 0.001 in the AP-loss code)
    int fpn_gaussian;     // 1: FPN weights N(0, 0.01) (AP-loss code); 0: torchvision's
                          // kaiming_uniform(a=1)
    float head_std;       // std of the heads' hidden convolutions and class logits (0.01, as
                          // both references); 0: hidden ones kaiming_normal(fan_in), which keeps
                          // the signal through narrow heads trained from scratch
    int zero_init_residual;  // 1: the last convolution of every residual branch starts at 0
                             // (each block starts as the identity; for training from scratch);
                             // with bn_train its BatchNorm weight instead, as torchvision
    int bn_train;         // 1: training-mode BatchNorm in the trainable backbone stages; 0:
                          // frozen BatchNorm everywhere (default)
} retinanet_config;

/* One tensor of the table. */
typedef struct retinanet_param {
    char name[RETINANET_NAME_MAX];  // torchvision state_dict name
    net_role role;                  // convolution weight or bias, or a BatchNorm tensor
    int ndim;                       // 4 (OIHW convolution weight) or 1 ([C] vector)
    int shape[4];
    size_t count;                   // number of floats
    int trainable;                  // receives a gradient and optimizer updates
    float *data;                    // [count] view into the parameter arena
    float *grad;                    // [count] view into the gradient arena; NULL when frozen
} retinanet_param;

/* The anchors of one level in the flat order. */
typedef struct retinanet_level {
    int h, w;        // feature side of the planned (padded) input
    int64_t offset;  // index of the level's first anchor in [A_total]
    int64_t count;   // h · w · num_anchors
} retinanet_level;

typedef struct retinanet {
    retinanet_config cfg;
    resnet backbone;
    fpn fpn;
    heads heads;

    retinanet_param *params;  // [nparams] the table, in torchvision's state_dict order (owned)
    int nparams;
    size_t num_values;        // floats in the table (state_dict tensors)
    size_t num_trainable;     // floats with gradients

    rd_arena param_arena;     // values of the table plus derived BatchNorm affines
    rd_arena grad_arena;      // gradients of the trainable tensors
    rd_arena act_arena;       // activations of the planned shape
    rd_arena scratch_arena;   // transient slots and convolution scratch

    /* The planned shape (retinanet_plan) and the outputs of the last forward. */
    int n, h, w;              // input [N][3][H][W]
    int training;             // planned for backward
    int threads;              // thread count the scratch was sized for
    int64_t num_anchors_total;              // A_total per image
    retinanet_level levels[FPN_LEVELS];     // P3..P7
    float *cls_logits;        // [N][A_total][K]
    float *bbox_regression;   // [N][A_total][4]
    net_plan plan;
    float *scratch;           // convolution scratch
} retinanet;

/* Defaults: ResNet-50, width 64, 256 FPN channels, frozen stem and layer1, eps 1e-5, prior
 * 0.01, with the anchors, P6 input and initialisation of a preset (paper = 1: 6 anchors, P6 on
 * C5, FPN N(0, 0.01), bbox_reg N(0, 0.001) as the AP-loss code; paper = 0: torchvision's 9
 * anchors, P6 on P5 and initialisation). num_classes = 91 for torchvision, 20 for paper (PASCAL
 * VOC); callers set their own. */
void retinanet_config_default(retinanet_config *c, int paper);
/* The defaults of the preset p (detector/preset.h): its anchors per location, P6 input and
 * prior; paper-style initialisation for the paper preset. */
void retinanet_config_preset(retinanet_config *c, const detector_preset *p);
/* 0 when c is usable, else -1 with a message naming the field and the problem in err. */
int retinanet_config_check(const retinanet_config *c, char *err, size_t errsize);

/* A model for c (which must pass retinanet_config_check; aborts otherwise): builds the table
 * and sizes the parameter and gradient arenas. Values are zero until retinanet_init_weights or
 * a checkpoint load (detector/checkpoint.h). Aborts on OOM. Free with retinanet_destroy. */
retinanet *retinanet_create(const retinanet_config *c);
/* The same without the gradient arena, for inference: every grad is NULL (trainable still says
 * what training would update), and only retinanet_plan(..., training = 0) is allowed. */
retinanet *retinanet_create_inference(const retinanet_config *c);
void retinanet_destroy(retinanet *m);
/* Sizes of the table for c without building it: tensors, floats, trainable floats. */
void retinanet_count(const retinanet_config *c, int *nparams, size_t *values,
                     size_t *trainable);

/* Random initialisation as the preset's reference code does it, seeded: backbone convolutions
 * kaiming_normal(fan_out), BatchNorm weight 1 (0 for zero_init_residual with bn_train),
 * bias 0, mean 0, var 1; FPN kaiming_uniform(a=1)
 * or N(0, 0.01) (cfg.fpn_gaussian), biases 0; head convolutions N(0, 0.01), biases 0; class
 * logits bias -log((1-π)/π); bbox_reg weights N(0, cfg.box_last_std). */
void retinanet_init_weights(retinanet *m, uint64_t seed);
/* Recompute the folded BatchNorm affines from the table (call after changing BatchNorm
 * tensors by hand; checkpoint loading and retinanet_init_weights call it). */
void retinanet_fold_bn(retinanet *m);

/* The table entry named name, or NULL. */
retinanet_param *retinanet_param_find(retinanet *m, const char *name);

/* Size activations and scratch for input [n][3][h][w] (h and w multiples of 32 keep every
 * level aligned; any h, w ≥ 32 works as in torchvision) and set the levels. training = 1 keeps
 * what retinanet_backward needs (and, with bn_train, makes forward use and update the batch
 * statistics); training = 0 with bn_train refolds the BatchNorms from the running statistics. Allocates only when the arenas must grow. Records the thread
 * count (lib/threads.h): plan again after changing it. */
void retinanet_plan(retinanet *m, int n, int h, int w, int training);

/* The two passes of retinanet_plan, for a twin that plans m's description into its own
 * memory (detector/retinanet_cuda.h). retinanet_plan_measure fills p's sizes (act_bytes,
 * slot_floats already raised to grad_floats, scratch_floats) for input [n][3][h][w] and sets
 * p->training; the caller then points p->act at an arena of at least act_bytes and p->slot[i]
 * at slot_floats[i] floats each, and retinanet_plan_assign binds every view and records the
 * shape and the levels. Neither allocates nor touches m's arenas. */
void retinanet_plan_measure(retinanet *m, int n, int h, int w, int training, net_plan *p);
void retinanet_plan_assign(retinanet *m, int n, int h, int w, net_plan *p);

/* A copy of m's module description in *out whose parameter views point into param_base and
 * gradient views into grad_base: blocks laid out byte for byte as m's parameter and gradient
 * arenas (a device copy of them). out owns no memory and has no table (nparams = 0) and no
 * plan; plan it with retinanet_plan_measure / _assign. grad_base may be NULL when m has no
 * gradients. Its planning never refolds BatchNorms (their folded affines are whatever the
 * parameter block holds). */
void retinanet_describe_at(const retinanet *m, retinanet *out, void *param_base, void *grad_base);

/* Forward of x [N][3][H][W] (normalised, the planned shape; read during backward, so keep it
 * alive): fills m->cls_logits, m->bbox_regression and the FPN levels m->fpn.p[0..4]
 * ([N][C][h][w]). Allocates nothing. */
void retinanet_forward(retinanet *m, const float *x);

/* Set every parameter gradient to zero. */
void retinanet_zero_grad(retinanet *m);
/* Backward of the last forward (training plan) from dcls [N][A_total][K] and
 * dbbox [N][A_total][4] (gradients of the loss w.r.t. the outputs; read only): ACCUMULATES into
 * the parameter gradients (call retinanet_zero_grad once per step). Allocates nothing. */
void retinanet_backward(retinanet *m, const float *dcls, const float *dbbox);

#endif
