/* fpn.h — the feature pyramid P3–P7 of RetinaNet (Lin et al., ICCV 2017, sec. 4) on C3–C5:
 * 1×1 lateral convolutions, top-down nearest upsampling to each lateral's size, 3×3 output
 * convolutions, then P6 = 3×3/2 convolution and P7 = 3×3/2 convolution on ReLU(P6).
 * Two conventions differ only in P6's input:
 *   torchvision (FeaturePyramidNetwork + LastLevelP6P7(256, 256) of retinanet_resnet50_fpn):
 *     P6 on P5;
 *   paper (the RetinaNet paper and the AP-loss released code): P6 on C5.
 * State_dict names under "backbone.fpn." as torchvision 0.14 names them (inner_blocks.i.0,
 * layer_blocks.i.0, extra_blocks.p6, extra_blocks.p7), whichever the convention. */
#ifndef RD_FPN_H
#define RD_FPN_H

#include "detector/resnet.h"

#define FPN_LEVELS 5  // P3..P7

typedef struct fpn {
    int channels;              // output channels of every level (256)
    int p6_from_c5;            // 1: paper, P6 on C5; 0: torchvision, P6 on P5
    int trainable;
    int cin[3];                // channels of C3..C5
    net_conv inner[3];         // 1×1 laterals on C3..C5
    net_conv layer[3];         // 3×3 outputs giving P3..P5
    net_conv p6, p7;           // 3×3/2
    int n;                     // planned batch
    int h[FPN_LEVELS], w[FPN_LEVELS];  // planned sides of P3..P7
    int ch[3], cw[3];          // sides of C3..C5
    const float *c[3];         // C3..C5 of the last forward (backbone views)
    float *last_inner[3];      // [N][channels][h][w] lateral + top-down sum, levels 3..5
    float *p[FPN_LEVELS];      // [N][channels][h][w] P3..P7
    float *p6_relu;            // ReLU(P6), P7's input
    float *dp[FPN_LEVELS];     // (training) gradients w.r.t. P3..P7, written by the heads
    float *dc[3];              // (training) gradients w.r.t. C3..C5 for the backbone; NULL
                               // where the backbone layer is frozen
} fpn;

/* Describe the pyramid on inputs of cin[0..2] channels (no memory). */
void fpn_init(fpn *f, const int cin[3], int channels, int p6_from_c5, int trainable);
/* Declare every tensor under "backbone.fpn.". */
void fpn_visit_params(fpn *f, net_param_visit_fn fn, void *ctx);
/* Plan for n images with C3..C5 of the given sides; want_dc[i] asks for the gradient w.r.t.
 * C(3+i) in training. */
void fpn_plan(fpn *f, int n, const int ch[3], const int cw[3], const int want_dc[3],
              net_plan *p);
/* P3..P7 from C3..C5 (kept by reference until backward). */
void fpn_forward(fpn *f, const float *const c[3], const net_plan *p, float *scratch);
/* From dp[] (consumed: overwritten) into parameter gradients and dc[]. Training plan. */
void fpn_backward(fpn *f, const net_plan *p, float *scratch);

#endif
