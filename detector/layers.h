/* layers.h — the detector's CPU layers, forward and backward, on NCHW float32.
 * Conventions (the CPU code is the specification the CUDA twins match):
 *   x [N][C][H][W]; convolution weights OIHW [Cout][Cin][k][k] as torchvision stores them;
 *   backward OVERWRITES dx (NULL: not wanted) and ACCUMULATES into dweight / dbias (the heads
 *   are shared over FPN levels, so their gradients sum; the caller zeroes them once a step);
 *   scratch memory comes from the caller, sized by the *_scratch_floats functions;
 *   nothing here allocates, and results do not depend on the thread count. */
#ifndef RD_LAYERS_H
#define RD_LAYERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct conv2d_desc {
    int cin, cout;    // input and output channels
    int k;            // square kernel size
    int stride, pad;  // the same in both directions; dilation 1, groups 1
} conv2d_desc;

/* Output side of a convolution or pooling: (in + 2·pad - k) / stride + 1. */
int conv2d_out(int in, int k, int stride, int pad);
/* Floats of scratch conv2d_forward and conv2d_backward need for n images of h × w with the
 * current thread count (lib/threads.h). */
size_t conv2d_scratch_floats(const conv2d_desc *d, int n, int h, int w);
/* y [N][Cout][OH][OW] = conv(x [N][Cin][H][W], weight) + bias (bias may be NULL). */
void conv2d_forward(const conv2d_desc *d, const float *x, int n, int h, int w,
                    const float *weight, const float *bias, float *y, float *scratch);
/* From dy [N][Cout][OH][OW]: dx = (overwritten, may be NULL), dweight += , dbias += (may be
 * NULL). x is the forward input. */
void conv2d_backward(const conv2d_desc *d, const float *x, int n, int h, int w,
                     const float *weight, const float *dy, float *dx, float *dweight,
                     float *dbias, float *scratch);

/* Frozen BatchNorm as a per-channel affine: scale = weight / sqrt(var + eps),
 * shift = bias - mean · scale (torchvision's FrozenBatchNorm2d, in float32). */
void frozen_bn_fold(const float *weight, const float *bias, const float *running_mean,
                    const float *running_var, float eps, int channels, float *scale,
                    float *shift);
/* y = x · scale[c] + shift[c] over [N][C][HW]; y may be x. */
void affine_forward(const float *x, int n, int c, int hw, const float *scale, const float *shift,
                    float *y);
/* dx = dy · scale[c]; dx may be dy. (The affine is frozen: no parameter gradients.) */
void affine_backward(const float *dy, int n, int c, int hw, const float *scale, float *dx);

/* Fused y = max(x · scale[c] + shift[c], 0) over [N][C][HW]; y may be x. */
void affine_relu_forward(const float *x, int n, int c, int hw, const float *scale,
                         const float *shift, float *y);
/* Fused backward of affine_relu_forward: dx = dy · scale[c] where the OUTPUT y > 0, else 0;
 * dx may be dy. */
void affine_relu_backward(const float *y, const float *dy, int n, int c, int hw,
                          const float *scale, float *dx);

/* Training-mode BatchNorm (torch.nn.BatchNorm2d in train mode) over [N][C][HW]: per channel,
 * the batch mean and biased variance over (N, HW); x is OVERWRITTEN with
 * x̂ = (x - mean) / sqrt(var + eps) (kept for backward), y = weight · x̂ + bias, then
 * max(·, 0) when relu; y must not be x. stats [2][C] receives the batch mean and
 * 1 / sqrt(var + eps); running_mean and running_var move as PyTorch's: r = (1 - momentum) · r
 * + momentum · batch value, the variance unbiased (· n/(n-1), n = N·HW; biased when n = 1). */
void bn_train_forward(float *x, int n, int c, int hw, const float *weight, const float *bias,
                      float eps, float momentum, float *running_mean, float *running_var,
                      float *stats, float *y, int relu);
/* Backward of bn_train_forward (before its ReLU: apply relu_backward to dy first) from xhat and
 * stats of the forward: dx = weight/σ · (dy - mean(dy) - x̂ · mean(dy · x̂)) (overwritten; may
 * be dy); dweight += Σ dy · x̂ and dbias += Σ dy per channel. */
void bn_train_backward(const float *xhat, const float *dy, int n, int c, int hw,
                       const float *weight, const float *stats, float *dx, float *dweight,
                       float *dbias);

/* y = max(x, 0); y may be x. */
void relu_forward(const float *x, size_t count, float *y);
/* dx = dy where the forward OUTPUT y > 0, else 0; dx may be dy. */
void relu_backward(const float *y, const float *dy, size_t count, float *dx);

/* y = a + b elementwise (a residual or FPN top-down sum); y may be a or b. */
void add_forward(const float *a, const float *b, size_t count, float *y);
/* y = max(a + b, 0) (a residual block's output); y may be a or b. Its backward is
 * relu_backward on y, whose result flows to both a and b. */
void add_relu_forward(const float *a, const float *b, size_t count, float *y);

/* Max pooling k×k, stride, pad (padding never wins), as torch.nn.MaxPool2d; argmax
 * [N][C][OH][OW] receives the winning index within each input plane (first maximum). */
void maxpool2d_forward(const float *x, int n, int c, int h, int w, int k, int stride, int pad,
                       float *y, int32_t *argmax);
/* dx [N][C][H][W] overwritten from dy [N][C][OH][OW] and argmax. */
void maxpool2d_backward(const float *dy, const int32_t *argmax, int n, int c, int h, int w,
                        int oh, int ow, float *dx);

/* Nearest upsampling to oh × ow as F.interpolate(mode="nearest", size=(oh, ow)):
 * source index = min(floor(dst · in / out), in - 1). */
void upsample_nearest_forward(const float *x, int n, int c, int h, int w, int oh, int ow,
                              float *y);
/* dx [N][C][H][W] overwritten with the sums of dy over each source pixel. */
void upsample_nearest_backward(const float *dy, int n, int c, int h, int w, int oh, int ow,
                               float *dx);

#endif
