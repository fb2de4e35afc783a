/* heads.c — RetinaNet's class and box subnets, forward and backward (heads.h). Reference:
 * torchvision 0.14 models/detection/retinanet.py (RetinaNetClassificationHead,
 * RetinaNetRegressionHead: view(N, A, K, H, W).permute(0, 3, 4, 1, 2) then concatenation over
 * levels). */
#include "detector/heads.h"

#include <stdio.h>
#include <string.h>

#include "lib/check.h"

static void head_init(head *hd, int channels, int outputs, int num_anchors)
{
    memset(hd, 0, sizeof *hd);
    hd->outputs = outputs;
    for (int k = 0; k < HEAD_CONVS; k++)
        net_conv_init(&hd->tower[k], channels, channels, 3, 1, 1, 1, 0);
    net_conv_init(&hd->last, channels, num_anchors * outputs, 3, 1, 1, 1, 0);
}

void heads_init(heads *hd, int channels, int num_anchors, int num_classes, int trainable)
{
    memset(hd, 0, sizeof *hd);
    hd->num_anchors = num_anchors;
    hd->channels = channels;
    hd->trainable = trainable;
    head_init(&hd->cls, channels, num_classes, num_anchors);
    head_init(&hd->box, channels, 4, num_anchors);
}

static void head_visit(head *hd, const char *prefix, const char *last, int trainable,
                       net_param_visit_fn fn, void *ctx)
{
    char name[96];
    for (int k = 0; k < HEAD_CONVS; k++) {
        snprintf(name, sizeof name, "%s.conv.%d.0", prefix, k);
        net_conv_visit(&hd->tower[k], name, NULL, trainable, fn, ctx);
    }
    snprintf(name, sizeof name, "%s.%s", prefix, last);
    net_conv_visit(&hd->last, name, NULL, trainable, fn, ctx);
}

void heads_visit_params(heads *hd, net_param_visit_fn fn, void *ctx)
{
    head_visit(&hd->cls, "head.classification_head", "cls_logits", hd->trainable, fn, ctx);
    head_visit(&hd->box, "head.regression_head", "bbox_reg", hd->trainable, fn, ctx);
}

static void head_plan(head *hd, int n, int a, const int h[FPN_LEVELS], const int w[FPN_LEVELS],
                      net_plan *p)
{
    for (int l = 0; l < FPN_LEVELS; l++) {
        size_t tower = (size_t)n * hd->tower[0].d.cout * h[l] * w[l];
        size_t raw = (size_t)n * a * hd->outputs * h[l] * w[l];
        for (int k = 0; k < HEAD_CONVS; k++) {
            hd->t[l][k] = net_plan_keep_or_slot(p, 1, k % 2, tower);
            net_plan_conv(p, &hd->tower[k].d, n, h[l], w[l]);
        }
        hd->raw[l] = net_plan_slot(p, 2, raw);
        net_plan_conv(p, &hd->last.d, n, h[l], w[l]);
        net_plan_grad(p, tower);
        net_plan_grad(p, raw);
    }
}

void heads_plan(heads *hd, int n, const int h[FPN_LEVELS], const int w[FPN_LEVELS],
                net_plan *p)
{
    hd->n = n;
    int64_t offset = 0;
    for (int l = 0; l < FPN_LEVELS; l++) {
        hd->h[l] = h[l];
        hd->w[l] = w[l];
        hd->offset[l] = offset;
        offset += (int64_t)h[l] * w[l] * hd->num_anchors;
    }
    hd->total = offset;
    head_plan(&hd->cls, n, hd->num_anchors, h, w, p);
    head_plan(&hd->box, n, hd->num_anchors, h, w, p);
}

/* raw [N][A·O][hw] → out [N][total][O] at the level's offset (out[.. + yx·A·O + c]). */
static void heads_scatter(const float *raw, int n, int ao, int hw, int64_t total, int outputs,
                          int64_t offset, float *out)
{
    for (int i = 0; i < n; i++) {
        const float *src = raw + (size_t)i * ao * hw;
        float *dst = out + ((size_t)i * total + (size_t)offset) * outputs;
        for (int c = 0; c < ao; c++)
            for (int yx = 0; yx < hw; yx++)
                dst[(size_t)yx * ao + c] = src[(size_t)c * hw + yx];
    }
}

/* The inverse gather: d [N][total][O] at the level's offset → draw [N][A·O][hw]. */
static void heads_gather(const float *d, int n, int ao, int hw, int64_t total, int outputs,
                         int64_t offset, float *draw)
{
    for (int i = 0; i < n; i++) {
        const float *src = d + ((size_t)i * total + (size_t)offset) * outputs;
        float *dst = draw + (size_t)i * ao * hw;
        for (int c = 0; c < ao; c++)
            for (int yx = 0; yx < hw; yx++)
                dst[(size_t)c * hw + yx] = src[(size_t)yx * ao + c];
    }
}

static void head_forward(const heads *hs, const head *hd, float *const p[FPN_LEVELS], float *out,
                         float *scratch)
{
    int n = hs->n, ao = hs->num_anchors * hd->outputs;
    for (int l = 0; l < FPN_LEVELS; l++) {
        int h = hs->h[l], w = hs->w[l];
        const float *x = p[l];
        for (int k = 0; k < HEAD_CONVS; k++) {
            net_conv_forward(&hd->tower[k], x, n, h, w, hd->t[l][k], 1, scratch);
            x = hd->t[l][k];
        }
        net_conv_forward(&hd->last, x, n, h, w, hd->raw[l], 0, scratch);
        heads_scatter(hd->raw[l], n, ao, h * w, hs->total, hd->outputs, hs->offset[l], out);
    }
}

void heads_forward(heads *hd, float *const p[FPN_LEVELS], float *cls, float *box,
                   const net_plan *pl, float *scratch)
{
    (void)pl;
    head_forward(hd, &hd->cls, p, cls, scratch);
    head_forward(hd, &hd->box, p, box, scratch);
}

/* Backward of one head at level l; dp is overwritten (accumulate = 0) or added to. */
static void head_backward_level(const heads *hs, const head *hd, int l, const float *x0,
                                const float *dout, float *dp, int accumulate, const net_plan *pl,
                                float *scratch)
{
    int n = hs->n, h = hs->h[l], w = hs->w[l], ao = hs->num_anchors * hd->outputs;
    float *g = pl->slot[0], *a = pl->slot[1], *b = pl->slot[2];
    heads_gather(dout, n, ao, h * w, hs->total, hd->outputs, hs->offset[l], g);
    net_conv_backward(&hd->last, hd->t[l][HEAD_CONVS - 1], NULL, g, n, h, w, 0, a, scratch);
    for (int k = HEAD_CONVS - 1; k >= 0; k--) {
        const float *x = k > 0 ? hd->t[l][k - 1] : x0;
        float *dx = k > 0 ? b : accumulate ? g : dp;
        net_conv_backward(&hd->tower[k], x, hd->t[l][k], a, n, h, w, 1, dx, scratch);
        float *tmp = a;
        a = b;
        b = tmp;
    }
    if (accumulate) {
        add_forward(dp, g, (size_t)n * hs->channels * h * w, dp);
    }
}

void heads_backward(heads *hd, float *const p[FPN_LEVELS], const float *dcls, const float *dbox,
                    float *const dp[FPN_LEVELS], const net_plan *pl, float *scratch)
{
    RD_CHECK(pl->training, "heads_backward needs a training plan");
    for (int l = 0; l < FPN_LEVELS; l++) {
        head_backward_level(hd, &hd->cls, l, p[l], dcls, dp[l], 0, pl, scratch);
        head_backward_level(hd, &hd->box, l, p[l], dbox, dp[l], 1, pl, scratch);
    }
}
