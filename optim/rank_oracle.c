/* rank_oracle.c — AP-loss and AUC-loss by the definition, every positive against every
 * negative (see rank_oracle.h). A transcription of Algorithm 1 of Chen et al. (CVPR 2019) and of
 * the authors' released code:
 *   a_i = 1/2 + sum_{k in P} f(s_k - s_i)   (self term f(0) = 1/2 included: a_i = rank+ of i)
 *   b_i = sum_{j in N} f(s_j - s_i),   prec_i = a_i / (a_i + b_i),   L_ij = f(s_j - s_i)/(a_i + b_i)
 * Positives are visited in ascending score order; with interpolation, when prec_i is below the
 * running maximum, L_ij is scaled by (1 - max_prec)/(1 - prec_i) and prec_i counts as max_prec.
 * g_i = -(1 - prec_i), g_j = sum_i L_ij, all over |P|; loss = 1 - mean prec.
 * 1 - prec is computed as b/(a+b) (no cancellation when the loss is tiny), so max_prec is
 * tracked as its complement min_err. AUC (eq. 7): L'_ij = f(s_j - s_i)/|N|, no interpolation. */
#include "optim/rank_oracle.h"

#include <stdlib.h>
#include <string.h>

#include "lib/check.h"

double rank_oracle_step(double x, double delta)
{
    if (delta == 0.0)
        return x > 0.0 ? 1.0 : x < 0.0 ? 0.0 : 0.5;
    double y = x / (2.0 * delta) + 0.5;
    return y < 0.0 ? 0.0 : y > 1.0 ? 1.0 : y;
}

typedef struct oracle_pos {
    float score;
    int64_t index;
} oracle_pos;

static int oracle_pos_cmp(const void *x, const void *y)
{
    const oracle_pos *a = x, *b = y;
    return (a->score > b->score) - (a->score < b->score);
}

/* The positives of the batch in ascending score order, pushed on ws (reserved by the caller). */
static oracle_pos *oracle_sorted_positives(const loss_inputs *in, int64_t num_pos, rd_arena *ws)
{
    oracle_pos *pos = rd_arena_push(ws, (size_t)num_pos * sizeof *pos);
    int64_t k = 0;
    for (int64_t i = 0; i < in->n; i++)
        if (in->labels[i] == 1)
            pos[k++] = (oracle_pos){in->scores[i], i};
    qsort(pos, (size_t)num_pos, sizeof *pos, oracle_pos_cmp);
    return pos;
}

/* Validate, reserve scratch for the positives and a double update g[n] (zeroed). NULL when the
 * batch is bad or has no positive (grad and out are then final). */
static double *oracle_begin(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                            float *grad, loss_result *out, loss_status *st, oracle_pos **pos)
{
    RD_CHECK(p->delta >= 0.0, "delta must be >= 0 (got %g)", p->delta);
    if (loss_begin(in, grad, out, st))
        return NULL;
    rd_arena_reserve(ws, rd_arena_align((size_t)out->num_pos * sizeof **pos) +
                             rd_arena_align((size_t)in->n * sizeof(double)));
    *pos = oracle_sorted_positives(in, out->num_pos, ws);
    double *g = rd_arena_push(ws, (size_t)in->n * sizeof *g);
    memset(g, 0, (size_t)in->n * sizeof *g);
    return g;
}

loss_status ap_oracle_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                              float *grad, loss_result *out)
{
    loss_status st;
    oracle_pos *pos;
    double *g = oracle_begin(in, p, ws, grad, out, &st, &pos);  // [n]
    if (g == NULL)
        return st;
    const float *s = in->scores;
    const int64_t np = out->num_pos;
    double min_err = 1.0, err_sum = 0.0;  // min_err = 1 - max_prec
    for (int64_t q = 0; q < np; q++) {
        const double si = pos[q].score;
        double a = 0.5, b = 0.0;
        for (int64_t k = 0; k < np; k++)
            a += rank_oracle_step(pos[k].score - si, p->delta);
        for (int64_t j = 0; j < in->n; j++)
            if (in->labels[j] == 0)
                b += rank_oracle_step(s[j] - si, p->delta);
        double err = b / (a + b), scale = 1.0;  // err = 1 - prec
        if (p->interp && min_err < err) {
            scale = min_err / err;
            err = min_err;
        } else {
            min_err = err;
        }
        for (int64_t j = 0; j < in->n; j++)
            if (in->labels[j] == 0)
                g[j] += rank_oracle_step(s[j] - si, p->delta) / (a + b) * scale;
        g[pos[q].index] = -err;
        err_sum += err;
    }
    for (int64_t i = 0; i < in->n; i++)
        grad[i] = (float)(g[i] / (double)np);
    out->loss = err_sum / (double)np;
    return LOSS_OK;
}

loss_status auc_oracle_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                               float *grad, loss_result *out)
{
    loss_status st;
    oracle_pos *pos;
    double *g = oracle_begin(in, p, ws, grad, out, &st, &pos);  // [n]
    if (g == NULL)
        return st;
    const float *s = in->scores;
    const int64_t np = out->num_pos, nn = out->num_neg;
    double loss = 0.0;
    for (int64_t q = 0; q < np && nn > 0; q++) {
        const double si = pos[q].score;
        double b = 0.0;
        for (int64_t j = 0; j < in->n; j++) {
            if (in->labels[j] != 0)
                continue;
            double l = rank_oracle_step(s[j] - si, p->delta) / (double)nn;  // L'_ij
            g[j] += l;
            b += l;
        }
        g[pos[q].index] = -b;
        loss += b;
    }
    for (int64_t i = 0; i < in->n; i++)
        grad[i] = (float)(g[i] / (double)np);
    out->loss = loss / (double)np;
    return LOSS_OK;
}
