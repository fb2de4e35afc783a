/* rng.h — seeded random numbers on GSL's mt19937. Same seed, same stream, on every machine. */
#ifndef RD_RNG_H
#define RD_RNG_H

#include <stdint.h>

typedef struct rd_rng {
    void *gsl;  // gsl_rng *, owned
} rd_rng;

/* Seed a generator (aborts on OOM). Free with rd_rng_free. */
void rd_rng_init(rd_rng *r, uint64_t seed);
void rd_rng_free(rd_rng *r);
/* Restart the stream from seed, as a fresh rd_rng_init(seed) would; allocates nothing. */
void rd_rng_seed(rd_rng *r, uint64_t seed);
/* Uniform in [0, 1). */
double rd_rng_uniform(rd_rng *r);
/* Standard normal draw times sigma. */
double rd_rng_gaussian(rd_rng *r, double sigma);
/* Uniform integer in [0, n). */
uint64_t rd_rng_below(rd_rng *r, uint64_t n);

#endif
