/* retinanet.c — the RetinaNet model: parameter table, arenas, plan, forward, backward
 * (retinanet.h). Reference: torchvision 0.14 models/detection/retinanet.py (RetinaNet,
 * retinanet_resnet50_fpn) and, for the paper preset, the AP-loss released code's model.py. */
#include "detector/retinanet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check.h"
#include "lib/rng.h"
#include "lib/threads.h"

void retinanet_config_default(retinanet_config *c, int paper)
{
    *c = (retinanet_config){
        .depth = 50,
        .width = 64,
        .fpn_channels = 256,
        .num_classes = paper ? 20 : 91,
        .num_anchors = paper ? 6 : 9,
        .p6_from_c5 = paper ? 1 : 0,
        .frozen_stages = 2,
        .bn_eps = 1e-5f,
        .prior = 0.01f,
        .box_last_std = paper ? 0.001f : 0.01f,
        .fpn_gaussian = paper ? 1 : 0,
        .head_std = 0.01f,
    };
}

void retinanet_config_preset(retinanet_config *c, const detector_preset *p)
{
    retinanet_config_default(c, p->anchor_rule == PRESET_ANCHORS_PAPER);
    c->num_anchors = p->anchors_per_location;
    c->p6_from_c5 = p->p6_from_c5;
    c->prior = p->prior;
}

int retinanet_config_check(const retinanet_config *c, char *err, size_t errsize)
{
    resnet_config rc = {c->depth, c->width, c->frozen_stages, c->bn_eps, c->bn_train};
    if (resnet_config_check(&rc, err, errsize) < 0)
        return -1;
    const char *bad = NULL;
    if (c->fpn_channels < 1 || c->fpn_channels > 4096)
        bad = "fpn_channels must be in [1, 4096]";
    else if (c->num_classes < 1 || c->num_classes > 100000)
        bad = "num_classes must be in [1, 100000]";
    else if (c->num_anchors < 1 || c->num_anchors > 64)
        bad = "num_anchors must be in [1, 64]";
    else if (!(c->prior > 0.0f && c->prior < 1.0f))
        bad = "prior must be in (0, 1)";
    else if (!(c->box_last_std >= 0.0f))
        bad = "box_last_std must be >= 0";
    else if (!(c->head_std >= 0.0f))
        bad = "head_std must be >= 0";
    if (bad)
        snprintf(err, errsize, "retinanet: %s (fpn_channels %d, num_classes %d, num_anchors %d, "
                 "prior %g)", bad, c->fpn_channels, c->num_classes, c->num_anchors,
                 (double)c->prior);
    return bad ? -1 : 0;
}

/* ---- the table --------------------------------------------------------------------------- */

typedef struct table_builder {
    retinanet *m;
    int binding;         // 0: counting; 1: binding views
    int count;           // state_dict tensors
    size_t param_bytes;  // all values, derived included, aligned
    size_t grad_bytes;   // gradients, aligned
} table_builder;

static void table_visit(void *ctx, const net_param_spec *s)
{
    table_builder *b = ctx;
    size_t count = (size_t)s->shape[0];
    if (s->ndim == 4)
        count *= (size_t)s->shape[1] * s->shape[2] * s->shape[3];
    if (!b->binding) {
        b->param_bytes += rd_arena_align(count * sizeof(float));
        if (s->trainable)
            b->grad_bytes += rd_arena_align(count * sizeof(float));
        b->count += s->state_dict;
        return;
    }
    retinanet *m = b->m;
    *s->data = rd_arena_push(&m->param_arena, count * sizeof(float));
    memset(*s->data, 0, count * sizeof(float));
    if (s->trainable && m->grad_arena.cap > 0) {
        RD_CHECK(s->grad != NULL, "trainable tensor '%s' has no gradient slot", s->name);
        *s->grad = rd_arena_push(&m->grad_arena, count * sizeof(float));
        memset(*s->grad, 0, count * sizeof(float));
    }
    if (!s->state_dict)
        return;
    RD_CHECK(strlen(s->name) < RETINANET_NAME_MAX, "tensor name '%s' too long", s->name);
    retinanet_param *p = &m->params[m->nparams++];
    memset(p, 0, sizeof *p);
    strcpy(p->name, s->name);
    p->role = s->role;
    p->ndim = s->ndim;
    memcpy(p->shape, s->shape, sizeof p->shape);
    p->count = count;
    p->trainable = s->trainable;
    p->data = *s->data;
    p->grad = s->trainable && m->grad_arena.cap > 0 ? *s->grad : NULL;
    m->num_values += count;
    m->num_trainable += s->trainable ? count : 0;
}

/* Only the count: sizes of the modules' tensors for a configuration. */
static void count_visit(void *ctx, const net_param_spec *s)
{
    table_builder *b = ctx;
    if (!s->state_dict)
        return;
    size_t count = (size_t)s->shape[0];
    if (s->ndim == 4)
        count *= (size_t)s->shape[1] * s->shape[2] * s->shape[3];
    b->count++;
    b->param_bytes += count;
    b->grad_bytes += s->trainable ? count : 0;
}

static void retinanet_visit(retinanet *m, table_builder *b)
{
    resnet_visit_params(&m->backbone, table_visit, b);
    fpn_visit_params(&m->fpn, table_visit, b);
    heads_visit_params(&m->heads, table_visit, b);
}

/* The modules of c, described (no memory). */
static void retinanet_describe(retinanet *m, const retinanet_config *c)
{
    char err[256];
    RD_CHECK(retinanet_config_check(c, err, sizeof err) == 0, "%s", err);
    m->cfg = *c;
    resnet_config rc = {c->depth, c->width, c->frozen_stages, c->bn_eps, c->bn_train};
    resnet_init(&m->backbone, &rc);
    fpn_init(&m->fpn, m->backbone.channels + 1, c->fpn_channels, c->p6_from_c5, 1);
    heads_init(&m->heads, c->fpn_channels, c->num_anchors, c->num_classes, 1);
}

void retinanet_count(const retinanet_config *c, int *nparams, size_t *values,
                     size_t *trainable)
{
    retinanet *m = rd_calloc(1, sizeof *m, "retinanet description");
    retinanet_describe(m, c);
    table_builder b = {m, 0, 0, 0, 0};
    resnet_visit_params(&m->backbone, count_visit, &b);
    fpn_visit_params(&m->fpn, count_visit, &b);
    heads_visit_params(&m->heads, count_visit, &b);
    *nparams = b.count;
    *values = b.param_bytes;
    *trainable = b.grad_bytes;
    free(m);
}

static retinanet *retinanet_build(const retinanet_config *c, int with_grads)
{
    retinanet *m = rd_calloc(1, sizeof *m, "retinanet model");
    retinanet_describe(m, c);
    rd_arena_init(&m->param_arena);
    rd_arena_init(&m->grad_arena);
    rd_arena_init(&m->act_arena);
    rd_arena_init(&m->scratch_arena);
    table_builder b = {m, 0, 0, 0, 0};
    retinanet_visit(m, &b);
    m->params = rd_calloc((size_t)b.count, sizeof *m->params, "parameter table");
    rd_arena_reserve(&m->param_arena, b.param_bytes);
    if (with_grads)
        rd_arena_reserve(&m->grad_arena, b.grad_bytes > 0 ? b.grad_bytes : RD_ARENA_ALIGN);
    b.binding = 1;
    retinanet_visit(m, &b);
    RD_CHECK(m->nparams == b.count, "table of %d tensors, counted %d", m->nparams, b.count);
    retinanet_fold_bn(m);
    return m;
}

retinanet *retinanet_create(const retinanet_config *c)
{
    return retinanet_build(c, 1);
}

retinanet *retinanet_create_inference(const retinanet_config *c)
{
    return retinanet_build(c, 0);
}

void retinanet_destroy(retinanet *m)
{
    if (m == NULL)
        return;
    rd_arena_free(&m->param_arena);
    rd_arena_free(&m->grad_arena);
    rd_arena_free(&m->act_arena);
    rd_arena_free(&m->scratch_arena);
    free(m->params);
    free(m);
}

retinanet_param *retinanet_param_find(retinanet *m, const char *name)
{
    for (int i = 0; i < m->nparams; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return &m->params[i];
    return NULL;
}

/* ptr moved from the block at old_base to the same offset in the block at new_base. */
static float *retinanet_rebase(const float *ptr, const void *old_base, void *new_base)
{
    ptrdiff_t offset = (const unsigned char *)ptr - (const unsigned char *)old_base;
    return (float *)((unsigned char *)new_base + offset);
}

typedef struct rebase_ctx {
    const retinanet *from;
    void *param_base, *grad_base;
} rebase_ctx;

static void rebase_visit(void *ctx, const net_param_spec *s)
{
    rebase_ctx *r = ctx;
    *s->data = retinanet_rebase(*s->data, r->from->param_arena.base, r->param_base);
    if (s->grad == NULL || *s->grad == NULL)
        return;
    RD_CHECK(r->grad_base != NULL, "tensor '%s' has a gradient but no gradient block was given",
             s->name);
    *s->grad = retinanet_rebase(*s->grad, r->from->grad_arena.base, r->grad_base);
}

void retinanet_describe_at(const retinanet *m, retinanet *out, void *param_base, void *grad_base)
{
    *out = *m;
    out->params = NULL;
    out->nparams = 0;
    rd_arena_init(&out->param_arena);
    rd_arena_init(&out->grad_arena);
    rd_arena_init(&out->act_arena);
    rd_arena_init(&out->scratch_arena);
    memset(&out->plan, 0, sizeof out->plan);
    out->scratch = NULL;
    out->cls_logits = out->bbox_regression = NULL;
    out->n = out->h = out->w = 0;
    out->backbone.cfg.bn_train = 0;  // resnet_plan never refolds memory it cannot read
    rebase_ctx r = {m, param_base, m->grad_arena.cap > 0 ? grad_base : NULL};
    resnet_visit_params(&out->backbone, rebase_visit, &r);
    fpn_visit_params(&out->fpn, rebase_visit, &r);
    heads_visit_params(&out->heads, rebase_visit, &r);
}

void retinanet_fold_bn(retinanet *m)
{
    resnet_fold_bn(&m->backbone);
}

/* ---- initialisation ---------------------------------------------------------------------- */

static int str_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int str_ends(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Fill a convolution weight as its module's reference code does. */
static void retinanet_init_conv(const retinanet *m, retinanet_param *p, rd_rng *rng)
{
    size_t fan_in = (size_t)p->shape[1] * p->shape[2] * p->shape[3];
    size_t fan_out = (size_t)p->shape[0] * p->shape[2] * p->shape[3];
    if (str_starts(p->name, "backbone.body.") && m->cfg.zero_init_residual && !m->cfg.bn_train &&
        str_starts(p->name, "backbone.body.layer") &&
        (str_ends(p->name, m->cfg.depth >= 50 ? ".conv3.weight" : ".conv2.weight"))) {
        for (size_t i = 0; i < p->count; i++)
            p->data[i] = 0.0f;
    } else if (str_starts(p->name, "backbone.body.")) {
        double std = sqrt(2.0 / (double)fan_out);  // kaiming_normal_(fan_out, relu)
        for (size_t i = 0; i < p->count; i++)
            p->data[i] = (float)rd_rng_gaussian(rng, std);
    } else if (str_starts(p->name, "backbone.fpn.") && !m->cfg.fpn_gaussian) {
        double bound = sqrt(3.0 / (double)fan_in);  // kaiming_uniform_(a=1)
        for (size_t i = 0; i < p->count; i++)
            p->data[i] = (float)((2.0 * rd_rng_uniform(rng) - 1.0) * bound);
    } else {
        int last = str_ends(p->name, "bbox_reg.weight") || str_ends(p->name, "cls_logits.weight");
        double std = str_ends(p->name, "bbox_reg.weight") ? m->cfg.box_last_std
                     : m->cfg.head_std > 0 || last ? (m->cfg.head_std > 0 ? m->cfg.head_std : 0.01)
                                                   : sqrt(2.0 / (double)fan_in);
        for (size_t i = 0; i < p->count; i++)
            p->data[i] = (float)rd_rng_gaussian(rng, std);
    }
}

/* With zero_init_residual and bn_train, the last BatchNorm of every residual branch starts with
 * weight 0 (torchvision's zero_init_residual): a zero convolution before a training-mode
 * BatchNorm would have no batch variance, and its gradient would be scaled by 1/sqrt(eps). */
static int retinanet_zero_bn_weight(const retinanet *m, const char *name)
{
    return m->cfg.zero_init_residual && m->cfg.bn_train &&
           str_starts(name, "backbone.body.layer") &&
           str_ends(name, m->cfg.depth >= 50 ? ".bn3.weight" : ".bn2.weight");
}

void retinanet_init_weights(retinanet *m, uint64_t seed)
{
    rd_rng rng;
    rd_rng_init(&rng, seed);
    float prior_bias = -logf((1.0f - m->cfg.prior) / m->cfg.prior);
    for (int i = 0; i < m->nparams; i++) {
        retinanet_param *p = &m->params[i];
        float fill = 0.0f;
        switch (p->role) {
        case NET_ROLE_CONV_WEIGHT:
            retinanet_init_conv(m, p, &rng);
            continue;
        case NET_ROLE_CONV_BIAS:
            fill = str_ends(p->name, "cls_logits.bias") ? prior_bias : 0.0f;
            break;
        case NET_ROLE_BN_WEIGHT:
            fill = retinanet_zero_bn_weight(m, p->name) ? 0.0f : 1.0f;
            break;
        case NET_ROLE_BN_VAR:
            fill = 1.0f;
            break;
        default:
            fill = 0.0f;
            break;
        }
        for (size_t k = 0; k < p->count; k++)
            p->data[k] = fill;
    }
    rd_rng_free(&rng);
    retinanet_fold_bn(m);
}

/* ---- plan, forward, backward ------------------------------------------------------------- */

/* One planning pass of every module (measuring or assigning). */
static void retinanet_plan_pass(retinanet *m, int n, int h, int w, net_plan *p)
{
    resnet *r = &m->backbone;
    resnet_plan(r, n, h, w, p);
    int ch[3], cw[3], want_dc[3];
    for (int i = 0; i < 3; i++) {
        resnet_feature(r, i, NULL, &ch[i], &cw[i]);
        want_dc[i] = resnet_layer_trainable(r, i + 1);
    }
    fpn_plan(&m->fpn, n, ch, cw, want_dc, p);
    heads_plan(&m->heads, n, m->fpn.h, m->fpn.w, p);
    size_t outputs = (size_t)n * m->heads.total;
    m->cls_logits = net_plan_keep(p, outputs * m->cfg.num_classes);
    m->bbox_regression = net_plan_keep(p, outputs * 4);
}

void retinanet_plan_measure(retinanet *m, int n, int h, int w, int training, net_plan *p)
{
    RD_CHECK(n >= 1 && h >= 32 && w >= 32, "input [%d][3][%d][%d]: need n >= 1, h, w >= 32", n,
             h, w);
    memset(p, 0, sizeof *p);
    p->measuring = 1;
    p->training = training;
    retinanet_plan_pass(m, n, h, w, p);
    for (int i = 0; i < NET_SLOTS; i++)
        if (p->slot_floats[i] < p->grad_floats)
            p->slot_floats[i] = p->grad_floats;
}

void retinanet_plan_assign(retinanet *m, int n, int h, int w, net_plan *p)
{
    p->measuring = 0;
    retinanet_plan_pass(m, n, h, w, p);
    m->n = n;
    m->h = h;
    m->w = w;
    m->training = p->training;
    m->num_anchors_total = m->heads.total;
    for (int l = 0; l < FPN_LEVELS; l++)
        m->levels[l] = (retinanet_level){m->fpn.h[l], m->fpn.w[l], m->heads.offset[l],
                                         (int64_t)m->fpn.h[l] * m->fpn.w[l] * m->cfg.num_anchors};
}

void retinanet_plan(retinanet *m, int n, int h, int w, int training)
{
    RD_CHECK(!training || m->grad_arena.cap > 0,
             "a training plan for a model made by retinanet_create_inference");
    net_plan *p = &m->plan;
    retinanet_plan_measure(m, n, h, w, training, p);
    p->act = &m->act_arena;
    size_t bytes = rd_arena_align(p->scratch_floats * sizeof(float) + 4);
    for (int i = 0; i < NET_SLOTS; i++)
        bytes += rd_arena_align(p->slot_floats[i] * sizeof(float) + 4);
    rd_arena_reserve(&m->act_arena, p->act_bytes);
    rd_arena_reserve(&m->scratch_arena, bytes);
    for (int i = 0; i < NET_SLOTS; i++)
        p->slot[i] = rd_arena_push(&m->scratch_arena, p->slot_floats[i] * sizeof(float) + 4);
    m->scratch = rd_arena_push(&m->scratch_arena, p->scratch_floats * sizeof(float) + 4);
    retinanet_plan_assign(m, n, h, w, p);
    m->threads = rd_threads_get();
}

void retinanet_forward(retinanet *m, const float *x)
{
    RD_CHECK(m->n > 0, "retinanet_forward before retinanet_plan");
    RD_CHECK(m->threads == rd_threads_get(),
             "planned for %d threads, running with %d: call retinanet_plan after rd_threads_set",
             m->threads, rd_threads_get());
    resnet_forward(&m->backbone, x, &m->plan, m->scratch);
    const float *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = resnet_feature(&m->backbone, i, NULL, NULL, NULL);
    fpn_forward(&m->fpn, c, &m->plan, m->scratch);
    heads_forward(&m->heads, m->fpn.p, m->cls_logits, m->bbox_regression, &m->plan, m->scratch);
}

void retinanet_zero_grad(retinanet *m)
{
    if (m->grad_arena.used > 0)
        memset(m->grad_arena.base, 0, m->grad_arena.used);
}

void retinanet_backward(retinanet *m, const float *dcls, const float *dbbox)
{
    RD_CHECK(m->training, "retinanet_backward needs retinanet_plan(..., training = 1)");
    RD_CHECK(m->threads == rd_threads_get(),
             "planned for %d threads, running with %d: call retinanet_plan after rd_threads_set",
             m->threads, rd_threads_get());
    heads_backward(&m->heads, m->fpn.p, dcls, dbbox, m->fpn.dp, &m->plan, m->scratch);
    fpn_backward(&m->fpn, &m->plan, m->scratch);
    resnet_backward(&m->backbone, m->fpn.dc, &m->plan, m->scratch);
}
