/* rank_cases.h — random ranking batches for the loss tests and the comparison of a fast loss
 * with its O(|P||N|) oracle (optim/rank_oracle.h): score kinds chosen to hit ties and the
 * cut-offs s_i ± δ of eq. 14, the invariants of the error-driven AP/AUC update (Chen et al.,
 * CVPR 2019, Algorithm 1), with a report that keeps the first mismatch of many cases. */
#ifndef RD_TESTS_RANK_CASES_H
#define RD_TESTS_RANK_CASES_H

#include <stdint.h>

#include "lib/arena.h"
#include "optim/loss.h"
#include "tests/case_rng.h"

/* One random batch of n entries. Kinds: 0 continuous in [-3, 3); 1 a grid of multiples of 1/4
 * (ties, and negatives exactly at s_i ± δ for every δ tested); 2 three values (heavy ties);
 * 3 all equal; 4 a grid of 1/8 with negatives then moved exactly onto some positive's
 * s_i - δ, s_i or s_i + δ. Positive and ignored fractions are drawn per batch. */
void case_fill(case_rng *r, int kind, double delta, float *s, int8_t *t, int n);

/* A batch of n scores far apart in magnitude, labels 1 / 0 / -1 uniformly. With δ = 0 (the
 * Heaviside step: only order and ties count) denormals, ±1e30, ±3e38, signed zeros and
 * neighbours one ulp apart; with δ > 0 a pool that keeps |s|/δ below 1e5 while still mixing
 * tiny and large (prefix sums are accurate to about 1e-16·max|s|/δ). */
void case_fill_extreme(case_rng *r, double delta, float *s, int8_t *t, int n);

/* Scores on a grid of step 1/grid in [-range, range]; labels pos_pct% 1, 10% -1, the rest 0,
 * drawn from the LCG state lcg (case_lcg_below). */
void case_fill_grid(uint64_t *lcg, int64_t n, int grid, int range, int pos_pct, float *s,
                    int8_t *t);

/* A large batch from seed: about 0.2% positives and 4.8% ignored. Overlapping scores
 * (positives around -1, negatives around -3, triangular of half-width 3) or, when narrow,
 * every score within 0.1 of -log 99 as at the start of training. */
void case_fill_big(float *s, int8_t *t, int64_t n, uint64_t seed, int narrow);

/* A fast loss compared with its oracle over many cases: the failures are counted and the
 * first one described. Start from {fast, oracle, 0, ""}. */
typedef struct case_comparison {
    loss_compute_fn fast;    // the loss under test
    loss_compute_fn oracle;  // its O(|P||N|) transcription
    int failures;
    char first[256];         // the first failure, for the assertion message
} case_comparison;

/* Run fast and oracle on one batch, case number c (scratch from ws, updates in buffers of
 * its own), and compare: status, counts, loss (1e-9 relative), every update (1e-6 relative,
 * far below the 1e-6 absolute a float update needs), loss 0 with no_positive set when there is
 * no positive, and the invariants of every AP/AUC update: ignored 0, positives <= 0,
 * negatives >= 0, sum 0, loss = the sum of the negatives' updates. */
void case_compare(case_comparison *cmp, int c, const loss_inputs *in, const loss_params *p,
                  rd_arena *ws);

/* case_compare on 2000 random batches drawn from seed: 1 to 300 entries, δ from
 * {0, 0.25, 0.5, 1, 2}, interpolation on or off, each kind of case_fill in turn, and every
 * 50th batch all ignored. */
void case_compare_random(case_comparison *cmp, uint64_t seed);

/* Fail the running check test, with the count and the first failure, if any case failed. */
void case_expect_no_failures(const case_comparison *cmp);

/* One entry of a ranking, for qsort. */
typedef struct case_ranked {
    float score;
    int64_t index;
} case_ranked;

/* qsort order: descending score, ties by ascending index. */
int case_ranked_desc(const void *a, const void *b);

#endif
