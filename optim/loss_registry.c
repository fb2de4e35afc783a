/* loss_registry.c — the table of classification losses and the checks they share (loss.h). */
#include "optim/loss.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const loss_def loss_table[] = {
    {"ap", "AP-loss, error-driven update of Algorithm 1 (Chen et al. 2019)", ap_loss_compute},
    {"auc", "AUC-loss, eq. 7, error-driven with the same piecewise step", auc_loss_compute},
    {"approx_ap", "sigmoid-smoothed AP, gradient of -log(AP + eps) (Henderson & Ferrari 2016)",
     approx_ap_loss_compute},
    {"hinge_ap", "structured hinge upper bound of AP-loss (Yue et al. 2007; Mohapatra et al. 2018)",
     hinge_ap_loss_compute},
    {"focal", "sigmoid focal loss, alpha 0.25, gamma 2, per positive (Lin et al. 2017)",
     focal_loss_compute},
    {"ce_ohem", "sigmoid cross-entropy with 3:1 online hard-negative mining (Liu et al. 2016)",
     ce_ohem_loss_compute},
};

void loss_params_default(loss_params *p)
{
    p->delta = 1.0;
    p->interp = 1;
    p->tau = 0.5;
    p->eps = 1e-3;
    p->alpha = 0.25;
    p->gamma = 2.0;
    p->neg_per_pos = 3;
}

const loss_def *loss_registry(int *count)
{
    *count = (int)(sizeof loss_table / sizeof loss_table[0]);
    return loss_table;
}

const loss_def *loss_find(const char *name)
{
    int count;
    const loss_def *table = loss_registry(&count);
    for (int i = 0; i < count; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

const char *loss_status_describe(loss_status st, const loss_inputs *in, const loss_result *r,
                                 char *buf, int bufsize)
{
    long long i = (long long)r->bad_index;
    switch (st) {
    case LOSS_OK:
        snprintf(buf, bufsize, "ok");
        break;
    case LOSS_ERR_NONFINITE:
        snprintf(buf, bufsize, "score %lld is %s", i, isnan(in->scores[i]) ? "NaN" : "infinite");
        break;
    case LOSS_ERR_LABEL:
        snprintf(buf, bufsize, "label %lld is %d; labels must be 1, 0 or -1", i, in->labels[i]);
        break;
    }
    return buf;
}

loss_status loss_scan(const loss_inputs *in, loss_result *out)
{
    memset(out, 0, sizeof *out);
    int64_t pos = 0, neg = 0;
    for (int64_t i = 0; i < in->n; i++) {
        int8_t t = in->labels[i];
        if (!isfinite(in->scores[i])) {
            out->bad_index = i;
            return LOSS_ERR_NONFINITE;
        }
        if (t < -1 || t > 1) {
            out->bad_index = i;
            return LOSS_ERR_LABEL;
        }
        pos += t == 1;
        neg += t == 0;
    }
    out->num_pos = pos;
    out->num_neg = neg;
    return LOSS_OK;
}

void loss_zero_update(int64_t n, float *grad, loss_result *out)
{
    memset(grad, 0, (size_t)n * sizeof *grad);
    out->no_positive = 1;
    out->loss = 0.0;
}

int loss_begin(const loss_inputs *in, float *grad, loss_result *out, loss_status *st)
{
    *st = loss_scan(in, out);
    if (*st != LOSS_OK)
        return 1;
    if (out->num_pos == 0) {
        loss_zero_update(in->n, grad, out);
        return 1;
    }
    return 0;
}
