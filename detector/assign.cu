/* assign.cu — the CUDA twins of assign.c (assign_cuda.h). One thread per anchor, in the CPU's
 * passes: (1) the anchor's IoU row (box_iou's float32 operations rounded one by one), its
 * maximum and first argmax, the thresholds, and each gt's best IoU by atomicMax on the float's
 * bits (exact: only IoUs > 0 take part, whose bit patterns order as the floats do; a block first
 * reduces in shared memory); (2) one thread applies the paper rule to the gt maxima and finds
 * the lowest; (3) anchors that can be a gt's best recompute their row and are forced positive
 * on equality, ties included; (4) crowd boxes ignore the anchors they cover; (5) the positives
 * are counted. Ground truth is uploaded from the host into the context's workspace. */
extern "C" {
#include "detector/assign_cuda.h"
}
#include "lib/cuda_ctx_impl.h"

/* gt maxima kept in shared memory per block (the rest go straight to global atomics). */
static const int ASSIGN_SHARED_GT = 4096;

/* The ground truth on the device, and the per-image scratch. */
struct assign_dev {
    const rd_box *boxes;    // [G]
    const uint8_t *crowd;   // [G] or NULL
    int G;
    int first_real;         // index of the first non-crowd gt (the CPU's g->index[0])
    float *gt_best;         // [G] each non-crowd gt's best IoU
    float *lowest;          // [1] the smallest gt_best after the paper rule
};

/* IoU of anchor a (area_a precomputed) with g: box_iou's float32 arithmetic, no contraction. */
__device__ float assign_iou_dev(const float *a, float area_a, rd_box g)
{
    float area_g = __fmul_rn(__fsub_rn(g.x2, g.x1), __fsub_rn(g.y2, g.y1));
    float lx = g.x1 > a[0] ? g.x1 : a[0];
    float ly = g.y1 > a[1] ? g.y1 : a[1];
    float rx = g.x2 < a[2] ? g.x2 : a[2];
    float ry = g.y2 < a[3] ? g.y2 : a[3];
    float w = __fsub_rn(rx, lx), h = __fsub_rn(ry, ly);
    w = w > 0.0f ? w : 0.0f;
    h = h > 0.0f ? h : 0.0f;
    float inter = __fmul_rn(w, h);
    return __fdiv_rn(inter, __fsub_rn(__fadd_rn(area_g, area_a), inter));
}

/* Area of box a [4], rounded as the CPU rounds it. */
__device__ float assign_area_dev(const float *a)
{
    return __fmul_rn(__fsub_rn(a[2], a[0]), __fsub_rn(a[3], a[1]));
}

/* 1 when gt k is a crowd box. */
__device__ bool assign_is_crowd(const assign_dev &d, int k)
{
    return d.crowd && d.crowd[k];
}

/* Pass 1: the maximum m of the anchor's row over non-crowd gts (0 when none is > 0), the first
 * gt whose IoU equals it, the thresholds, and the gt maxima (shared sh[k] for k < nsh). */
__global__ void assign_threshold_kernel(const float *anchors, int64_t A, assign_dev d,
                                        float fg, float bg, int32_t *match, float *best,
                                        int nsh)
{
    extern __shared__ int sh[];
    for (int k = threadIdx.x; k < nsh; k += blockDim.x)
        sh[k] = 0;
    __syncthreads();
    for (int64_t a = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; a < A;
         a += (int64_t)gridDim.x * blockDim.x) {
        const float *b = anchors + 4 * a;
        float area_a = assign_area_dev(b), m = 0.0f;
        int arg = -1, zero = -1;
        for (int k = 0; k < d.G; k++) {
            if (assign_is_crowd(d, k))
                continue;
            float r = assign_iou_dev(b, area_a, d.boxes[k]);
            if (r > m) {
                m = r;
                arg = k;
            }
            if (zero < 0 && r == 0.0f)
                zero = k;
            if (r > 0.0f)
                atomicMax(k < nsh ? &sh[k] : (int *)&d.gt_best[k], __float_as_int(r));
        }
        int first = m > 0.0f ? arg : (zero >= 0 ? zero : d.first_real);
        best[a] = m;
        if (d.first_real < 0)
            match[a] = ASSIGN_NEGATIVE;
        else if (m >= fg)
            match[a] = first;
        else
            match[a] = m < bg ? ASSIGN_NEGATIVE : ASSIGN_IGNORED;
    }
    __syncthreads();
    for (int k = threadIdx.x; k < nsh; k += blockDim.x)
        if (sh[k] > 0)
            atomicMax((int *)&d.gt_best[k], sh[k]);
}

/* Pass 2 (one thread): the paper rule makes a gt whose best is 0 force nothing; the lowest gt
 * maximum bounds the anchors pass 3 must look at. */
__global__ void assign_lowest_kernel(assign_dev d, int paper)
{
    float lowest = 2.0f;
    for (int k = 0; k < d.G; k++) {
        if (assign_is_crowd(d, k))
            continue;
        if (paper && d.gt_best[k] <= 0.0f)
            d.gt_best[k] = 2.0f;
        lowest = d.gt_best[k] < lowest ? d.gt_best[k] : lowest;
    }
    *d.lowest = lowest;
}

/* Pass 3: an anchor not yet positive whose row equals some gt's best is matched to the first gt
 * of its own maximum best[a]. */
__global__ void assign_force_kernel(const float *anchors, int64_t A, assign_dev d,
                                    const float *best, int32_t *match)
{
    float lowest = *d.lowest;
    for (int64_t a = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; a < A;
         a += (int64_t)gridDim.x * blockDim.x) {
        if (match[a] >= 0 || best[a] < lowest)
            continue;
        const float *b = anchors + 4 * a;
        float area_a = assign_area_dev(b);
        int hit = 0, first = -1;
        for (int k = 0; k < d.G; k++) {
            if (assign_is_crowd(d, k))
                continue;
            float r = assign_iou_dev(b, area_a, d.boxes[k]);
            hit |= r == d.gt_best[k];
            if (first < 0 && r == best[a])
                first = k;
        }
        if (hit)
            match[a] = first >= 0 ? first : d.first_real;
    }
}

/* Pass 4: anchors that are not positive and whose intersection with a crowd box exceeds ioa
 * of their own area are ignored. */
__global__ void assign_crowd_kernel(const float *anchors, int64_t A, assign_dev d, float ioa,
                                    int32_t *match)
{
    for (int64_t a = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; a < A;
         a += (int64_t)gridDim.x * blockDim.x) {
        if (match[a] >= 0)
            continue;
        const float *b = anchors + 4 * a;
        float limit = __fmul_rn(ioa, assign_area_dev(b));
        for (int k = 0; k < d.G; k++) {
            if (!assign_is_crowd(d, k))
                continue;
            rd_box c = d.boxes[k];
            float w = __fsub_rn(c.x2 < b[2] ? c.x2 : b[2], c.x1 > b[0] ? c.x1 : b[0]);
            float h = __fsub_rn(c.y2 < b[3] ? c.y2 : b[3], c.y1 > b[1] ? c.y1 : b[1]);
            if (w > 0.0f && h > 0.0f && __fmul_rn(w, h) > limit) {
                match[a] = ASSIGN_IGNORED;
                break;
            }
        }
    }
}

/* Pass 5: *count += the anchors with match ≥ 0 (block counts, one atomic per block). */
__global__ void assign_count_kernel(const int32_t *match, int64_t A, unsigned long long *count)
{
    unsigned long long total = 0;
    for (int64_t base = blockIdx.x * (int64_t)blockDim.x; base < A;
         base += (int64_t)gridDim.x * blockDim.x) {
        int64_t a = base + threadIdx.x;
        total += (unsigned long long)__syncthreads_count(a < A && match[a] >= 0);
    }
    if (threadIdx.x == 0 && total > 0)
        atomicAdd(count, total);
}

/* labels [A][K] and iou_side [A][K] (may be NULL) from match, iou and the gt classes. */
__global__ void assign_labels_kernel(const int32_t *match, const float *iou, int64_t A, int K,
                                     const int32_t *gt_labels, int8_t *labels, float *iou_side)
{
    int64_t total = A * (int64_t)K;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t a = i / K;
        int k = (int)(i - a * K);
        int32_t m = match[a];
        int on = m >= 0 && gt_labels[m] == k;
        labels[i] = m == ASSIGN_IGNORED ? -1 : (int8_t)on;
        if (iou_side)
            iou_side[i] = on ? iou[a] : 0.0f;
    }
}

/* Bytes rounded up to the workspace's 256-byte slots. */
static size_t assign_slot(size_t bytes)
{
    return (bytes + 255) / 256 * 256;
}

/* Uploads gt into the workspace and lays out the scratch (best [A] too when need_best). */
static assign_dev assign_dev_upload(cuda_ctx *ctx, const assign_gt *gt, int64_t A,
                                    int need_best, float **best)
{
    size_t G = (size_t)gt->count;
    size_t sizes[6] = {assign_slot(G * sizeof(rd_box)), assign_slot(G), assign_slot(G * 4),
                       assign_slot(sizeof(float)), assign_slot(sizeof(unsigned long long)),
                       need_best ? assign_slot((size_t)A * sizeof(float)) : 0};
    size_t total = 0;
    for (int i = 0; i < 6; i++)
        total += sizes[i];
    char *ws = (char *)cuda_ctx_workspace(ctx, total), *at = ws;
    assign_dev d = {};
    d.boxes = (const rd_box *)at;
    if (G > 0)
        cuda_ctx_upload(ctx, at, gt->boxes, G * sizeof(rd_box));
    at += sizes[0];
    if (gt->crowd && G > 0) {
        cuda_ctx_upload(ctx, at, gt->crowd, G);
        d.crowd = (const uint8_t *)at;
    }
    at += sizes[1];
    d.gt_best = (float *)at;
    at += sizes[2];
    d.lowest = (float *)at;
    at += sizes[3] + sizes[4];  // the positive counter sits just before best
    *best = need_best ? (float *)at : NULL;
    d.G = gt->count;
    d.first_real = -1;
    for (int k = 0; k < gt->count && d.first_real < 0; k++)
        if (!(gt->crowd && gt->crowd[k]))
            d.first_real = k;
    cuda_ctx_zero(ctx, d.gt_best, sizes[2] + sizes[3] + sizes[4]);
    return d;
}

int64_t assign_anchors_cuda(cuda_ctx *ctx, const detector_preset *p, const float *anchors,
                            int64_t A, const assign_gt *gt, int32_t *match, float *iou)
{
    RD_CHECK(gt->count >= 0 && A >= 0, "negative counts (%d ground truth, %lld anchors)",
             gt->count, (long long)A);
    if (A == 0)
        return 0;
    float *scratch_best;
    assign_dev d = assign_dev_upload(ctx, gt, A, iou == NULL, &scratch_best);
    float *best = iou ? iou : scratch_best;
    unsigned long long *count = (unsigned long long *)((char *)d.lowest + assign_slot(sizeof(float)));
    int nsh = d.G < ASSIGN_SHARED_GT ? d.G : ASSIGN_SHARED_GT;
    unsigned grid = cuda_grid_for(A);
    assign_threshold_kernel<<<grid, CUDA_BLOCK, (size_t)nsh * sizeof(int), ctx->stream>>>(
        anchors, A, d, p->fg_iou, p->bg_iou, match, best, nsh);
    RD_CHECK_LAUNCH();
    int has_crowd = 0;
    for (int k = 0; k < gt->count; k++)
        has_crowd |= gt->crowd && gt->crowd[k];
    if (d.first_real >= 0) {
        assign_lowest_kernel<<<1, 1, 0, ctx->stream>>>(d, p->match_rule == PRESET_MATCH_PAPER);
        RD_CHECK_LAUNCH();
        assign_force_kernel<<<grid, CUDA_BLOCK, 0, ctx->stream>>>(anchors, A, d, best, match);
        RD_CHECK_LAUNCH();
    }
    if (has_crowd) {
        assign_crowd_kernel<<<grid, CUDA_BLOCK, 0, ctx->stream>>>(anchors, A, d, p->crowd_ioa,
                                                                  match);
        RD_CHECK_LAUNCH();
    }
    assign_count_kernel<<<grid, CUDA_BLOCK, 0, ctx->stream>>>(match, A, count);
    RD_CHECK_LAUNCH();
    unsigned long long npos = 0;
    cuda_ctx_download(ctx, &npos, count, sizeof npos);
    return (int64_t)npos;
}

void assign_labels_cuda(cuda_ctx *ctx, const int32_t *match, const float *iou, int64_t A,
                        const assign_gt *gt, int K, int8_t *labels, float *iou_side)
{
    RD_CHECK(iou_side == NULL || iou != NULL, "iou_side needs the iou of assign_anchors_cuda");
    RD_CHECK(A >= 0 && K > 0, "assign labels: %lld anchors, %d classes", (long long)A, K);
    for (int k = 0; k < gt->count; k++)
        RD_CHECK((gt->crowd && gt->crowd[k]) || (gt->labels[k] >= 0 && gt->labels[k] < K),
                 "ground truth %d has class %d outside [0, %d)", k, gt->labels[k], K);
    if (A == 0)
        return;
    int32_t *gt_labels = (int32_t *)cuda_ctx_workspace(ctx, (size_t)gt->count * 4 + 4);
    if (gt->count > 0)
        cuda_ctx_upload(ctx, gt_labels, gt->labels, (size_t)gt->count * sizeof(int32_t));
    int64_t total = A * (int64_t)K;
    assign_labels_kernel<<<cuda_grid_for(total), CUDA_BLOCK, 0, ctx->stream>>>(
        match, iou, A, K, gt_labels, labels, iou_side);
    RD_CHECK_LAUNCH();
}
