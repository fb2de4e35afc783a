/* test_toy.c — the toy convergence study: the generator (data/toy.c: seeded, exact positive
 * count, margin, label noise), the true AP of eq. 5 on hand-computed rankings (ties count
 * against), and short `rankdet toy` runs: error-driven `ap` on a small separable set reaches
 * AP = 1 within a step budget (Proposition 1) and the HDF5 log holds one row per step. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/toy.h"
#include "tests/check_main.h"

static toy_config small_config(uint64_t seed)
{
    return (toy_config){.samples = 1000, .dim = 8, .pos_frac = 0.03, .margin = 0.2,
                        .noise = 0.0, .seed = seed};
}

START_TEST(test_toy_is_deterministic_for_a_seed)
{
    toy_config c = small_config(7);
    toy_set a, b, other;
    toy_generate(&c, &a);
    toy_generate(&c, &b);
    ck_assert_mem_eq(a.x, b.x, (size_t)a.n * a.dim * sizeof(float));
    ck_assert_mem_eq(a.labels, b.labels, (size_t)a.n);
    ck_assert_mem_eq(a.w_star, b.w_star, (size_t)a.dim * sizeof(float));
    ck_assert(a.b_star == b.b_star);
    c.seed = 8;
    toy_generate(&c, &other);
    ck_assert(memcmp(a.x, other.x, (size_t)a.n * a.dim * sizeof(float)) != 0);
    toy_free(&a);
    toy_free(&b);
    toy_free(&other);
}
END_TEST

START_TEST(test_toy_positive_count_is_exact)
{
    toy_config c = small_config(3);
    toy_set s;
    toy_generate(&c, &s);
    int64_t pos = 0;
    for (int64_t i = 0; i < s.n; i++)
        pos += s.labels[i] == 1;
    ck_assert_int_eq(pos, 30);  // 3% of 1000
    ck_assert_int_eq(s.num_pos, 30);
    toy_free(&s);
    c.samples = 999;
    c.pos_frac = 0.05;  // 49.95 rounds to 50
    toy_generate(&c, &s);
    pos = 0;
    for (int64_t i = 0; i < s.n; i++)
        pos += s.labels[i] == 1;
    ck_assert_int_eq(pos, 50);
    toy_free(&s);
}
END_TEST

/* Every point lies on its label's side, farther than the margin, by an independent sum. */
static void check_separable(const toy_set *s, double margin)
{
    double norm = 0;
    for (int k = 0; k < s->dim; k++)
        norm += (double)s->w_star[k] * s->w_star[k];
    ck_assert_double_eq_tol(norm, 1.0, 1e-6);
    double closest = INFINITY;
    for (int64_t i = 0; i < s->n; i++) {
        double z = s->b_star;
        for (int k = 0; k < s->dim; k++)
            z += (double)s->w_star[k] * s->x[i * s->dim + k];
        ck_assert_msg(s->labels[i] == 1 ? z > margin : z < -margin,
                      "point %lld (label %d) has w*.x + b* = %g, margin %g", (long long)i,
                      s->labels[i], z, margin);
        closest = fmin(closest, fabs(z));
    }
    ck_assert(closest > margin && closest < margin + 0.1);  // the band is really excluded
}

START_TEST(test_toy_is_separable_with_the_margin)
{
    toy_config c = small_config(11);
    toy_set s;
    toy_generate(&c, &s);
    check_separable(&s, 0.2);
    toy_free(&s);
    c.margin = 1.0;
    c.pos_frac = 0.01;
    c.samples = 3000;
    toy_generate(&c, &s);
    check_separable(&s, 1.0);
    ck_assert_int_eq(s.num_pos, 30);
    toy_free(&s);
}
END_TEST

START_TEST(test_toy_noise_flips_the_stated_count)
{
    toy_config c = small_config(5);
    toy_set clean, noisy;
    toy_generate(&c, &clean);
    c.noise = 0.05;
    toy_generate(&c, &noisy);
    ck_assert_int_eq(noisy.num_flipped, 50);  // 5% of 1000
    int64_t differ = 0, flipped_to_pos = 0;
    for (int64_t i = 0; i < noisy.n; i++) {
        differ += noisy.labels[i] != noisy.clean[i];
        flipped_to_pos += noisy.labels[i] == 1 && noisy.clean[i] == 0;
        ck_assert_int_eq(noisy.clean[i], clean.labels[i]);  // same points, same sides
    }
    ck_assert_int_eq(differ, 50);
    ck_assert_int_eq(noisy.num_pos, 30 - (50 - flipped_to_pos) + flipped_to_pos);
    ck_assert_mem_eq(noisy.x, clean.x, (size_t)clean.n * clean.dim * sizeof(float));
    toy_free(&clean);
    toy_free(&noisy);
}
END_TEST

START_TEST(test_toy_config_rejects_bad_values)
{
    toy_config c = small_config(1);
    ck_assert_int_eq(toy_config_validate(&c), 0);
    c.pos_frac = 0.0001;  // rounds to no positive
    ck_assert_int_eq(toy_config_validate(&c), -1);
    c = small_config(1);
    c.margin = 5;
    ck_assert_int_eq(toy_config_validate(&c), -1);
    c = small_config(1);
    c.noise = 0.7;
    ck_assert_int_eq(toy_config_validate(&c), -1);
    c = small_config(1);
    c.samples = 1;
    ck_assert_int_eq(toy_config_validate(&c), -1);
}
END_TEST

static double ap_of(const float *s, const int8_t *t, int64_t n)
{
    void *scratch = malloc(toy_ap_scratch_bytes(n));
    double ap = toy_average_precision(s, t, n, scratch);
    free(scratch);
    return ap;
}

START_TEST(test_toy_true_ap_hand_computed)
{
    // Ranked 1(P) 2(N) 3(P): (1/1 + 2/3) / 2.
    ck_assert_double_eq_tol(ap_of((float[]){3, 2, 1}, (int8_t[]){1, 0, 1}, 3), 5.0 / 6, 1e-12);
    // A negative tied with the positive counts as above it (H(0) = 1): rank 2, AP 1/2.
    ck_assert_double_eq_tol(ap_of((float[]){1, 1}, (int8_t[]){1, 0}, 2), 0.5, 1e-12);
    // N at 2; P and N tied at 1 (P's rank 3, rank+ 1); P at 0 (rank 4, rank+ 2): (1/3+2/4)/2.
    ck_assert_double_eq_tol(ap_of((float[]){2, 1, 1, 0}, (int8_t[]){0, 1, 0, 1}, 4), 5.0 / 12,
                            1e-12);
    // The six scores with one ignored: P 2.567, P 1.57, N .747, N -.096, P -.847.
    float s6[] = {1.57f, -0.056f, 0.747f, -0.847f, 2.567f, -0.096f};
    ck_assert_double_eq_tol(ap_of(s6, (int8_t[]){1, -1, 0, 1, 1, 0}, 6), 13.0 / 15, 1e-12);
    // All scores equal: every positive has rank 5 and rank+ 2.
    ck_assert_double_eq_tol(ap_of((float[]){0, 0, 0, 0, 0}, (int8_t[]){0, 1, 0, 1, 0}, 5), 0.4,
                            1e-12);
    // Two tied positives above every negative: exactly 1.
    ck_assert(ap_of((float[]){-1, 4, 4, 3}, (int8_t[]){0, 1, 1, 0}, 4) == 1.0);
    ck_assert(isnan(ap_of((float[]){1, 2}, (int8_t[]){0, -1}, 2)));
}
END_TEST

/* Run a shell command; its stdout and stderr go into out. Returns the exit status. */
static int run_capture(const char *cmd, char *out, size_t size)
{
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t len = fread(out, 1, size - 1, p);
    out[len] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A whole 1-D float64 dataset of the log (caller frees); *n receives its length. */
static double *read_column(const char *path, const char *name, hsize_t *n)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "no dataset %s in %s", name, path);
    hid_t sp = H5Dget_space(d);
    ck_assert_int_eq(H5Sget_simple_extent_ndims(sp), 1);
    H5Sget_simple_extent_dims(sp, n, NULL);
    double *v = malloc((*n ? *n : 1) * sizeof *v);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
    return v;
}

/* `rankdet toy` with extra flags on a small separable set; checks the log against the summary
 * and returns the step at which AP = 1 was reached (-1: not reached). */
static long long toy_run_checked(const char *flags, int steps)
{
    char *dir = test_tmpdir(), log[512], cmd[1024], out[4096];
    snprintf(log, sizeof log, "%s/run.h5", dir);
    snprintf(cmd, sizeof cmd, "%s toy --samples 400 --dim 5 --pos-frac 0.05 --margin 0.1 "
             "--seed 3 --steps %d --log %s %s 2>&1", test_rankdet_bin(), steps, log, flags);
    ck_assert_msg(run_capture(cmd, out, sizeof out) == 0, "%s failed:\n%s", cmd, out);
    ck_assert_msg(strstr(out, "allocations after step 1: 0;"), "steady steps allocated:\n%s", out);
    long long reached = -1;
    const char *at = strstr(out, "AP = 1 at step ");
    if (at)
        reached = atoll(at + strlen("AP = 1 at step "));
    hsize_t n, n_ap, n_gap;
    double *step = read_column(log, "train/step", &n);
    double *ap = read_column(log, "train/ap", &n_ap);
    double *gap = read_column(log, "train/one_minus_ap", &n_gap);
    ck_assert_int_eq(n, steps);  // one row per step
    ck_assert_int_eq(n_ap, steps);
    ck_assert_int_eq(n_gap, steps);
    long long first = -1;
    for (hsize_t i = 0; i < n; i++) {
        ck_assert_double_eq(step[i], (double)(i + 1));
        ck_assert(ap[i] > 0 && ap[i] <= 1);
        ck_assert_double_eq_tol(gap[i], 1 - ap[i], 1e-15);
        if (first < 0 && ap[i] == 1.0)
            first = (long long)i + 1;
    }
    ck_assert_int_eq(first, reached);  // the summary and the log agree
    free(step);
    free(ap);
    free(gap);
    remove(log);
    rmdir(dir);
    free(dir);
    return reached;
}

START_TEST(test_toy_ap_reaches_one_full_batch)
{
    // Proposition 1: the error-driven update reaches AP = 1 on separable data, for δ = 1 and
    // for the Heaviside step, with and without interpolation.
    long long s1 = toy_run_checked("--loss ap", 60);
    ck_assert_msg(s1 >= 1 && s1 <= 60, "delta 1: AP = 1 reached at step %lld", s1);
    long long s0 = toy_run_checked("--loss ap --delta 0 --no-interp", 60);
    ck_assert_msg(s0 >= 1 && s0 <= 60, "delta 0: AP = 1 reached at step %lld", s0);
}
END_TEST

START_TEST(test_toy_minibatch_logs_every_step)
{
    toy_run_checked("--loss ap --batch 64", 25);  // 400/64: epochs of 7 batches, last of 16
}
END_TEST

START_TEST(test_toy_cli_rejects_bad_flags)
{
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd, "%s toy --pos-frac 0 --log /dev/null 2>&1", test_rankdet_bin());
    ck_assert_int_eq(run_capture(cmd, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "--pos-frac"), "message does not name the flag:\n%s", out);
    snprintf(cmd, sizeof cmd, "%s toy --loss nosuchloss 2>&1", test_rankdet_bin());
    ck_assert_int_eq(run_capture(cmd, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "nosuchloss"), "message does not name the loss:\n%s", out);
    snprintf(cmd, sizeof cmd, "%s toy --study nosuchstudy 2>&1", test_rankdet_bin());
    ck_assert_int_eq(run_capture(cmd, out, sizeof out), 2);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("toy");
    TCase *gen = tcase_create("generator");
    tcase_add_test(gen, test_toy_is_deterministic_for_a_seed);
    tcase_add_test(gen, test_toy_positive_count_is_exact);
    tcase_add_test(gen, test_toy_is_separable_with_the_margin);
    tcase_add_test(gen, test_toy_noise_flips_the_stated_count);
    tcase_add_test(gen, test_toy_config_rejects_bad_values);
    suite_add_tcase(s, gen);
    TCase *ap = tcase_create("true_ap");
    tcase_add_test(ap, test_toy_true_ap_hand_computed);
    suite_add_tcase(s, ap);
    TCase *run = tcase_create("training");
    tcase_set_timeout(run, 60);
    tcase_add_test(run, test_toy_ap_reaches_one_full_batch);
    tcase_add_test(run, test_toy_minibatch_logs_every_step);
    tcase_add_test(run, test_toy_cli_rejects_bad_flags);
    suite_add_tcase(s, run);
    return s;
}
