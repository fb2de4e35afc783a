/* resnet.h — ResNet-18/34/50/101 backbones (He et al., CVPR 2016) as torchvision 0.14 builds
 * them: v1.5 (the stride of a bottleneck sits on its 3×3 convolution), BatchNorm frozen as a
 * per-channel affine or, with resnet_config.bn_train, in training mode (batch statistics in a
 * training plan, the running statistics folded into the affine in an inference plan),
 * state_dict names under "backbone.body.". The network works on NCHW float32 through
 * detector/layers.h.
 *
 * The first half of this header holds the building blocks every detector module shares (the
 * FPN and the heads use them too): a convolution with its optional BatchNorm, the
 * visitor through which a module declares its named tensors to the parameter table
 * (detector/retinanet.h), and the planner that sizes activations and scratch up front. */
#ifndef RD_RESNET_H
#define RD_RESNET_H

#include <stddef.h>
#include <stdint.h>

#include "detector/layers.h"
#include "lib/arena.h"

/* ---- shared building blocks ------------------------------------------------------------ */

/* What a tensor is, for initialisation and for optimizers that treat kinds differently. */
typedef enum net_role {
    NET_ROLE_CONV_WEIGHT,  // OIHW convolution weight
    NET_ROLE_CONV_BIAS,    // convolution bias
    NET_ROLE_BN_WEIGHT,    // BatchNorm gamma (trainable only in training mode, bn_train)
    NET_ROLE_BN_BIAS,      // BatchNorm beta (likewise)
    NET_ROLE_BN_MEAN,      // BatchNorm running_mean (never trainable)
    NET_ROLE_BN_VAR,       // BatchNorm running_var (never trainable)
    NET_ROLE_DERIVED,      // folded affine (not in the state_dict)
} net_role;

/* A named tensor as a module declares it. The parameter table gives *data (and *grad when
 * trainable) a view into its arenas; derived tensors (folded BatchNorm affines) have
 * state_dict = 0 and live in the parameter arena without being saved or loaded. */
typedef struct net_param_spec {
    const char *name;  // torchvision state_dict name, e.g. "backbone.body.conv1.weight"
    net_role role;
    int ndim;          // 1 or 4
    int shape[4];      // OIHW for convolution weights, [C] for vectors
    int state_dict;    // 1: saved and loaded by name; 0: derived, never stored
    int trainable;     // 1: receives a gradient (*grad is set), else *grad stays NULL
    float **data;      // where the module keeps its view of the values
    float **grad;      // where the module keeps its view of the gradient (NULL: never)
} net_param_spec;

/* Called once per tensor, in a fixed order (the state_dict order of torchvision). */
typedef void (*net_param_visit_fn)(void *ctx, const net_param_spec *spec);

/* Momentum of the running statistics of training-mode BatchNorm (PyTorch's default). */
#define NET_BN_MOMENTUM 0.1f

/* A convolution, optionally followed by a BatchNorm: frozen (the folded affine), or in
 * training mode (bn_train: batch statistics when the plan trains, the folded running
 * statistics otherwise). */
typedef struct net_conv {
    conv2d_desc d;
    float *weight, *dweight;  // [Cout][Cin][k][k]; dweight NULL when frozen
    int has_bias;             // torchvision's bias=True (never before a BatchNorm here)
    float *bias, *dbias;      // [Cout] when has_bias, else NULL
    int has_bn;               // followed by a BatchNorm
    float *bn_weight, *bn_bias, *bn_mean, *bn_var;  // [Cout] torchvision's BatchNorm tensors
    float *scale, *shift;     // [Cout] the folded affine (net_conv_fold)
    int bn_train;             // training-mode BatchNorm (set before visiting; needs has_bn)
    float bn_eps;             // its eps
    float *dbn_weight, *dbn_bias;  // [Cout] gradients of bn_weight, bn_bias (bn_train)
    float *xhat;              // [N][Cout][OH][OW] x̂ of the last forward when the plan trains
                              // the BatchNorm (net_conv_plan_bn); NULL: the folded affine runs
    float *bn_stats;          // [2][Cout] that forward's batch mean and 1/sqrt(var + eps)
} net_conv;

/* Describe a convolution (no memory is touched). */
void net_conv_init(net_conv *c, int cin, int cout, int k, int stride, int pad, int has_bias,
                   int has_bn);
/* Declare c's tensors as "<prefix>.weight", "<prefix>.bias" and, when it has a BatchNorm,
 * "<bn_prefix>.weight|bias|running_mean|running_var" plus the derived affine; the BatchNorm's
 * weight and bias are trainable when c is and c->bn_train is set. */
void net_conv_visit(net_conv *c, const char *prefix, const char *bn_prefix, int trainable,
                    net_param_visit_fn fn, void *ctx);
/* scale/shift from the BatchNorm tensors (layers.h frozen_bn_fold); no-op without BatchNorm. */
void net_conv_fold(net_conv *c, float eps);
/* y [N][Cout][OH][OW] = conv(x) (+ bias), then the BatchNorm (with batch statistics, updating
 * the running ones, when planned so by net_conv_plan_bn; else the folded affine), then ReLU when
 * relu. */
void net_conv_forward(const net_conv *c, const float *x, int n, int h, int w, float *y, int relu,
                      float *scratch);
/* Backward of net_conv_forward. dy (the gradient w.r.t. y) is overwritten by the gradient
 * before the BatchNorm and ReLU; y is the forward output (used for ReLU). dx is overwritten
 * (NULL: not wanted); dweight, dbias and a training-mode BatchNorm's gradients accumulate. */
void net_conv_backward(const net_conv *c, const float *x, const float *y, float *dy, int n,
                       int h, int w, int relu, float *dx, float *scratch);
/* The gradient before c's BatchNorm, dz (overwritten; may be dy), from dy w.r.t. its output
 * (before any ReLU): the affine's scale, or the training-mode backward whose weight and bias
 * gradients accumulate. Without a BatchNorm dz = dy. */
void net_conv_bn_backward(const net_conv *c, const float *dy, int n, int oh, int ow, float *dz);

#define NET_SLOTS 5  // transient buffers; a block uses at most five at once

/* Activation planner. A module's plan function runs twice with the same sizes: a measuring
 * pass (views are NULL; sizes are summed) and, after the owner reserved the arenas, an
 * assigning pass (views are real). Kept tensors live until the next plan (backward reads
 * them); transient tensors share NET_SLOTS slots, each as large as its largest use. In
 * training, every slot can also hold the largest activation gradient of backward. */
typedef struct net_plan {
    int measuring;                  // 1: first pass (sizes only); 0: views
    int training;                   // keep what backward needs
    rd_arena *act;                  // kept tensors (pushed in the assigning pass)
    size_t act_bytes;               // measured: kept bytes, alignment included
    size_t slot_floats[NET_SLOTS];  // floats of each slot: its largest transient use, and
                                    // at least grad_floats
    size_t grad_floats;             // largest activation gradient of backward (training)
    size_t scratch_floats;          // floats of convolution scratch (max over convolutions)
    float *slot[NET_SLOTS];         // the slots (assigning pass)
} net_plan;

/* A kept tensor of `floats` floats (NULL while measuring). */
float *net_plan_keep(net_plan *p, size_t floats);
/* A kept int32 tensor (maxpool argmax). */
int32_t *net_plan_keep_i32(net_plan *p, size_t count);
/* Slot `slot` (0 ≤ slot < NET_SLOTS) used for a transient tensor of `floats` floats. */
float *net_plan_slot(net_plan *p, int slot, size_t floats);
/* Kept when p->training and keep is set, else the given slot. */
float *net_plan_keep_or_slot(net_plan *p, int keep, int slot, size_t floats);
/* Backward will hold activation gradients of `floats` floats in slots. */
void net_plan_grad(net_plan *p, size_t floats);
/* A convolution of n images of h × w will run (sizes its scratch). */
void net_plan_conv(net_plan *p, const conv2d_desc *d, int n, int h, int w);
/* Plan c's training-mode BatchNorm for n outputs of oh × ow: x̂ and the batch statistics kept
 * when p->training and c->bn_train, else none (c->xhat = NULL: the folded affine runs). */
void net_plan_bn(net_plan *p, net_conv *c, int n, int oh, int ow);
/* The slot of ptr, or -1 when it is not one (assigning pass only). */
int net_plan_slot_of(const net_plan *p, const float *ptr);

/* ---- ResNet ------------------------------------------------------------------------------ */

#define RESNET_MAX_BLOCKS 23  // layer3 of ResNet-101

typedef struct resnet_config {
    int depth;          // 18, 34 (basic blocks), 50, 101 (bottleneck blocks)
    int width;          // stem channels and layer1 planes (64 in torchvision; less for tests)
    int frozen_stages;  // 0: none; 1: stem; 2: stem and layer1 (default); ... 5: all four layers
    float bn_eps;       // BatchNorm eps (1e-5, torchvision's FrozenBatchNorm2d)
    int bn_train;       // 1: the BatchNorms of trainable stages in training mode (batch
                        // statistics, trainable weight and bias; torch.nn.BatchNorm2d); 0: frozen
} resnet_config;

typedef struct resnet_block {
    net_conv c1, c2, c3;  // c3 only in bottleneck blocks
    net_conv down;        // projection shortcut (has_down)
    int has_down;
    int trainable;
    int h, w, oh, ow;     // planned input and output sides
    const float *x;       // [N][Cin][h][w] input (the previous block's out, or the stem's)
    float *y1, *y2;       // outputs of c1 and c2 after BatchNorm and ReLU (y2: bottleneck only)
    float *yd;            // the projected shortcut (transient)
    float *out;           // [N][Cout][oh][ow] block output
} resnet_block;

typedef struct resnet {
    resnet_config cfg;
    int bottleneck;                         // block kind
    int nblocks[4];                         // blocks per layer
    int channels[4];                        // output channels of layer1..layer4
    net_conv stem;                          // conv1 7×7/2 + bn1
    int stem_trainable;
    resnet_block layer[4][RESNET_MAX_BLOCKS];
    int n, h, w;                            // planned input [N][3][H][W]
    int sh, sw, ph, pw;                     // stem conv output side, after the 3×3/2 max pool
    const float *x;                         // the input of the last forward
    float *stem_out;                        // [N][width][sh][sw] after bn1 and ReLU
    int32_t *argmax;                        // [N][width][ph][pw] max pool winners
    float *pool_out;                        // [N][width][ph][pw]
} resnet;

/* 0 when the configuration is valid, else -1 with a message naming the field in err. */
int resnet_config_check(const resnet_config *c, char *err, size_t errsize);
/* Describe the network (no memory). Aborts (RD_CHECK) on a configuration resnet_config_check
 * rejects. */
void resnet_init(resnet *r, const resnet_config *c);
/* Declare every tensor under "backbone.body." in torchvision's state_dict order. */
void resnet_visit_params(resnet *r, net_param_visit_fn fn, void *ctx);
/* Fold every BatchNorm into its affine (after loading or changing BatchNorm tensors; with
 * bn_train an inference plan does it, so it runs on the running statistics). */
void resnet_fold_bn(resnet *r);
/* Plan for input [n][3][h][w] (see net_plan). C3..C5 (resnet_feature) are always kept. With
 * bn_train, a training plan keeps x̂ and the batch statistics of every training-mode BatchNorm;
 * an inference plan refolds the BatchNorms from their running statistics. */
void resnet_plan(resnet *r, int n, int h, int w, net_plan *p);
/* Output of layer2..layer4 (i = 0, 1, 2 for C3, C4, C5) and its channels and side. */
const float *resnet_feature(const resnet *r, int i, int *channels, int *h, int *w);
/* Forward of the planned input x [N][3][H][W] (kept by reference until backward). */
void resnet_forward(resnet *r, const float *x, const net_plan *p, float *scratch);
/* Backward from dc[i] = gradient w.r.t. C3..C5 (NULL where that layer and all below it are
 * frozen; the buffers are overwritten). Parameter gradients accumulate. Needs a training plan. */
void resnet_backward(resnet *r, float *const dc[3], const net_plan *p, float *scratch);
/* 1 when layer i (0..3 for layer1..layer4) has trainable parameters. */
int resnet_layer_trainable(const resnet *r, int i);

#endif
