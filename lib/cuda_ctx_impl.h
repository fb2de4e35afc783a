/* cuda_ctx_impl.h — the inside of cuda_ctx (cuda_ctx.h) for the .cu files only: the handles,
 * the workspace, and the launch-size rule of the grid-stride kernels. */
#ifndef RD_CUDA_CTX_IMPL_H
#define RD_CUDA_CTX_IMPL_H

#include <stdint.h>

#include "lib/cuda_check.h"
extern "C" {
#include "lib/cuda_ctx.h"
}

struct cuda_ctx {
    cudaStream_t stream;
    int owns_stream;          // 1 when cuda_ctx_init created the stream
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    int tf32;
    void *workspace;          // device memory, grow-only
    size_t workspace_bytes;
    cuda_conv_cache conv_cache;
};

/* At least `bytes` of device workspace, valid until the next call that asks for more (it is
 * reallocated, after the stream has drained, only when it must grow). */
void *cuda_ctx_workspace(cuda_ctx *ctx, size_t bytes);

/* Threads per block of the elementwise kernels, and the most blocks one launch uses: the
 * kernels loop over their elements with a grid stride, so any count fits. */
static const int CUDA_BLOCK = 256;
static const int64_t CUDA_GRID_MAX = 8192;

/* Blocks for `count` elements at CUDA_BLOCK threads each: at least 1, at most CUDA_GRID_MAX. */
static inline unsigned cuda_grid_for(int64_t count)
{
    int64_t blocks = (count + CUDA_BLOCK - 1) / CUDA_BLOCK;
    if (blocks < 1)
        blocks = 1;
    return (unsigned)(blocks < CUDA_GRID_MAX ? blocks : CUDA_GRID_MAX);
}

#endif
