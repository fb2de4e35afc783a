/* bench_loss.c — `rankdet bench loss`: median time of every registry loss on a minibatch of
 * 8 images × 32,736 anchors × 20 classes (5,237,760 scores, about 200 positives) in three
 * regimes, on one thread and on all threads, beside the O(|P||N|) oracles of ap and auc and a
 * plain streaming pass (read scores and labels, write grad) as the physical floor.
 *   early: every score within 0.1 of -log 99 (the prior of a freshly initialised head)
 *   mid:   positives N(-1, 1.5), negatives N(-3, 1.5): the two overlap widely
 *   late:  positives N(2, 1), negatives N(-12, 2) but for 0.1% hard ones N(0, 1.5)
 * With --device cuda the GPU twin of every chosen loss (optim/loss_cuda.h) is timed too, on
 * the same batches: the median of repeated calls timed by CUDA events, the upload of scores
 * and labels apart. */
#include "experiments/bench_loss.h"

#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/check.h"
#include "lib/cli.h"
#include "lib/device.h"
#include "lib/progress.h"
#include "lib/rng.h"
#include "optim/loss.h"
#include "optim/loss_cuda.h"
#include "optim/rank_oracle.h"

typedef struct bench_loss_config {
    int images, anchors, classes, positives, ignored;
    int repeats;
    double budget;          // seconds one (loss, regime, threads) cell may take
    int threads;
    int oracle;
    int64_t seed;
    char regimes[RD_CLI_STR];
    char losses[RD_CLI_STR];
    char device[RD_CLI_STR];
} bench_loss_config;

#define OPT(name, type, field, def, help) {name, type, offsetof(bench_loss_config, field), def, help}
static const cli_opt bench_loss_opts[] = {
    OPT("images", CLI_INT, images, "8", "images in the minibatch"),
    OPT("anchors", CLI_INT, anchors, "32736", "anchors per image (512x512, P3-P7, 6 per place)"),
    OPT("classes", CLI_INT, classes, "20", "classes K"),
    OPT("positives", CLI_INT, positives, "200", "positive (anchor, class) pairs in the batch"),
    OPT("ignored", CLI_INT, ignored, "400", "ignored anchors in the batch (all K labels -1)"),
    OPT("repeats", CLI_INT, repeats, "7", "timed runs per cell (the median is reported)"),
    OPT("budget", CLI_DOUBLE, budget, "3", "seconds per cell before repeats stop early"),
    OPT("threads", CLI_INT, threads, "0", "the 'all threads' count (0: every core)"),
    OPT("oracle", CLI_BOOL, oracle, "1", "also time the O(|P||N|) oracles of ap and auc"),
    OPT("seed", CLI_INT64, seed, "1", "seed of the generated minibatch"),
    OPT("regimes", CLI_STRING, regimes, "early,mid,late", "comma-separated regimes"),
    OPT("losses", CLI_STRING, losses, "all", "comma-separated registry names, or all"),
    OPT("device", CLI_STRING, device, "cpu",
        "cpu, or cuda: also the GPU twins (CUDA events, 3 x repeats runs, upload apart)"),
};
static const cli_spec bench_loss_spec = {
    "rankdet bench loss", "[flags]",
    "Times every registry loss on a detector-sized minibatch in three score regimes (early,\n"
    "mid, late) on one thread and on all threads, beside the O(|P||N|) oracles of ap and auc\n"
    "and a streaming pass (read scores and labels, write grad) as the floor.",
    bench_loss_opts, (int)(sizeof bench_loss_opts / sizeof bench_loss_opts[0]),
};

typedef struct batch {
    float *scores;   // [n]
    int8_t *labels;  // [n]
    float *grad;     // [n]
    int64_t n;
} batch;

/* Labels: random positive (anchor, class) pairs, the other classes of a positive anchor
 * negative, some anchors ignored whole, everything else negative. */
static void batch_labels(batch *b, const bench_loss_config *c, rd_rng *rng)
{
    int64_t anchors = (int64_t)c->images * c->anchors, K = c->classes;
    memset(b->labels, 0, (size_t)b->n);
    for (int i = 0; i < c->ignored; i++) {
        int64_t a = (int64_t)rd_rng_below(rng, (uint64_t)anchors);
        memset(b->labels + a * K, -1, (size_t)K);
    }
    for (int i = 0; i < c->positives; i++) {
        int64_t a = (int64_t)rd_rng_below(rng, (uint64_t)anchors);
        memset(b->labels + a * K, 0, (size_t)K);
        b->labels[a * K + (int64_t)rd_rng_below(rng, (uint64_t)K)] = 1;
    }
}

static int batch_scores(batch *b, const char *regime, rd_rng *rng)
{
    const double prior = -log(99.0);
    for (int64_t i = 0; i < b->n; i++) {
        int pos = b->labels[i] == 1;
        double s;
        if (strcmp(regime, "early") == 0)
            s = prior + 0.1 * (2.0 * rd_rng_uniform(rng) - 1.0);
        else if (strcmp(regime, "mid") == 0)
            s = pos ? -1.0 + rd_rng_gaussian(rng, 1.5) : -3.0 + rd_rng_gaussian(rng, 1.5);
        else if (strcmp(regime, "late") == 0)
            s = pos ? 2.0 + rd_rng_gaussian(rng, 1.0)
                : rd_rng_uniform(rng) < 1e-3 ? rd_rng_gaussian(rng, 1.5)
                                              : -12.0 + rd_rng_gaussian(rng, 2.0);
        else
            return -1;
        b->scores[i] = (float)s;
    }
    return 0;
}

/* The floor: read scores and labels, write grad. */
static void stream_pass(const batch *b)
{
    const float *s = b->scores;
    const int8_t *t = b->labels;
    float *g = b->grad;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < b->n; i++)
        g[i] = t[i] == 0 ? s[i] * 0.5f : 0.0f;
}

typedef struct timing {
    double median_ms;
    int runs;
    double loss;
} timing;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of up to `repeats` runs (fewer once `budget` seconds are spent); fn NULL: streaming. */
static timing time_cell(loss_compute_fn fn, batch *b, const loss_params *p, rd_arena *ws,
                        int threads, int repeats, double budget)
{
    omp_set_num_threads(threads);
    loss_inputs in = {b->scores, b->labels, NULL, b->n};
    loss_result r = {0};
    double ms[64], spent = 0.0;  // the floor's 31 runs fit
    int runs = 0;
    if (fn)
        fn(&in, p, ws, b->grad, &r);  // warm-up: scratch reserved, pages touched
    else
        stream_pass(b);
    while (runs < repeats && runs < 64 && (runs < 1 || spent < budget)) {
        double t0 = rd_seconds();
        if (fn) {
            loss_status st = fn(&in, p, ws, b->grad, &r);
            RD_CHECK(st == LOSS_OK, "benchmark batch must be valid (status %d)", (int)st);
        } else {
            stream_pass(b);
        }
        double dt = rd_seconds() - t0;
        ms[runs++] = 1e3 * dt;
        spent += dt;
    }
    qsort(ms, (size_t)runs, sizeof ms[0], cmp_double);
    timing t = {ms[runs / 2], runs, r.loss};
    return t;
}

static int list_has(const char *list, const char *name)
{
    if (strcmp(list, "all") == 0)
        return 1;
    size_t len = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += len)
        if ((p == list || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
            return 1;
    return 0;
}

typedef struct bench_row {
    const char *name;
    loss_compute_fn fn;  // NULL: the streaming pass
    int slow;            // the oracles: one thread, one run
} bench_row;

/* Times every row in one regime; returns ap's single-thread time over the streaming pass's
 * (0 when ap is not among the rows). */
static double bench_regime(const char *regime, batch *b, const bench_loss_config *c,
                           const bench_row *rows, int nrows, int all_threads, rd_arena *ws)
{
    double ap_ratio = 0.0;
    loss_params p;
    loss_params_default(&p);
    double stream1 = 0.0, streamN = 0.0;
    for (int r = 0; r < nrows; r++) {
        int reps = rows[r].slow ? 1 : rows[r].fn ? c->repeats : 31;  // the floor is cheap: more runs
        timing t1 = time_cell(rows[r].fn, b, &p, ws, 1, reps, c->budget);
        timing tN = rows[r].slow ? t1 : time_cell(rows[r].fn, b, &p, ws, all_threads, reps, c->budget);
        if (!rows[r].fn) {
            stream1 = t1.median_ms;
            streamN = tN.median_ms;
        }
        if (strcmp(rows[r].name, "ap") == 0)
            ap_ratio = t1.median_ms / stream1;
        char lossbuf[32] = "-";
        if (rows[r].fn)
            snprintf(lossbuf, sizeof lossbuf, "%.6f", t1.loss);
        if (rows[r].slow)
            printf("| %-5s | %-10s | %10.2f | %8.1fx | %10s | %8s | %4d | %s |\n", regime,
                   rows[r].name, t1.median_ms, t1.median_ms / stream1, "-", "-", t1.runs, lossbuf);
        else
            printf("| %-5s | %-10s | %10.2f | %8.1fx | %10.2f | %8.1fx | %4d | %s |\n", regime,
                   rows[r].name, t1.median_ms, t1.median_ms / stream1, tN.median_ms,
                   tN.median_ms / streamN, t1.runs, lossbuf);
        fflush(stdout);
    }
    return ap_ratio;
}

typedef struct gpu_timing {
    const char *name;  // the loss; NULL: not timed
    double median_ms;  // the loss alone, batch already on the device
    double upload_ms;  // scores and labels from the host
    int runs;
    double loss;
} gpu_timing;

/* The GPU twin of the loss `name` on the batch db (uploaded already; default parameters, as
 * the CPU rows): `runs` calls each timed by CUDA events (after one warm-up call), median. */
static gpu_timing bench_gpu(const char *name, double upload_ms, int runs,
                            const loss_cuda_batch *db, loss_cuda_ws *ws)
{
    gpu_timing g = {name, 0.0, upload_ms, runs, 0.0};
    loss_params p;
    loss_params_default(&p);
    double ms[64];
    loss_result r;
    loss_status st = loss_cuda_time(loss_cuda_find(name)->compute, db, &p, ws, runs, ms, &r);
    RD_CHECK(st == LOSS_OK, "benchmark batch must be valid (status %d)", (int)st);
    qsort(ms, (size_t)runs, sizeof ms[0], cmp_double);
    g.median_ms = ms[runs / 2];
    g.loss = r.loss;
    return g;
}

/* Every chosen loss with a GPU twin on b: one upload, then each loss timed, into gpu[]. */
static void bench_gpu_regime(const batch *b, const bench_row *rows, int nrows, int runs,
                             loss_cuda_batch *db, loss_cuda_ws *ws, gpu_timing *gpu)
{
    const double upload_ms = loss_cuda_batch_upload(db, b->scores, b->labels);
    for (int r = 0; r < nrows; r++)
        if (rows[r].fn && !rows[r].slow && loss_cuda_find(rows[r].name))
            gpu[r] = bench_gpu(rows[r].name, upload_ms, runs, db, ws);
}

/* The GPU table: one row per (regime, loss) timed; ap against its goal of 1 ms. */
static void bench_gpu_report(const char *const *names, gpu_timing (*gpu)[16], int nrows)
{
    char desc[256];
    if (rd_cuda_describe(desc, sizeof desc) != 0)
        snprintf(desc, sizeof desc, "unknown GPU");
    printf("\nthe GPU twins (%s): median of CUDA-event timed calls, batch on the device\n\n"
           "| regime | loss | GPU ms | upload ms | runs | loss value |\n"
           "|---|---|---:|---:|---:|---|\n", desc);
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < nrows; k++)
            if (gpu[r][k].name)
                printf("| %-5s | %-10s | %8.3f | %8.3f | %4d | %.6f |\n", names[r],
                       gpu[r][k].name, gpu[r][k].median_ms, gpu[r][k].upload_ms, gpu[r][k].runs,
                       gpu[r][k].loss);
    printf("\n");
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < nrows; k++)
            if (gpu[r][k].name && strcmp(gpu[r][k].name, "ap") == 0)
                printf("ap on the GPU, %s regime: %.3f ms (goal < 1 ms): %s\n", names[r],
                       gpu[r][k].median_ms, gpu[r][k].median_ms < 1.0 ? "met" : "not met");
}

/* Whether some loss of the --losses list has a GPU twin. */
static int bench_any_gpu_twin(const char *losses)
{
    int count;
    const loss_def *defs = loss_registry(&count);
    for (int i = 0; i < count; i++)
        if (list_has(losses, defs[i].name) && loss_cuda_find(defs[i].name))
            return 1;
    return 0;
}

/* --device: 0 and *cuda set, or the exit status after a message (2 usage, 1 no GPU). */
static int bench_device(const bench_loss_config *c, int *cuda)
{
    char err[512];
    rd_device_kind kind;
    if (rd_device_parse(c->device, &kind, err, sizeof err) < 0) {
        cli_error(&bench_loss_spec, "%s", err);
        return 2;
    }
    *cuda = kind == RD_DEVICE_CUDA;
    if (*cuda && !bench_any_gpu_twin(c->losses)) {
        cli_error(&bench_loss_spec, "--device cuda: no loss of --losses '%s' has a GPU twin",
                  c->losses);
        return 2;
    }
    if (*cuda && !rd_cuda_available(err, sizeof err)) {
        rd_error("bench loss --device cuda: %s", err);
        return 1;
    }
    return 0;
}

/* The rows to time: the streaming floor, the chosen registry losses, the oracles. */
static int bench_rows(const bench_loss_config *c, bench_row *rows, int max_rows)
{
    int nrows = 0;
    rows[nrows++] = (bench_row){"stream", NULL, 0};
    int count;
    const loss_def *defs = loss_registry(&count);
    for (int i = 0; i < count && nrows < max_rows - 2; i++)
        if (list_has(c->losses, defs[i].name))
            rows[nrows++] = (bench_row){defs[i].name, defs[i].compute, 0};
    if (c->oracle && list_has(c->losses, "ap"))
        rows[nrows++] = (bench_row){"ap_oracle", ap_oracle_compute, 1};
    if (c->oracle && list_has(c->losses, "auc"))
        rows[nrows++] = (bench_row){"auc_oracle", auc_oracle_compute, 1};
    return nrows;
}

int bench_loss_main(int argc, char **argv)
{
    bench_loss_config c;
    cli_defaults(&bench_loss_spec, &c);
    int npos = 0;
    cli_result cr = cli_parse(&bench_loss_spec, &c, argc, argv, NULL, 0, &npos);
    if (cr != CLI_OK)
        return cr == CLI_HELP ? 0 : 2;
    if (c.images < 1 || c.anchors < 1 || c.classes < 1 || c.positives < 1 || c.repeats < 1) {
        rd_error("rankdet bench loss: --images, --anchors, --classes, --positives and --repeats "
                 "must be positive");
        return 2;
    }
    int cuda = 0, rc = bench_device(&c, &cuda);
    if (rc != 0)
        return rc;
    int all_threads = c.threads > 0 ? c.threads : omp_get_num_procs();

    bench_row rows[16];
    int nrows = bench_rows(&c, rows, 16);

    batch b;
    b.n = (int64_t)c.images * c.anchors * c.classes;
    b.scores = rd_malloc((size_t)b.n * sizeof(float), "benchmark scores");
    b.labels = rd_malloc((size_t)b.n, "benchmark labels");
    b.grad = rd_malloc((size_t)b.n * sizeof(float), "benchmark grad");
    rd_rng rng;
    rd_rng_init(&rng, (uint64_t)c.seed);
    batch_labels(&b, &c, &rng);
    rd_arena ws;
    rd_arena_init(&ws);
    loss_cuda_batch db = {NULL, NULL, NULL, 0};
    loss_cuda_ws dws;
    loss_cuda_ws_init(&dws);
    gpu_timing gpu[3][16];
    memset(gpu, 0, sizeof gpu);
    if (cuda)
        loss_cuda_batch_init(&db, b.n);

    printf("rankdet bench loss: %lld scores (%d images x %d anchors x %d classes), %d positives, "
           "delta 1, interpolation on; 1 thread and %d threads; median of up to %d runs "
           "(oracles: one run, one thread)\n\n",
           (long long)b.n, c.images, c.anchors, c.classes, c.positives, all_threads, c.repeats);
    printf("| regime | loss | 1 thread ms | x stream | %d threads ms | x stream | runs | loss value |\n",
           all_threads);
    printf("|---|---|---:|---:|---:|---:|---:|---|\n");
    const char *names[] = {"early", "mid", "late"};
    const double goals[] = {20.0, 0.0, 3.0};  // ap's goals, times the streaming pass
    double ratios[3] = {0.0, 0.0, 0.0};
    for (int r = 0; r < 3; r++) {
        if (!list_has(c.regimes, names[r]))
            continue;
        rd_rng_free(&rng);
        rd_rng_init(&rng, (uint64_t)c.seed + 1 + (uint64_t)r);  // a regime's scores don't depend on which others run
        batch_scores(&b, names[r], &rng);
        ratios[r] = bench_regime(names[r], &b, &c, rows, nrows, all_threads, &ws);
        if (cuda)
            bench_gpu_regime(&b, rows, nrows, 3 * c.repeats < 64 ? 3 * c.repeats : 64, &db,
                             &dws, gpu[r]);
    }
    if (cuda)
        bench_gpu_report(names, gpu, nrows);
    printf("\n");
    for (int r = 0; r < 3; r++)
        if (ratios[r] > 0.0 && goals[r] > 0.0)
            printf("ap, %s regime: %.1fx the streaming pass on one thread (goal <= %.0fx): %s\n",
                   names[r], ratios[r], goals[r], ratios[r] <= goals[r] ? "met" : "not met");
    rd_arena_free(&ws);
    if (cuda) {
        loss_cuda_ws_free(&dws);
        loss_cuda_batch_free(&db);
    }
    rd_rng_free(&rng);
    free(b.scores);
    free(b.labels);
    free(b.grad);
    return 0;
}
