/* toy.h — linearly separable toy data for the convergence study (Proposition 1 and Figure 5b
 * of Chen et al., CVPR 2019, "Towards Accurate One-Stage Object Detection with AP-Loss"), and
 * the true AP (Heaviside, eq. 5) that the study measures.
 *
 * Both kinds of set start from white points z ~ N(0, I_d), a unit direction v in that white
 * space and a threshold c: a point is positive when v·z > c. Points with |v·z - c| <= margin
 * are drawn again (the margin band), and so is a point whose side already holds its share, so
 * the number of positives is exactly round(pos_frac·n); c is chosen so the band-truncated
 * normal has that fraction of positives naturally (few redraws). The features x the model sees
 * and the stored hyperplane (unit normal w* in feature space, offset b*) depend on the kind:
 *
 * TOY_DATA_GAUSSIAN (`--data gaussian`): x = z and w* = v (drawn first: a Gaussian vector,
 *   normalised), b* = -c. The class means differ along w* itself, so the very first update of
 *   almost any loss, a weighted difference of positive and negative points, already points
 *   along the separating normal; every loss solves it in a few steps.
 * TOY_DATA_ANISOTROPIC (`--data anisotropic`): per-feature scales s_k = 10^{u_k} / r with
 *   u_k uniform in [-1, 1] (so they spread over up to two decades) and r chosen so that
 *   mean_k s_k^2 = 1 (E|x|^2 = d, as for the Gaussian set, so a learning rate means the same
 *   on both); x_k = s_k z_k, i.e. x ~ N(0, S^2) with S = diag(s). Draw order: the d values
 *   u_k, then v (a Gaussian vector, normalised), then the points. The positive side
 *   v·z > c is, in feature space, the half-space with normal w* = S^{-1} v / |S^{-1} v|: it
 *   leans on the low-variance features. The class means, however, differ along
 *   Cov·w* = S^2 w*, parallel to S v, which leans on the high-variance ones (this is the
 *   conditional mean of a Gaussian given its projection on w*, whatever the truncation). The
 *   population cosine between the mean difference and the normal is
 *   1 / (|S v| |S^{-1} v|); for u uniform it is about 1 / sqrt(E[s^2] E[s^-2]) ≈ 0.09 once
 *   d is more than a handful (toy_mean_gap_cosine measures it on a set). This is the textbook
 *   case where the mean difference and Fisher's discriminant part ways: a step along the
 *   mean difference mostly grows weights on nuisance features that carry no margin.
 *   Margin geometry: the margin is measured in the data's own (Mahalanobis) metric, i.e. in
 *   units of sigma* = std(w*·x) = 1 / |S^{-1} v|, the width of the class-free projection;
 *   w*·x + b* = sigma* (v·z - c) with b* = -c·sigma*. For the Gaussian set sigma* = 1, so
 *   both kinds read the same: every point has |w*·x + b*| > margin·proj_std.
 *
 * In both kinds the margin condition is enforced on the stored floats: toy_signed_distance
 * (double arithmetic on the stored x and w*) is compared with margin·proj_std when a point is
 * accepted. Label noise (the non-separable variant): exactly round(noise·n) distinct points,
 * chosen uniformly by a seeded partial Fisher–Yates shuffle after all points are drawn, have
 * their label flipped (1 <-> 0); `clean` keeps the labels before flipping. */
#ifndef RD_TOY_H
#define RD_TOY_H

#include <stddef.h>
#include <stdint.h>

typedef enum toy_data {
    TOY_DATA_GAUSSIAN = 0,  // x ~ N(0, I)
    TOY_DATA_ANISOTROPIC,   // x ~ N(0, S^2), normal not along the class-mean difference
} toy_data;

typedef struct toy_config {
    int64_t samples;   // n
    int dim;           // d
    double pos_frac;   // fraction of positives (before noise), e.g. 0.02
    double margin;     // every point has |w*·x + b*| > margin·proj_std
    double noise;      // fraction of labels flipped after drawing; 0: separable
    uint64_t seed;
    toy_data data;     // kind of set; TOY_DATA_GAUSSIAN (0) by default
} toy_config;

typedef struct toy_set {
    int64_t n;
    int dim;
    toy_data data;
    float *x;             // [n][dim] row-major, owned
    int8_t *labels;       // [n] 1 positive, 0 negative (after noise), owned
    int8_t *clean;        // [n] the side of the hyperplane (labels before noise), owned
    float *w_star;        // [dim] unit normal of the separating hyperplane, owned
    float *scales;        // [dim] per-feature standard deviations s_k (all 1: gaussian), owned
    double b_star;        // offset: positives have w*·x + b* > margin·proj_std
    double proj_std;      // std of w*·x before truncation, the margin's unit (1: gaussian)
    int64_t num_pos;      // positives after noise
    int64_t num_flipped;  // labels flipped by noise: round(noise·n)
} toy_set;

/* The kind named `name` ("gaussian" or "anisotropic") into *kind: 0, or -1 after an error
 * message naming the --data flag and the accepted names. */
int toy_data_from_name(const char *name, toy_data *kind);
/* "gaussian" or "anisotropic". */
const char *toy_data_name(toy_data kind);

/* Check a config; on a bad value prints an error naming the field (by its `rankdet toy` flag
 * name) and returns -1, else 0. */
int toy_config_validate(const toy_config *c);

/* Draw a set (deterministic for c->seed and c->data). The config must pass
 * toy_config_validate (checked; aborts otherwise). Aborts on OOM. The set owns its arrays:
 * release with toy_free. */
void toy_generate(const toy_config *c, toy_set *set);
void toy_free(toy_set *set);

/* w*·x_i + b* in double, from the stored float w* and x_i (the quantity the margin bounds). */
double toy_signed_distance(const toy_set *set, int64_t i);

/* Cosine between w* and the difference of the class means of the set's points (clean
 * labels), in double: near 1 for the Gaussian set, small for the anisotropic one. Aborts on
 * OOM (two [dim] sums, freed before returning). */
double toy_mean_gap_cosine(const toy_set *set);

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
