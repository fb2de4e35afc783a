/* heads.h — RetinaNet's classification and box subnets (Lin et al., ICCV 2017, sec. 4):
 * each 4 × (3×3 convolution of C channels + ReLU) then a 3×3 convolution to A·K class logits
 * or A·4 box deltas, shared over P3–P7. Outputs are flattened as torchvision's
 * RetinaNetHead does: [N][A_total][K] and [N][A_total][4] in the order (level, y, x, anchor,
 * class); channel a·K + k of the last convolution is anchor a, class k.
 * State_dict names as torchvision 0.14: head.classification_head.conv.i.0, .cls_logits;
 * head.regression_head.conv.i.0, .bbox_reg. */
#ifndef RD_HEADS_H
#define RD_HEADS_H

#include <stdint.h>

#include "detector/fpn.h"

#define HEAD_CONVS 4

typedef struct head {
    int outputs;                           // per anchor: K (classes) or 4 (box deltas)
    net_conv tower[HEAD_CONVS], last;
    float *t[FPN_LEVELS][HEAD_CONVS];      // tower outputs per level (kept in training)
    float *raw[FPN_LEVELS];                // last convolution's output [N][A·outputs][h][w]
} head;

typedef struct heads {
    int num_anchors;                       // A per position
    int channels;                          // C
    int trainable;
    head cls, box;
    int n;
    int h[FPN_LEVELS], w[FPN_LEVELS];      // planned level sides
    int64_t offset[FPN_LEVELS];            // first anchor of each level in the flat order
    int64_t total;                         // anchors per image over all levels
} heads;

/* Describe both heads (no memory). */
void heads_init(heads *hd, int channels, int num_anchors, int num_classes, int trainable);
/* Declare every tensor under "head.". */
void heads_visit_params(heads *hd, net_param_visit_fn fn, void *ctx);
/* Plan for n images with levels of the given sides. */
void heads_plan(heads *hd, int n, const int h[FPN_LEVELS], const int w[FPN_LEVELS],
                net_plan *p);
/* cls [N][total][K] and box [N][total][4] from the levels p[] (kept by reference). */
void heads_forward(heads *hd, float *const p[FPN_LEVELS], float *cls, float *box,
                   const net_plan *pl, float *scratch);
/* From dcls [N][total][K] and dbox [N][total][4] (read only): parameter gradients accumulate
 * and dp[l] is OVERWRITTEN with the gradient w.r.t. level l. p[] are the forward inputs. */
void heads_backward(heads *hd, float *const p[FPN_LEVELS], const float *dcls, const float *dbox,
                    float *const dp[FPN_LEVELS], const net_plan *pl, float *scratch);

#endif
