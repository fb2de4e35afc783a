/* tv_weights.c — the parity fixtures' weight generator (tv_weights.h), the C twin of
 * tests/make_torchvision_fixtures.py. */
#include "tests/tv_weights.h"

#include <math.h>
#include <string.h>

#define TVW_GOLDEN 0x9E3779B97F4A7C15ull

static uint64_t tvw_fnv1a(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001B3ull;
    }
    return h;
}

/* Draw i (0-based) of the stream that starts at state. */
static uint64_t tvw_draw(uint64_t state, uint64_t i)
{
    uint64_t z = state + (i + 1) * TVW_GOLDEN;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t tvw_state(const char *name, uint64_t seed)
{
    return tvw_fnv1a(name) + seed * TVW_GOLDEN;
}

/* s in [-1, 1) in double (exact). */
static double tvw_s(uint64_t state, uint64_t i)
{
    double u = (double)(tvw_draw(state, i) >> 40) * (1.0 / 16777216.0);
    return 2.0 * u - 1.0;
}

void tvw_uniform_pm1(const char *name, uint64_t seed, size_t count, float *out)
{
    uint64_t state = tvw_state(name, seed);
    for (size_t i = 0; i < count; i++)
        out[i] = (float)tvw_s(state, i);
}

void tvw_image(uint64_t seed, int height, int width, uint8_t *rgb)
{
    uint64_t state = tvw_state("image", seed);
    size_t n = (size_t)height * width * 3;
    for (size_t i = 0; i < n; i++)
        rgb[i] = (uint8_t)(tvw_draw(state, i) >> 56);
}

static int tvw_ends(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* One tensor as the script's tensor_values computes it. */
static void tvw_fill_param(retinanet_param *p, uint64_t seed, double gain_cls, double gain_box)
{
    uint64_t state = tvw_state(p->name, seed);
    double scale = 0.0;
    if (p->role == NET_ROLE_CONV_WEIGHT) {
        double fan_in = (double)p->shape[1] * p->shape[2] * p->shape[3];
        double gain = tvw_ends(p->name, "cls_logits.weight")              ? gain_cls
                      : tvw_ends(p->name, "bbox_reg.weight")              ? gain_box
                      : strncmp(p->name, "backbone.fpn.", 13) == 0 ? 1.0
                                                                          : sqrt(2.0);
        scale = sqrt(3.0 / fan_in) * gain;
    }
    for (size_t i = 0; i < p->count; i++) {
        double s = tvw_s(state, i), v;
        switch (p->role) {
        case NET_ROLE_CONV_WEIGHT:
            v = s * scale;
            break;
        case NET_ROLE_BN_WEIGHT:
            v = 0.5 + 0.25 * s;
            break;
        case NET_ROLE_BN_VAR:
            v = 1.0 + 0.5 * s;
            break;
        case NET_ROLE_CONV_BIAS:
            v = tvw_ends(p->name, "cls_logits.bias") ? -log(99.0) : 0.1 * s;
            break;
        default:  // BatchNorm bias and running_mean
            v = 0.1 * s;
            break;
        }
        p->data[i] = (float)v;
    }
}

void tvw_fill_model(retinanet *m, uint64_t seed, double gain_cls, double gain_box)
{
    for (int i = 0; i < m->nparams; i++)
        tvw_fill_param(&m->params[i], seed, gain_cls, gain_box);
    retinanet_fold_bn(m);
}
