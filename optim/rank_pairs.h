/* rank_pairs.h — exact pairwise sums of the piecewise step over positives × negatives in
 * O(n log |P|) time and O(n) memory, shared by the ranking losses (ap, auc, and later ones).
 *
 * With f(x) = clamp(x/(2δ) + 1/2, 0, 1) (eq. 14 of Chen et al., CVPR 2019; δ = 0: Heaviside with
 * f(0) = 1/2), a loss of the AP family needs, for every positive i,
 *   a_i = 1/2 + Σ_{k∈P} f(s_k - s_i)   and   b_i = Σ_{j∈N} f(s_j - s_i),
 * and then, given one weight w_i per positive, the update of every negative
 *   g_j = Σ_{i∈P} w_i f(s_j - s_i).
 * Method: sort the positives; the 2|P| breakpoints s_i ± δ cut the real line into buckets in
 * which every f(· - s_i) is 0, 1 or linear (α_i + β v); per-bucket counts and sums with prefix
 * sums give a_i, b_i, and per-bucket linear coefficients give g_j. Negatives below
 * min_P s - δ (f = 0 for every positive) are skipped.
 *
 * Accuracy: with δ = 0 only order and ties enter, and the sums are exact counts. With δ > 0 the
 * linear parts come from prefix sums of scores, so the absolute error per unit weight is about
 * 1e-16·max|s|/δ (1e-13 for logits within ±50 and δ = 0.05).
 *
 * Use: rank_pairs_build, read pos_a/pos_b, fill weight, rank_pairs_scatter, write the positives'
 * updates through pos[i].index. Results are bit-identical for any number of OpenMP threads. */
#ifndef RD_RANK_PAIRS_H
#define RD_RANK_PAIRS_H

#include <stdint.h>

#include "lib/arena.h"
#include "optim/loss.h"

typedef struct rank_pos {
    double score;    // its score
    int64_t index;   // entry in the batch
} rank_pos;

typedef struct rank_cand {
    uint32_t offset;  // entry - first entry of its chunk
    uint32_t bucket;  // number of breakpoints at or below the score
} rank_cand;

typedef struct rank_grid_cell {
    double key;     // its first key, or +inf when it holds none
    int32_t first;  // index of its first key (all keys of earlier cells are below)
    int32_t count;  // keys in the cell
} rank_grid_cell;

typedef struct rank_pairs {
    const float *scores;   // [n] the batch's scores
    int64_t n;
    int64_t num_pos;       // |P|; 0 means the batch had no positive and nothing below is set
    int64_t num_neg;       // |N|
    double beta;           // 1/(2δ); 0 for the Heaviside
    rank_pos *pos;         // [P] positives by ascending (score, index)
    double *pos_a;         // [P] a_i above, self term included (a_i >= 1)
    double *pos_b;         // [P] b_i above (>= 0)
    double *weight;        // [P] w_i, filled by the loss before rank_pairs_scatter
    // bucket machinery, K = 2P breakpoints, buckets 0..K
    int64_t nbreak;        // K
    double *keys;          // [K] ascending; a score v passes breakpoint k iff v >= keys[k]
    rank_grid_cell *grid;  // [grid_cells] a uniform grid over the keys, in score units
    int64_t grid_cells;
    float grid_x0, grid_scale, grid_top;  // cell(s) = (int)clamp((s - x0)·scale, 0, top)
    int32_t *owner;        // [K] breakpoint k is the lower one of positive owner[k] (>= 0) or
                           //     the upper one of positive ~owner[k] (< 0)
    int32_t *lo, *hi;      // [P] positions of positive i's lower and upper breakpoints
    double *coef_c;        // [K+1] per-bucket update g(v) = coef_c + coef_d·v
    double *coef_d;        // [K+1]
    int nchunks;           // fixed partition of the n entries (depends on n and P only)
    int64_t *chunk_ncand;  // [nchunks] candidate negatives in each chunk
    rank_cand *cand;       // [n] chunk c's candidates start at its first entry
} rank_pairs;

/* Validate the batch (NaN/Inf score → LOSS_ERR_NONFINITE, label outside {1, 0, -1} →
 * LOSS_ERR_LABEL, out->bad_index the first such entry), count positives and negatives into
 * out, write grad[n] = 0, and when there are positives compute pos_a and pos_b. delta must be
 * finite and >= 0 (checked: a caller's bug, so it aborts; user input is validated upstream).
 * With no positive: rp->num_pos = 0, out->no_positive = 1, loss 0 (the update is final).
 * Every array of rp is a view into ws (reserved here, one allocation at most), valid until ws
 * is reserved or reset again. Fails only through the returned status. */
loss_status rank_pairs_build(rank_pairs *rp, const loss_inputs *in, double delta, rd_arena *ws,
                             float *grad, loss_result *out);

/* grad_j = Σ_i weight_i f(s_j - s_i) for every negative j that any positive can reach
 * (the others keep the 0 written by rank_pairs_build). Positives' entries are untouched.
 * Requires rp->num_pos > 0. Cannot fail. */
void rank_pairs_scatter(rank_pairs *rp, float *grad);

#endif
