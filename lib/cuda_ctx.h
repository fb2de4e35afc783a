/* cuda_ctx.h — the one CUDA context of a process: the stream every GPU op runs on, the cuDNN
 * and cuBLAS handles, the TF32 switch, a grow-only workspace and the table of convolution
 * algorithms chosen per shape (lib/cuda_ctx.cu). No CUDA types here: C files include this
 * header, streams travel as void *. Device memory helpers (alloc, upload, download) are here
 * too so that C code (the tests, later the network) can move tensors without CUDA headers.
 * The algorithm table itself is plain host code (lib/cuda_ctx.c), built with or without CUDA.
 * In a build without CUDA the GPU functions are stubs that abort saying so; callers check
 * rd_cuda_available (lib/device.h) first. */
#ifndef RD_CUDA_CTX_H
#define RD_CUDA_CTX_H

#include <stddef.h>

#include "lib/check.h"

/* Which cuDNN call a cached algorithm is for. */
typedef enum cuda_conv_dir {
    CUDA_CONV_DIR_FORWARD = 0,
    CUDA_CONV_DIR_BACKWARD_DATA,
    CUDA_CONV_DIR_BACKWARD_FILTER,
} cuda_conv_dir;

/* The full shape of one convolution call: the key of the algorithm table. */
typedef struct cuda_conv_key {
    int dir;                 // cuda_conv_dir
    int n, cin, h, w;        // input [N][Cin][H][W]
    int cout, k, stride, pad;
    int tf32;                // 1: TF32 tensor cores allowed, 0: pure FP32
} cuda_conv_key;

/* The algorithm chosen for a key: cuDNN's algorithm enum and math type as ints, and the
 * workspace it needs. */
typedef struct cuda_conv_choice {
    int algo;
    int math;
    size_t workspace_bytes;
} cuda_conv_choice;

/* Key/choice pairs in insertion order; grows by doubling (it allocates only when a shape is
 * seen for the first time). */
typedef struct cuda_conv_cache {
    cuda_conv_key *keys;        // [cap]
    cuda_conv_choice *choices;  // [cap]
    int count, cap;
} cuda_conv_cache;

/* An empty table. Cannot fail. */
void cuda_conv_cache_init(cuda_conv_cache *cache);
/* Frees the table's memory; the table is empty afterwards. */
void cuda_conv_cache_free(cuda_conv_cache *cache);
/* 1 and *choice filled when every field of key matches a stored key, else 0. */
int cuda_conv_cache_find(const cuda_conv_cache *cache, const cuda_conv_key *key,
                         cuda_conv_choice *choice);
/* Stores key -> choice, replacing the choice of an equal key. Aborts only when out of memory. */
void cuda_conv_cache_put(cuda_conv_cache *cache, const cuda_conv_key *key,
                         const cuda_conv_choice *choice);

typedef struct cuda_ctx cuda_ctx;

#ifdef RANKDET_CUDA
/* A context on device 0. stream: a cudaStream_t to run on, or NULL for a stream the context
 * creates and owns. tf32: 1 lets cuDNN and cuBLAS use TF32 tensor cores for float data (the
 * default of the training tools), 0 forces pure FP32 (--no-tf32). Aborts with the CUDA error
 * when there is no usable GPU. The caller frees it with cuda_ctx_free. */
cuda_ctx *cuda_ctx_init(void *stream, int tf32);
/* Destroys the handles, the owned stream, the workspace and the table. NULL is a no-op. */
void cuda_ctx_free(cuda_ctx *ctx);
/* Switches TF32 on or off for later calls (cached choices are per mode). */
void cuda_ctx_set_tf32(cuda_ctx *ctx, int tf32);
int cuda_ctx_tf32(const cuda_ctx *ctx);
/* The cudaStream_t every op of this context runs on. */
void *cuda_ctx_stream(cuda_ctx *ctx);
/* The algorithm table (read-only: for tests and reports). */
const cuda_conv_cache *cuda_ctx_conv_cache(const cuda_ctx *ctx);
/* Bytes of the workspace now held (it only grows). */
size_t cuda_ctx_workspace_bytes(const cuda_ctx *ctx);
/* Waits until everything queued on the stream has run; aborts on an error from a kernel. */
void cuda_ctx_sync(cuda_ctx *ctx);
/* `bytes` of device memory (cudaMalloc; aborts when it fails). Free with cuda_ctx_dealloc. */
void *cuda_ctx_alloc(cuda_ctx *ctx, size_t bytes);
void cuda_ctx_dealloc(cuda_ctx *ctx, void *dev);
/* Host -> device copy on the stream (ordered with the ops; returns when src may be reused). */
void cuda_ctx_upload(cuda_ctx *ctx, void *dev_dst, const void *host_src, size_t bytes);
/* Device -> host copy on the stream; returns when dst holds the data. */
void cuda_ctx_download(cuda_ctx *ctx, void *host_dst, const void *dev_src, size_t bytes);
/* Zeroes `bytes` of device memory on the stream. */
void cuda_ctx_zero(cuda_ctx *ctx, void *dev, size_t bytes);
#else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
/* Stubs of a build without CUDA: a call is a programming error (check rd_cuda_available). */
#define CUDA_CTX_UNBUILT() \
    rd_check_fail(__FILE__, __LINE__, __func__, "rankdet was built without CUDA (make CUDA=1)")
static inline cuda_ctx *cuda_ctx_init(void *stream, int tf32) { CUDA_CTX_UNBUILT(); }
static inline void cuda_ctx_free(cuda_ctx *ctx) {}
static inline void cuda_ctx_set_tf32(cuda_ctx *ctx, int tf32) { CUDA_CTX_UNBUILT(); }
static inline int cuda_ctx_tf32(const cuda_ctx *ctx) { CUDA_CTX_UNBUILT(); }
static inline void *cuda_ctx_stream(cuda_ctx *ctx) { CUDA_CTX_UNBUILT(); }
static inline const cuda_conv_cache *cuda_ctx_conv_cache(const cuda_ctx *ctx) { CUDA_CTX_UNBUILT(); }
static inline size_t cuda_ctx_workspace_bytes(const cuda_ctx *ctx) { CUDA_CTX_UNBUILT(); }
static inline void cuda_ctx_sync(cuda_ctx *ctx) { CUDA_CTX_UNBUILT(); }
static inline void *cuda_ctx_alloc(cuda_ctx *ctx, size_t bytes) { CUDA_CTX_UNBUILT(); }
static inline void cuda_ctx_dealloc(cuda_ctx *ctx, void *dev) { CUDA_CTX_UNBUILT(); }
static inline void cuda_ctx_upload(cuda_ctx *ctx, void *dev_dst, const void *host_src,
                                   size_t bytes) { CUDA_CTX_UNBUILT(); }
static inline void cuda_ctx_download(cuda_ctx *ctx, void *host_dst, const void *dev_src,
                                     size_t bytes) { CUDA_CTX_UNBUILT(); }
static inline void cuda_ctx_zero(cuda_ctx *ctx, void *dev, size_t bytes) { CUDA_CTX_UNBUILT(); }
#pragma GCC diagnostic pop
#endif

#endif
