/* test_train.c — `rankdet train` end to end on a small synthetic set: config sources and their
 * order, bad keys, what a run writes, resume after SIGINT and after SIGTERM giving the
 * uninterrupted run's weights, logs and metrics bit for bit, the NaN stop keeping the last
 * good checkpoint, and refusals (an existing run without resume, a resume with another
 * config). */
#include <check.h>
#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/check_main.h"
#include "tests/cli_run.h"

#define TR_OUT 65536

static char tr_out[TR_OUT], tr_err[TR_OUT];
static char *tr_data;  // the synthetic set, made once

/* A model and schedule small enough for seconds: width 8, 16 FPN channels, 64×64 inputs. */
static const char *const tr_base =
    "backbone=resnet18 width=8 fpn-channels=16 frozen-stages=0 batch=4 train-size=64 "
    "test-size=64 lr=0.01 warmup-steps=4 lr-steps=200 log-every=5 eval-every=40 "
    "checkpoint-every=0 progress=0 threads=1";

static const char *tr_dataset(void)
{
    if (tr_data == NULL) {
        char *dir = test_tmpdir();
        tr_data = test_path_in(dir, "synth");
        char line[1024];
        snprintf(line, sizeof line, "synth --out %s --images 20 --size 64 --seed 5", tr_data);
        ck_assert_int_eq(cli_run_rankdet_line(line, tr_out, tr_err, TR_OUT), 0);
        free(dir);
    }
    return tr_data;
}

/* rankdet train data=... <base> <extra> out=<out>; returns the exit status. */
static int tr_train(const char *out, const char *extra)
{
    char line[4096];
    snprintf(line, sizeof line, "train data=%s %s %s out=%s", tr_dataset(), tr_base, extra, out);
    return cli_run_rankdet_line(line, tr_out, tr_err, TR_OUT);
}

static int tr_exists(const char *dir, const char *name)
{
    char *p = test_path_in(dir, name);
    int ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

/* h5diff of two files (exit 0: the same datasets with the same values). */
static int tr_same_h5(const char *a, const char *b)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "h5diff -q %s %s >/dev/null 2>&1", a, b);
    return cli_run_shell(cmd) == 0;
}

/* The export of a log group without the wall-clock columns. */
static void tr_export(const char *log, const char *group, const char *cut, char *text, size_t n)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s export %s --group %s | cut -f%s", test_rankdet_bin(), log,
             group, cut);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    size_t got = fread(text, 1, n - 1, f);
    text[got] = '\0';
    ck_assert_int_eq(pclose(f), 0);
}

static char *tr_file(const char *dir, const char *name)
{
    char *p = test_path_in(dir, name);
    FILE *f = fopen(p, "r");
    ck_assert_msg(f != NULL, "%s missing", p);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    free(p);
    return buf;
}

START_TEST(test_config_sources)
{
    char *dir = test_tmpdir();
    char *cfg = test_path_in(dir, "run.cfg");
    FILE *f = fopen(cfg, "w");
    fprintf(f, "# a config file\nlr = 0.5\ndelta = 0.25\nbatch = 2\n");
    fclose(f);
    char *out = test_path_in(dir, "run");
    char line[4096];
    /* file < key=value < --flag: lr from the file, delta from key=value, batch from --batch. */
    snprintf(line, sizeof line, "train %s data=%s %s delta=0.5 steps=1 out=%s --batch 4 "
             "--delta 2 interp=0", cfg, tr_dataset(), tr_base, out);
    ck_assert_int_eq(cli_run_rankdet_line(line, tr_out, tr_err, TR_OUT), 0);
    const char *text = tr_file(out, "config.txt");
    ck_assert_msg(strstr(text, "delta = 2\n") && strstr(text, "interp = false\n") &&
                  strstr(text, "batch = 4\n") && strstr(text, "steps = 1\n"),
                  "config.txt:\n%s", text);
    /* tr_base sets lr=0.01 after the file: key=value wins over the file. */
    ck_assert_msg(strstr(text, "lr = 0.01\n") != NULL, "config.txt:\n%s", text);
    /* An unknown key, a bad value, a bad loss and a config file that is not there. */
    snprintf(line, sizeof line, "train %s data=%s lerning-rate=1 out=%s/x", cfg, tr_dataset(), dir);
    ck_assert_int_eq(cli_run_rankdet_line(line, tr_out, tr_err, TR_OUT), 2);
    ck_assert_msg(strstr(tr_err, "lerning-rate") != NULL, "%s", tr_err);
    snprintf(line, sizeof line, "train data=%s batch=four out=%s/x", tr_dataset(), dir);
    ck_assert_int_eq(cli_run_rankdet_line(line, tr_out, tr_err, TR_OUT), 2);
    ck_assert_msg(strstr(tr_err, "batch") != NULL, "%s", tr_err);
    snprintf(line, sizeof line, "train data=%s loss=nope out=%s/x", tr_dataset(), dir);
    ck_assert_int_eq(cli_run_rankdet_line(line, tr_out, tr_err, TR_OUT), 2);
    ck_assert_msg(strstr(tr_err, "loss") != NULL, "%s", tr_err);
    snprintf(line, sizeof line, "train %s/missing.cfg data=%s out=%s/x", dir, tr_dataset(), dir);
    ck_assert_int_eq(cli_run_rankdet_line(line, tr_out, tr_err, TR_OUT), 2);
    ck_assert_msg(strstr(tr_err, "missing.cfg") != NULL, "%s", tr_err);
    free(out);
    free(cfg);
    free(dir);
}
END_TEST

START_TEST(test_outputs)
{
    char *dir = test_tmpdir();
    char *out = test_path_in(dir, "run");
    ck_assert_int_eq(tr_train(out, "steps=12 eval-every=8"), 0);
    const char *names[] = {"log.h5", "checkpoint.h5", "final.h5", "metrics.tsv",
                           "detections.json", "config.txt"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        ck_assert_msg(tr_exists(out, names[i]), "%s not written", names[i]);
    char *log = test_path_in(out, "log.h5");
    char text[8192];
    /* train/ rows at steps 5 and 10, then the partial window at 12; eval/ at 8 and 12. */
    tr_export(log, "train", "1", text, sizeof text);
    ck_assert_str_eq(text, "# step\n5\n10\n12\n");
    tr_export(log, "eval", "1", text, sizeof text);
    ck_assert_str_eq(text, "# step\n8\n12\n");
    /* metrics.tsv holds the last eval/ row's AP, AP50, AP75 (6 decimals). */
    tr_export(log, "eval", "3-5", text, sizeof text);
    double ap, ap50, ap75, m[3];
    text[strlen(text) - 1] = '\0';  // the last line's newline
    const char *last = strrchr(text, '\n') + 1;
    ck_assert_int_eq(sscanf(last, "%lf %lf %lf", &ap, &ap50, &ap75), 3);
    const char *mt = tr_file(out, "metrics.tsv");
    ck_assert_msg(strncmp(mt, "# AP\tAP50\tAP75\tAPs\tAPm\tAPl\n", 27) == 0, "%s", mt);
    ck_assert_int_eq(sscanf(mt + 27, "%lf %lf %lf", &m[0], &m[1], &m[2]), 3);
    ck_assert_double_eq_tol(m[0], ap, 1e-6);
    ck_assert_double_eq_tol(m[1], ap50, 1e-6);
    ck_assert_double_eq_tol(m[2], ap75, 1e-6);
    /* A second run into the same folder without resume is refused; nothing is overwritten. */
    ck_assert_int_eq(tr_train(out, "steps=12"), 2);
    ck_assert_msg(strstr(tr_err, "resume=1") != NULL, "%s", tr_err);
    free(log);
    free(out);
    free(dir);
}
END_TEST

/* Start `rankdet train` in the background; returns its pid. */
static pid_t tr_spawn(const char *out, const char *extra)
{
    char line[4096];
    snprintf(line, sizeof line, "train data=%s %s %s out=%s", tr_dataset(), tr_base, extra, out);
    char *args[64];
    int n = 0;
    args[n++] = (char *)test_rankdet_bin();
    for (char *w = strtok(line, " "); w && n < 62; w = strtok(NULL, " "))
        args[n++] = w;
    args[n] = NULL;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        execv(args[0], args);
        _exit(127);
    }
    return pid;
}

/* Interrupt a run with sig once it is training, resume it, and compare with an uninterrupted
 * run: final weights, optimizer state, train/ and eval/ rows, metrics. */
static void tr_check_interrupt(int sig)
{
    char *dir = test_tmpdir();
    char *ref = test_path_in(dir, "ref"), *run = test_path_in(dir, "run");
    const char *extra = "steps=300 checkpoint-every=100 eval-every=150";
    ck_assert_int_eq(tr_train(ref, extra), 0);
    pid_t pid = tr_spawn(run, extra);
    char *log = test_path_in(run, "log.h5");
    for (int i = 0; i < 2000 && access(log, F_OK) != 0; i++)
        usleep(5000);
    usleep(400000);
    kill(pid, sig);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 128 + sig,
                  "expected exit %d after the signal, got status %d (did the run end first?)",
                  128 + sig, status);
    ck_assert(tr_exists(run, "checkpoint.h5"));
    ck_assert(!tr_exists(run, "metrics.tsv"));
    ck_assert_int_eq(tr_train(run, "steps=300 checkpoint-every=100 eval-every=150 resume=1 "
                                   "threads=2"), 0);
    char *a = test_path_in(ref, "final.h5"), *b = test_path_in(run, "final.h5");
    ck_assert_msg(tr_same_h5(a, b), "resumed weights differ from the uninterrupted run's");
    free(a), free(b);
    a = test_path_in(ref, "checkpoint.h5"), b = test_path_in(run, "checkpoint.h5");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "h5diff -q %s %s optim/momentum optim/momentum >/dev/null", a, b);
    ck_assert_msg(cli_run_shell(cmd) == 0, "momentum buffers differ");
    free(a), free(b);
    char *rlog = test_path_in(ref, "log.h5");
    static char ta[16384], tb[16384];
    tr_export(rlog, "train", "1-8,11", ta, sizeof ta);
    tr_export(log, "train", "1-8,11", tb, sizeof tb);
    ck_assert_str_eq(ta, tb);
    tr_export(rlog, "eval", "1-8", ta, sizeof ta);
    tr_export(log, "eval", "1-8", tb, sizeof tb);
    ck_assert_str_eq(ta, tb);
    static char ma[8192], mb[8192];
    snprintf(ma, sizeof ma, "%s", tr_file(ref, "metrics.tsv"));
    snprintf(mb, sizeof mb, "%s", tr_file(run, "metrics.tsv"));
    ck_assert_str_eq(ma, mb);
    free(rlog);
    free(log);
    free(ref);
    free(run);
    free(dir);
}

START_TEST(test_resume_after_sigint)
{
    tr_check_interrupt(SIGINT);
}
END_TEST

START_TEST(test_resume_after_sigterm)
{
    tr_check_interrupt(SIGTERM);
}
END_TEST

START_TEST(test_resume_refuses_other_config)
{
    char *dir = test_tmpdir();
    char *out = test_path_in(dir, "run");
    ck_assert_int_eq(tr_train(out, "steps=6"), 0);
    ck_assert_int_eq(tr_train(out, "steps=12 delta=0.5 resume=1"), 1);
    ck_assert_msg(strstr(tr_err, "delta") != NULL && strstr(tr_err, "another config"), "%s",
                  tr_err);
    free(out);
    free(dir);
}
END_TEST

START_TEST(test_nan_stop)
{
    char *dir = test_tmpdir();
    char *out = test_path_in(dir, "run");
    /* Warm-up from lr·1e-40: step 1 trains at 1e-2, step 2 at 5e37, which overflows. */
    ck_assert_int_eq(tr_train(out, "steps=20 lr=1e38 warmup-steps=2 warmup-factor=1e-40 "
                                   "checkpoint-every=1 clip-grad=0"), 1);
    /* Step 2's update overflows the weights or makes the next scores NaN: the run stops at
     * the first step that shows it and names the checkpoint of the step before. */
    int stopped = -1, kept = -1;
    const char *msg = strstr(tr_err, "training stopped at step ");
    ck_assert_msg(msg != NULL, "%s", tr_err);
    sscanf(msg, "training stopped at step %d", &stopped);
    const char *k = strstr(tr_err, "(step ");
    ck_assert_msg(k != NULL, "the message names the last good checkpoint: %s", tr_err);
    sscanf(k, "(step %d)", &kept);
    ck_assert_msg(stopped >= 2 && stopped <= 3 && kept == stopped - 1, "%s", tr_err);
    ck_assert_msg(strstr(tr_err, "NaN") || strstr(tr_err, "Inf"), "%s", tr_err);
    /* The checkpoint is that step's, with finite weights. */
    char *ck = test_path_in(out, "checkpoint.h5");
    hid_t f = H5Fopen(ck, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t at = H5Aopen(f, "step", H5P_DEFAULT);
    double step = -1;
    H5Aread(at, H5T_NATIVE_DOUBLE, &step);
    H5Aclose(at);
    hid_t d = H5Dopen(f, "state_dict/head.classification_head.cls_logits.weight", H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    hid_t sp = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    float *w = malloc(sizeof(float) * (size_t)n);
    H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w);
    for (hssize_t i = 0; i < n; i++)
        ck_assert_msg(w[i] == w[i] && w[i] - w[i] == 0, "weight %lld not finite", (long long)i);
    free(w);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
    ck_assert_double_eq(step, kept);
    ck_assert(!tr_exists(out, "final.h5"));
    free(ck);
    free(out);
    free(dir);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_config_sources);
    tcase_add_test(tc, test_outputs);
    tcase_add_test(tc, test_resume_after_sigint);
    tcase_add_test(tc, test_resume_after_sigterm);
    tcase_add_test(tc, test_resume_refuses_other_config);
    tcase_add_test(tc, test_nan_stop);
    suite_add_tcase(s, tc);
    return s;
}
