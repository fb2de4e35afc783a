/* gpu_compare.h — what the CPU/GPU parity suites share: device copies of host arrays and host
 * copies of device arrays (over lib/cuda_ctx.h), and the comparisons their tolerances are
 * stated in: the same bits, and the largest error relative to the tensor's largest
 * magnitude. Every failure fails the running check test. In a build without CUDA the device
 * helpers reach cuda_ctx.h's stubs; the suites call them only after GPU_TEST_OR_SKIP. */
#ifndef RD_TESTS_GPU_COMPARE_H
#define RD_TESTS_GPU_COMPARE_H

#include <stddef.h>

#include "lib/cuda_ctx.h"

/* A device copy of `bytes` of host memory (at least 4 bytes allocated, so 0 gives a valid
 * pointer); free it with cuda_ctx_dealloc. */
void *gpu_upload_copy(cuda_ctx *ctx, const void *host, size_t bytes);
/* `bytes` of device memory in a malloc'd host array (one spare byte) the caller frees. */
void *gpu_download_copy(cuda_ctx *ctx, const void *dev, size_t bytes);

/* max |got - want| / max |want| over count floats: the error relative to the tensor's scale
 * (a NaN error wins; the scale is at least 1e-30). */
double gpu_scaled_err(const float *got, const float *want, size_t count);

/* gpu_scaled_err of the device floats dev [count] against want. */
double gpu_dev_scaled_err(cuda_ctx *ctx, const void *dev, const float *want, size_t count);

/* got and want, count entries of elem bytes, equal bit for bit (names the first entry that
 * differs). */
void gpu_expect_same_bits(const void *got, const void *want, size_t count, size_t elem,
                          const char *what);
/* gpu_expect_same_bits of the device array dev (count entries of elem bytes) against want. */
void gpu_expect_dev_same_bits(cuda_ctx *ctx, const void *dev, const void *want, size_t count,
                              size_t elem, const char *what);
/* got and want, count floats, equal bit for bit or both NaN (a NaN's sign and payload are
 * free); names the first that differs, with both values. */
void gpu_expect_same_floats(const float *got, const float *want, size_t count, const char *what);
/* The device floats dev [count] equal want bit for bit (names the first that differs, with
 * both values). */
void gpu_expect_dev_same_floats(cuda_ctx *ctx, const void *dev, const float *want, size_t count,
                                const char *what);

#endif
