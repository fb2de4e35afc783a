/* bench_decode.c — `rankdet bench decode`: images per second, one thread, for reading and
 * decoding every JPEG and PNG of a folder to 8-bit RGB with data/image.c (image_read, and
 * image_read_into with reused buffers as the loader's workers use it), beside PIL's
 * Image.open(p).convert("RGB") (experiments/bench_decode.py, when the python can import PIL).
 * Medians over runs; the first pass over the files is untimed so that both sides read from
 * the page cache. */
#include "experiments/bench_decode.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_build.h"
#include "data/image.h"
#include "lib/check.h"
#include "lib/cli.h"
#include "lib/progress.h"

typedef struct bench_decode_config {
    char images[RD_CLI_STR];
    int runs;
    char python[RD_CLI_STR];
    char script[RD_CLI_STR];
    int pil;
} bench_decode_config;

#define OPT(name, type, field, def, help) \
    {name, type, offsetof(bench_decode_config, field), def, help}
static const cli_opt bench_decode_opts[] = {
    OPT("images", CLI_STRING, images, "../shared/datasets/coco128/images/train2017",
        "folder of .jpg/.jpeg/.png images"),
    OPT("runs", CLI_INT, runs, "5", "timed passes over the folder (the median is reported)"),
    OPT("python", CLI_STRING, python, "/usr/bin/python3", "the python that has PIL"),
    OPT("script", CLI_STRING, script, "experiments/bench_decode.py", "the PIL side"),
    OPT("pil", CLI_BOOL, pil, "1", "run PIL beside (when importable)"),
};
static const cli_spec bench_decode_spec = {
    "rankdet bench decode", "[flags]",
    "Reads and decodes every image of a folder to 8-bit RGB on one thread, with image_read\n"
    "and with image_read_into (buffers reused), beside PIL's Image.open(p).convert(\"RGB\"):\n"
    "images per second (median of --runs) and the ratio.",
    bench_decode_opts, (int)(sizeof bench_decode_opts / sizeof bench_decode_opts[0]),
};

static int bench_decode_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Images per second of one pass (reuse: image_read_into with bufs); megapixels in *mpx.
 * -1 after printing the error when an image cannot be decoded. */
static double bench_decode_pass(char **paths, int n, image_buffers *bufs, double *mpx)
{
    char err[512];
    double px = 0, t = rd_seconds();
    for (int i = 0; i < n; i++) {
        rd_image img;
        int rc = bufs ? image_read_into(paths[i], bufs, &img, err, sizeof err)
                      : image_read(paths[i], &img, err, sizeof err);
        if (rc != 0) {
            rd_error("%s", err);
            return -1;
        }
        px += (double)img.width * img.height;
        if (bufs == NULL)
            image_free(&img);
    }
    *mpx = px / 1e6;
    return n / (rd_seconds() - t);
}

/* Median images per second over runs passes; -1 when an image cannot be decoded. */
static double bench_decode_median(char **paths, int n, int runs, int reuse, double *mpx)
{
    image_buffers bufs = {0};
    double *rates = rd_calloc((size_t)runs, sizeof *rates, "rates");
    double median = 0;
    for (int r = 0; r < runs && median >= 0; r++)
        median = rates[r] = bench_decode_pass(paths, n, reuse ? &bufs : NULL, mpx);
    qsort(rates, (size_t)runs, sizeof *rates, bench_decode_cmp);
    if (median >= 0)
        median = runs % 2 ? rates[runs / 2] : (rates[runs / 2 - 1] + rates[runs / 2]) / 2;
    free(rates);
    image_buffers_free(&bufs);
    return median;
}

/* cmd with every char of s single-quoted for /bin/sh, appended. */
static void bench_decode_quote(char **cmd, size_t *len, const char *s)
{
    size_t need = *len + 4 * strlen(s) + 4;
    *cmd = realloc(*cmd, need);
    RD_CHECK(*cmd != NULL, "out of memory");
    char *p = *cmd + *len;
    *p++ = ' ';
    *p++ = '\'';
    for (; *s; s++) {
        if (*s == '\'') {
            memcpy(p, "'\\''", 4);
            p += 4;
        } else {
            *p++ = *s;
        }
    }
    *p++ = '\'';
    *p = '\0';
    *len = (size_t)(p - *cmd);
}

/* PIL's images per second from the script, or -1 when it cannot run. */
static double bench_decode_pil(const bench_decode_config *cfg, char **paths, int n)
{
    char *cmd = NULL, runs[32];
    size_t len = 0;
    snprintf(runs, sizeof runs, "%d", cfg->runs);
    const char *head[] = {cfg->python, cfg->script, runs};
    for (int i = 0; i < 3; i++)
        bench_decode_quote(&cmd, &len, head[i]);
    for (int i = 0; i < n; i++)
        bench_decode_quote(&cmd, &len, paths[i]);
    FILE *p = popen(cmd + 1, "r");
    free(cmd);
    double rate = -1;
    char line[256];
    while (p && fgets(line, sizeof line, p) != NULL)
        if (sscanf(line, "images_per_second %lf", &rate) != 1)
            fputs(line, stdout);
    if (p == NULL || pclose(p) != 0)
        rate = -1;
    return rate;
}

int bench_decode_main(int argc, char **argv)
{
    bench_decode_config cfg;
    cli_defaults(&bench_decode_spec, &cfg);
    int npos = 0;
    cli_result r = cli_parse(&bench_decode_spec, &cfg, argc, argv, NULL, 0, &npos);
    if (r != CLI_OK)
        return r == CLI_HELP ? 0 : 2;
    if (cfg.runs < 1) {
        cli_error(&bench_decode_spec, "--runs must be >= 1");
        return 2;
    }
    char **names = NULL, err[512];
    int n = dataset_list_dir(cfg.images, dataset_is_image_name, &names, err, sizeof err);
    if (n <= 0) {
        rd_error("%s", n < 0 ? err : "no .jpg/.jpeg/.png images in the --images folder");
        return 1;
    }
    char **paths = rd_calloc((size_t)n, sizeof *paths, "paths");
    for (int i = 0; i < n; i++)
        paths[i] = dataset_path_join(cfg.images, names[i]);
    double mpx = 0;
    if (bench_decode_median(paths, n, 1, 0, &mpx) < 0) {  // also warms the page cache
        dataset_free_names(paths, n);
        dataset_free_names(names, n);
        return 1;
    }
    double plain = bench_decode_median(paths, n, cfg.runs, 0, &mpx);
    double reuse = bench_decode_median(paths, n, cfg.runs, 1, &mpx);
    printf("read + decode to RGB, one thread: %d images (%.1f Mpx) in %s, median of %d runs\n",
           n, mpx, cfg.images, cfg.runs);
    printf("  rankdet image_read        %8.1f images/s  %6.1f Mpx/s\n", plain, plain * mpx / n);
    printf("  rankdet image_read_into   %8.1f images/s  %6.1f Mpx/s\n", reuse, reuse * mpx / n);
    double pil = cfg.pil ? bench_decode_pil(&cfg, paths, n) : -1;
    if (pil > 0)
        printf("  PIL open + convert(RGB)   %8.1f images/s  %6.1f Mpx/s\n"
               "  ratio image_read_into / PIL: %.2f\n", pil, pil * mpx / n, reuse / pil);
    else if (cfg.pil)
        printf("  PIL: not run (%s cannot import PIL or %s failed)\n", cfg.python, cfg.script);
    dataset_free_names(paths, n);
    dataset_free_names(names, n);
    return 0;
}
