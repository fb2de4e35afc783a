/* toy_train.c — SGD on a linear ranker s = w·x + b with any registry loss (toy_train.h).
 * Each step: the batch's scores, the loss's update grad[B] on those scores, dw = X_batchᵀ·grad,
 * db = Σ grad, then w -= lr·dw, b -= lr·db; afterwards the whole training set is scored again
 * and its true AP (eq. 5, Heaviside with H(0) = 1) logged. The two products are plain loops in
 * a fixed order rather than BLAS calls: a multithreaded BLAS sums in an order that depends on
 * its thread count, so the step counts changed with the number of cores, and it competes
 * for the cores with the Proposition 1 study's parallel runs (these products are n·d ≈ 40k
 * multiply-adds, too small to gain from threads).
 * Minibatches are consecutive slices of a seeded permutation drawn afresh every epoch; the
 * last slice of an epoch is shorter when the batch does not divide n. Every buffer is pushed
 * from one arena before the first step, and the loss scratch is reserved once, so steady-state
 * steps allocate nothing (the result counts any allocation after the first step).
 * Reference: Chen et al., CVPR 2019, Proposition 1 and Figure 5b. */
#include "experiments/toy_train.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/check.h"
#include "lib/rng.h"

// Loss scratch reserved up front, per batch score plus a floor: more than any registry loss
// takes for O(n) work, so a smaller or differently composed batch later does not grow it.
#define TOY_WS_BYTES_PER_SCORE 128
#define TOY_WS_BYTES_FLOOR (1u << 20)

const char *const toy_train_columns[TOY_TRAIN_NCOLS] = {"step", "ap", "loss", "wnorm",
                                                        "one_minus_ap"};

typedef struct toy_model {
    int64_t n, bmax;     // training points; largest batch
    int d;
    float *w;            // [d]
    float b;
    float *dw;           // [d]
    float *scores;       // [n] scores of every training point for the current w, b
    float *bx;           // [bmax][d] the minibatch's rows (unused when full batch)
    int8_t *blabels;     // [bmax]
    float *bscores;      // [bmax]
    float *grad;         // [bmax] the loss's update on the batch scores
    int64_t *perm;       // [n] this epoch's order
    int64_t cursor;      // next position in perm; n: reshuffle first
    void *ap_scratch;    // toy_ap_scratch_bytes(n)
} toy_model;

/* Size every buffer, reserve the arena once, push the views. */
static void toy_model_init(toy_model *m, rd_arena *state, const toy_set *set, int64_t bmax)
{
    int64_t n = set->n;
    int d = set->dim;
    size_t bytes = 2 * rd_arena_align((size_t)d * sizeof(float)) +
                   rd_arena_align((size_t)n * sizeof(float)) +
                   rd_arena_align((size_t)bmax * d * sizeof(float)) +
                   rd_arena_align((size_t)bmax) + 2 * rd_arena_align((size_t)bmax * sizeof(float)) +
                   rd_arena_align((size_t)n * sizeof(int64_t)) +
                   rd_arena_align(toy_ap_scratch_bytes(n));
    rd_arena_reserve(state, bytes);
    memset(m, 0, sizeof *m);
    m->n = n;
    m->bmax = bmax;
    m->d = d;
    m->w = rd_arena_push(state, (size_t)d * sizeof(float));
    m->dw = rd_arena_push(state, (size_t)d * sizeof(float));
    m->scores = rd_arena_push(state, (size_t)n * sizeof(float));
    m->bx = rd_arena_push(state, (size_t)bmax * d * sizeof(float));
    m->blabels = rd_arena_push(state, (size_t)bmax);
    m->bscores = rd_arena_push(state, (size_t)bmax * sizeof(float));
    m->grad = rd_arena_push(state, (size_t)bmax * sizeof(float));
    m->perm = rd_arena_push(state, (size_t)n * sizeof(int64_t));
    m->ap_scratch = rd_arena_push(state, toy_ap_scratch_bytes(n));
    for (int64_t i = 0; i < n; i++)
        m->perm[i] = i;
    m->cursor = n;
}

/* scores[i] = w·x_i + b for the rows of x[rows][d], each dot product summed in index order. */
static void toy_rows_score(const float *x, int64_t rows, int d, const float *w, float b,
                           float *scores)
{
    for (int64_t i = 0; i < rows; i++) {
        const float *xi = x + i * d;
        float dot = 0.0f;
        for (int k = 0; k < d; k++)
            dot += xi[k] * w[k];
        scores[i] = dot + b;
    }
}

/* dw = x^T grad for x[rows][d], accumulated row by row. */
static void toy_rows_backward(const float *x, int64_t rows, int d, const float *grad, float *dw)
{
    memset(dw, 0, (size_t)d * sizeof *dw);
    for (int64_t i = 0; i < rows; i++) {
        const float *xi = x + i * d;
        for (int k = 0; k < d; k++)
            dw[k] += grad[i] * xi[k];
    }
}

/* scores[i] = w·x_i + b over the whole training set. */
static void toy_model_score(toy_model *m, const toy_set *set)
{
    toy_rows_score(set->x, m->n, m->d, m->w, m->b, m->scores);
}

/* The next minibatch: gather its rows and labels and score them. Returns its size. */
static int64_t toy_model_next_batch(toy_model *m, const toy_set *set, rd_rng *rng)
{
    if (m->cursor >= m->n) {
        for (int64_t i = m->n - 1; i > 0; i--) {
            int64_t j = (int64_t)rd_rng_below(rng, (uint64_t)(i + 1));
            int64_t t = m->perm[i];
            m->perm[i] = m->perm[j];
            m->perm[j] = t;
        }
        m->cursor = 0;
    }
    int64_t bn = m->n - m->cursor < m->bmax ? m->n - m->cursor : m->bmax;
    for (int64_t k = 0; k < bn; k++) {
        int64_t i = m->perm[m->cursor + k];
        memcpy(m->bx + k * m->d, set->x + i * m->d, (size_t)m->d * sizeof(float));
        m->blabels[k] = set->labels[i];
    }
    m->cursor += bn;
    toy_rows_score(m->bx, bn, m->d, m->w, m->b, m->bscores);
    return bn;
}

/* One SGD step on a batch of bn rows: the loss's update, dw = xᵀ·grad, db = Σ grad. */
static loss_status toy_model_step(toy_model *m, const toy_train_config *cfg, const float *x,
                                  const int8_t *labels, const float *scores, int64_t bn,
                                  rd_arena *ws, loss_result *lres)
{
    loss_inputs in = {.scores = scores, .labels = labels, .iou = NULL, .n = bn};
    loss_status st = cfg->loss->compute(&in, &cfg->params, ws, m->grad, lres);
    if (st != LOSS_OK)
        return st;
    toy_rows_backward(x, bn, m->d, m->grad, m->dw);
    double db = 0;
    for (int64_t k = 0; k < bn; k++)
        db += m->grad[k];
    cblas_saxpy(m->d, (float)-cfg->lr, m->dw, 1, m->w, 1);
    m->b -= (float)(cfg->lr * db);
    return LOSS_OK;
}

static void toy_model_init_weights(toy_model *m, double init_std, rd_rng *rng)
{
    for (int k = 0; k < m->d; k++)
        m->w[k] = init_std > 0 ? (float)rd_rng_gaussian(rng, init_std) : 0.0f;
    m->b = 0.0f;
}

/* Report a failed step; returns -1. */
static int toy_train_fail(const toy_train_config *cfg, int64_t step, loss_status st,
                          const loss_inputs *in, const loss_result *lres)
{
    char why[160];
    if (st != LOSS_OK)
        loss_status_describe(st, in, lres, why, sizeof why);
    else
        strcpy(why, "the weights are no longer finite");
    rd_error("toy training with loss '%s' diverged at step %lld: %s; lower --lr (now %g)",
             cfg->loss->name, (long long)step, why, cfg->lr);
    return -1;
}

int toy_train_run(const toy_train_config *cfg, const toy_set *set, rd_runlog *log,
                  toy_train_result *res)
{
    RD_CHECK(cfg->loss != NULL && cfg->steps >= 0, "give a registry loss and steps >= 0");
    int full = cfg->batch <= 0 || cfg->batch >= set->n;
    rd_arena state, ws;
    rd_arena_init(&state);
    rd_arena_init(&ws);
    toy_model m;
    toy_model_init(&m, &state, set, full ? 1 : cfg->batch);
    rd_arena_reserve(&ws, (size_t)(full ? set->n : cfg->batch) * TOY_WS_BYTES_PER_SCORE +
                              TOY_WS_BYTES_FLOOR);
    rd_rng rng;
    rd_rng_init(&rng, cfg->seed);
    toy_model_init_weights(&m, cfg->init_std, &rng);
    if (log)
        runlog_columns(log, "train", TOY_TRAIN_NCOLS, toy_train_columns);

    memset(res, 0, sizeof *res);
    toy_model_score(&m, set);
    res->initial_ap = res->final_ap = res->best_ap = toy_average_precision(m.scores, set->labels, set->n,
                                                            m.ap_scratch);
    res->steps_to_perfect = res->initial_ap == 1.0 ? 0 : -1;
    res->final_wnorm = cblas_snrm2(m.d, m.w, 1);
    size_t grows_after_first = 0;
    int rc = 0;
    for (int64_t step = 1; step <= cfg->steps; step++) {
        if (cfg->stop_at_perfect && res->steps_to_perfect >= 0)
            break;
        int64_t bn = full ? set->n : toy_model_next_batch(&m, set, &rng);
        const float *x = full ? set->x : m.bx;
        const int8_t *labels = full ? set->labels : m.blabels;
        const float *scores = full ? m.scores : m.bscores;
        loss_result lres;
        loss_status st = toy_model_step(&m, cfg, x, labels, scores, bn, &ws, &lres);
        double wnorm = cblas_snrm2(m.d, m.w, 1);
        if (st != LOSS_OK || !isfinite(wnorm) || !isfinite(m.b)) {
            loss_inputs in = {.scores = scores, .labels = labels, .n = bn};
            rc = toy_train_fail(cfg, step, st, &in, &lres);
            break;
        }
        toy_model_score(&m, set);
        double ap = toy_average_precision(m.scores, set->labels, set->n, m.ap_scratch);
        res->steps_run = step;
        res->final_ap = ap;
        res->best_ap = ap > res->best_ap ? ap : res->best_ap;
        res->final_loss = lres.loss;
        res->final_wnorm = wnorm;
        res->empty_batches += lres.no_positive;
        if (ap == 1.0 && res->steps_to_perfect < 0)
            res->steps_to_perfect = step;
        if (step == 1)
            grows_after_first = ws.grows + state.grows;
        if (log) {
            double row[TOY_TRAIN_NCOLS] = {(double)step, ap, lres.loss, wnorm, 1.0 - ap};
            runlog_append(log, "train", row);
        }
        if (cfg->progress)
            progress_update(cfg->progress, step, lres.loss);
    }
    if (res->steps_run > 0)
        res->steady_allocs = ws.grows + state.grows - grows_after_first;
    rd_rng_free(&rng);
    rd_arena_free(&ws);
    rd_arena_free(&state);
    return rc;
}
