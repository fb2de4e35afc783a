/* bench_data.c — `rankdet bench data`: images per second per thread of the training input
 * pipeline (read + decode + SSD-style augmentation + resize and normalisation to S×S) on
 * coco128's train images, through the threaded loader at 1 and 2 threads, beside the same
 * pipeline in PIL + torchvision transforms (experiments/bench_data_pil.py, run with
 * /usr/bin/python3 in as many processes), and the ratio per core (goal: 2×). A one-thread
 * breakdown splits rankdet's time into read + decode and augment + normalise. */
#include "experiments/bench_data.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "data/transform.h"
#include "lib/check.h"
#include "lib/cli.h"
#include "lib/progress.h"
#include "lib/rng.h"

#define BENCH_DATA_MAX_ROWS 8

typedef struct bench_data_config {
    char root[RD_CLI_STR];
    char threads[RD_CLI_STR];
    int size, batch, epochs, repeats;
    int64_t seed;
    int pil;
    char python[RD_CLI_STR];
} bench_data_config;

#define OPT(name, type, field, def, help) \
    {name, type, offsetof(bench_data_config, field), def, help}
static const cli_opt bench_data_opts[] = {
    OPT("root", CLI_STRING, root, "../shared/datasets/coco128", "coco128 (COCO JSON, split "
                                                                 "train2017)"),
    OPT("threads", CLI_STRING, threads, "1,2", "comma-separated thread counts"),
    OPT("size", CLI_INT, size, "512", "output side S"),
    OPT("batch", CLI_INT, batch, "8", "loader batch size"),
    OPT("epochs", CLI_INT, epochs, "3", "timed passes over the images per run (after one "
                                        "warm-up pass)"),
    OPT("repeats", CLI_INT, repeats, "3", "runs per thread count (the median is reported)"),
    OPT("seed", CLI_INT64, seed, "1", "augmentation seed"),
    OPT("pil", CLI_BOOL, pil, "1", "also time the PIL + torchvision pipeline"),
    OPT("python", CLI_STRING, python, "/usr/bin/python3", "the Python with torch, torchvision, "
                                                         "PIL"),
};
#undef OPT
static const cli_spec bench_data_spec = {
    "rankdet bench data", "[flags]",
    "Images per second per thread for read + decode + augment + normalise to SxS on coco128\n"
    "through the threaded loader, beside PIL + torchvision transforms (one process per\n"
    "thread) running experiments/bench_data_pil.py, with the ratio per core (goal: 2x).",
    bench_data_opts, (int)(sizeof bench_data_opts / sizeof bench_data_opts[0]),
};

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Images per second of one loader run: a warm-up pass, then `epochs` timed passes. */
static double bench_loader_rate(const rd_dataset *ds, const bench_data_config *c, int threads,
                                char *err, size_t errsize)
{
    loader_config lc;
    loader_config_defaults(&lc, LOADER_TRAIN);
    lc.batch = c->batch;
    lc.threads = threads;
    lc.seed = (uint64_t)c->seed;
    lc.epochs = 0;
    lc.transform.size = c->size;
    rd_loader *l;
    if (loader_open(&l, ds, &lc, err, errsize) != 0)
        return -1;
    int64_t per_epoch = loader_batches_per_epoch(l), images = 0;
    const loader_batch *b;
    double t0 = 0;
    for (int64_t step = 0; step < per_epoch * (1 + c->epochs); step++) {
        if (step == per_epoch)
            t0 = rd_seconds();
        if (loader_next(l, &b, err, errsize) != 1) {
            loader_close(l);
            return -1;
        }
        images += step >= per_epoch ? b->n : 0;
    }
    double rate = (double)images / (rd_seconds() - t0);
    loader_close(l);
    return rate;
}

/* One thread, no loader: milliseconds per image for read + decode (image_read_into, as the
 * loader reads) and for the transform. */
static int bench_breakdown(const rd_dataset *ds, const bench_data_config *c, double *ms_read,
                           double *ms_transform, char *err, size_t errsize)
{
    loader_config lc;
    loader_config_defaults(&lc, LOADER_TRAIN);
    lc.transform.size = c->size;
    float *out = rd_malloc(sizeof(float) * 3 * (size_t)c->size * c->size, "bench output");
    rd_arena scratch;
    rd_arena_init(&scratch);
    rd_rng rng;
    rd_rng_init(&rng, (uint64_t)c->seed);
    image_buffers io = {0};
    double t_read = 0, t_tf = 0;
    int rc = 0;
    for (int64_t i = 0; rc == 0 && i < ds->nsamples; i++) {
        const rd_sample *s = &ds->samples[i];
        rd_image img;
        double t0 = rd_seconds();
        rc = image_read_into(s->image_path, &io, &img, err, errsize);
        double t1 = rd_seconds();
        if (rc != 0)
            break;
        train_draw d;
        transform_train_draw(&lc.transform, img.width, img.height,
                             ds->objects + s->first_object, s->nobjects, &rng, &d);
        transform_train_pixels(&d, &lc.transform, &img, &scratch, out);
        t_read += t1 - t0;
        t_tf += rd_seconds() - t1;
    }
    image_buffers_free(&io);
    *ms_read = 1e3 * t_read / (double)ds->nsamples;
    *ms_transform = 1e3 * t_tf / (double)ds->nsamples;
    rd_rng_free(&rng);
    rd_arena_free(&scratch);
    free(out);
    return rc;
}

/* Images per second of the PIL + torchvision pipeline in `procs` processes; 0 when the peer is
 * not available (why in note), -1 on a failure. */
static double bench_pil_rate(const bench_data_config *c, int procs, char *note, size_t notesize)
{
    char cmd[4 * RD_CLI_STR];
    snprintf(cmd, sizeof cmd, "'%s' experiments/bench_data_pil.py --root '%s' --size %d "
             "--procs %d --epochs %d --seed %lld 2>&1",
             c->python, c->root, c->size, procs, c->epochs, (long long)c->seed);
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        snprintf(note, notesize, "cannot run %.400s", c->python);
        return 0;
    }
    char line[1024];
    double rate = -1;
    snprintf(note, notesize, "no result from experiments/bench_data_pil.py");
    while (fgets(line, sizeof line, p) != NULL) {
        const char *at = strstr(line, "images_per_second=");
        if (at)
            rate = atof(at + strlen("images_per_second="));
        else
            snprintf(note, notesize, "%.*s", (int)strcspn(line, "\n"), line);
    }
    int status = pclose(p);
    if (rate > 0) {
        note[0] = '\0';
        return rate;
    }
    return WIFEXITED(status) && (WEXITSTATUS(status) == 3 || WEXITSTATUS(status) == 127) ? 0 : -1;
}

/* The thread counts of the comma-separated list; -1 on a bad entry. */
static int bench_parse_threads(const char *list, int *threads, int max)
{
    int n = 0;
    for (const char *p = list; *p;) {
        char *end;
        long t = strtol(p, &end, 10);
        if (end == p || t < 1 || t > 256 || n == max || (*end != ',' && *end != '\0'))
            return -1;
        threads[n++] = (int)t;
        p = *end == ',' ? end + 1 : end;
    }
    return n > 0 ? n : -1;
}

/* One table row: the loader's and the peer's medians at `threads`. 0, or -1 with err set. */
static int bench_data_row(const rd_dataset *ds, const bench_data_config *c, int threads,
                          char *note, size_t notesize, char *err, size_t errsize)
{
    double rates[64];
    int runs = c->repeats < 64 ? c->repeats : 64, got = 0;
    for (int k = 0; k < runs; k++)
        if ((rates[k] = bench_loader_rate(ds, c, threads, err, errsize)) < 0)
            return -1;
    double ours = bench_median(rates, runs), peer = 0;  // 0: not measured
    while (c->pil && got < runs) {
        double rate = bench_pil_rate(c, threads, note, notesize);
        if (rate <= 0)  // unavailable or failed: note says why
            break;
        rates[got++] = rate;
    }
    if (c->pil && got == runs)
        peer = bench_median(rates, runs);
    printf("| %d | %.1f | %.1f | ", threads, ours, ours / threads);
    if (peer > 0)
        printf("%.1f | %.1f | %.2fx |\n", peer, peer / threads, ours / peer);
    else
        printf("- | - | - |\n");
    return 0;
}

int bench_data_main(int argc, char **argv)
{
    bench_data_config c;
    cli_defaults(&bench_data_spec, &c);
    int npos = 0;
    cli_result cr = cli_parse(&bench_data_spec, &c, argc, argv, NULL, 0, &npos);
    if (cr != CLI_OK)
        return cr == CLI_HELP ? 0 : 2;
    int threads[BENCH_DATA_MAX_ROWS];
    int nrows = bench_parse_threads(c.threads, threads, BENCH_DATA_MAX_ROWS);
    if (nrows < 0 || c.size < 1 || c.batch < 1 || c.epochs < 1 || c.repeats < 1) {
        cli_error(&bench_data_spec, "--threads takes 1..8 counts in 1..256 (got '%s'); --size, "
                  "--batch, --epochs and --repeats must be positive", c.threads);
        return 2;
    }
    char err[1024], note[512] = "";
    rd_dataset ds;
    dataset_options opt = {.format = "coco", .split = "train2017"};
    if (dataset_open(c.root, &opt, &ds, err, sizeof err) != 0) {
        rd_error("rankdet bench data needs coco128 at %s (--root): %s", c.root, err);
        return 1;
    }
    printf("rankdet bench data: %s, %lld images, read + decode + augment (SSD-style) + "
           "resize and normalise to %dx%d; loader batch %d; median of %d runs of %d passes "
           "after one warm-up pass\n\n", c.root, (long long)ds.nsamples, c.size, c.size,
           c.batch, c.repeats, c.epochs);
    double ms_read, ms_tf;
    int rc = bench_breakdown(&ds, &c, &ms_read, &ms_tf, err, sizeof err);
    if (rc == 0) {
        printf("one thread, rankdet: read + decode %.2f ms/image, augment + normalise %.2f "
               "ms/image\n\n", ms_read, ms_tf);
        printf("| threads | rankdet img/s | per thread | PIL+torchvision img/s | per process | "
               "ratio per core |\n|---:|---:|---:|---:|---:|---:|\n");
    }
    for (int r = 0; r < nrows && rc == 0; r++)
        rc = bench_data_row(&ds, &c, threads[r], note, sizeof note, err, sizeof err);
    if (rc != 0)
        rd_error("%s", err);
    else if (c.pil && note[0])
        printf("\nPIL + torchvision: %s\n", note);
    if (rc == 0)
        printf("\ngoal: rankdet at least 2x PIL + torchvision per core\n");
    dataset_free(&ds);
    return rc != 0;
}
