/* focal_loss.c — sigmoid focal loss, normalised by the number of positives.
 * Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017 (eq. 5), with the convention
 * of torchvision.ops.sigmoid_focal_loss: alpha weights the positives, 1 - alpha the negatives.
 * With p = sigmoid(s):
 *   t = 1:  FL = -alpha (1-p)^gamma log p,     dFL/ds = alpha (1-p)^gamma (gamma p log p - (1-p))
 *   t = 0:  FL = -(1-alpha) p^gamma log(1-p),  dFL/ds = (1-alpha) p^gamma (p - gamma (1-p) log(1-p))
 * loss = sum FL / |P|, grad = dFL/ds / |P|, ignored entries 0 (defaults alpha 0.25, gamma 2).
 * log p = -softplus(-s) and log(1-p) = -softplus(s), so large |s| stays exact. Computed in
 * double, written as float; per-chunk sums are added in chunk order, so the result is the same
 * for any number of threads. */
#include "optim/loss.h"

#include <math.h>

#include "lib/check.h"

enum { FOCAL_CHUNK = 1 << 14 };

static double focal_pow(double x, double gamma)
{
    return gamma == 2.0 ? x * x : pow(x, gamma);
}

/* FL of one score with label t in {0, 1}; its derivative goes to *dscore. */
static double focal_entry(double s, int t, double alpha, double gamma, double *dscore)
{
    double e = exp(-fabs(s)), r = 1.0 / (1.0 + e);
    double p = s >= 0 ? r : e * r;  // sigmoid(s)
    double q = s >= 0 ? e * r : r;  // 1 - p
    double softplus_pos = fmax(s, 0.0) + log1p(e);        // -log(1 - p)
    double softplus_neg = softplus_pos - s;               // -log p
    if (t == 1) {
        double w = alpha * focal_pow(q, gamma);
        *dscore = w * (-gamma * p * softplus_neg - q);
        return w * softplus_neg;
    }
    double w = (1.0 - alpha) * focal_pow(p, gamma);
    *dscore = w * (p + gamma * q * softplus_pos);
    return w * softplus_pos;
}

loss_status focal_loss_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                               float *grad, loss_result *out)
{
    loss_status st;
    if (loss_begin(in, grad, out, &st))
        return st;
    RD_CHECK(p->alpha >= 0.0 && p->alpha <= 1.0 && p->gamma >= 0.0,
             "focal needs 0 <= alpha <= 1 and gamma >= 0 (got %g, %g); validate flags first",
             p->alpha, p->gamma);
    int64_t n = in->n;
    int64_t nchunks = (n + FOCAL_CHUNK - 1) / FOCAL_CHUNK;
    rd_arena_reserve(ws, rd_arena_align((size_t)nchunks * sizeof(double)));
    double *partial = rd_arena_push(ws, (size_t)nchunks * sizeof(double));  // [nchunks]
    double inv_pos = 1.0 / (double)out->num_pos;

#pragma omp parallel for schedule(static) if (nchunks > 1)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t end = (c + 1) * FOCAL_CHUNK < n ? (c + 1) * FOCAL_CHUNK : n;
        double sum = 0.0;
        for (int64_t i = c * FOCAL_CHUNK; i < end; i++) {
            int t = in->labels[i];
            if (t < 0) {
                grad[i] = 0.0f;
                continue;
            }
            double dscore;
            sum += focal_entry(in->scores[i], t, p->alpha, p->gamma, &dscore);
            grad[i] = (float)(dscore * inv_pos);
        }
        partial[c] = sum;
    }
    double total = 0.0;
    for (int64_t c = 0; c < nchunks; c++)
        total += partial[c];
    out->loss = total / (double)out->num_pos;
    return LOSS_OK;
}
