/* approx_ap_loss.cu — the CUDA twin of optim/approx_ap_loss.c: the sigmoid-smoothed AP of
 * Chen et al. (CVPR 2019, sec. 4.2.3), J = -log(AP + eps) and its exact gradient, with the
 * CPU's formulas, windows and factoring (see the CPU file for the equations):
 * (1) validation and counts (loss_cuda_begin); (2) the valid entries' order-preserving keys
 * radix-sorted (stable, ties in index order as sort_radix_u32), the score range read back to
 * choose between the factored form E = exp((s - c)/tau) and one exp per pair as the CPU;
 * (3) one block per positive: A_i, B_i and their sig' sums over its window of ±APPROX_CUT
 * temperatures (binary search), entries above the window counted as sig = 1; (4) AP as a
 * fixed-order sum of per-block partials, then c_i, c_i B_i, -c_i A_i; (5) one thread per
 * entry: negatives' and positives' gradients from windows of the sorted positives.
 * Sums are added in a fixed order, so the same batch gives the same bits. */
#include <cuda_runtime.h>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_select.cuh>
#include <thrust/iterator/counting_iterator.h>

#include <math.h>
#include <string.h>

#include "optim/loss_cuda_impl.h"

#define APPROX_CUT 41.6     // the CPU's window, in temperatures
#define APPROX_SPAN 1400.0  // the CPU's largest factored range, in temperatures

/* What the selections leave on the device, after the validation pass's counts. */
struct approx_header {
    loss_cuda_scan_header scan;
    long long nsel[3];   // valid keys, valid indices, positives
    double ap_sum;       // Σ_i A_i / R_i
};

/* Device views of one call, in ws->buf (the CPU's approx_sorted and approx_stats). */
struct approx_plan {
    int64_t n, nvalid, npos;
    uint32_t *key_all;        // [n] order-preserving keys of every entry
    uint32_t *key_in, *key;   // [nvalid] valid keys in index order, sorted
    int64_t *idx_in, *idx;    // [nvalid] their entries
    float *score;             // [nvalid] scores ascending
    int8_t *label;            // [nvalid] 1 or 0, in the same order
    double *ex;               // [nvalid] exp((score - center) / tau), when factored
    int64_t *pos_at;          // [npos] place of each positive in that order
    double *pos_score, *pos_ex;  // [npos]
    int64_t *pos_orig;        // [npos] their entries
    double *a, *b, *da, *db, *c, *coef_pos, *coef_neg;  // [npos] each
    double *partials;         // [blocks + 1]
    void *temp;               // CUB scratch
    size_t temp_bytes;
    double tau, center;
    double top, bottom;       // the window's edges past ±APPROX_CUT (nextafter, as the CPU)
    int factored;
};

struct approx_is_valid {
    __host__ __device__ bool operator()(int8_t l) const { return l >= 0; }
};

struct approx_is_positive {
    __host__ __device__ bool operator()(int8_t l) const { return l == 1; }
};

typedef thrust::counting_iterator<int64_t> approx_index_iter;

/* sig'(x) of the scaled difference x, and sig(x) into *sig (approx_sigmoid of the CPU). */
__device__ inline double approx_sigmoid(double x, double tau, double *sig)
{
    const double e = exp(-fabs(x));
    const double r = 1.0 / (1.0 + e);
    *sig = x >= 0 ? r : e * r;
    return e * r * r / tau;
}

/* Add the sorted entries [from, to), strided over the block's threads, to {A, B, dA, dB} of
 * the positive with score s and ex e. */
__device__ inline void approx_add_window(const approx_plan &q, int64_t from, int64_t to,
                                         double s, double e, double sums[4])
{
    for (int64_t v = from + threadIdx.x; v < to; v += blockDim.x) {
        const int pos = q.label[v] == 1;
        double sig, dsig;
        if (q.factored) {
            const double inv = 1.0 / (q.ex[v] + e);
            sig = q.ex[v] * inv;
            dsig = sig * (e * inv) * (1.0 / q.tau);
        } else {
            dsig = approx_sigmoid(((double)q.score[v] - s) / q.tau, q.tau, &sig);
        }
        sums[pos ? 0 : 1] += sig;
        sums[pos ? 2 : 3] += dsig;
    }
}

/* One block per positive r (grid stride): A, B, dA, dB of the CPU's approx_positive_stats. */
__global__ void approx_stats_kernel(approx_plan q)
{
    typedef cub::BlockReduce<double, LOSS_CUDA_THREADS> reduce;
    __shared__ typename reduce::TempStorage tmp;
    for (int64_t r = blockIdx.x; r < q.npos; r += gridDim.x) {
        const double s = q.pos_score[r], e = q.factored ? q.pos_ex[r] : 0.0, tau = q.tau;
        const int64_t self = q.pos_at[r];
        const double top = q.top;
        const int64_t lo = loss_cuda_count_prefix(q.score, q.nvalid, [s, tau](float x) {
            return ((double)x - s) / tau < -APPROX_CUT;
        });
        const int64_t hi = loss_cuda_count_prefix(q.score, q.nvalid, [s, tau, top](float x) {
            return ((double)x - s) / tau < top;
        });
        const int64_t pos_above =
            q.npos - loss_cuda_count_prefix(q.pos_at, q.npos, [hi](int64_t v) { return v < hi; });
        double sums[4] = {0.0, 0.0, 0.0, 0.0};
        approx_add_window(q, lo, self, s, e, sums);
        approx_add_window(q, self + 1, hi, s, e, sums);
        double total[4];
        for (int m = 0; m < 4; m++) {
            total[m] = reduce(tmp).Sum(sums[m]);
            __syncthreads();
        }
        if (threadIdx.x == 0) {
            q.a[r] = 1.0 + (double)pos_above + total[0];
            q.b[r] = (double)(q.nvalid - hi - pos_above) + total[1];
            q.da[r] = total[2];
            q.db[r] = total[3];
        }
    }
}

/* Per-block partial sums of A_i / R_i. */
__global__ void approx_ap_kernel(approx_plan q)
{
    double sum = 0.0;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; r < q.npos; r += stride)
        sum += q.a[r] / (q.a[r] + q.b[r]);
    loss_cuda_block_partial(sum, q.partials);
}

/* c_i, c_i B_i and -c_i A_i from AP = *ap_sum / |P|. */
__global__ void approx_coef_kernel(approx_plan q, const double *ap_sum, double eps)
{
    const double ap = *ap_sum / (double)q.npos;
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; r < q.npos; r += stride) {
        const double rr = q.a[r] + q.b[r];
        q.c[r] = -1.0 / ((ap + eps) * (double)q.npos * rr * rr);
        q.coef_pos[r] = q.c[r] * q.b[r];
        q.coef_neg[r] = -q.c[r] * q.a[r];
    }
}

/* Σ over positives r in [from, to) of coef[r] sig'(s - s_r); e is the ex of s. */
__device__ inline double approx_add_coef(const approx_plan &q, const double *coef, int64_t from,
                                         int64_t to, double s, double e)
{
    double sum = 0.0, sig;
    if (q.factored) {
        for (int64_t r = from; r < to; r++) {
            const double inv = 1.0 / (e + q.pos_ex[r]);
            sum += coef[r] * (e * inv) * (q.pos_ex[r] * inv);
        }
        return sum / q.tau;
    }
    for (int64_t r = from; r < to; r++)
        sum += coef[r] * approx_sigmoid((s - q.pos_score[r]) / q.tau, q.tau, &sig);
    return sum;
}

/* Σ over positives r != skip with |s - s_r| / tau <= APPROX_CUT of coef[r] sig'(s - s_r). */
__device__ inline double approx_window_sum(const approx_plan &q, const double *coef, double s,
                                           double e, int64_t skip)
{
    const double tau = q.tau, bottom = q.bottom;
    const int64_t lo = loss_cuda_count_prefix(q.pos_score, q.npos, [s, tau](double x) {
        return (s - x) / tau > APPROX_CUT;
    });
    const int64_t hi = loss_cuda_count_prefix(q.pos_score, q.npos, [s, tau, bottom](double x) {
        return (s - x) / tau > bottom;
    });
    if (skip < lo || skip >= hi)
        return approx_add_coef(q, coef, lo, hi, s, e);
    return approx_add_coef(q, coef, lo, skip, s, e) + approx_add_coef(q, coef, skip + 1, hi, s, e);
}

/* Every entry: negatives their window sum, ignored entries 0 (positives: approx_pos_grad). */
__global__ void approx_neg_grad_kernel(approx_plan q, const float *scores, const int8_t *labels,
                                       float *grad)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < q.n; i += stride) {
        const int l = labels[i];
        if (l == 0) {
            const double s = scores[i];
            const double e = q.factored ? exp((s - q.center) / q.tau) : 0.0;
            grad[i] = (float)approx_window_sum(q, q.coef_neg, s, e, -1);
        } else if (l < 0) {
            grad[i] = 0.0f;
        }
    }
}

/* Every positive: its own sums and the other positives' windows. */
__global__ void approx_pos_grad_kernel(approx_plan q, float *grad)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; r < q.npos; r += stride) {
        const double own = q.c[r] * (q.a[r] * q.db[r] - q.b[r] * q.da[r]);
        const double cross = approx_window_sum(q, q.coef_pos, q.pos_score[r], q.pos_ex[r], r);
        grad[q.pos_orig[r]] = (float)(own + cross);
    }
}

/* Every entry's key (sort_key_from_f32). */
__global__ void approx_keys_kernel(const float *scores, int64_t n, uint32_t *key)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        key[i] = loss_cuda_key(scores[i]);
}

/* The sorted entries' scores, labels and ex. */
__global__ void approx_fill_kernel(approx_plan q, const int8_t *labels)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t v = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; v < q.nvalid; v += stride) {
        q.score[v] = loss_cuda_unkey(q.key[v]);
        q.label[v] = labels[q.idx[v]];
        q.ex[v] = q.factored ? exp(((double)q.score[v] - q.center) / q.tau) : 0.0;
    }
}

/* The positives' scores, ex and entries from their places. */
__global__ void approx_pos_kernel(approx_plan q)
{
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; r < q.npos; r += stride) {
        const int64_t v = q.pos_at[r];
        q.pos_score[r] = q.score[v];
        q.pos_ex[r] = q.ex[v];
        q.pos_orig[r] = q.idx[v];
    }
}

/* The largest CUB scratch of any step. */
static size_t approx_temp_bytes(int64_t n, int64_t nvalid)
{
    size_t need = 0, b = 0;
    const int8_t *t = NULL;
    long long *cnt = NULL;
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceSelect::FlaggedIf(NULL, b, (const uint32_t *)NULL, t,
                                                             (uint32_t *)NULL, cnt, n,
                                                             approx_is_valid{}));
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceSelect::FlaggedIf(NULL, b, approx_index_iter(0), t,
                                                             (int64_t *)NULL, cnt, n,
                                                             approx_is_valid{}));
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceRadixSort::SortPairs(NULL, b, (const uint32_t *)NULL,
                                                                (uint32_t *)NULL,
                                                                (const int64_t *)NULL,
                                                                (int64_t *)NULL, nvalid));
    LOSS_CUDA_TEMP_MAX(need, b, cub::DeviceSelect::FlaggedIf(NULL, b, approx_index_iter(0), t,
                                                             (int64_t *)NULL, cnt, nvalid,
                                                             approx_is_positive{}));
    return need;
}

/* Lay out the views of q from base (NULL: only count); returns the bytes taken. */
static size_t approx_layout(approx_plan *q, char *base, unsigned int blocks)
{
    const size_t n = (size_t)q->n, nv = (size_t)q->nvalid, P = (size_t)q->npos;
    size_t off = 0;
    LOSS_CUDA_TAKE(base, off, q->key_all, n);
    LOSS_CUDA_TAKE(base, off, q->key_in, nv);
    LOSS_CUDA_TAKE(base, off, q->key, nv);
    LOSS_CUDA_TAKE(base, off, q->idx_in, nv);
    LOSS_CUDA_TAKE(base, off, q->idx, nv);
    LOSS_CUDA_TAKE(base, off, q->score, nv);
    LOSS_CUDA_TAKE(base, off, q->label, nv);
    LOSS_CUDA_TAKE(base, off, q->ex, nv);
    LOSS_CUDA_TAKE(base, off, q->pos_at, P);
    LOSS_CUDA_TAKE(base, off, q->pos_score, P);
    LOSS_CUDA_TAKE(base, off, q->pos_ex, P);
    LOSS_CUDA_TAKE(base, off, q->pos_orig, P);
    LOSS_CUDA_TAKE(base, off, q->a, P);
    LOSS_CUDA_TAKE(base, off, q->b, P);
    LOSS_CUDA_TAKE(base, off, q->da, P);
    LOSS_CUDA_TAKE(base, off, q->db, P);
    LOSS_CUDA_TAKE(base, off, q->c, P);
    LOSS_CUDA_TAKE(base, off, q->coef_pos, P);
    LOSS_CUDA_TAKE(base, off, q->coef_neg, P);
    LOSS_CUDA_TAKE(base, off, q->partials, blocks + 1);
    q->temp = base ? base + off : NULL;
    return off + q->temp_bytes;
}

/* Steps 2 and the positives' list: select and sort the valid entries, choose the factored
 * form from the score range (one synchronisation), fill the sorted arrays. */
static void approx_sort(const loss_inputs *in, approx_plan *q, approx_header *h, cudaStream_t st)
{
    approx_keys_kernel<<<loss_cuda_grid(q->n), LOSS_CUDA_THREADS, 0, st>>>(in->scores, q->n,
                                                                          q->key_all);
    RD_CHECK_LAUNCH();
    size_t tb = q->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceSelect::FlaggedIf(q->temp, tb, q->key_all, in->labels, q->key_in,
                                               &h->nsel[0], q->n, approx_is_valid{}, st));
    tb = q->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceSelect::FlaggedIf(q->temp, tb, approx_index_iter(0), in->labels,
                                               q->idx_in, &h->nsel[1], q->n, approx_is_valid{},
                                               st));
    tb = q->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceRadixSort::SortPairs(q->temp, tb, q->key_in, q->key, q->idx_in,
                                                  q->idx, q->nvalid, 0, 32, st));
    uint32_t ends[2];
    long long got[2];
    RD_CHECK_CUDA(cudaMemcpyAsync(&ends[0], q->key, sizeof ends[0], cudaMemcpyDeviceToHost, st));
    RD_CHECK_CUDA(cudaMemcpyAsync(&ends[1], q->key + q->nvalid - 1, sizeof ends[1],
                                  cudaMemcpyDeviceToHost, st));
    RD_CHECK_CUDA(cudaMemcpyAsync(got, h->nsel, sizeof got, cudaMemcpyDeviceToHost, st));
    RD_CHECK_CUDA(cudaStreamSynchronize(st));
    RD_CHECK(got[0] == q->nvalid && got[1] == q->nvalid, "selected %lld and %lld of %lld valid "
             "entries", got[0], got[1], (long long)q->nvalid);
    const double lowest = loss_cuda_unkey(ends[0]), highest = loss_cuda_unkey(ends[1]);
    q->center = 0.5 * (lowest + highest);
    q->factored = (highest - lowest) / q->tau <= APPROX_SPAN;
    approx_fill_kernel<<<loss_cuda_grid(q->nvalid), LOSS_CUDA_THREADS, 0, st>>>(*q, in->labels);
    RD_CHECK_LAUNCH();
    tb = q->temp_bytes;
    RD_CHECK_CUDA(cub::DeviceSelect::FlaggedIf(q->temp, tb, approx_index_iter(0), q->label,
                                               q->pos_at, &h->nsel[2], q->nvalid,
                                               approx_is_positive{}, st));
    approx_pos_kernel<<<loss_cuda_grid(q->npos), LOSS_CUDA_THREADS, 0, st>>>(*q);
    RD_CHECK_LAUNCH();
}

loss_status approx_ap_loss_cuda_compute(const loss_inputs *in, const loss_params *p,
                                        loss_cuda_ws *ws, float *grad, loss_result *out,
                                        void *stream)
{
    RD_CHECK(p->tau > 0.0 && p->eps >= 0.0, "approx_ap needs tau > 0 and eps >= 0 (got %g, %g); "
             "validate flags first", p->tau, p->eps);
    cudaStream_t st = (cudaStream_t)stream;
    loss_status status;
    if (loss_cuda_begin(in, ws, grad, out, &status, NULL, st))
        return status;
    approx_header *h = (approx_header *)loss_cuda_ws_header(ws, sizeof(approx_header));
    approx_plan q;
    memset(&q, 0, sizeof q);
    q.n = in->n;
    q.nvalid = out->num_pos + out->num_neg;
    q.npos = out->num_pos;
    q.tau = p->tau;
    q.top = nextafter(APPROX_CUT, INFINITY);
    q.bottom = nextafter(-APPROX_CUT, -INFINITY);
    q.temp_bytes = approx_temp_bytes(q.n, q.nvalid);
    const unsigned int blocks = loss_cuda_grid(q.npos);
    const unsigned int per_positive =
        (unsigned int)(q.npos < LOSS_CUDA_BLOCKS_MAX ? q.npos : LOSS_CUDA_BLOCKS_MAX);
    approx_layout(&q, (char *)loss_cuda_ws_reserve(ws, approx_layout(&q, NULL, blocks)), blocks);
    approx_sort(in, &q, h, st);
    approx_stats_kernel<<<per_positive, LOSS_CUDA_THREADS, 0, st>>>(q);
    RD_CHECK_LAUNCH();
    approx_ap_kernel<<<blocks, LOSS_CUDA_THREADS, 0, st>>>(q);
    RD_CHECK_LAUNCH();
    loss_cuda_sum(q.partials, blocks, &h->ap_sum, st);
    approx_coef_kernel<<<blocks, LOSS_CUDA_THREADS, 0, st>>>(q, &h->ap_sum, p->eps);
    RD_CHECK_LAUNCH();
    approx_neg_grad_kernel<<<loss_cuda_grid(q.n), LOSS_CUDA_THREADS, 0, st>>>(q, in->scores,
                                                                             in->labels, grad);
    RD_CHECK_LAUNCH();
    approx_pos_grad_kernel<<<blocks, LOSS_CUDA_THREADS, 0, st>>>(q, grad);
    RD_CHECK_LAUNCH();
    const double ap = loss_cuda_read_double(&h->ap_sum, st) / (double)q.npos;
    out->loss = -log(ap + p->eps);
    return LOSS_OK;
}
