/* bench_train.c — `rankdet bench train`: one training step of RetinaNet (ResNet-18 FPN by
 * default) at 256×256, batch 2, 20 classes: median step time and peak memory on each thread
 * count, with the focal loss and with ap from the registry, beside the same step in PyTorch
 * (experiments/bench_train_torch.py: torchvision 0.14's RetinaNet with the same backbone, frozen
 * stages, focal loss and SGD) when python can import torch; then where rankdet's time goes:
 * per phase of the step and per convolution (bench_train_layers.c).
 *
 * Every configuration runs in its own process (this binary again with --child, or the python
 * script), so its peak resident memory (getrusage) is its own; a rankdet child reports its peak
 * after the steps, before the per-layer profile allocates its buffers. The rankdet
 * children get OPENBLAS_NUM_THREADS=1 (the layers thread their GEMMs themselves; OpenBLAS's idle
 * pool would only compete for the cores) and, by default (--blas-core auto), OpenBLAS's own
 * choice of kernels for the CPU: an OPENBLAS_CORETYPE in the environment is removed for them,
 * since pinning an older core (Haswell: AVX2) where the CPU has AVX-512 would halve the GEMM
 * speed while PyTorch's oneDNN uses AVX-512 regardless. --blas-core keep leaves the
 * environment's value; --blas-core NAME sets NAME. The header says which core ran. */
#include "experiments/bench_train.h"

#include <cJSON.h>
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "detector/train_step.h"
#include "experiments/bench_train_layers.h"
#include "lib/check.h"
#include "lib/cli.h"
#include "lib/progress.h"
#include "lib/rng.h"
#include "lib/threads.h"

#define OPT(name, type, field, def, help) {name, type, offsetof(bench_train_config, field), def, help}
static const cli_opt bench_train_opts[] = {
    OPT("size", CLI_INT, size, "256", "square input side"),
    OPT("batch", CLI_INT, batch, "2", "images per step"),
    OPT("classes", CLI_INT, classes, "20", "classes K"),
    OPT("depth", CLI_INT, depth, "18", "ResNet depth: 18, 34, 50 or 101"),
    OPT("preset", CLI_STRING, preset, "torchvision", "geometry preset: paper or torchvision"),
    OPT("steps", CLI_INT, steps, "10", "timed steps per configuration (the median is reported)"),
    OPT("warmup", CLI_INT, warmup, "3", "untimed steps first"),
    OPT("threads", CLI_STRING, threads, "1,2", "comma-separated thread counts"),
    OPT("losses", CLI_STRING, losses, "focal,ap", "comma-separated registry losses"),
    OPT("torch", CLI_BOOL, torch, "1", "run the PyTorch step beside (when importable)"),
    OPT("python", CLI_STRING, python, "/usr/bin/python3", "the python that has torch"),
    OPT("script", CLI_STRING, script, "experiments/bench_train_torch.py", "the PyTorch side"),
    OPT("layers", CLI_BOOL, layers, "1", "time every convolution of the step on its own"),
    OPT("blas-core", CLI_STRING, blas_core, "auto",
        "OpenBLAS kernels of the rankdet children: auto (OpenBLAS detects the CPU; an "
        "OPENBLAS_CORETYPE in the environment is dropped), keep (the environment's), or a "
        "core name (SkylakeX, Haswell, ...)"),
    OPT("seed", CLI_INT64, seed, "1", "seed of the weights and images"),
    OPT("child", CLI_BOOL, child, "0", "internal: run one configuration, print JSON"),
};
static const cli_spec bench_train_spec = {
    "rankdet bench train", "[flags]",
    "Median time and peak memory of one training step (forward, assignment, classification\n"
    "and box losses, backward, SGD) of RetinaNet on each thread count, with each loss, beside\n"
    "torchvision's RetinaNet in PyTorch; then the time per phase and per convolution.",
    bench_train_opts, (int)(sizeof bench_train_opts / sizeof bench_train_opts[0]),
};

/* The fixed ground truth of image i, in a 256-pixel frame scaled to size (the python side has
 * the same boxes and labels). */
static void bench_train_boxes(int i, int size, int classes, rd_box boxes[3], int32_t labels[3])
{
    float s = (float)size / 256.0f;
    rd_box b[3] = {{16.0f + 8 * i, 24, 112.0f + 8 * i, 136}, {120, 60, 230, 200},
                   {40, 150, 90, 240}};
    int32_t l[3] = {(1 + i) % classes, 5 % classes, 12 % classes};
    for (int g = 0; g < 3; g++) {
        boxes[g] = (rd_box){b[g].x1 * s, b[g].y1 * s, b[g].x2 * s, b[g].y2 * s};
        labels[g] = l[g];
    }
}

static int bench_double_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_double_cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The model of the configuration, initialised from the seed. */
static retinanet *bench_train_model(const bench_train_config *c, const detector_preset *p)
{
    retinanet_config rc;
    retinanet_config_default(&rc, strcmp(p->name, "paper") == 0);
    rc.depth = c->depth, rc.num_classes = c->classes;
    rc.num_anchors = p->anchors_per_location, rc.p6_from_c5 = p->p6_from_c5;
    char err[256];
    if (retinanet_config_check(&rc, err, sizeof err) != 0) {
        rd_error("%s", err);
        return NULL;
    }
    retinanet *m = retinanet_create(&rc);
    retinanet_init_weights(m, (uint64_t)c->seed);
    return m;
}

/* Phase names and their fields in train_timing, in step order. */
static const struct {
    const char *name;
    size_t offset;
} bench_phases[] = {
    {"backbone forward", offsetof(train_timing, backbone_fwd)},
    {"FPN forward", offsetof(train_timing, fpn_fwd)},
    {"heads forward", offsetof(train_timing, heads_fwd)},
    {"assignment", offsetof(train_timing, assign)},
    {"classification loss", offsetof(train_timing, cls_loss)},
    {"box loss", offsetof(train_timing, box_loss)},
    {"zero gradients", offsetof(train_timing, zero_grad)},
    {"heads backward", offsetof(train_timing, heads_bwd)},
    {"FPN backward", offsetof(train_timing, fpn_bwd)},
    {"backbone backward", offsetof(train_timing, backbone_bwd)},
    {"SGD", offsetof(train_timing, sgd)},
};
enum { BENCH_PHASES = (int)(sizeof bench_phases / sizeof bench_phases[0]) };

/* Run the configuration's steps; fills total[steps] and phase[steps][BENCH_PHASES]. */
static int bench_train_steps(const bench_train_config *c, train_step *t, const train_batch *b,
                             double *total, double (*phase)[BENCH_PHASES], double *last_loss)
{
    for (int s = 0; s < c->warmup + c->steps; s++) {
        train_stats st;
        loss_status ls = train_step_run(t, b, &st);
        if (ls != LOSS_OK) {
            char msg[256];
            rd_error("bench train: step %d: %s", s, train_step_describe(t, ls, msg, sizeof msg));
            return -1;
        }
        *last_loss = st.loss;
        if (s < c->warmup)
            continue;
        int k = s - c->warmup;
        total[k] = st.time.total;
        for (int p = 0; p < BENCH_PHASES; p++)
            phase[k][p] = *(const double *)((const char *)&st.time + bench_phases[p].offset);
    }
    return 0;
}

/* The child: one thread count, one loss; prints one JSON object on stdout. */
static int bench_train_child(const bench_train_config *c)
{
    int threads = atoi(c->threads);
    const detector_preset *p = preset_find(c->preset);
    const loss_def *loss = loss_find(c->losses);
    if (threads < 1 || p == NULL || loss == NULL || c->steps < 1 || c->warmup < 0) {
        rd_error("bench train --child: needs one thread count, a preset (%s), one registry loss "
                 "and steps >= 1", preset_names());
        return 2;
    }
    rd_threads_set(threads);
    retinanet *m = bench_train_model(c, p);
    if (m == NULL)
        return 2;
    int n = c->batch, side = c->size;
    size_t plane = (size_t)side * side;
    float *images = rd_malloc((size_t)n * 3 * plane * sizeof(float), "bench images");
    rd_rng rng;
    rd_rng_init(&rng, (uint64_t)c->seed);
    for (size_t i = 0; i < (size_t)n * 3 * plane; i++) {
        int ch = (int)(i / plane % 3);
        images[i] = (float)((rd_rng_uniform(&rng) - p->mean[ch]) / p->std[ch]);
    }
    rd_rng_free(&rng);
    rd_box *boxes = rd_calloc((size_t)n * 3, sizeof *boxes, "bench boxes");
    int32_t *labels = rd_calloc((size_t)n * 3, sizeof *labels, "bench labels");
    assign_gt *gt = rd_calloc((size_t)n, sizeof *gt, "bench gt");
    for (int i = 0; i < n; i++) {
        bench_train_boxes(i, side, c->classes, boxes + 3 * i, labels + 3 * i);
        gt[i] = (assign_gt){boxes + 3 * i, labels + 3 * i, NULL, 3};
    }
    train_config tc;
    memset(&tc, 0, sizeof tc);
    tc.preset = p, tc.cls_loss = loss;
    loss_params_default(&tc.cls_params);
    sgd_config_default(&tc.sgd);
    train_step t;
    train_step_init(&t, m, &tc);
    train_batch b = {images, n, side, side, gt};
    double *total = rd_calloc((size_t)c->steps, sizeof *total, "bench times");
    double (*phase)[BENCH_PHASES] = rd_calloc((size_t)c->steps, sizeof *phase, "bench phases");
    double last_loss = 0.0;
    int rc = bench_train_steps(c, &t, &b, total, phase, &last_loss);
    if (rc == 0) {
        printf("{\"threads\": %d, \"loss\": \"%s\", \"blas_core\": \"%s\", \"loss_value\": %.9g, ",
               threads, loss->name, openblas_get_corename(), last_loss);
        printf("\"step_s\": [");
        for (int k = 0; k < c->steps; k++)
            printf("%s%.6f", k ? ", " : "", total[k]);
        printf("], \"median_s\": %.6f, \"phases\": {", bench_median(total, c->steps));
        for (int q = 0; q < BENCH_PHASES; q++) {
            double *col = rd_malloc((size_t)c->steps * sizeof *col, "bench column");
            for (int k = 0; k < c->steps; k++)
                col[k] = phase[k][q];
            printf("%s\"%s\": %.6f", q ? ", " : "", bench_phases[q].name,
                   bench_median(col, c->steps));
            free(col);
        }
        struct rusage ru;  // the step's peak, before the layer profile's own buffers
        getrusage(RUSAGE_SELF, &ru);
        printf("}, \"step_rss_mib\": %.1f", (double)ru.ru_maxrss / 1024.0);
        if (c->layers)
            bench_train_layers_print_json(m, stdout);
        printf("}\n");
    }
    train_step_free(&t);
    retinanet_destroy(m);
    free(images), free(boxes), free(labels), free(gt), free(total), free(phase);
    return rc == 0 ? 0 : 1;
}

/* The OPENBLAS_CORETYPE of the rankdet children: *value (NULL: unset it) and whether to touch
 * the environment at all (0 for --blas-core keep). */
static int bench_train_blas_core(const bench_train_config *c, const char **value)
{
    *value = NULL;
    if (strcmp(c->blas_core, "keep") == 0)
        return 0;
    if (strcmp(c->blas_core, "auto") != 0)
        *value = c->blas_core;
    return 1;
}

/* One child process: its exit status, peak resident memory (MiB) and parsed JSON stdout. */
typedef struct bench_child {
    int status;        // exit status; -1 when it did not exit normally
    double rss_mib;
    cJSON *json;       // NULL when stdout was not one JSON object (owned)
} bench_child;

/* Run argv with the NAME=VALUE pairs of env set (VALUE NULL: NAME unset), stdout captured
 * through a temporary file. */
static bench_child bench_train_spawn(char *const argv[], const char *const env[][2], int nenv)
{
    bench_child r = {-1, 0.0, NULL};
    char path[] = "/tmp/rankdet-bench-train-XXXXXX";
    int fd = mkstemp(path);
    RD_CHECK(fd >= 0, "cannot create a temporary file: %s", strerror(errno));
    fflush(stdout);
    pid_t pid = fork();
    RD_CHECK(pid >= 0, "fork failed: %s", strerror(errno));
    if (pid == 0) {
        if (dup2(fd, STDOUT_FILENO) < 0)
            _exit(126);
        for (int i = 0; i < nenv; i++)
            if (env[i][1])
                setenv(env[i][0], env[i][1], 1);
            else
                unsetenv(env[i][0]);
        execvp(argv[0], argv);
        fprintf(stderr, "rankdet bench train: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0)
        RD_CHECK(errno == EINTR, "wait4 failed: %s", strerror(errno));
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.rss_mib = (double)ru.ru_maxrss / 1024.0;
    off_t len = lseek(fd, 0, SEEK_END);
    char *text = rd_malloc((size_t)(len > 0 ? len : 0) + 1, "child output");
    ssize_t got = len > 0 ? pread(fd, text, (size_t)len, 0) : 0;
    text[got > 0 ? got : 0] = '\0';
    close(fd);
    unlink(path);
    char *brace = strchr(text, '{');  // skip any stray line before the object
    r.json = brace ? cJSON_Parse(brace) : NULL;
    free(text);
    return r;
}

static double bench_json_number(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* argv for the rankdet child of (threads, loss). */
static bench_child bench_train_run_rankdet(const bench_train_config *c, const char *threads,
                                           const char *loss, int set_core, const char *core)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    RD_CHECK(n > 0, "cannot read /proc/self/exe: %s", strerror(errno));
    exe[n] = '\0';
    char size[16], batch[16], classes[16], depth[16], steps[16], warmup[16], seed[32];
    snprintf(size, sizeof size, "%d", c->size), snprintf(batch, sizeof batch, "%d", c->batch);
    snprintf(classes, sizeof classes, "%d", c->classes);
    snprintf(depth, sizeof depth, "%d", c->depth), snprintf(steps, sizeof steps, "%d", c->steps);
    snprintf(warmup, sizeof warmup, "%d", c->warmup);
    snprintf(seed, sizeof seed, "%lld", (long long)c->seed);
    char *argv[] = {exe, "bench", "train", "--child", "--threads", (char *)threads, "--losses",
                    (char *)loss, "--size", size, "--batch", batch, "--classes", classes,
                    "--depth", depth, "--preset", (char *)c->preset, "--steps", steps,
                    "--warmup", warmup, "--seed", seed, c->layers ? "--layers" : "--no-layers",
                    NULL};
    const char *env[2][2] = {{"OPENBLAS_NUM_THREADS", "1"}, {"OPENBLAS_CORETYPE", core}};
    return bench_train_spawn(argv, env, set_core ? 2 : 1);
}

static bench_child bench_train_run_torch(const bench_train_config *c, const char *threads)
{
    char size[16], batch[16], classes[16], depth[16], steps[16], warmup[16];
    snprintf(size, sizeof size, "%d", c->size), snprintf(batch, sizeof batch, "%d", c->batch);
    snprintf(classes, sizeof classes, "%d", c->classes);
    snprintf(depth, sizeof depth, "%d", c->depth), snprintf(steps, sizeof steps, "%d", c->steps);
    snprintf(warmup, sizeof warmup, "%d", c->warmup);
    char *argv[] = {(char *)c->python, (char *)c->script, "--threads", (char *)threads,
                    "--size", size, "--batch", batch, "--classes", classes, "--depth", depth,
                    "--steps", steps, "--warmup", warmup, NULL};
    const char *env[1][2] = {{"OMP_NUM_THREADS", threads}};
    return bench_train_spawn(argv, env, 1);
}

enum { BENCH_MAX_LIST = 8 };

/* Split a comma-separated list into at most BENCH_MAX_LIST words (in place). */
static int bench_split(char *text, char *words[BENCH_MAX_LIST])
{
    int n = 0;
    for (char *save = NULL, *w = strtok_r(text, ",", &save); w && n < BENCH_MAX_LIST;
         w = strtok_r(NULL, ",", &save))
        words[n++] = w;
    return n;
}

typedef struct bench_results {
    char *threads[BENCH_MAX_LIST], *losses[BENCH_MAX_LIST];
    int nthreads, nlosses;
    bench_child ours[BENCH_MAX_LIST][BENCH_MAX_LIST];  // [thread][loss]
    bench_child torch[BENCH_MAX_LIST];                 // [thread]
    int have_torch;
    int focal;                                         // index of focal in losses, or -1
} bench_results;

/* A rankdet child's peak memory over its steps (before the layer profile), MiB. */
static double bench_rss(const bench_child *c)
{
    double v = bench_json_number(c->json, "step_rss_mib");
    return isnan(v) ? c->rss_mib : v;
}

static void bench_print_rows(const bench_results *r)
{
    printf("\n%7s  %-28s %10s %10s\n", "threads", "step", "median ms", "peak MiB");
    for (int t = 0; t < r->nthreads; t++) {
        for (int l = 0; l < r->nlosses; l++) {
            const bench_child *c = &r->ours[t][l];
            char name[64];
            snprintf(name, sizeof name, "rankdet, %s", r->losses[l]);
            printf("%7s  %-28s %10.1f %10.1f\n", r->threads[t], name,
                   1e3 * bench_json_number(c->json, "median_s"), bench_rss(c));
        }
        if (r->have_torch && r->torch[t].json) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->torch[t].json, "torch");
            char name[64];
            snprintf(name, sizeof name, "PyTorch %s, focal", cJSON_IsString(v) ? v->valuestring : "");
            printf("%7s  %-28s %10.1f %10.1f\n", r->threads[t], name,
                   1e3 * bench_json_number(r->torch[t].json, "median_s"), r->torch[t].rss_mib);
        }
    }
}

static void bench_print_ratios(const bench_results *r)
{
    int f = r->focal;
    if (f >= 0 && r->have_torch) {
        printf("\nPyTorch / rankdet step time, focal (goal >= 1.2):");
        for (int t = 0; t < r->nthreads; t++)
            printf("  %s thread%s %.2fx", r->threads[t], strcmp(r->threads[t], "1") ? "s" : "",
                   bench_json_number(r->torch[t].json, "median_s") /
                       bench_json_number(r->ours[t][f].json, "median_s"));
        printf("\nrankdet / PyTorch peak memory, focal (goal <= 1):");
        for (int t = 0; t < r->nthreads; t++)
            printf("  %s thread%s %.2f", r->threads[t], strcmp(r->threads[t], "1") ? "s" : "",
                   bench_rss(&r->ours[t][f]) / r->torch[t].rss_mib);
        printf("\n");
    }
    for (int l = 0; f >= 0 && l < r->nlosses; l++) {
        if (l == f)
            continue;
        printf("rankdet %s / focal step time:", r->losses[l]);
        for (int t = 0; t < r->nthreads; t++)
            printf("  %s thread%s %.2f", r->threads[t], strcmp(r->threads[t], "1") ? "s" : "",
                   bench_json_number(r->ours[t][l].json, "median_s") /
                       bench_json_number(r->ours[t][f].json, "median_s"));
        printf("\n");
    }
}

/* Per-phase medians and per-block convolution times of the first loss's children. */
static void bench_print_breakdown(const bench_results *r)
{
    int l = r->focal >= 0 ? r->focal : 0;
    printf("\nwhere rankdet's step goes (%s; median ms per phase)\n%-22s", r->losses[l], "phase");
    for (int t = 0; t < r->nthreads; t++)
        printf(" %9s T", r->threads[t]);
    printf("\n");
    for (int p = 0; p < BENCH_PHASES; p++) {
        printf("%-22s", bench_phases[p].name);
        for (int t = 0; t < r->nthreads; t++) {
            const cJSON *ph = cJSON_GetObjectItemCaseSensitive(r->ours[t][l].json, "phases");
            printf(" %11.1f", 1e3 * bench_json_number(ph, bench_phases[p].name));
        }
        printf("\n");
    }
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(r->ours[0][l].json, "layers");
    if (!cJSON_IsArray(layers))
        return;
    printf("\nconvolutions timed on their own, per block (ms: forward / backward)\n%-14s %5s",
           "block", "convs");
    for (int t = 0; t < r->nthreads; t++)
        printf(" %13s T", r->threads[t]);
    printf("\n");
    for (int i = 0; i < cJSON_GetArraySize(layers); i++) {
        const cJSON *g = cJSON_GetArrayItem(layers, i);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(g, "name");
        printf("%-14s %5.0f", cJSON_IsString(name) ? name->valuestring : "?",
               bench_json_number(g, "convs"));
        for (int t = 0; t < r->nthreads; t++) {
            const cJSON *lt = cJSON_GetObjectItemCaseSensitive(r->ours[t][l].json, "layers");
            const cJSON *gt = cJSON_GetArrayItem(lt, i);
            printf(" %7.1f / %5.1f", 1e3 * bench_json_number(gt, "fwd_s"),
                   1e3 * bench_json_number(gt, "bwd_s"));
        }
        printf("\n");
    }
}

static void bench_print_header(const bench_train_config *c, const detector_preset *p,
                               const bench_results *r)
{
    printf("rankdet bench train: RetinaNet ResNet-%d FPN, %s preset (%d anchors per place, P6 on "
           "%s), %dx%d, batch %d, %d classes,\n  stem and layer1 frozen, SGD momentum 0.9; median "
           "of %d steps after %d; every configuration in its own process\n",
           c->depth, p->name, p->anchors_per_location, p->p6_from_c5 ? "C5" : "P5", c->size,
           c->size, c->batch, c->classes, c->steps, c->warmup);
    const cJSON *core = cJSON_GetObjectItemCaseSensitive(r->ours[0][0].json, "blas_core");
    const char *env = getenv("OPENBLAS_CORETYPE");
    char why[RD_CLI_STR + 160];
    if (strcmp(c->blas_core, "keep") == 0)
        snprintf(why, sizeof why, "--blas-core keep: %s", env ? "OPENBLAS_CORETYPE of the "
                 "environment" : "detected by OpenBLAS");
    else if (strcmp(c->blas_core, "auto") == 0)
        snprintf(why, sizeof why, "detected by OpenBLAS%s%s%s", env ? "; the environment's "
                 "OPENBLAS_CORETYPE=" : "", env ? env : "", env ? " dropped (--blas-core keep "
                 "keeps it)" : "");
    else
        snprintf(why, sizeof why, "--blas-core %s", c->blas_core);
    printf("  OpenBLAS core %s (%s)\n", cJSON_IsString(core) ? core->valuestring : "?", why);
    if (!c->torch)
        printf("  PyTorch: not run (--no-torch)\n");
    else if (!r->have_torch)
        printf("  PyTorch: not run: %s %s failed (is torch importable? see its message above)\n",
               c->python, c->script);
}

static int bench_train_parent(bench_train_config *c)
{
    const detector_preset *p = preset_find(c->preset);
    if (p == NULL) {
        rd_error("--preset: unknown preset '%s' (one of %s)", c->preset, preset_names());
        return 2;
    }
    static bench_results r;
    memset(&r, 0, sizeof r);
    r.nthreads = bench_split(c->threads, r.threads);
    r.nlosses = bench_split(c->losses, r.losses);
    r.focal = -1;
    for (int l = 0; l < r.nlosses; l++) {
        if (loss_find(r.losses[l]) == NULL) {
            rd_error("--losses: '%s' is not a registry loss", r.losses[l]);
            return 2;
        }
        if (strcmp(r.losses[l], "focal") == 0)
            r.focal = l;
    }
    for (int t = 0; t < r.nthreads; t++)
        if (atoi(r.threads[t]) < 1) {
            rd_error("--threads: '%s' is not a thread count >= 1", r.threads[t]);
            return 2;
        }
    if (r.nthreads == 0 || r.nlosses == 0 || c->steps < 1 || c->warmup < 0) {
        rd_error("bench train: needs thread counts, losses and --steps >= 1");
        return 2;
    }
    const char *core;
    int set_core = bench_train_blas_core(c, &core);
    r.have_torch = c->torch;
    for (int t = 0; t < r.nthreads; t++) {
        for (int l = 0; l < r.nlosses; l++) {
            fprintf(stderr, "bench train: rankdet, %s, %s thread(s)\n", r.losses[l], r.threads[t]);
            r.ours[t][l] = bench_train_run_rankdet(c, r.threads[t], r.losses[l], set_core, core);
            if (r.ours[t][l].status != 0 || r.ours[t][l].json == NULL) {
                rd_error("bench train: the rankdet child (%s, %s threads) failed", r.losses[l],
                         r.threads[t]);
                return 1;
            }
        }
        if (r.have_torch) {
            fprintf(stderr, "bench train: PyTorch, focal, %s thread(s)\n", r.threads[t]);
            r.torch[t] = bench_train_run_torch(c, r.threads[t]);
            r.have_torch = r.torch[t].status == 0 && r.torch[t].json != NULL;
        }
    }
    bench_print_header(c, p, &r);
    bench_print_rows(&r);
    bench_print_ratios(&r);
    bench_print_breakdown(&r);
    for (int t = 0; t < r.nthreads; t++) {
        for (int l = 0; l < r.nlosses; l++)
            cJSON_Delete(r.ours[t][l].json);
        cJSON_Delete(r.torch[t].json);
    }
    return 0;
}

int bench_train_main(int argc, char **argv)
{
    bench_train_config c;
    cli_defaults(&bench_train_spec, &c);
    int npos = 0;
    cli_result r = cli_parse(&bench_train_spec, &c, argc, argv, NULL, 0, &npos);
    if (r != CLI_OK)
        return r == CLI_HELP ? 0 : 2;
    if (c.size < 32 || c.batch < 1 || c.classes < 1) {
        rd_error("bench train: --size must be >= 32, --batch and --classes >= 1");
        return 2;
    }
    return c.child ? bench_train_child(&c) : bench_train_parent(&c);
}
