/* nms.cu — the CUDA twin of detector/nms.c: greedy class-wise NMS with torchvision 0.14's
 * semantics and the CPU's keep order (see nms.h).
 * The boxes are put in the CPU's (label, descending score, index) order by the same two
 * stable radix sorts (CUB); a 64 × 64 tiled kernel writes, for every box, the bit mask of the
 * later boxes of its label it suppresses (IoU > threshold in float32, with the CPU's operation
 * order and no FMA contraction: the same bits as nms.c); one block then runs the greedy pass
 * over the masks 64 boxes at a time (torchvision's CUDA nms_kernel, with the reduction on the
 * device), and the kept boxes are read back in (descending score, index) order by a select.
 * Memory: n · ceil(n / 64) · 8 bytes of masks (5000 boxes: 3.2 MB). */
#include <cuda_runtime.h>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_select.cuh>

#include <string.h>

extern "C" {
#include "detector/postprocess_cuda.h"
}

#include "detector/nms_cuda_impl.h"
#include "lib/cuda_ctx_impl.h"

#define NMS_TILE 64
#define NMS_REDUCE_THREADS 256
#define NMS_GRID_Y_MAX 65535
#define NMS_NO_NAN (~0ull)

/* What the device leaves for the host at the end of a run. */
struct nms_header {
    unsigned long long first_nan;  // lowest index of a NaN score; NMS_NO_NAN
    long long count;               // kept boxes
};

/* Device views of one run, cut from the caller's scratch. */
struct nms_plan {
    uint32_t *keys, *keys_sorted;  // [n] sort keys
    int64_t *iota, *order;         // [n] 0..n-1; indices by (descending score, index)
    int64_t *grouped;              // [n] indices by (label, descending score, index)
    float *gboxes;                 // [n][4] boxes in grouped order
    int32_t *glabels;              // [n] labels in grouped order
    unsigned long long *mask;      // [n][col_blocks] suppression bits
    unsigned long long *removed;   // [col_blocks] suppressed, in grouped order
    uint8_t *kept;                 // [n] kept, by original index
    uint8_t *flags;                // [n] kept, in `order` positions
    nms_header *header;
    void *temp;                    // CUB scratch
    size_t temp_bytes;
    int64_t n, col_blocks;
};

static int64_t nms_col_blocks(int64_t n)
{
    return (n + NMS_TILE - 1) / NMS_TILE;
}

/* CUB scratch for n boxes: the two sorts and the final select, queried with the types used. */
static size_t nms_temp_bytes(int64_t n)
{
    size_t need = 0, b = 0;
    RD_CHECK_CUDA(cub::DeviceRadixSort::SortPairs(NULL, b, (const uint32_t *)NULL,
                                                  (uint32_t *)NULL, (const int64_t *)NULL,
                                                  (int64_t *)NULL, n, 0, 32));
    need = b > need ? b : need;
    RD_CHECK_CUDA(cub::DeviceSelect::Flagged(NULL, b, (const int64_t *)NULL,
                                             (const uint8_t *)NULL, (int64_t *)NULL,
                                             (long long *)NULL, n));
    return b > need ? b : need;
}

/* Cut the views of a run on n boxes from c (c->base NULL: only sizes). */
static void nms_plan_carve(nms_carve *c, int64_t n, size_t temp_bytes, nms_plan *pl)
{
    const size_t un = (size_t)n;
    pl->n = n;
    pl->col_blocks = nms_col_blocks(n);
    pl->keys = (uint32_t *)nms_carve_take(c, un * sizeof(uint32_t));
    pl->keys_sorted = (uint32_t *)nms_carve_take(c, un * sizeof(uint32_t));
    pl->iota = (int64_t *)nms_carve_take(c, un * sizeof(int64_t));
    pl->order = (int64_t *)nms_carve_take(c, un * sizeof(int64_t));
    pl->grouped = (int64_t *)nms_carve_take(c, un * sizeof(int64_t));
    pl->gboxes = (float *)nms_carve_take(c, un * 4 * sizeof(float));
    pl->glabels = (int32_t *)nms_carve_take(c, un * sizeof(int32_t));
    pl->mask = (unsigned long long *)nms_carve_take(c, un * (size_t)pl->col_blocks * 8);
    pl->removed = (unsigned long long *)nms_carve_take(c, (size_t)pl->col_blocks * 8);
    pl->kept = (uint8_t *)nms_carve_take(c, un);
    pl->flags = (uint8_t *)nms_carve_take(c, un);
    pl->header = (nms_header *)nms_carve_take(c, sizeof(nms_header));
    pl->temp = nms_carve_take(c, temp_bytes);
    pl->temp_bytes = temp_bytes;
}

size_t nms_cuda_scratch_bytes(int64_t n)
{
    nms_carve c = {NULL, 0};
    nms_plan pl;
    nms_plan_carve(&c, n, nms_temp_bytes(n), &pl);
    return c.used;
}

/* Descending-score keys, the identity permutation, and the first NaN score. */
__global__ void nms_keys_kernel(const float *scores, int64_t n, uint32_t *keys, int64_t *iota,
                                nms_header *h)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float s = scores[i];
        if (s != s)
            atomicMin(&h->first_nan, (unsigned long long)i);
        keys[i] = nms_desc_key(s);
        iota[i] = i;
    }
}

/* Label keys (signed order, as nms.c's label ^ 0x80000000) of the boxes in `order`. */
__global__ void nms_label_keys_kernel(const int32_t *labels, const int64_t *order, int64_t n,
                                      uint32_t *keys)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        keys[i] = (uint32_t)labels[order[i]] ^ 0x80000000u;
}

/* Boxes and labels in grouped order (labels NULL: one class). */
__global__ void nms_gather_kernel(const float *boxes, const int32_t *labels,
                                  const int64_t *grouped, int64_t n, float *gboxes,
                                  int32_t *glabels)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const int64_t src = grouped[i];
        for (int c = 0; c < 4; c++)
            gboxes[4 * i + c] = boxes[4 * src + c];
        glabels[i] = labels ? labels[src] : 0;
    }
}

/* nms.c's area and IoU test, operation for operation in float32 (no contraction): box i is the
 * earlier (kept) one; a NaN IoU suppresses nothing. */
__device__ inline float nms_area(const float *b)
{
    return __fmul_rn(__fsub_rn(b[2], b[0]), __fsub_rn(b[3], b[1]));
}

__device__ inline bool nms_suppresses(const float *bi, float area_i, const float *bj,
                                      float area_j, float thresh)
{
    const float xx1 = bi[0] > bj[0] ? bi[0] : bj[0];
    const float yy1 = bi[1] > bj[1] ? bi[1] : bj[1];
    const float xx2 = bi[2] < bj[2] ? bi[2] : bj[2];
    const float yy2 = bi[3] < bj[3] ? bi[3] : bj[3];
    const float dw = __fsub_rn(xx2, xx1), dh = __fsub_rn(yy2, yy1);
    const float ww = dw > 0.0f ? dw : 0.0f, hh = dh > 0.0f ? dh : 0.0f;
    const float inter = __fmul_rn(ww, hh);
    const float ovr = __fdiv_rn(inter, __fsub_rn(__fadd_rn(area_i, area_j), inter));
    return ovr > thresh;
}

/* Tile (row block y, column block x): mask[i][x] bit b set when grouped box i suppresses the
 * later box x·64 + b of its label. Tiles left of the diagonal are never read. */
__global__ void nms_mask_kernel(const float *gboxes, const int32_t *glabels, int64_t n,
                                int64_t col_blocks, float thresh, unsigned long long *mask)
{
    const int64_t row_block = blockIdx.y, col_block = blockIdx.x;
    if (col_block < row_block)
        return;
    const int64_t row0 = row_block * NMS_TILE, col0 = col_block * NMS_TILE;
    const int rows = (int)min((int64_t)NMS_TILE, n - row0);
    const int cols = (int)min((int64_t)NMS_TILE, n - col0);
    __shared__ float cb[NMS_TILE][4];
    __shared__ float carea[NMS_TILE];
    __shared__ int32_t clab[NMS_TILE];
    const int t = threadIdx.x;
    if (t < cols) {
        for (int c = 0; c < 4; c++)
            cb[t][c] = gboxes[4 * (col0 + t) + c];
        carea[t] = nms_area(cb[t]);
        clab[t] = glabels[col0 + t];
    }
    __syncthreads();
    if (t >= rows)
        return;
    const int64_t i = row0 + t;
    float bi[4];
    for (int c = 0; c < 4; c++)
        bi[c] = gboxes[4 * i + c];
    const float area_i = nms_area(bi);
    const int32_t li = glabels[i];
    unsigned long long bits = 0;
    for (int j = (col_block == row_block) ? t + 1 : 0; j < cols; j++)
        if (clab[j] == li && nms_suppresses(bi, area_i, cb[j], carea[j], thresh))
            bits |= 1ull << j;
    mask[i * col_blocks + col_block] = bits;
}

/* The greedy pass in one block, 64 boxes at a time: the block's own masks decide which of its
 * boxes are kept (serially, as nms.c), then the kept boxes' masks are OR-ed into the removed
 * bits of every later block (in parallel). removed starts zeroed; kept gets every index. */
__global__ void nms_reduce_kernel(const unsigned long long *mask, const int64_t *grouped,
                                  int64_t n, int64_t col_blocks, unsigned long long *removed,
                                  uint8_t *kept)
{
    __shared__ unsigned long long diag[NMS_TILE];
    __shared__ unsigned long long keep_bits;
    for (int64_t w = 0; w < col_blocks; w++) {
        const int64_t base = w * NMS_TILE;
        const int cnt = (int)min((int64_t)NMS_TILE, n - base);
        if ((int)threadIdx.x < cnt)
            diag[threadIdx.x] = mask[(base + threadIdx.x) * col_blocks + w];
        __syncthreads();
        if (threadIdx.x == 0) {
            unsigned long long rem = removed[w], kb = 0;
            for (int b = 0; b < cnt; b++)
                if (!((rem >> b) & 1ull)) {
                    kb |= 1ull << b;
                    rem |= diag[b];
                }
            keep_bits = kb;
        }
        __syncthreads();
        const unsigned long long kb = keep_bits;
        if ((int)threadIdx.x < cnt)
            kept[grouped[base + threadIdx.x]] = (uint8_t)((kb >> threadIdx.x) & 1ull);
        for (int64_t c = w + 1 + threadIdx.x; c < col_blocks; c += blockDim.x) {
            unsigned long long acc = removed[c];
            for (unsigned long long k = kb; k; k &= k - 1)
                acc |= mask[(base + __ffsll((long long)k) - 1) * col_blocks + c];
            removed[c] = acc;
        }
        __syncthreads();
    }
}

/* flags[i]: whether the box order[i] was kept. */
__global__ void nms_flags_kernel(const uint8_t *kept, const int64_t *order, int64_t n,
                                 uint8_t *flags)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        flags[i] = kept[order[i]];
}

/* The two stable sorts of nms.c: by descending score, then (labels given) by label. */
static void nms_sort(cudaStream_t st, const float *scores, const int32_t *labels,
                     const nms_plan *pl)
{
    const int64_t n = pl->n;
    const unsigned grid = cuda_grid_for(n);
    nms_keys_kernel<<<grid, CUDA_BLOCK, 0, st>>>(scores, n, pl->keys, pl->iota, pl->header);
    RD_CHECK_LAUNCH();
    size_t tb = pl->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceRadixSort::SortPairs(pl->temp, tb, (const uint32_t *)pl->keys,
                                                  pl->keys_sorted, (const int64_t *)pl->iota,
                                                  pl->order, n, 0, 32, st));
    if (!labels) {
        RD_CHECK_CUDA(cudaMemcpyAsync(pl->grouped, pl->order, (size_t)n * sizeof(int64_t),
                                      cudaMemcpyDeviceToDevice, st));
        return;
    }
    nms_label_keys_kernel<<<grid, CUDA_BLOCK, 0, st>>>(labels, pl->order, n, pl->keys);
    RD_CHECK_LAUNCH();
    tb = pl->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceRadixSort::SortPairs(pl->temp, tb, (const uint32_t *)pl->keys,
                                                  pl->keys_sorted, (const int64_t *)pl->order,
                                                  pl->grouped, n, 0, 32, st));
}

int64_t nms_cuda_run(cudaStream_t st, const float *boxes, const float *scores,
                     const int32_t *labels, int64_t n, float iou_thresh, void *scratch,
                     int64_t *keep)
{
    RD_CHECK(n >= 0, "negative box count %lld", (long long)n);
    if (n == 0)
        return 0;
    RD_CHECK(nms_col_blocks(n) <= NMS_GRID_Y_MAX, "NMS on the GPU: %lld boxes, at most %lld",
             (long long)n, (long long)NMS_GRID_Y_MAX * NMS_TILE);
    nms_carve c = {(char *)scratch, 0};
    nms_plan pl;
    nms_plan_carve(&c, n, nms_temp_bytes(n), &pl);
    RD_CHECK_CUDA(cudaMemsetAsync(pl.header, 0xff, sizeof(nms_header), st));
    RD_CHECK_CUDA(cudaMemsetAsync(pl.removed, 0, (size_t)pl.col_blocks * 8, st));
    nms_sort(st, scores, labels, &pl);
    const unsigned grid = cuda_grid_for(n);
    nms_gather_kernel<<<grid, CUDA_BLOCK, 0, st>>>(boxes, labels, pl.grouped, n, pl.gboxes,
                                                   pl.glabels);
    RD_CHECK_LAUNCH();
    const dim3 tiles((unsigned)pl.col_blocks, (unsigned)pl.col_blocks);
    nms_mask_kernel<<<tiles, NMS_TILE, 0, st>>>(pl.gboxes, pl.glabels, n, pl.col_blocks,
                                                iou_thresh, pl.mask);
    RD_CHECK_LAUNCH();
    nms_reduce_kernel<<<1, NMS_REDUCE_THREADS, 0, st>>>(pl.mask, pl.grouped, n, pl.col_blocks,
                                                        pl.removed, pl.kept);
    RD_CHECK_LAUNCH();
    nms_flags_kernel<<<grid, CUDA_BLOCK, 0, st>>>(pl.kept, pl.order, n, pl.flags);
    RD_CHECK_LAUNCH();
    size_t tb = pl.temp_bytes;
    RD_CHECK_CUDA(cub::DeviceSelect::Flagged(pl.temp, tb, (const int64_t *)pl.order,
                                             (const uint8_t *)pl.flags, keep,
                                             &pl.header->count, n, st));
    nms_header h;
    RD_CHECK_CUDA(cudaMemcpyAsync(&h, pl.header, sizeof h, cudaMemcpyDeviceToHost, st));
    RD_CHECK_CUDA(cudaStreamSynchronize(st));
    RD_CHECK(h.first_nan == NMS_NO_NAN, "score %llu is NaN", h.first_nan);
    return (int64_t)h.count;
}

extern "C" int64_t nms_batched_cuda(cuda_ctx *ctx, const float *boxes, const float *scores,
                                    const int32_t *labels, int64_t n, float iou_thresh,
                                    int64_t *keep)
{
    if (n <= 0)
        return nms_cuda_run(ctx->stream, boxes, scores, labels, n, iou_thresh, NULL, keep);
    void *scratch = cuda_ctx_workspace(ctx, nms_cuda_scratch_bytes(n));
    return nms_cuda_run(ctx->stream, boxes, scores, labels, n, iou_thresh, scratch, keep);
}

extern "C" int64_t nms_boxes_cuda(cuda_ctx *ctx, const float *boxes, const float *scores,
                                  int64_t n, float iou_thresh, int64_t *keep)
{
    return nms_batched_cuda(ctx, boxes, scores, NULL, n, iou_thresh, keep);
}
