/* case_rng.h — the seeded generators that draw random test cases, so that a case number names
 * the same batch on every machine: splitmix64 (Steele, Lea and Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014, as in Vigna's splitmix64.c) and Knuth's
 * 64-bit MMIX linear congruential generator. Not lib/rng (GSL): the test cases must not move
 * when the library's generator does. */
#ifndef RD_TESTS_CASE_RNG_H
#define RD_TESTS_CASE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct case_rng {
    uint64_t state;  // splitmix64; any seed
} case_rng;

/* The next 64 random bits. Cannot fail. */
uint64_t case_next(case_rng *r);
/* Uniform in [0, 1) with 53 random bits. Cannot fail. */
double case_unit(case_rng *r);
/* Uniform integer in [0, n), n > 0 (a modulo draw: its bias, about n/2^64, is negligible). */
int case_below(case_rng *r, int n);

/* count uniform floats lo + (hi - lo) · case_unit, in a malloc'd array the caller frees (one
 * spare byte, so count 0 is a valid pointer); fails the running check test when out of
 * memory. */
float *case_floats(case_rng *r, size_t count, float lo, float hi);

/* Uniform integer in [0, m), m > 0, from the LCG state (the high 31 bits, modulo m). */
uint32_t case_lcg_below(uint64_t *state, uint32_t m);

#endif
