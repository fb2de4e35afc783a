/* tv_weights.h — the deterministic weights and inputs of the torchvision parity fixtures,
 * bit for bit as tests/make_torchvision_fixtures.py draws them (its docstring states the
 * generator: splitmix64 per tensor name, fnv1a64 keyed, one float32 rounding per value). */
#ifndef RD_TESTS_TV_WEIGHTS_H
#define RD_TESTS_TV_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "detector/retinanet.h"

/* Fill every tensor of m's table from the generator (seed, class-logit and box gains) and
 * refold the BatchNorms. */
void tvw_fill_model(retinanet *m, uint64_t seed, double gain_cls, double gain_box);
/* count values s in [-1, 1) of the stream `name`. */
void tvw_uniform_pm1(const char *name, uint64_t seed, size_t count, float *out);
/* The generated 8-bit RGB image [height][width][3] of the stream "image". */
void tvw_image(uint64_t seed, int height, int width, uint8_t *rgb);

#endif
