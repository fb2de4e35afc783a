/* sgd_cuda.h — the CUDA twin of sgd.h's step (optim/sgd.cu): the same update of torch.optim.SGD,
 * d = g + wd·w, b = μ·b + d, w = w - lr·b, each product and sum rounded to float separately as
 * the CPU build does (no FMA), so values and momentum buffers equal the CPU's bit for bit; the
 * same schedule (sgd_lr_at) and the same rule that tensors without a gradient are frozen.
 * Tensor values and gradients are device pointers; the momentum buffers live in one device
 * allocation made by sgd_cuda_init. In a build without CUDA every function is a stub that
 * aborts saying so. */
#ifndef RD_SGD_CUDA_H
#define RD_SGD_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "lib/cuda_ctx.h"
#include "optim/sgd.h"

typedef struct sgd_cuda {
    sgd_config cfg;
    cuda_ctx *ctx;        // the context whose stream runs the steps (not owned)
    sgd_tensor *tensors;  // [ntensors] the trainable tensors, device pointers (host list, owned)
    float **momentum;     // [ntensors] their momentum buffers: device views into buffer
    float *buffer;        // device memory of every momentum buffer (one allocation)
    int ntensors;
    size_t num_values;    // floats updated per step
    int64_t step;         // steps taken; the next step uses sgd_lr_at(cfg, step)
} sgd_cuda;

#ifdef RANKDET_CUDA
/* An optimizer over the trainable tensors of list[0..n-1] (those with a gradient; data and grad
 * are device pointers), momentum zeroed, step 0. c must pass sgd_config_check (aborts
 * otherwise). One device allocation (aborts when it fails); free with sgd_cuda_free. */
void sgd_cuda_init(sgd_cuda *s, cuda_ctx *ctx, const sgd_config *c, const sgd_tensor *list,
                   int n);
/* Frees the momentum buffers and the list; s is zeroed. */
void sgd_cuda_free(sgd_cuda *s);
/* One update of every trainable tensor with lr = sgd_lr_at(cfg, step) queued on the context's
 * stream (returns without waiting), then step + 1. Returns the lr used. Allocates nothing. */
double sgd_cuda_step(sgd_cuda *s);
#else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
static inline void sgd_cuda_init(sgd_cuda *s, cuda_ctx *ctx, const sgd_config *c,
                                 const sgd_tensor *list, int n) { CUDA_CTX_UNBUILT(); }
static inline void sgd_cuda_free(sgd_cuda *s) {}
static inline double sgd_cuda_step(sgd_cuda *s) { CUDA_CTX_UNBUILT(); }
#pragma GCC diagnostic pop
#endif

#endif
