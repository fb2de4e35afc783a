/* cuda_expf_impl.h — for the .cu files only: glibc's expf (sysdeps/ieee754/flt-32/e_expf.c,
 * its table and polynomial, FMA where the x86-64 FMA build of glibc contracts) as a host and
 * device function, so GPU code that must give the CPU's bits (sigmoid scores, decoded boxes)
 * computes the CPU's exp. Every double operation is rounded alone on the device; the host
 * pass (no FMA instructions in the x86-64 baseline) cannot contract them either. The test
 * checks the host evaluation against the C library's expf (postprocess_cuda_expf). */
#ifndef RD_CUDA_EXPF_IMPL_H
#define RD_CUDA_EXPF_IMPL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* glibc's __exp2f_data: 2^(i/32) with i << 47 subtracted from the bits. */
#define CUDA_EXPF_TAB_VALUES                                                                \
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,         \
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,         \
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,         \
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,         \
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,         \
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,         \
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,         \
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540

static __device__ __constant__ uint64_t cuda_expf_tab_dev[32] = {CUDA_EXPF_TAB_VALUES};
#ifndef __CUDA_ARCH__
static const uint64_t cuda_expf_tab_host[32] = {CUDA_EXPF_TAB_VALUES};
#endif

/* N/ln2, the rounding shift and the polynomial of 2^(r/N) scaled, N = 32. */
#define CUDA_EXPF_N 32.0
#define CUDA_EXPF_INV_LN2_N (0x1.71547652b82fep+0 * CUDA_EXPF_N)
#define CUDA_EXPF_SHIFT 0x1.8p+52
#define CUDA_EXPF_C0 (0x1.c6af84b912394p-5 / CUDA_EXPF_N / CUDA_EXPF_N / CUDA_EXPF_N)
#define CUDA_EXPF_C1 (0x1.ebfce50fac4f3p-3 / CUDA_EXPF_N / CUDA_EXPF_N)
#define CUDA_EXPF_C2 (0x1.62e42ff0c52d6p-1 / CUDA_EXPF_N)

#ifdef __CUDA_ARCH__
#define CUDA_EXPF_DMUL(a, b) __dmul_rn((a), (b))
#define CUDA_EXPF_DADD(a, b) __dadd_rn((a), (b))
#define CUDA_EXPF_DFMA(a, b, c) __fma_rn((a), (b), (c))
#define CUDA_EXPF_TAB cuda_expf_tab_dev
#else
#define CUDA_EXPF_DMUL(a, b) ((a) * (b))
#define CUDA_EXPF_DADD(a, b) ((a) + (b))
#define CUDA_EXPF_DFMA(a, b, c) fma((a), (b), (c))
#define CUDA_EXPF_TAB cuda_expf_tab_host
#endif

/* glibc's expf: the special cases, x·N/ln2 = k + r, 2^(k/N) from the table, a cubic for
 * 2^(r/N), the product rounded once to float. Cannot fail. */
static __host__ __device__ inline float cuda_expf_glibc(float x)
{
    uint32_t ux;
    memcpy(&ux, &x, sizeof ux);
    const uint32_t abstop = (ux >> 20) & 0x7ff;
    if (abstop >= 0x42b) {  // |x| >= 88 (top12 of 88.0f) or NaN
        if (ux == 0xff800000u)
            return 0.0f;
        if (abstop >= 0x7f8)
            return x + x;
        if (x > 0x1.62e42ep6f)
            return INFINITY;
        if (x < -0x1.9fe368p6f)
            return 0.0f;
    }
    const double xd = (double)x;
    double kd = CUDA_EXPF_DFMA(CUDA_EXPF_INV_LN2_N, xd, CUDA_EXPF_SHIFT);
    uint64_t ki;
    memcpy(&ki, &kd, sizeof ki);
    kd = CUDA_EXPF_DADD(kd, -CUDA_EXPF_SHIFT);
    const double r = CUDA_EXPF_DFMA(CUDA_EXPF_INV_LN2_N, xd, -kd);
    const uint64_t t = CUDA_EXPF_TAB[ki % 32] + (ki << 47);
    double s;
    memcpy(&s, &t, sizeof s);
    const double z = CUDA_EXPF_DFMA(CUDA_EXPF_C0, r, CUDA_EXPF_C1);
    const double r2 = CUDA_EXPF_DMUL(r, r);
    double y = CUDA_EXPF_DFMA(CUDA_EXPF_C2, r, 1.0);
    y = CUDA_EXPF_DFMA(z, r2, y);
    return (float)CUDA_EXPF_DMUL(y, s);
}

#endif
