/* hinge_ap_loss.cu — the CUDA twin of optim/hinge_ap_loss.c: the structured hinge bound of
 * the AP-loss (Yue et al., SIGIR 2007; inference after Mohapatra et al., CVPR 2018), with the
 * CPU's equations (see the CPU file). The ranking must be the CPU's exactly, so every number
 * the argmax compares is computed with the CPU's operations in its order, each rounded alone
 * (__dadd_rn, __dmul_rn...: no FMA contraction): (1) validation and counts; (2) positives and
 * negatives selected in index order and radix-sorted by descending key (stable, equal scores
 * in index order as sort_radix_u32); (3) tail sums of the positives (one thread, the CPU's
 * order) and the harmonic table (the CPU's chunks of 2^16, each summed by one thread, then the
 * chunk offsets); (4) the divide and conquer over j of hinge_assign, one tree level per
 * launch: a node's k range comes from the k of the negatives beside its j range, which the
 * levels above have fixed, so every k_j equals the CPU's; (5) the subgradient, and the loss as
 * a fixed-order sum of per-block partials. Updates equal the CPU's bit for bit. */
#include <cuda_runtime.h>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_select.cuh>
#include <thrust/iterator/counting_iterator.h>

#include <string.h>

#include "optim/loss_cuda_impl.h"

#define HINGE_CUDA_CHUNK (1 << 16)  // the CPU's HINGE_CHUNK: the harmonic table's chunks

/* What the selections leave on the device, after the validation pass's counts. */
struct hinge_header {
    loss_cuda_scan_header scan;
    long long nsel[4];   // positive keys, positive indices, negative keys, negative indices
    double loss;
};

/* Device views of one call, in ws->buf (the CPU's hinge_sorted). */
struct hinge_plan {
    int64_t n, npos, nneg;
    uint32_t *key_all;            // [n] descending-order keys of every entry
    uint32_t *pos_key_in, *pos_key;  // [npos] in index order, sorted
    int64_t *pos_idx_in, *pos_idx;   // [npos]
    uint32_t *neg_key_in, *neg_key;  // [nneg]
    int64_t *neg_idx_in, *neg_idx;   // [nneg]
    double *tail;                 // [npos + 1] tail[k] = Σ_{i > k} s+_i
    double *harmonic;             // [npos + nneg + 1] H_m
    double *chunk;                // [chunks of npos + nneg + 1] chunk sums, then offsets
    int64_t *k;                   // [nneg] k_j of the 1-based negative j at k[j - 1]
    double *partials;             // [blocks + 1]
    void *temp;
    size_t temp_bytes;
    double scale;                 // 2 / (|P||N|)
};

struct hinge_is_label {
    int want;
    __host__ __device__ bool operator()(int8_t l) const { return l == want; }
};

typedef thrust::counting_iterator<int64_t> hinge_index_iter;

/* g_j(k) of the CPU's hinge_gain, each operation rounded alone in the CPU's order. */
__device__ inline double hinge_gain(const hinge_plan &h, int64_t j, int64_t k)
{
    const int64_t P = h.npos;
    const double s_neg = loss_cuda_unkey(~h.neg_key[j - 1]);
    const double inv = __dsub_rn(__ddiv_rn(1.0, (double)(k + j)), __ddiv_rn(1.0, (double)(P + j)));
    const double delta = __dsub_rn(__dsub_rn(h.harmonic[P + j], h.harmonic[k + j]),
                                   __dmul_rn((double)(j - 1), inv));
    const double above = __dsub_rn(h.tail[k], __dmul_rn((double)(P - k), s_neg));
    return __dsub_rn(__ddiv_rn(delta, (double)P), __dmul_rn(h.scale, above));
}

/* Depth of the 1-based j in the tree of hinge_assign over [1, nneg]; its range in *lo, *hi. */
__device__ inline int hinge_node(int64_t j, int64_t nneg, int64_t *lo, int64_t *hi)
{
    int64_t a = 1, b = nneg;
    for (int d = 0;; d++) {
        const int64_t mid = a + (b - a) / 2;
        if (j == mid) {
            *lo = a;
            *hi = b;
            return d;
        }
        if (j < mid)
            b = mid - 1;
        else
            a = mid + 1;
    }
}

/* One tree level: each j of depth `depth` takes the smallest argmax of g_j over the range its
 * neighbours fixed (hinge_assign's klo, khi). */
__global__ void hinge_level_kernel(hinge_plan h, int depth)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x + 1; j <= h.nneg;
         j += stride) {
        int64_t jlo, jhi;
        if (hinge_node(j, h.nneg, &jlo, &jhi) != depth)
            continue;
        const int64_t klo = jlo > 1 ? h.k[jlo - 2] : 0, khi = jhi < h.nneg ? h.k[jhi] : h.npos;
        int64_t best = klo;
        double best_gain = hinge_gain(h, j, klo);
        for (int64_t kk = klo + 1; kk <= khi; kk++) {
            const double gain = hinge_gain(h, j, kk);
            if (gain > best_gain) {
                best_gain = gain;
                best = kk;
            }
        }
        h.k[j - 1] = best;
    }
}

/* One thread: tail[k] = tail[k + 1] + s+_k, from k = npos - 1 down, as the CPU. */
__global__ void hinge_tail_kernel(hinge_plan h)
{
    if (blockIdx.x != 0 || threadIdx.x != 0)
        return;
    h.tail[h.npos] = 0.0;
    for (int64_t k = h.npos - 1; k >= 0; k--)
        h.tail[k] = __dadd_rn(h.tail[k + 1], (double)loss_cuda_unkey(~h.pos_key[k]));
}

/* One thread per chunk c of the harmonic table: running sums from 0, the total in chunk[c]. */
__global__ void hinge_harmonic_kernel(hinge_plan h, int64_t count, int64_t nchunks)
{
    const int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= nchunks)
        return;
    const int64_t end = (c + 1) * HINGE_CUDA_CHUNK < count ? (c + 1) * HINGE_CUDA_CHUNK : count;
    double run = 0.0;
    for (int64_t m = c * HINGE_CUDA_CHUNK; m < end; m++) {
        run = __dadd_rn(run, m > 0 ? __ddiv_rn(1.0, (double)m) : 0.0);
        h.harmonic[m] = run;
    }
    h.chunk[c] = run;
}

/* One thread: chunk[c] := the sum of the totals before c, in chunk order. */
__global__ void hinge_offsets_kernel(hinge_plan h, int64_t nchunks)
{
    if (blockIdx.x != 0 || threadIdx.x != 0)
        return;
    double offset = 0.0;
    for (int64_t c = 0; c < nchunks; c++) {
        const double total = h.chunk[c];
        h.chunk[c] = offset;
        offset = __dadd_rn(offset, total);
    }
}

/* Entries of chunks 1.. get their chunk's offset. */
__global__ void hinge_shift_kernel(hinge_plan h, int64_t count)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t m = (int64_t)blockIdx.x * blockDim.x + threadIdx.x + HINGE_CUDA_CHUNK; m < count;
         m += stride)
        h.harmonic[m] = __dadd_rn(h.harmonic[m], h.chunk[m / HINGE_CUDA_CHUNK]);
}

/* Every entry's descending key (~ sort_key_from_f32). */
__global__ void hinge_keys_kernel(const float *scores, int64_t n, uint32_t *key)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        key[i] = ~loss_cuda_key(scores[i]);
}

/* Negatives: update scale (|P| - k_j) and the block's Σ g_j(k_j) over k_j < |P|. */
__global__ void hinge_neg_update_kernel(hinge_plan h, float *grad)
{
    double sum = 0.0;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < h.nneg; j += stride) {
        const int64_t kj = h.k[j];
        grad[h.neg_idx[j]] = (float)(h.scale * (double)(h.npos - kj));
        if (kj < h.npos)
            sum += hinge_gain(h, j + 1, kj);
    }
    loss_cuda_block_partial(sum, h.partials);
}

/* Positives: the i-th is below every negative with k_j < i; ignored entries 0. */
__global__ void hinge_other_update_kernel(hinge_plan h, const int8_t *labels, float *grad)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < h.n; i += stride)
        if (labels[i] < 0)
            grad[i] = 0.0f;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x + 1; i <= h.npos;
         i += stride) {
        const int64_t below =
            loss_cuda_count_prefix(h.k, h.nneg, [i](int64_t kj) { return kj < i; });
        grad[h.pos_idx[i - 1]] = (float)(-h.scale * (double)below);
    }
}

/* The largest CUB scratch of any step. */
static size_t hinge_temp_bytes(int64_t n, int64_t most)
{
    size_t need = 0, b = 0;
    const int8_t *t = NULL;
    long long *cnt = NULL;
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceSelect::FlaggedIf(NULL, b, (const uint32_t *)NULL, t,
                                                             (uint32_t *)NULL, cnt, n,
                                                             hinge_is_label{1}));
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceSelect::FlaggedIf(NULL, b, hinge_index_iter(0), t,
                                                             (int64_t *)NULL, cnt, n,
                                                             hinge_is_label{1}));
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceRadixSort::SortPairs(NULL, b, (const uint32_t *)NULL,
                                                                (uint32_t *)NULL,
                                                                (const int64_t *)NULL,
                                                                (int64_t *)NULL, most));
    return need;
}

static int64_t hinge_chunks(int64_t count)
{
    return (count + HINGE_CUDA_CHUNK - 1) / HINGE_CUDA_CHUNK;
}

/* Lay out the views of h from base (NULL: only count); returns the bytes taken. */
static size_t hinge_layout(hinge_plan *h, char *base, unsigned int blocks)
{
    const size_t P = (size_t)h->npos, N = (size_t)h->nneg;
    size_t off = 0;
    LOSS_CUDA_TAKE(base, off, h->key_all, (size_t)h->n);
    LOSS_CUDA_TAKE(base, off, h->pos_key_in, P);
    LOSS_CUDA_TAKE(base, off, h->pos_key, P);
    LOSS_CUDA_TAKE(base, off, h->pos_idx_in, P);
    LOSS_CUDA_TAKE(base, off, h->pos_idx, P);
    LOSS_CUDA_TAKE(base, off, h->neg_key_in, N);
    LOSS_CUDA_TAKE(base, off, h->neg_key, N);
    LOSS_CUDA_TAKE(base, off, h->neg_idx_in, N);
    LOSS_CUDA_TAKE(base, off, h->neg_idx, N);
    LOSS_CUDA_TAKE(base, off, h->tail, P + 1);
    LOSS_CUDA_TAKE(base, off, h->harmonic, P + N + 1);
    LOSS_CUDA_TAKE(base, off, h->chunk, (size_t)hinge_chunks((int64_t)(P + N + 1)));
    LOSS_CUDA_TAKE(base, off, h->k, N);
    LOSS_CUDA_TAKE(base, off, h->partials, blocks + 1);
    h->temp = base ? base + off : NULL;
    return off + h->temp_bytes;
}

/* Select the entries of label `want` (keys and indices, index order) and sort them by key,
 * stable; the counts selected into nsel[0..1]. */
static void hinge_select_sort(const loss_inputs *in, hinge_plan *h, int want, int64_t count,
                              uint32_t *key_in, uint32_t *key, int64_t *idx_in, int64_t *idx,
                              long long *nsel, cudaStream_t st)
{
    size_t tb = h->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceSelect::FlaggedIf(h->temp, tb, h->key_all, in->labels, key_in,
                                               &nsel[0], in->n, hinge_is_label{want}, st));
    tb = h->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceSelect::FlaggedIf(h->temp, tb, hinge_index_iter(0), in->labels,
                                               idx_in, &nsel[1], in->n, hinge_is_label{want},
                                               st));
    tb = h->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceRadixSort::SortPairs(h->temp, tb, key_in, key, idx_in, idx, count,
                                                  0, 32, st));
}

/* Steps 2 and 3: gather, sort and tabulate. */
static void hinge_sort(const loss_inputs *in, hinge_plan *h, hinge_header *hd, cudaStream_t st)
{
    hinge_keys_kernel<<<loss_cuda_grid(h->n), LOSS_CUDA_THREADS, 0, st>>>(in->scores, h->n,
                                                                         h->key_all);
    RD_CHECK_LAUNCH();
    hinge_select_sort(in, h, 1, h->npos, h->pos_key_in, h->pos_key, h->pos_idx_in, h->pos_idx,
                      &hd->nsel[0], st);
    hinge_select_sort(in, h, 0, h->nneg, h->neg_key_in, h->neg_key, h->neg_idx_in, h->neg_idx,
                      &hd->nsel[2], st);
    hinge_tail_kernel<<<1, 1, 0, st>>>(*h);
    RD_CHECK_LAUNCH();
    const int64_t count = h->npos + h->nneg + 1, nchunks = hinge_chunks(count);
    hinge_harmonic_kernel<<<(unsigned int)((nchunks + 63) / 64), 64, 0, st>>>(*h, count, nchunks);
    RD_CHECK_LAUNCH();
    hinge_offsets_kernel<<<1, 1, 0, st>>>(*h, nchunks);
    RD_CHECK_LAUNCH();
    if (count > HINGE_CUDA_CHUNK) {
        hinge_shift_kernel<<<loss_cuda_grid(count - HINGE_CUDA_CHUNK), LOSS_CUDA_THREADS, 0,
                             st>>>(*h, count);
        RD_CHECK_LAUNCH();
    }
}

/* Levels of hinge_assign's tree over len negatives (the right half is never the smaller). */
static int hinge_levels(int64_t len)
{
    int levels = 0;
    for (; len > 0; levels++)
        len = len - 1 - (len - 1) / 2;
    return levels;
}

loss_status hinge_ap_loss_cuda_compute(const loss_inputs *in, const loss_params *p,
                                       loss_cuda_ws *ws, float *grad, loss_result *out,
                                       void *stream)
{
    (void)p;
    cudaStream_t st = (cudaStream_t)stream;
    loss_status status;
    if (loss_cuda_begin(in, ws, grad, out, &status, NULL, st))
        return status;
    if (out->num_neg == 0) {
        loss_cuda_zero(grad, in->n, st);
        RD_CHECK_CUDA(cudaStreamSynchronize(st));
        return LOSS_OK;
    }
    hinge_header *hd = (hinge_header *)loss_cuda_ws_header(ws, sizeof(hinge_header));
    hinge_plan h;
    memset(&h, 0, sizeof h);
    h.n = in->n;
    h.npos = out->num_pos;
    h.nneg = out->num_neg;
    h.scale = 2.0 / ((double)h.npos * (double)h.nneg);
    h.temp_bytes = hinge_temp_bytes(h.n, h.npos > h.nneg ? h.npos : h.nneg);
    const unsigned int blocks = loss_cuda_grid(h.nneg);
    hinge_layout(&h, (char *)loss_cuda_ws_reserve(ws, hinge_layout(&h, NULL, blocks)), blocks);
    hinge_sort(in, &h, hd, st);
    const int levels = hinge_levels(h.nneg);
    for (int d = 0; d < levels; d++) {
        hinge_level_kernel<<<loss_cuda_grid(h.nneg), LOSS_CUDA_THREADS, 0, st>>>(h, d);
        RD_CHECK_LAUNCH();
    }
    hinge_neg_update_kernel<<<blocks, LOSS_CUDA_THREADS, 0, st>>>(h, grad);
    RD_CHECK_LAUNCH();
    hinge_other_update_kernel<<<loss_cuda_grid(h.n), LOSS_CUDA_THREADS, 0, st>>>(h, in->labels,
                                                                                grad);
    RD_CHECK_LAUNCH();
    loss_cuda_sum(h.partials, blocks, &hd->loss, st);
    long long got[4];
    RD_CHECK_CUDA(cudaMemcpyAsync(got, hd->nsel, sizeof got, cudaMemcpyDeviceToHost, st));
    out->loss = loss_cuda_read_double(&hd->loss, st);
    RD_CHECK(got[0] == h.npos && got[1] == h.npos && got[2] == h.nneg && got[3] == h.nneg,
             "selected %lld/%lld positives of %lld, %lld/%lld negatives of %lld", got[0], got[1],
             (long long)h.npos, got[2], got[3], (long long)h.nneg);
    return LOSS_OK;
}
