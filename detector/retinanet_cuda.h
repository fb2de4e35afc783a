/* retinanet_cuda.h — the device twin of the RetinaNet model (detector/retinanet.h): the same
 * modules walked op for op in the CPU's order with the layer twins (detector/layers_cuda.h),
 * on a device copy of the parameter arena (values and folded BatchNorm affines, byte for byte
 * the CPU's layout), a device gradient arena, and device activations and slots planned by the
 * CPU planner itself (retinanet_plan_measure / _assign on a description rebased to the device,
 * retinanet_describe_at), so every tensor sits at the same offset as on the CPU.
 *
 * Typical use: build and initialise (or load) a CPU retinanet, retinanet_fold_bn it, then
 * retinanet_cuda_create; retinanet_cuda_plan; retinanet_cuda_forward on a device input; read
 * the outputs with retinanet_cuda_outputs. For checkpoints, retinanet_cuda_download writes the
 * device values back into the CPU table.
 *
 * BatchNorm: a training plan with bn_train runs the batch statistics on the device (and
 * updates the device running statistics); an inference plan uses the folded affines held in
 * the device parameter arena, i.e. those uploaded. After training with bn_train on the device,
 * download to the CPU model, retinanet_fold_bn it and upload before an inference plan.
 *
 * Parity with the CPU (tests/test_retinanet_cuda.c): outputs within 1e-4 of their scale in pure
 * FP32 and 2e-2 with TF32 (convolutions sum in another order than the CPU's).
 * In a build without CUDA every function is a stub that aborts saying so. */
#ifndef RD_RETINANET_CUDA_H
#define RD_RETINANET_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "detector/retinanet.h"
#include "lib/cuda_ctx.h"

typedef struct retinanet_cuda retinanet_cuda;

#ifdef RANKDET_CUDA
/* A device twin of m on ctx (borrowed; it must outlive the twin): allocates the device
 * parameter arena (and the gradient arena, zeroed, when m has gradients) of m's sizes and
 * uploads m's values. No activations until retinanet_cuda_plan. Aborts when device memory runs
 * out. Free with retinanet_cuda_destroy. */
retinanet_cuda *retinanet_cuda_create(cuda_ctx *ctx, const retinanet *m);
/* Frees the twin's device memory. NULL is a no-op. */
void retinanet_cuda_destroy(retinanet_cuda *g);
/* Copies m's parameter arena (table values and folded affines) to the device. m must have
 * the configuration the twin was made from. */
void retinanet_cuda_upload(retinanet_cuda *g, const retinanet *m);
/* Copies the device values back into m's parameter arena (and, when both have gradients, the
 * gradients into m's gradient arena). Waits for the stream. */
void retinanet_cuda_download(retinanet_cuda *g, retinanet *m);

/* retinanet_plan on the device: activations and slots for input [n][3][h][w]; grow-only
 * (allocates only when a larger shape is planned; retinanet_cuda_grows counts it). training
 * needs a twin of a model with gradients. */
void retinanet_cuda_plan(retinanet_cuda *g, int n, int h, int w, int training);
/* How many times the twin's activation or slot memory was (re)allocated. */
int retinanet_cuda_grows(const retinanet_cuda *g);
/* The planned description (shape, levels, offsets; its pointers are device pointers). */
const retinanet *retinanet_cuda_model(const retinanet_cuda *g);

/* retinanet_forward on the device: x [N][3][H][W] is a device pointer of the planned shape,
 * kept by reference until backward. Queued on the context's stream; allocates nothing. */
void retinanet_cuda_forward(retinanet_cuda *g, const float *x);
/* Device views of the last forward's cls_logits [N][A_total][K] and bbox_regression
 * [N][A_total][4] (valid until the next plan). */
void retinanet_cuda_outputs(const retinanet_cuda *g, const float **cls, const float **bbox);

/* Zeroes the device gradients. */
void retinanet_cuda_zero_grad(retinanet_cuda *g);
/* retinanet_backward on the device from device dcls [N][A_total][K] and dbbox [N][A_total][4]
 * (read only): ACCUMULATES into the device gradients. Needs a training plan. */
void retinanet_cuda_backward(retinanet_cuda *g, const float *dcls, const float *dbbox);
#else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
static inline retinanet_cuda *retinanet_cuda_create(cuda_ctx *ctx, const retinanet *m)
{
    CUDA_CTX_UNBUILT();
}
static inline void retinanet_cuda_destroy(retinanet_cuda *g) {}
static inline void retinanet_cuda_upload(retinanet_cuda *g, const retinanet *m)
{
    CUDA_CTX_UNBUILT();
}
static inline void retinanet_cuda_download(retinanet_cuda *g, retinanet *m) { CUDA_CTX_UNBUILT(); }
static inline void retinanet_cuda_plan(retinanet_cuda *g, int n, int h, int w, int training)
{
    CUDA_CTX_UNBUILT();
}
static inline int retinanet_cuda_grows(const retinanet_cuda *g) { CUDA_CTX_UNBUILT(); }
static inline const retinanet *retinanet_cuda_model(const retinanet_cuda *g)
{
    CUDA_CTX_UNBUILT();
}
static inline void retinanet_cuda_forward(retinanet_cuda *g, const float *x) { CUDA_CTX_UNBUILT(); }
static inline void retinanet_cuda_outputs(const retinanet_cuda *g, const float **cls,
                                          const float **bbox) { CUDA_CTX_UNBUILT(); }
static inline void retinanet_cuda_zero_grad(retinanet_cuda *g) { CUDA_CTX_UNBUILT(); }
static inline void retinanet_cuda_backward(retinanet_cuda *g, const float *dcls,
                                           const float *dbbox) { CUDA_CTX_UNBUILT(); }
#pragma GCC diagnostic pop
#endif

#endif
