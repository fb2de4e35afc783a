/* fpn.c — FPN P3–P7 forward and backward (fpn.h). Reference: torchvision 0.14
 * ops/feature_pyramid_network.py (FeaturePyramidNetwork.forward, LastLevelP6P7) and, for the
 * paper convention, the RetinaNet paper sec. 4 / the AP-loss code's PyramidFeatures (P6 on C5). */
#include "detector/fpn.h"

#include <stdio.h>
#include <string.h>

#include "lib/check.h"

void fpn_init(fpn *f, const int cin[3], int channels, int p6_from_c5, int trainable)
{
    memset(f, 0, sizeof *f);
    f->channels = channels;
    f->p6_from_c5 = p6_from_c5;
    f->trainable = trainable;
    for (int i = 0; i < 3; i++) {
        f->cin[i] = cin[i];
        net_conv_init(&f->inner[i], cin[i], channels, 1, 1, 0, 1, 0);
        net_conv_init(&f->layer[i], channels, channels, 3, 1, 1, 1, 0);
    }
    net_conv_init(&f->p6, p6_from_c5 ? cin[2] : channels, channels, 3, 2, 1, 1, 0);
    net_conv_init(&f->p7, channels, channels, 3, 2, 1, 1, 0);
}

void fpn_visit_params(fpn *f, net_param_visit_fn fn, void *ctx)
{
    char name[64];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "backbone.fpn.inner_blocks.%d.0", i);
        net_conv_visit(&f->inner[i], name, NULL, f->trainable, fn, ctx);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "backbone.fpn.layer_blocks.%d.0", i);
        net_conv_visit(&f->layer[i], name, NULL, f->trainable, fn, ctx);
    }
    net_conv_visit(&f->p6, "backbone.fpn.extra_blocks.p6", NULL, f->trainable, fn, ctx);
    net_conv_visit(&f->p7, "backbone.fpn.extra_blocks.p7", NULL, f->trainable, fn, ctx);
}

void fpn_plan(fpn *f, int n, const int ch[3], const int cw[3], const int want_dc[3],
              net_plan *p)
{
    int c = f->channels;
    f->n = n;
    for (int i = 0; i < 3; i++) {
        f->ch[i] = f->h[i] = ch[i];
        f->cw[i] = f->w[i] = cw[i];
    }
    f->h[3] = conv2d_out(f->h[2], 3, 2, 1);
    f->w[3] = conv2d_out(f->w[2], 3, 2, 1);
    f->h[4] = conv2d_out(f->h[3], 3, 2, 1);
    f->w[4] = conv2d_out(f->w[3], 3, 2, 1);
    for (int i = 0; i < 3; i++) {
        size_t level = (size_t)n * c * f->h[i] * f->w[i];
        f->last_inner[i] = net_plan_keep(p, level);
        if (i < 2)
            net_plan_slot(p, 0, level);  // the upsampled top-down term
        net_plan_conv(p, &f->inner[i].d, n, ch[i], cw[i]);
        net_plan_conv(p, &f->layer[i].d, n, f->h[i], f->w[i]);
        net_plan_grad(p, level);
        net_plan_grad(p, (size_t)n * f->cin[i] * ch[i] * cw[i]);
    }
    for (int l = 0; l < FPN_LEVELS; l++)
        f->p[l] = net_plan_keep(p, (size_t)n * c * f->h[l] * f->w[l]);
    f->p6_relu = net_plan_keep(p, (size_t)n * c * f->h[3] * f->w[3]);
    net_plan_conv(p, &f->p6.d, n, f->h[2], f->w[2]);
    net_plan_conv(p, &f->p7.d, n, f->h[3], f->w[3]);
    for (int l = 0; l < FPN_LEVELS; l++)
        f->dp[l] = p->training ? net_plan_keep(p, (size_t)n * c * f->h[l] * f->w[l]) : NULL;
    for (int i = 0; i < 3; i++)
        f->dc[i] = p->training && want_dc[i]
                       ? net_plan_keep(p, (size_t)n * f->cin[i] * ch[i] * cw[i])
                       : NULL;
}

void fpn_forward(fpn *f, const float *const c[3], const net_plan *p, float *scratch)
{
    int n = f->n, ch = f->channels;
    for (int i = 0; i < 3; i++)
        f->c[i] = c[i];
    for (int i = 2; i >= 0; i--) {
        net_conv_forward(&f->inner[i], c[i], n, f->ch[i], f->cw[i], f->last_inner[i], 0, scratch);
        if (i < 2) {
            float *up = p->slot[0], *li = f->last_inner[i];
            upsample_nearest_forward(f->last_inner[i + 1], n, ch, f->h[i + 1], f->w[i + 1],
                                     f->h[i], f->w[i], up);
            add_forward(li, up, (size_t)n * ch * f->h[i] * f->w[i], li);
        }
        net_conv_forward(&f->layer[i], f->last_inner[i], n, f->h[i], f->w[i], f->p[i], 0, scratch);
    }
    const float *src = f->p6_from_c5 ? c[2] : f->p[2];
    net_conv_forward(&f->p6, src, n, f->h[2], f->w[2], f->p[3], 0, scratch);
    relu_forward(f->p[3], (size_t)n * ch * f->h[3] * f->w[3], f->p6_relu);
    net_conv_forward(&f->p7, f->p6_relu, n, f->h[3], f->w[3], f->p[4], 0, scratch);
}

/* y += x over count floats. */
static void fpn_add(float *y, const float *x, size_t count)
{
    add_forward(y, x, count, y);
}

void fpn_backward(fpn *f, const net_plan *p, float *scratch)
{
    RD_CHECK(p->training, "fpn_backward needs a training plan");
    int n = f->n, ch = f->channels;
    float *t = p->slot[0], *u = p->slot[1], *v = p->slot[2], *w = p->slot[3];
    size_t level[FPN_LEVELS];
    for (int l = 0; l < FPN_LEVELS; l++)
        level[l] = (size_t)n * ch * f->h[l] * f->w[l];
    /* P7 = p7(ReLU(P6)); P6 = p6(P5 or C5). */
    net_conv_backward(&f->p7, f->p6_relu, NULL, f->dp[4], n, f->h[3], f->w[3], 0, t, scratch);
    relu_backward(f->p6_relu, t, level[3], t);
    fpn_add(f->dp[3], t, level[3]);
    const float *src = f->p6_from_c5 ? f->c[2] : f->p[2];
    float *dsrc = f->p6_from_c5 && f->dc[2] == NULL ? NULL : v;
    net_conv_backward(&f->p6, src, NULL, f->dp[3], n, f->h[2], f->w[2], 0, dsrc, scratch);
    if (!f->p6_from_c5)
        fpn_add(f->dp[2], v, level[2]);
    /* Top-down path, from P3 upwards: d last_inner[i] = layer_i' dP_i + up'(d last_inner[i-1]). */
    float *dli = t, *dnext = u;
    for (int i = 0; i < 3; i++) {
        if (i == 0) {
            net_conv_backward(&f->layer[0], f->last_inner[0], NULL, f->dp[0], n, f->h[0],
                              f->w[0], 0, dli, scratch);
        } else {
            net_conv_backward(&f->layer[i], f->last_inner[i], NULL, f->dp[i], n, f->h[i],
                              f->w[i], 0, w, scratch);
            fpn_add(dli, w, level[i]);
        }
        net_conv_backward(&f->inner[i], f->c[i], NULL, dli, n, f->ch[i], f->cw[i], 0, f->dc[i],
                          scratch);
        if (i < 2) {
            upsample_nearest_backward(dli, n, ch, f->h[i + 1], f->w[i + 1], f->h[i], f->w[i],
                                      dnext);
            float *tmp = dli;
            dli = dnext;
            dnext = tmp;
        }
    }
    if (f->p6_from_c5 && f->dc[2] != NULL)
        fpn_add(f->dc[2], v, (size_t)n * f->cin[2] * f->ch[2] * f->cw[2]);
}
