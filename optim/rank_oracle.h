/* rank_oracle.h — plain O(|P|·|N|) transcriptions of the AP-loss and AUC-loss updates.
 *
 * The reference the fast losses (optim/ap_loss.c, optim/auc_loss.c) are tested against, and the
 * slow row of `rankdet bench loss`. They follow Algorithm 1 of Chen et al., "Towards Accurate
 * One-Stage Object Detection with AP-Loss" (CVPR 2019), as the authors' released code does:
 * every positive against every negative, nothing clever. Same signature and conventions as the
 * registry losses (optim/loss.h). */
#ifndef RD_RANK_ORACLE_H
#define RD_RANK_ORACLE_H

#include "optim/loss.h"

/* The piecewise step of eq. 14: clamp(x/(2 delta) + 1/2, 0, 1); for delta = 0 the Heaviside
 * step with value 1/2 at 0. delta must be >= 0. Cannot fail. */
double rank_oracle_step(double x, double delta);

/* AP-loss (interpolated when p->interp) and its error-driven update, O(|P|·|N|) time.
 * Returns LOSS_ERR_NONFINITE / LOSS_ERR_LABEL for bad input (out->bad_index set), else LOSS_OK.
 * Scratch comes from ws (O(n) bytes); grad[n] is written in full. */
loss_status ap_oracle_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                              float *grad, loss_result *out);

/* AUC-loss (eq. 7) and its error-driven update, O(|P|·|N|) time. Same contract as above. */
loss_status auc_oracle_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                               float *grad, loss_result *out);

#endif
