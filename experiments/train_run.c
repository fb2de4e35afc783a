/* train_run.c — a training run of the detector (experiments/train_run.h): datasets, model,
 * loader, schedule, the step loop with logging, evaluation, checkpoints, resume, signals and
 * the NaN stop. The pieces it drives: data/loader.h (batches, resumable at any step),
 * detector/train_step.h (one step), detector/checkpoint.h (state), lib/runlog.h (the log),
 * experiments/evaluate.h (metrics). Setting up and tearing down live in
 * experiments/train_setup.c. */
#include "experiments/train_ctx.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/dets_json.h"
#include "lib/check.h"

static volatile sig_atomic_t train_signal;

static void train_on_signal(int sig)
{
    train_signal = sig;
}

/* SIGINT and SIGTERM ask the loop to checkpoint and stop; a second one kills as usual. */
static void train_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = train_on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* One row of train/: the means of the steps since the last row. */
static void train_log_window(train_ctx *x, int64_t step)
{
    train_window *w = &x->window;
    if (w->steps == 0)
        return;
    double k = (double)w->steps, now = train_elapsed(x);
    double row[TRAIN_LOG_COLS] = {
        (double)step, (double)step / (double)x->batches_per_epoch, w->loss / k, w->cls / k,
        w->box / k, w->ap / k, w->lr, w->pos / k, now,
        (double)w->steps * x->c->batch / fmax(now - w->start, 1e-9), w->grad_norm / k};
    runlog_append(x->log, "train", row);
    memset(w, 0, sizeof *w);
    w->start = now;
}

static void train_window_add(train_window *w, const train_stats *s)
{
    w->loss += s->loss, w->cls += s->cls_loss, w->box += s->box_loss, w->ap += s->ap_loss;
    w->pos += (double)s->num_pos, w->lr = s->lr, w->grad_norm += s->grad_norm;
    w->steps++;
}

static void train_progress(train_ctx *x, int64_t step, const train_stats *s)
{
    if (!x->c->progress)
        return;
    double now = train_elapsed(x);
    double rate = (double)(step - x->start_step) * x->c->batch / fmax(now - x->resumed_at, 1e-9);
    char text[160];
    snprintf(text, sizeof text, "epoch %.2f  %.1f img/s  loss %.4f (cls %.4f box %.4f)",
             (double)step / (double)x->batches_per_epoch, rate, s->loss, s->cls_loss,
             s->box_loss);
    progress_update_text(&x->progress, step, text);
}

/* Evaluate on the validation set at step; the final evaluation also writes metrics.tsv and
 * detections.json. 0, or -1 after a message. */
static int train_evaluate(train_ctx *x, int64_t step, int final)
{
    eval_metrics em;
    rd_detection *dets = NULL;
    int64_t ndets = 0;
    char err[1024];
    int rc = evaluate_model(x->model, &x->val_ds, &x->eval, &em, final ? &dets : NULL, &ndets,
                            err, sizeof err);
    train_step_replan(&x->step);
    if (rc != 0) {
        rd_error("%s", err);
        return -1;
    }
    double row[TRAIN_EVAL_COLS] = {(double)step, (double)step / (double)x->batches_per_epoch,
                                   em.ap, em.ap50, em.ap75, em.aps, em.apm, em.apl, em.seconds};
    runlog_append(x->log, "eval", row);
    runlog_flush(x->log);
    if (x->c->progress)
        fprintf(stderr, "\neval at step %lld: AP %.4f AP50 %.4f AP75 %.4f (%lld images, %.1f s)\n",
                (long long)step, em.ap, em.ap50, em.ap75, (long long)em.nimages, em.seconds);
    if (final)
        rc = train_write_final(x, &em, dets, ndets);
    free(dets);
    return rc;
}

/* The step failed or left something not finite: name it. 1 when the run must stop. */
static int train_check_finite(train_ctx *x, int64_t step, loss_status st, const train_stats *s)
{
    char what[512];
    const char *param;
    if (st != LOSS_OK)
        train_step_describe(&x->step, st, what, sizeof what);
    else if (!isfinite(s->cls_loss) || !isfinite(s->box_loss))
        snprintf(what, sizeof what, "the %s loss is %g", isfinite(s->cls_loss) ? "box" : "classification",
                 isfinite(s->cls_loss) ? s->box_loss : s->cls_loss);
    else if ((param = train_step_nonfinite_param(&x->step)) != NULL)
        snprintf(what, sizeof what, "weight '%s' holds a NaN or Inf after the update", param);
    else
        return 0;
    runlog_flush(x->log);
    fprintf(stderr, "\n");
    if (x->last_checkpoint >= 0)
        rd_error("training stopped at step %lld: %s; %s/checkpoint.h5 holds the last good state "
                 "(step %lld); lower lr or set clip-grad", (long long)step, what, x->c->out,
                 (long long)x->last_checkpoint);
    else
        rd_error("training stopped at step %lld: %s; no checkpoint was written before it "
                 "(lower lr or set clip-grad)", (long long)step, what);
    return 1;
}

/* Boxes of the batch as the step wants them. */
static void train_batch_from(train_ctx *x, const loader_batch *lb, train_batch *b)
{
    for (int i = 0; i < lb->n; i++) {
        int32_t f = lb->first[i];
        x->gt[i] = (assign_gt){lb->boxes + f, lb->labels + f, lb->crowd + f, lb->first[i + 1] - f};
    }
    *b = (train_batch){lb->images, lb->n, lb->size, lb->size, x->gt};
}

static int train_due(int64_t every, int64_t step)
{
    return every > 0 && step % every == 0;
}

/* The step loop from x->start_step to x->total_steps. Returns the exit status. */
static int train_loop(train_ctx *x)
{
    const train_run_config *c = x->c;
    char err[1024];
    for (int64_t step = x->start_step; step < x->total_steps;) {
        const loader_batch *lb;
        int got = loader_next(x->loader, &lb, err, sizeof err);
        if (got <= 0) {
            rd_error("%s", got < 0 ? err : "the loader ended early");
            return 1;
        }
        train_batch b;
        train_batch_from(x, lb, &b);
        train_stats s;
        loss_status st = train_step_run(&x->step, &b, &s);
        step++;
        if (train_check_finite(x, step, st, &s))
            return 1;
        train_window_add(&x->window, &s);
        x->last_loss = s.loss;
        train_progress(x, step, &s);
        if (train_due(c->log_every, step))
            train_log_window(x, step);
        if (step < x->total_steps && train_due(c->eval_every, step) && train_evaluate(x, step, 0))
            return 1;
        if (step < x->total_steps && train_due(c->checkpoint_every, step) &&
            train_save_checkpoint(x, step))
            return 1;
        if (train_signal) {
            int sig = train_signal;
            if (train_save_checkpoint(x, step))
                return 1;
            runlog_flush(x->log);
            fprintf(stderr, "\n%s at step %lld: state saved in %s/checkpoint.h5; continue with "
                    "resume=1\n", sig == SIGINT ? "interrupted" : "terminated", (long long)step,
                    c->out);
            return 128 + sig;
        }
    }
    /* The checkpoint keeps the partial window, so a run extended from it (resume=1 with more
     * steps) drops the partial row below and logs what the longer run logs. */
    if (train_save_checkpoint(x, x->total_steps))
        return 1;
    train_log_window(x, x->total_steps);
    if (x->c->progress)
        progress_finish(&x->progress, x->total_steps, x->last_loss);
    return train_evaluate(x, x->total_steps, 1) ? 1 : 0;
}

int train_run(const train_run_config *c, const char *command_line)
{
    train_ctx x;
    int rc = train_setup(&x, c, command_line);
    if (rc == 0) {
        train_signal = 0;
        train_catch_signals();
        rc = train_loop(&x);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
    }
    train_teardown(&x);
    return rc;
}
