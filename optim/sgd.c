/* sgd.c — SGD with momentum and weight decay, and the warm-up + step schedule (see sgd.h).
 * The update follows torch.optim.SGD's single-tensor path operation by operation, each result
 * rounded to float as PyTorch's float32 kernels do: d = g + wd·w, b = μ·b + d, w = w - lr·b.
 * A zero momentum buffer makes the first step b = d exactly, PyTorch's clone of d. Every
 * element is updated by one thread, so the result does not depend on the thread count. */
#include "optim/sgd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check.h"

/* Below this many floats a tensor is updated on one thread. */
enum { SGD_PARALLEL_MIN = 1 << 16 };

void sgd_config_default(sgd_config *c)
{
    memset(c, 0, sizeof *c);
    c->lr = 0.001;
    c->momentum = 0.9;
    c->weight_decay = 1e-4;
    c->warmup_steps = 500;
    c->warmup_factor = 1.0 / 3.0;
    c->gamma = 0.1;
}

int sgd_config_check(const sgd_config *c, char *err, size_t errsize)
{
    const char *msg = NULL;
    if (!(c->lr > 0.0 && isfinite(c->lr)))
        msg = "lr must be a positive number";
    else if (!(c->momentum >= 0.0 && c->momentum < 1.0))
        msg = "momentum must be in [0, 1)";
    else if (!(c->weight_decay >= 0.0 && isfinite(c->weight_decay)))
        msg = "weight decay must be >= 0";
    else if (c->warmup_steps < 0)
        msg = "warm-up steps must be >= 0";
    else if (!(c->warmup_factor > 0.0 && c->warmup_factor <= 1.0))
        msg = "warm-up factor must be in (0, 1]";
    else if (!(c->gamma > 0.0 && c->gamma <= 1.0))
        msg = "gamma must be in (0, 1]";
    else if (c->num_milestones < 0 || c->num_milestones > SGD_MAX_MILESTONES)
        msg = "the number of milestones must be in [0, SGD_MAX_MILESTONES]";
    for (int i = 0; !msg && i < c->num_milestones; i++)
        if (c->milestones[i] < 1 || (i > 0 && c->milestones[i] <= c->milestones[i - 1]))
            msg = "milestones must be increasing steps >= 1";
    if (!msg)
        return 0;
    snprintf(err, errsize, "sgd: %s", msg);
    return -1;
}

double sgd_lr_at(const sgd_config *c, int64_t step)
{
    double lr = c->lr;
    if (step < c->warmup_steps) {
        double alpha = (double)step / (double)c->warmup_steps;
        lr *= c->warmup_factor * (1.0 - alpha) + alpha;
    }
    for (int i = 0; i < c->num_milestones; i++)
        if (step >= c->milestones[i])
            lr *= c->gamma;
    return lr;
}

void sgd_init(sgd *s, const sgd_config *c, const sgd_tensor *list, int n)
{
    char err[128];
    RD_CHECK(sgd_config_check(c, err, sizeof err) == 0, "%s; validate the config first", err);
    memset(s, 0, sizeof *s);
    s->cfg = *c;
    rd_arena_init(&s->arena);
    size_t bytes = 0;
    for (int i = 0; i < n; i++)
        if (list[i].grad)
            bytes += rd_arena_align(list[i].count * sizeof(float));
    int trainable = 0;
    for (int i = 0; i < n; i++)
        trainable += list[i].grad != NULL;
    s->tensors = rd_calloc((size_t)trainable + 1, sizeof *s->tensors, "sgd tensor list");
    s->momentum = rd_calloc((size_t)trainable + 1, sizeof *s->momentum, "sgd momentum list");
    rd_arena_reserve(&s->arena, bytes);
    for (int i = 0; i < n; i++) {
        if (!list[i].grad)
            continue;
        RD_CHECK(list[i].data != NULL, "sgd tensor %d has a gradient but no values", i);
        s->tensors[s->ntensors] = list[i];
        s->momentum[s->ntensors] = rd_arena_push(&s->arena, list[i].count * sizeof(float));
        memset(s->momentum[s->ntensors], 0, list[i].count * sizeof(float));
        s->num_values += list[i].count;
        s->ntensors++;
    }
}

void sgd_free(sgd *s)
{
    free(s->tensors);
    free(s->momentum);
    rd_arena_free(&s->arena);
    memset(s, 0, sizeof *s);
}

/* One tensor: d = g + wd·w, b = μ·b + d, w = w - lr·b, each rounded to float. */
static void sgd_update(float *w, const float *g, float *b, size_t count, float lr, float wd,
                       float mu)
{
#pragma omp parallel for schedule(static) if (count >= SGD_PARALLEL_MIN)
    for (size_t i = 0; i < count; i++) {
        float d = g[i] + wd * w[i];
        float m = mu * b[i] + d;
        b[i] = m;
        w[i] = w[i] - lr * m;
    }
}

double sgd_step(sgd *s)
{
    double lr = sgd_lr_at(&s->cfg, s->step);
    for (int i = 0; i < s->ntensors; i++)
        sgd_update(s->tensors[i].data, s->tensors[i].grad, s->momentum[i], s->tensors[i].count,
                   (float)lr, (float)s->cfg.weight_decay, (float)s->cfg.momentum);
    s->step++;
    return lr;
}
