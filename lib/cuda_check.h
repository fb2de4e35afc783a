/* cuda_check.h — always-on checks of CUDA runtime, cuBLAS and cuDNN calls for the .cu files:
 * a failed call aborts naming the expression, file:line, the library's own error text and a
 * hint (check.h's rd_check_fail). Only CUDA sources include this header. */
#ifndef RD_CUDA_CHECK_H
#define RD_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "lib/check.h"

#define RD_CHECK_CUDA(call)                                                                  \
    do {                                                                                     \
        cudaError_t rd_e_ = (call);                                                          \
        if (rd_e_ != cudaSuccess)                                                            \
            rd_check_fail(__FILE__, __LINE__, #call, "CUDA error %s: %s",                    \
                          cudaGetErrorName(rd_e_), cudaGetErrorString(rd_e_));               \
    } while (0)

/* The kernel launch just made (its configuration; errors while running surface at the next
 * synchronising call). */
#define RD_CHECK_LAUNCH() RD_CHECK_CUDA(cudaGetLastError())

#define RD_CHECK_CUBLAS(call)                                                                \
    do {                                                                                     \
        cublasStatus_t rd_s_ = (call);                                                       \
        if (rd_s_ != CUBLAS_STATUS_SUCCESS)                                                  \
            rd_check_fail(__FILE__, __LINE__, #call, "cuBLAS error %s (%d)",                 \
                          cublasGetStatusName(rd_s_), (int)rd_s_);                           \
    } while (0)

#define RD_CHECK_CUDNN(call)                                                                 \
    do {                                                                                     \
        cudnnStatus_t rd_s_ = (call);                                                        \
        if (rd_s_ != CUDNN_STATUS_SUCCESS)                                                   \
            rd_check_fail(__FILE__, __LINE__, #call, "cuDNN error %s", cudnnGetErrorString(rd_s_)); \
    } while (0)

#endif
