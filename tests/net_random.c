/* net_random.c — random values for the network tests (net_random.h). */
#include "tests/net_random.h"

#include <math.h>
#include <stdlib.h>

#include "lib/rng.h"
#include "tests/check_main.h"

void net_fill_random(retinanet *m, uint64_t seed)
{
    rd_rng rng;
    rd_rng_init(&rng, seed);
    for (int i = 0; i < m->nparams; i++) {
        retinanet_param *p = &m->params[i];
        double lo = -0.1, hi = 0.1;
        if (p->role == NET_ROLE_CONV_WEIGHT) {
            double fan_in = (double)p->shape[1] * p->shape[2] * p->shape[3];
            hi = sqrt(6.0 / fan_in);
            lo = -hi;
        } else if (p->role == NET_ROLE_BN_WEIGHT || p->role == NET_ROLE_BN_VAR) {
            lo = 0.5;
            hi = 1.5;
        }
        for (size_t k = 0; k < p->count; k++)
            p->data[k] = (float)(lo + (hi - lo) * rd_rng_uniform(&rng));
    }
    rd_rng_free(&rng);
    retinanet_fold_bn(m);
}

retinanet_config net_small_config(int paper)
{
    retinanet_config c;
    retinanet_config_default(&c, paper);
    c.depth = 18;
    c.width = 4;
    c.fpn_channels = 8;
    c.num_classes = 2;
    return c;
}

void net_fill_uniform(retinanet *m, uint64_t seed)
{
    rd_rng rng;
    rd_rng_init(&rng, seed);
    for (int i = 0; i < m->nparams; i++)
        for (size_t k = 0; k < m->params[i].count; k++)
            m->params[i].data[k] = (float)(0.5 + rd_rng_uniform(&rng));
    rd_rng_free(&rng);
    retinanet_fold_bn(m);
}

float *net_random_floats(size_t n, uint64_t seed, double scale)
{
    rd_rng rng;
    rd_rng_init(&rng, seed);
    float *x = malloc(n * sizeof *x + 1);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * (2.0 * rd_rng_uniform(&rng) - 1.0));
    rd_rng_free(&rng);
    return x;
}
