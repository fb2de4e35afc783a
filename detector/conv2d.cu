/* conv2d.cu — the CUDA twin of conv2d.c (layers_cuda.h): 2-D convolution on NCHW float32
 * with OIHW weights by cuDNN 9's convolution calls (cudnnConvolutionForward,
 * cudnnConvolutionBackwardData, cudnnConvolutionBackwardFilter; cross-correlation as
 * F.conv2d, dilation 1, groups 1), the bias by cudnnAddTensor and
 * cudnnConvolutionBackwardBias. These calls are the legacy API, deprecated in cuDNN 9 in
 * favour of its graph API but still shipped and supported.
 * Algorithm: on the first call of a shape, cuDNN's heuristics (cudnnGet*Algorithm_v7, as
 * PyTorch without cudnn.benchmark) rank the algorithms; the first that succeeds, needs at most
 * CONV_WORKSPACE_MAX of workspace, is deterministic (when any is) and fits the math mode is
 * kept in the context's table under the full shape and the TF32 flag, so later calls look it
 * up. Math: TF32 on, the descriptor allows tensor cores (CUDNN_DEFAULT_MATH, converting float
 * to TF32 on Ampere and newer); TF32 off, CUDNN_FMA_MATH (pure FP32): algorithms listed with
 * tensor-op math are skipped, the others run with the descriptor at FMA math. Never CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION (it may use FP16).
 * The backward accumulates into dweight and dbias (beta = 1) and overwrites dx (beta = 0),
 * as the CPU. */
extern "C" {
#include "detector/layers_cuda.h"
}
#include "lib/cuda_ctx_impl.h"

/* The most workspace one convolution may ask for. */
static const size_t CONV_WORKSPACE_MAX = (size_t)1 << 30;

/* The cuDNN descriptors of one call. */
typedef struct conv_descs {
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
} conv_descs;

static void conv2d_cuda_check(const conv2d_desc *d, int n, int h, int w)
{
    RD_CHECK(d->cin > 0 && d->cout > 0 && d->k > 0 && d->stride > 0 && d->pad >= 0,
             "bad convolution %d->%d k%d s%d p%d", d->cin, d->cout, d->k, d->stride, d->pad);
    RD_CHECK(n > 0 && h + 2 * d->pad >= d->k && w + 2 * d->pad >= d->k,
             "input %dx%dx%d is smaller than the %dx%d kernel with pad %d", n, h, w, d->k, d->k,
             d->pad);
}

/* Descriptors of x [N][Cin][H][W], weight [Cout][Cin][k][k], y [N][Cout][OH][OW]; checks that
 * cuDNN's output size is conv2d_out's. */
static void conv_descs_init(conv_descs *t, const conv2d_desc *d, int n, int h, int w)
{
    RD_CHECK_CUDNN(cudnnCreateTensorDescriptor(&t->x));
    RD_CHECK_CUDNN(cudnnCreateTensorDescriptor(&t->y));
    RD_CHECK_CUDNN(cudnnCreateFilterDescriptor(&t->w));
    RD_CHECK_CUDNN(cudnnCreateConvolutionDescriptor(&t->conv));
    RD_CHECK_CUDNN(cudnnSetTensor4dDescriptor(t->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n,
                                              d->cin, h, w));
    RD_CHECK_CUDNN(cudnnSetFilter4dDescriptor(t->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, d->cout,
                                              d->cin, d->k, d->k));
    RD_CHECK_CUDNN(cudnnSetConvolution2dDescriptor(t->conv, d->pad, d->pad, d->stride, d->stride,
                                                   1, 1, CUDNN_CROSS_CORRELATION,
                                                   CUDNN_DATA_FLOAT));
    int on, oc, oh, ow;
    RD_CHECK_CUDNN(cudnnGetConvolution2dForwardOutputDim(t->conv, t->x, t->w, &on, &oc, &oh, &ow));
    RD_CHECK(on == n && oc == d->cout && oh == conv2d_out(h, d->k, d->stride, d->pad) &&
             ow == conv2d_out(w, d->k, d->stride, d->pad),
             "cuDNN's output %dx%dx%dx%d is not the CPU's", on, oc, oh, ow);
    RD_CHECK_CUDNN(cudnnSetTensor4dDescriptor(t->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n,
                                              d->cout, oh, ow));
}

static void conv_descs_free(conv_descs *t)
{
    RD_CHECK_CUDNN(cudnnDestroyConvolutionDescriptor(t->conv));
    RD_CHECK_CUDNN(cudnnDestroyFilterDescriptor(t->w));
    RD_CHECK_CUDNN(cudnnDestroyTensorDescriptor(t->y));
    RD_CHECK_CUDNN(cudnnDestroyTensorDescriptor(t->x));
}

/* Index of the first usable entry of a heuristics ranking, or -1. deterministic: only those. */
template <typename Perf>
static int conv_pick(const Perf *perf, int count, int tf32, int deterministic)
{
    for (int i = 0; i < count; i++) {
        const Perf *p = &perf[i];
        if (p->status != CUDNN_STATUS_SUCCESS || p->memory > CONV_WORKSPACE_MAX ||
            p->mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
            continue;
        if (!tf32 && p->mathType == CUDNN_TENSOR_OP_MATH)
            continue;
        if (deterministic && p->determinism != CUDNN_DETERMINISTIC)
            continue;
        return i;
    }
    return -1;
}

/* The choice from a ranking: deterministic when any usable one is. Aborts when none is. */
template <typename Perf>
static cuda_conv_choice conv_choice_from(const Perf *perf, int count, int tf32,
                                         const cuda_conv_key *key)
{
    int i = conv_pick(perf, count, tf32, 1);
    if (i < 0)
        i = conv_pick(perf, count, tf32, 0);
    RD_CHECK(i >= 0, "cuDNN offers no algorithm for convolution direction %d, %d->%d k%d s%d "
             "p%d on %dx%dx%d (tf32 %d) within %zu bytes of workspace", key->dir, key->cin,
             key->cout, key->k, key->stride, key->pad, key->n, key->h, key->w, tf32,
             CONV_WORKSPACE_MAX);
    /* TF32 off: an algorithm listed with default math runs in pure FP32 under FMA math. */
    cudnnMathType_t math = tf32 ? perf[i].mathType : CUDNN_FMA_MATH;
    cuda_conv_choice c = {(int)perf[i].algo, (int)math, 0};
    return c;
}

/* Asks cuDNN's heuristics for key's direction and fills the workspace it needs. */
static cuda_conv_choice conv_choose(cuda_ctx *ctx, const conv_descs *t, const cuda_conv_key *key)
{
    cudnnHandle_t hd = ctx->cudnn;
    RD_CHECK_CUDNN(cudnnSetConvolutionMathType(t->conv, key->tf32 ? CUDNN_DEFAULT_MATH
                                                                  : CUDNN_FMA_MATH));
    int got = 0;
    cuda_conv_choice c;
    if (key->dir == CUDA_CONV_DIR_FORWARD) {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        RD_CHECK_CUDNN(cudnnGetConvolutionForwardAlgorithm_v7(
            hd, t->x, t->w, t->conv, t->y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf));
        c = conv_choice_from(perf, got, key->tf32, key);
        RD_CHECK_CUDNN(cudnnSetConvolutionMathType(t->conv, (cudnnMathType_t)c.math));
        RD_CHECK_CUDNN(cudnnGetConvolutionForwardWorkspaceSize(
            hd, t->x, t->w, t->conv, t->y, (cudnnConvolutionFwdAlgo_t)c.algo, &c.workspace_bytes));
    } else if (key->dir == CUDA_CONV_DIR_BACKWARD_DATA) {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        RD_CHECK_CUDNN(cudnnGetConvolutionBackwardDataAlgorithm_v7(
            hd, t->w, t->y, t->conv, t->x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, perf));
        c = conv_choice_from(perf, got, key->tf32, key);
        RD_CHECK_CUDNN(cudnnSetConvolutionMathType(t->conv, (cudnnMathType_t)c.math));
        RD_CHECK_CUDNN(cudnnGetConvolutionBackwardDataWorkspaceSize(
            hd, t->w, t->y, t->conv, t->x, (cudnnConvolutionBwdDataAlgo_t)c.algo,
            &c.workspace_bytes));
    } else {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        RD_CHECK_CUDNN(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
            hd, t->x, t->y, t->conv, t->w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, perf));
        c = conv_choice_from(perf, got, key->tf32, key);
        RD_CHECK_CUDNN(cudnnSetConvolutionMathType(t->conv, (cudnnMathType_t)c.math));
        RD_CHECK_CUDNN(cudnnGetConvolutionBackwardFilterWorkspaceSize(
            hd, t->x, t->y, t->conv, t->w, (cudnnConvolutionBwdFilterAlgo_t)c.algo,
            &c.workspace_bytes));
    }
    return c;
}

/* The algorithm for this call (from the table, or chosen and stored), its math type set on
 * the descriptor, and the workspace grown to fit; returns the workspace. */
static void *conv_prepare(cuda_ctx *ctx, const conv_descs *t, cuda_conv_dir dir,
                          const conv2d_desc *d, int n, int h, int w, cuda_conv_choice *c)
{
    cuda_conv_key key = {(int)dir, n, d->cin, h, w, d->cout, d->k, d->stride, d->pad, ctx->tf32};
    if (!cuda_conv_cache_find(&ctx->conv_cache, &key, c)) {
        *c = conv_choose(ctx, t, &key);
        cuda_conv_cache_put(&ctx->conv_cache, &key, c);
    }
    RD_CHECK_CUDNN(cudnnSetConvolutionMathType(t->conv, (cudnnMathType_t)c->math));
    return cuda_ctx_workspace(ctx, c->workspace_bytes);
}

/* A [1][C][1][1] descriptor (bias and its gradient). */
static cudnnTensorDescriptor_t conv_bias_desc(int c)
{
    cudnnTensorDescriptor_t b;
    RD_CHECK_CUDNN(cudnnCreateTensorDescriptor(&b));
    RD_CHECK_CUDNN(cudnnSetTensor4dDescriptor(b, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, c, 1, 1));
    return b;
}

extern "C" void conv2d_forward_cuda(cuda_ctx *ctx, const conv2d_desc *d, const float *x, int n,
                                    int h, int w, const float *weight, const float *bias,
                                    float *y)
{
    conv2d_cuda_check(d, n, h, w);
    conv_descs t;
    conv_descs_init(&t, d, n, h, w);
    cuda_conv_choice c;
    void *ws = conv_prepare(ctx, &t, CUDA_CONV_DIR_FORWARD, d, n, h, w, &c);
    const float one = 1.0f, zero = 0.0f;
    RD_CHECK_CUDNN(cudnnConvolutionForward(ctx->cudnn, &one, t.x, x, t.w, weight, t.conv,
                                           (cudnnConvolutionFwdAlgo_t)c.algo, ws,
                                           c.workspace_bytes, &zero, t.y, y));
    if (bias) {
        cudnnTensorDescriptor_t b = conv_bias_desc(d->cout);
        RD_CHECK_CUDNN(cudnnAddTensor(ctx->cudnn, &one, b, bias, &one, t.y, y));
        RD_CHECK_CUDNN(cudnnDestroyTensorDescriptor(b));
    }
    conv_descs_free(&t);
}

extern "C" void conv2d_backward_cuda(cuda_ctx *ctx, const conv2d_desc *d, const float *x, int n,
                                     int h, int w, const float *weight, const float *dy,
                                     float *dx, float *dweight, float *dbias)
{
    conv2d_cuda_check(d, n, h, w);
    conv_descs t;
    conv_descs_init(&t, d, n, h, w);
    const float one = 1.0f, zero = 0.0f;
    cuda_conv_choice c;
    if (dweight) {
        void *ws = conv_prepare(ctx, &t, CUDA_CONV_DIR_BACKWARD_FILTER, d, n, h, w, &c);
        RD_CHECK_CUDNN(cudnnConvolutionBackwardFilter(
            ctx->cudnn, &one, t.x, x, t.y, dy, t.conv, (cudnnConvolutionBwdFilterAlgo_t)c.algo,
            ws, c.workspace_bytes, &one, t.w, dweight));
    }
    if (dx) {
        void *ws = conv_prepare(ctx, &t, CUDA_CONV_DIR_BACKWARD_DATA, d, n, h, w, &c);
        RD_CHECK_CUDNN(cudnnConvolutionBackwardData(
            ctx->cudnn, &one, t.w, weight, t.y, dy, t.conv, (cudnnConvolutionBwdDataAlgo_t)c.algo,
            ws, c.workspace_bytes, &zero, t.x, dx));
    }
    if (dbias) {
        cudnnTensorDescriptor_t b = conv_bias_desc(d->cout);
        RD_CHECK_CUDNN(cudnnConvolutionBackwardBias(ctx->cudnn, &one, t.y, dy, &one, b, dbias));
        RD_CHECK_CUDNN(cudnnDestroyTensorDescriptor(b));
    }
    conv_descs_free(&t);
}
