/* layers_cuda.h — the CUDA twins of the layers of layers.h: the same shapes (NCHW float32,
 * OIHW weights), the same argument order with the context first, the same overwrite and
 * accumulate rules (dx overwritten, dweight / dbias accumulated), every pointer a device
 * pointer, every op queued on the context's stream (lib/cuda_ctx.h) and returning without
 * waiting. Convolutions run on cuDNN (detector/conv2d.cu, the algorithm chosen once per shape);
 * the other ops are kernels beside their CPU twins (affine.cu, pool.cu, upsample.cu,
 * batchnorm.cu).
 * Layout: NCHW, the CPU layout, so that every tensor moves between the two unchanged. Whether
 * NHWC is faster for the whole network on the GPU is still to be measured; the decision is
 * to be taken once, for every layer together.
 * Parity with the CPU (tests/test_layers_cuda.c): the elementwise ops, pooling and upsampling
 * give the CPU's bits (no FMA contraction; sums in the CPU's order); convolutions match within
 * 1e-5 of the output's scale in pure FP32 and about 1e-2 with TF32; bn_train within float
 * rounding of the CPU's double sums.
 * In a build without CUDA every function is a stub that aborts saying so. */
#ifndef RD_LAYERS_CUDA_H
#define RD_LAYERS_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "detector/layers.h"
#include "lib/cuda_ctx.h"

#ifdef RANKDET_CUDA
/* conv2d_forward on the GPU: y = conv(x, weight) + bias (bias may be NULL). cuDNN picks the
 * algorithm on the first call of a shape; the workspace is the context's. */
void conv2d_forward_cuda(cuda_ctx *ctx, const conv2d_desc *d, const float *x, int n, int h,
                         int w, const float *weight, const float *bias, float *y);
/* conv2d_backward on the GPU: dx overwritten (may be NULL), dweight += and dbias += (each may
 * be NULL). */
void conv2d_backward_cuda(cuda_ctx *ctx, const conv2d_desc *d, const float *x, int n, int h,
                          int w, const float *weight, const float *dy, float *dx, float *dweight,
                          float *dbias);

void affine_forward_cuda(cuda_ctx *ctx, const float *x, int n, int c, int hw,
                         const float *scale, const float *shift, float *y);
void affine_backward_cuda(cuda_ctx *ctx, const float *dy, int n, int c, int hw,
                          const float *scale, float *dx);
void affine_relu_forward_cuda(cuda_ctx *ctx, const float *x, int n, int c, int hw,
                              const float *scale, const float *shift, float *y);
void affine_relu_backward_cuda(cuda_ctx *ctx, const float *y, const float *dy, int n, int c,
                               int hw, const float *scale, float *dx);
void relu_forward_cuda(cuda_ctx *ctx, const float *x, size_t count, float *y);
void relu_backward_cuda(cuda_ctx *ctx, const float *y, const float *dy, size_t count, float *dx);
void add_forward_cuda(cuda_ctx *ctx, const float *a, const float *b, size_t count, float *y);
void add_relu_forward_cuda(cuda_ctx *ctx, const float *a, const float *b, size_t count,
                           float *y);

/* maxpool2d_forward on the GPU, with the CPU's argmax (first maximum, index within the input
 * plane). */
void maxpool2d_forward_cuda(cuda_ctx *ctx, const float *x, int n, int c, int h, int w, int k,
                            int stride, int pad, float *y, int32_t *argmax);
/* maxpool2d_backward on the GPU. Unlike the CPU twin it also takes the forward's k, stride and
 * pad: each input pixel gathers from the windows covering it (no atomics, the CPU's order of
 * summation), so argmax must come from a forward with the same k, stride, pad. */
void maxpool2d_backward_cuda(cuda_ctx *ctx, const float *dy, const int32_t *argmax, int n,
                             int c, int h, int w, int oh, int ow, int k, int stride, int pad,
                             float *dx);

/* upsample_nearest_forward / backward on the GPU (aten's float32 source index rule). */
void upsample_nearest_forward_cuda(cuda_ctx *ctx, const float *x, int n, int c, int h, int w,
                                   int oh, int ow, float *y);
void upsample_nearest_backward_cuda(cuda_ctx *ctx, const float *dy, int n, int c, int h, int w,
                                    int oh, int ow, float *dx);

/* bn_train_forward / backward on the GPU (one block per channel, sums in double). */
void bn_train_forward_cuda(cuda_ctx *ctx, float *x, int n, int c, int hw, const float *weight,
                           const float *bias, float eps, float momentum, float *running_mean,
                           float *running_var, float *stats, float *y, int relu);
void bn_train_backward_cuda(cuda_ctx *ctx, const float *xhat, const float *dy, int n, int c,
                            int hw, const float *weight, const float *stats, float *dx,
                            float *dweight, float *dbias);
#else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
static inline void conv2d_forward_cuda(cuda_ctx *ctx, const conv2d_desc *d, const float *x,
                                       int n, int h, int w, const float *weight,
                                       const float *bias, float *y) { CUDA_CTX_UNBUILT(); }
static inline void conv2d_backward_cuda(cuda_ctx *ctx, const conv2d_desc *d, const float *x,
                                        int n, int h, int w, const float *weight,
                                        const float *dy, float *dx, float *dweight,
                                        float *dbias) { CUDA_CTX_UNBUILT(); }
static inline void affine_forward_cuda(cuda_ctx *ctx, const float *x, int n, int c, int hw,
                                       const float *scale, const float *shift,
                                       float *y) { CUDA_CTX_UNBUILT(); }
static inline void affine_backward_cuda(cuda_ctx *ctx, const float *dy, int n, int c, int hw,
                                        const float *scale, float *dx) { CUDA_CTX_UNBUILT(); }
static inline void affine_relu_forward_cuda(cuda_ctx *ctx, const float *x, int n, int c, int hw,
                                            const float *scale, const float *shift,
                                            float *y) { CUDA_CTX_UNBUILT(); }
static inline void affine_relu_backward_cuda(cuda_ctx *ctx, const float *y, const float *dy,
                                             int n, int c, int hw, const float *scale,
                                             float *dx) { CUDA_CTX_UNBUILT(); }
static inline void relu_forward_cuda(cuda_ctx *ctx, const float *x, size_t count,
                                     float *y) { CUDA_CTX_UNBUILT(); }
static inline void relu_backward_cuda(cuda_ctx *ctx, const float *y, const float *dy,
                                      size_t count, float *dx) { CUDA_CTX_UNBUILT(); }
static inline void add_forward_cuda(cuda_ctx *ctx, const float *a, const float *b, size_t count,
                                    float *y) { CUDA_CTX_UNBUILT(); }
static inline void add_relu_forward_cuda(cuda_ctx *ctx, const float *a, const float *b,
                                         size_t count, float *y) { CUDA_CTX_UNBUILT(); }
static inline void maxpool2d_forward_cuda(cuda_ctx *ctx, const float *x, int n, int c, int h,
                                          int w, int k, int stride, int pad, float *y,
                                          int32_t *argmax) { CUDA_CTX_UNBUILT(); }
static inline void maxpool2d_backward_cuda(cuda_ctx *ctx, const float *dy, const int32_t *argmax,
                                           int n, int c, int h, int w, int oh, int ow, int k,
                                           int stride, int pad,
                                           float *dx) { CUDA_CTX_UNBUILT(); }
static inline void upsample_nearest_forward_cuda(cuda_ctx *ctx, const float *x, int n, int c,
                                                 int h, int w, int oh, int ow,
                                                 float *y) { CUDA_CTX_UNBUILT(); }
static inline void upsample_nearest_backward_cuda(cuda_ctx *ctx, const float *dy, int n, int c,
                                                  int h, int w, int oh, int ow,
                                                  float *dx) { CUDA_CTX_UNBUILT(); }
static inline void bn_train_forward_cuda(cuda_ctx *ctx, float *x, int n, int c, int hw,
                                         const float *weight, const float *bias, float eps,
                                         float momentum, float *running_mean,
                                         float *running_var, float *stats, float *y,
                                         int relu) { CUDA_CTX_UNBUILT(); }
static inline void bn_train_backward_cuda(cuda_ctx *ctx, const float *xhat, const float *dy,
                                          int n, int c, int hw, const float *weight,
                                          const float *stats, float *dx, float *dweight,
                                          float *dbias) { CUDA_CTX_UNBUILT(); }
#pragma GCC diagnostic pop
#endif

#endif
