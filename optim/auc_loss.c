/* auc_loss.c — placeholder until the loss lands. */
#include "optim/loss.h"
loss_status auc_loss_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws, float *grad, loss_result *out)
{ (void)p; (void)ws; loss_status st = loss_scan(in, out); if (st) return st; loss_zero_update(in->n, grad, out); return LOSS_OK; }
