/* net_random.h — random values for the network tests:
 * weights that give O(1) activations everywhere, uniform values and inputs, a small model
 * config (test_retinanet, test_retinanet_cuda, test_checkpoint, test_checkpoint_train). */
#ifndef RD_NET_RANDOM_H
#define RD_NET_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#include "detector/retinanet.h"

/* He-scaled uniform convolution weights, BatchNorm weights and variances in [0.5, 1.5], other
 * values in [-0.1, 0.1] (the default init makes the heads nearly constant, which would hide
 * gradient errors); then the BatchNorms are folded. */
void net_fill_random(retinanet *m, uint64_t seed);
/* A small ResNet-18 RetinaNet (width 4, 8 FPN channels, 2 classes) of either P6 convention
 * (paper: 1). */
retinanet_config net_small_config(int paper);
/* Every table value uniform in [0.5, 1.5) from seed (BatchNorm statistics included), then the
 * BatchNorms folded. */
void net_fill_uniform(retinanet *m, uint64_t seed);
/* n floats uniform in [-scale, scale] from seed (caller frees; never NULL). */
float *net_random_floats(size_t n, uint64_t seed, double scale);

#endif
