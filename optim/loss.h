/* loss.h — the loss registry: one signature for every classification loss.
 *
 * A loss sees the whole minibatch at once (ranking across images is the point of AP-loss):
 * n scores, n labels in {1 positive, 0 negative, -1 ignored}, a parameter struct and optional
 * per-score side inputs. It writes the per-score update into grad[n] (the direction an
 * optimiser subtracts, as a gradient would be) and the loss value into the result.
 * Conventions shared by every loss:
 *   - ignored entries get 0;
 *   - a batch with no positive gives a zero update, loss 0, and sets result.no_positive;
 *   - a NaN or Inf score (or a label outside {1, 0, -1}) is an error naming its index,
 *     and grad is then unspecified.
 * Adding a loss: one file in optim/ with a compute function of type loss_compute_fn (most
 * start with loss_begin, which applies the conventions above), one line in the table of
 * optim/loss_registry.c, one test with reference values. */
#ifndef RD_LOSS_H
#define RD_LOSS_H

#include <stdint.h>

#include "lib/arena.h"

typedef struct loss_params {
    double delta;        // ap, auc: half-width of the piecewise step (eq. 14); 0: Heaviside, H(0) = 1/2
    int interp;          // ap: interpolated AP (Algorithm 1, lines 8-12)
    double tau;          // approx_ap: temperature of the sigmoid replacing the step
    double eps;          // approx_ap: objective -log(AP + eps)
    double alpha;        // focal: weight of positives
    double gamma;        // focal: focusing exponent
    int neg_per_pos;     // ce_ohem: hard negatives kept per positive
} loss_params;

/* Defaults: delta 1, interp on, tau 0.5, eps 1e-3, alpha 0.25, gamma 2, neg_per_pos 3. */
void loss_params_default(loss_params *p);

typedef struct loss_inputs {
    const float *scores;   // [n]
    const int8_t *labels;  // [n] 1 positive, 0 negative, -1 ignored
    const float *iou;      // [n] optional: each positive's IoU with its ground truth; NULL if absent
    int64_t n;
} loss_inputs;

typedef enum loss_status {
    LOSS_OK = 0,
    LOSS_ERR_NONFINITE,    // scores[bad_index] is NaN or Inf
    LOSS_ERR_LABEL,        // labels[bad_index] is not 1, 0 or -1
} loss_status;

typedef struct loss_result {
    double loss;           // the loss's own value
    int64_t num_pos;       // entries labelled 1
    int64_t num_neg;       // entries labelled 0
    int no_positive;       // 1 when the batch had no positive (zero update, loss 0)
    int64_t bad_index;     // the offending entry when the status is not LOSS_OK
} loss_result;

/* Compute one loss. ws is scratch the loss may reserve and push into (grow-only, so a loop of
 * same-sized batches allocates only once). grad[n] is written in full. Cannot fail otherwise. */
typedef loss_status (*loss_compute_fn)(const loss_inputs *in, const loss_params *p,
                                       rd_arena *ws, float *grad, loss_result *out);

typedef struct loss_def {
    const char *name;      // registry name: `--loss NAME`, `rankdet loss NAME`
    const char *summary;   // one line for --help
    loss_compute_fn compute;
} loss_def;

/* The registered losses, in table order; *count receives how many. */
const loss_def *loss_registry(int *count);
/* The loss called `name`, or NULL. */
const loss_def *loss_find(const char *name);
/* "score 12 is NaN" style text for a failed status, written into buf. */
const char *loss_status_describe(loss_status st, const loss_inputs *in, const loss_result *r,
                                 char *buf, int bufsize);

/* Shared first pass: validate every score and label, count positives and negatives. Returns
 * LOSS_OK or the first error (bad_index set). Fills num_pos, num_neg; other fields zeroed. */
loss_status loss_scan(const loss_inputs *in, loss_result *out);
/* Zero grad[n]: the update of a batch with no positive. Sets no_positive and loss 0. */
void loss_zero_update(int64_t n, float *grad, loss_result *out);
/* The common start of a loss: loss_scan, then the zero update of a batch with no positive.
 * Returns 1 when the loss is already finished (*st is the error, or LOSS_OK after the zero
 * update), 0 when the loss should go on (*st = LOSS_OK, counts in out). */
int loss_begin(const loss_inputs *in, float *grad, loss_result *out, loss_status *st);

/* The losses of the registry (each in its own file). */
loss_status ap_loss_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                            float *grad, loss_result *out);
loss_status auc_loss_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                             float *grad, loss_result *out);
loss_status approx_ap_loss_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                                   float *grad, loss_result *out);
loss_status hinge_ap_loss_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                                  float *grad, loss_result *out);
loss_status focal_loss_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                               float *grad, loss_result *out);
loss_status ce_ohem_loss_compute(const loss_inputs *in, const loss_params *p, rd_arena *ws,
                                 float *grad, loss_result *out);

#endif
