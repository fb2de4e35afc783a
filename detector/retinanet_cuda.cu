/* retinanet_cuda.cu — the device twin of the RetinaNet model (retinanet_cuda.h): device arenas
 * in the CPU's layout, the CPU planner run on a rebased description, and forward and backward
 * walking resnet.c, fpn.c and heads.c op for op with the layer twins. The only kernels here
 * are the heads' flattening to [N][A_total][O] and its inverse (exact copies). */
extern "C" {
#include "detector/layers_cuda.h"
#include "detector/retinanet_cuda.h"
}
#include <string.h>

#include "lib/cuda_ctx_impl.h"

struct retinanet_cuda {
    cuda_ctx *ctx;
    retinanet desc;      // the modules, every view a device pointer
    retinanet_config cfg;
    void *params;        // the CPU parameter arena's layout
    size_t param_bytes;
    void *grads;         // the CPU gradient arena's layout; NULL without gradients
    size_t grad_bytes;
    rd_arena act;        // device memory managed here (never passed to rd_arena_reserve/free)
    void *slots;         // the NET_SLOTS transient slots
    size_t slot_cap;
    int grows;
};

/* ---- arenas and plan --------------------------------------------------------------------- */

extern "C" retinanet_cuda *retinanet_cuda_create(cuda_ctx *ctx, const retinanet *m)
{
    retinanet_cuda *g = (retinanet_cuda *)rd_calloc(1, sizeof *g, "retinanet device twin");
    g->ctx = ctx;
    g->cfg = m->cfg;
    g->param_bytes = m->param_arena.used;
    RD_CHECK(g->param_bytes > 0, "retinanet_cuda_create: the model has no parameters");
    g->params = cuda_ctx_alloc(ctx, g->param_bytes);
    if (m->grad_arena.cap > 0) {
        g->grad_bytes = m->grad_arena.used > 0 ? m->grad_arena.used : RD_ARENA_ALIGN;
        g->grads = cuda_ctx_alloc(ctx, g->grad_bytes);
        cuda_ctx_zero(ctx, g->grads, g->grad_bytes);
    }
    retinanet_describe_at(m, &g->desc, g->params, g->grads);
    rd_arena_init(&g->act);
    retinanet_cuda_upload(g, m);
    return g;
}

extern "C" void retinanet_cuda_destroy(retinanet_cuda *g)
{
    if (g == NULL)
        return;
    cuda_ctx_sync(g->ctx);
    cuda_ctx_dealloc(g->ctx, g->params);
    if (g->grads)
        cuda_ctx_dealloc(g->ctx, g->grads);
    if (g->act.base)
        cuda_ctx_dealloc(g->ctx, g->act.base);
    if (g->slots)
        cuda_ctx_dealloc(g->ctx, g->slots);
    free(g);
}

/* m has the twin's configuration and parameter layout. */
static void retinanet_cuda_check_same(const retinanet_cuda *g, const retinanet *m)
{
    RD_CHECK(memcmp(&g->cfg, &m->cfg, sizeof g->cfg) == 0 &&
                 m->param_arena.used == g->param_bytes,
             "the CPU model's configuration differs from the device twin's (%zu vs %zu "
             "parameter bytes)", m->param_arena.used, g->param_bytes);
}

extern "C" void retinanet_cuda_upload(retinanet_cuda *g, const retinanet *m)
{
    retinanet_cuda_check_same(g, m);
    cuda_ctx_upload(g->ctx, g->params, m->param_arena.base, g->param_bytes);
}

extern "C" void retinanet_cuda_download(retinanet_cuda *g, retinanet *m)
{
    retinanet_cuda_check_same(g, m);
    cuda_ctx_download(g->ctx, m->param_arena.base, g->params, g->param_bytes);
    if (g->grads && m->grad_arena.cap > 0 && m->grad_arena.used > 0)
        cuda_ctx_download(g->ctx, m->grad_arena.base, g->grads, m->grad_arena.used);
}

/* *base holds at least `bytes` of device memory (*cap bytes now); grows it when not. */
static void retinanet_cuda_reserve(retinanet_cuda *g, void **base, size_t *cap, size_t bytes)
{
    if (bytes <= *cap && *base != NULL)
        return;
    cuda_ctx_sync(g->ctx);  // queued work may still read the old block
    if (*base)
        cuda_ctx_dealloc(g->ctx, *base);
    *cap = rd_arena_align(bytes > 0 ? bytes : 1);
    *base = cuda_ctx_alloc(g->ctx, *cap);
    g->grows++;
}

extern "C" void retinanet_cuda_plan(retinanet_cuda *g, int n, int h, int w, int training)
{
    RD_CHECK(!training || g->grads != NULL,
             "a training plan for the device twin of a model without gradients");
    net_plan *p = &g->desc.plan;
    retinanet_plan_measure(&g->desc, n, h, w, training, p);
    size_t slot_bytes = 0;
    for (int i = 0; i < NET_SLOTS; i++)
        slot_bytes += rd_arena_align(p->slot_floats[i] * sizeof(float) + 4);
    void *act = g->act.base;
    retinanet_cuda_reserve(g, &act, &g->act.cap, p->act_bytes);
    g->act.base = (unsigned char *)act;
    g->act.used = 0;
    retinanet_cuda_reserve(g, &g->slots, &g->slot_cap, slot_bytes);
    p->act = &g->act;
    size_t offset = 0;
    for (int i = 0; i < NET_SLOTS; i++) {
        p->slot[i] = (float *)((unsigned char *)g->slots + offset);
        offset += rd_arena_align(p->slot_floats[i] * sizeof(float) + 4);
    }
    retinanet_plan_assign(&g->desc, n, h, w, p);
}

extern "C" int retinanet_cuda_grows(const retinanet_cuda *g)
{
    return g->grows;
}

extern "C" const retinanet *retinanet_cuda_model(const retinanet_cuda *g)
{
    return &g->desc;
}

extern "C" void retinanet_cuda_outputs(const retinanet_cuda *g, const float **cls,
                                       const float **bbox)
{
    RD_CHECK(g->desc.n > 0, "retinanet_cuda_outputs before retinanet_cuda_plan");
    *cls = g->desc.cls_logits;
    *bbox = g->desc.bbox_regression;
}

extern "C" void retinanet_cuda_zero_grad(retinanet_cuda *g)
{
    if (g->grads)
        cuda_ctx_zero(g->ctx, g->grads, g->grad_bytes);
}

/* ---- the heads' flattening --------------------------------------------------------------- */

/* raw [N][AO][hw] <-> out [N][total][O] at offset (out[.. + yx·AO + c]); to_flat picks the
 * direction (heads_scatter / heads_gather of heads.c). */
__global__ void heads_flatten_kernel(const float *src, int64_t count, int ao, int64_t hw,
                                     int64_t total, int outputs, int64_t offset, float *dst,
                                     int to_flat)
{
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < count;
         e += (int64_t)gridDim.x * blockDim.x) {
        int64_t per_image = (int64_t)ao * hw;
        int64_t i = e / per_image, rem = e % per_image;
        int64_t c = rem / hw, yx = rem % hw;
        int64_t flat = (i * total + offset) * outputs + yx * ao + c;
        if (to_flat)
            dst[flat] = src[e];
        else
            dst[e] = src[flat];
    }
}

static void heads_flatten_cuda(cuda_ctx *ctx, const float *src, int n, int ao, int hw,
                               int64_t total, int outputs, int64_t offset, float *dst,
                               int to_flat)
{
    int64_t count = (int64_t)n * ao * hw;
    if (count == 0)
        return;
    heads_flatten_kernel<<<cuda_grid_for(count), CUDA_BLOCK, 0, ctx->stream>>>(
        src, count, ao, hw, total, outputs, offset, dst, to_flat);
    RD_CHECK_LAUNCH();
}

/* ---- forward ----------------------------------------------------------------------------- */

/* net_conv_forward on the device. */
static void conv_forward_cuda(cuda_ctx *ctx, const net_conv *c, const float *x, int n, int h,
                              int w, float *y, int relu)
{
    const conv2d_desc *d = &c->d;
    int oh = conv2d_out(h, d->k, d->stride, d->pad), ow = conv2d_out(w, d->k, d->stride, d->pad);
    if (c->xhat != NULL) {
        conv2d_forward_cuda(ctx, d, x, n, h, w, c->weight, c->bias, c->xhat);
        bn_train_forward_cuda(ctx, c->xhat, n, d->cout, oh * ow, c->bn_weight, c->bn_bias,
                              c->bn_eps, NET_BN_MOMENTUM, c->bn_mean, c->bn_var, c->bn_stats, y,
                              relu);
        return;
    }
    conv2d_forward_cuda(ctx, d, x, n, h, w, c->weight, c->bias, y);
    if (c->has_bn && relu)
        affine_relu_forward_cuda(ctx, y, n, d->cout, oh * ow, c->scale, c->shift, y);
    else if (c->has_bn)
        affine_forward_cuda(ctx, y, n, d->cout, oh * ow, c->scale, c->shift, y);
    else if (relu)
        relu_forward_cuda(ctx, y, (size_t)n * d->cout * oh * ow, y);
}

/* resnet_block_forward on the device. */
static void block_forward_cuda(cuda_ctx *ctx, const resnet_block *b, int bottleneck, int n)
{
    if (bottleneck) {
        conv_forward_cuda(ctx, &b->c1, b->x, n, b->h, b->w, b->y1, 1);
        conv_forward_cuda(ctx, &b->c2, b->y1, n, b->h, b->w, b->y2, 1);
        conv_forward_cuda(ctx, &b->c3, b->y2, n, b->oh, b->ow, b->out, 0);
    } else {
        conv_forward_cuda(ctx, &b->c1, b->x, n, b->h, b->w, b->y1, 1);
        conv_forward_cuda(ctx, &b->c2, b->y1, n, b->oh, b->ow, b->out, 0);
    }
    const float *shortcut = b->x;
    if (b->has_down) {
        conv_forward_cuda(ctx, &b->down, b->x, n, b->h, b->w, b->yd, 0);
        shortcut = b->yd;
    }
    int cout = bottleneck ? b->c3.d.cout : b->c2.d.cout;
    add_relu_forward_cuda(ctx, b->out, shortcut, (size_t)n * cout * b->oh * b->ow, b->out);
}

/* resnet_forward on the device. */
static void resnet_forward_cuda(cuda_ctx *ctx, resnet *r, const float *x)
{
    r->x = x;
    conv_forward_cuda(ctx, &r->stem, x, r->n, r->h, r->w, r->stem_out, 1);
    maxpool2d_forward_cuda(ctx, r->stem_out, r->n, r->cfg.width, r->sh, r->sw, 3, 2, 1,
                           r->pool_out, r->argmax);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < r->nblocks[i]; j++)
            block_forward_cuda(ctx, &r->layer[i][j], r->bottleneck, r->n);
}

/* fpn_forward on the device. */
static void fpn_forward_cuda(cuda_ctx *ctx, fpn *f, const float *const c[3], const net_plan *p)
{
    int n = f->n, ch = f->channels;
    for (int i = 0; i < 3; i++)
        f->c[i] = c[i];
    for (int i = 2; i >= 0; i--) {
        conv_forward_cuda(ctx, &f->inner[i], c[i], n, f->ch[i], f->cw[i], f->last_inner[i], 0);
        if (i < 2) {
            float *up = p->slot[0], *li = f->last_inner[i];
            upsample_nearest_forward_cuda(ctx, f->last_inner[i + 1], n, ch, f->h[i + 1],
                                          f->w[i + 1], f->h[i], f->w[i], up);
            add_forward_cuda(ctx, li, up, (size_t)n * ch * f->h[i] * f->w[i], li);
        }
        conv_forward_cuda(ctx, &f->layer[i], f->last_inner[i], n, f->h[i], f->w[i], f->p[i], 0);
    }
    const float *src = f->p6_from_c5 ? c[2] : f->p[2];
    conv_forward_cuda(ctx, &f->p6, src, n, f->h[2], f->w[2], f->p[3], 0);
    relu_forward_cuda(ctx, f->p[3], (size_t)n * ch * f->h[3] * f->w[3], f->p6_relu);
    conv_forward_cuda(ctx, &f->p7, f->p6_relu, n, f->h[3], f->w[3], f->p[4], 0);
}

/* head_forward on the device. */
static void head_forward_cuda(cuda_ctx *ctx, const heads *hs, const head *hd,
                              float *const p[FPN_LEVELS], float *out)
{
    int n = hs->n, ao = hs->num_anchors * hd->outputs;
    for (int l = 0; l < FPN_LEVELS; l++) {
        int h = hs->h[l], w = hs->w[l];
        const float *x = p[l];
        for (int k = 0; k < HEAD_CONVS; k++) {
            conv_forward_cuda(ctx, &hd->tower[k], x, n, h, w, hd->t[l][k], 1);
            x = hd->t[l][k];
        }
        conv_forward_cuda(ctx, &hd->last, x, n, h, w, hd->raw[l], 0);
        heads_flatten_cuda(ctx, hd->raw[l], n, ao, h * w, hs->total, hd->outputs, hs->offset[l],
                           out, 1);
    }
}

extern "C" void retinanet_cuda_forward(retinanet_cuda *g, const float *x)
{
    retinanet *m = &g->desc;
    RD_CHECK(m->n > 0, "retinanet_cuda_forward before retinanet_cuda_plan");
    resnet_forward_cuda(g->ctx, &m->backbone, x);
    const float *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = resnet_feature(&m->backbone, i, NULL, NULL, NULL);
    fpn_forward_cuda(g->ctx, &m->fpn, c, &m->plan);
    head_forward_cuda(g->ctx, &m->heads, &m->heads.cls, m->fpn.p, m->cls_logits);
    head_forward_cuda(g->ctx, &m->heads, &m->heads.box, m->fpn.p, m->bbox_regression);
}

/* ---- backward ---------------------------------------------------------------------------- */

/* dst = src on the device (count floats). */
static void copy_cuda(cuda_ctx *ctx, float *dst, const float *src, size_t count)
{
    RD_CHECK_CUDA(cudaMemcpyAsync(dst, src, count * sizeof(float), cudaMemcpyDeviceToDevice,
                                  ctx->stream));
}

/* net_conv_bn_backward on the device. */
static void conv_bn_backward_cuda(cuda_ctx *ctx, const net_conv *c, const float *dy, int n,
                                  int oh, int ow, float *dz)
{
    int cout = c->d.cout;
    if (c->xhat != NULL)
        bn_train_backward_cuda(ctx, c->xhat, dy, n, cout, oh * ow, c->bn_weight, c->bn_stats, dz,
                               c->dbn_weight, c->dbn_bias);
    else if (c->has_bn)
        affine_backward_cuda(ctx, dy, n, cout, oh * ow, c->scale, dz);
    else if (dz != dy)
        copy_cuda(ctx, dz, dy, (size_t)n * cout * oh * ow);
}

/* net_conv_backward on the device. */
static void conv_backward_cuda(cuda_ctx *ctx, const net_conv *c, const float *x, const float *y,
                               float *dy, int n, int h, int w, int relu, float *dx)
{
    const conv2d_desc *d = &c->d;
    int oh = conv2d_out(h, d->k, d->stride, d->pad), ow = conv2d_out(w, d->k, d->stride, d->pad);
    size_t count = (size_t)n * d->cout * oh * ow;
    if (c->xhat != NULL) {
        if (relu)
            relu_backward_cuda(ctx, y, dy, count, dy);
        conv_bn_backward_cuda(ctx, c, dy, n, oh, ow, dy);
    } else if (c->has_bn && relu)
        affine_relu_backward_cuda(ctx, y, dy, n, d->cout, oh * ow, c->scale, dy);
    else if (c->has_bn)
        affine_backward_cuda(ctx, dy, n, d->cout, oh * ow, c->scale, dy);
    else if (relu)
        relu_backward_cuda(ctx, y, dy, count, dy);
    conv2d_backward_cuda(ctx, d, x, n, h, w, c->weight, dy, dx, c->dweight, c->dbias);
}

/* resnet_block_backward on the device. */
static void block_backward_cuda(cuda_ctx *ctx, const resnet_block *b, int bottleneck, int n,
                                float *dout, float *dx, float *r, float *s)
{
    int cout = bottleneck ? b->c3.d.cout : b->c2.d.cout;
    size_t out_count = (size_t)n * cout * b->oh * b->ow;
    relu_backward_cuda(ctx, b->out, dout, out_count, dout);
    if (b->has_down) {
        conv_bn_backward_cuda(ctx, &b->down, dout, n, b->oh, b->ow, r);
        conv2d_backward_cuda(ctx, &b->down.d, b->x, n, b->h, b->w, b->down.weight, r, dx,
                             b->down.dweight, NULL);
    } else if (dx != NULL) {
        copy_cuda(ctx, dx, dout, out_count);
    }
    float *dx_main = dx ? (bottleneck ? r : s) : NULL;
    if (bottleneck) {
        conv_backward_cuda(ctx, &b->c3, b->y2, NULL, dout, n, b->oh, b->ow, 0, r);
        conv_backward_cuda(ctx, &b->c2, b->y1, b->y2, r, n, b->h, b->w, 1, s);
        conv_backward_cuda(ctx, &b->c1, b->x, b->y1, s, n, b->h, b->w, 1, dx_main);
    } else {
        conv_backward_cuda(ctx, &b->c2, b->y1, NULL, dout, n, b->oh, b->ow, 0, r);
        conv_backward_cuda(ctx, &b->c1, b->x, b->y1, r, n, b->h, b->w, 1, dx_main);
    }
    if (dx != NULL)
        add_forward_cuda(ctx, dx, dx_main, (size_t)n * b->c1.d.cin * b->h * b->w, dx);
}

/* Three distinct slots none of which holds ptr (resnet.c's choice). */
static void free_slots(const net_plan *p, const float *ptr, float *out[3])
{
    int busy = net_plan_slot_of(p, ptr), k = 0;
    for (int i = 0; i < NET_SLOTS && k < 3; i++)
        if (i != busy)
            out[k++] = p->slot[i];
}

/* resnet_backward on the device. */
static void resnet_backward_cuda(cuda_ctx *ctx, resnet *r, float *const dc[3], const net_plan *p)
{
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
                add_forward_cuda(ctx, dout, dc[i - 1], count, dout);
        }
        for (int j = last; j >= 0; j--) {
            int want_dx = j > 0 || (i > 0 ? resnet_layer_trainable(r, i - 1) : r->stem_trainable);
            float *free3[3];
            free_slots(p, dout, free3);
            float *dx = want_dx ? free3[0] : NULL;
            block_backward_cuda(ctx, &r->layer[i][j], r->bottleneck, r->n, dout, dx, free3[1],
                                free3[2]);
            dout = dx;
        }
    }
    if (!r->stem_trainable || dout == NULL)
        return;
    float *free3[3];
    free_slots(p, dout, free3);
    maxpool2d_backward_cuda(ctx, dout, r->argmax, r->n, r->cfg.width, r->sh, r->sw, r->ph, r->pw,
                            3, 2, 1, free3[0]);
    conv_backward_cuda(ctx, &r->stem, r->x, r->stem_out, free3[0], r->n, r->h, r->w, 1, NULL);
}

/* The top-down part of fpn_backward: from P3 upwards into the laterals and dc[]. */
static void fpn_topdown_backward_cuda(cuda_ctx *ctx, fpn *f, float *t, float *u, float *w)
{
    int n = f->n, ch = f->channels;
    float *dli = t, *dnext = u;
    for (int i = 0; i < 3; i++) {
        if (i == 0) {
            conv_backward_cuda(ctx, &f->layer[0], f->last_inner[0], NULL, f->dp[0], n, f->h[0],
                               f->w[0], 0, dli);
        } else {
            conv_backward_cuda(ctx, &f->layer[i], f->last_inner[i], NULL, f->dp[i], n, f->h[i],
                               f->w[i], 0, w);
            add_forward_cuda(ctx, dli, w, (size_t)n * ch * f->h[i] * f->w[i], dli);
        }
        conv_backward_cuda(ctx, &f->inner[i], f->c[i], NULL, dli, n, f->ch[i], f->cw[i], 0,
                           f->dc[i]);
        if (i < 2) {
            upsample_nearest_backward_cuda(ctx, dli, n, ch, f->h[i + 1], f->w[i + 1], f->h[i],
                                           f->w[i], dnext);
            float *tmp = dli;
            dli = dnext;
            dnext = tmp;
        }
    }
}

/* fpn_backward on the device. */
static void fpn_backward_cuda(cuda_ctx *ctx, fpn *f, const net_plan *p)
{
    int n = f->n, ch = f->channels;
    float *t = p->slot[0], *u = p->slot[1], *v = p->slot[2], *w = p->slot[3];
    size_t level3 = (size_t)n * ch * f->h[3] * f->w[3], level2 = (size_t)n * ch * f->h[2] * f->w[2];
    conv_backward_cuda(ctx, &f->p7, f->p6_relu, NULL, f->dp[4], n, f->h[3], f->w[3], 0, t);
    relu_backward_cuda(ctx, f->p6_relu, t, level3, t);
    add_forward_cuda(ctx, f->dp[3], t, level3, f->dp[3]);
    const float *src = f->p6_from_c5 ? f->c[2] : f->p[2];
    float *dsrc = f->p6_from_c5 && f->dc[2] == NULL ? NULL : v;
    conv_backward_cuda(ctx, &f->p6, src, NULL, f->dp[3], n, f->h[2], f->w[2], 0, dsrc);
    if (!f->p6_from_c5)
        add_forward_cuda(ctx, f->dp[2], v, level2, f->dp[2]);
    fpn_topdown_backward_cuda(ctx, f, t, u, w);
    if (f->p6_from_c5 && f->dc[2] != NULL)
        add_forward_cuda(ctx, f->dc[2], v, (size_t)n * f->cin[2] * f->ch[2] * f->cw[2],
                         f->dc[2]);
}

/* head_backward_level on the device. */
static void head_backward_level_cuda(cuda_ctx *ctx, const heads *hs, const head *hd, int l,
                                     const float *x0, const float *dout, float *dp,
                                     int accumulate, const net_plan *pl)
{
    int n = hs->n, h = hs->h[l], w = hs->w[l], ao = hs->num_anchors * hd->outputs;
    float *g = pl->slot[0], *a = pl->slot[1], *b = pl->slot[2];
    heads_flatten_cuda(ctx, dout, n, ao, h * w, hs->total, hd->outputs, hs->offset[l], g, 0);
    conv_backward_cuda(ctx, &hd->last, hd->t[l][HEAD_CONVS - 1], NULL, g, n, h, w, 0, a);
    for (int k = HEAD_CONVS - 1; k >= 0; k--) {
        const float *x = k > 0 ? hd->t[l][k - 1] : x0;
        float *dx = k > 0 ? b : accumulate ? g : dp;
        conv_backward_cuda(ctx, &hd->tower[k], x, hd->t[l][k], a, n, h, w, 1, dx);
        float *tmp = a;
        a = b;
        b = tmp;
    }
    if (accumulate)
        add_forward_cuda(ctx, dp, g, (size_t)n * hs->channels * h * w, dp);
}

extern "C" void retinanet_cuda_backward(retinanet_cuda *g, const float *dcls, const float *dbbox)
{
    retinanet *m = &g->desc;
    RD_CHECK(m->n > 0 && m->training,
             "retinanet_cuda_backward needs retinanet_cuda_plan(..., training = 1)");
    heads *hd = &m->heads;
    for (int l = 0; l < FPN_LEVELS; l++) {
        head_backward_level_cuda(g->ctx, hd, &hd->cls, l, m->fpn.p[l], dcls, m->fpn.dp[l], 0,
                                 &m->plan);
        head_backward_level_cuda(g->ctx, hd, &hd->box, l, m->fpn.p[l], dbbox, m->fpn.dp[l], 1,
                                 &m->plan);
    }
    fpn_backward_cuda(g->ctx, &m->fpn, &m->plan);
    resnet_backward_cuda(g->ctx, &m->backbone, m->fpn.dc, &m->plan);
}
