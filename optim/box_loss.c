/* box_loss.c — smooth L1 and L1 box losses on positive anchors with their gradients (see
 * box_loss.h): PyTorch's F.smooth_l1_loss / F.l1_loss with reduction "sum", normalised as the
 * AP-loss released code (whole batch) or torchvision 0.14's RetinaNet (per image, then mean). */
#include "optim/box_loss.h"

#include <math.h>
#include <string.h>

#include "lib/check.h"

int box_loss_kind_parse(const char *name, box_loss_kind *kind)
{
    if (name && strcmp(name, "smooth_l1") == 0) {
        *kind = BOX_LOSS_SMOOTH_L1;
        return 0;
    }
    if (name && strcmp(name, "l1") == 0) {
        *kind = BOX_LOSS_L1;
        return 0;
    }
    return -1;
}

const char *box_loss_kind_name(box_loss_kind kind)
{
    return kind == BOX_LOSS_L1 ? "l1" : "smooth_l1";
}

/* Loss of one coordinate difference x; its derivative in *dx. β = 0 or L1: |x|, sign(x). */
static double box_loss_entry(box_loss_kind kind, double beta, double x, double *dx)
{
    double ax = fabs(x);
    if (kind == BOX_LOSS_SMOOTH_L1 && ax < beta) {
        *dx = x / beta;
        return 0.5 * x * x / beta;
    }
    *dx = x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0);
    return kind == BOX_LOSS_SMOOTH_L1 ? ax - 0.5 * beta : ax;
}

/* Sum over the positives of image i (anchors [A]); raw derivatives into dd (may be NULL). */
static double box_loss_image(const box_loss_params *p, const float *deltas,
                             const float *targets, const int32_t *match, int64_t A, float *dd,
                             int64_t *npos)
{
    double sum = 0.0;
    int64_t pos = 0;
    for (int64_t a = 0; a < A; a++) {
        if (match[a] < 0) {
            if (dd)
                memset(dd + 4 * a, 0, 4 * sizeof(float));
            continue;
        }
        pos++;
        for (int c = 0; c < 4; c++) {
            double d;
            sum += box_loss_entry(p->kind, p->beta, (double)deltas[4 * a + c] -
                                  (double)targets[4 * a + c], &d);
            if (dd)
                dd[4 * a + c] = (float)d;  // scaled by the normaliser afterwards
        }
    }
    *npos = pos;
    return sum;
}

static void box_loss_scale(float *dd, int64_t count, double scale)
{
    for (int64_t i = 0; i < count; i++)
        dd[i] = (float)(dd[i] * scale);
}

void box_loss_compute(const box_loss_params *p, const float *deltas, const float *targets,
                      const int32_t *match, int n, int64_t A, float *ddeltas,
                      box_loss_result *out)
{
    RD_CHECK(p->beta >= 0.0f && n >= 0 && A >= 0, "box loss needs beta >= 0 (got %g), n, A >= 0",
             (double)p->beta);
    memset(out, 0, sizeof *out);
    double total = 0.0, per_image = 0.0;
    int64_t npos_all = 0;
    for (int i = 0; i < n; i++) {
        int64_t npos;
        float *dd = ddeltas ? ddeltas + 4 * A * i : NULL;
        double s = box_loss_image(p, deltas + 4 * A * i, targets + 4 * A * i, match + A * i, A,
                                  dd, &npos);
        total += s;
        npos_all += npos;
        if (p->norm == BOX_LOSS_NORM_PER_IMAGE) {
            double scale = p->weight / ((npos > 1 ? (double)npos : 1.0) * (double)n);
            per_image += s / (npos > 1 ? (double)npos : 1.0);
            if (dd)
                box_loss_scale(dd, 4 * A, scale);
        }
    }
    out->sum = total;
    out->num_pos = npos_all;
    if (p->norm == BOX_LOSS_NORM_PER_IMAGE) {
        out->loss = n > 0 ? p->weight * per_image / n : 0.0;
        return;
    }
    double norm = npos_all > 1 ? (double)npos_all : 1.0;
    out->loss = p->weight * total / norm;
    if (ddeltas)
        box_loss_scale(ddeltas, 4 * A * n, p->weight / norm);
}
