/* toy.c — the linearly separable toy generators (isotropic Gaussian and anisotropic) and the
 * true AP (eq. 5) of the convergence study; see toy.h for the exact sampling, margin and noise
 * rules. Reference: Chen et al., CVPR 2019, Section 4.2 (Proposition 1) and Figure 5b. */
#include "data/toy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check.h"
#include "lib/rng.h"

#define TOY_MAX_MARGIN 3.0
#define TOY_MIN_ACCEPT 1e-3  // smallest acceptable chance that a draw lands outside the band

typedef struct toy_ranked {
    float score;
    int8_t positive;
} toy_ranked;

/* P(Z > z) and P(Z < z) for a standard normal Z. */
static double normal_upper(double z) { return 0.5 * erfc(z / sqrt(2.0)); }
static double normal_lower(double z) { return 0.5 * erfc(-z / sqrt(2.0)); }

/* Threshold c (positive iff w*·x > c, i.e. b* = -c) at which the Gaussian truncated outside
 * the band |w*·x - c| <= margin has a fraction pos_frac of positives; bisection on the
 * decreasing fraction. *accept receives the chance that a draw lies outside the band. */
static double toy_solve_threshold(double pos_frac, double margin, double *accept)
{
    double lo = -12.0, hi = 12.0;
    for (int it = 0; it < 200; it++) {
        double c = 0.5 * (lo + hi);
        double p = normal_upper(c + margin), q = normal_lower(c - margin);
        if (p / (p + q) > pos_frac)
            lo = c;
        else
            hi = c;
    }
    double c = 0.5 * (lo + hi);
    *accept = normal_upper(c + margin) + normal_lower(c - margin);
    return c;
}

int toy_data_from_name(const char *name, toy_data *kind)
{
    if (strcmp(name, "gaussian") == 0) {
        *kind = TOY_DATA_GAUSSIAN;
        return 0;
    }
    if (strcmp(name, "anisotropic") == 0) {
        *kind = TOY_DATA_ANISOTROPIC;
        return 0;
    }
    rd_error("toy data: --data '%s' is not a kind of set; use gaussian or anisotropic", name);
    return -1;
}

const char *toy_data_name(toy_data kind)
{
    return kind == TOY_DATA_ANISOTROPIC ? "anisotropic" : "gaussian";
}

int toy_config_validate(const toy_config *c)
{
    if (c->data != TOY_DATA_GAUSSIAN && c->data != TOY_DATA_ANISOTROPIC) {
        rd_error("toy data: --data must be gaussian or anisotropic (got kind %d)", (int)c->data);
        return -1;
    }
    if (c->samples < 2 || c->samples > 100000000) {
        rd_error("toy data: --samples %lld must be between 2 and 1e8", (long long)c->samples);
        return -1;
    }
    if (c->dim < 1 || (int64_t)c->dim * c->samples > INT32_MAX) {
        rd_error("toy data: --dim %d must be at least 1 with samples x dim below 2^31", c->dim);
        return -1;
    }
    int64_t npos = llround(c->pos_frac * (double)c->samples);
    if (!(c->pos_frac > 0 && c->pos_frac < 1) || npos < 1 || npos > c->samples - 1) {
        rd_error("toy data: --pos-frac %g gives %lld positives of %lld samples; need at least "
                 "one positive and one negative", c->pos_frac, (long long)npos,
                 (long long)c->samples);
        return -1;
    }
    double accept;
    toy_solve_threshold(c->pos_frac, c->margin >= 0 ? c->margin : 0, &accept);
    if (!(c->margin >= 0 && c->margin <= TOY_MAX_MARGIN) || accept < TOY_MIN_ACCEPT) {
        rd_error("toy data: --margin %g must be in [0, %g] and leave room for points outside "
                 "the band (chance of a draw landing outside: %.2g)", c->margin, TOY_MAX_MARGIN,
                 accept);
        return -1;
    }
    if (!(c->noise >= 0 && c->noise <= 0.5)) {
        rd_error("toy data: --noise %g must be a fraction of labels in [0, 0.5]", c->noise);
        return -1;
    }
    return 0;
}

double toy_signed_distance(const toy_set *set, int64_t i)
{
    const float *xi = set->x + i * set->dim;
    double z = set->b_star;
    for (int k = 0; k < set->dim; k++)
        z += (double)set->w_star[k] * xi[k];
    return z;
}

/* Draw every point: each lands outside the margin band, on a side that still has room. */
static void toy_draw_points(const toy_config *c, toy_set *set, rd_rng *rng)
{
    int64_t want_pos = llround(c->pos_frac * (double)c->samples);
    int64_t want_neg = c->samples - want_pos, got_pos = 0, got_neg = 0;
    double band = c->margin * set->proj_std;
    int scaled = set->data == TOY_DATA_ANISOTROPIC;
    for (int64_t i = 0; i < set->n;) {
        float *xi = set->x + i * set->dim;
        for (int k = 0; k < set->dim; k++)
            xi[k] = scaled ? (float)(set->scales[k] * rd_rng_gaussian(rng, 1.0))
                           : (float)rd_rng_gaussian(rng, 1.0);
        double z = toy_signed_distance(set, i);
        if (fabs(z) <= band || z == 0.0)
            continue;
        int positive = z > 0;
        if (positive ? got_pos == want_pos : got_neg == want_neg)
            continue;
        got_pos += positive;
        got_neg += !positive;
        set->clean[i++] = (int8_t)positive;
    }
}

/* Flip exactly round(noise·n) distinct labels chosen by a partial Fisher–Yates shuffle. */
static void toy_flip_labels(const toy_config *c, toy_set *set, rd_rng *rng)
{
    int64_t n = set->n, k = llround(c->noise * (double)n);
    int64_t *idx = rd_malloc((size_t)n * sizeof *idx, "toy noise indices");
    for (int64_t i = 0; i < n; i++)
        idx[i] = i;
    for (int64_t i = 0; i < k; i++) {
        int64_t j = i + (int64_t)rd_rng_below(rng, (uint64_t)(n - i));
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        set->labels[idx[i]] = (int8_t)(1 - set->labels[idx[i]]);
    }
    free(idx);
    set->num_flipped = k;
}

/* A unit direction v[d]: a Gaussian vector, drawn again while its norm is tiny, normalised. */
static void toy_draw_direction(rd_rng *rng, int d, float *v)
{
    double norm;
    do {
        norm = 0;
        for (int k = 0; k < d; k++) {
            v[k] = (float)rd_rng_gaussian(rng, 1.0);
            norm += (double)v[k] * v[k];
        }
    } while (norm < 1e-12);
    for (int k = 0; k < d; k++)
        v[k] = (float)(v[k] / sqrt(norm));
}

/* The anisotropic set's scales s_k = 10^{u_k} / r (mean s_k^2 = 1) and its hyperplane:
 * w* = S^{-1} v / |S^{-1} v| from the white-space direction v, proj_std = 1 / |S^{-1} v|. */
static void toy_draw_anisotropic(rd_rng *rng, toy_set *set)
{
    int d = set->dim;
    double mean_sq = 0;
    for (int k = 0; k < d; k++) {
        double s = pow(10.0, 2.0 * rd_rng_uniform(rng) - 1.0);
        set->scales[k] = (float)s;
        mean_sq += s * s / d;
    }
    for (int k = 0; k < d; k++)
        set->scales[k] = (float)(set->scales[k] / sqrt(mean_sq));
    toy_draw_direction(rng, d, set->w_star);  // v, turned into w* below
    double norm = 0;
    for (int k = 0; k < d; k++) {
        double wk = (double)set->w_star[k] / set->scales[k];
        norm += wk * wk;
    }
    norm = sqrt(norm);
    for (int k = 0; k < d; k++)
        set->w_star[k] = (float)((double)set->w_star[k] / set->scales[k] / norm);
    set->proj_std = 1.0 / norm;
}

void toy_generate(const toy_config *c, toy_set *set)
{
    RD_CHECK(toy_config_validate(c) == 0, "validate the toy config before generating");
    memset(set, 0, sizeof *set);
    set->n = c->samples;
    set->dim = c->dim;
    set->data = c->data;
    set->x = rd_malloc((size_t)c->samples * c->dim * sizeof *set->x, "toy features");
    set->labels = rd_malloc((size_t)c->samples, "toy labels");
    set->clean = rd_malloc((size_t)c->samples, "toy clean labels");
    set->w_star = rd_malloc((size_t)c->dim * sizeof *set->w_star, "toy hyperplane");
    set->scales = rd_malloc((size_t)c->dim * sizeof *set->scales, "toy feature scales");

    rd_rng rng;
    rd_rng_init(&rng, c->seed);
    if (c->data == TOY_DATA_ANISOTROPIC) {
        toy_draw_anisotropic(&rng, set);
    } else {
        toy_draw_direction(&rng, c->dim, set->w_star);
        for (int k = 0; k < c->dim; k++)
            set->scales[k] = 1.0f;
        set->proj_std = 1.0;
    }
    double accept;
    set->b_star = -toy_solve_threshold(c->pos_frac, c->margin, &accept) * set->proj_std;

    toy_draw_points(c, set, &rng);
    memcpy(set->labels, set->clean, (size_t)set->n);
    toy_flip_labels(c, set, &rng);
    rd_rng_free(&rng);
    for (int64_t i = 0; i < set->n; i++)
        set->num_pos += set->labels[i] == 1;
}

void toy_free(toy_set *set)
{
    free(set->x);
    free(set->labels);
    free(set->clean);
    free(set->w_star);
    free(set->scales);
    memset(set, 0, sizeof *set);
}

double toy_mean_gap_cosine(const toy_set *set)
{
    int d = set->dim;
    double *sum_pos = rd_calloc((size_t)d, sizeof *sum_pos, "toy positive mean");  // [d]
    double *sum_neg = rd_calloc((size_t)d, sizeof *sum_neg, "toy negative mean");  // [d]
    int64_t npos = 0;
    for (int64_t i = 0; i < set->n; i++) {
        double *sum = set->clean[i] == 1 ? sum_pos : sum_neg;
        npos += set->clean[i] == 1;
        for (int k = 0; k < d; k++)
            sum[k] += set->x[i * d + k];
    }
    double dot = 0, norm = 0;
    for (int k = 0; k < d; k++) {
        double gap = sum_pos[k] / (double)npos - sum_neg[k] / (double)(set->n - npos);
        dot += gap * set->w_star[k];
        norm += gap * gap;
    }
    free(sum_pos);
    free(sum_neg);
    return norm > 0 ? dot / sqrt(norm) : 0.0;
}

size_t toy_ap_scratch_bytes(int64_t n)
{
    return (size_t)(n > 0 ? n : 1) * sizeof(toy_ranked);
}

static int toy_ranked_descending(const void *a, const void *b)
{
    float sa = ((const toy_ranked *)a)->score, sb = ((const toy_ranked *)b)->score;
    return (sa < sb) - (sa > sb);
}

double toy_average_precision(const float *scores, const int8_t *labels, int64_t n,
                             void *scratch)
{
    toy_ranked *r = scratch;  // [m] the entries not ignored
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (labels[i] != -1)
            r[m++] = (toy_ranked){scores[i], (int8_t)(labels[i] == 1)};
    qsort(r, (size_t)m, sizeof *r, toy_ranked_descending);
    // Walk groups of equal scores: every member of a group counts every other as above it.
    int64_t above = 0, above_pos = 0;
    double sum = 0;
    for (int64_t i = 0; i < m;) {
        int64_t j = i, group_pos = 0;
        while (j < m && r[j].score == r[i].score)
            group_pos += r[j++].positive;
        above += j - i;
        above_pos += group_pos;
        sum += (double)group_pos * (double)above_pos / (double)above;
        i = j;
    }
    return above_pos ? sum / (double)above_pos : NAN;
}
