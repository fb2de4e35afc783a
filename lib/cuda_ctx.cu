/* cuda_ctx.cu — the CUDA context (cuda_ctx.h): stream, cuDNN and cuBLAS handles on it, the
 * TF32 switch (cuBLAS math mode here; cuDNN's per convolution in detector/conv2d.cu), the
 * grow-only workspace, and the device memory helpers. Every call is checked. */
#include "lib/cuda_ctx_impl.h"

#include <stdlib.h>

static void cuda_ctx_apply_tf32(cuda_ctx *ctx)
{
    RD_CHECK_CUBLAS(cublasSetMathMode(ctx->cublas, ctx->tf32 ? CUBLAS_TF32_TENSOR_OP_MATH
                                                             : CUBLAS_DEFAULT_MATH));
}

extern "C" cuda_ctx *cuda_ctx_init(void *stream, int tf32)
{
    cuda_ctx *ctx = (cuda_ctx *)rd_calloc(1, sizeof *ctx, "the CUDA context");
    RD_CHECK_CUDA(cudaSetDevice(0));
    if (stream) {
        ctx->stream = (cudaStream_t)stream;
    } else {
        RD_CHECK_CUDA(cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking));
        ctx->owns_stream = 1;
    }
    RD_CHECK_CUDNN(cudnnCreate(&ctx->cudnn));
    RD_CHECK_CUDNN(cudnnSetStream(ctx->cudnn, ctx->stream));
    RD_CHECK_CUBLAS(cublasCreate(&ctx->cublas));
    RD_CHECK_CUBLAS(cublasSetStream(ctx->cublas, ctx->stream));
    ctx->tf32 = tf32 ? 1 : 0;
    cuda_ctx_apply_tf32(ctx);
    cuda_conv_cache_init(&ctx->conv_cache);
    return ctx;
}

extern "C" void cuda_ctx_free(cuda_ctx *ctx)
{
    if (!ctx)
        return;
    RD_CHECK_CUDA(cudaStreamSynchronize(ctx->stream));
    RD_CHECK_CUDA(cudaFree(ctx->workspace));
    RD_CHECK_CUBLAS(cublasDestroy(ctx->cublas));
    RD_CHECK_CUDNN(cudnnDestroy(ctx->cudnn));
    if (ctx->owns_stream)
        RD_CHECK_CUDA(cudaStreamDestroy(ctx->stream));
    cuda_conv_cache_free(&ctx->conv_cache);
    free(ctx);
}

extern "C" void cuda_ctx_set_tf32(cuda_ctx *ctx, int tf32)
{
    ctx->tf32 = tf32 ? 1 : 0;
    cuda_ctx_apply_tf32(ctx);
}

extern "C" int cuda_ctx_tf32(const cuda_ctx *ctx)
{
    return ctx->tf32;
}

extern "C" void *cuda_ctx_stream(cuda_ctx *ctx)
{
    return (void *)ctx->stream;
}

extern "C" const cuda_conv_cache *cuda_ctx_conv_cache(const cuda_ctx *ctx)
{
    return &ctx->conv_cache;
}

extern "C" size_t cuda_ctx_workspace_bytes(const cuda_ctx *ctx)
{
    return ctx->workspace_bytes;
}

void *cuda_ctx_workspace(cuda_ctx *ctx, size_t bytes)
{
    if (bytes <= ctx->workspace_bytes)
        return ctx->workspace;
    RD_CHECK_CUDA(cudaStreamSynchronize(ctx->stream));  // work queued may still use the old one
    RD_CHECK_CUDA(cudaFree(ctx->workspace));
    ctx->workspace = NULL;
    ctx->workspace_bytes = 0;
    RD_CHECK_CUDA(cudaMalloc(&ctx->workspace, bytes));
    ctx->workspace_bytes = bytes;
    return ctx->workspace;
}

extern "C" void cuda_ctx_sync(cuda_ctx *ctx)
{
    RD_CHECK_CUDA(cudaStreamSynchronize(ctx->stream));
}

extern "C" void *cuda_ctx_alloc(cuda_ctx *ctx, size_t bytes)
{
    (void)ctx;
    void *p = NULL;
    RD_CHECK_CUDA(cudaMalloc(&p, bytes ? bytes : 1));
    return p;
}

extern "C" void cuda_ctx_dealloc(cuda_ctx *ctx, void *dev)
{
    RD_CHECK_CUDA(cudaStreamSynchronize(ctx->stream));
    RD_CHECK_CUDA(cudaFree(dev));
}

extern "C" void cuda_ctx_upload(cuda_ctx *ctx, void *dev_dst, const void *host_src, size_t bytes)
{
    RD_CHECK_CUDA(cudaMemcpyAsync(dev_dst, host_src, bytes, cudaMemcpyHostToDevice, ctx->stream));
    RD_CHECK_CUDA(cudaStreamSynchronize(ctx->stream));  // pageable host memory may be reused now
}

extern "C" void cuda_ctx_download(cuda_ctx *ctx, void *host_dst, const void *dev_src,
                                  size_t bytes)
{
    RD_CHECK_CUDA(cudaMemcpyAsync(host_dst, dev_src, bytes, cudaMemcpyDeviceToHost, ctx->stream));
    RD_CHECK_CUDA(cudaStreamSynchronize(ctx->stream));
}

extern "C" void cuda_ctx_zero(cuda_ctx *ctx, void *dev, size_t bytes)
{
    RD_CHECK_CUDA(cudaMemsetAsync(dev, 0, bytes, ctx->stream));
}
