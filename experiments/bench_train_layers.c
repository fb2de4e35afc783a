/* bench_train_layers.c — per-convolution timing of a planned RetinaNet (see
 * bench_train_layers.h). Each convolution runs with its planned batch and input side, its own
 * weights and random activations: forward, then backward with the outputs the step asks for
 * (dx unless the input is frozen or the image, dweight and dbias when trainable; nothing for a
 * frozen backbone block, which resnet_backward never enters). */
#include "experiments/bench_train_layers.h"

#include <stdlib.h>
#include <string.h>

#include "lib/check.h"
#include "lib/progress.h"

enum { BL_MAX_CONVS = 256, BL_MAX_GROUPS = 16, BL_REPS = 3 };

typedef struct bl_conv {
    int group;
    const net_conv *c;
    int n, h, w;
    int trainable, want_dx;
} bl_conv;

typedef struct bl_list {
    bl_conv conv[BL_MAX_CONVS];
    int count;
    const char *group_name[BL_MAX_GROUPS];
    int groups;
} bl_list;

static int bl_group(bl_list *l, const char *name)
{
    RD_CHECK(l->groups < BL_MAX_GROUPS, "too many layer groups");
    l->group_name[l->groups] = name;
    return l->groups++;
}

static void bl_add(bl_list *l, int group, const net_conv *c, int n, int h, int w, int trainable,
                   int want_dx)
{
    RD_CHECK(l->count < BL_MAX_CONVS, "too many convolutions to profile");
    l->conv[l->count++] = (bl_conv){group, c, n, h, w, trainable, want_dx};
}

/* The backbone's convolutions with their input sides, as resnet_plan lays them out. */
static void bl_backbone(bl_list *l, const resnet *r)
{
    static const char *names[4] = {"layer1", "layer2", "layer3", "layer4"};
    int n = r->n;
    bl_add(l, bl_group(l, "stem"), &r->stem, n, r->h, r->w, r->stem_trainable, 0);
    for (int i = 0; i < 4; i++) {
        int g = bl_group(l, names[i]);
        for (int j = 0; j < r->nblocks[i]; j++) {
            const resnet_block *b = &r->layer[i][j];
            int in_dx = j > 0 || (i > 0 ? resnet_layer_trainable(r, i - 1) : r->stem_trainable);
            const net_conv *cs[3] = {&b->c1, &b->c2, r->bottleneck ? &b->c3 : NULL};
            int h = b->h, w = b->w;
            for (int k = 0; k < 3 && cs[k]; k++) {  // a frozen block has no backward at all
                bl_add(l, g, cs[k], n, h, w, b->trainable, b->trainable && (k > 0 || in_dx));
                h = conv2d_out(h, cs[k]->d.k, cs[k]->d.stride, cs[k]->d.pad);
                w = conv2d_out(w, cs[k]->d.k, cs[k]->d.stride, cs[k]->d.pad);
            }
            if (b->has_down)
                bl_add(l, g, &b->down, n, b->h, b->w, b->trainable, b->trainable && in_dx);
        }
    }
}

static void bl_fpn_heads(bl_list *l, const retinanet *m)
{
    static const char *levels[FPN_LEVELS] = {"heads P3", "heads P4", "heads P5", "heads P6",
                                             "heads P7"};
    const fpn *f = &m->fpn;
    int n = f->n, gi = bl_group(l, "FPN laterals"), go = bl_group(l, "FPN outputs");
    int gp = bl_group(l, "FPN P6, P7");
    for (int i = 0; i < 3; i++) {
        int dc = resnet_layer_trainable(&m->backbone, i + 1);
        bl_add(l, gi, &f->inner[i], n, f->ch[i], f->cw[i], f->trainable, dc);
        bl_add(l, go, &f->layer[i], n, f->h[i], f->w[i], f->trainable, 1);
    }
    int p6h = f->p6_from_c5 ? f->ch[2] : f->h[2], p6w = f->p6_from_c5 ? f->cw[2] : f->w[2];
    bl_add(l, gp, &f->p6, n, p6h, p6w, f->trainable, 1);
    bl_add(l, gp, &f->p7, n, f->h[3], f->w[3], f->trainable, 1);
    const heads *hd = &m->heads;
    for (int lv = 0; lv < FPN_LEVELS; lv++) {
        int g = bl_group(l, levels[lv]);
        const head *hs[2] = {&hd->cls, &hd->box};
        for (int q = 0; q < 2; q++) {
            for (int k = 0; k < HEAD_CONVS; k++)
                bl_add(l, g, &hs[q]->tower[k], n, hd->h[lv], hd->w[lv], hd->trainable, 1);
            bl_add(l, g, &hs[q]->last, n, hd->h[lv], hd->w[lv], hd->trainable, 1);
        }
    }
}

static int bl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Buffers large enough for every convolution of the list. */
typedef struct bl_buffers {
    float *x, *y, *dx, *dw, *db, *scratch;
} bl_buffers;

static void bl_buffers_alloc(const bl_list *l, bl_buffers *b)
{
    size_t nx = 1, ny = 1, nw = 1, nb = 1, ns = 1;
    for (int i = 0; i < l->count; i++) {
        const bl_conv *c = &l->conv[i];
        const conv2d_desc *d = &c->c->d;
        int oh = conv2d_out(c->h, d->k, d->stride, d->pad), ow = conv2d_out(c->w, d->k, d->stride,
                                                                            d->pad);
        size_t x = (size_t)c->n * d->cin * c->h * c->w, y = (size_t)c->n * d->cout * oh * ow;
        size_t w = (size_t)d->cout * d->cin * d->k * d->k, s = conv2d_scratch_floats(d, c->n, c->h,
                                                                                      c->w);
        nx = x > nx ? x : nx, ny = y > ny ? y : ny, nw = w > nw ? w : nw;
        nb = (size_t)d->cout > nb ? (size_t)d->cout : nb, ns = s > ns ? s : ns;
    }
    float **bufs[6] = {&b->x, &b->y, &b->dx, &b->dw, &b->db, &b->scratch};
    size_t sizes[6] = {nx, ny, nx, nw, nb, ns};
    for (int i = 0; i < 6; i++) {
        *bufs[i] = rd_malloc(sizes[i] * sizeof(float), "layer profile buffer");
        for (size_t j = 0; j < sizes[i]; j++)
            (*bufs[i])[j] = (float)((j * 2654435761u) % 1000) * 1e-3f - 0.5f;
    }
}

/* Median seconds of forward and of backward of one convolution. */
static void bl_time(const bl_conv *c, const bl_buffers *b, double *fwd, double *bwd)
{
    double tf[BL_REPS], tb[BL_REPS];
    const net_conv *nc = c->c;
    for (int r = 0; r < BL_REPS; r++) {
        double t0 = rd_seconds();
        conv2d_forward(&nc->d, b->x, c->n, c->h, c->w, nc->weight, nc->bias, b->y, b->scratch);
        double t1 = rd_seconds();
        if (c->trainable || c->want_dx)
            conv2d_backward(&nc->d, b->x, c->n, c->h, c->w, nc->weight, b->y,
                            c->want_dx ? b->dx : NULL, c->trainable ? b->dw : NULL,
                            c->trainable && nc->bias ? b->db : NULL, b->scratch);
        tf[r] = t1 - t0, tb[r] = rd_seconds() - t1;
    }
    qsort(tf, BL_REPS, sizeof(double), bl_cmp);
    qsort(tb, BL_REPS, sizeof(double), bl_cmp);
    *fwd = tf[BL_REPS / 2], *bwd = tb[BL_REPS / 2];
}

void bench_train_layers_print_json(retinanet *m, FILE *out)
{
    static bl_list l;
    memset(&l, 0, sizeof l);
    bl_backbone(&l, &m->backbone);
    bl_fpn_heads(&l, m);
    bl_buffers b;
    bl_buffers_alloc(&l, &b);
    double fwd[BL_MAX_GROUPS] = {0}, bwd[BL_MAX_GROUPS] = {0};
    int convs[BL_MAX_GROUPS] = {0};
    for (int i = 0; i < l.count; i++) {
        double f, bw;
        bl_time(&l.conv[i], &b, &f, &bw);
        fwd[l.conv[i].group] += f, bwd[l.conv[i].group] += bw, convs[l.conv[i].group]++;
    }
    fprintf(out, ", \"layers\": [");
    for (int g = 0; g < l.groups; g++)
        fprintf(out, "%s{\"name\": \"%s\", \"convs\": %d, \"fwd_s\": %.6f, \"bwd_s\": %.6f}",
                g ? ", " : "", l.group_name[g], convs[g], fwd[g], bwd[g]);
    fprintf(out, "]");
    free(b.x), free(b.y), free(b.dx), free(b.dw), free(b.db), free(b.scratch);
}
