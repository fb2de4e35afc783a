/* rng.c — seeded random numbers on GSL's mt19937 (Matsumoto & Nishimura 1998), see rng.h.
 * gsl_rng_set seeds like the reference init_genrand, so seed 5489 gives the reference stream. */
#include "lib/rng.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "lib/check.h"

void rd_rng_init(rd_rng *r, uint64_t seed)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    RD_CHECK(g != NULL, "out of memory allocating a GSL mt19937 generator");
    gsl_rng_set(g, (unsigned long)seed);
    r->gsl = g;
}

void rd_rng_seed(rd_rng *r, uint64_t seed)
{
    gsl_rng_set(r->gsl, (unsigned long)seed);
}

void rd_rng_free(rd_rng *r)
{
    gsl_rng_free(r->gsl);
    r->gsl = NULL;
}

double rd_rng_uniform(rd_rng *r)
{
    return gsl_rng_uniform(r->gsl);
}

double rd_rng_gaussian(rd_rng *r, double sigma)
{
    return gsl_ran_gaussian(r->gsl, sigma);
}

/* mt19937 yields 32 bits per draw; ranges wider than 2^32 combine two draws and reject the
 * top partial block so every value stays equally likely. */
uint64_t rd_rng_below(rd_rng *r, uint64_t n)
{
    RD_CHECK(n > 0, "rd_rng_below needs a non-empty range");
    if (n <= 0x100000000ull)
        return gsl_rng_uniform_int(r->gsl, (unsigned long)n);
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    for (;;) {
        uint64_t hi = gsl_rng_get(r->gsl), lo = gsl_rng_get(r->gsl);
        uint64_t x = hi << 32 | lo;
        if (x < limit)
            return x % n;
    }
}
