/* loss_cuda.cu — what the GPU losses share (loss_cuda.h, loss_cuda_impl.h): the grow-only
 * device workspace, device copies of a batch, CUDA-event timing of a loss for `rankdet bench
 * loss`, the validation and count pass, fixed-order sums, and the selection and sorts of the
 * ranking losses (CUB). */
#include <cuda_runtime.h>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>
#include <cub/device/device_select.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include <math.h>
#include <string.h>

#include "optim/loss_cuda_impl.h"

#define LOSS_CUDA_HEADER_BYTES 1024

void loss_cuda_ws_free(loss_cuda_ws *ws)
{
    if (ws->buf)
        RD_CHECK_CUDA(cudaFree(ws->buf));
    if (ws->header)
        RD_CHECK_CUDA(cudaFree(ws->header));
    size_t allocations = ws->allocations;
    loss_cuda_ws_init(ws);
    ws->allocations = allocations;
}

void *loss_cuda_ws_reserve(loss_cuda_ws *ws, size_t bytes)
{
    if (bytes <= ws->bytes)
        return ws->buf;
    if (ws->buf)
        RD_CHECK_CUDA(cudaFree(ws->buf));
    ws->buf = NULL;
    ws->bytes = 0;
    RD_CHECK_CUDA(cudaMalloc(&ws->buf, bytes));
    ws->bytes = bytes;
    ws->allocations++;
    return ws->buf;
}

void *loss_cuda_ws_header(loss_cuda_ws *ws, size_t bytes)
{
    RD_CHECK(bytes <= LOSS_CUDA_HEADER_BYTES, "a loss header of %zu bytes (at most %d)", bytes,
             LOSS_CUDA_HEADER_BYTES);
    if (!ws->header) {
        RD_CHECK_CUDA(cudaMalloc(&ws->header, LOSS_CUDA_HEADER_BYTES));
        ws->allocations++;
    }
    return ws->header;
}

void loss_cuda_batch_init(loss_cuda_batch *b, int64_t n)
{
    RD_CHECK(n >= 0, "a batch of %lld entries", (long long)n);
    const size_t m = n > 0 ? (size_t)n : 1;
    b->n = n;
    RD_CHECK_CUDA(cudaMalloc(&b->scores, m * sizeof *b->scores));
    RD_CHECK_CUDA(cudaMalloc(&b->labels, m * sizeof *b->labels));
    RD_CHECK_CUDA(cudaMalloc(&b->grad, m * sizeof *b->grad));
}

void loss_cuda_batch_free(loss_cuda_batch *b)
{
    if (b->scores)
        RD_CHECK_CUDA(cudaFree(b->scores));
    if (b->labels)
        RD_CHECK_CUDA(cudaFree(b->labels));
    if (b->grad)
        RD_CHECK_CUDA(cudaFree(b->grad));
    b->scores = NULL;
    b->labels = NULL;
    b->grad = NULL;
    b->n = 0;
}

double loss_cuda_batch_upload(loss_cuda_batch *b, const float *scores, const int8_t *labels)
{
    cudaEvent_t start, stop;
    RD_CHECK_CUDA(cudaEventCreate(&start));
    RD_CHECK_CUDA(cudaEventCreate(&stop));
    RD_CHECK_CUDA(cudaEventRecord(start, 0));
    RD_CHECK_CUDA(cudaMemcpy(b->scores, scores, (size_t)b->n * sizeof *scores,
                             cudaMemcpyHostToDevice));
    RD_CHECK_CUDA(cudaMemcpy(b->labels, labels, (size_t)b->n * sizeof *labels,
                             cudaMemcpyHostToDevice));
    RD_CHECK_CUDA(cudaEventRecord(stop, 0));
    RD_CHECK_CUDA(cudaEventSynchronize(stop));
    float ms = 0.0f;
    RD_CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
    RD_CHECK_CUDA(cudaEventDestroy(start));
    RD_CHECK_CUDA(cudaEventDestroy(stop));
    return ms;
}

void loss_cuda_batch_download(const loss_cuda_batch *b, float *grad)
{
    RD_CHECK_CUDA(cudaMemcpy(grad, b->grad, (size_t)b->n * sizeof *grad,
                             cudaMemcpyDeviceToHost));
}

loss_status loss_cuda_time(loss_cuda_fn fn, const loss_cuda_batch *b, const loss_params *p,
                           loss_cuda_ws *ws, int repeats, double *ms, loss_result *out)
{
    const loss_inputs in = {b->scores, b->labels, NULL, b->n};
    loss_status st = fn(&in, p, ws, b->grad, out, NULL);  // warm-up: scratch allocated
    cudaEvent_t start, stop;
    RD_CHECK_CUDA(cudaEventCreate(&start));
    RD_CHECK_CUDA(cudaEventCreate(&stop));
    for (int r = 0; r < repeats; r++) {
        RD_CHECK_CUDA(cudaEventRecord(start, 0));
        st = fn(&in, p, ws, b->grad, out, NULL);
        RD_CHECK_CUDA(cudaEventRecord(stop, 0));
        RD_CHECK_CUDA(cudaEventSynchronize(stop));
        float t = 0.0f;
        RD_CHECK_CUDA(cudaEventElapsedTime(&t, start, stop));
        ms[r] = t;
    }
    RD_CHECK_CUDA(cudaEventDestroy(start));
    RD_CHECK_CUDA(cudaEventDestroy(stop));
    return st;
}

/* Float bits ordered as the floats (for atomicMin), and back. */
__device__ inline unsigned int loss_cuda_ordered(float v)
{
    const unsigned int u = __float_as_uint(v);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static float loss_cuda_unordered(unsigned int u)
{
    u = (u & 0x80000000u) ? (u & 0x7fffffffu) : ~u;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Counts, the first bad entry (a non-finite score before a bad label, as loss_scan) and the
 * lowest positive score, reduced per warp then by atomics into h. */
__global__ void loss_cuda_scan_kernel(const float *s, const int8_t *t, int64_t n,
                                      loss_cuda_scan_header *h)
{
    unsigned long long npos = 0, nneg = 0, bad = LOSS_CUDA_NO_BAD;
    unsigned int minpos = ~0u;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float v = s[i];
        const int l = t[i];
        const bool finite = isfinite(v);
        const unsigned long long key = !finite ? 2ull * (unsigned long long)i
                                       : (l < -1 || l > 1) ? 2ull * (unsigned long long)i + 1
                                                           : LOSS_CUDA_NO_BAD;
        bad = key < bad ? key : bad;
        npos += l == 1;
        nneg += l == 0;
        if (l == 1 && finite) {
            const unsigned int o = loss_cuda_ordered(v);
            minpos = o < minpos ? o : minpos;
        }
    }
    for (int off = 16; off > 0; off >>= 1) {
        npos += __shfl_down_sync(0xffffffffu, npos, off);
        nneg += __shfl_down_sync(0xffffffffu, nneg, off);
        const unsigned long long b = __shfl_down_sync(0xffffffffu, bad, off);
        const unsigned int m = __shfl_down_sync(0xffffffffu, minpos, off);
        bad = b < bad ? b : bad;
        minpos = m < minpos ? m : minpos;
    }
    if ((threadIdx.x & 31) == 0) {
        atomicAdd(&h->npos, npos);
        atomicAdd(&h->nneg, nneg);
        atomicMin(&h->bad, bad);
        atomicMin(&h->minpos, minpos);
    }
}

loss_status loss_cuda_scan(const loss_inputs *in, loss_cuda_ws *ws, loss_result *out,
                           float *minpos, cudaStream_t st)
{
    RD_CHECK(in->n >= 0, "a batch of %lld entries", (long long)in->n);
    loss_cuda_scan_header *h =
        (loss_cuda_scan_header *)loss_cuda_ws_header(ws, sizeof(loss_cuda_scan_header));
    loss_cuda_scan_header hh;
    RD_CHECK_CUDA(cudaMemsetAsync(h, 0, sizeof *h, st));
    RD_CHECK_CUDA(cudaMemsetAsync(&h->bad, 0xff, sizeof h->bad + sizeof h->minpos, st));
    loss_cuda_scan_kernel<<<loss_cuda_grid(in->n), LOSS_CUDA_THREADS, 0, st>>>(
        in->scores, in->labels, in->n, h);
    RD_CHECK_LAUNCH();
    RD_CHECK_CUDA(cudaMemcpyAsync(&hh, h, sizeof hh, cudaMemcpyDeviceToHost, st));
    RD_CHECK_CUDA(cudaStreamSynchronize(st));
    memset(out, 0, sizeof *out);
    if (hh.bad != LOSS_CUDA_NO_BAD) {
        out->bad_index = (int64_t)(hh.bad >> 1);
        return (hh.bad & 1) ? LOSS_ERR_LABEL : LOSS_ERR_NONFINITE;
    }
    out->num_pos = (int64_t)hh.npos;
    out->num_neg = (int64_t)hh.nneg;
    if (minpos)
        *minpos = loss_cuda_unordered(hh.minpos);
    return LOSS_OK;
}

void loss_cuda_zero(float *grad, int64_t n, cudaStream_t st)
{
    if (n > 0)
        RD_CHECK_CUDA(cudaMemsetAsync(grad, 0, (size_t)n * sizeof *grad, st));
}

int loss_cuda_begin(const loss_inputs *in, loss_cuda_ws *ws, float *grad, loss_result *out,
                    loss_status *status, float *minpos, cudaStream_t st)
{
    *status = loss_cuda_scan(in, ws, out, minpos, st);
    if (*status != LOSS_OK)
        return 1;
    if (out->num_pos == 0) {
        loss_cuda_zero(grad, in->n, st);
        RD_CHECK_CUDA(cudaStreamSynchronize(st));
        out->no_positive = 1;
        out->loss = 0.0;
        return 1;
    }
    return 0;
}

/* One block: *dst = Σ partials[count], each thread's stride-ordered part, then a block sum. */
__global__ void loss_cuda_sum_kernel(const double *partials, int64_t count, double *dst)
{
    double v = 0.0;
    for (int64_t i = threadIdx.x; i < count; i += blockDim.x)
        v += partials[i];
    typedef cub::BlockReduce<double, LOSS_CUDA_THREADS> reduce;
    __shared__ typename reduce::TempStorage tmp;
    const double sum = reduce(tmp).Sum(v);
    if (threadIdx.x == 0)
        *dst = sum;
}

void loss_cuda_sum(const double *partials, int64_t count, double *dst, cudaStream_t st)
{
    RD_CHECK(count >= 0 && count <= LOSS_CUDA_BLOCKS_MAX, "a sum of %lld partials",
             (long long)count);
    loss_cuda_sum_kernel<<<1, LOSS_CUDA_THREADS, 0, st>>>(partials, count, dst);
    RD_CHECK_LAUNCH();
}

double loss_cuda_read_double(const double *src, cudaStream_t st)
{
    double v = 0.0;
    RD_CHECK_CUDA(cudaMemcpyAsync(&v, src, sizeof v, cudaMemcpyDeviceToHost, st));
    RD_CHECK_CUDA(cudaStreamSynchronize(st));
    return v;
}

struct loss_cuda_to_dd {
    __host__ __device__ loss_cuda_dd operator()(float x) const { return loss_cuda_dd{x, 0.0}; }
};

struct loss_cuda_dd_sum {
    __host__ __device__ loss_cuda_dd operator()(loss_cuda_dd a, loss_cuda_dd b) const
    {
        return loss_cuda_dd_add(a, b);
    }
};

struct loss_cuda_is_label {
    int want;
    __host__ __device__ bool operator()(int8_t l) const { return l == want; }
};

/* Entry i is a negative that some positive reaches: v >= cut (= min_P s - δ). */
struct loss_cuda_is_candidate {
    const float *scores;
    const int8_t *labels;
    double cut;
    __host__ __device__ bool operator()(int64_t i) const
    {
        return labels[i] == 0 && (double)scores[i] >= cut;
    }
};

typedef thrust::transform_iterator<loss_cuda_to_dd, const float *> loss_cuda_dd_iter;
typedef thrust::counting_iterator<int64_t> loss_cuda_index_iter;

size_t loss_cuda_rank_temp_bytes(int64_t n, int64_t P, int64_t N)
{
    size_t need = 0, b = 0;
    const float *cf = NULL;
    float *f = NULL;
    const int8_t *t = NULL;
    long long *cnt = NULL;
    const int64_t *ci = NULL;
    int64_t *i = NULL;
    const loss_cuda_index_iter at(0);
    const loss_cuda_dd_iter dd(cf, loss_cuda_to_dd{});
    const loss_cuda_is_label is_pos{1};
    const loss_cuda_is_candidate is_cand{NULL, NULL, 0.0};
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceSelect::FlaggedIf(NULL, b, cf, t, f, cnt, n, is_pos));
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceSelect::FlaggedIf(NULL, b, at, t, i, cnt, n, is_pos));
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceSelect::FlaggedIf(NULL, b, cf, at, f, cnt, n, is_cand));
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceRadixSort::SortPairs(NULL, b, cf, f, ci, i, P));
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceRadixSort::SortKeys(NULL, b, cf, f, N));
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceScan::InclusiveScan(NULL, b, dd, (loss_cuda_dd *)NULL,
                                                               loss_cuda_dd_sum{}, N > P ? N : P));
    return need;
}

void loss_cuda_rank_layout(loss_cuda_rank *r, char *base, size_t *off)
{
    const size_t P = (size_t)r->P, N = (size_t)r->N;
    LOSS_CUDA_TAKE(base, *off, r->pos_in, P);
    LOSS_CUDA_TAKE(base, *off, r->pos, P);
    LOSS_CUDA_TAKE(base, *off, r->idx_in, P);
    LOSS_CUDA_TAKE(base, *off, r->idx, P);
    LOSS_CUDA_TAKE(base, *off, r->neg_in, N);
    LOSS_CUDA_TAKE(base, *off, r->neg, N);
    LOSS_CUDA_TAKE(base, *off, r->pos_sum, P + 1);
    LOSS_CUDA_TAKE(base, *off, r->neg_sum, N + 1);
}

/* The positives (index order) and the candidate negatives; r->nc is set (synchronises). */
static void loss_cuda_rank_select(const loss_inputs *in, loss_cuda_rank *r, long long *nsel,
                                  double cut, cudaStream_t st)
{
    size_t tb = r->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceSelect::FlaggedIf(r->temp, tb, in->scores, in->labels, r->pos_in,
                                               &nsel[0], in->n, loss_cuda_is_label{1}, st));
    tb = r->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceSelect::FlaggedIf(r->temp, tb, loss_cuda_index_iter(0), in->labels,
                                               r->idx_in, &nsel[1], in->n,
                                               loss_cuda_is_label{1}, st));
    tb = r->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceSelect::FlaggedIf(r->temp, tb, in->scores, loss_cuda_index_iter(0),
                                               r->neg_in, &nsel[2], in->n,
                                               loss_cuda_is_candidate{in->scores, in->labels,
                                                                      cut},
                                               st));
    long long got[3];
    RD_CHECK_CUDA(cudaMemcpyAsync(got, nsel, sizeof got, cudaMemcpyDeviceToHost, st));
    RD_CHECK_CUDA(cudaStreamSynchronize(st));
    RD_CHECK(got[0] == r->P && got[1] == r->P && got[2] >= 0 && got[2] <= r->N,
             "selected %lld and %lld positives of %lld, %lld negatives of %lld", got[0], got[1],
             (long long)r->P, got[2], (long long)r->N);
    r->nc = got[2];
}

/* Prefix sums sum[0..len] of the ascending x[0..len), as double-doubles. */
static void loss_cuda_rank_prefix(const loss_cuda_rank *r, const float *x, int64_t len,
                                  loss_cuda_dd *sum, cudaStream_t st)
{
    RD_CHECK_CUDA(cudaMemsetAsync(sum, 0, sizeof *sum, st));
    if (len == 0)
        return;
    size_t tb = r->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceScan::InclusiveScan(r->temp, tb,
                                                 loss_cuda_dd_iter(x, loss_cuda_to_dd{}),
                                                 sum + 1, loss_cuda_dd_sum{}, len, st));
}

void loss_cuda_rank_prepare(const loss_inputs *in, loss_cuda_rank *r, long long *nsel,
                            double cut, double beta, cudaStream_t st)
{
    loss_cuda_rank_select(in, r, nsel, cut, st);
    size_t tb = r->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceRadixSort::SortPairs(r->temp, tb, r->pos_in, r->pos, r->idx_in,
                                                  r->idx, r->P, 0, (int)sizeof(float) * 8, st));
    if (r->nc > 0) {
        tb = r->temp_bytes;
        RD_CHECK_CUDA(cub::DeviceRadixSort::SortKeys(r->temp, tb, r->neg_in, r->neg, r->nc, 0,
                                                     (int)sizeof(float) * 8, st));
    }
    if (beta > 0.0) {
        loss_cuda_rank_prefix(r, r->pos, r->P, r->pos_sum, st);
        loss_cuda_rank_prefix(r, r->neg, r->nc, r->neg_sum, st);
    }
}
