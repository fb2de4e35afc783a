/* auc_loss.c — AUC-loss with the error-driven update (eq. 7 of Chen et al., "Towards Accurate
 * One-Stage Object Detection with AP-Loss", CVPR 2019), exact and fast.
 *
 * With f the piecewise step of eq. 14 (half-width δ; δ = 0: Heaviside, f(0) = 1/2):
 * L'_ij = f(s_j - s_i)/|N| for i ∈ P, j ∈ N; loss = (1/|P|) Σ_i Σ_j L'_ij;
 * g_i = -Σ_j L'_ij/|P|, g_j = Σ_i L'_ij/|P|. No interpolation. A batch without negatives has
 * loss 0 and a zero update. The pair sums come from optim/rank_pairs.c in O(n log |P|); the
 * plain O(|P|·|N|) transcription is auc_oracle_compute (optim/rank_oracle.c). */
#include "optim/loss.h"
#include "optim/rank_pairs.h"

loss_status auc_loss_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                             float *grad, loss_result *out)
{
    rank_pairs rp;
    loss_status st = rank_pairs_build(&rp, in, p->delta, ws, grad, out);
    if (st != LOSS_OK || rp.num_pos == 0 || rp.num_neg == 0)
        return st;  // no negative: b_i = 0, grad already 0, loss 0
    const double w = 1.0 / ((double)rp.num_neg * (double)rp.num_pos);
    double b_sum = 0.0;
    for (int64_t i = 0; i < rp.num_pos; i++) {
        rp.weight[i] = w;
        grad[rp.pos[i].index] = (float)(-rp.pos_b[i] * w);
        b_sum += rp.pos_b[i];
    }
    rank_pairs_scatter(&rp, grad);
    out->loss = b_sum * w;
    return LOSS_OK;
}
