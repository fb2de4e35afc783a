/* test_cmd_loss.c — `rankdet loss` end to end: on good input every registry loss writes the
 * update and loss value that calling the registry directly gives (and the counts and config it
 * was run with); on each kind of bad input the command exits non-zero (1 bad data, 2 usage)
 * with a message naming the problem, and a pre-existing OUT.h5 stays byte-for-byte the same. */
#include <hdf5.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/device.h"
#include "lib/rng.h"
#include "optim/loss.h"
#include "optim/loss_cuda.h"
#include "tests/check_main.h"
#include "tests/cli_run.h"
#include "tests/h5io.h"

/* The worked example of the issue: 3 positives, 2 negatives, 1 ignored. */
static const float example_scores[6] = {1.57f, -0.056f, 0.747f, -0.847f, 2.567f, -0.096f};
static const int8_t example_labels[6] = {1, -1, 0, 1, 1, 0};

/* A loss input file: scores (float32) of ns entries and labels (int8) of nl entries; a
 * count below 0 leaves the dataset out. */
static void write_input(const char *path, const float *scores, int64_t ns, const int8_t *labels,
                        int64_t nl)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    if (ns >= 0)
        h5io_add_dataset(f, "scores", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, scores, (hsize_t)ns, 0);
    if (nl >= 0)
        h5io_add_dataset(f, "labels", H5T_STD_I8LE, H5T_NATIVE_INT8, labels, (hsize_t)nl, 0);
    H5Fclose(f);
}

/* Check out_path against the registry loss `name` run directly on the same input. */
static void check_output(const char *out_path, const char *name, const loss_params *p,
                         const float *scores, const int8_t *labels, int64_t n)
{
    const loss_def *def = loss_find(name);
    ck_assert_ptr_nonnull(def);
    float *want = malloc((size_t)n * sizeof *want), *got = malloc((size_t)n * sizeof *got);
    loss_inputs in = {scores, labels, NULL, n};
    loss_result res;
    rd_arena ws;
    rd_arena_init(&ws);
    omp_set_num_threads(1);
    ck_assert_int_eq(def->compute(&in, p, &ws, want, &res), LOSS_OK);
    rd_arena_free(&ws);

    hid_t f = H5Fopen(out_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t d = H5Dopen2(f, "grad", H5P_DEFAULT);
    hid_t s = H5Dget_space(d), t = H5Dget_type(d);
    ck_assert_int_eq(H5Sget_simple_extent_npoints(s), n);
    ck_assert(H5Tget_class(t) == H5T_FLOAT && H5Tget_size(t) == 4);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, got), 0);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabsf(got[i] - want[i]) <= 1e-6f, "%s: grad[%lld] = %g, registry %g", name,
                      (long long)i, got[i], want[i]);
    ck_assert_double_eq_tol(h5io_read_double_attr(f, "loss"), res.loss, 1e-9);
    ck_assert_double_eq(h5io_read_double_attr(f, "num_pos"), (double)res.num_pos);
    ck_assert_double_eq(h5io_read_double_attr(f, "num_neg"), (double)res.num_neg);
    ck_assert_double_eq(h5io_read_double_attr(f, "no_positive"), (double)res.no_positive);
    char *lname = h5io_read_string_attr(f, "loss_name");
    ck_assert_str_eq(lname, name);
    free(lname);
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
    free(got);
    free(want);
}

START_TEST(test_loss_cmd_matches_registry)
{
    char *dir = test_tmpdir(), *in = test_path_in(dir, "in.h5"), *out = test_path_in(dir, "out.h5");
    write_input(in, example_scores, 6, example_labels, 6);
    loss_params p;
    loss_params_default(&p);
    int count;
    const loss_def *table = loss_registry(&count);
    char sout[4096], serr[4096];
    for (int i = 0; i < count; i++) {
        char *args[] = {"loss", (char *)table[i].name, "--in", in, "--out", out, "--threads",
                        "1", NULL};
        ck_assert_msg(cli_run_rankdet(args, sout, serr, sizeof sout) == 0, "%s failed: %s",
                      table[i].name, serr);
        ck_assert_msg(strstr(sout, "3 positive, 2 negative, 1 ignored") != NULL, "%s", sout);
        check_output(out, table[i].name, &p, example_scores, example_labels, 6);
    }
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_double_eq(h5io_read_double_attr(f, "num_pos"), 3);
    ck_assert_double_eq(h5io_read_double_attr(f, "num_neg"), 2);
    H5Fclose(f);
    free(out);
    free(in);
    free(dir);
}
END_TEST

START_TEST(test_loss_cmd_flags_reach_the_loss)
{
    char *dir = test_tmpdir(), *in = test_path_in(dir, "in.h5"), *out = test_path_in(dir, "out.h5");
    char *cfg = test_path_in(dir, "loss.cfg");
    enum { N = 3000 };
    float *scores = malloc(N * sizeof *scores);
    int8_t *labels = malloc(N);
    rd_rng rng;
    rd_rng_init(&rng, 11);
    for (int i = 0; i < N; i++) {
        labels[i] = rd_rng_uniform(&rng) < 0.05 ? 1 : rd_rng_uniform(&rng) < 0.1 ? -1 : 0;
        scores[i] = (float)rd_rng_gaussian(&rng, 2.0) + (labels[i] == 1 ? 1.0f : 0.0f);
    }
    rd_rng_free(&rng);
    write_input(in, scores, N, labels, N);
    FILE *fc = fopen(cfg, "w");
    fputs("# loss playground settings\ndelta = 0.25\ninterp = true\n", fc);
    fclose(fc);
    char sout[4096], serr[4096];
    char *args[] = {"loss", "ap", "--config", cfg, "--in", in, "--out", out, "--no-interp",
                    "--threads=1", NULL};
    ck_assert_msg(cli_run_rankdet(args, sout, serr, sizeof sout) == 0, "%s", serr);
    loss_params p;
    loss_params_default(&p);
    p.delta = 0.25;
    p.interp = 0;
    check_output(out, "ap", &p, scores, labels, N);
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    char *config = h5io_read_string_attr(f, "config");
    ck_assert_msg(strstr(config, "delta = 0.25\ninterp = false\n") != NULL, "%s", config);
    free(config);
    H5Fclose(f);
    char *args2[] = {"loss", "focal", "--in", in, "--out", out, "--alpha=0.5", "--gamma", "0",
                     "--threads", "1", NULL};
    ck_assert_msg(cli_run_rankdet(args2, sout, serr, sizeof sout) == 0, "%s", serr);
    loss_params_default(&p);
    p.alpha = 0.5;
    p.gamma = 0.0;
    check_output(out, "focal", &p, scores, labels, N);
    free(labels);
    free(scores);
    free(cfg);
    free(out);
    free(in);
    free(dir);
}
END_TEST

static char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    char *buf = malloc(*n + 1);
    ck_assert_uint_eq(fread(buf, 1, *n, f), *n);
    fclose(f);
    return buf;
}

/* Write the bad input files into dir, one per kind of problem. */
static void write_bad_inputs(const char *dir)
{
    float s[6];
    int8_t t[6];
    memcpy(s, example_scores, sizeof s);
    memcpy(t, example_labels, sizeof t);
    char *p;
    write_input(p = test_path_in(dir, "good.h5"), s, 6, t, 6), free(p);
    write_input(p = test_path_in(dir, "nolabels.h5"), s, 6, t, -1), free(p);
    write_input(p = test_path_in(dir, "mismatch.h5"), s, 6, t, 5), free(p);
    t[4] = 7;
    write_input(p = test_path_in(dir, "badlabel.h5"), s, 6, t, 6), free(p);
    t[4] = 1;
    s[2] = NAN;
    write_input(p = test_path_in(dir, "nan.h5"), s, 6, t, 6), free(p);
    s[2] = example_scores[2];
    s[1] = -INFINITY;
    write_input(p = test_path_in(dir, "inf.h5"), s, 6, t, 6), free(p);
    double s64[6] = {1, 2, 3, 4, 5, 6};
    int32_t t32[6] = {1, 0, 0, 1, 0, 0};
    hid_t f = H5Fcreate(p = test_path_in(dir, "types.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    h5io_add_dataset(f, "scores", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, s64, 6, 0);
    h5io_add_dataset(f, "labels", H5T_STD_I8LE, H5T_NATIVE_INT8, t, 6, 0);
    H5Fclose(f), free(p);
    f = H5Fcreate(p = test_path_in(dir, "int32.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    h5io_add_dataset(f, "scores", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, example_scores, 6, 0);
    h5io_add_dataset(f, "labels", H5T_STD_I32LE, H5T_NATIVE_INT32, t32, 6, 0);
    H5Fclose(f), free(p);
    f = H5Fcreate(p = test_path_in(dir, "rank2.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    h5io_add_dataset(f, "scores", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, example_scores, 2, 3);
    h5io_add_dataset(f, "labels", H5T_STD_I8LE, H5T_NATIVE_INT8, t, 6, 0);
    H5Fclose(f), free(p);
    FILE *txt = fopen(p = test_path_in(dir, "text.h5"), "w");
    fputs("scores,labels\n1.5,1\n", txt);
    fclose(txt), free(p);
}

typedef struct bad_case {
    const char *name;      // loss name; NULL for "ap", "" for none
    const char *input;     // file in the test directory; "OUT" for the output, "" for no --in
    const char *extra[4];  // flags after --in and --out
    int rc;
    const char *phrase;
} bad_case;

static const bad_case bad_cases[] = {
    {NULL, "missing.h5", {NULL}, 1, "missing.h5': No such file"},
    {NULL, "text.h5", {NULL}, 1, "is not an HDF5 file"},
    {NULL, "nolabels.h5", {NULL}, 1, "has no dataset 'labels'"},
    {NULL, "types.h5", {NULL}, 1, "is float64; expected float32"},
    {NULL, "int32.h5", {NULL}, 1, "is int32; expected int8"},
    {NULL, "rank2.h5", {NULL}, 1, "has rank 2; expected a 1-D array"},
    {NULL, "mismatch.h5", {NULL}, 1, "scores has 6 entries, labels 5"},
    {NULL, "badlabel.h5", {NULL}, 1, "label 4 is 7"},
    {NULL, "nan.h5", {NULL}, 1, "score 2 is NaN"},
    {NULL, "inf.h5", {NULL}, 1, "score 1 is infinite"},
    {"nope", "good.h5", {NULL}, 2, "unknown loss 'nope'; known losses: ap, auc"},
    {"", "good.h5", {NULL}, 2, "missing the loss NAME"},
    {NULL, "good.h5", {"--delta", "-0.5"}, 2, "--delta must be >= 0, got -0.5"},
    {NULL, "good.h5", {"--delta", "abc"}, 2, "--delta expects a number, got 'abc'"},
    {NULL, "good.h5", {"--tau", "0"}, 2, "--tau must be > 0"},
    {NULL, "good.h5", {"--eps=-1"}, 2, "--eps must be > 0"},
    {NULL, "good.h5", {"--alpha", "1.5"}, 2, "--alpha must be in [0, 1]"},
    {NULL, "good.h5", {"--gamma", "-2"}, 2, "--gamma must be >= 0"},
    {NULL, "good.h5", {"--neg-per-pos", "-1"}, 2, "--neg-per-pos must be >= 0"},
    {NULL, "good.h5", {"--threads", "x"}, 2, "--threads expects an integer, got 'x'"},
    {NULL, "good.h5", {"--thread", "2"}, 2, "unknown flag '--thread'"},
    {NULL, "good.h5", {"--delta"}, 2, "--delta is missing its value"},
    {NULL, "OUT", {NULL}, 2, "is the same file as --in"},
    {NULL, "", {NULL}, 2, "--in IN.h5 is required"},
    {NULL, "good.h5", {"--device", "tpu"}, 2, "'tpu' is not a device (cpu or cuda)"},
};

/* Run one bad case; OUT.h5 holds `before` (n bytes) and must still hold it. */
static void run_bad_case(const char *dir, const bad_case *c, const char *out, const char *before,
                         size_t n)
{
    char *in = strcmp(c->input, "OUT") == 0 ? strdup(out) : test_path_in(dir, c->input);
    char *args[16] = {"loss"};
    int k = 1;
    if (c->name == NULL || *c->name)
        args[k++] = (char *)(c->name ? c->name : "ap");
    if (*c->input) {
        args[k++] = "--in";
        args[k++] = in;
    }
    args[k++] = "--out";
    args[k++] = (char *)out;
    for (int e = 0; e < 4 && c->extra[e]; e++)
        args[k++] = (char *)c->extra[e];
    args[k] = NULL;
    char sout[4096], serr[4096];
    int rc = cli_run_rankdet(args, sout, serr, sizeof sout);
    ck_assert_msg(rc == c->rc, "'%s': exit %d, expected %d (%s)", c->phrase, rc, c->rc, serr);
    ck_assert_msg(strstr(serr, c->phrase) != NULL, "expected '%s' in: %s", c->phrase, serr);
    size_t m;
    char *after = read_bytes(out, &m);
    ck_assert_msg(m == n && memcmp(after, before, n) == 0, "'%s' changed OUT.h5", c->phrase);
    free(after);
    free(in);
}

START_TEST(test_loss_cmd_bad_input_leaves_output_alone)
{
    char *dir = test_tmpdir(), *out = test_path_in(dir, "OUT.h5");
    write_bad_inputs(dir);
    char *good = test_path_in(dir, "good.h5");
    char sout[4096], serr[4096];
    char *args[] = {"loss", "ap", "--in", good, "--out", out, NULL};
    ck_assert_int_eq(cli_run_rankdet(args, sout, serr, sizeof sout), 0);  // a real earlier output
    size_t n;
    char *before = read_bytes(out, &n);
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
        run_bad_case(dir, &bad_cases[i], out, before, n);
    char *no_out[] = {"loss", "ap", "--in", good, NULL};
    ck_assert_int_eq(cli_run_rankdet(no_out, sout, serr, sizeof sout), 2);
    ck_assert_ptr_nonnull(strstr(serr, "--out OUT.h5 is required"));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q '\\.tmp\\.'", dir);
    ck_assert_msg(cli_run_shell(cmd) != 0, "a temporary file was left in %s", dir);
    free(before);
    free(good);
    free(out);
    free(dir);
}
END_TEST

/* `rankdet loss ap --device cuda`: without a usable GPU it exits 1 naming why (and writes
 * nothing); with one, the update is the CPU registry's (1e-6, loss 1e-9). */
START_TEST(test_loss_cmd_device_cuda)
{
    char *dir = test_tmpdir(), *in = test_path_in(dir, "in.h5"), *out = test_path_in(dir, "out.h5");
    write_input(in, example_scores, 6, example_labels, 6);
    char sout[4096], serr[4096], why[512];
    char *args[] = {"loss", "ap", "--in", in, "--out", out, "--device", "cuda", NULL};
    int rc = cli_run_rankdet(args, sout, serr, sizeof sout);
    if (!rd_cuda_available(why, sizeof why)) {
        ck_assert_msg(rc == 1, "exit %d without a GPU: %s", rc, serr);
        ck_assert_msg(strstr(serr, "--device cuda: ") && strstr(serr, why), "%s", serr);
        ck_assert_int_ne(access(out, F_OK), 0);
    } else {
        ck_assert_msg(rc == 0, "exit %d: %s", rc, serr);
        ck_assert_ptr_nonnull(strstr(sout, "on the GPU"));
        loss_params p;
        loss_params_default(&p);
        check_output(out, "ap", &p, example_scores, example_labels, 6);
    }
    free(out);
    free(in);
    free(dir);
}
END_TEST

/* `rankdet bench loss --device`: a name that is no device is a usage error; cuda without a
 * GPU exits 1 naming why; with one, a small batch gives the GPU table of every loss. */
START_TEST(test_bench_loss_device)
{
    char sout[16384], serr[4096], why[512];
    ck_assert_int_eq(cli_run_rankdet_line("bench loss --device tpu", sout, serr, sizeof serr), 2);
    ck_assert_msg(strstr(serr, "'tpu' is not a device (cpu or cuda)"), "%s", serr);
    int rc = cli_run_rankdet_line("bench loss --device cuda --images 1 --anchors 2000 --classes 4 "
                                  "--positives 20 --ignored 10 --repeats 1 --no-oracle --regimes "
                                  "mid", sout, serr, sizeof serr);
    if (!rd_cuda_available(why, sizeof why)) {
        ck_assert_int_eq(rc, 1);
        ck_assert_msg(strstr(serr, "--device cuda: ") && strstr(serr, why), "%s", serr);
    } else {
        ck_assert_msg(rc == 0, "exit %d: %s", rc, serr);
        ck_assert_msg(strstr(sout, "ap on the GPU, mid regime: "), "%s", sout);
        const char *table = strstr(sout, "the GPU twins");
        ck_assert_msg(table, "%s", sout);
        int count;
        const loss_def *defs = loss_registry(&count);
        for (int i = 0; i < count; i++) {
            char row[64];
            snprintf(row, sizeof row, "| mid   | %-10s |", defs[i].name);
            ck_assert_msg(strstr(table, row),
                          "no GPU row for %s: %s", defs[i].name, sout);
        }
    }
}
END_TEST

START_TEST(test_loss_cmd_help_lists_losses)
{
    char sout[8192], serr[4096];
    char *args[] = {"loss", "--help", NULL};
    ck_assert_int_eq(cli_run_rankdet(args, sout, serr, sizeof sout), 0);
    int count;
    const loss_def *table = loss_registry(&count);
    for (int i = 0; i < count; i++) {
        ck_assert_msg(strstr(sout, table[i].name) != NULL, "--help lacks %s", table[i].name);
        ck_assert_msg(strstr(sout, table[i].summary) != NULL, "--help lacks %s", table[i].summary);
    }
    const char *flags[] = {"--delta <number>", "(default: 1)", "--[no-]interp", "--tau",
                           "--eps", "--alpha", "--gamma", "--neg-per-pos", "--threads", "--config"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        ck_assert_msg(strstr(sout, flags[i]) != NULL, "--help lacks %s", flags[i]);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("cmd_loss");
    TCase *tc = tcase_create("cmd_loss");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_loss_cmd_matches_registry);
    tcase_add_test(tc, test_loss_cmd_flags_reach_the_loss);
    tcase_add_test(tc, test_loss_cmd_bad_input_leaves_output_alone);
    tcase_add_test(tc, test_loss_cmd_help_lists_losses);
    tcase_add_test(tc, test_loss_cmd_device_cuda);
    tcase_add_test(tc, test_bench_loss_device);
    suite_add_tcase(s, tc);
    return s;
}
