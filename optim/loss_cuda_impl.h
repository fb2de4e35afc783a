/* loss_cuda_impl.h — what the GPU losses share inside, for the .cu files only (loss_cuda.h is
 * the public side): the validation and count pass with the first bad entry, the common start
 * of a loss (loss_begin's twin), deterministic double sums of per-block partials, the
 * order-preserving float keys of optim/sort.h, double-double prefix sums, and the selection
 * and sorting of positives and reachable negatives used by the ranking losses (ap, auc). */
#ifndef RD_LOSS_CUDA_IMPL_H
#define RD_LOSS_CUDA_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <cub/block/block_reduce.cuh>

#include "lib/cuda_check.h"
extern "C" {
#include "optim/loss_cuda.h"
}

#define LOSS_CUDA_THREADS 256
#define LOSS_CUDA_BLOCKS_MAX (1 << 15)  // grid-stride loops beyond this
#define LOSS_CUDA_ALIGN 256
#define LOSS_CUDA_NO_BAD (~0ull)

/* What the validation pass leaves on the device (at the start of ws->header). */
struct loss_cuda_scan_header {
    unsigned long long npos, nneg;
    unsigned long long bad;   // 2·index, + 1 for a bad label: the first bad entry; NO_BAD
    unsigned int minpos;      // order-preserving bits of the lowest positive score
    unsigned int pad;
};

/* Blocks of a grid-stride launch over n entries: at least 1, at most LOSS_CUDA_BLOCKS_MAX. */
static inline unsigned int loss_cuda_grid(int64_t n)
{
    int64_t b = (n + LOSS_CUDA_THREADS - 1) / LOSS_CUDA_THREADS;
    return (unsigned int)(b < 1 ? 1 : b > LOSS_CUDA_BLOCKS_MAX ? LOSS_CUDA_BLOCKS_MAX : b);
}

/* Bytes of count elements of size `size`, rounded up to LOSS_CUDA_ALIGN. */
static inline size_t loss_cuda_aligned(size_t count, size_t size)
{
    return (count * size + LOSS_CUDA_ALIGN - 1) / LOSS_CUDA_ALIGN * LOSS_CUDA_ALIGN;
}

/* Lay `count` elements of *ptr at base + *off (base NULL: only count), advancing *off. */
#define LOSS_CUDA_TAKE(base, off, ptr, count)                                          \
    do {                                                                               \
        (ptr) = (base) ? (decltype(ptr))((char *)(base) + (off)) : NULL;               \
        (off) += loss_cuda_aligned((size_t)(count), sizeof *(ptr));                    \
    } while (0)

/* need = max(need, the scratch bytes the CUB query `call` leaves in b); call must name b as
 * its temp_storage_bytes and is checked with RD_CHECK_CUDA. */
#define LOSS_CUDA_TEMP_MAX(need, b, call)   \
    do {                                    \
        (b) = 0;                            \
        RD_CHECK_CUDA(call);                \
        (need) = (b) > (need) ? (b) : (need); \
    } while (0)

/* Validate and count in->scores/labels (device) as loss_scan: *out gets the counts, or the
 * status and bad_index of the first bad entry (a NaN/Inf score before a bad label of the same
 * entry). *minpos (optional) gets the lowest positive score. Synchronises the stream. */
loss_status loss_cuda_scan(const loss_inputs *in, loss_cuda_ws *ws, loss_result *out,
                           float *minpos, cudaStream_t st);

/* loss_begin's twin: loss_cuda_scan, then the zero update of a batch with no positive
 * (synchronised). Returns 1 when the loss is finished (*status the error, or LOSS_OK after
 * the zero update), 0 when it goes on (*status LOSS_OK, counts in out). */
int loss_cuda_begin(const loss_inputs *in, loss_cuda_ws *ws, float *grad, loss_result *out,
                    loss_status *status, float *minpos, cudaStream_t st);

/* grad[n] = 0 on the stream (nothing for n = 0). */
void loss_cuda_zero(float *grad, int64_t n, cudaStream_t st);

/* *dst (device) = the sum of partials[count] (device), added in a fixed order, so that the
 * same partials give the same bits. count at most LOSS_CUDA_BLOCKS_MAX. */
void loss_cuda_sum(const double *partials, int64_t count, double *dst, cudaStream_t st);

/* The host copy of the device double *src (synchronises the stream). */
double loss_cuda_read_double(const double *src, cudaStream_t st);

/* In a kernel of LOSS_CUDA_THREADS threads: the block's sum of v into partials[blockIdx.x]. */
__device__ inline void loss_cuda_block_partial(double v, double *partials)
{
    typedef cub::BlockReduce<double, LOSS_CUDA_THREADS> reduce;
    __shared__ typename reduce::TempStorage tmp;
    const double sum = reduce(tmp).Sum(v);
    if (threadIdx.x == 0)
        partials[blockIdx.x] = sum;
}

/* sort_key_from_f32 of optim/sort.h: an order-preserving key, -0 and +0 equal. */
__host__ __device__ inline uint32_t loss_cuda_key(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if (u == 0x80000000u)
        u = 0;
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* sort_f32_from_key of optim/sort.h. */
__host__ __device__ inline float loss_cuda_unkey(uint32_t k)
{
    uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* The unevaluated sum hi + lo. */
struct loss_cuda_dd {
    double hi, lo;
};

/* Knuth's two-sum of two double-doubles, renormalised. */
__host__ __device__ inline loss_cuda_dd loss_cuda_dd_add(loss_cuda_dd a, loss_cuda_dd b)
{
    const double s = a.hi + b.hi, z = s - a.hi;
    const double e = (a.hi - (s - z)) + (b.hi - z) + (a.lo + b.lo);
    const double hi = s + e;
    return loss_cuda_dd{hi, e - (hi - s)};
}

__host__ __device__ inline double loss_cuda_dd_diff(loss_cuda_dd a, loss_cuda_dd b)
{
    return (a.hi - b.hi) + (a.lo - b.lo);
}

/* How many of the ascending x[0..len) satisfy pred (pred true on a prefix). */
template <typename T, typename Pred>
__device__ inline int64_t loss_cuda_count_prefix(const T *x, int64_t len, Pred pred)
{
    int64_t lo = 0, hi = len;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (pred(x[mid]))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Σ over the values counted in [0, total) of f(v - s_i), the step of eq. 14, given how many
 * lie below the window (lo) and at most its upper edge (hi): rank_pairs.c's rank_step_sum. */
__device__ inline double loss_cuda_step_sum(int64_t lo, int64_t hi, int64_t total,
                                            const loss_cuda_dd *sum, double si, double beta)
{
    const double lin = (double)(hi - lo), sat = (double)(total - hi);
    if (beta == 0.0)
        return sat + 0.5 * lin;
    const double centred = loss_cuda_dd_diff(sum[hi], sum[lo]) - si * lin;  // Σ_lin (v - s_i)
    return sat + 0.5 * lin + beta * centred;
}

/* For a negative of score v and the ascending positives pos[P]: how many reach it
 * (s_i - δ <= v), returned, and when any do, how many are saturated, below its linear part
 * (s_i + δ < v), in *sat (0 otherwise). */
__device__ inline int64_t loss_cuda_reach(const float *pos, int64_t P, double v, double delta,
                                          int64_t *sat)
{
    const int64_t reach =
        loss_cuda_count_prefix(pos, P, [v, delta](float x) { return (double)x - delta <= v; });
    *sat = reach > 0 ? loss_cuda_count_prefix(pos, P, [v, delta](float x) {
        return (double)x + delta < v;
    }) : 0;
    return reach;
}

/* The sorted positives and reachable negatives of a ranking loss, in device scratch. */
struct loss_cuda_rank {
    float *pos_in, *pos;             // [P] positive scores in index order, sorted
    int64_t *idx_in, *idx;           // [P] their entries
    float *neg_in, *neg;             // [N] candidate negatives' scores, sorted (first nc used)
    loss_cuda_dd *pos_sum, *neg_sum; // [P+1], [N+1] prefix sums of the sorted scores
    void *temp;                      // CUB scratch
    size_t temp_bytes;
    int64_t P, N, nc;                // positives, negatives, candidate negatives
};

/* CUB scratch the rank steps need for n entries, P positives and N negatives. */
size_t loss_cuda_rank_temp_bytes(int64_t n, int64_t P, int64_t N);
/* Lay out the arrays of r (P, N set) at base + *off (base NULL: only count); r->temp is not
 * placed (the caller puts it last, at least temp_bytes). */
void loss_cuda_rank_layout(loss_cuda_rank *r, char *base, size_t *off);
/* Select the positives (index order) and the negatives with v >= cut, sort both (stable:
 * tied positives keep index order), and when beta > 0 the prefix sums of their scores.
 * nsel: 3 device counters. Sets r->nc; synchronises the stream once. */
void loss_cuda_rank_prepare(const loss_inputs *in, loss_cuda_rank *r, long long *nsel,
                            double cut, double beta, cudaStream_t st);

#endif
