/* case_rng.c — splitmix64 and the MMIX LCG for random test cases (see case_rng.h). */
#include "tests/case_rng.h"

#include <stdlib.h>

#include <check.h>

uint64_t case_next(case_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double case_unit(case_rng *r)
{
    return (double)(case_next(r) >> 11) * 0x1.0p-53;
}

int case_below(case_rng *r, int n)
{
    return (int)(case_next(r) % (uint64_t)n);
}

float *case_floats(case_rng *r, size_t count, float lo, float hi)
{
    float *v = malloc(count * sizeof *v + 1);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < count; i++)
        v[i] = lo + (hi - lo) * (float)case_unit(r);
    return v;
}

uint32_t case_lcg_below(uint64_t *state, uint32_t m)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((*state >> 33) % m);
}
