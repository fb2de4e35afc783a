/* cmd_toy.c — `rankdet toy`: the convergence study on linearly separable toy data
 * (Proposition 1 and Figure 5b of Chen et al., CVPR 2019). Three modes:
 *   one run        one loss, one set of kind --data: an HDF5 run log (group train) and a
 *                  summary line;
 *   --study prop1  error-driven `ap`, full batch, on --seeds separable sets, for δ = 0 (the
 *                  exact Heaviside step, f(0) = 1/2) and δ = 1, with and without
 *                  interpolation: steps to training AP = 1 as Markdown tables (DIR/prop1.md),
 *                  one for the Gaussian sets (budget --steps) and one for the anisotropic
 *                  sets (budget --hard-steps);
 *   --study curves every loss of --losses on one Gaussian separable set (full batch and
 *                  minibatch), on its noisy variant (full batch) and on the anisotropic set of
 *                  the same seed (full batch, --hard-steps): logs DIR/curves_<mode>_<loss>.h5
 *                  and a summary table DIR/curves.md.
 * data/toy.h describes both kinds of set. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/toy.h"
#include "experiments/commands.h"
#include "experiments/toy_train.h"
#include "lib/check.h"
#include "lib/cli.h"
#include "lib/progress.h"
#include "lib/runlog.h"

#define TOY_CURVES_BATCH 200    // the curves study's minibatch when --batch is 0
#define TOY_CURVES_NOISE 0.01   // the curves study's label noise when --noise is 0
#define TOY_MAX_LOSSES 16

typedef struct toy_cmd_config {
    char loss[RD_CLI_STR];
    double delta;
    int interp;
    double tau, eps, alpha, gamma;
    int neg_per_pos;
    double lr;
    int64_t steps, batch;
    double init_std;
    int dim;
    int64_t samples;
    double pos_frac, margin, noise;
    char data[RD_CLI_STR];
    int64_t hard_steps;
    int64_t seed;
    int seeds;
    char log[RD_CLI_STR];
    char study[RD_CLI_STR];
    char out[RD_CLI_STR];
    char losses[RD_CLI_STR];
    int threads;
} toy_cmd_config;

#define OPT(name, type, field, def, help) {name, type, offsetof(toy_cmd_config, field), def, help}
static const cli_opt toy_opts[] = {
    OPT("loss", CLI_STRING, loss, "ap", "registry loss of a single run and of --study prop1"),
    OPT("delta", CLI_DOUBLE, delta, "1", "ap, auc: half-width of the piecewise step; 0: Heaviside"),
    OPT("interp", CLI_BOOL, interp, "1", "ap: interpolated AP (--no-interp turns it off)"),
    OPT("tau", CLI_DOUBLE, tau, "0.5", "approx_ap: sigmoid temperature"),
    OPT("eps", CLI_DOUBLE, eps, "0.001", "approx_ap: objective -log(AP + eps)"),
    OPT("alpha", CLI_DOUBLE, alpha, "0.25", "focal: weight of positives"),
    OPT("gamma", CLI_DOUBLE, gamma, "2", "focal: focusing exponent"),
    OPT("neg-per-pos", CLI_INT, neg_per_pos, "3", "ce_ohem: hard negatives kept per positive"),
    OPT("lr", CLI_DOUBLE, lr, "1", "SGD learning rate (every loss)"),
    OPT("steps", CLI_INT64, steps, "300", "SGD steps (a study's budget on the Gaussian set)"),
    OPT("batch", CLI_INT64, batch, "0", "minibatch size; 0: full batch (the curves study's "
                                        "minibatch panel uses 200 when 0)"),
    OPT("init-std", CLI_DOUBLE, init_std, "0", "initial weights ~ N(0, init-std^2); 0: w = 0"),
    OPT("dim", CLI_INT, dim, "20", "feature dimension d"),
    OPT("samples", CLI_INT64, samples, "2000", "training points n"),
    OPT("pos-frac", CLI_DOUBLE, pos_frac, "0.02", "fraction of positives"),
    OPT("margin", CLI_DOUBLE, margin, "0.1", "distance of every point to the hyperplane, in "
                                             "units of std(w*.x) (1 on the gaussian set)"),
    OPT("noise", CLI_DOUBLE, noise, "0", "fraction of labels flipped (the curves study's noisy "
                                         "panel uses 0.01 when 0)"),
    OPT("data", CLI_STRING, data, "gaussian", "kind of set of a single run: gaussian or "
                                              "anisotropic (the studies run both)"),
    OPT("hard-steps", CLI_INT64, hard_steps, "10000", "--study: step budget on the anisotropic "
                                                      "set (--steps is the Gaussian sets')"),
    OPT("seed", CLI_INT64, seed, "1", "data seed (prop1: first of --seeds); training seed + 1"),
    OPT("seeds", CLI_INT, seeds, "20", "--study prop1: data sets drawn"),
    OPT("log", CLI_STRING, log, "results/toy/toy.h5", "single run: HDF5 run log path"),
    OPT("study", CLI_STRING, study, "", "'' (one run), 'prop1' or 'curves'"),
    OPT("out", CLI_STRING, out, "results/toy", "--study: output folder"),
    OPT("losses", CLI_STRING, losses, "ap,approx_ap,hinge_ap,auc,focal",
        "--study curves: comma-separated registry losses"),
    OPT("threads", CLI_INT, threads, "0", "--study prop1: runs in parallel; 0: all cores"),
};
#undef OPT

static const cli_spec toy_spec = {
    "rankdet toy", "[flags]",
    "Train a linear ranker s = w.x + b with a registry loss and SGD on seeded, linearly "
    "separable toy data (Proposition 1 and Figure 5b of the AP-loss paper), logging the true "
    "AP (eq. 5) of the training set after every step.",
    toy_opts, (int)(sizeof toy_opts / sizeof toy_opts[0]),
};

/* mkdir -p; 0, or -1 with a message naming the path. */
static int toy_make_dirs(const char *path)
{
    char buf[RD_CLI_STR];
    snprintf(buf, sizeof buf, "%s", path);
    if (buf[0] == '\0')
        return 0;
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            rd_error("cannot create folder '%s': %s", buf, strerror(errno));
            return -1;
        }
        *p = c;
        if (c == '\0')
            return 0;
    }
}

/* The folder part of a file path ("" when none) is created. */
static int toy_make_parent(const char *path)
{
    char dir[RD_CLI_STR];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    return toy_make_dirs(dir);
}

static toy_config toy_data_config(const toy_cmd_config *c, uint64_t seed, double noise,
                                  toy_data kind)
{
    return (toy_config){.samples = c->samples, .dim = c->dim, .pos_frac = c->pos_frac,
                        .margin = c->margin, .noise = noise, .seed = seed, .data = kind};
}

/* Training config of c with the named loss; -1 with a message when the loss is unknown. */
static int toy_train_config_of(const toy_cmd_config *c, const char *loss, toy_train_config *t)
{
    memset(t, 0, sizeof *t);
    t->loss = loss_find(loss);
    if (!t->loss) {
        rd_error("toy: unknown loss '%s' (rankdet loss --help lists them)", loss);
        return -1;
    }
    loss_params_default(&t->params);
    t->params.delta = c->delta;
    t->params.interp = c->interp;
    t->params.tau = c->tau;
    t->params.eps = c->eps;
    t->params.alpha = c->alpha;
    t->params.gamma = c->gamma;
    t->params.neg_per_pos = c->neg_per_pos;
    t->lr = c->lr;
    t->steps = c->steps;
    t->batch = c->batch;
    t->init_std = c->init_std;
    t->seed = (uint64_t)c->seed + 1;
    return 0;
}

/* Flags that no mode accepts; 0, or -1 with a message naming the flag. */
static int toy_check_flags(const toy_cmd_config *c)
{
    if (!(c->lr > 0 && isfinite(c->lr))) {
        rd_error("toy: --lr %g must be positive", c->lr);
        return -1;
    }
    if (c->steps < 1 || c->hard_steps < 1 || c->batch < 0) {
        rd_error("toy: --steps %lld and --hard-steps %lld must be at least 1 and --batch %lld "
                 "not negative", (long long)c->steps, (long long)c->hard_steps,
                 (long long)c->batch);
        return -1;
    }
    toy_data kind;
    if (toy_data_from_name(c->data, &kind) != 0)
        return -1;
    const char *bad = !(c->delta >= 0 && isfinite(c->delta))       ? "--delta"
                      : !(c->init_std >= 0 && isfinite(c->init_std)) ? "--init-std"
                      : c->threads < 0                                ? "--threads"
                                                                      : NULL;
    if (bad) {
        rd_error("toy: %s must be a finite number, not negative", bad);
        return -1;
    }
    if (c->seeds < 1) {
        rd_error("toy: --seeds %d must be at least 1", c->seeds);
        return -1;
    }
    return toy_config_validate(&(toy_config){.samples = c->samples, .dim = c->dim,
                                             .pos_frac = c->pos_frac, .margin = c->margin,
                                             .noise = c->noise, .data = kind});
}

/* Open a run log holding the command line and the resolved config of c. */
static rd_runlog *toy_open_log(const char *path, const toy_cmd_config *c, int argc, char **argv)
{
    if (toy_make_parent(path) != 0)
        return NULL;
    char config[8192];
    cli_format(&toy_spec, c, config, sizeof config);
    char *args = runlog_join_argv(argc, argv);  // argv[0] is the subcommand, "toy"
    char *cmdline = rd_malloc(strlen("rankdet ") + strlen(args) + 1, "toy command line");
    strcpy(cmdline, "rankdet ");
    strcat(cmdline, args);
    free(args);
    runlog_meta meta = {.version = rankdet_version(), .git_commit = rankdet_git_commit(),
                        .command_line = cmdline, .config = config, .seed = (uint64_t)c->seed};
    rd_runlog *log = runlog_create(path, &meta, 2.0);
    free(cmdline);
    return log;
}

static void toy_describe_reach(const toy_train_result *r, char *buf, size_t size)
{
    if (r->steps_to_perfect >= 0)
        snprintf(buf, size, "AP = 1 at step %lld", (long long)r->steps_to_perfect);
    else
        snprintf(buf, size, "AP = 1 not reached in %lld steps", (long long)r->steps_run);
}

static int toy_single_run(const toy_cmd_config *c, int argc, char **argv)
{
    toy_train_config tc;
    if (toy_train_config_of(c, c->loss, &tc) != 0)
        return 2;
    toy_data kind;
    if (toy_data_from_name(c->data, &kind) != 0)
        return 2;
    toy_config dc = toy_data_config(c, (uint64_t)c->seed, c->noise, kind);
    toy_set set;
    toy_generate(&dc, &set);
    rd_runlog *log = toy_open_log(c->log, c, argc, argv);
    if (!log) {
        toy_free(&set);
        return 1;
    }
    char label[RD_CLI_STR + 8];
    snprintf(label, sizeof label, "toy %s", tc.loss->name);
    rd_progress progress;
    progress_init(&progress, stderr, label, c->steps);
    tc.progress = &progress;
    toy_train_result r;
    int rc = toy_train_run(&tc, &set, log, &r);
    progress_finish(&progress, r.steps_run, r.final_loss);
    runlog_close(log);
    char reach[96];
    toy_describe_reach(&r, reach, sizeof reach);
    printf("toy %s on the %s set: %s; final AP %.6f (1 - AP %.3g), loss %.6g, |w| %.4g after "
           "%lld steps; %lld of %lld positives; allocations after step 1: %zu; log %s\n",
           c->loss, c->data, reach, r.final_ap, 1.0 - r.final_ap, r.final_loss, r.final_wnorm,
           (long long)r.steps_run, (long long)set.num_pos, (long long)set.n, r.steady_allocs,
           c->log);
    toy_free(&set);
    return rc == 0 ? 0 : 1;
}

/* Open DIR/NAME for writing; NULL with a message naming the file. */
static FILE *toy_open_table(const char *dir, const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        rd_error("toy: cannot write '%s': %s", path, strerror(errno));
    return f;
}

/* Print text on stdout and into f. */
static void toy_emit(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void toy_emit(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
}

static int toy_compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One table row: statistics of the runs of steps[ns] that reached AP = 1 (steps >= 0). */
static void toy_prop1_row(FILE *f, double delta, int interp, int64_t *steps, int ns)
{
    qsort(steps, (size_t)ns, sizeof *steps, toy_compare_int64);
    int first = 0;
    while (first < ns && steps[first] < 0)
        first++;
    int k = ns - first;
    const int64_t *ok = steps + first;  // [k] ascending
    toy_emit(f, "| %s | %s | %d/%d |", delta == 0 ? "0 (Heaviside)" : "1", interp ? "on" : "off",
             k, ns);
    if (k == 0) {
        toy_emit(f, " - | - | - | - |\n");
        return;
    }
    double sum = 0;
    for (int i = 0; i < k; i++)
        sum += (double)ok[i];
    double median = k % 2 ? (double)ok[k / 2] : 0.5 * (double)(ok[k / 2 - 1] + ok[k / 2]);
    toy_emit(f, " %lld | %g | %lld | %.1f |\n", (long long)ok[0], median,
             (long long)ok[k - 1], sum / k);
}

static const struct { double delta; int interp; } toy_prop1_variants[] = {
    {0.0, 1}, {0.0, 0}, {1.0, 1}, {1.0, 0}};
enum { TOY_PROP1_NV = sizeof toy_prop1_variants / sizeof toy_prop1_variants[0] };

/* Train base on c->seeds separable sets of one kind for each variant, with a step budget:
 * steps[TOY_PROP1_NV][seeds] receives the steps to AP = 1 (-1: not reached or failed) and
 * cosine[seeds] each set's toy_mean_gap_cosine. Returns the number of failed runs. */
static int toy_prop1_runs(const toy_cmd_config *c, const toy_train_config *base, toy_data kind,
                          int64_t budget, int64_t *steps, double *cosine)
{
    int ns = c->seeds, failed = 0;
    int threads = c->threads > 0 ? c->threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic) num_threads(threads) reduction(+ : failed)
    for (int k = 0; k < TOY_PROP1_NV * ns; k++) {
        int v = k / ns, s = k % ns;
        toy_config dc = toy_data_config(c, (uint64_t)(c->seed + s), 0.0, kind);
        toy_set set;
        toy_generate(&dc, &set);
        if (v == 0)
            cosine[s] = toy_mean_gap_cosine(&set);
        toy_train_config t = *base;
        t.params.delta = toy_prop1_variants[v].delta;
        t.params.interp = toy_prop1_variants[v].interp;
        t.steps = budget;
        t.seed = (uint64_t)(c->seed + s) + 1;
        toy_train_result r;
        int rc = toy_train_run(&t, &set, NULL, &r);
        failed += rc != 0;
        steps[k] = rc != 0 ? -1 : r.steps_to_perfect;
        toy_free(&set);
    }
    return failed;
}

/* One section of prop1.md: the sets, the budget and the table of the four variants. */
static void toy_prop1_table(FILE *f, const toy_cmd_config *c, toy_data kind, int64_t budget,
                            int64_t *steps, const double *cosine)
{
    int ns = c->seeds;
    double lo = cosine[0], hi = cosine[0];
    for (int s = 1; s < ns; s++) {
        lo = fmin(lo, cosine[s]);
        hi = fmax(hi, cosine[s]);
    }
    toy_emit(f, "### %s sets\n\n", kind == TOY_DATA_ANISOTROPIC
                                        ? "Anisotropic (`--data anisotropic`)"
                                        : "Isotropic Gaussian (`--data gaussian`)");
    toy_emit(f, "SGD (%s, lr %g, w = 0 at the start) on %d linearly separable %s sets "
                "(seeds %lld-%lld): n = %lld, d = %d, %g%% positives, margin %g; cosine "
                "between the class-mean difference and the normal %.3f to %.3f; budget %lld "
                "steps. min/median/max/mean over the runs that reached AP = 1.\n\n",
             c->batch ? "minibatch" : "full batch", c->lr, ns, toy_data_name(kind),
             (long long)c->seed, (long long)(c->seed + ns - 1), (long long)c->samples, c->dim,
             100 * c->pos_frac, c->margin, lo, hi, (long long)budget);
    toy_emit(f, "| delta | interpolation | reached | min | median | max | mean |\n"
                "| --- | --- | --- | --- | --- | --- | --- |\n");
    for (int v = 0; v < TOY_PROP1_NV; v++)
        toy_prop1_row(f, toy_prop1_variants[v].delta, toy_prop1_variants[v].interp,
                      steps + (size_t)v * ns, ns);
}

/* --study prop1: steps to training AP = 1 over c->seeds separable sets, for four variants,
 * on the Gaussian sets (budget --steps) and on the anisotropic ones (budget --hard-steps). */
static int toy_study_prop1(const toy_cmd_config *c)
{
    if (c->noise != 0) {
        rd_error("toy: --study prop1 is about separable data; drop --noise %g", c->noise);
        return 2;
    }
    toy_train_config base;
    if (toy_train_config_of(c, c->loss, &base) != 0)
        return 2;
    base.stop_at_perfect = 1;
    int ns = c->seeds;
    size_t nk = (size_t)TOY_PROP1_NV * ns;
    int64_t *steps = rd_malloc(2 * nk * sizeof *steps, "prop1 step counts");  // [2][NV][ns]
    double *cosine = rd_malloc(2 * (size_t)ns * sizeof *cosine, "prop1 cosines");  // [2][ns]
    int failed = toy_prop1_runs(c, &base, TOY_DATA_GAUSSIAN, c->steps, steps, cosine) +
                 toy_prop1_runs(c, &base, TOY_DATA_ANISOTROPIC, c->hard_steps, steps + nk,
                                cosine + ns);
    char path[RD_CLI_STR + 32];
    FILE *f = toy_make_dirs(c->out) == 0 ? toy_open_table(c->out, "prop1.md", path, sizeof path)
                                         : NULL;
    if (f) {
        toy_emit(f, "## Proposition 1: steps of `%s` to training AP = 1\n\n", c->loss);
        toy_prop1_table(f, c, TOY_DATA_GAUSSIAN, c->steps, steps, cosine);
        toy_emit(f, "\n");
        toy_prop1_table(f, c, TOY_DATA_ANISOTROPIC, c->hard_steps, steps + nk, cosine + ns);
        fclose(f);
        printf("\nwritten %s\n", path);
    }
    free(steps);
    free(cosine);
    return !f ? 1 : failed ? 1 : 0;
}

/* Split a comma-separated list of registry losses; -1 with a message on an unknown name. */
static int toy_parse_losses(const char *list, char names[][64], int max)
{
    int count = 0;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (count == max || len == 0 || len >= 64) {
            rd_error("toy: --losses '%s' must be up to %d names separated by commas",
                     list, max);
            return -1;
        }
        memcpy(names[count], p, len);
        names[count][len] = '\0';
        if (!loss_find(names[count])) {
            rd_error("toy: --losses names '%s', which is not a registry loss",
                     names[count]);
            return -1;
        }
        count++;
        p += len + (p[len] == ',');
    }
    return count;
}

typedef struct toy_curve_mode {
    const char *name;  // file name part: full, mini, noisy, hard
    const char *data;  // table text
    toy_data kind;
    int64_t batch;
    double noise;
    int64_t steps;
} toy_curve_mode;

/* One logged run of the curves study; appends its row to the table. */
static int toy_curve_run(const toy_cmd_config *c, const toy_curve_mode *mode, const char *loss,
                         const toy_set *set, FILE *table, int argc, char **argv)
{
    toy_cmd_config run = *c;  // the resolved config of this run, for its log
    run.batch = mode->batch;
    run.noise = mode->noise;
    run.steps = mode->steps;
    snprintf(run.data, sizeof run.data, "%s", toy_data_name(mode->kind));
    snprintf(run.study, sizeof run.study, "curves");
    if (snprintf(run.loss, sizeof run.loss, "%s", loss) >= (int)sizeof run.loss ||
        snprintf(run.log, sizeof run.log, "%s/curves_%s_%s.h5", c->out, mode->name, loss) >=
            (int)sizeof run.log) {
        rd_error("toy: --out '%s' is too long for the log paths", c->out);
        return -1;
    }
    toy_train_config tc;
    if (toy_train_config_of(&run, loss, &tc) != 0)
        return -1;
    rd_runlog *log = toy_open_log(run.log, &run, argc, argv);
    if (!log)
        return -1;
    toy_train_result r;
    int rc = toy_train_run(&tc, set, log, &r);
    runlog_close(log);
    char reach[32];
    snprintf(reach, sizeof reach, r.steps_to_perfect >= 0 ? "%lld" : "not reached",
             (long long)r.steps_to_perfect);
    toy_emit(table, "| %s | %s | %s | %lld | %s | %.6f | %.6f | %.3g | %.6g | %.4g |\n",
             mode->data, mode->batch ? "mini" : "full", loss, (long long)r.steps_run, reach,
             r.best_ap, r.final_ap, 1.0 - r.final_ap, r.final_loss, r.final_wnorm);
    return rc;
}

/* The curves table's heading: settings, and each kind's cosine between the class-mean
 * difference and the normal for this seed. */
static void toy_curves_heading(FILE *table, const toy_cmd_config *c, int64_t batch,
                               double noise)
{
    double cosine[2];
    for (int kind = 0; kind < 2; kind++) {
        toy_set set;
        toy_config dc = toy_data_config(c, (uint64_t)c->seed, 0.0, (toy_data)kind);
        toy_generate(&dc, &set);
        cosine[kind] = toy_mean_gap_cosine(&set);
        toy_free(&set);
    }
    toy_emit(table, "## Toy curves: training AP of each loss\n\n"
                    "n = %lld, d = %d, %g%% positives, margin %g, seed %lld; SGD lr %g from "
                    "w = 0. Gaussian set: %lld steps, full batch and minibatch %lld, and with "
                    "%g of the labels flipped (noisy). Anisotropic set (data/toy.h): %lld "
                    "steps, full batch. Cosine between the class-mean difference and the "
                    "normal: %.3f (gaussian), %.3f (anisotropic).\n\n"
                    "| data | batch | loss | steps | steps to AP = 1 | best AP | final AP | "
                    "final 1 - AP | final loss | norm of w |\n"
                    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
             (long long)c->samples, c->dim, 100 * c->pos_frac, c->margin, (long long)c->seed,
             c->lr, (long long)c->steps, (long long)batch, noise, (long long)c->hard_steps,
             cosine[TOY_DATA_GAUSSIAN], cosine[TOY_DATA_ANISOTROPIC]);
}

/* --study curves: every loss of --losses on the Gaussian set (full batch, minibatch, noisy
 * labels) and on the anisotropic set (full batch). */
static int toy_study_curves(const toy_cmd_config *c, int argc, char **argv)
{
    char names[TOY_MAX_LOSSES][64];
    int nl = toy_parse_losses(c->losses, names, TOY_MAX_LOSSES);
    if (nl < 0)
        return 2;
    double noise = c->noise > 0 ? c->noise : TOY_CURVES_NOISE;
    int64_t batch = c->batch > 0 ? c->batch : TOY_CURVES_BATCH;
    const toy_curve_mode modes[] = {
        {"full", "gaussian", TOY_DATA_GAUSSIAN, 0, 0.0, c->steps},
        {"mini", "gaussian", TOY_DATA_GAUSSIAN, batch, 0.0, c->steps},
        {"noisy", "gaussian, noisy", TOY_DATA_GAUSSIAN, 0, noise, c->steps},
        {"hard", "anisotropic", TOY_DATA_ANISOTROPIC, 0, 0.0, c->hard_steps}};
    char path[RD_CLI_STR + 32];
    FILE *table = toy_make_dirs(c->out) == 0 ? toy_open_table(c->out, "curves.md", path,
                                                              sizeof path) : NULL;
    if (!table)
        return 1;
    toy_curves_heading(table, c, batch, noise);
    int failed = 0;
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        toy_config dc = toy_data_config(c, (uint64_t)c->seed, modes[m].noise, modes[m].kind);
        toy_set set;
        toy_generate(&dc, &set);
        for (int l = 0; l < nl; l++)
            failed += toy_curve_run(c, &modes[m], names[l], &set, table, argc, argv) != 0;
        toy_free(&set);
    }
    fclose(table);
    printf("\nwritten %s and the logs %s/curves_<mode>_<loss>.h5\n", path, c->out);
    return failed ? 1 : 0;
}

int cmd_toy(int argc, char **argv)
{
    toy_cmd_config c;
    cli_defaults(&toy_spec, &c);
    int npos = 0;
    cli_result cr = cli_parse(&toy_spec, &c, argc, argv, NULL, 0, &npos);
    if (cr == CLI_HELP)
        return 0;
    if (cr == CLI_ERROR)
        return 2;
    if (toy_check_flags(&c) != 0)
        return 2;
    if (c.study[0] == '\0')
        return toy_single_run(&c, argc, argv);
    if (strcmp(c.study, "prop1") == 0)
        return toy_study_prop1(&c);
    if (strcmp(c.study, "curves") == 0)
        return toy_study_curves(&c, argc, argv);
    rd_error("toy: --study '%s' is not a study; use prop1 or curves", c.study);
    return 2;
}
