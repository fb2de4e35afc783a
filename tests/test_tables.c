/* test_tables.c — `rankdet tables` (analysis/tables.h) and the figure driver
 * (experiments/figures.sh, the analysis/ gnuplot scripts). Tables: on a fake results tree of metrics.tsv files
 * with known numbers, the Markdown and LaTeX rows must hold the paper's numbers of
 * paper_tables/tableN.tsv beside the mean ± std (std with n - 1) worked out by hand below, "—"
 * for rows without results, rankdet's numbers under the VOC or COCO columns by the rule of
 * tables_family_of_config; a malformed metrics.tsv exits 1 naming the file; no results at all
 * still renders the paper's numbers. Figures: small run logs written with lib/runlog.h, every
 * kind drawn through bin/rankdet and gnuplot into a PNG (signature, size) and an SVG holding
 * the curve titles. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/tables.h"
#include "lib/runlog.h"
#include "tests/check_main.h"
#include "tests/cli_run.h"

#define BUF 65536

static char out[BUF], err[BUF];

static void tables_test_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* mkdir -p root/rel. */
static void tables_test_mkdirs(const char *root, const char *rel)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s'", root, rel);
    ck_assert_int_eq(cli_run_shell(cmd), 0);
}

/* root/rel/metrics.tsv with AP AP50 AP75 and APs APm APl = -1 0.1 0.2 (in another order of
 * columns than AP..APl when shuffled, which the reader must follow by name). */
static void tables_test_metrics(const char *root, const char *rel, double ap, double ap50,
                                double ap75, int shuffled)
{
    tables_test_mkdirs(root, rel);
    char path[2048], text[256];
    snprintf(path, sizeof path, "%s/%s/metrics.tsv", root, rel);
    if (shuffled)
        snprintf(text, sizeof text, "# AP75 AP AP50 APl APm APs\n%.17g\t%.17g\t%.17g\t0.2\t0.1\t-1\n",
                 ap75, ap, ap50);
    else
        snprintf(text, sizeof text, "# AP AP50 AP75 APs APm APl\n%.17g\t%.17g\t%.17g\t-1\t0.1\t0.2\n",
                 ap, ap50, ap75);
    tables_test_write(path, text);
}

static void tables_test_config(const char *root, const char *rel, const char *text)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s/config.txt", root, rel);
    tables_test_write(path, text);
}

/* The whole of a text file (caller frees). */
static char *tables_test_slurp(const char *dir, const char *name)
{
    char *path = test_path_in(dir, name);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "missing %s", path);
    char *text = calloc(1, BUF);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_lt(fread(text, 1, BUF - 1, f), BUF - 1);
    fclose(f);
    free(path);
    return text;
}

#define ck_assert_contains(text, needle) \
    ck_assert_msg(strstr((text), (needle)) != NULL, "expected «%s» in:\n%s", (needle), (text))

START_TEST(test_mean_std_by_hand)
{
    double v[3] = {30.1, 32.5, 35.2}, mean, std;
    tables_mean_std(v, 3, &mean, &std);
    ck_assert_double_eq_tol(mean, 32.6, 1e-12);
    // deviations -2.5, -0.1, 2.6: (6.25 + 0.01 + 6.76) / (3 - 1) = 6.51
    ck_assert_double_eq_tol(std, sqrt(6.51), 1e-12);
    tables_mean_std(v, 1, &mean, &std);
    ck_assert_double_eq(mean, 30.1);
    ck_assert(isnan(std));
}
END_TEST

START_TEST(test_metrics_reader)
{
    char *dir = test_tmpdir(), e[1024];
    double m[TABLES_NMETRICS];
    tables_test_metrics(dir, "a", 0.25, 0.5, 0.125, 1);
    char *path = test_path_in(dir, "a/metrics.tsv");
    ck_assert_int_eq(tables_read_metrics(path, m, e, sizeof e), 0);
    double want[TABLES_NMETRICS] = {0.25, 0.5, 0.125, -1, 0.1, 0.2};
    for (int i = 0; i < TABLES_NMETRICS; i++)
        ck_assert_double_eq(m[i], want[i]);
    static const char *const bad[][2] = {
        {"# AP AP50 AP75 APs APm\n0.1 0.2 0.3 0.4 0.5\n", "no column APl"},
        {"0.1 0.2 0.3 0.4 0.5 0.6\n", "line 1: expected the header"},
        {"# AP AP50 AP75 APs APm APl\n0.1 0.2 1.5 0.4 0.5 0.6\n", "line 2: AP75 = 1.5"},
        {"# AP AP50 AP75 APs APm APl\n0.1 0.2 0.3 0.4 0.5\n", "line 2: 5 values"},
        {"# AP AP50 AP75 APs APm APl\n0.1 0.2 x 0.4 0.5 0.6\n", "AP75 is 'x'"},
        {"# AP AP50 AP75 APs APm APl\n0.1 0.2 nan 0.4 0.5 0.6\n", "AP75 is 'nan'"},
        {"# AP AP50 AP75 APs APm APl\n1 1 1 1 1 1\n0 0 0 0 0 0\n", "line 3: a second row"},
        {"# AP AP50 AP75 APs APm APl\n", "no row of numbers"},
        {"", "empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tables_test_write(path, bad[i][0]);
        ck_assert_int_eq(tables_read_metrics(path, m, e, sizeof e), -1);
        ck_assert_contains(e, path);
        ck_assert_contains(e, bad[i][1]);
    }
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_family_rule)
{
    ck_assert_int_eq(tables_family_of_config("data = x/VOCdevkit/VOC2007\n", "VOC"),
                     TABLES_FAMILY_VOC);
    ck_assert_int_eq(tables_family_of_config("data = /d/images\nval-split = "
                                             "/d/instances_val.json\n", "x"), TABLES_FAMILY_COCO);
    ck_assert_int_eq(tables_family_of_config("data = /nowhere/coco128\n", "x"),
                     TABLES_FAMILY_COCO);
    ck_assert_int_eq(tables_family_of_config("data = /nowhere/YOLOset\n", "x"),
                     TABLES_FAMILY_COCO);
    ck_assert_int_eq(tables_family_of_config("data = /nowhere/coco128\nformat = voc\n", "x"),
                     TABLES_FAMILY_VOC);
    ck_assert_int_eq(tables_family_of_config("data = results/synth\nval_data = \"/a b/coco\"\n",
                                             "x"), TABLES_FAMILY_COCO);
    ck_assert_int_eq(tables_family_of_config(NULL, "coco"), TABLES_FAMILY_COCO);
    ck_assert_int_eq(tables_family_of_config(NULL, "fruits"), TABLES_FAMILY_VOC);
    // on disk: a folder named like COCO that holds Annotations/ is VOC; labels/ is YOLO
    char *dir = test_tmpdir(), cfg[2048];
    tables_test_mkdirs(dir, "coco_like/Annotations");
    tables_test_mkdirs(dir, "plain/labels");
    snprintf(cfg, sizeof cfg, "data = %s/coco_like\n", dir);
    ck_assert_int_eq(tables_family_of_config(cfg, "x"), TABLES_FAMILY_VOC);
    snprintf(cfg, sizeof cfg, "data = %s/plain\n", dir);
    ck_assert_int_eq(tables_family_of_config(cfg, "x"), TABLES_FAMILY_COCO);
    free(dir);
}
END_TEST

/* The fake results tree of the rendering tests, numbers chosen for hand-computed cells. */
static void tables_test_tree(const char *r)
{
    // Table 1a, VOC-format synth: bs1 three seeds, bs4 one seed, bs2 a run without metrics
    tables_test_metrics(r, "table1a/tiny-synth/bs1/seed1", 0.301, 0.80, 0.50, 0);
    tables_test_metrics(r, "table1a/tiny-synth/bs1/seed2", 0.325, 0.82, 0.50, 1);
    tables_test_metrics(r, "table1a/tiny-synth/bs1/seed10", 0.352, 0.84, 0.53, 0);
    tables_test_config(r, "table1a/tiny-synth/bs1/seed1", "data = ../shared/x/synth\n");
    tables_test_metrics(r, "table1a/tiny-synth/bs4/seed1", 0.5, 0.25, 0.125, 0);
    tables_test_mkdirs(r, "table1a/tiny-synth/bs2/seed1");
    // Table 1b: delta1.0 is the paper's δ = 1
    tables_test_metrics(r, "table1b/tiny-synth/delta1.0/seed1", 0.1, 0.2, 0.3, 0);
    tables_test_metrics(r, "table1b/tiny-synth/delta1.0/seed2", 0.2, 0.3, 0.4, 0);
    // Table 2: a COCO run (by its annotation file) and an extra loss
    tables_test_metrics(r, "table2/smoke-coco128/ap/seed1", 0.40, 0.60, 0.45, 0);
    tables_test_metrics(r, "table2/smoke-coco128/ap/seed2", 0.42, 0.64, 0.41, 0);
    tables_test_config(r, "table2/smoke-coco128/ap/seed1",
                       "data = /elsewhere/images\nval-split = /elsewhere/instances_val.json\n");
    tables_test_metrics(r, "table2/smoke-coco128/approx_ap/seed1", 0.3, 0.5, 0.2, 0);
    // Table 3: a VOC-format run, multi-scale only
    tables_test_metrics(r, "table3/tiny-fruits/ms/seed1", 0.3, 0.7, 0.2, 0);
    tables_test_metrics(r, "table3/tiny-fruits/ms/seed2", 0.3, 0.8, 0.2, 0);
    tables_test_config(r, "table3/tiny-fruits/ms/seed1", "data = /nowhere/fruits\n");
}

START_TEST(test_tables_side_by_side)
{
    char *dir = test_tmpdir(), *res = test_path_in(dir, "results"), *gen = test_path_in(dir, "gen");
    tables_test_tree(res);
    char *args[] = {"tables", "--results", res, "--out", gen, NULL};
    ck_assert_msg(cli_run_rankdet(args, out, err, BUF) == 0, "%s%s", out, err);
    ck_assert_contains(out, "bs2/seed1 has no metrics.tsv");
    char *md = tables_test_slurp(gen, "table1.md"), *tex = tables_test_slurp(gen, "table1.tex");
    // bs1: AP 30.1 32.5 35.2 -> 32.6 ± sqrt(6.51) = 2.55; AP50 80 82 84 -> 82.0 ± 2.0;
    // AP75 50 50 53 -> 51.0 ± sqrt(3) = 1.73
    ck_assert_contains(md, "| 1 | 52.4 | 32.6 ± 2.6 | 80.2 | 82.0 ± 2.0 | 56.7 | 51.0 ± 1.7 | n=3 |");
    ck_assert_contains(md, "| 2 | 53.0 | — | 81.7 | — | 57.8 | — | — |");
    ck_assert_contains(md, "| 4 | 52.8 | 50.0 ± — | 82.2 | 25.0 ± — | 58.0 | 12.5 ± — | n=1 |");
    ck_assert_contains(md, "| 8 | 53.1 | — | 82.3 | — | 58.1 | — | — |");
    ck_assert_contains(md, "Preset tiny, dataset synth");
    ck_assert_contains(md, "seeds 1, 2, 10");
    // δ = 1: AP 10 20 -> 15.0 ± sqrt(50) = 7.07
    ck_assert_contains(md, "| 1 | 53.1 | 15.0 ± 7.1 | 82.3 | 25.0 ± 7.1 | 58.1 | 35.0 ± 7.1 | n=2 |");
    ck_assert_contains(md, "| no | 52.6 | — | 82.2 | — | 57.1 | — | — |");
    ck_assert_contains(tex, "1 & 52.4 & $32.6 \\pm 2.6$ & 80.2 & $82.0 \\pm 2.0$ & 56.7 & "
                            "$51.0 \\pm 1.7$ & $n=3$ \\\\");
    ck_assert_contains(tex, "2 & 53.0 & --- & 81.7 & --- & 57.8 & --- & --- \\\\");
    ck_assert_contains(tex, "4 & 52.8 & $50.0 \\pm$ --- &");
    free(md);
    free(tex);
    // Table 2: COCO columns; the VOC ones blank. AP 40 42 -> 41.0 ± 1.4; AP50 60 64 -> 62.0 ±
    // 2.8; AP75 45 41 -> 43.0 ± 2.8
    md = tables_test_slurp(gen, "table2.md");
    tex = tables_test_slurp(gen, "table2.tex");
    ck_assert_contains(md, "| ap | 53.1 |  | 82.3 |  | 58.1 |  | 35.0 | 41.0 ± 1.4 | 57.2 | "
                           "62.0 ± 2.8 | 36.6 | 43.0 ± 2.8 | n=2 |");
    ck_assert_contains(md, "| ce_ohem | 49.1 |  | 81.5 |  | 51.5 |  | 30.8 | — | 50.9 | — | "
                           "32.6 | — | — |");
    ck_assert_contains(md, "| approx_ap | — |  | — |  | — |  | — | 30.0 ± — |");
    ck_assert_contains(md, "COCO metric, rankdet under the COCO columns");
    ck_assert_contains(tex, "ap & 53.1 &  & 82.3 &  & 58.1 &  & 35.0 & $41.0 \\pm 1.4$ & 57.2 & "
                            "$62.0 \\pm 2.8$ & 36.6 & $43.0 \\pm 2.8$ & $n=2$ \\\\");
    ck_assert_contains(tex, "approx\\_ap & ---");
    ck_assert_contains(tex, "smoke-coco128");
    free(md);
    free(tex);
    // Table 3: VOC-format fruits, multi-scale: VOC07 AP50 70 80 -> 75.0 ± 7.1, COCO cells blank
    md = tables_test_slurp(gen, "table3.md");
    ck_assert_contains(md, "| AP-loss (multi-scale) | 84.9 | 75.0 ± 7.1 | 84.5 | 42.1 |  | 63.5 |"
                           "  | 46.4 |  | 25.6 |  | 45.0 |  | 53.9 |  | n=2 |");
    ck_assert_contains(md, "| AP-loss (single-scale) | 83.9 | — | 83.1 | 37.4 |  |");
    ck_assert_contains(md, "| focal loss (single-scale) | — | — | — | 34.4 |  |");
    free(md);
    free(res);
    free(gen);
    free(dir);
}
END_TEST

START_TEST(test_tables_without_results)
{
    char *dir = test_tmpdir(), *res = test_path_in(dir, "none"), *gen = test_path_in(dir, "a/b");
    char *args[] = {"tables", "--results", res, "--out", gen, NULL};
    ck_assert_msg(cli_run_rankdet(args, out, err, BUF) == 0, "%s%s", out, err);
    ck_assert_contains(out, "no results under");
    char *md = tables_test_slurp(gen, "table2.md"), *tex = tables_test_slurp(gen, "table3.tex");
    ck_assert_contains(md, "| focal | 51.3 | — | 80.9 | — | 55.3 | — | 33.9 | — | 55.0 | — | "
                           "35.7 | — | — |");
    ck_assert_contains(tex, "AP-loss (multi-scale) & 84.9 & --- & 84.5 & 42.1 & --- & 63.5");
    free(md);
    free(tex);
    free(res);
    free(gen);
    free(dir);
}
END_TEST

START_TEST(test_tables_malformed_metrics)
{
    char *dir = test_tmpdir(), *res = test_path_in(dir, "results"), *gen = test_path_in(dir, "gen");
    tables_test_metrics(res, "table2/tiny-synth/focal/seed1", 0.1, 0.2, 0.3, 0);
    tables_test_mkdirs(res, "table2/tiny-synth/focal/seed2");
    char *bad = test_path_in(res, "table2/tiny-synth/focal/seed2/metrics.tsv");
    tables_test_write(bad, "# AP AP50 AP75 APs APm APl\n0.1\t0.2\n");
    char *args[] = {"tables", "--results", res, "--out", gen, NULL};
    ck_assert_int_eq(cli_run_rankdet(args, out, err, BUF), 1);
    ck_assert_contains(err, bad);
    char *md = test_path_in(gen, "table2.md");
    ck_assert_msg(access(md, F_OK) != 0, "%s written despite the bad metrics.tsv", md);
    char *usage[] = {"tables", "--out", "", NULL};
    ck_assert_int_eq(cli_run_rankdet(usage, out, err, BUF), 2);
    free(md);
    free(bad);
    free(res);
    free(gen);
    free(dir);
}
END_TEST

/* ---- figures ---- */

/* A run log at root/rel/log.h5 with the groups of experiments/train_run.h: 60 train rows (every
 * 5 steps) whose losses fall with the step and 6 eval rows whose AP rises to final_ap. */
static void figures_test_log(const char *root, const char *rel, double scale, double final_ap)
{
    static const char *const train[] = {"step", "epoch", "loss", "cls_loss", "box_loss",
                                         "ap_loss", "lr", "num_pos", "seconds", "images_per_s"};
    static const char *const eval[] = {"step", "epoch", "AP", "AP50", "AP75", "APs", "APm",
                                       "APl", "seconds"};
    tables_test_mkdirs(root, rel);
    char path[2048];
    snprintf(path, sizeof path, "%s/%s/log.h5", root, rel);
    runlog_meta meta = {"test", "0", "figures test", "loss = ap\n", 1};
    rd_runlog *log = runlog_create(path, &meta, 1e9);
    ck_assert_ptr_nonnull(log);
    runlog_columns(log, "train", 10, train);
    runlog_columns(log, "eval", 9, eval);
    for (int i = 1; i <= 60; i++) {
        double step = 5.0 * i, cls = scale / (1 + 0.05 * i), box = 0.5 * scale / (1 + 0.02 * i);
        double ap_loss = 0.9 * exp(-0.03 * i) * scale + 0.05 * (i % 3);
        double row[10] = {step, step / 100, cls + box, cls, box, ap_loss, 1e-3, 40, 0.1 * i, 8};
        runlog_append(log, "train", row);
        if (i % 10 == 0) {
            double ap = final_ap * i / 60.0;
            double erow[9] = {step, step / 100, ap, fmin(1, 1.6 * ap), 0.8 * ap, -1, ap, ap, 1};
            runlog_append(log, "eval", erow);
        }
    }
    runlog_close(log);
}

/* Run figures.sh KIND on src into out; its exit status, output in out/figures.txt. */
static int figures_test_run(const char *kind, const char *src, const char *outdir)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && experiments/figures.sh '%s' %s '%s' '%s' "
             "> '%s/figures.txt' 2>&1", outdir, test_rankdet_bin(), kind, src, outdir, outdir);
    return cli_run_shell(cmd);
}

/* outdir/kind.png is a PNG of more than 10 KB and outdir/kind.svg names every title. */
static void figures_test_check(const char *outdir, const char *kind, const char *const *titles)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s.png", outdir, kind);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s was not written", path);
    unsigned char sig[8];
    ck_assert_int_eq(fread(sig, 1, 8, f), 8);
    ck_assert_msg(memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0, "%s is not a PNG", path);
    fseek(f, 0, SEEK_END);
    ck_assert_msg(ftell(f) > 10000, "%s holds only %ld bytes", path, ftell(f));
    fclose(f);
    char name[64];
    snprintf(name, sizeof name, "%s.svg", kind);
    char *svg = tables_test_slurp(outdir, name);
    ck_assert_contains(svg, "<svg");
    ck_assert_contains(svg, "<path");
    for (int i = 0; titles[i]; i++)
        ck_assert_contains(svg, titles[i]);
    free(svg);
}

static void figures_test_need_gnuplot(void)
{
    ck_assert_msg(cli_run_shell("command -v gnuplot >/dev/null 2>&1") == 0,
                  "gnuplot is not installed: the figures need it (Debian package gnuplot-nox, "
                  "make deps)");
}

START_TEST(test_figures_every_kind)
{
    figures_test_need_gnuplot();
    char *dir = test_tmpdir(), *fig = test_path_in(dir, "figure5"), *out = test_path_in(dir, "out");
    const char *losses[] = {"ap", "focal", "approx_ap", "hinge_ap"};
    for (int l = 0; l < 4; l++)
        for (int seed = 1; seed <= 2; seed++) {
            char rel[128];
            snprintf(rel, sizeof rel, "%s/seed%d", losses[l], seed);
            figures_test_log(fig, rel, 1 + 0.3 * l + 0.05 * seed, 0.6 - 0.1 * l);
        }
    ck_assert_int_eq(figures_test_run("fig5a", fig, out), 0);
    figures_test_check(out, "fig5a", (const char *const[]){"ap (2 seeds)", "focal (2 seeds)",
                                                         "approx_ap (2 seeds)", NULL});
    ck_assert_int_eq(figures_test_run("fig5b", fig, out), 0);
    figures_test_check(out, "fig5b", (const char *const[]){"ap (2 seeds)", "approx_ap (2 seeds)",
                                                         "hinge_ap (2 seeds)",
                                                         "moving mean over 3 logged rows", NULL});
    char *run = test_path_in(fig, "ap/seed1");
    ck_assert_int_eq(figures_test_run("train_curve", run, out), 0);
    figures_test_check(out, "train_curve", (const char *const[]){"cls_loss", "box_loss",
                                                               "AP50 (eval)", NULL});
    char *sweep = test_path_in(dir, "table1b");
    const char *deltas[] = {"delta0.25", "delta0.5", "delta1", "delta2"};
    for (int d = 0; d < 4; d++)
        for (int seed = 1; seed <= 3; seed++) {
            char rel[128];
            snprintf(rel, sizeof rel, "%s/seed%d", deltas[d], seed);
            figures_test_log(sweep, rel, 1, 0.3 + 0.05 * d + 0.01 * seed);
        }
    ck_assert_int_eq(figures_test_run("delta_sweep", sweep, out), 0);
    figures_test_check(out, "delta_sweep", (const char *const[]){"AP50, rankdet", "AP, paper",
                                                               "3 seed(s)", NULL});
    // δ = 0.25: final AP .31 .32 .33 -> .32 ± .01; AP50 = 1.6 AP -> .512 ± .016
    char *tsv = tables_test_slurp(out, "delta_sweep.tsv");
    double v[6];
    const char *row = strstr(tsv, "\n0.25\t");
    ck_assert_msg(row != NULL, "no δ = 0.25 row in:\n%s", tsv);
    ck_assert_int_eq(sscanf(row, "%lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4],
                            &v[5]), 6);
    double want[6] = {0.25, 0.32, 0.01, 0.512, 0.016, 3};
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq_tol(v[i], want[i], 1e-9);
    ck_assert_ptr_nonnull(strstr(tsv, "\n2\t"));
    free(tsv);
    free(sweep);
    free(run);
    free(out);
    free(fig);
    free(dir);
}
END_TEST

START_TEST(test_figures_missing_logs)
{
    figures_test_need_gnuplot();
    char *dir = test_tmpdir(), *empty = test_path_in(dir, "empty"), *out = test_path_in(dir, "out");
    tables_test_mkdirs(dir, "empty/ap/seed1");
    static const char *const kinds[][2] = {{"fig5a", "no <loss>/seed<k>/log.h5"},
                                           {"fig5b", "no ap/, approx_ap/ or hinge_ap/"},
                                           {"train_curve", "no run log"},
                                           {"delta_sweep", "no delta"}};
    for (int k = 0; k < 4; k++) {
        ck_assert_int_eq(figures_test_run(kinds[k][0], empty, out), 1);
        char *text = tables_test_slurp(out, "figures.txt");
        ck_assert_contains(text, kinds[k][1]);
        ck_assert_contains(text, empty);
        free(text);
    }
    ck_assert_int_eq(figures_test_run("fig6", empty, out), 2);
    free(out);
    free(empty);
    free(dir);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("tables");
    TCase *tc = tcase_create("tables");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_mean_std_by_hand);
    tcase_add_test(tc, test_metrics_reader);
    tcase_add_test(tc, test_family_rule);
    tcase_add_test(tc, test_tables_side_by_side);
    tcase_add_test(tc, test_tables_without_results);
    tcase_add_test(tc, test_tables_malformed_metrics);
    tcase_add_test(tc, test_figures_every_kind);
    tcase_add_test(tc, test_figures_missing_logs);
    suite_add_tcase(s, tc);
    return s;
}
