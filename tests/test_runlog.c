/* test_runlog.c — lib/runlog and `rankdet export`: rows and root attributes read back with the
 * HDF5 C API; rows buffered between flushes never reach the file; a run killed by SIGKILL at
 * an arbitrary moment leaves a file that HDF5, h5dump and (where installed) h5py open, holding
 * every row it had flushed; export prints exact tables and clear errors. Also the two pieces a
 * run uses beside its log: the seeded RNG (the reference mt19937 stream) and the progress
 * display. */
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/progress.h"
#include "lib/rng.h"
#include "lib/runlog.h"
#include "tests/check_main.h"
#include "tests/cli_run.h"
#include "tests/h5io.h"

/* The value a test row holds in column col of row i: exact in float64 and never equal twice. */
static double row_value(int64_t i, int col)
{
    return col == 0 ? (double)i : (double)i * 0.25 - 1000.0 * col;
}

/* A run-log column: extendible, and its values (via h5io_read_column). Caller frees. */
static double *read_column(hid_t file, const char *name, int64_t *n)
{
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "no dataset %s", name);
    hid_t s = H5Dget_space(d);
    hsize_t dims[1], maxdims[1];
    ck_assert_int_eq(H5Sget_simple_extent_dims(s, dims, maxdims), 1);
    ck_assert_msg(maxdims[0] == H5S_UNLIMITED, "%s is not extendible", name);
    H5Sclose(s);
    H5Dclose(d);
    return h5io_read_column(file, name, n);
}

static const runlog_meta test_meta = {"0.1.0", "0123456789ab", "rankdet toy --seed 7",
                                      "seed = 7\nloss = ap\n", UINT64_C(18446744073709551557)};

START_TEST(test_runlog_rows_and_attributes)
{
    char *dir = test_tmpdir(), *path = test_path_in(dir, "log.h5");
    time_t t0 = time(NULL);
    rd_runlog *log = runlog_create(path, &test_meta, 1e9);
    ck_assert_ptr_nonnull(log);
    const char *train[] = {"step", "loss", "lr"}, *eval[] = {"AP"};
    runlog_columns(log, "train", 3, train);
    runlog_columns(log, "eval", 1, eval);
    for (int64_t i = 0; i < 1500; i++) {  // past the 64-row buffer and the 1024-row chunk
        double row[3] = {row_value(i, 0), row_value(i, 1), row_value(i, 2)};
        runlog_append(log, "train", row);
    }
    runlog_append(log, "eval", (double[]){0.625});
    ck_assert_int_eq(runlog_rows_flushed(log, "train"), 0);
    runlog_close(log);

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    for (int col = 0; col < 3; col++) {
        char name[32];
        snprintf(name, sizeof name, "train/%s", train[col]);
        int64_t n;
        double *v = read_column(f, name, &n);
        ck_assert_int_eq(n, 1500);
        for (int64_t i = 0; i < n; i++)
            ck_assert_double_eq(v[i], row_value(i, col));
        free(v);
    }
    int64_t n;
    double *ap = read_column(f, "eval/AP", &n);
    ck_assert_int_eq(n, 1);
    ck_assert_double_eq(ap[0], 0.625);
    free(ap);
    const char *keys[] = {"version", "git_commit", "command_line", "config"};
    const char *want[] = {test_meta.version, test_meta.git_commit, test_meta.command_line,
                          test_meta.config};
    for (int k = 0; k < 4; k++) {
        char *v = h5io_read_string_attr(f, keys[k]);
        ck_assert_str_eq(v, want[k]);
        free(v);
    }
    uint64_t seed = 0;
    hid_t a = H5Aopen(f, "seed", H5P_DEFAULT);
    ck_assert_int_ge(H5Aread(a, H5T_NATIVE_UINT64, &seed), 0);
    H5Aclose(a);
    ck_assert_uint_eq(seed, test_meta.seed);
    char *start = h5io_read_string_attr(f, "start_time");
    struct tm tm = {0};
    char *end = strptime(start, "%Y-%m-%dT%H:%M:%SZ", &tm);
    ck_assert_msg(end && *end == '\0', "start_time '%s' is not ISO 8601 UTC", start);
    time_t t = timegm(&tm);
    ck_assert_msg(t >= t0 - 1 && t <= time(NULL) + 1, "start_time %s is not now", start);
    free(start);
    H5Fclose(f);
    free(path);
    free(dir);
}
END_TEST

/* Child: log rows with a flush interval no test reaches, flush after `flushed` rows, append
 * `more` rows, then die by SIGKILL without closing. */
static void child_kill_after(const char *path, int flushed, int more)
{
    rd_runlog *log = runlog_create(path, &test_meta, 1e9);
    const char *cols[] = {"step", "value"};
    runlog_columns(log, "train", 2, cols);
    for (int i = 0; i < flushed + more; i++) {
        if (i == flushed)
            runlog_flush(log);
        runlog_append(log, "train", (double[]){row_value(i, 0), row_value(i, 1)});
    }
    raise(SIGKILL);
}

START_TEST(test_runlog_rows_wait_for_the_flush)
{
    char *dir = test_tmpdir(), *path = test_path_in(dir, "buffered.h5");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        child_kill_after(path, 37, 500);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    int64_t n;
    double *v = read_column(f, "train/value", &n);
    ck_assert_int_eq(n, 37);  // exactly the flushed rows: the 500 after them never hit the file
    for (int64_t i = 0; i < n; i++)
        ck_assert_double_eq(v[i], row_value(i, 1));
    free(v);
    H5Fclose(f);
    free(path);
    free(dir);
}
END_TEST

/* Child of the killed-run test: append rows every millisecond with flush_seconds 0.2 and
 * write the flushed row count to fd after every flush. Never returns. */
static void child_log_forever(const char *path, int fd)
{
    rd_runlog *log = runlog_create(path, &test_meta, 0.2);
    const char *cols[] = {"step", "value", "other"};
    runlog_columns(log, "train", 3, cols);
    int64_t reported = 0;
    for (int64_t i = 0;; i++) {
        runlog_append(log, "train",
                      (double[]){row_value(i, 0), row_value(i, 1), row_value(i, 2)});
        int64_t flushed = runlog_rows_flushed(log, "train");
        if (flushed != reported) {
            reported = flushed;
            if (write(fd, &reported, sizeof reported) != sizeof reported)
                _exit(3);
        }
        usleep(1000);
    }
}

START_TEST(test_runlog_survives_sigkill)
{
    char *dir = test_tmpdir(), *path = test_path_in(dir, "killed.h5");
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        child_log_forever(path, fds[1]);
    }
    close(fds[1]);
    int64_t flushed = 0, msg;
    for (int flushes = 0; flushes < 3; flushes++) {
        ck_assert_int_eq(read(fds[0], &msg, sizeof msg), sizeof msg);
        flushed = msg;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    usleep((useconds_t)(now.tv_nsec / 1000 % 300000));  // an arbitrary moment in a flush cycle
    kill(pid, SIGKILL);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    while (read(fds[0], &msg, sizeof msg) == sizeof msg)  // reports sent before the kill
        flushed = msg;
    close(fds[0]);
    ck_assert_int_gt(flushed, 0);

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "HDF5 cannot open the killed run's log");
    int64_t n[3];
    for (int col = 0; col < 3; col++) {
        const char *names[] = {"train/step", "train/value", "train/other"};
        double *v = read_column(f, names[col], &n[col]);
        ck_assert_int_ge(n[col], flushed);
        for (int64_t i = 0; i < n[col]; i++)
            ck_assert_double_eq(v[i], row_value(i, col));
        free(v);
    }
    ck_assert(n[0] == n[1] && n[1] == n[2]);
    H5Fclose(f);

    char cmd[1024];
    if (cli_run_shell("command -v h5dump >/dev/null 2>&1") == 0) {
        snprintf(cmd, sizeof cmd, "h5dump -H '%s' >/dev/null", path);
        ck_assert_int_eq(cli_run_shell(cmd), 0);
    }
    if (cli_run_shell("python3 -c 'import h5py' >/dev/null 2>&1") == 0) {
        snprintf(cmd, sizeof cmd,
                 "python3 -c 'import h5py,sys; f=h5py.File(sys.argv[1],\"r\"); "
                 "s=f[\"train/step\"][:]; v=f[\"train/value\"][:]; "
                 "sys.exit(0 if len(s)>=%lld and all(s[i]==i and v[i]==i*0.25-1000 "
                 "for i in range(len(s))) else 1)' '%s'", (long long)flushed, path);
        ck_assert_int_eq(cli_run_shell(cmd), 0);
    }
    free(path);
    free(dir);
}
END_TEST

/* A log holding train {step, loss, lr} at steps 0..1499, eval {step, AP} at steps 0, 500, 1000,
 * 1500, notes {value} (no step column, 5 rows) and loop {step, value} whose steps go back and
 * forth (5, 0, 7, 2, 3, 9), as a run restarted by hand might leave them. */
static void write_resumable_log(const char *path)
{
    rd_runlog *log = runlog_create(path, &test_meta, 1e9);
    ck_assert_ptr_nonnull(log);
    runlog_columns(log, "train", 3, (const char *[]){"step", "loss", "lr"});
    runlog_columns(log, "eval", 2, (const char *[]){"step", "AP"});
    runlog_columns(log, "notes", 1, (const char *[]){"value"});
    runlog_columns(log, "loop", 2, (const char *[]){"step", "value"});
    for (int64_t i = 0; i < 1500; i++)
        runlog_append(log, "train", (double[]){row_value(i, 0), row_value(i, 1), row_value(i, 2)});
    for (int k = 0; k < 4; k++)
        runlog_append(log, "eval", (double[]){500.0 * k, 0.1 * (k + 1)});
    for (int k = 0; k < 5; k++)
        runlog_append(log, "notes", (double[]){1.0 / (k + 3)});
    const double loop_steps[6] = {5, 0, 7, 2, 3, 9};
    for (int k = 0; k < 6; k++)
        runlog_append(log, "loop", (double[]){loop_steps[k], 1.0 / (k + 7)});
    runlog_close(log);
}

/* Column name of path holds exactly want[0..n-1], bit for bit. */
static void expect_column(hid_t f, const char *name, const double *want, int64_t n)
{
    int64_t have;
    double *v = read_column(f, name, &have);
    ck_assert_msg(have == n, "%s has %lld rows, expected %lld", name, (long long)have,
                  (long long)n);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(memcmp(&v[i], &want[i], sizeof *v) == 0, "%s[%lld] = %.17g, expected %.17g",
                      name, (long long)i, v[i], want[i]);
    free(v);
}

START_TEST(test_runlog_reopen_trims_and_continues)
{
    char *dir = test_tmpdir(), *path = test_path_in(dir, "log.h5");
    write_resumable_log(path);
    rd_runlog *log = runlog_reopen(path, 1000.0, 1e9);
    ck_assert_ptr_nonnull(log);
    ck_assert_int_eq(runlog_rows_flushed(log, "train"), 1001);  // steps 0..1000
    ck_assert_int_eq(runlog_rows_flushed(log, "eval"), 3);      // 0, 500, 1000
    ck_assert_int_eq(runlog_rows_flushed(log, "notes"), 5);     // no step column: whole
    ck_assert_int_eq(runlog_rows_flushed(log, "loop"), 6);      // every step <= 1000
    runlog_columns(log, "train", 3, (const char *[]){"step", "loss", "lr"});  // same names
    for (int64_t i = 1001; i < 1100; i++)
        runlog_append(log, "train", (double[]){row_value(i, 0), row_value(i, 1), row_value(i, 2)});
    runlog_append(log, "eval", (double[]){1500, 0.875});  // eval never declared again
    runlog_close(log);

    log = runlog_reopen(path, 3.0, 1e9);  // a second resume, from step 3
    ck_assert_ptr_nonnull(log);
    runlog_append(log, "loop", (double[]){4, 0.5});
    runlog_close(log);

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    double want[1100];
    for (int col = 0; col < 3; col++) {
        const char *names[] = {"train/step", "train/loss", "train/lr"};
        for (int64_t i = 0; i < 4; i++)
            want[i] = row_value(i, col);
        expect_column(f, names[col], want, 4);  // steps 0..3 survive the second resume
    }
    expect_column(f, "eval/step", (double[]){0}, 1);
    expect_column(f, "eval/AP", (double[]){0.1}, 1);
    expect_column(f, "notes/value", (double[]){1.0 / 3, 1.0 / 4, 1.0 / 5, 1.0 / 6, 1.0 / 7}, 5);
    expect_column(f, "loop/step", (double[]){0, 2, 3, 4}, 4);  // 5, 7, 9 removed, 4 appended
    expect_column(f, "loop/value", (double[]){1.0 / 8, 1.0 / 10, 1.0 / 11, 0.5}, 4);
    char *version = h5io_read_string_attr(f, "version");
    ck_assert_str_eq(version, test_meta.version);
    free(version);
    char *resumed = h5io_read_string_attr(f, "resumed");
    struct tm tm = {0};
    char *end = strptime(resumed, "%Y-%m-%dT%H:%M:%SZ", &tm);
    ck_assert_msg(end && strncmp(end, ", ", 2) == 0, "resumed '%s' is not two times", resumed);
    end = strptime(end + 2, "%Y-%m-%dT%H:%M:%SZ", &tm);
    ck_assert_msg(end && *end == '\0', "resumed '%s' is not two times", resumed);
    free(resumed);
    H5Fclose(f);
    free(path);
    free(dir);
}
END_TEST

/* The first resume keeps steps 0..1000 of train bit for bit and appends after them. */
START_TEST(test_runlog_reopen_keeps_rows_bit_for_bit)
{
    char *dir = test_tmpdir(), *path = test_path_in(dir, "log.h5");
    write_resumable_log(path);
    rd_runlog *log = runlog_reopen(path, 999.5, 0.0);
    ck_assert_ptr_nonnull(log);
    for (int64_t i = 1000; i < 1200; i++)
        runlog_append(log, "train", (double[]){row_value(i, 0), row_value(i, 1), row_value(i, 2)});
    ck_assert_int_eq(runlog_rows_flushed(log, "train"), 1200);  // flush_seconds 0: every row
    runlog_close(log);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    double *want = malloc(1200 * sizeof *want);
    for (int col = 0; col < 3; col++) {
        const char *names[] = {"train/step", "train/loss", "train/lr"};
        for (int64_t i = 0; i < 1200; i++)
            want[i] = row_value(i, col);
        expect_column(f, names[col], want, 1200);
    }
    expect_column(f, "eval/step", (double[]){0, 500}, 2);
    expect_column(f, "loop/step", (double[]){5, 0, 7, 2, 3, 9}, 6);
    free(want);
    H5Fclose(f);
    free(path);
    free(dir);
}
END_TEST

/* stderr of one call, as text. */
typedef struct stderr_capture {
    int saved;
    FILE *tmp;
} stderr_capture;

static void stderr_capture_begin(stderr_capture *c)
{
    fflush(NULL);
    c->tmp = tmpfile();
    ck_assert_ptr_nonnull(c->tmp);
    c->saved = dup(2);
    dup2(fileno(c->tmp), 2);
}

static const char *stderr_capture_end(stderr_capture *c, char *buf, size_t size)
{
    fflush(NULL);
    dup2(c->saved, 2);
    close(c->saved);
    rewind(c->tmp);
    buf[fread(buf, 1, size - 1, c->tmp)] = '\0';
    fclose(c->tmp);
    return buf;
}

START_TEST(test_runlog_reopen_refuses_other_files)
{
    char *dir = test_tmpdir(), buf[2048];
    char *missing = test_path_in(dir, "nope.h5"), *text = test_path_in(dir, "text.h5");
    char *plain = test_path_in(dir, "plain.h5"), *odd = test_path_in(dir, "odd.h5");
    FILE *t = fopen(text, "w");
    fputs("step,loss\n1,0.5\n", t);
    fclose(t);
    hid_t f = H5Fcreate(plain, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    write_resumable_log(odd);  // a log with a fixed-size column added to train
    f = H5Fopen(odd, H5F_ACC_RDWR, H5P_DEFAULT);
    h5io_add_dataset(f, "train/fixed", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                     (double[]){1, 2, 3}, 3, 0);
    H5Fclose(f);
    struct { const char *path, *phrase; } cases[] = {
        {missing, "no such file"},
        {text, "not an HDF5 file"},
        {plain, "not a run log (no start_time attribute)"},
        {odd, "not a run log (train/fixed is not extendible)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stderr_capture cap;
        stderr_capture_begin(&cap);
        rd_runlog *log = runlog_reopen(cases[i].path, 10, 1e9);
        stderr_capture_end(&cap, buf, sizeof buf);
        ck_assert_ptr_null(log);
        ck_assert_msg(strstr(buf, cases[i].path) && strstr(buf, cases[i].phrase),
                      "case %zu: expected '%s' and '%s' in: %s", i, cases[i].path,
                      cases[i].phrase, buf);
    }
    f = H5Fopen(odd, H5F_ACC_RDONLY, H5P_DEFAULT);  // the refused log is left as it was
    int64_t n;
    free(read_column(f, "train/step", &n));
    ck_assert_int_eq(n, 1500);
    ck_assert_int_eq(H5Aexists(f, "resumed"), 0);
    H5Fclose(f);
    free(odd);
    free(plain);
    free(text);
    free(missing);
    free(dir);
}
END_TEST

START_TEST(test_export_table_and_attrs)
{
    char *dir = test_tmpdir(), *path = test_path_in(dir, "log.h5");
    char *tsv = test_path_in(dir, "t.tsv");
    rd_runlog *log = runlog_create(path, &test_meta, 0.0);
    const char *train[] = {"step", "loss", "lr"}, *eval[] = {"step", "AP"};
    runlog_columns(log, "train", 3, train);
    runlog_columns(log, "eval", 2, eval);
    runlog_append(log, "train", (double[]){1, 0.5, 1e-3});
    runlog_append(log, "train", (double[]){2, 0.1 + 0.2, 1e-3});
    runlog_append(log, "eval", (double[]){2, 0.75});
    runlog_close(log);
    char out[8192], err[8192];
    ck_assert_int_eq(cli_run_rankdet((char *[]){"export", path, "--out", tsv, NULL}, out, err,
                                     sizeof out), 0);
    FILE *f = fopen(tsv, "r");
    ck_assert_ptr_nonnull(f);
    out[fread(out, 1, sizeof out - 1, f)] = '\0';
    fclose(f);
    ck_assert_str_eq(out, "# step\tloss\tlr\n1\t0.5\t0.001\n2\t0.30000000000000004\t0.001\n");
    ck_assert_int_eq(cli_run_rankdet((char *[]){"export", path, "--group", "eval", NULL}, out,
                                     err, sizeof out), 0);
    ck_assert_str_eq(out, "# step\tAP\n2\t0.75\n");
    ck_assert_int_eq(cli_run_rankdet((char *[]){"export", path, "--attrs", NULL}, out, err,
                                     sizeof out), 0);
    const char *want[] = {"command_line = rankdet toy --seed 7\n",
                          "config =\n    seed = 7\n    loss = ap\n",
                          "git_commit = 0123456789ab\n", "seed = 18446744073709551557\n",
                          "version = 0.1.0\n", "start_time = 20"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(out, want[i]) != NULL, "--attrs lacks '%s':\n%s", want[i], out);
    free(tsv);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_export_errors)
{
    char *dir = test_tmpdir(), *path = test_path_in(dir, "log.h5");
    char *odd = test_path_in(dir, "odd.h5");
    rd_runlog *log = runlog_create(path, &test_meta, 0.0);
    runlog_columns(log, "train", 1, (const char *[]){"step"});
    runlog_close(log);
    hid_t f = H5Fcreate(odd, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g = H5Gcreate2(f, "train", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    double v[4] = {1, 2, 3, 4};
    for (int k = 0; k < 2; k++)
        h5io_add_dataset(g, k ? "b" : "a", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v, 3 + k, 0);
    H5Gclose(g);
    H5Fclose(f);
    char out[4096], err[4096], *missing = test_path_in(dir, "nope.h5");
    struct { char *args[6]; int rc; const char *phrase; } cases[] = {
        {{"export", missing, NULL}, 1, "cannot open"},
        {{"export", path, "--group", "eval", NULL}, 1, "has no group 'eval' (it has: train)"},
        {{"export", odd, NULL}, 1, "unequal lengths: a has 3 rows, b has 4"},
        {{"export", NULL}, 2, "missing the run log LOG.h5"},
        {{"export", path, "--grup", "x", NULL}, 2, "did you mean --group?"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(cli_run_rankdet(cases[i].args, out, err, sizeof out), cases[i].rc);
        ck_assert_msg(strstr(err, cases[i].phrase) != NULL, "case %zu: expected '%s' in: %s", i,
                      cases[i].phrase, err);
        ck_assert_str_eq(out, "");
    }
    free(missing);
    free(odd);
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_runlog_join_argv_quotes_for_the_shell)
{
    char *argv[] = {"rankdet", "toy", "--name", "a b", "it's", "x=1", ""};
    char *s = runlog_join_argv(7, argv);
    ck_assert_str_eq(s, "rankdet toy --name 'a b' 'it'\\''s' x=1 ''");
    free(s);
}
END_TEST

START_TEST(test_rng_reference_stream)
{
    rd_rng a, b;
    rd_rng_init(&a, 5489);  // the seed of the reference mt19937ar.c: 3499211612, 581869302, ...
    ck_assert_double_eq(rd_rng_uniform(&a), 3499211612.0 / 4294967296.0);
    ck_assert_double_eq(rd_rng_uniform(&a), 581869302.0 / 4294967296.0);
    rd_rng_init(&b, 5489);
    rd_rng_uniform(&b);
    rd_rng_uniform(&b);
    for (int i = 0; i < 1000; i++)
        ck_assert_double_eq(rd_rng_gaussian(&a, 2.0), rd_rng_gaussian(&b, 2.0));
    int counts[10] = {0};
    double sum = 0, sum2 = 0;
    int above_32_bits = 0;
    for (int i = 0; i < 20000; i++) {
        counts[rd_rng_below(&a, 10)]++;
        double g = rd_rng_gaussian(&a, 3.0);
        sum += g;
        sum2 += g * g;
        uint64_t w = rd_rng_below(&a, UINT64_C(1) << 40);
        ck_assert_uint_lt(w, UINT64_C(1) << 40);
        above_32_bits += w >> 32 != 0;
    }
    for (int k = 0; k < 10; k++)  // 2000 expected; 6 standard deviations is 254
        ck_assert_int_lt(abs(counts[k] - 2000), 254);
    ck_assert_double_le(fabs(sum / 20000), 0.15);  // 6 standard errors of the mean
    ck_assert_double_le(fabs(sqrt(sum2 / 20000) - 3.0), 0.13);
    ck_assert_int_gt(above_32_bits, 19000);  // 255/256 of the range lies above 2^32
    rd_rng_free(&a);
    rd_rng_free(&b);
}
END_TEST

static const char *file_text(FILE *f, char *buf, size_t size)
{
    fflush(f);
    rewind(f);
    buf[fread(buf, 1, size - 1, f)] = '\0';
    return buf;
}

START_TEST(test_progress_lines)
{
    char buf[1024];
    FILE *f = tmpfile();
    rd_progress p;
    progress_init(&p, f, "toy ap", 10);
    ck_assert_int_eq(p.live, 0);  // a file is not a terminal
    progress_update(&p, 3, 0.5);  // within every_seconds: nothing yet
    ck_assert_str_eq(file_text(f, buf, sizeof buf), "");
    p.every_seconds = 0.0;
    progress_update(&p, 5, 0.25);
    ck_assert_ptr_nonnull(strstr(file_text(f, buf, sizeof buf), "toy ap: step 5/10  "));
    ck_assert_ptr_nonnull(strstr(buf, " steps/s  ETA "));
    ck_assert_ptr_nonnull(strstr(buf, "  loss 0.25\n"));
    progress_finish(&p, 10, 0.125);
    ck_assert_ptr_nonnull(strstr(file_text(f, buf, sizeof buf), "toy ap: step 10/10  "));
    ck_assert_ptr_nonnull(strstr(buf, "  done in "));
    ck_assert_ptr_nonnull(strstr(buf, "  loss 0.125\n"));
    fclose(f);
    f = tmpfile();
    progress_init(&p, f, "live", 0);
    p.live = 1;  // as on a terminal: one line rewritten in place
    p.t_last -= 1.0;
    progress_update(&p, 7, 1.5);
    progress_finish(&p, 8, 1.0);
    file_text(f, buf, sizeof buf);
    ck_assert_msg(strncmp(buf, "\rlive: step 7  ", 15) == 0 && strstr(buf, "\033[K\rlive: step 8"),
                  "live line: %s", buf);
    ck_assert_ptr_null(strstr(buf, "ETA"));  // no total, no ETA
    fclose(f);
}
END_TEST

/* The caller's text stands where the loss is, after the rate and ETA; the pacing is the same. */
START_TEST(test_progress_update_text)
{
    char buf[1024];
    FILE *f = tmpfile();
    rd_progress p;
    progress_init(&p, f, "train", 200);
    progress_update_text(&p, 3, "epoch 1  loss 0.412 (cls 0.301 box 0.111)");
    ck_assert_str_eq(file_text(f, buf, sizeof buf), "");  // within every_seconds
    p.every_seconds = 0.0;
    progress_update_text(&p, 40, "epoch 1  loss 0.412 (cls 0.301 box 0.111)");
    file_text(f, buf, sizeof buf);
    ck_assert_msg(strncmp(buf, "train: step 40/200  ", 20) == 0, "line: %s", buf);
    const char *eta = strstr(buf, " steps/s  ETA ");
    const char *text = strstr(buf, "  epoch 1  loss 0.412 (cls 0.301 box 0.111)\n");
    ck_assert_msg(eta && text && eta < text, "line: %s", buf);
    ck_assert_ptr_null(strstr(buf, "loss 0.412 (cls 0.301 box 0.111)  loss"));
    fclose(f);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("runlog");
    TCase *tc = tcase_create("runlog");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_runlog_rows_and_attributes);
    tcase_add_test(tc, test_runlog_rows_wait_for_the_flush);
    tcase_add_test(tc, test_runlog_survives_sigkill);
    tcase_add_test(tc, test_runlog_join_argv_quotes_for_the_shell);
    tcase_add_test(tc, test_runlog_reopen_trims_and_continues);
    tcase_add_test(tc, test_runlog_reopen_keeps_rows_bit_for_bit);
    tcase_add_test(tc, test_runlog_reopen_refuses_other_files);
    tcase_add_test(tc, test_export_table_and_attrs);
    tcase_add_test(tc, test_export_errors);
    suite_add_tcase(s, tc);
    TCase *support = tcase_create("rng_progress");
    tcase_add_test(support, test_rng_reference_stream);
    tcase_add_test(support, test_progress_lines);
    tcase_add_test(support, test_progress_update_text);
    suite_add_tcase(s, support);
    return s;
}
