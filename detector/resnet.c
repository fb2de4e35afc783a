/* resnet.c — the shared convolution and planner blocks and the ResNet backbone (resnet.h).
 * Reference: torchvision 0.14 models/resnet.py (BasicBlock, Bottleneck v1.5, _make_layer) with
 * FrozenBatchNorm2d, or torch.nn.BatchNorm2d in train mode (bn_train); names as its state_dict. */
#include "detector/resnet.h"

#include <stdio.h>
#include <string.h>

#include "lib/check.h"

/* ---- net_conv ---------------------------------------------------------------------------- */

void net_conv_init(net_conv *c, int cin, int cout, int k, int stride, int pad, int has_bias,
                   int has_bn)
{
    memset(c, 0, sizeof *c);
    c->d = (conv2d_desc){cin, cout, k, stride, pad};
    c->has_bn = has_bn;
    c->has_bias = has_bias;
}

/* Declare one tensor named "<prefix>.<leaf>". */
static void net_visit_one(net_param_visit_fn fn, void *ctx, const char *prefix, const char *leaf,
                          net_role role, const int shape[4], int trainable, float **data,
                          float **grad)
{
    int ndim = role == NET_ROLE_CONV_WEIGHT ? 4 : 1, state_dict = role != NET_ROLE_DERIVED;
    char name[128];
    int len = snprintf(name, sizeof name, "%s.%s", prefix, leaf);
    RD_CHECK(len > 0 && (size_t)len < sizeof name, "tensor name '%s.%s' too long", prefix, leaf);
    net_param_spec s = {name, role, ndim, {shape[0], shape[1], shape[2], shape[3]}, state_dict,
                        trainable, data, trainable ? grad : NULL};
    fn(ctx, &s);
}

void net_conv_visit(net_conv *c, const char *prefix, const char *bn_prefix, int trainable,
                    net_param_visit_fn fn, void *ctx)
{
    const conv2d_desc *d = &c->d;
    int wshape[4] = {d->cout, d->cin, d->k, d->k}, vshape[4] = {d->cout, 0, 0, 0};
    if (!trainable)
        c->dweight = c->dbias = c->dbn_weight = c->dbn_bias = NULL;
    int bn_trainable = trainable && c->bn_train;
    net_visit_one(fn, ctx, prefix, "weight", NET_ROLE_CONV_WEIGHT, wshape, trainable, &c->weight,
                  &c->dweight);
    if (c->has_bias)
        net_visit_one(fn, ctx, prefix, "bias", NET_ROLE_CONV_BIAS, vshape, trainable, &c->bias,
                      &c->dbias);
    if (!c->has_bn)
        return;
    net_visit_one(fn, ctx, bn_prefix, "weight", NET_ROLE_BN_WEIGHT, vshape, bn_trainable,
                  &c->bn_weight, &c->dbn_weight);
    net_visit_one(fn, ctx, bn_prefix, "bias", NET_ROLE_BN_BIAS, vshape, bn_trainable, &c->bn_bias,
                  &c->dbn_bias);
    net_visit_one(fn, ctx, bn_prefix, "running_mean", NET_ROLE_BN_MEAN, vshape, 0, &c->bn_mean,
                  NULL);
    net_visit_one(fn, ctx, bn_prefix, "running_var", NET_ROLE_BN_VAR, vshape, 0, &c->bn_var, NULL);
    net_visit_one(fn, ctx, bn_prefix, "folded_scale", NET_ROLE_DERIVED, vshape, 0, &c->scale, NULL);
    net_visit_one(fn, ctx, bn_prefix, "folded_shift", NET_ROLE_DERIVED, vshape, 0, &c->shift, NULL);
}

void net_conv_fold(net_conv *c, float eps)
{
    if (c->has_bn)
        frozen_bn_fold(c->bn_weight, c->bn_bias, c->bn_mean, c->bn_var, eps, c->d.cout, c->scale,
                       c->shift);
}

void net_conv_forward(const net_conv *c, const float *x, int n, int h, int w, float *y, int relu,
                      float *scratch)
{
    const conv2d_desc *d = &c->d;
    int oh = conv2d_out(h, d->k, d->stride, d->pad), ow = conv2d_out(w, d->k, d->stride, d->pad);
    if (c->xhat != NULL) {
        conv2d_forward(d, x, n, h, w, c->weight, c->bias, c->xhat, scratch);
        bn_train_forward(c->xhat, n, d->cout, oh * ow, c->bn_weight, c->bn_bias, c->bn_eps,
                         NET_BN_MOMENTUM, c->bn_mean, c->bn_var, c->bn_stats, y, relu);
        return;
    }
    conv2d_forward(d, x, n, h, w, c->weight, c->bias, y, scratch);
    if (c->has_bn && relu)
        affine_relu_forward(y, n, d->cout, oh * ow, c->scale, c->shift, y);
    else if (c->has_bn)
        affine_forward(y, n, d->cout, oh * ow, c->scale, c->shift, y);
    else if (relu)
        relu_forward(y, (size_t)n * d->cout * oh * ow, y);
}

void net_conv_backward(const net_conv *c, const float *x, const float *y, float *dy, int n,
                       int h, int w, int relu, float *dx, float *scratch)
{
    const conv2d_desc *d = &c->d;
    int oh = conv2d_out(h, d->k, d->stride, d->pad), ow = conv2d_out(w, d->k, d->stride, d->pad);
    size_t count = (size_t)n * d->cout * oh * ow;
    if (c->xhat != NULL) {
        if (relu)
            relu_backward(y, dy, count, dy);
        net_conv_bn_backward(c, dy, n, oh, ow, dy);
    } else if (c->has_bn && relu)
        affine_relu_backward(y, dy, n, d->cout, oh * ow, c->scale, dy);
    else if (c->has_bn)
        affine_backward(dy, n, d->cout, oh * ow, c->scale, dy);
    else if (relu)
        relu_backward(y, dy, count, dy);
    conv2d_backward(d, x, n, h, w, c->weight, dy, dx, c->dweight, c->dbias, scratch);
}

void net_conv_bn_backward(const net_conv *c, const float *dy, int n, int oh, int ow, float *dz)
{
    int cout = c->d.cout;
    if (c->xhat != NULL)
        bn_train_backward(c->xhat, dy, n, cout, oh * ow, c->bn_weight, c->bn_stats, dz,
                          c->dbn_weight, c->dbn_bias);
    else if (c->has_bn)
        affine_backward(dy, n, cout, oh * ow, c->scale, dz);
    else if (dz != dy)
        memcpy(dz, dy, (size_t)n * cout * oh * ow * sizeof(float));
}

/* ---- net_plan ---------------------------------------------------------------------------- */

float *net_plan_keep(net_plan *p, size_t floats)
{
    if (p->measuring) {
        p->act_bytes += rd_arena_align(floats * sizeof(float));
        return NULL;
    }
    return rd_arena_push(p->act, floats * sizeof(float));
}

int32_t *net_plan_keep_i32(net_plan *p, size_t count)
{
    return (int32_t *)net_plan_keep(p, count);  // int32 and float have the same size
}

float *net_plan_slot(net_plan *p, int slot, size_t floats)
{
    RD_CHECK(slot >= 0 && slot < NET_SLOTS, "slot %d out of range", slot);
    if (p->measuring) {
        if (floats > p->slot_floats[slot])
            p->slot_floats[slot] = floats;
        return NULL;
    }
    RD_CHECK(floats <= p->slot_floats[slot], "slot %d used for %zu floats after measuring %zu",
             slot, floats, p->slot_floats[slot]);
    return p->slot[slot];
}

float *net_plan_keep_or_slot(net_plan *p, int keep, int slot, size_t floats)
{
    return p->training && keep ? net_plan_keep(p, floats) : net_plan_slot(p, slot, floats);
}

void net_plan_grad(net_plan *p, size_t floats)
{
    if (p->measuring && p->training && floats > p->grad_floats)
        p->grad_floats = floats;
}

void net_plan_conv(net_plan *p, const conv2d_desc *d, int n, int h, int w)
{
    size_t s = conv2d_scratch_floats(d, n, h, w);
    if (s > p->scratch_floats)
        p->scratch_floats = s;
}

void net_plan_bn(net_plan *p, net_conv *c, int n, int oh, int ow)
{
    c->xhat = NULL;
    c->bn_stats = NULL;
    if (!p->training || !c->bn_train)
        return;
    RD_CHECK(c->has_bn && c->dbn_weight != NULL, "training-mode BatchNorm without gradients");
    c->xhat = net_plan_keep(p, (size_t)n * c->d.cout * oh * ow);
    c->bn_stats = net_plan_keep(p, 2 * (size_t)c->d.cout);
}

int net_plan_slot_of(const net_plan *p, const float *ptr)
{
    for (int i = 0; i < NET_SLOTS; i++)
        if (ptr == p->slot[i])
            return i;
    return -1;
}

/* ---- ResNet: description and parameters -------------------------------------------------- */

int resnet_config_check(const resnet_config *c, char *err, size_t errsize)
{
    const char *bad = NULL;
    if (c->depth != 18 && c->depth != 34 && c->depth != 50 && c->depth != 101)
        bad = "depth must be 18, 34, 50 or 101";
    else if (c->width < 1 || c->width > 4096)
        bad = "width must be in [1, 4096]";
    else if (c->frozen_stages < 0 || c->frozen_stages > 5)
        bad = "frozen_stages must be in [0, 5]";
    else if (!(c->bn_eps >= 0.0f))
        bad = "bn_eps must be >= 0";
    else if (c->bn_train != 0 && c->bn_train != 1)
        bad = "bn_train must be 0 or 1";
    if (bad)
        snprintf(err, errsize, "resnet: %s (depth %d, width %d, frozen_stages %d, bn_eps %g, "
                 "bn_train %d)", bad, c->depth, c->width, c->frozen_stages, (double)c->bn_eps,
                 c->bn_train);
    return bad ? -1 : 0;
}

/* One block of _make_layer: stride on c2 (bottleneck, v1.5) or c1 (basic). */
static void resnet_block_init(resnet_block *b, int bottleneck, int cin, int planes, int stride,
                              int trainable)
{
    memset(b, 0, sizeof *b);
    int cout = bottleneck ? 4 * planes : planes;
    if (bottleneck) {
        net_conv_init(&b->c1, cin, planes, 1, 1, 0, 0, 1);
        net_conv_init(&b->c2, planes, planes, 3, stride, 1, 0, 1);
        net_conv_init(&b->c3, planes, cout, 1, 1, 0, 0, 1);
    } else {
        net_conv_init(&b->c1, cin, planes, 3, stride, 1, 0, 1);
        net_conv_init(&b->c2, planes, planes, 3, 1, 1, 0, 1);
    }
    b->has_down = stride != 1 || cin != cout;
    if (b->has_down)
        net_conv_init(&b->down, cin, cout, 1, stride, 0, 0, 1);
    b->trainable = trainable;
}

/* BatchNorm mode of one convolution: training mode when bn_train and c is trainable. */
static void resnet_conv_bn_mode(net_conv *c, const resnet_config *cfg, int trainable)
{
    c->bn_train = cfg->bn_train && trainable && c->has_bn;
    c->bn_eps = cfg->bn_eps;
}

/* resnet_conv_bn_mode for every convolution of a block. */
static void resnet_block_bn_mode(resnet_block *b, const resnet_config *cfg)
{
    resnet_conv_bn_mode(&b->c1, cfg, b->trainable);
    resnet_conv_bn_mode(&b->c2, cfg, b->trainable);
    resnet_conv_bn_mode(&b->c3, cfg, b->trainable);
    resnet_conv_bn_mode(&b->down, cfg, b->trainable);
}

void resnet_init(resnet *r, const resnet_config *c)
{
    char err[256];
    RD_CHECK(resnet_config_check(c, err, sizeof err) == 0, "%s", err);
    static const int blocks[4][4] = {{2, 2, 2, 2}, {3, 4, 6, 3}, {3, 4, 6, 3}, {3, 4, 23, 3}};
    int row = c->depth == 18 ? 0 : c->depth == 34 ? 1 : c->depth == 50 ? 2 : 3;
    memset(r, 0, sizeof *r);
    r->cfg = *c;
    r->bottleneck = c->depth >= 50;
    r->stem_trainable = c->frozen_stages == 0;
    net_conv_init(&r->stem, 3, c->width, 7, 2, 3, 0, 1);
    resnet_conv_bn_mode(&r->stem, c, r->stem_trainable);
    int cin = c->width;
    for (int i = 0; i < 4; i++) {
        int planes = c->width << i;
        r->nblocks[i] = blocks[row][i];
        for (int j = 0; j < r->nblocks[i]; j++) {
            resnet_block *b = &r->layer[i][j];
            resnet_block_init(b, r->bottleneck, cin, planes, j == 0 && i > 0 ? 2 : 1,
                              resnet_layer_trainable(r, i));
            resnet_block_bn_mode(b, c);
            cin = r->bottleneck ? 4 * planes : planes;
        }
        r->channels[i] = cin;
    }
}

int resnet_layer_trainable(const resnet *r, int i)
{
    return r->cfg.frozen_stages <= i + 1;
}

void resnet_visit_params(resnet *r, net_param_visit_fn fn, void *ctx)
{
    net_conv_visit(&r->stem, "backbone.body.conv1", "backbone.body.bn1", r->stem_trainable, fn,
                   ctx);
    char conv[64], bn[64];
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < r->nblocks[i]; j++) {
            resnet_block *b = &r->layer[i][j];
            net_conv *convs[3] = {&b->c1, &b->c2, &b->c3};
            for (int k = 0; k < (r->bottleneck ? 3 : 2); k++) {
                snprintf(conv, sizeof conv, "backbone.body.layer%d.%d.conv%d", i + 1, j, k + 1);
                snprintf(bn, sizeof bn, "backbone.body.layer%d.%d.bn%d", i + 1, j, k + 1);
                net_conv_visit(convs[k], conv, bn, b->trainable, fn, ctx);
            }
            if (!b->has_down)
                continue;
            snprintf(conv, sizeof conv, "backbone.body.layer%d.%d.downsample.0", i + 1, j);
            snprintf(bn, sizeof bn, "backbone.body.layer%d.%d.downsample.1", i + 1, j);
            net_conv_visit(&b->down, conv, bn, b->trainable, fn, ctx);
        }
    }
}

void resnet_fold_bn(resnet *r)
{
    float eps = r->cfg.bn_eps;
    net_conv_fold(&r->stem, eps);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < r->nblocks[i]; j++) {
            resnet_block *b = &r->layer[i][j];
            net_conv_fold(&b->c1, eps);
            net_conv_fold(&b->c2, eps);
            if (r->bottleneck)
                net_conv_fold(&b->c3, eps);
            if (b->has_down)
                net_conv_fold(&b->down, eps);
        }
}

/* ---- ResNet: plan ------------------------------------------------------------------------ */

/* The k-th slot after `avoid` (a slot index, or -1), skipping avoid. */
static int resnet_slot_after(int avoid, int k)
{
    int s = avoid < 0 ? k - 1 : (avoid + k) % NET_SLOTS;
    return s;
}

/* Plan one block whose input lives in slot x_slot (-1: kept). keep_out: its output is kept
 * (a feature for the FPN, or needed by backward). Returns the slot of its output (-1: kept). */
static int resnet_block_plan(resnet_block *b, int bottleneck, int n, int x_slot, int keep_out,
                             net_plan *p)
{
    int cin = b->c1.d.cin, mid = b->c1.d.cout;
    int cout = bottleneck ? b->c3.d.cout : b->c2.d.cout;
    int stride = bottleneck ? b->c2.d.stride : b->c1.d.stride;
    b->oh = conv2d_out(b->h, 3, stride, 1);
    b->ow = conv2d_out(b->w, 3, stride, 1);
    size_t in_sz = (size_t)n * cin * b->h * b->w, out_sz = (size_t)n * cout * b->oh * b->ow;
    size_t y1_sz = (size_t)n * mid * (bottleneck ? b->h * b->w : b->oh * b->ow);
    size_t y2_sz = (size_t)n * mid * b->oh * b->ow;
    int keep = b->trainable;
    b->y1 = net_plan_keep_or_slot(p, keep, resnet_slot_after(x_slot, 1), y1_sz);
    b->y2 = bottleneck ? net_plan_keep_or_slot(p, keep, resnet_slot_after(x_slot, 2), y2_sz)
                       : NULL;
    b->yd = b->has_down ? net_plan_slot(p, resnet_slot_after(x_slot, 3), out_sz) : NULL;
    int out_slot = resnet_slot_after(x_slot, 4);
    b->out = keep_out ? net_plan_keep(p, out_sz) : net_plan_slot(p, out_slot, out_sz);
    net_plan_conv(p, &b->c1.d, n, b->h, b->w);
    net_plan_conv(p, &b->c2.d, n, bottleneck ? b->h : b->oh, bottleneck ? b->w : b->ow);
    if (bottleneck)
        net_plan_conv(p, &b->c3.d, n, b->oh, b->ow);
    if (b->has_down)
        net_plan_conv(p, &b->down.d, n, b->h, b->w);
    net_plan_bn(p, &b->c1, n, bottleneck ? b->h : b->oh, bottleneck ? b->w : b->ow);
    net_plan_bn(p, &b->c2, n, b->oh, b->ow);
    if (bottleneck)
        net_plan_bn(p, &b->c3, n, b->oh, b->ow);
    if (b->has_down)
        net_plan_bn(p, &b->down, n, b->oh, b->ow);
    if (b->trainable) {
        net_plan_grad(p, in_sz);
        net_plan_grad(p, out_sz);
        net_plan_grad(p, y1_sz);
    }
    return keep_out ? -1 : out_slot;
}

void resnet_plan(resnet *r, int n, int h, int w, net_plan *p)
{
    int c = r->cfg.width;
    if (r->cfg.bn_train && !p->training && p->measuring)
        resnet_fold_bn(r);  // an inference plan runs on the running statistics
    r->n = n;
    r->h = h;
    r->w = w;
    r->sh = conv2d_out(h, 7, 2, 3);
    r->sw = conv2d_out(w, 7, 2, 3);
    r->ph = conv2d_out(r->sh, 3, 2, 1);
    r->pw = conv2d_out(r->sw, 3, 2, 1);
    size_t stem_sz = (size_t)n * c * r->sh * r->sw, pool_sz = (size_t)n * c * r->ph * r->pw;
    net_plan_conv(p, &r->stem.d, n, h, w);
    net_plan_bn(p, &r->stem, n, r->sh, r->sw);
    r->stem_out = net_plan_keep_or_slot(p, r->stem_trainable, 0, stem_sz);
    r->argmax = net_plan_keep_i32(p, pool_sz);
    int keep_pool = p->training && r->layer[0][0].trainable;
    r->pool_out = keep_pool ? net_plan_keep(p, pool_sz) : net_plan_slot(p, 1, pool_sz);
    if (r->stem_trainable)
        net_plan_grad(p, stem_sz);
    int x_slot = keep_pool ? -1 : 1, bh = r->ph, bw = r->pw;
    const float *x = r->pool_out;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < r->nblocks[i]; j++) {
            resnet_block *b = &r->layer[i][j];
            int last = j == r->nblocks[i] - 1;
            int next_trainable = last ? i < 3 && resnet_layer_trainable(r, i + 1) : b->trainable;
            int keep_out = (i >= 1 && last) || (p->training && (b->trainable || next_trainable));
            b->x = x;
            b->h = bh;
            b->w = bw;
            x_slot = resnet_block_plan(b, r->bottleneck, n, x_slot, keep_out, p);
            x = b->out;
            bh = b->oh;
            bw = b->ow;
        }
}

const float *resnet_feature(const resnet *r, int i, int *channels, int *h, int *w)
{
    RD_CHECK(i >= 0 && i < 3, "feature index %d (0..2 for C3..C5)", i);
    const resnet_block *b = &r->layer[i + 1][r->nblocks[i + 1] - 1];
    if (channels)
        *channels = r->channels[i + 1];
    if (h)
        *h = b->oh;
    if (w)
        *w = b->ow;
    return b->out;
}

/* ---- ResNet: forward and backward -------------------------------------------------------- */

static void resnet_block_forward(const resnet_block *b, int bottleneck, int n, float *scratch)
{
    if (bottleneck) {
        net_conv_forward(&b->c1, b->x, n, b->h, b->w, b->y1, 1, scratch);
        net_conv_forward(&b->c2, b->y1, n, b->h, b->w, b->y2, 1, scratch);
        net_conv_forward(&b->c3, b->y2, n, b->oh, b->ow, b->out, 0, scratch);
    } else {
        net_conv_forward(&b->c1, b->x, n, b->h, b->w, b->y1, 1, scratch);
        net_conv_forward(&b->c2, b->y1, n, b->oh, b->ow, b->out, 0, scratch);
    }
    const float *shortcut = b->x;
    if (b->has_down) {
        net_conv_forward(&b->down, b->x, n, b->h, b->w, b->yd, 0, scratch);
        shortcut = b->yd;
    }
    int cout = bottleneck ? b->c3.d.cout : b->c2.d.cout;
    size_t count = (size_t)n * cout * b->oh * b->ow;
    add_relu_forward(b->out, shortcut, count, b->out);
}

void resnet_forward(resnet *r, const float *x, const net_plan *p, float *scratch)
{
    (void)p;
    int c = r->cfg.width;
    r->x = x;
    net_conv_forward(&r->stem, x, r->n, r->h, r->w, r->stem_out, 1, scratch);
    maxpool2d_forward(r->stem_out, r->n, c, r->sh, r->sw, 3, 2, 1, r->pool_out, r->argmax);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < r->nblocks[i]; j++)
            resnet_block_forward(&r->layer[i][j], r->bottleneck, r->n, scratch);
}

/* Backward of one block from dout (overwritten) into dx (NULL: not wanted); r and s are
 * slots for intermediate gradients. */
static void resnet_block_backward(const resnet_block *b, int bottleneck, int n, float *dout,
                                  float *dx, float *r, float *s, float *scratch)
{
    int cout = bottleneck ? b->c3.d.cout : b->c2.d.cout;
    size_t out_count = (size_t)n * cout * b->oh * b->ow;
    relu_backward(b->out, dout, out_count, dout);
    if (b->has_down) {
        net_conv_bn_backward(&b->down, dout, n, b->oh, b->ow, r);
        conv2d_backward(&b->down.d, b->x, n, b->h, b->w, b->down.weight, r, dx, b->down.dweight,
                        NULL, scratch);
    } else if (dx != NULL) {
        memcpy(dx, dout, out_count * sizeof(float));
    }
    float *dx_main = dx ? (bottleneck ? r : s) : NULL;
    if (bottleneck) {
        net_conv_backward(&b->c3, b->y2, NULL, dout, n, b->oh, b->ow, 0, r, scratch);
        net_conv_backward(&b->c2, b->y1, b->y2, r, n, b->h, b->w, 1, s, scratch);
        net_conv_backward(&b->c1, b->x, b->y1, s, n, b->h, b->w, 1, dx_main, scratch);
    } else {
        net_conv_backward(&b->c2, b->y1, NULL, dout, n, b->oh, b->ow, 0, r, scratch);
        net_conv_backward(&b->c1, b->x, b->y1, r, n, b->h, b->w, 1, dx_main, scratch);
    }
    if (dx != NULL) {
        size_t in_count = (size_t)n * b->c1.d.cin * b->h * b->w;
        add_forward(dx, dx_main, in_count, dx);
    }
}

/* Three distinct slots none of which holds ptr. */
static void resnet_free_slots(const net_plan *p, const float *ptr, float *out[3])
{
    int busy = net_plan_slot_of(p, ptr), k = 0;
    for (int i = 0; i < NET_SLOTS && k < 3; i++)
        if (i != busy)
            out[k++] = p->slot[i];
}

/* Backward of the stem from the gradient w.r.t. the max pool output. */
static void resnet_stem_backward(resnet *r, const float *dpool, const net_plan *p,
                                 float *scratch)
{
    float *free3[3];
    resnet_free_slots(p, dpool, free3);
    float *dstem = free3[0];
    maxpool2d_backward(dpool, r->argmax, r->n, r->cfg.width, r->sh, r->sw, r->ph, r->pw, dstem);
    net_conv_backward(&r->stem, r->x, r->stem_out, dstem, r->n, r->h, r->w, 1, NULL, scratch);
}

void resnet_backward(resnet *r, float *const dc[3], const net_plan *p, float *scratch)
{
    RD_CHECK(p->training, "resnet_backward needs a training plan");
    float *dout = NULL;
    for (int i = 3; i >= 0 && resnet_layer_trainable(r, i); i--) {
        int last = r->nblocks[i] - 1;
        if (i >= 1) {
            resnet_block *b = &r->layer[i][last];
            size_t count = (size_t)r->n * r->channels[i] * b->oh * b->ow;
            RD_CHECK(dc[i - 1] != NULL, "missing the gradient of C%d", i + 2);
            if (dout == NULL)
                dout = dc[i - 1];
            else
                add_forward(dout, dc[i - 1], count, dout);
        }
        for (int j = last; j >= 0; j--) {
            int want_dx = j > 0 || (i > 0 ? resnet_layer_trainable(r, i - 1) : r->stem_trainable);
            float *free3[3];
            resnet_free_slots(p, dout, free3);
            float *dx = want_dx ? free3[0] : NULL;
            resnet_block_backward(&r->layer[i][j], r->bottleneck, r->n, dout, dx, free3[1],
                                  free3[2], scratch);
            dout = dx;
        }
    }
    if (r->stem_trainable && dout != NULL)
        resnet_stem_backward(r, dout, p, scratch);
}
