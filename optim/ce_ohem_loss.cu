/* ce_ohem_loss.cu — the CUDA twin of optim/ce_ohem_loss.c: sigmoid cross-entropy with online
 * hard-negative mining over the whole minibatch (Liu et al., ECCV 2016, sec. 2.2). Every
 * positive counts; of the negatives the k = neg_per_pos |P| with the largest scores are kept
 * (all when fewer exist), ties at the cut-off to the lower index.
 * Selection: every negative's order-preserving key (optim/sort.h's; the others get key 0,
 * below any finite score's), one descending radix sort of the keys, the k-th key is the
 * cut-off; the ties kept are the first ones in index order, by an exclusive scan of the tie
 * flags. loss = (Σ_pos CE + Σ_kept CE)/|P|, grad = (sigmoid(s) - t)/|P| on those entries,
 * 0 elsewhere; the loss is a fixed-order sum of per-block partials. */
#include <cuda_runtime.h>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include <math.h>
#include <stdint.h>

#include "optim/loss_cuda_impl.h"

enum ohem_mode { OHEM_SELECT = 0, OHEM_KEEP_ALL, OHEM_KEEP_NONE };

/* The cut-off: negatives with key > key_cut are kept, and the first ties_kept (in index
 * order) with key == key_cut. */
struct ohem_header {
    loss_cuda_scan_header scan;
    uint32_t key_cut;
    uint32_t pad;
    long long ties_kept;
    double ce_sum;
};

/* Entry i is a negative whose key is the cut-off (1) or not (0). */
struct ohem_is_tie {
    const uint32_t *keys;
    const ohem_header *h;
    __host__ __device__ long long operator()(int64_t i) const
    {
        return keys[i] != 0 && keys[i] == h->key_cut;
    }
};

typedef thrust::transform_iterator<ohem_is_tie, thrust::counting_iterator<int64_t>> ohem_tie_iter;

/* keys[i] = the key of a negative's score, 0 for every other entry. */
__global__ void ohem_keys_kernel(const float *s, const int8_t *t, int64_t n, uint32_t *keys)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        keys[i] = t[i] == 0 ? loss_cuda_key(s[i]) : 0u;
}

/* One thread: the cut-off of the k largest negative keys from the descending sorted[], or
 * that of keep-all (key 0) or keep-none (no key reaches UINT32_MAX: NaN is rejected). */
__global__ void ohem_cut_kernel(const uint32_t *sorted, int64_t k, int mode, ohem_header *h)
{
    if (mode != OHEM_SELECT) {
        h->key_cut = mode == OHEM_KEEP_ALL ? 0u : UINT32_MAX;
        h->ties_kept = 0;
        return;
    }
    const uint32_t cut = sorted[k - 1];
    int64_t lo = 0, hi = k - 1;  // the first place in [0, k) holding the cut-off
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] > cut)
            lo = mid + 1;
        else
            hi = mid;
    }
    h->key_cut = cut;
    h->ties_kept = k - lo;
}

/* CE and update of every entry; the block's summed CE into partials[blockIdx.x]. */
__global__ void ohem_kernel(const float *s, const int8_t *t, int64_t n, const uint32_t *keys,
                            const long long *tie_rank, const ohem_header *h, double inv_pos,
                            float *grad, double *partials)
{
    const uint32_t cut = h->key_cut;
    const long long ties_kept = h->ties_kept;
    double sum = 0.0;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const int l = t[i];
        bool keep = l == 1;
        if (l == 0) {
            const uint32_t key = keys[i];
            keep = key > cut || (key == cut && tie_rank[i] < ties_kept);
        }
        if (!keep) {
            grad[i] = 0.0f;
            continue;
        }
        const double v = s[i], e = exp(-fabs(v));
        const double sig = v >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        sum += fmax(v, 0.0) + log1p(e) - l * v;
        grad[i] = (float)((sig - l) * inv_pos);
    }
    loss_cuda_block_partial(sum, partials);
}

/* Device views of one call. */
struct ohem_plan {
    uint32_t *keys, *sorted;  // [n]
    long long *tie_rank;      // [n] tied negatives before the entry
    double *partials;         // [blocks]
    void *temp;
    size_t temp_bytes;
};

static size_t ohem_layout(ohem_plan *pl, char *base, int64_t n, unsigned int blocks)
{
    size_t off = 0;
    LOSS_CUDA_TAKE(base, off, pl->keys, n);
    LOSS_CUDA_TAKE(base, off, pl->sorted, n);
    LOSS_CUDA_TAKE(base, off, pl->tie_rank, n);
    LOSS_CUDA_TAKE(base, off, pl->partials, blocks);
    pl->temp = base ? base + off : NULL;
    return off + pl->temp_bytes;
}

static size_t ohem_temp_bytes(int64_t n)
{
    size_t a = 0, b = 0;
    RD_CHECK_CUDA(cub::DeviceRadixSort::SortKeysDescending(NULL, a, (const uint32_t *)NULL,
                                                           (uint32_t *)NULL, n));
    ohem_tie_iter it(thrust::counting_iterator<int64_t>(0), ohem_is_tie{NULL, NULL});
    RD_CHECK_CUDA(cub::DeviceScan::ExclusiveSum(NULL, b, it, (long long *)NULL, n));
    return a > b ? a : b;
}

/* Keys, the cut-off into h, and the tie ranks when some ties are left out. */
static void ohem_select(const loss_inputs *in, const ohem_plan *pl, int64_t k, int mode,
                        ohem_header *h, cudaStream_t st)
{
    ohem_keys_kernel<<<loss_cuda_grid(in->n), LOSS_CUDA_THREADS, 0, st>>>(
        in->scores, in->labels, in->n, pl->keys);
    RD_CHECK_LAUNCH();
    if (mode == OHEM_SELECT) {
        size_t tb = pl->temp_bytes;
        RD_CHECK_CUDA(cub::DeviceRadixSort::SortKeysDescending(
            pl->temp, tb, (const uint32_t *)pl->keys, pl->sorted, in->n, 0, 32, st));
    }
    ohem_cut_kernel<<<1, 1, 0, st>>>(pl->sorted, k, mode, h);
    RD_CHECK_LAUNCH();
    if (mode == OHEM_SELECT) {
        size_t tb = pl->temp_bytes;
        ohem_tie_iter it(thrust::counting_iterator<int64_t>(0), ohem_is_tie{pl->keys, h});
        RD_CHECK_CUDA(cub::DeviceScan::ExclusiveSum(pl->temp, tb, it, pl->tie_rank, in->n, st));
    }
}

loss_status ce_ohem_loss_cuda_compute(const loss_inputs *in, const loss_params *p,
                                      loss_cuda_ws *ws, float *grad, loss_result *out,
                                      void *stream)
{
    RD_CHECK(p->neg_per_pos >= 0, "ce_ohem needs neg_per_pos >= 0 (got %d); validate flags "
             "first", p->neg_per_pos);
    cudaStream_t st = (cudaStream_t)stream;
    loss_status status;
    if (loss_cuda_begin(in, ws, grad, out, &status, NULL, st))
        return status;
    ohem_header *h = (ohem_header *)loss_cuda_ws_header(ws, sizeof(ohem_header));
    const int64_t k = (int64_t)p->neg_per_pos * out->num_pos;
    const int mode = k >= out->num_neg ? OHEM_KEEP_ALL : k == 0 ? OHEM_KEEP_NONE : OHEM_SELECT;
    const unsigned int blocks = loss_cuda_grid(in->n);
    ohem_plan pl;
    pl.temp_bytes = ohem_temp_bytes(in->n);
    ohem_layout(&pl, (char *)loss_cuda_ws_reserve(ws, ohem_layout(&pl, NULL, in->n, blocks)),
                in->n, blocks);
    ohem_select(in, &pl, k, mode, h, st);
    ohem_kernel<<<blocks, LOSS_CUDA_THREADS, 0, st>>>(in->scores, in->labels, in->n, pl.keys,
                                                      pl.tie_rank, h,
                                                      1.0 / (double)out->num_pos, grad,
                                                      pl.partials);
    RD_CHECK_LAUNCH();
    loss_cuda_sum(pl.partials, blocks, &h->ce_sum, st);
    out->loss = loss_cuda_read_double(&h->ce_sum, st) / (double)out->num_pos;
    return LOSS_OK;
}
