/* postprocess.cu — the CUDA twin of detector/postprocess.c: head outputs of one image →
 * detections in original image pixels, the CPU's detections in the CPU's order (see
 * postprocess.h and postprocess_cuda.h).
 * Per level: a count of the logits that pass (logit above the CPU's floor and float32 sigmoid
 * above the level's threshold), a CUB select of their flat indices (ascending), a stable radix
 * sort by descending score (ties keep the lower index: the CPU's rank order), the first
 * top-k taken, decoded and clipped into the CPU's candidate order (levels in turn, best
 * first). Then the GPU NMS (detector/nms.cu), keep-N and the scaling to the original image.
 * Every float operation is the CPU's, rounded alone (no FMA contraction), and expf is glibc's
 * algorithm (lib/cuda_expf_impl.h; checked against libm by the test), so scores, boxes and
 * thus every tie and threshold decision are the CPU's bits. Box decoding is the box coder's
 * device function (detector/box_coder_cuda_impl.h), the logit floor the CPU's own function. */
#include <cuda_runtime.h>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_select.cuh>
#include <thrust/iterator/counting_iterator.h>

extern "C" {
#include "detector/postprocess_cuda.h"
}

#include "detector/box_coder_cuda_impl.h"
#include "detector/nms_cuda_impl.h"
#include "lib/cuda_ctx_impl.h"
#include "lib/cuda_expf_impl.h"

static_assert(sizeof(rd_detection) == 32, "rd_detection layout shared with the device");

extern "C" float postprocess_cuda_expf(float x)
{
    return cuda_expf_glibc(x);
}

/* torch.sigmoid in float32, as postprocess.c. */
__device__ inline float pp_sigmoid(float x)
{
    return __fdiv_rn(1.0f, __fadd_rn(1.0f, cuda_expf_glibc(-x)));
}

/* A logit passes level l: above the CPU's floor, and its sigmoid above the threshold. */
struct pp_passes {
    const float *logits;
    float floor, thresh;
    __device__ bool operator()(int64_t g) const
    {
        const float x = logits[g];
        return x > floor && pp_sigmoid(x) > thresh;
    }
};

/* The flat logit ranges and thresholds of the levels. */
struct pp_levels {
    int64_t begin[PRESET_LEVELS];  // offset · K
    int64_t size[PRESET_LEVELS];   // count · K
    float floor[PRESET_LEVELS], thresh[PRESET_LEVELS];
};

/* What the device leaves for the host. */
struct pp_header {
    unsigned long long count[PRESET_LEVELS];  // passing logits per level
    long long nsel[PRESET_LEVELS];            // selected per level (equal to count)
};

/* The per-level sizes of one call, known on the host after the count. */
struct pp_sizes {
    int64_t nc[PRESET_LEVELS], start[PRESET_LEVELS];  // candidates, their offset in sel
    int64_t take[PRESET_LEVELS], out[PRESET_LEVELS];  // min(nc, top-k), offset in the M list
    int64_t total, most, M;                           // Σ nc, max nc, Σ take
};

/* Device views of one call, cut from the context's workspace. */
struct pp_plan {
    pp_header *header;
    int64_t *sel, *vals_sorted;       // [total] flat indices: selected, sorted by score
    uint32_t *keys, *keys_sorted;     // [total]
    float *boxes, *scores;            // [M][4], [M] candidates in the CPU's order
    int32_t *labels;                  // [M]
    int64_t *keep;                    // [M]
    rd_detection *dets;               // [detections_per_image]
    void *nms_scratch, *temp;
    size_t temp_bytes;
};

/* Passing logits of [begin, begin + size) counted into *count (per-warp sums, then atomics). */
__global__ void pp_count_kernel(pp_passes pass, int64_t begin, int64_t size,
                                unsigned long long *count)
{
    unsigned long long c = 0;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < size; i += stride)
        c += pass(begin + i);
    for (int off = 16; off > 0; off >>= 1)
        c += __shfl_down_sync(0xffffffffu, c, off);
    if ((threadIdx.x & 31) == 0 && c)
        atomicAdd(count, c);
}

/* Descending-score keys of the selected flat indices sel[n]. */
__global__ void pp_keys_kernel(const float *logits, const int64_t *sel, int64_t n,
                               uint32_t *keys)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += stride)
        keys[j] = nms_desc_key(pp_sigmoid(logits[sel[j]]));
}

/* What decoding a level's candidates needs. */
struct pp_decode_args {
    const float *logits, *deltas, *anchors;  // [A][K], [A][4], [A][4]
    box_coder coder;
    float input_w, input_h;
    int K;
};

/* box_coder_decode of one anchor, then clip_boxes_to_image's clamp to [0, side]. */
__device__ inline void pp_decode_clip(const box_coder &c, const float *a, const float *d,
                                      float input_w, float input_h, float *b)
{
    float v[4];
    box_coder_decode_dev(c, a, d, v);
    for (int k = 0; k < 4; k++) {
        const float side = (k % 2 == 0) ? input_w : input_h;
        b[k] = v[k] < 0.0f ? 0.0f : (v[k] > side ? side : v[k]);
    }
}

/* The first n sorted candidates of a level (flat indices vals[n]) → boxes, scores and labels
 * of the candidate list from position out on. */
__global__ void pp_decode_kernel(pp_decode_args args, const int64_t *vals, int64_t n,
                                 int64_t out, float *boxes, float *scores, int32_t *labels)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += stride) {
        const int64_t g = vals[j], a = g / args.K, m = out + j;
        scores[m] = pp_sigmoid(args.logits[g]);
        labels[m] = (int32_t)(g % args.K);
        pp_decode_clip(args.coder, args.anchors + 4 * a, args.deltas + 4 * a, args.input_w,
                       args.input_h, boxes + 4 * m);
    }
}

/* The n best kept candidates as detections, boxes scaled by (rw, rh). */
__global__ void pp_detections_kernel(const int64_t *keep, int64_t n, const float *boxes,
                                     const float *scores, const int32_t *labels, float rw,
                                     float rh, int64_t image_id, rd_detection *dets)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += stride) {
        const int64_t i = keep[j];
        const float *b = boxes + 4 * i;
        rd_detection d;
        d.image_id = image_id;
        d.label = labels[i];
        d.score = scores[i];
        d.box.x1 = __fmul_rn(b[0], rw);
        d.box.y1 = __fmul_rn(b[1], rh);
        d.box.x2 = __fmul_rn(b[2], rw);
        d.box.y2 = __fmul_rn(b[3], rh);
        dets[j] = d;
    }
}

static pp_passes pp_level_pass(const postprocess_input *in, const pp_levels *lv, int l)
{
    return pp_passes{in->cls_logits, lv->floor[l], lv->thresh[l]};
}

typedef thrust::counting_iterator<int64_t> pp_index_iter;

/* CUB scratch: the largest level's select and the largest level's sort. */
static size_t pp_temp_bytes(const pp_levels *lv, const pp_sizes *sz, const postprocess_input *in)
{
    size_t need = 0, b = 0;
    for (int l = 0; l < PRESET_LEVELS; l++) {
        RD_CHECK_CUDA(cub::DeviceSelect::If(NULL, b, pp_index_iter(lv->begin[l]),
                                            (int64_t *)NULL, (long long *)NULL, lv->size[l],
                                            pp_level_pass(in, lv, l)));
        need = b > need ? b : need;
    }
    RD_CHECK_CUDA(cub::DeviceRadixSort::SortPairs(NULL, b, (const uint32_t *)NULL,
                                                  (uint32_t *)NULL, (const int64_t *)NULL,
                                                  (int64_t *)NULL, sz->most, 0, 32));
    return b > need ? b : need;
}

/* Cut the views of one call from c (c->base NULL: only sizes). */
static void pp_plan_carve(nms_carve *c, const pp_sizes *sz, int dpi, size_t nms_bytes,
                          size_t temp_bytes, pp_plan *pl)
{
    const size_t nt = (size_t)sz->total, m = (size_t)sz->M;
    pl->header = (pp_header *)nms_carve_take(c, sizeof(pp_header));
    pl->sel = (int64_t *)nms_carve_take(c, nt * sizeof(int64_t));
    pl->vals_sorted = (int64_t *)nms_carve_take(c, nt * sizeof(int64_t));
    pl->keys = (uint32_t *)nms_carve_take(c, nt * sizeof(uint32_t));
    pl->keys_sorted = (uint32_t *)nms_carve_take(c, nt * sizeof(uint32_t));
    pl->boxes = (float *)nms_carve_take(c, m * 4 * sizeof(float));
    pl->scores = (float *)nms_carve_take(c, m * sizeof(float));
    pl->labels = (int32_t *)nms_carve_take(c, m * sizeof(int32_t));
    pl->keep = (int64_t *)nms_carve_take(c, m * sizeof(int64_t));
    pl->dets = (rd_detection *)nms_carve_take(c, (size_t)dpi * sizeof(rd_detection));
    pl->nms_scratch = nms_carve_take(c, nms_bytes);
    pl->temp = nms_carve_take(c, temp_bytes);
    pl->temp_bytes = temp_bytes;
}

static pp_levels pp_levels_of(const detector_preset *p, const postprocess_input *in)
{
    pp_levels lv;
    for (int l = 0; l < PRESET_LEVELS; l++) {
        RD_CHECK(in->levels[l].offset >= 0 && in->levels[l].count >= 0,
                 "postprocess: level %d has offset %lld, count %lld", l,
                 (long long)in->levels[l].offset, (long long)in->levels[l].count);
        lv.begin[l] = in->levels[l].offset * in->num_classes;
        lv.size[l] = in->levels[l].count * in->num_classes;
        lv.thresh[l] = p->score_thresh[l];
        lv.floor[l] = postprocess_logit_floor(p->score_thresh[l]);
    }
    return lv;
}

/* The passing logits of every level counted on the device (one synchronisation), and the
 * sizes that follow from them. */
static void pp_count(cuda_ctx *ctx, const postprocess_input *in, const pp_levels *lv,
                     int64_t k, pp_sizes *sz)
{
    const cudaStream_t st = ctx->stream;
    pp_header *d = (pp_header *)cuda_ctx_workspace(ctx, sizeof(pp_header));
    RD_CHECK_CUDA(cudaMemsetAsync(d, 0, sizeof *d, st));
    for (int l = 0; l < PRESET_LEVELS; l++) {
        if (lv->size[l] == 0)
            continue;
        pp_count_kernel<<<cuda_grid_for(lv->size[l]), CUDA_BLOCK, 0, st>>>(
            pp_level_pass(in, lv, l), lv->begin[l], lv->size[l], &d->count[l]);
        RD_CHECK_LAUNCH();
    }
    pp_header h;
    RD_CHECK_CUDA(cudaMemcpyAsync(&h, d, sizeof h, cudaMemcpyDeviceToHost, st));
    RD_CHECK_CUDA(cudaStreamSynchronize(st));
    sz->total = sz->most = sz->M = 0;
    for (int l = 0; l < PRESET_LEVELS; l++) {
        sz->nc[l] = (int64_t)h.count[l];
        sz->start[l] = sz->total;
        sz->take[l] = sz->nc[l] < k ? sz->nc[l] : k;
        sz->out[l] = sz->M;
        sz->total += sz->nc[l];
        sz->M += sz->take[l];
        sz->most = sz->nc[l] > sz->most ? sz->nc[l] : sz->most;
    }
}

/* Per level: select the passing flat indices, sort them by descending score (stable), decode
 * and clip the first take[l] into the candidate list at out[l]. */
static void pp_candidates(cudaStream_t st, const detector_preset *p,
                          const postprocess_input *in, const pp_levels *lv, const pp_sizes *sz,
                          const pp_plan *pl)
{
    const pp_decode_args args = {in->cls_logits, in->bbox_regression, in->anchors, p->coder,
                                 (float)in->input_w, (float)in->input_h, in->num_classes};
    for (int l = 0; l < PRESET_LEVELS; l++) {
        const int64_t nc = sz->nc[l], at = sz->start[l];
        if (nc == 0)
            continue;
        size_t tb = pl->temp_bytes;
        RD_CHECK_CUDA(cub::DeviceSelect::If(pl->temp, tb, pp_index_iter(lv->begin[l]),
                                            pl->sel + at, &pl->header->nsel[l], lv->size[l],
                                            pp_level_pass(in, lv, l), st));
        pp_keys_kernel<<<cuda_grid_for(nc), CUDA_BLOCK, 0, st>>>(in->cls_logits, pl->sel + at,
                                                                 nc, pl->keys + at);
        RD_CHECK_LAUNCH();
        tb = pl->temp_bytes;
        RD_CHECK_CUDA(cub::DeviceRadixSort::SortPairs(
            pl->temp, tb, (const uint32_t *)(pl->keys + at), pl->keys_sorted + at,
            (const int64_t *)(pl->sel + at), pl->vals_sorted + at, nc, 0, 32, st));
        pp_decode_kernel<<<cuda_grid_for(sz->take[l]), CUDA_BLOCK, 0, st>>>(
            args, pl->vals_sorted + at, sz->take[l], sz->out[l], pl->boxes, pl->scores,
            pl->labels);
        RD_CHECK_LAUNCH();
    }
}

extern "C" int postprocess_detections_cuda(cuda_ctx *ctx, const detector_preset *p,
                                           const postprocess_input *in, rd_detection *out)
{
    RD_CHECK(in->num_classes >= 1 && in->input_h > 0 && in->input_w > 0 && in->orig_h > 0 &&
                 in->orig_w > 0, "postprocess: bad sizes (K %d, input %dx%d, original %dx%d)",
             in->num_classes, in->input_h, in->input_w, in->orig_h, in->orig_w);
    RD_CHECK(p->topk_per_level >= 1, "preset %s: topk_per_level %d", p->name,
             p->topk_per_level);
    const cudaStream_t st = ctx->stream;
    const pp_levels lv = pp_levels_of(p, in);
    pp_sizes sz;
    pp_count(ctx, in, &lv, p->topk_per_level, &sz);
    if (sz.M == 0)
        return 0;
    const size_t nms_bytes = nms_cuda_scratch_bytes(sz.M);
    const size_t temp_bytes = pp_temp_bytes(&lv, &sz, in);
    nms_carve c = {NULL, 0};
    pp_plan pl;
    pp_plan_carve(&c, &sz, p->detections_per_image, nms_bytes, temp_bytes, &pl);
    c.base = (char *)cuda_ctx_workspace(ctx, c.used);
    c.used = 0;
    pp_plan_carve(&c, &sz, p->detections_per_image, nms_bytes, temp_bytes, &pl);
    RD_CHECK_CUDA(cudaMemsetAsync(pl.header, 0, sizeof(pp_header), st));
    pp_candidates(st, p, in, &lv, &sz, &pl);
    int64_t nkeep = nms_cuda_run(st, pl.boxes, pl.scores, pl.labels, sz.M, p->nms_iou,
                                 pl.nms_scratch, pl.keep);
    if (nkeep > p->detections_per_image)
        nkeep = p->detections_per_image;
    const float rw = (float)in->orig_w / (float)in->input_w;  // resize_boxes' ratios
    const float rh = (float)in->orig_h / (float)in->input_h;
    if (nkeep > 0) {
        pp_detections_kernel<<<cuda_grid_for(nkeep), CUDA_BLOCK, 0, st>>>(
            pl.keep, nkeep, pl.boxes, pl.scores, pl.labels, rw, rh, in->image_id, pl.dets);
        RD_CHECK_LAUNCH();
        RD_CHECK_CUDA(cudaMemcpyAsync(out, pl.dets, (size_t)nkeep * sizeof(rd_detection),
                                      cudaMemcpyDeviceToHost, st));
    }
    pp_header h;
    RD_CHECK_CUDA(cudaMemcpyAsync(&h, pl.header, sizeof h, cudaMemcpyDeviceToHost, st));
    RD_CHECK_CUDA(cudaStreamSynchronize(st));
    for (int l = 0; l < PRESET_LEVELS; l++)
        RD_CHECK(h.nsel[l] == sz.nc[l], "postprocess: level %d selected %lld of %lld counted",
                 l, h.nsel[l], (long long)sz.nc[l]);
    return (int)nkeep;
}
