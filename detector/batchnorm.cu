/* batchnorm.cu — the CUDA twin of batchnorm.c (layers_cuda.h): training-mode BatchNorm on
 * NCHW float32, one block per channel. The per-channel sums are taken in double like the
 * CPU's, but as a tree rather than in (image, pixel) order, so the statistics agree with the
 * CPU's to double rounding and the float outputs almost always to the bit (not guaranteed).
 * Every other step is written with explicit roundings (__dmul_rn, __fmul_rn, ...) so that nvcc
 * contracts nothing the CPU build does not. */
extern "C" {
#include "detector/layers_cuda.h"
}
#include "lib/cuda_ctx_impl.h"

enum { BN_BLOCK = 256 };

/* The sum of every thread's v over the block (all threads call it; all get the sum). */
__device__ static double bn_block_sum(double v, double *shared)
{
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int s = BN_BLOCK / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s)
            shared[threadIdx.x] += shared[threadIdx.x + s];
        __syncthreads();
    }
    double total = shared[0];
    __syncthreads();  // shared is reused by the next call
    return total;
}

/* Offset of element e of channel ch, e in [0, N·HW) ordered (image, pixel). */
__device__ static int64_t bn_offset(int64_t e, int c, int hw, int ch)
{
    return (e / hw * c + ch) * hw + e % hw;
}

__global__ void bn_train_forward_kernel(float *x, int n, int c, int hw, const float *weight,
                                        const float *bias, float eps, float momentum,
                                        float *running_mean, float *running_var, float *stats,
                                        float *y, int relu)
{
    __shared__ double shared[BN_BLOCK];
    int ch = blockIdx.x;
    int64_t cnt = (int64_t)n * hw;
    double s = 0.0;
    for (int64_t e = threadIdx.x; e < cnt; e += BN_BLOCK)
        s += x[bn_offset(e, c, hw, ch)];
    double mean = bn_block_sum(s, shared) / (double)cnt;
    double ss = 0.0;
    for (int64_t e = threadIdx.x; e < cnt; e += BN_BLOCK) {
        double d = __dsub_rn(x[bn_offset(e, c, hw, ch)], mean);
        ss = __dadd_rn(ss, __dmul_rn(d, d));
    }
    double var = bn_block_sum(ss, shared) / (double)cnt;
    double invstd = 1.0 / sqrt(var + (double)eps);
    if (threadIdx.x == 0) {
        stats[ch] = (float)mean;
        stats[c + ch] = (float)invstd;
        double unbiased = cnt > 1 ? var * (double)cnt / (double)(cnt - 1) : var;
        double keep = 1.0 - (double)momentum;
        running_mean[ch] = (float)__dadd_rn(__dmul_rn(keep, running_mean[ch]),
                                            __dmul_rn((double)momentum, mean));
        running_var[ch] = (float)__dadd_rn(__dmul_rn(keep, running_var[ch]),
                                           __dmul_rn((double)momentum, unbiased));
    }
    float a = weight[ch], b = bias[ch];
    for (int64_t e = threadIdx.x; e < cnt; e += BN_BLOCK) {
        int64_t o = bn_offset(e, c, hw, ch);
        float h = (float)__dmul_rn(__dsub_rn(x[o], mean), invstd);
        float v = __fadd_rn(__fmul_rn(a, h), b);
        x[o] = h;
        y[o] = relu && v < 0.0f ? 0.0f : v;
    }
}

__global__ void bn_train_backward_kernel(const float *xhat, const float *dy, int n, int c,
                                         int hw, const float *weight, const float *stats,
                                         float *dx, float *dweight, float *dbias)
{
    __shared__ double shared[BN_BLOCK];
    int ch = blockIdx.x;
    int64_t cnt = (int64_t)n * hw;
    double sdy = 0.0, sdyx = 0.0;
    for (int64_t e = threadIdx.x; e < cnt; e += BN_BLOCK) {
        int64_t o = bn_offset(e, c, hw, ch);
        sdy += dy[o];
        sdyx = __dadd_rn(sdyx, __dmul_rn((double)dy[o], (double)xhat[o]));
    }
    sdy = bn_block_sum(sdy, shared);
    sdyx = bn_block_sum(sdyx, shared);
    if (threadIdx.x == 0) {
        dweight[ch] = __fadd_rn(dweight[ch], (float)sdyx);
        dbias[ch] = __fadd_rn(dbias[ch], (float)sdy);
    }
    double k = __dmul_rn((double)weight[ch], (double)stats[c + ch]);
    double mdy = sdy / (double)cnt, mdyx = sdyx / (double)cnt;
    for (int64_t e = threadIdx.x; e < cnt; e += BN_BLOCK) {
        int64_t o = bn_offset(e, c, hw, ch);
        double t = __dsub_rn(__dsub_rn(dy[o], mdy), __dmul_rn((double)xhat[o], mdyx));
        dx[o] = (float)__dmul_rn(k, t);
    }
}

extern "C" void bn_train_forward_cuda(cuda_ctx *ctx, float *x, int n, int c, int hw,
                                      const float *weight, const float *bias, float eps,
                                      float momentum, float *running_mean, float *running_var,
                                      float *stats, float *y, int relu)
{
    RD_CHECK(n > 0 && c > 0 && hw > 0 && x != y, "bad training BatchNorm %d x %d x %d (y must "
             "not be x)", n, c, hw);
    bn_train_forward_kernel<<<(unsigned)c, BN_BLOCK, 0, ctx->stream>>>(
        x, n, c, hw, weight, bias, eps, momentum, running_mean, running_var, stats, y, relu);
    RD_CHECK_LAUNCH();
}

extern "C" void bn_train_backward_cuda(cuda_ctx *ctx, const float *xhat, const float *dy, int n,
                                       int c, int hw, const float *weight, const float *stats,
                                       float *dx, float *dweight, float *dbias)
{
    RD_CHECK(n > 0 && c > 0 && hw > 0, "bad training BatchNorm %d x %d x %d", n, c, hw);
    bn_train_backward_kernel<<<(unsigned)c, BN_BLOCK, 0, ctx->stream>>>(
        xhat, dy, n, c, hw, weight, stats, dx, dweight, dbias);
    RD_CHECK_LAUNCH();
}
