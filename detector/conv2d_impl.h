/* conv2d_impl.h — internal to the convolution files (conv2d.c, conv2d_winograd.c): the blocked
 * single-threaded-SGEMM runner both use and the Winograd path's entry points. Not a public
 * interface: the network uses detector/layers.h. */
#ifndef RD_CONV2D_IMPL_H
#define RD_CONV2D_IMPL_H

#include <cblas.h>
#include <stddef.h>

#include "detector/layers.h"

typedef struct gemm_args {
    CBLAS_TRANSPOSE ta, tb;
    int m, n, k;
    const float *a;
    int lda;
    const float *b;
    int ldb;
    float beta;
    float *c;
    int ldc;
    const float *row_bias;  // [m] or NULL: C starts as the bias of its row (beta ignored)
} gemm_args;

/* C = op(A) · op(B) + beta · C (or + row_bias), alpha 1, row-major, cut into blocks of
 * columns (rows when C has too few columns) by a rule of the shape only, the blocks run by
 * OpenMP, one single-threaded SGEMM each. */
void conv2d_gemm(const gemm_args *g);
/* Make sure OpenBLAS runs single-threaded (the callers' blocks are the parallelism). */
void conv2d_blas_single(void);

/* The Winograd F(2×2, 3×3) path (conv2d_winograd.c): whether it takes a convolution of n
 * images of h × w (3×3, stride 1, enough tiles: a rule of the shape only), its scratch, and
 * forward and backward with the contracts of conv2d_forward / conv2d_backward. */
int conv2d_winograd_applies(const conv2d_desc *d, int n, int h, int w);
size_t conv2d_winograd_scratch_floats(const conv2d_desc *d, int n, int h, int w);
void conv2d_winograd_forward(const conv2d_desc *d, const float *x, int n, int h, int w,
                             const float *weight, const float *bias, float *y, float *scratch);
void conv2d_winograd_backward(const conv2d_desc *d, const float *x, int n, int h, int w,
                              const float *weight, const float *dy, float *dx, float *dweight,
                              float *scratch);

#endif
