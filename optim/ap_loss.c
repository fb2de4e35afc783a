/* ap_loss.c — AP-loss with the error-driven update of Algorithm 1 (Chen et al., "Towards
 * Accurate One-Stage Object Detection with AP-Loss", CVPR 2019), exact and fast.
 *
 * With f the piecewise step of eq. 14 (half-width δ; δ = 0: Heaviside, f(0) = 1/2), for a
 * positive i: a_i = 1/2 + Σ_{k∈P} f(s_k - s_i) (its rank among positives, self term included),
 * b_i = Σ_{j∈N} f(s_j - s_i), prec_i = a_i/(a_i + b_i), L_ij = f(s_j - s_i)/(a_i + b_i).
 * Positives are visited in ascending score order; with interpolation, when prec_i is strictly
 * below the running maximum max_prec, L_ij is scaled by (1 - max_prec)/(1 - prec_i) and prec_i
 * counts as max_prec (the released code's `if max_prec <= prec` update).
 * Update: g_i = -(1 - prec_i)/|P|, g_j = Σ_i L_ij/|P|; loss = 1 - mean_i prec_i (the sum of the
 * negatives' updates). The pair sums come from optim/rank_pairs.c in O(n log |P|); the plain
 * O(|P|·|N|) transcription is ap_oracle_compute (optim/rank_oracle.c). */
#include "optim/loss.h"
#include "optim/rank_pairs.h"

loss_status ap_loss_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                            float *grad, loss_result *out)
{
    rank_pairs rp;
    loss_status st = rank_pairs_build(&rp, in, p->delta, ws, grad, out);
    if (st != LOSS_OK || rp.num_pos == 0)
        return st;
    const double np = (double)rp.num_pos;
    double min_err = 1.0, err_sum = 0.0;  // min_err = 1 - max_prec
    for (int64_t i = 0; i < rp.num_pos; i++) {
        const double a = rp.pos_a[i], b = rp.pos_b[i];
        double err = b / (a + b), scale = 1.0;  // err = 1 - prec_i, without cancellation
        if (p->interp && min_err < err) {
            scale = min_err / err;
            err = min_err;
        } else {
            min_err = err;
        }
        rp.weight[i] = scale / (a + b) / np;
        grad[rp.pos[i].index] = (float)(-err / np);
        err_sum += err;
    }
    rank_pairs_scatter(&rp, grad);
    out->loss = err_sum / np;
    return LOSS_OK;
}
