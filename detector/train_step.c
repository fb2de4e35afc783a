/* train_step.c — one training step of the detector (see train_step.h). The phases run in the
 * order of DESIGN.md's data flow, each timed; the model's own functions do the network
 * (retinanet_forward and retinanet_backward are these same three stage calls), d2's geometry
 * does assignment and box coding, the registry loss sees the whole batch's N·A·K scores. */
#include "detector/train_step.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detector/anchors.h"
#include "detector/box_coder.h"
#include "lib/check.h"
#include "lib/threads.h"

static double train_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int train_step_check(const retinanet *m, const train_config *c, char *err, size_t errsize)
{
    if (c->preset == NULL || c->cls_loss == NULL) {
        snprintf(err, errsize, "train: no %s", c->preset == NULL ? "preset" : "classification loss");
        return -1;
    }
    if (c->preset->anchors_per_location != m->cfg.num_anchors) {
        snprintf(err, errsize, "train: preset %s has %d anchors per position, the model %d",
                 c->preset->name, c->preset->anchors_per_location, m->cfg.num_anchors);
        return -1;
    }
    if (c->preset->p6_from_c5 != m->cfg.p6_from_c5) {
        snprintf(err, errsize, "train: preset %s takes P6 from %s, the model from %s",
                 c->preset->name, c->preset->p6_from_c5 ? "C5" : "P5",
                 m->cfg.p6_from_c5 ? "C5" : "P5");
        return -1;
    }
    if (m->grad_arena.cap == 0 && m->num_trainable > 0) {
        snprintf(err, errsize, "train: the model was made for inference (no gradients)");
        return -1;
    }
    return sgd_config_check(&c->sgd, err, errsize);
}

void train_step_init(train_step *t, retinanet *m, const train_config *c)
{
    char err[256];
    RD_CHECK(train_step_check(m, c, err, sizeof err) == 0, "%s", err);
    memset(t, 0, sizeof *t);
    t->model = m;
    t->cfg = *c;
    t->K = m->cfg.num_classes;
    sgd_tensor *list = rd_calloc((size_t)m->nparams + 1, sizeof *list, "sgd tensor list");
    for (int i = 0; i < m->nparams; i++)
        list[i] = (sgd_tensor){m->params[i].data, m->params[i].trainable ? m->params[i].grad : NULL,
                               m->params[i].count};
    sgd_init(&t->opt, &c->sgd, list, m->nparams);
    free(list);
    rd_arena_init(&t->arena);
    rd_arena_init(&t->loss_ws);
    rd_arena_init(&t->assign_ws);
}

void train_step_free(train_step *t)
{
    sgd_free(&t->opt);
    rd_arena_free(&t->arena);
    rd_arena_free(&t->loss_ws);
    rd_arena_free(&t->assign_ws);
    memset(t, 0, sizeof *t);
}

/* Plan the model and this step's arrays for a batch of n images of h × w; anchors from the
 * model's own level grids, so the flat orders agree. */
static void train_step_plan(train_step *t, int n, int h, int w)
{
    retinanet *m = t->model;
    retinanet_plan(m, n, h, w, 1);
    int gh[PRESET_LEVELS], gw[PRESET_LEVELS];
    for (int l = 0; l < PRESET_LEVELS; l++)
        gh[l] = m->levels[l].h, gw[l] = m->levels[l].w;
    anchor_level levels[PRESET_LEVELS];
    int64_t A = anchors_levels(t->cfg.preset, h, w, gh, gw, levels);
    RD_CHECK(A == m->num_anchors_total, "anchors %lld, model outputs %lld", (long long)A,
             (long long)m->num_anchors_total);
    size_t na = (size_t)n * (size_t)A, K = (size_t)t->K;
    rd_arena_reserve(&t->arena, rd_arena_align((size_t)A * 4 * sizeof(float)) +
                                    rd_arena_align(na * sizeof(int32_t)) +
                                    rd_arena_align(na * K) +
                                    2 * rd_arena_align(na * 4 * sizeof(float)) +
                                    (t->cfg.track_ap_loss ? 2 : 1) *
                                        rd_arena_align(na * K * sizeof(float)));
    t->anchors = rd_arena_push(&t->arena, (size_t)A * 4 * sizeof(float));
    t->match = rd_arena_push(&t->arena, na * sizeof(int32_t));
    t->labels = rd_arena_push(&t->arena, na * K);
    t->targets = rd_arena_push(&t->arena, na * 4 * sizeof(float));
    t->dbbox = rd_arena_push(&t->arena, na * 4 * sizeof(float));
    t->dcls = rd_arena_push(&t->arena, na * K * sizeof(float));
    t->dap = t->cfg.track_ap_loss ? rd_arena_push(&t->arena, na * K * sizeof(float)) : NULL;
    anchors_generate(t->cfg.preset, levels, t->anchors);
    t->n = n, t->h = h, t->w = w, t->A = A;
}

/* Assignment, labels and box targets of every image. */
static void train_step_assign(train_step *t, const train_batch *b)
{
    int64_t A = t->A;
    for (int i = 0; i < b->n; i++) {
        int32_t *match = t->match + (size_t)i * A;
        assign_anchors(t->cfg.preset, t->anchors, A, &b->gt[i], &t->assign_ws, match, NULL);
        assign_labels(match, NULL, A, &b->gt[i], t->K, t->labels + (size_t)i * A * t->K, NULL);
        box_coder_encode_matched(&t->cfg.preset->coder, t->anchors, A, match, b->gt[i].boxes,
                                 t->targets + (size_t)i * A * 4);
    }
}

/* Forward through the three stages, timing each. */
static void train_step_forward(train_step *t, const float *x, train_timing *tm)
{
    retinanet *m = t->model;
    RD_CHECK(m->threads == rd_threads_get(),
             "planned for %d threads, running with %d: set threads before the first step",
             m->threads, rd_threads_get());
    double t0 = train_now();
    resnet_forward(&m->backbone, x, &m->plan, m->scratch);
    double t1 = train_now();
    const float *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = resnet_feature(&m->backbone, i, NULL, NULL, NULL);
    fpn_forward(&m->fpn, c, &m->plan, m->scratch);
    double t2 = train_now();
    heads_forward(&m->heads, m->fpn.p, m->cls_logits, m->bbox_regression, &m->plan, m->scratch);
    double t3 = train_now();
    tm->backbone_fwd = t1 - t0, tm->fpn_fwd = t2 - t1, tm->heads_fwd = t3 - t2;
}

static void train_step_backward(train_step *t, train_timing *tm)
{
    retinanet *m = t->model;
    double t0 = train_now();
    retinanet_zero_grad(m);
    double t1 = train_now();
    heads_backward(&m->heads, m->fpn.p, t->dcls, t->dbbox, m->fpn.dp, &m->plan, m->scratch);
    double t2 = train_now();
    fpn_backward(&m->fpn, &m->plan, m->scratch);
    double t3 = train_now();
    resnet_backward(&m->backbone, m->fpn.dc, &m->plan, m->scratch);
    double t4 = train_now();
    tm->zero_grad = t1 - t0, tm->heads_bwd = t2 - t1, tm->fpn_bwd = t3 - t2;
    tm->backbone_bwd = t4 - t3;
}

/* The interpolated AP-loss (δ = 1, the paper's setting) of the scores, for logging: the
 * training loss's own value when it is that loss, else the `ap` loss on the side (-1 when not
 * tracked). */
static double train_step_ap_loss(train_step *t, const loss_inputs *in, double own)
{
    if (!t->cfg.track_ap_loss)
        return -1;
    const loss_params *p = &t->cfg.cls_params;
    if (strcmp(t->cfg.cls_loss->name, "ap") == 0 && p->delta == 1 && p->interp)
        return own;
    loss_params ap;
    loss_params_default(&ap);
    loss_result r;
    if (loss_find("ap")->compute(in, &ap, &t->loss_ws, t->dap, &r) != LOSS_OK)
        return NAN;
    return r.loss;
}

loss_status train_step_gradients(train_step *t, const train_batch *b, train_stats *out)
{
    memset(out, 0, sizeof *out);
    train_timing *tm = &out->time;
    double start = train_now();
    if (b->n != t->n || b->h != t->h || b->w != t->w)
        train_step_plan(t, b->n, b->h, b->w);
    train_step_forward(t, b->images, tm);
    double t0 = train_now();
    train_step_assign(t, b);
    double t1 = train_now();
    int64_t count = (int64_t)b->n * t->A * t->K;
    loss_inputs in = {t->model->cls_logits, t->labels, NULL, count};
    loss_status st = t->cfg.cls_loss->compute(&in, &t->cfg.cls_params, &t->loss_ws, t->dcls,
                                              &t->last);
    double t2 = train_now();
    tm->assign = t1 - t0, tm->cls_loss = t2 - t1;
    if (st != LOSS_OK)
        return st;
    out->ap_loss = train_step_ap_loss(t, &in, st == LOSS_OK ? t->last.loss : 0);
    box_loss_result br = {0};
    if (t->cfg.no_box_loss)
        memset(t->dbbox, 0, sizeof(float) * 4 * (size_t)(b->n * t->A));
    else
        box_loss_compute(&t->cfg.preset->box_loss, t->model->bbox_regression, t->targets,
                         t->match, b->n, t->A, t->dbbox, &br);
    double t3 = train_now();
    tm->box_loss = t3 - t2;
    train_step_backward(t, tm);
    tm->total = train_now() - start;
    out->cls_loss = t->last.loss, out->box_loss = br.loss, out->loss = t->last.loss + br.loss;
    out->num_pos = t->last.num_pos;
    return LOSS_OK;
}

/* The global L2 norm of the gradients (summed in table order, so the same on any thread
 * count); scales them to clip when it is larger and clip > 0. */
static double train_step_clip(train_step *t, double clip)
{
    const retinanet *m = t->model;
    double ss = 0;
    for (int i = 0; i < m->nparams; i++) {
        const float *g = m->params[i].grad;
        if (g == NULL)
            continue;
        double part = 0;
        for (size_t j = 0; j < m->params[i].count; j++)
            part += (double)g[j] * (double)g[j];
        ss += part;
    }
    double norm = sqrt(ss);
    if (clip > 0 && norm > clip) {
        float f = (float)(clip / norm);
        for (int i = 0; i < m->nparams; i++) {
            float *g = m->params[i].grad;
            for (size_t j = 0; g && j < m->params[i].count; j++)
                g[j] *= f;
        }
    }
    return norm;
}

loss_status train_step_run(train_step *t, const train_batch *b, train_stats *out)
{
    loss_status st = train_step_gradients(t, b, out);
    if (st != LOSS_OK)
        return st;
    double t0 = train_now();
    out->grad_norm = train_step_clip(t, t->cfg.clip_grad);
    out->lr = sgd_step(&t->opt);
    out->time.sgd = train_now() - t0;
    out->time.total += out->time.sgd;
    return LOSS_OK;
}

void train_step_replan(train_step *t)
{
    t->n = t->h = t->w = 0;
}

const char *train_step_nonfinite_param(const train_step *t)
{
    const retinanet *m = t->model;
    for (int i = 0; i < m->nparams; i++) {
        const float *v = m->params[i].data;
        float acc = 0;
        for (size_t j = 0; j < m->params[i].count; j++)
            acc += v[j] * 0.0f;  // NaN for any NaN or Inf element, else 0
        if (acc != 0)  // true for NaN too
            return m->params[i].name;
    }
    return NULL;
}

const char *train_step_describe(const train_step *t, loss_status st, char *buf, int bufsize)
{
    loss_inputs in = {t->model->cls_logits, t->labels, NULL,
                      (int64_t)t->n * t->A * t->K};
    char what[160];
    loss_status_describe(st, &in, &t->last, what, sizeof what);
    int64_t i = t->last.bad_index, per_image = t->A * t->K;
    snprintf(buf, (size_t)bufsize, "%s (image %lld, anchor %lld, class %lld)", what,
             (long long)(i / per_image), (long long)(i % per_image / t->K),
             (long long)(i % t->K));
    return buf;
}

size_t train_step_grows(const train_step *t)
{
    const retinanet *m = t->model;
    return m->param_arena.grows + m->grad_arena.grows + m->act_arena.grows +
           m->scratch_arena.grows + t->arena.grows + t->loss_ws.grows + t->assign_ws.grows +
           t->opt.arena.grows;
}
