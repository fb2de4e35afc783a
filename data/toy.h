/* toy.h — linearly separable toy data for the convergence study (Proposition 1 and Figure 5b
 * of Chen et al., CVPR 2019, "Towards Accurate One-Stage Object Detection with AP-Loss"), and
 * the true AP (Heaviside, eq. 5) that the study measures.
 *
 * A set is drawn from a seed: a random unit normal w* (Gaussian, normalised), then points
 * x ~ N(0, I_d) labelled 1 when w*·x + b* > 0 and 0 otherwise. Points with |w*·x + b*| <= margin
 * are drawn again, so every point is at least the margin away from the hyperplane. The number
 * of positives is exactly round(pos_frac·n): a point whose side is already full is drawn
 * again, and b* is chosen so the margin-truncated Gaussian has that fraction of positives
 * naturally (few redraws). Label noise (the non-separable variant): exactly round(noise·n)
 * distinct points, chosen uniformly by a seeded partial Fisher–Yates shuffle after all points
 * are drawn, have their label flipped (1 <-> 0); `clean` keeps the labels before flipping. */
#ifndef RD_TOY_H
#define RD_TOY_H

#include <stddef.h>
#include <stdint.h>

typedef struct toy_config {
    int64_t samples;   // n
    int dim;           // d
    double pos_frac;   // fraction of positives (before noise), e.g. 0.02
    double margin;     // every point has |w*·x + b*| > margin
    double noise;      // fraction of labels flipped after drawing; 0: separable
    uint64_t seed;
} toy_config;

typedef struct toy_set {
    int64_t n;
    int dim;
    float *x;             // [n][dim] row-major, owned
    int8_t *labels;       // [n] 1 positive, 0 negative (after noise), owned
    int8_t *clean;        // [n] the side of the hyperplane (labels before noise), owned
    float *w_star;        // [dim] unit normal of the separating hyperplane, owned
    double b_star;        // offset: positives have w*·x + b* > margin
    int64_t num_pos;      // positives after noise
    int64_t num_flipped;  // labels flipped by noise: round(noise·n)
} toy_set;

/* Check a config; on a bad value prints an error naming the field (by its `rankdet toy` flag
 * name) and returns -1, else 0. */
int toy_config_validate(const toy_config *c);

/* Draw a set (deterministic for c->seed). The config must pass toy_config_validate (checked;
 * aborts otherwise). Aborts on OOM. The set owns its arrays: release with toy_free. */
void toy_generate(const toy_config *c, toy_set *set);
void toy_free(toy_set *set);

/* w*·x_i + b* in double, from the stored float w* and x_i (the quantity the margin bounds). */
double toy_signed_distance(const toy_set *set, int64_t i);

/* Bytes of scratch toy_average_precision needs for n scores. */
size_t toy_ap_scratch_bytes(int64_t n);

/* True AP of a ranking, eq. 5 with the Heaviside step and H(0) = 1: for a positive i,
 * rank(i) = #{j : s_j >= s_i} and rank+(i) = #{positive j : s_j >= s_i} (i included), so a
 * negative tied with a positive counts as ranked above it; AP = mean over positives of
 * rank+(i)/rank(i). Entries labelled -1 are left out. NaN when there is no positive.
 * scratch: toy_ap_scratch_bytes(n) bytes, caller owned. Cannot fail; allocates nothing. */
double toy_average_precision(const float *scores, const int8_t *labels, int64_t n,
                             void *scratch);

#endif
