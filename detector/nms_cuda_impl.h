/* nms_cuda_impl.h — the inside of the GPU NMS (detector/nms.cu) for the .cu files only: its
 * scratch size and a run on scratch the caller carved, so that post-processing
 * (detector/postprocess.cu) runs NMS inside its own workspace; and the carving helper both
 * use to size and cut one grow-only device block; the descending score key both sort by. */
#ifndef RD_NMS_CUDA_IMPL_H
#define RD_NMS_CUDA_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/cuda_check.h"

#define NMS_CUDA_ALIGN 256

/* A bump cursor over one device block. With base NULL it only counts bytes (the sizing
 * pass); the same sequence of takes then cuts the real block identically. */
struct nms_carve {
    char *base;
    size_t used;
};

/* `bytes` from c, NMS_CUDA_ALIGN-aligned (NULL in the sizing pass). */
static inline void *nms_carve_take(nms_carve *c, size_t bytes)
{
    size_t at = (c->used + NMS_CUDA_ALIGN - 1) / NMS_CUDA_ALIGN * NMS_CUDA_ALIGN;
    c->used = at + (bytes ? bytes : 1);
    return c->base ? (void *)(c->base + at) : NULL;
}

/* sort_key_from_f32 of optim/sort.h (-0 and +0 share a key), complemented: ascending keys
 * sort scores in descending order. Cannot fail. */
static __device__ inline uint32_t nms_desc_key(float x)
{
    uint32_t u = __float_as_uint(x);
    if (u == 0x80000000u)
        u = 0;
    return ~((u & 0x80000000u) ? ~u : (u | 0x80000000u));
}

/* Device bytes nms_cuda_run needs for n boxes (CUB's scratch included). Host only; queries
 * CUB, so it needs a GPU. */
size_t nms_cuda_scratch_bytes(int64_t n);

/* nms_batched (labels NULL: nms_boxes) on device boxes [n][4], scores [n], labels [n] into the
 * device keep [n]; scratch: nms_cuda_scratch_bytes(n) device bytes. Work on `st`; returns the
 * kept count after synchronising it. Aborts on a NaN score, as the CPU does. */
int64_t nms_cuda_run(cudaStream_t st, const float *boxes, const float *scores,
                     const int32_t *labels, int64_t n, float iou_thresh, void *scratch,
                     int64_t *keep);

#endif
