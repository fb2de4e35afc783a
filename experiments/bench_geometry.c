/* bench_geometry.c — `rankdet bench geometry`: the median time of each geometry step of
 * detector/ on one thread, at the sizes a training step and a test image give:
 *   anchors     the 182,403 anchors of an 800 × 1216 input (torchvision preset)
 *   assign      49,104 anchors (torchvision, 512 × 512) or 32,736 (paper) × 50 ground truth
 *   labels      [A][80] labels and the IoU side input from the match of `assign`
 *   box loss    targets of 2 images and smooth L1 over them, with the gradient
 *   nms         5,000 boxes of 80 classes (post-processing's largest input)
 *   postprocess 800 × 1216, K = 91: logits at the prior (nothing passes 0.05), and logits of
 *               which 53% pass (every level fills its top 1,000)
 * Ground truth and scores are random (seeded). */
#include "experiments/bench_geometry.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detector/anchors.h"
#include "detector/assign.h"
#include "detector/box_coder.h"
#include "detector/nms.h"
#include "detector/postprocess.h"
#include "lib/check.h"
#include "lib/cli.h"
#include "lib/progress.h"
#include "lib/rng.h"
#include "lib/threads.h"
#include "optim/box_loss.h"

typedef struct bench_geometry_config {
    int repeats;
    int64_t seed;
    int gt;
} bench_geometry_config;

#define OPT(name, type, field, def, help) \
    {name, type, offsetof(bench_geometry_config, field), def, help}
static const cli_opt bench_geometry_opts[] = {
    OPT("repeats", CLI_INT, repeats, "15", "timed runs per row (the median is reported)"),
    OPT("seed", CLI_INT64, seed, "7", "seed of the random ground truth, logits and boxes"),
    OPT("gt", CLI_INT, gt, "50", "ground truth boxes per image in the assignment rows"),
};
static const cli_spec bench_geometry_spec = {
    "rankdet bench geometry", "[flags]",
    "Median single-thread time of anchors, label assignment, labels, box loss, NMS and\n"
    "post-processing of both presets, at a 512 x 512 training size and an 800 x 1216 test size.",
    bench_geometry_opts, (int)(sizeof bench_geometry_opts / sizeof bench_geometry_opts[0]),
};

/* Everything the rows work on. */
typedef struct bench_geo {
    const detector_preset *p;
    anchor_level lv[PRESET_LEVELS];
    int64_t A;
    float *anchors;        // [A][4]
    rd_box *gt;            // [ngt]
    int32_t *gt_labels;    // [ngt]
    int ngt;
    int32_t *match;        // [2][A]
    float *iou;            // [A]
    int8_t *labels;        // [A][80]
    float *iou_side;       // [A][80]
    float *deltas, *targets, *ddeltas;  // [2][A][4]
    float *logits;         // [A][K] post-processing
    int K;
    float *boxes, *scores; // [n][4], [n] NMS
    int32_t *box_labels;   // [n]
    int64_t *keep;         // [n]
    int64_t nboxes;
    rd_detection det[300];
    rd_arena ws;
} bench_geo;

static void bench_geo_anchors(bench_geo *g, const char *preset, int h, int w)
{
    int gh[PRESET_LEVELS], gw[PRESET_LEVELS];
    g->p = preset_find(preset);
    anchors_grid_sizes(h, w, gh, gw);
    g->A = anchors_levels(g->p, h, w, gh, gw, g->lv);
    free(g->anchors);
    g->anchors = rd_malloc((size_t)g->A * 4 * sizeof(float), "bench anchors");
    anchors_generate(g->p, g->lv, g->anchors);
}

static void bench_row_anchors(bench_geo *g)
{
    anchors_generate(g->p, g->lv, g->anchors);
}

static void bench_row_assign(bench_geo *g)
{
    assign_gt gt = {g->gt, g->gt_labels, NULL, g->ngt};
    assign_anchors(g->p, g->anchors, g->A, &gt, &g->ws, g->match, g->iou);
}

static void bench_row_labels(bench_geo *g)
{
    assign_gt gt = {g->gt, g->gt_labels, NULL, g->ngt};
    assign_labels(g->match, g->iou, g->A, &gt, 80, g->labels, g->iou_side);
}

static void bench_row_box_loss(bench_geo *g)
{
    for (int i = 0; i < 2; i++)
        box_coder_encode_matched(&g->p->coder, g->anchors, g->A, g->match + i * g->A, g->gt,
                                 g->targets + 4 * g->A * i);
    box_loss_result r;
    box_loss_params bp = {BOX_LOSS_SMOOTH_L1, 1.0f, BOX_LOSS_NORM_BATCH, 1.0};
    box_loss_compute(&bp, g->deltas, g->targets, g->match, 2, g->A, g->ddeltas, &r);
}

static void bench_row_nms(bench_geo *g)
{
    nms_batched(g->boxes, g->scores, g->box_labels, g->nboxes, 0.5f, &g->ws, g->keep);
}

static void bench_row_postprocess(bench_geo *g)
{
    postprocess_input in = {g->logits, g->deltas, g->anchors, g->lv, g->K, 800, 1216, 480, 730,
                            0};
    postprocess_detections(g->p, &in, &g->ws, g->det);
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median milliseconds of `repeats` runs after one warm-up run. */
static void bench_row(const char *name, void (*fn)(bench_geo *), bench_geo *g, int repeats)
{
    double ms[256];
    repeats = repeats > 256 ? 256 : repeats;
    fn(g);
    for (int r = 0; r < repeats; r++) {
        double t0 = rd_seconds();
        fn(g);
        ms[r] = (rd_seconds() - t0) * 1e3;
    }
    qsort(ms, (size_t)repeats, sizeof ms[0], bench_cmp_double);
    printf("%-58s %10.3f\n", name, ms[repeats / 2]);
}

static void bench_geo_gt(bench_geo *g, rd_rng *rng, int n, int side)
{
    g->ngt = n;
    for (int i = 0; i < n; i++) {
        float w = (float)(8.0 + rd_rng_uniform(rng) * side * 0.5);
        float h = (float)(8.0 + rd_rng_uniform(rng) * side * 0.5);
        float x = (float)(rd_rng_uniform(rng) * (side - w)), y = (float)(rd_rng_uniform(rng) *
                                                                         (side - h));
        g->gt[i] = (rd_box){x, y, x + w, y + h};
        g->gt_labels[i] = (int32_t)rd_rng_below(rng, 80);
    }
}

/* Buffers for the largest case (800 × 1216 torchvision anchors, K = 91). */
static void bench_geo_alloc(bench_geo *g, int ngt)
{
    bench_geo_anchors(g, "torchvision", 800, 1216);
    size_t A = (size_t)g->A;
    g->gt = rd_malloc((size_t)ngt * sizeof(rd_box), "bench gt");
    g->gt_labels = rd_malloc((size_t)ngt * sizeof(int32_t), "bench gt labels");
    g->match = rd_malloc(2 * A * sizeof(int32_t), "bench match");
    g->iou = rd_malloc(A * sizeof(float), "bench iou");
    g->labels = rd_malloc(A * 80, "bench labels");
    g->iou_side = rd_malloc(A * 80 * sizeof(float), "bench iou side");
    g->deltas = rd_calloc(2 * A * 4, sizeof(float), "bench deltas");
    g->targets = rd_malloc(2 * A * 4 * sizeof(float), "bench targets");
    g->ddeltas = rd_malloc(2 * A * 4 * sizeof(float), "bench ddeltas");
    g->K = 91;
    g->logits = rd_malloc(A * 91 * sizeof(float), "bench logits");
    g->nboxes = 5000;
    g->boxes = rd_malloc(5000 * 4 * sizeof(float), "bench boxes");
    g->scores = rd_malloc(5000 * sizeof(float), "bench scores");
    g->box_labels = rd_malloc(5000 * sizeof(int32_t), "bench box labels");
    g->keep = rd_malloc(5000 * sizeof(int64_t), "bench keep");
    rd_arena_init(&g->ws);
}

static void bench_geo_free(bench_geo *g)
{
    void *p[] = {g->anchors, g->gt, g->gt_labels, g->match, g->iou, g->labels, g->iou_side,
                 g->deltas, g->targets, g->ddeltas, g->logits, g->boxes, g->scores,
                 g->box_labels, g->keep};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
    rd_arena_free(&g->ws);
}

static void bench_geo_nms_input(bench_geo *g, rd_rng *rng)
{
    for (int64_t i = 0; i < g->nboxes; i++) {
        float x = (float)(rd_rng_uniform(rng) * 1100), y = (float)(rd_rng_uniform(rng) * 700);
        float w = (float)(10 + rd_rng_uniform(rng) * 200), h = (float)(10 + rd_rng_uniform(rng) *
                                                                         200);
        float b[4] = {x, y, x + w, y + h};
        memcpy(g->boxes + 4 * i, b, sizeof b);
        g->scores[i] = (float)rd_rng_uniform(rng);
        g->box_labels[i] = (int32_t)rd_rng_below(rng, 80);
    }
}

/* Logits uniform in [lo, lo + span) for every anchor and class of the test-size anchors. */
static void bench_geo_logits(bench_geo *g, rd_rng *rng, float lo, float span)
{
    for (int64_t i = 0; i < g->A * g->K; i++)
        g->logits[i] = lo + span * (float)rd_rng_uniform(rng);
}

static void bench_geometry_rows(bench_geo *g, const bench_geometry_config *cfg, rd_rng *rng)
{
    char name[96];
    bench_row("anchors: torchvision, 800 x 1216 (182,403 anchors)", bench_row_anchors, g,
              cfg->repeats);
    const char *presets[2] = {"torchvision", "paper"};
    for (int k = 0; k < 2; k++) {
        bench_geo_anchors(g, presets[k], 512, 512);
        bench_geo_gt(g, rng, cfg->gt, 512);
        snprintf(name, sizeof name, "assign: %s, %lld anchors x %d gt", presets[k],
                 (long long)g->A, cfg->gt);
        bench_row(name, bench_row_assign, g, cfg->repeats);
    }
    bench_geo_anchors(g, "torchvision", 512, 512);
    bench_row_assign(g);
    memcpy(g->match + g->A, g->match, (size_t)g->A * sizeof(int32_t));
    bench_row("labels + iou side input: 49,104 anchors x 80 classes", bench_row_labels, g,
              cfg->repeats);
    bench_row("box targets + smooth L1 with gradient: 2 x 49,104 anchors", bench_row_box_loss, g,
              cfg->repeats);
    bench_geo_nms_input(g, rng);
    bench_row("nms: 5,000 boxes of 80 classes", bench_row_nms, g, cfg->repeats);
    bench_geo_anchors(g, "torchvision", 800, 1216);
    memset(g->deltas, 0, (size_t)g->A * 4 * sizeof(float));
    bench_geo_logits(g, rng, -4.7f, 0.1f);
    bench_row("postprocess: torchvision, 800 x 1216, K 91, at the prior", bench_row_postprocess,
              g, cfg->repeats);
    bench_geo_logits(g, rng, -4.6f, 3.5f);
    bench_row("postprocess: torchvision, 800 x 1216, K 91, 53% over 0.05",
              bench_row_postprocess, g, cfg->repeats);
}

int bench_geometry_main(int argc, char **argv)
{
    bench_geometry_config cfg;
    cli_defaults(&bench_geometry_spec, &cfg);
    int npos = 0;
    cli_result r = cli_parse(&bench_geometry_spec, &cfg, argc, argv, NULL, 0, &npos);
    if (r != CLI_OK)
        return r == CLI_HELP ? 0 : 2;
    if (cfg.repeats < 1 || cfg.gt < 1) {
        cli_error(&bench_geometry_spec, "--repeats and --gt must be >= 1");
        return 2;
    }
    rd_threads_set(1);
    bench_geo g;
    memset(&g, 0, sizeof g);
    bench_geo_alloc(&g, cfg.gt);
    rd_rng rng;
    rd_rng_init(&rng, (uint64_t)cfg.seed);
    printf("%-58s %10s\n", "geometry step (1 thread)", "median ms");
    bench_geometry_rows(&g, &cfg, &rng);
    rd_rng_free(&rng);
    bench_geo_free(&g);
    return 0;
}
