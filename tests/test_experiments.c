/* test_experiments.c — the experiment sweeps behind `make table1 table2 table3 figure5 paper`
 * (experiments/sweep.sh, experiments/paper.mk), at PRESET=smoke with SEEDS=2 in a temporary
 * results root: the layout of results/README.md (every seed<k> a link to runs/<hash>, a
 * config reached from several experiments trained once: 16 configs × 2 seeds = 32 runs for the
 * seven experiments), each run's config.txt holding its variant's keys, metrics.tsv rows and
 * the log.h5 groups (`rankdet export`: evaluations at steps 2 and 4, or 4 alone for Figure 5b,
 * box loss 0 there), `make paper-run` on the finished sweeps (every run skipped, the
 * tables and figures of the four targets written), a run stopped by SIGINT and
 * swept again ending bit for bit where the uninterrupted run ends, the merged VOC07+12 root of
 * PRESET=paper, and the usage errors. Suites run from the repository root. */
#include <dirent.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/check_main.h"
#include "tests/cli_run.h"

#define EXP_BUF 65536
#define EXP_PATH 2048
#define EXP_FILE (EXP_PATH + 64)  // a file in a run directory

static char exp_out[EXP_BUF];

/* The whole of a file into buf (NUL-terminated, cut to size); its length, -1 when unreadable. */
static long exp_read(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    return (long)n;
}

/* Run experiments/sweep.sh EXPERIMENT KNOBS (PRESET=smoke THREADS=1 BIN= added) with its
 * output in exp_out; its exit status. */
static int exp_sweep(const char *results, const char *experiment, const char *knobs)
{
    char cmd[EXP_PATH * 2], log[EXP_PATH];
    snprintf(log, sizeof log, "%s/sweep.out", results);
    snprintf(cmd, sizeof cmd, "experiments/sweep.sh %s PRESET=smoke THREADS=1 BIN='%s' "
             "RESULTS='%s' %s >'%s' 2>&1", experiment, test_rankdet_bin(), results, knobs, log);
    int rc = cli_run_shell(cmd);
    ck_assert_int_ge(exp_read(log, exp_out, sizeof exp_out), 0);
    return rc;
}

/* Number of lines of exp_out holding word. */
static int exp_count_lines(const char *word)
{
    int n = 0;
    for (const char *l = exp_out; *l;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), l);
        n += strstr(line, word) != NULL;
        l += len + (end != NULL);
    }
    return n;
}

/* results/<exp>/smoke-synth/<variant>/seed<seed>: a link ../../../runs/<16 hex digits>; the
 * run directory it names into run. */
static void exp_seed_link(const char *results, const char *exp, const char *variant, int seed,
                          char *run)
{
    char link[EXP_PATH], target[EXP_PATH];
    snprintf(link, sizeof link, "%s/%s/smoke-synth/%s/seed%d", results, exp, variant, seed);
    struct stat st;
    ck_assert_msg(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "%s is not a link", link);
    ssize_t n = readlink(link, target, sizeof target - 1);
    ck_assert_int_gt(n, 0);
    target[n] = '\0';
    ck_assert_msg(strncmp(target, "../../../runs/", 14) == 0 && strlen(target) == 14 + 16 &&
                  strspn(target + 14, "0123456789abcdef") == 16, "%s -> %s", link, target);
    snprintf(run, EXP_PATH, "%s/runs/%s", results, target + 14);
    struct stat rs;
    ck_assert_msg(stat(link, &rs) == 0 && S_ISDIR(rs.st_mode), "%s leads nowhere", link);
}

/* metrics.tsv of run: the header and one row of six values in [0, 1] (or -1: no such boxes). */
static void exp_check_metrics(const char *run)
{
    char path[EXP_FILE], text[1024];
    snprintf(path, sizeof path, "%s/metrics.tsv", run);
    ck_assert_msg(exp_read(path, text, sizeof text) > 0, "no %s", path);
    ck_assert_msg(strncmp(text, "# AP\tAP50\tAP75\tAPs\tAPm\tAPl\n", 27) == 0, "%s: %s", path, text);
    double v[7];
    int n = sscanf(text + 27, "%lf %lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5], &v[6]);
    ck_assert_msg(n == 6, "%s: %d values", path, n);
    for (int i = 0; i < 6; i++)
        ck_assert_msg((v[i] >= 0 && v[i] <= 1) || v[i] == -1, "%s: value %d is %g", path, i, v[i]);
}

/* run's config.txt holds the line "key = value". */
static void exp_check_config(const char *run, const char *line)
{
    char path[EXP_FILE], text[8192], want[256];
    snprintf(path, sizeof path, "%s/config.txt", run);
    ck_assert_msg(exp_read(path, text, sizeof text) > 0, "no %s", path);
    snprintf(want, sizeof want, "\n%s\n", line);
    ck_assert_msg(strstr(text, want) != NULL, "%s lacks '%s'", path, line);
}

/* Export group of run/log.h5 and read column col of every row into v (at most max); the
 * number of rows. */
static int exp_export_column(const char *run, const char *group, const char *col, double *v,
                             int max)
{
    char cmd[EXP_PATH * 3], path[EXP_FILE];
    snprintf(path, sizeof path, "%s/%s.tsv", run, group);
    snprintf(cmd, sizeof cmd, "'%s' export '%s/log.h5' --group %s --out '%s'", test_rankdet_bin(),
             run, group, path);
    ck_assert_int_eq(cli_run_shell(cmd), 0);
    static char text[EXP_BUF];
    ck_assert_int_gt(exp_read(path, text, sizeof text), 0);
    unlink(path);
    int at = -1, k = 0, rows = 0;
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    ck_assert_ptr_nonnull(line);
    for (char *w = strtok(line + 1, " \t"); w; w = strtok(NULL, " \t"), k++)
        if (strcmp(w, col) == 0)
            at = k;
    ck_assert_msg(at >= 0, "%s/log.h5 %s/ has no column %s", run, group, col);
    while ((line = strtok_r(NULL, "\n", &save)) != NULL && rows < max) {
        char *p = line;
        for (int i = 0; i < at; i++)
            p = strchr(p, '\t') + 1;
        v[rows++] = strtod(p, NULL);
    }
    return rows;
}

/* The runs/ directories of results (the .lock files left out). */
static int exp_count_runs(const char *results)
{
    char path[EXP_PATH];
    snprintf(path, sizeof path, "%s/runs", results);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.' && strstr(e->d_name, ".lock") == NULL;
    closedir(d);
    return n;
}

static const char *const exp_names[] = {"table1a", "table1b", "table1c", "table2",
                                        "table3",  "figure5a", "figure5b"};
static const char *const exp_variants[][4] = {
    {"bs1", "bs2", "bs4", "bs8"},   {"delta0.25", "delta0.5", "delta1", "delta2"},
    {"interp_no", "interp_yes"},    {"ce_ohem", "focal", "auc", "ap"},
    {"ss", "ms"},                   {"ce_ohem", "focal", "auc", "ap"},
    {"ap", "approx_ap", "hinge_ap"}};
static const int exp_nvariants[] = {4, 4, 2, 4, 2, 4, 3};

/* The seven experiments, their links, shared runs, configs, metrics and logs. */
static void exp_check_layout(const char *results)
{
    char run[EXP_PATH], other[EXP_PATH];
    for (int e = 0; e < 7; e++)
        for (int v = 0; v < exp_nvariants[e]; v++)
            for (int seed = 1; seed <= 2; seed++) {
                exp_seed_link(results, exp_names[e], exp_variants[e][v], seed, run);
                exp_check_metrics(run);
                char line[64];
                snprintf(line, sizeof line, "seed = %d", seed);
                exp_check_config(run, line);
            }
    /* bs8 = delta1 = interp_yes = ap of table2 = ap of figure5a; 16 configs × 2 seeds. */
    const char *shared[][2] = {{"table1b", "delta1"}, {"table1c", "interp_yes"},
                               {"table2", "ap"}, {"figure5a", "ap"}};
    for (int seed = 1; seed <= 2; seed++) {
        exp_seed_link(results, "table1a", "bs8", seed, run);
        for (int i = 0; i < 4; i++) {
            exp_seed_link(results, shared[i][0], shared[i][1], seed, other);
            ck_assert_str_eq(run, other);
        }
        exp_seed_link(results, "figure5b", "ap", seed, other);
        ck_assert_str_ne(run, other);
        exp_seed_link(results, "table2", "focal", seed, run);
        exp_seed_link(results, "figure5a", "focal", seed, other);
        ck_assert_str_eq(run, other);
    }
    exp_seed_link(results, "table2", "ap", 1, run);
    exp_seed_link(results, "table2", "ap", 2, other);
    ck_assert_str_ne(run, other);
    ck_assert_int_eq(exp_count_runs(results), 32);
}

/* The variants' keys reached rankdet train. */
static void exp_check_configs(const char *results)
{
    char run[EXP_PATH];
    const char *want[][3] = {
        {"table1a", "bs1", "batch = 1"},          {"table1a", "bs8", "batch = 8"},
        {"table1b", "delta0.25", "delta = 0.25"}, {"table1c", "interp_no", "interp = false"},
        {"table2", "ce_ohem", "loss = ce_ohem"},  {"table3", "ss", "backbone = resnet101"},
        {"table3", "ss", "test-scales = "},       {"table3", "ms", "test-scales = 48,64,96"},
        {"table3", "ms", "test-flip = true"},     {"figure5b", "approx_ap", "loss = approx_ap"},
        {"figure5b", "hinge_ap", "box-loss = false"}, {"figure5b", "ap", "eval-every = 0"},
        {"table2", "ap", "box-loss = true"},      {"table2", "ap", "eval-every = 2"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        exp_seed_link(results, want[i][0], want[i][1], 2, run);
        exp_check_config(run, want[i][2]);
    }
}

/* log.h5 groups: the base run logs steps 1..4 and evaluates at 2 and 4; Figure 5b's runs
 * evaluate at the end only, log no box loss and an AP-loss in [0, 1]. */
static void exp_check_logs(const char *results)
{
    char run[EXP_PATH];
    double v[64];
    exp_seed_link(results, "table2", "ap", 1, run);
    ck_assert_int_eq(exp_export_column(run, "train", "step", v, 64), 4);
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq(v[i], i + 1);
    ck_assert_int_eq(exp_export_column(run, "eval", "step", v, 64), 2);
    ck_assert_double_eq(v[0], 2);
    ck_assert_double_eq(v[1], 4);
    exp_seed_link(results, "figure5b", "hinge_ap", 2, run);
    ck_assert_int_eq(exp_export_column(run, "eval", "step", v, 64), 1);
    ck_assert_double_eq(v[0], 4);
    ck_assert_int_eq(exp_export_column(run, "train", "box_loss", v, 64), 4);
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq(v[i], 0);
    ck_assert_int_eq(exp_export_column(run, "train", "ap_loss", v, 64), 4);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(v[i] > 0 && v[i] <= 1, "ap_loss %g", v[i]);
}

/* Two files hold the same bytes. */
static void exp_check_same_file(const char *a, const char *b)
{
    static char ta[1 << 20], tb[1 << 20];
    long na = exp_read(a, ta, sizeof ta), nb = exp_read(b, tb, sizeof tb);
    ck_assert_msg(na > 0 && na == nb && memcmp(ta, tb, (size_t)na) == 0, "%s and %s differ", a, b);
}

/* Table 3's ms, evaluated from ss's weights, ends where a run trained with ms's keys ends:
 * the same metrics.tsv and detections.json, byte for byte. */
static void exp_check_ms_as_trained(const char *results)
{
    char ms[EXP_PATH], cmd[EXP_PATH * 3], a[EXP_FILE], b[EXP_FILE];
    exp_seed_link(results, "table3", "ms", 1, ms);
    snprintf(cmd, sizeof cmd, "'%s' train experiments/smoke.cfg data='%s/data/smoke/synth' "
             "backbone=resnet101 test-size=64 test-scales=48,64,96 test-flip=true seed=1 "
             "threads=1 progress=0 out='%s/ms_trained' >/dev/null 2>&1", test_rankdet_bin(),
             results, results);
    ck_assert_int_eq(cli_run_shell(cmd), 0);
    const char *files[] = {"metrics.tsv", "detections.json"};
    for (int i = 0; i < 2; i++) {
        snprintf(a, sizeof a, "%s/%s", ms, files[i]);
        snprintf(b, sizeof b, "%s/ms_trained/%s", results, files[i]);
        exp_check_same_file(a, b);
    }
    exp_check_config(ms, "test-scales = 48,64,96");
    snprintf(a, sizeof a, "%s/source/final.h5", ms);
    ck_assert_int_eq(access(a, F_OK), 0);
}

static time_t exp_mtime(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_mtime;
}

/* `make paper-run` (what `make paper` runs after make deps) on the finished sweeps of results:
 * every run is skipped as done, and the tables and figures of the four targets are written. */
static void exp_make_paper(const char *results)
{
    char cmd[EXP_PATH * 4], log[EXP_PATH], path[EXP_FILE];
    const char *bin = test_rankdet_bin();
    snprintf(log, sizeof log, "%s/make.out", results);
    /* -o: the binary under test is taken as it is, never rebuilt; the suite may itself run
     * under make, whose flags must not reach this one. */
    snprintf(cmd, sizeof cmd, "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory "
             "-o '%s' paper-run PRESET=smoke SEEDS=2 THREADS=1 BIN='%s' RESULTS='%s' "
             "TABLES_OUT='%s/tables' >'%s' 2>&1", bin, bin, results, results, log);
    int rc = cli_run_shell(cmd);
    ck_assert_int_ge(exp_read(log, exp_out, sizeof exp_out), 0);
    ck_assert_msg(rc == 0, "make paper-run: %s", exp_out);
    ck_assert_int_eq(exp_count_lines(" done before "), 2 * (4 + 4 + 2 + 4 + 2 + 4 + 3));
    ck_assert_int_eq(exp_count_lines(" trained "), 0);
    static char text[EXP_BUF];
    for (int t = 1; t <= 3; t++)
        for (int f = 0; f < 2; f++) {
            snprintf(path, sizeof path, "%s/tables/table%d.%s", results, t, f ? "tex" : "md");
            ck_assert_msg(exp_read(path, text, sizeof text) > 0, "no %s", path);
            ck_assert_msg(strstr(text, "smoke") != NULL, "%s has no smoke row:\n%s", path, text);
        }
    const char *figures[][2] = {{"table1b", "delta_sweep"}, {"figure5a", "fig5a"},
                                {"figure5b", "fig5b"}};
    for (int i = 0; i < 3; i++)
        for (int f = 0; f < 2; f++) {
            struct stat st;
            snprintf(path, sizeof path, "%s/%s/smoke-synth/%s.%s", results, figures[i][0],
                     figures[i][1], f ? "svg" : "png");
            ck_assert_msg(stat(path, &st) == 0 && st.st_size > 1000, "no figure %s", path);
        }
}

START_TEST(test_sweeps_layout_and_skip)
{
    char *results = test_tmpdir();
    int lines = 0, evaluated = 0;
    for (int e = 0; e < 7; e++) {
        ck_assert_msg(exp_sweep(results, exp_names[e], "SEEDS=2") == 0, "%s: %s", exp_names[e],
                      exp_out);
        ck_assert_int_eq(exp_count_lines(" AP50 "), 2 * exp_nvariants[e]);
        lines += exp_count_lines(" trained ");
        evaluated += exp_count_lines(" evaluated ");
    }
    ck_assert_int_eq(lines, 30);  // every config trained once, whatever reached it first
    ck_assert_int_eq(evaluated, 2);  // Table 3's ms: ss's weights at ms's scales
    exp_check_layout(results);
    exp_check_configs(results);
    exp_check_logs(results);
    exp_check_ms_as_trained(results);

    char run[EXP_PATH], path[EXP_FILE];
    exp_seed_link(results, "table1a", "bs8", 1, run);
    snprintf(path, sizeof path, "%s/metrics.tsv", run);
    time_t before = exp_mtime(path);
    sleep(1);
    exp_make_paper(results);
    ck_assert_int_eq(exp_mtime(path), before);
    ck_assert_int_eq(exp_count_runs(results), 32);
    free(results);
}
END_TEST

/* Start the sweep of the resume test in its own process group; its pid. */
static pid_t exp_sweep_start(const char *results, const char *args)
{
    char log[EXP_PATH], bin[EXP_PATH], res[EXP_PATH];
    snprintf(log, sizeof log, "%s/sweep.out", results);
    snprintf(bin, sizeof bin, "BIN=%s", test_rankdet_bin());
    snprintf(res, sizeof res, "RESULTS=%s", results);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setpgid(0, 0);
        if (freopen(log, "w", stdout) == NULL || dup2(fileno(stdout), 2) < 0)
            _exit(127);
        execl("/bin/bash", "bash", "experiments/sweep.sh", "table1c", "PRESET=smoke",
              "THREADS=1", "VARIANTS=interp_yes", bin, res, args, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    return pid;
}

/* The single run directory under results/runs (its path into run). */
static void exp_only_run(const char *results, char *run)
{
    char pattern[EXP_PATH];
    snprintf(pattern, sizeof pattern, "%s/runs/????????????????", results);
    glob_t g;
    ck_assert_int_eq(glob(pattern, 0, NULL, &g), 0);
    ck_assert_int_eq((int)g.gl_pathc, 1);
    snprintf(run, EXP_PATH, "%s", g.gl_pathv[0]);
    globfree(&g);
}

START_TEST(test_sweep_resumes_interrupted_run)
{
    const char *args = "ARGS=steps=60 checkpoint-every=5 log-every=5 eval-every=30";
    char *whole = test_tmpdir(), *cut = test_tmpdir();
    char knobs[256];
    snprintf(knobs, sizeof knobs, "VARIANTS=interp_yes '%s'", args);
    ck_assert_msg(exp_sweep(whole, "table1c", knobs) == 0, "%s", exp_out);

    pid_t pid = exp_sweep_start(cut, args);
    char pattern[EXP_PATH], run[EXP_PATH];
    snprintf(pattern, sizeof pattern, "%s/runs/*/checkpoint.h5", cut);
    glob_t g = {0};
    for (int i = 0; i < 6000 && glob(pattern, 0, NULL, &g) != 0; i++)
        usleep(10000);
    ck_assert_msg(g.gl_pathc == 1, "no checkpoint appeared under %s/runs", cut);
    globfree(&g);
    kill(-pid, SIGINT);  // as Ctrl-C in a terminal: the sweep and its rankdet train
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status %d", status);
    exp_only_run(cut, run);
    char path[EXP_FILE], other[EXP_FILE];
    snprintf(path, sizeof path, "%s/metrics.tsv", run);
    ck_assert_int_ne(access(path, F_OK), 0);

    ck_assert_msg(exp_sweep(cut, "table1c", knobs) == 0, "%s", exp_out);
    ck_assert_int_eq(exp_count_lines(" resumed "), 1);
    char whole_run[EXP_PATH];
    exp_only_run(whole, whole_run);
    const char *same[] = {"metrics.tsv", "detections.json"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", run, same[i]);
        snprintf(other, sizeof other, "%s/%s", whole_run, same[i]);
        exp_check_same_file(path, other);
    }
    const char *cols[] = {"step", "loss", "cls_loss", "box_loss", "lr", "grad_norm"};
    for (int c = 0; c < 6; c++) {
        double a[64], b[64];
        int na = exp_export_column(run, "train", cols[c], a, 64);
        ck_assert_int_eq(na, 12);
        ck_assert_int_eq(exp_export_column(whole_run, "train", cols[c], b, 64), na);
        for (int i = 0; i < na; i++)
            ck_assert_msg(memcmp(&a[i], &b[i], sizeof a[i]) == 0, "%s row %d: %.17g vs %.17g",
                          cols[c], i, a[i], b[i]);
    }
    free(whole);
    free(cut);
}
END_TEST

/* PRESET=paper with VOC=: a devkit of VOC2007 (the smoke set) and VOC2012 (the same images
 * under 2012_ ids) is merged into results/data/VOC0712 and trains (at smoke size through ARGS). */
START_TEST(test_sweep_paper_voc0712)
{
    char *results = test_tmpdir();
    char bin[PATH_MAX], cmd[EXP_PATH * 4];
    ck_assert_ptr_nonnull(realpath(test_rankdet_bin(), bin));
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' synth --out s --images 24 --size 64 --test-frac 0.34 --quiet "
             ">/dev/null && mkdir -p kit/VOC2012/Annotations kit/VOC2012/JPEGImages "
             "kit/VOC2012/ImageSets/Main weights && cp -r s kit/VOC2007 && "
             "cp s/ImageSets/Main/train.txt kit/VOC2007/ImageSets/Main/trainval.txt && "
             "for f in s/Annotations/*; do cp $f kit/VOC2012/Annotations/2012_${f##*/}; done && "
             "for f in s/JPEGImages/*; do cp $f kit/VOC2012/JPEGImages/2012_${f##*/}; done && "
             "sed 's/^/2012_/' s/ImageSets/Main/train.txt > kit/VOC2012/ImageSets/Main/trainval.txt"
             " && : > weights/resnet50.h5",
             results, bin);
    ck_assert_int_eq(cli_run_shell(cmd), 0);
    char knobs[EXP_PATH * 2];
    snprintf(knobs, sizeof knobs,
             "PRESET=paper VOC='%s/kit' WEIGHTS='%s/weights' VARIANTS=interp_no ARGS='"
             "names=%s/s/names.txt pretrained= backbone=resnet18 width=8 fpn-channels=16 "
             "frozen-stages=0 batch=8 train-size=64 steps=2 warmup-steps=1 lr-steps=1 "
             "test-size=64 eval-every=0 eval-limit=4 checkpoint-every=0'",
             results, results, results);
    /* exp_sweep adds PRESET=smoke first; the later PRESET=paper wins. */
    ck_assert_msg(exp_sweep(results, "table1c", knobs) == 0, "%s", exp_out);
    ck_assert_int_eq(exp_count_lines(" trained "), 1);
    char path[EXP_PATH], text[4096];
    snprintf(path, sizeof path, "%s/data/VOC0712/ImageSets/Main/trainval.txt", results);
    ck_assert_int_gt(exp_read(path, text, sizeof text), 0);
    int lines = 0, y2012 = 0;
    for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n"), lines++)
        y2012 += strncmp(l, "2012_", 5) == 0 && lines >= 16;
    ck_assert_int_eq(lines, 32);
    ck_assert_int_eq(y2012, 16);
    snprintf(path, sizeof path, "%s/table1c/paper-VOC0712/interp_no/seed1/metrics.tsv", results);
    ck_assert_int_eq(access(path, F_OK), 0);
    free(results);
}
END_TEST

START_TEST(test_sweep_usage_errors)
{
    char *results = test_tmpdir();
    struct { const char *experiment, *knobs, *says; int rc; } cases[] = {
        {"table9", "", "unknown experiment 'table9'", 2},
        {"table2", "SEEDS=0", "SEEDS must be a positive integer", 2},
        {"table2", "NOPE=1", "'NOPE=1' is not a knob", 2},
        {"table2", "PRESET=large", "PRESET must be tiny, smoke or paper", 2},
        {"table2", "PRESET=paper", "PRESET=paper needs VOC=", 2},
        {"table1a", "VARIANTS=bs3", "no variant 'bs3'", 2},
        {"table2", "DATA=/nonexistent", "DATA=/nonexistent is not a folder", 2},
        {"table2", "PRESET=paper COCO=/tmp WEIGHTS=/nonexistent", "no ImageNet weights", 1},
        {"table2", "ARGS=no-such-key=1", "failed", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(exp_sweep(results, cases[i].experiment, cases[i].knobs), cases[i].rc);
        ck_assert_msg(strstr(exp_out, cases[i].says) != NULL, "%s %s: %s", cases[i].experiment,
                      cases[i].knobs, exp_out);
    }
    free(results);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("experiments");
    TCase *tc = tcase_create("experiments");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_sweeps_layout_and_skip);
    tcase_add_test(tc, test_sweep_resumes_interrupted_run);
    tcase_add_test(tc, test_sweep_paper_voc0712);
    tcase_add_test(tc, test_sweep_usage_errors);
    suite_add_tcase(s, tc);
    return s;
}
