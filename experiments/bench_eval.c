/* bench_eval.c — `rankdet bench eval`: wall time and peak memory of `rankdet eval` beside
 * pycocotools (experiments/bench_eval_coco.py, when python can import it) on a generated
 * COCO val2017-sized case, and the 12 numbers of both side by side.
 *
 * The case (written to OUT_DIR/eval_gt.json and eval_dt.json, deterministic for a seed):
 * 5,000 images of 640x480, the 80 COCO category ids, about 7.3 ground truth boxes per image
 * (36,500 in all; 1% crowd) drawn from 1-4 categories per image with person the most common,
 * box sides log-uniform in [4, 500] px with `area` 45-90% of the box (as a mask's), and 100
 * detections per image: 1-3 jittered copies of each ground truth box (sometimes with a wrong
 * category) with higher scores, then background boxes of the image's categories (70%) or any
 * category. Every tool runs in its own process; wall time and peak resident memory
 * (getrusage of the child) include reading the JSON files. */
#include "experiments/bench_eval.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/coco_eval.h"
#include "analysis/dets_json.h"
#include "lib/check.h"
#include "lib/cli.h"
#include "lib/progress.h"
#include "lib/rng.h"

typedef struct bench_eval_config {
    int images;
    int dets_per_image;
    double gt_per_image;
    int runs;
    int64_t seed;
    char out_dir[RD_CLI_STR];
    char python[RD_CLI_STR];
    char script[RD_CLI_STR];
    int pycocotools;
} bench_eval_config;

#define OPT(name, type, field, def, help) {name, type, offsetof(bench_eval_config, field), def, help}
static const cli_opt bench_eval_opts[] = {
    OPT("images", CLI_INT, images, "5000", "images in the generated case (val2017: 5000)"),
    OPT("dets-per-image", CLI_INT, dets_per_image, "100", "detections per image"),
    OPT("gt-per-image", CLI_DOUBLE, gt_per_image, "7.3", "mean ground truth boxes per image"),
    OPT("runs", CLI_INT, runs, "3", "timed runs of rankdet eval (the median is reported)"),
    OPT("seed", CLI_INT64, seed, "2017", "seed of the generated case"),
    OPT("out-dir", CLI_STRING, out_dir, "results/bench", "where the case and results go"),
    OPT("python", CLI_STRING, python, "python3", "the python that has pycocotools"),
    OPT("script", CLI_STRING, script, "experiments/bench_eval_coco.py",
        "the pycocotools side"),
    OPT("pycocotools", CLI_BOOL, pycocotools, "1", "run pycocotools beside (when importable)"),
};
static const cli_spec bench_eval_spec = {
    "rankdet bench eval", "[flags]",
    "Generates a COCO val2017-sized case (5,000 images, 80 categories, about 36,500 ground\n"
    "truth boxes, 100 detections per image) and times `rankdet eval` (all threads and one\n"
    "thread) beside pycocotools' COCOeval in separate processes: wall time, peak resident\n"
    "memory, and the 12 numbers of both, which must agree to 1e-9. Goal: 20x faster, no more\n"
    "memory.",
    bench_eval_opts, (int)(sizeof bench_eval_opts / sizeof bench_eval_opts[0]),
};

/* The 80 category ids of COCO 2017 (1..90 without 12, 26, 29, 30, 45, 66, 68, 69, 71, 83). */
static int bench_coco_category_ids(int64_t ids[80])
{
    static const int gaps[] = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83};
    int n = 0;
    for (int id = 1; id <= 90; id++) {
        int gap = 0;
        for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++)
            gap |= id == gaps[g];
        if (!gap)
            ids[n++] = id;
    }
    return n;
}

static double bench_round(double v, double unit)
{
    return round(v / unit) * unit;
}

/* A category position: person (0) 27% of the time, else Zipf-like over the other 79. */
static int bench_draw_category(rd_rng *rng)
{
    if (rd_rng_uniform(rng) < 0.27)
        return 0;
    double u = rd_rng_uniform(rng);
    return 1 + (int)(79.0 * pow(u, 2.2)) % 79;
}

/* A box inside a 640x480 image: sides log-uniform in [4, 500]. */
static void bench_draw_box(rd_rng *rng, double b[4])
{
    double w = exp(log(4.0) + rd_rng_uniform(rng) * (log(500.0) - log(4.0)));
    double h = w * exp(rd_rng_gaussian(rng, 0.5));
    w = fmin(w, 639.0);
    h = fmin(fmax(h, 2.0), 479.0);
    b[0] = bench_round(rd_rng_uniform(rng) * (640.0 - w), 0.01);
    b[1] = bench_round(rd_rng_uniform(rng) * (480.0 - h), 0.01);
    b[2] = bench_round(w, 0.01);
    b[3] = bench_round(h, 0.01);
}

typedef struct bench_case {
    int64_t *image_ids;  // [nimages]
    int64_t nimages;
    int64_t category_ids[80];
    coco_annotation *gt;
    int64_t ngt;
    coco_result *dt;
    int64_t ndt;
} bench_case;

/* One image's ground truth; returns how many were added at c->gt + c->ngt. */
static void bench_image_gt(const bench_eval_config *cfg, rd_rng *rng, int64_t image,
                           int cats[4], int *ncats, bench_case *c)
{
    *ncats = 1 + (int)rd_rng_below(rng, 4);
    for (int j = 0; j < *ncats; j++)
        cats[j] = bench_draw_category(rng);
    /* geometric count with the requested mean */
    double p = 1.0 / (1.0 + cfg->gt_per_image);
    int n = (int)floor(log(1.0 - rd_rng_uniform(rng)) / log(1.0 - p));
    n = n > 60 ? 60 : n;
    for (int j = 0; j < n; j++) {
        coco_annotation *a = &c->gt[c->ngt];
        a->id = c->ngt + 1;
        a->image_id = image;
        a->category_id = c->category_ids[cats[rd_rng_below(rng, (uint64_t)*ncats)]];
        bench_draw_box(rng, a->bbox);
        a->iscrowd = rd_rng_uniform(rng) < 0.01;
        a->area = bench_round(a->bbox[2] * a->bbox[3] * (0.45 + 0.45 * rd_rng_uniform(rng)),
                              0.01);
        c->ngt++;
    }
}

/* One image's detections, from its ground truth gt[g0..g1) and categories. */
static void bench_image_dets(const bench_eval_config *cfg, rd_rng *rng, int64_t image,
                             const int cats[4], int ncats, int64_t g0, int64_t g1, bench_case *c)
{
    int64_t start = c->ndt, end = start + cfg->dets_per_image;
    for (int64_t g = g0; g < g1 && c->ndt < end; g++) {
        const coco_annotation *a = &c->gt[g];
        for (int copies = 1 + (int)rd_rng_below(rng, 3); copies > 0 && c->ndt < end; copies--) {
            coco_result *d = &c->dt[c->ndt++];
            double s = 0.15 * rd_rng_uniform(rng);
            d->image_id = image;
            d->category_id = rd_rng_uniform(rng) < 0.9 ? a->category_id
                                                       : c->category_ids[bench_draw_category(rng)];
            d->bbox[0] = bench_round(a->bbox[0] + rd_rng_gaussian(rng, s * a->bbox[2]), 0.01);
            d->bbox[1] = bench_round(a->bbox[1] + rd_rng_gaussian(rng, s * a->bbox[3]), 0.01);
            d->bbox[2] = bench_round(a->bbox[2] * exp(rd_rng_gaussian(rng, s)), 0.01);
            d->bbox[3] = bench_round(a->bbox[3] * exp(rd_rng_gaussian(rng, s)), 0.01);
            d->score = bench_round(0.2 + 0.8 * rd_rng_uniform(rng), 1e-5);
        }
    }
    while (c->ndt < end) {
        coco_result *d = &c->dt[c->ndt++];
        d->image_id = image;
        d->category_id = c->category_ids[rd_rng_uniform(rng) < 0.7
                                             ? cats[rd_rng_below(rng, (uint64_t)ncats)]
                                             : bench_draw_category(rng)];
        bench_draw_box(rng, d->bbox);
        double u = rd_rng_uniform(rng);
        d->score = bench_round(0.01 + 0.6 * u * u, 1e-5);
    }
}

static void bench_case_generate(const bench_eval_config *cfg, bench_case *c)
{
    rd_rng rng;
    rd_rng_init(&rng, (uint64_t)cfg->seed);
    memset(c, 0, sizeof *c);
    bench_coco_category_ids(c->category_ids);
    c->nimages = cfg->images;
    c->image_ids = rd_malloc((size_t)c->nimages * sizeof *c->image_ids, "bench image ids");
    c->gt = rd_malloc((size_t)c->nimages * 61 * sizeof *c->gt, "bench ground truth");
    c->dt = rd_malloc((size_t)c->nimages * (size_t)cfg->dets_per_image * sizeof *c->dt,
                      "bench detections");
    int64_t id = 100;
    for (int64_t i = 0; i < c->nimages; i++) {
        id += 1 + (int64_t)rd_rng_below(&rng, 120);
        c->image_ids[i] = id;
        int cats[4], ncats;
        int64_t g0 = c->ngt;
        bench_image_gt(cfg, &rng, id, cats, &ncats, c);
        bench_image_dets(cfg, &rng, id, cats, ncats, g0, c->ngt, c);
    }
    rd_rng_free(&rng);
}

static void bench_case_free(bench_case *c)
{
    free(c->image_ids);
    free(c->gt);
    free(c->dt);
}

/* The ground truth as a COCO instances file; 0, or -1 after a message. */
static int bench_write_gt(const bench_case *c, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        rd_error("%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "{\"info\": {\"description\": \"rankdet bench eval: generated\"},\n\"images\": [");
    for (int64_t i = 0; i < c->nimages; i++)
        fprintf(f, "%s\n{\"id\": %lld, \"width\": 640, \"height\": 480, \"file_name\": "
                "\"%012lld.jpg\"}", i ? "," : "", (long long)c->image_ids[i],
                (long long)c->image_ids[i]);
    fprintf(f, "],\n\"categories\": [");
    for (int k = 0; k < 80; k++)
        fprintf(f, "%s\n{\"id\": %lld, \"name\": \"category%lld\"}", k ? "," : "",
                (long long)c->category_ids[k], (long long)c->category_ids[k]);
    fprintf(f, "],\n\"annotations\": [");
    for (int64_t g = 0; g < c->ngt; g++) {
        const coco_annotation *a = &c->gt[g];
        fprintf(f, "%s\n{\"id\": %lld, \"image_id\": %lld, \"category_id\": %lld, \"bbox\": "
                "[%.2f, %.2f, %.2f, %.2f], \"area\": %.2f, \"iscrowd\": %d}", g ? "," : "",
                (long long)a->id, (long long)a->image_id, (long long)a->category_id,
                a->bbox[0], a->bbox[1], a->bbox[2], a->bbox[3], a->area, a->iscrowd);
    }
    fprintf(f, "]}\n");
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad)
        rd_error("%s: write failed", path);
    return bad ? -1 : 0;
}

/* One child process run: wall seconds and peak resident memory in MiB. */
typedef struct bench_run {
    double wall, rss_mib;
    int status;  // exit status; -1 when it did not exit normally
} bench_run;

/* Run argv in a child with stdout to out_path (NULL: /dev/null) and stderr kept. */
static bench_run bench_run_child(char *const argv[], const char *out_path)
{
    bench_run r = {0, 0, -1};
    fflush(stdout);
    double t0 = rd_seconds();
    pid_t pid = fork();
    RD_CHECK(pid >= 0, "fork failed: %s", strerror(errno));
    if (pid == 0) {
        FILE *o = freopen(out_path ? out_path : "/dev/null", "w", stdout);
        if (o == NULL)
            _exit(126);
        execvp(argv[0], argv);
        fprintf(stderr, "rankdet bench eval: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0)
        RD_CHECK(errno == EINTR, "wait4 failed: %s", strerror(errno));
    r.wall = rd_seconds() - t0;
    r.rss_mib = (double)ru.ru_maxrss / 1024.0;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

static int bench_double_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The 12 numbers from a JSON file: an object whose `stats` is either an array (the python
 * side) or an object keyed by stat name (rankdet eval --json). 0, or -1 after a message. */
static int bench_read_stats(const char *path, double stats[COCO_STAT_COUNT])
{
    size_t len;
    char err[512];
    char *text = coco_json_read_file(path, &len, err, sizeof err);
    if (text == NULL) {
        rd_error("%s", err);
        return -1;
    }
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "stats");
    int ok = s != NULL;
    for (int i = 0; ok && i < COCO_STAT_COUNT; i++) {
        const cJSON *v = cJSON_IsArray(s) ? cJSON_GetArrayItem(s, i)
                                          : cJSON_GetObjectItemCaseSensitive(
                                                s, coco_eval_stat_name((coco_eval_stat)i));
        ok = cJSON_IsNumber(v);
        if (ok)
            stats[i] = v->valuedouble;
    }
    cJSON_Delete(root);
    if (!ok)
        rd_error("%s: no 12 numbers under \"stats\"", path);
    return ok ? 0 : -1;
}

/* Median wall time and largest peak memory of `runs` runs of rankdet eval; its numbers into
 * stats. 0, or -1 after a message. */
static int bench_time_rankdet(const bench_eval_config *cfg, const char *gt, const char *dt,
                              const char *threads, bench_run *out, double *stats)
{
    char exe[4096], json[RD_CLI_STR + 64], log[RD_CLI_STR + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    RD_CHECK(n > 0, "cannot find the rankdet executable (/proc/self/exe)");
    exe[n] = '\0';
    snprintf(json, sizeof json, "%s/eval_rankdet.json", cfg->out_dir);
    snprintf(log, sizeof log, "%s/eval_rankdet.txt", cfg->out_dir);
    char *argv[] = {exe, "eval", "--coco-gt", (char *)gt, "--coco-dt", (char *)dt, "--json",
                    json, "--threads", (char *)threads, NULL};
    double walls[64];
    int runs = cfg->runs < 64 ? cfg->runs : 64;
    *out = (bench_run){0, 0, 0};
    for (int i = 0; i < runs; i++) {
        bench_run r = bench_run_child(argv, log);
        if (r.status != 0) {
            rd_error("rankdet eval exited with status %d (its output: %s)", r.status, log);
            return -1;
        }
        walls[i] = r.wall;
        out->rss_mib = fmax(out->rss_mib, r.rss_mib);
    }
    qsort(walls, (size_t)runs, sizeof *walls, bench_double_cmp);
    out->wall = walls[runs / 2];
    return bench_read_stats(json, stats);
}

/* pycocotools through the script; 1 when it is not importable (skipped), 0 when it ran, -1
 * on failure (after a message). */
static int bench_time_pycocotools(const bench_eval_config *cfg, const char *gt,
                                  const char *dt, bench_run *out, double *stats)
{
    char *probe[] = {(char *)cfg->python, "-c", "import pycocotools.cocoeval", NULL};
    if (bench_run_child(probe, NULL).status != 0) {
        printf("pycocotools: not importable by '%s' (pip install pycocotools): skipped\n",
               cfg->python);
        return 1;
    }
    char json[RD_CLI_STR + 64];
    snprintf(json, sizeof json, "%s/eval_pycocotools.json", cfg->out_dir);
    char *argv[] = {(char *)cfg->python, (char *)cfg->script, (char *)gt, (char *)dt, json,
                    NULL};
    printf("running pycocotools (%s %s); this takes a while...\n", cfg->python, cfg->script);
    *out = bench_run_child(argv, NULL);
    if (out->status != 0) {
        rd_error("%s %s exited with status %d", cfg->python, cfg->script, out->status);
        return -1;
    }
    return bench_read_stats(json, stats);
}

/* mkdir -p path; 0, or -1 after a message. */
static int bench_mkdirs(const char *path)
{
    char buf[RD_CLI_STR];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            rd_error("cannot create %s: %s", buf, strerror(errno));
            return -1;
        }
        *p = saved;
        if (saved == '\0')
            return 0;
    }
}

/* Generate and write the case; the file names into gt and dt. 0, or -1 after a message. */
static int bench_prepare(const bench_eval_config *cfg, char *gt, char *dt, size_t size)
{
    if (bench_mkdirs(cfg->out_dir) != 0)
        return -1;
    snprintf(gt, size, "%s/eval_gt.json", cfg->out_dir);
    snprintf(dt, size, "%s/eval_dt.json", cfg->out_dir);
    bench_case c;
    double t0 = rd_seconds();
    bench_case_generate(cfg, &c);
    char err[1024];
    int rc = bench_write_gt(&c, gt);
    if (rc == 0 && (rc = dets_json_write_results(dt, c.dt, c.ndt, err, sizeof err)) != 0)
        rd_error("%s", err);
    int64_t crowd = 0;
    for (int64_t g = 0; g < c.ngt; g++)
        crowd += c.gt[g].iscrowd;
    struct stat sg, sd;
    if (rc == 0 && stat(gt, &sg) == 0 && stat(dt, &sd) == 0)
        printf("case (seed %lld): %lld images, 80 categories, %lld ground truth (%lld crowd), "
               "%lld detections\n  %s (%.1f MB), %s (%.1f MB), generated in %.1f s\n",
               (long long)cfg->seed, (long long)c.nimages, (long long)c.ngt, (long long)crowd,
               (long long)c.ndt, gt, (double)sg.st_size / 1e6, dt, (double)sd.st_size / 1e6,
               rd_seconds() - t0);
    bench_case_free(&c);
    return rc;
}

/* The side-by-side numbers; returns the largest difference. */
static double bench_print_stats(const double *ours, const double *theirs)
{
    double worst = 0;
    printf("\n%-6s %20s %20s %10s\n", "stat", "rankdet", "pycocotools", "|diff|");
    for (int s = 0; s < COCO_STAT_COUNT; s++) {
        double d = fabs(ours[s] - theirs[s]);
        worst = fmax(worst, d);
        printf("%-6s %20.15f %20.15f %10.2g\n", coco_eval_stat_name((coco_eval_stat)s), ours[s],
               theirs[s], d);
    }
    return worst;
}

static void bench_print_times(const bench_run *all, const bench_run *one, const bench_run *py,
                              int have_py, int runs)
{
    printf("\n%-28s %12s %14s\n", "", "wall s", "peak RSS MiB");
    printf("%-28s %12.3f %14.1f   (median of %d)\n", "rankdet eval (all threads)", all->wall,
           all->rss_mib, runs);
    printf("%-28s %12.3f %14.1f   (median of %d)\n", "rankdet eval (1 thread)", one->wall,
           one->rss_mib, runs);
    if (!have_py)
        return;
    printf("%-28s %12.3f %14.1f\n", "pycocotools COCOeval", py->wall, py->rss_mib);
    printf("\nspeed-up: %.1fx (all threads), %.1fx (1 thread); memory: %.2fx of "
           "pycocotools'\n", py->wall / all->wall, py->wall / one->wall,
           all->rss_mib / py->rss_mib);
}

int bench_eval_main(int argc, char **argv)
{
    bench_eval_config cfg;
    cli_defaults(&bench_eval_spec, &cfg);
    int npos = 0;
    cli_result r = cli_parse(&bench_eval_spec, &cfg, argc, argv, NULL, 0, &npos);
    if (r != CLI_OK)
        return r == CLI_HELP ? 0 : 2;
    if (cfg.images < 1 || cfg.dets_per_image < 0 || cfg.runs < 1 || cfg.gt_per_image < 0) {
        cli_error(&bench_eval_spec, "--images and --runs must be >= 1, --dets-per-image and "
                  "--gt-per-image >= 0");
        return 2;
    }
    char gt[RD_CLI_STR + 32], dt[RD_CLI_STR + 32];
    if (bench_prepare(&cfg, gt, dt, sizeof gt) != 0)
        return 1;
    double ours[COCO_STAT_COUNT], ours1[COCO_STAT_COUNT], theirs[COCO_STAT_COUNT];
    bench_run all, one, py = {0, 0, 0};
    if (bench_time_rankdet(&cfg, gt, dt, "0", &all, ours) != 0 ||
        bench_time_rankdet(&cfg, gt, dt, "1", &one, ours1) != 0)
        return 1;
    int have_py = cfg.pycocotools ? bench_time_pycocotools(&cfg, gt, dt, &py, theirs) : 1;
    if (have_py < 0)
        return 1;
    bench_print_times(&all, &one, &py, have_py == 0, cfg.runs);
    if (memcmp(ours, ours1, sizeof ours) != 0) {
        rd_error("rankdet eval gave different numbers on 1 thread and on all threads");
        return 1;
    }
    if (have_py != 0) {
        printf("\n");
        for (int s = 0; s < COCO_STAT_COUNT; s++)
            printf("%-6s %20.15f\n", coco_eval_stat_name((coco_eval_stat)s), ours[s]);
        return 0;
    }
    double worst = bench_print_stats(ours, theirs);
    int same = worst <= 1e-9;
    printf("\nsame 12 numbers (|diff| <= 1e-9): %s (largest %.2g)\n", same ? "yes" : "NO",
           worst);
    printf("goal: >= 20x faster: %s; no more memory: %s\n",
           py.wall / all.wall >= 20 ? "met" : "not met",
           all.rss_mib <= py.rss_mib ? "met" : "not met");
    return same ? 0 : 1;
}
