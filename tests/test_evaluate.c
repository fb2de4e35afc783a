/* test_evaluate.c — experiments/evaluate: a ResNet-18 FPN RetinaNet (paper preset, 4 classes,
 * seeded random weights with the class bias raised so that every image has detections) over
 * the 4 test images of a `rankdet synth --images 8 --size 64 --test-frac 0.5` set:
 * (a) the single-scale detections equal `rankdet detect`'s for the same image (read from its
 *     --dump), bit for bit;
 * (b) the multi-scale merge on a hand-made pool: class-wise NMS (IoU > 0.5 suppresses, 0.5
 *     exactly does not), ties in score by pool order, the keep-best cut; and a multi-scale +
 *     flip run equals the merge of its four passes made one by one;
 * (c) flip: mirrored boxes by hand, and a flipped pass equals the mirrored image's pass with
 *     its boxes mirrored back;
 * (d) metrics: the ground truth as detections gives AP 1 under both protocols; a partial case
 *     gives what voc_eval_detections / coco_eval_detections give directly; with --limit the
 *     ground truth of the images left out is not missed;
 * (e) `rankdet eval --weights`: exit codes and messages for bad input, and a run whose JSON
 *     numbers and detections are those of evaluate_model in this process;
 * and the same detections and metrics with 1 and 2 decoding threads; past the first image the
 * loop allocates nothing.
 * experiments/ is not part of the library the suites link, so evaluate.c is compiled in. */
#include "experiments/evaluate.c"

#include <cJSON.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/coco_eval.h"
#include "analysis/voc_eval.h"
#include "data/dataset.h"
#include "detector/checkpoint.h"
#include "lib/threads.h"
#include "tests/check_main.h"
#include "tests/cli_run.h"

#define EV_BUF 65536
#define EV_K 4
#define EV_SCALE 64

static char ev_out[EV_BUF], ev_err[EV_BUF];
static char *ev_dir, *ev_set, *ev_weights;  // made once by the unchecked fixture

/* The synth set and the weights, once for the whole suite. */
static void ev_setup(void)
{
    ev_dir = test_tmpdir();
    ev_set = test_path_in(ev_dir, "set");
    ev_weights = test_path_in(ev_dir, "w.h5");
    char line[1024];
    snprintf(line, sizeof line, "synth --out %s --images 8 --size 64 --test-frac 0.5 --quiet",
             ev_set);
    int rc = cli_run_rankdet_line(line, ev_out, ev_err, EV_BUF);
    ck_assert_msg(rc == 0, "rankdet synth failed: %s", ev_err);
    retinanet_config mc;
    retinanet_config_preset(&mc, preset_find("paper"));
    mc.depth = 18;
    mc.num_classes = EV_K;
    retinanet *m = retinanet_create_inference(&mc);
    retinanet_init_weights(m, 11);
    /* Class logits spread around 0: scores well above the thresholds, with varied ranks. */
    retinanet_param *w = retinanet_param_find(m, "head.classification_head.cls_logits.weight");
    retinanet_param *b = retinanet_param_find(m, "head.classification_head.cls_logits.bias");
    ck_assert(w && b);
    for (size_t i = 0; i < w->count; i++)
        w->data[i] *= 300.0f;
    for (size_t i = 0; i < b->count; i++)
        b->data[i] = -1.0f;
    char err[1024];
    ck_assert_msg(checkpoint_save(ev_weights, m, err, sizeof err) == 0, "%s", err);
    retinanet_destroy(m);
}

static void ev_teardown(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", ev_dir);
    cli_run_shell(cmd);
    free(ev_set);
    free(ev_weights);
    free(ev_dir);
}

static void ev_open(rd_dataset *ds)
{
    char err[1024];
    dataset_options opt = {NULL, "test", NULL, BAD_SAMPLE_ERROR};
    ck_assert_msg(dataset_open(ev_set, &opt, ds, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ds->nsamples, 4);
    ck_assert_int_eq(ds->nclasses, EV_K);
    ck_assert_str_eq(ds->format, "voc");
}

static retinanet *ev_model(void)
{
    retinanet_config mc;
    retinanet_config_preset(&mc, preset_find("paper"));
    mc.depth = 18;
    mc.num_classes = EV_K;
    retinanet *m = retinanet_create_inference(&mc);
    char err[4096];
    ck_assert_msg(checkpoint_load(ev_weights, m, err, sizeof err) == 0, "%s", err);
    return m;
}

static void ev_config(eval_config *c, int is_voc)
{
    eval_config_default(c, preset_find("paper"));
    c->scales[0] = EV_SCALE;
    c->is_voc = is_voc;
}

/* The detections of `rankdet detect --dump` for one image: boxes [n][4], scores, labels. */
static int ev_detect_dump(const char *image, float **boxes, float **scores, int64_t **labels)
{
    char *dump = test_path_in(ev_dir, "dump.h5"), line[2048];
    eval_config c;
    ev_config(&c, 1);
    snprintf(line, sizeof line, "detect --weights %s --preset paper --backbone resnet18 "
             "--num-classes %d --input %s --min-size %d --max-size %.9g --dump %s --threads 1",
             ev_weights, EV_K, image, EV_SCALE, (double)eval_max_size(&c, EV_SCALE), dump);
    int rc = cli_run_rankdet_line(line, ev_out, ev_err, EV_BUF);
    ck_assert_msg(rc == 0, "rankdet detect: %s", ev_err);
    hid_t f = H5Fopen(dump, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t d = H5Dopen2(f, "detections/scores", H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(sp, &n, NULL);
    H5Sclose(sp);
    *scores = malloc(sizeof(float) * (n + 1));
    *boxes = malloc(sizeof(float) * 4 * (n + 1));
    *labels = malloc(sizeof(int64_t) * (n + 1));
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, *scores), 0);
    H5Dclose(d);
    d = H5Dopen2(f, "detections/boxes", H5P_DEFAULT);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, *boxes), 0);
    H5Dclose(d);
    d = H5Dopen2(f, "detections/labels", H5P_DEFAULT);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, *labels), 0);
    H5Dclose(d);
    H5Fclose(f);
    free(dump);
    return (int)n;
}

/* (a) one scale, no flip: exactly `rankdet detect`'s detections, image by image. */
START_TEST(test_evaluate_single_scale_matches_detect)
{
    rd_threads_set(1);
    rd_dataset ds;
    ev_open(&ds);
    retinanet *m = ev_model();
    eval_config c;
    ev_config(&c, 1);
    rd_detection *dets = NULL;
    int64_t n = 0;
    char err[1024];
    ck_assert_msg(eval_detect_dataset(m, &ds, &c, &dets, &n, err, sizeof err) == 0, "%s", err);
    int64_t at = 0, total = 0;
    for (int64_t s = 0; s < ds.nsamples; s++) {
        float *boxes, *scores;
        int64_t *labels;
        int nd = ev_detect_dump(ds.samples[s].image_path, &boxes, &scores, &labels);
        ck_assert_int_gt(nd, 10);  // the raised bias makes plenty
        for (int i = 0; i < nd; i++, at++) {
            ck_assert_int_lt(at, n);
            const rd_detection *d = &dets[at];
            ck_assert_int_eq(d->image_id, ds.samples[s].image_id);
            ck_assert_int_eq(d->label, labels[i]);
            ck_assert_msg(d->score == scores[i] && d->box.x1 == boxes[4 * i] &&
                              d->box.y1 == boxes[4 * i + 1] && d->box.x2 == boxes[4 * i + 2] &&
                              d->box.y2 == boxes[4 * i + 3],
                          "image %lld detection %d: %.9g (%.9g %.9g %.9g %.9g) vs detect's "
                          "%.9g (%.9g %.9g %.9g %.9g)", (long long)s, i, d->score, d->box.x1,
                          d->box.y1, d->box.x2, d->box.y2, scores[i], boxes[4 * i],
                          boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]);
        }
        total += nd;
        free(boxes);
        free(scores);
        free(labels);
    }
    ck_assert_int_eq(total, n);
    free(dets);
    retinanet_destroy(m);
    dataset_free(&ds);
}
END_TEST

static rd_detection ev_det(int label, float score, float x1, float y1, float x2, float y2)
{
    return (rd_detection){.image_id = 3, .label = label, .score = score,
                          .box = {x1, y1, x2, y2}};
}

/* (b) the merge of a hand-made pool. */
START_TEST(test_evaluate_merge_by_hand)
{
    rd_detection pool[] = {
        ev_det(0, 0.90f, 0, 0, 10, 10),    // 0 kept (second)
        ev_det(0, 0.80f, 1, 0, 11, 10),    // 1 IoU 90/110 with 0: suppressed
        ev_det(1, 0.85f, 0, 0, 10, 10),    // 2 other class: kept
        ev_det(0, 0.95f, 20, 20, 30, 30),  // 3 best: first
        ev_det(0, 0.70f, 5, 0, 15, 10),    // 4 IoU 50/150 with 0: kept
        ev_det(0, 0.60f, 0, 0, 10, 10),    // 5 same box as 0: suppressed
        ev_det(0, 0.90f, 40, 40, 50, 50),  // 6 ties with 0, later in the pool: after it
        ev_det(2, 0.50f, 0, 0, 10, 10),    // 7 kept
        ev_det(2, 0.40f, 0, 0, 10, 20),    // 8 IoU exactly 0.5 with 7: kept
        ev_det(2, 0.30f, 0, 0, 10, 19),    // 9 IoU 100/190 with 7: suppressed
    };
    int expect[] = {3, 0, 6, 2, 4, 7, 8};
    rd_arena ws;
    rd_arena_init(&ws);
    rd_detection out[10];
    const detector_preset *p = preset_find("paper");
    int n = eval_merge_detections(p, pool, 10, &ws, out);
    ck_assert_int_eq(n, 7);
    for (int i = 0; i < n; i++) {
        const rd_detection *e = &pool[expect[i]];
        ck_assert_msg(out[i].score == e->score && out[i].label == e->label &&
                          out[i].box.x1 == e->box.x1 && out[i].box.y2 == e->box.y2 &&
                          out[i].image_id == 3,
                      "merged %d is not pool[%d]", i, expect[i]);
    }
    detector_preset cut = *p;  // the keep-best cut
    cut.detections_per_image = 3;
    n = eval_merge_detections(&cut, pool, 10, &ws, out);
    ck_assert_int_eq(n, 3);
    ck_assert(out[0].score == 0.95f && out[1].box.x1 == 0.0f && out[2].box.x1 == 40.0f);
    size_t grows = ws.grows;
    eval_merge_detections(p, pool, 10, &ws, out);
    ck_assert_uint_eq(ws.grows, grows);  // the same size again allocates nothing
    ck_assert_int_eq(eval_merge_detections(p, pool, 0, &ws, out), 0);
    rd_arena_free(&ws);
}
END_TEST

/* (c) mirrored boxes by hand. */
START_TEST(test_evaluate_mirror_by_hand)
{
    rd_detection d[2] = {ev_det(1, 0.5f, 2, 3, 10, 7), ev_det(0, 0.25f, 0, 0, 64, 5.5f)};
    eval_mirror_detections(d, 2, 64);
    ck_assert(d[0].box.x1 == 54.0f && d[0].box.x2 == 62.0f && d[0].box.y1 == 3.0f &&
              d[0].box.y2 == 7.0f && d[0].label == 1 && d[0].score == 0.5f);
    ck_assert(d[1].box.x1 == 0.0f && d[1].box.x2 == 64.0f && d[1].box.y2 == 5.5f);
    eval_mirror_detections(d, 2, 64);  // twice: the identity
    ck_assert(d[0].box.x1 == 2.0f && d[0].box.x2 == 10.0f);
}
END_TEST

/* The decoded image of sample s as float [3][H][W] in [0, 1] (malloc'd). */
static float *ev_chw(const rd_dataset *ds, int64_t s, int *h, int *w)
{
    rd_image img;
    char err[1024];
    ck_assert_msg(image_read(ds->samples[s].image_path, &img, err, sizeof err) == 0, "%s", err);
    *h = img.height;
    *w = img.width;
    float *x = malloc(sizeof(float) * 3 * (size_t)img.height * img.width);
    image_to_chw01(&img, x);
    image_free(&img);
    return x;
}

/* (c) a flipped pass is the mirrored image's pass with the boxes mirrored back. */
START_TEST(test_evaluate_flip_pass_lands_on_original)
{
    rd_threads_set(1);
    rd_dataset ds;
    ev_open(&ds);
    retinanet *m = ev_model();
    eval_config c;
    ev_config(&c, 1);
    int h, w;
    float *x = ev_chw(&ds, 1, &h, &w);
    float *mirror = malloc(sizeof(float) * 3 * (size_t)h * w);
    for (int r = 0; r < 3 * h; r++)
        for (int col = 0; col < w; col++)
            mirror[(size_t)r * w + col] = x[(size_t)r * w + (w - 1 - col)];
    eval_work wk;
    memset(&wk, 0, sizeof wk);
    rd_detection a[100], b[100];
    int na = eval_pass(m, &c, x, h, w, EV_SCALE, 1, 7, &wk, a);
    int nb = eval_pass(m, &c, mirror, h, w, EV_SCALE, 0, 7, &wk, b);
    ck_assert_int_gt(na, 10);
    ck_assert_int_eq(na, nb);
    eval_mirror_detections(b, nb, w);
    int moved = 0;
    for (int i = 0; i < na; i++) {
        ck_assert(a[i].score == b[i].score && a[i].label == b[i].label);
        ck_assert(a[i].box.x1 == b[i].box.x1 && a[i].box.x2 == b[i].box.x2 &&
                  a[i].box.y1 == b[i].box.y1 && a[i].box.y2 == b[i].box.y2);
        ck_assert(a[i].box.x1 >= 0 && a[i].box.x2 <= (float)w && a[i].box.x1 <= a[i].box.x2);
        moved += fabsf((a[i].box.x1 + a[i].box.x2) - (float)w) > 1.0f;
    }
    ck_assert_int_gt(moved, 0);  // not a symmetric set that any mirroring would leave alone
    eval_work_free(&wk, 0);
    free(x);
    free(mirror);
    retinanet_destroy(m);
    dataset_free(&ds);
}
END_TEST

/* (b) a multi-scale + flip run is the merge of its four passes. */
START_TEST(test_evaluate_multiscale_flip_pools_every_pass)
{
    rd_threads_set(1);
    rd_dataset ds;
    ev_open(&ds);
    retinanet *m = ev_model();
    eval_config c;
    ev_config(&c, 1);
    char err[1024];
    ck_assert_int_eq(eval_parse_scales(&c, "48,64", err, sizeof err), 0);
    c.flip = 1;
    c.limit = 2;
    rd_detection *dets = NULL;
    int64_t n = 0;
    ck_assert_msg(eval_detect_dataset(m, &ds, &c, &dets, &n, err, sizeof err) == 0, "%s", err);
    eval_work wk;
    memset(&wk, 0, sizeof wk);
    rd_detection pool[400], kept[100];
    int64_t at = 0;
    for (int64_t s = 0; s < 2; s++) {
        int h, w, np = 0;
        float *x = ev_chw(&ds, s, &h, &w);
        int scales[2] = {48, 64}, from_flip = 0;
        for (int si = 0; si < 2; si++)
            for (int f = 0; f < 2; f++) {
                int k = eval_pass(m, &c, x, h, w, scales[si], f, ds.samples[s].image_id, &wk,
                                  pool + np);
                from_flip += f ? k : 0;
                np += k;
            }
        ck_assert_int_gt(from_flip, 0);
        int nk = eval_merge_detections(c.preset, pool, np, &wk.merge, kept);
        ck_assert_int_lt(nk, np);  // the merge removed duplicates across passes
        ck_assert_int_le(nk, 100);
        for (int i = 0; i < nk; i++, at++) {
            ck_assert_int_lt(at, n);
            ck_assert(memcmp(&dets[at], &kept[i], sizeof kept[i]) == 0);
            ck_assert(i == 0 || kept[i].score <= kept[i - 1].score);
        }
        free(x);
    }
    ck_assert_int_eq(at, n);  // --limit 2: nothing of the other images
    eval_work_free(&wk, 0);
    free(dets);
    retinanet_destroy(m);
    dataset_free(&ds);
}
END_TEST

/* Past the first image (every scale planned once), the image loop allocates nothing: every
 * arena and the model's own arenas keep their size (images of one size; the decode buffers
 * grow with the largest file, data/image's business). */
START_TEST(test_evaluate_steady_state_allocates_nothing)
{
    rd_threads_set(1);
    rd_dataset ds;
    ev_open(&ds);
    retinanet *m = ev_model();
    eval_config c;
    ev_config(&c, 1);
    char err[1024];
    ck_assert_int_eq(eval_parse_scales(&c, "48,64", err, sizeof err), 0);
    c.flip = 1;
    eval_work wk;
    memset(&wk, 0, sizeof wk);
    wk.pool = malloc(sizeof *wk.pool * 4 * 100);
    wk.kept = malloc(sizeof *wk.kept * 100);
    image_buffers bufs = {0};
    size_t first[8] = {0};
    for (int64_t s = 0; s < ds.nsamples; s++) {
        rd_image img;
        ck_assert_int_eq(image_read_into(ds.samples[s].image_path, &bufs, &img, err,
                                         sizeof err), 0);
        eval_image(m, &c, &img, ds.samples[s].image_id, &wk);
        size_t now[8] = {wk.chw.grows, wk.transform.grows, wk.anchors.grows, wk.post.grows,
                         wk.merge.grows, m->act_arena.grows, m->scratch_arena.grows,
                         (size_t)wk.cap};
        if (s == 0)
            memcpy(first, now, sizeof first);
        for (int i = 0; i < 8; i++)
            ck_assert_msg(now[i] == first[i], "image %lld: counter %d grew %zu -> %zu",
                          (long long)s, i, first[i], now[i]);
    }
    ck_assert_int_gt(wk.ndets, 40);
    image_buffers_free(&bufs);
    eval_work_free(&wk, 0);
    retinanet_destroy(m);
    dataset_free(&ds);
}
END_TEST

/* The ground truth of ds's first `images` samples as detections of score 1 (malloc'd). */
static rd_detection *ev_truth(const rd_dataset *ds, int64_t images, int64_t *n)
{
    rd_detection *d = malloc(sizeof *d * (size_t)(ds->nobjects + 1));
    *n = 0;
    for (int64_t s = 0; s < images; s++)
        for (int32_t j = 0; j < ds->samples[s].nobjects; j++) {
            const rd_object *o = &ds->objects[ds->samples[s].first_object + j];
            d[(*n)++] = (rd_detection){ds->samples[s].image_id, o->label, 1.0f, o->box};
        }
    return d;
}

/* (d) the ground truth as detections: AP 1 under both protocols; --limit keeps the ground
 * truth of the other images out. */
START_TEST(test_evaluate_metrics_perfect_and_limit)
{
    rd_dataset ds;
    ev_open(&ds);
    int64_t n;
    rd_detection *d = ev_truth(&ds, ds.nsamples, &n);
    ck_assert_int_ge(n, 4);
    char err[1024];
    for (int voc = 0; voc <= 1; voc++) {
        eval_config c;
        ev_config(&c, voc);
        eval_metrics r;
        double ap50[EV_K];
        ck_assert_msg(eval_compute_metrics(&ds, &c, d, n, &r, ap50, err, sizeof err) == 0,
                      "%s", err);
        /* 1 up to rounding: the 11-point rule sums eleven p / 11, COCO's precision is
         * tp / (tp + fp + eps) */
        ck_assert_msg(fabs(r.ap - 1) < 1e-12 && fabs(r.ap50 - 1) < 1e-12 &&
                          fabs(r.ap75 - 1) < 1e-12 && fabs(r.coco[COCO_STAT_AP] - 1) < 1e-12,
                      "voc %d: %.17g %.17g %.17g %.17g", voc, r.ap, r.ap50, r.ap75,
                      r.coco[COCO_STAT_AP]);
        ck_assert(voc ? fabs(r.voc_ap - 1) < 1e-12 : r.voc_ap == -1.0);
        ck_assert_int_eq(r.nimages, 4);
        ck_assert_int_eq(r.ndets, n);
        for (int k = 0; k < EV_K; k++)
            ck_assert(fabs(ap50[k] - 1) < 1e-12 || ap50[k] == -1.0);
    }
    /* The first two images' ground truth only: all of it under --limit 2, a share without. */
    int64_t n2;
    rd_detection *d2 = ev_truth(&ds, 2, &n2);
    ck_assert_int_lt(n2, n);
    eval_config c;
    ev_config(&c, 1);
    c.limit = 2;
    eval_metrics r;
    ck_assert_int_eq(eval_compute_metrics(&ds, &c, d2, n2, &r, NULL, err, sizeof err), 0);
    ck_assert_msg(fabs(r.ap50 - 1) < 1e-12 && fabs(r.coco[COCO_STAT_AP50] - 1) < 1e-12,
                  "%.17g %.17g", r.ap50, r.coco[COCO_STAT_AP50]);
    ck_assert_int_eq(r.nimages, 2);
    c.limit = 0;
    ck_assert_int_eq(eval_compute_metrics(&ds, &c, d2, n2, &r, NULL, err, sizeof err), 0);
    ck_assert(r.ap50 < 0.99 && r.coco[COCO_STAT_AP50] < 0.99);
    /* A detection of an image outside the first two is an error naming it. */
    c.limit = 2;
    ck_assert_int_eq(eval_compute_metrics(&ds, &c, d, n, &r, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "image") != NULL, "%s", err);
    free(d);
    free(d2);
    dataset_free(&ds);
}
END_TEST

/* (d) a partial case: the numbers voc_eval and coco_eval give directly. */
START_TEST(test_evaluate_metrics_partial_as_evaluators)
{
    rd_dataset ds;
    ev_open(&ds);
    int64_t n;
    rd_detection *d = ev_truth(&ds, ds.nsamples, &n);
    /* Every third object missed, every other one shifted by a third of its width and scored
     * lower, a false positive of class 0 on each image with the best score. */
    rd_detection *p = malloc(sizeof *p * (size_t)(n + ds.nsamples));
    int64_t np = 0;
    for (int64_t i = 0; i < n; i++) {
        if (i % 3 == 2)
            continue;
        p[np] = d[i];
        if (i % 2) {
            float dx = (p[np].box.x2 - p[np].box.x1) / 3;
            p[np].box.x1 += dx;
            p[np].box.x2 += dx;
            p[np].score = 0.5f - 0.01f * (float)i;
        }
        np++;
    }
    for (int64_t s = 0; s < ds.nsamples; s++)
        p[np++] = (rd_detection){ds.samples[s].image_id, 0, 0.99f, {1, 1, 9, 9}};
    char err[1024];
    eval_config c;
    ev_config(&c, 1);
    eval_metrics r;
    double ap50[EV_K];
    ck_assert_int_eq(eval_compute_metrics(&ds, &c, p, np, &r, ap50, err, sizeof err), 0);
    voc_eval_result vr;
    coco_eval_result cr;
    ck_assert_int_eq(voc_eval_detections(&ds, p, np, VOC_METRIC_07, &vr, err, sizeof err), 0);
    ck_assert_int_eq(coco_eval_detections(&ds, p, np, &cr, err, sizeof err), 0);
    ck_assert(r.ap > 0.05 && r.ap < 0.95);  // partial indeed
    ck_assert(r.ap == vr.ap && r.ap50 == vr.ap50 && r.ap75 == vr.ap75 && r.voc_ap == vr.ap);
    ck_assert(r.aps == cr.stats[COCO_STAT_APS] && r.apm == cr.stats[COCO_STAT_APM] &&
              r.apl == cr.stats[COCO_STAT_APL]);
    for (int s = 0; s < COCO_STAT_COUNT; s++)
        ck_assert(r.coco[s] == cr.stats[s]);
    for (int k = 0; k < EV_K; k++)
        ck_assert(ap50[k] == voc_eval_class_ap(&vr, k, 0));
    c.is_voc = 0;  // COCO protocol: the headline numbers are COCO's
    ck_assert_int_eq(eval_compute_metrics(&ds, &c, p, np, &r, ap50, err, sizeof err), 0);
    ck_assert(r.ap == cr.stats[COCO_STAT_AP] && r.ap50 == cr.stats[COCO_STAT_AP50] &&
              r.ap75 == cr.stats[COCO_STAT_AP75] && r.voc_ap == -1);
    for (int k = 0; k < EV_K; k++)
        ck_assert(ap50[k] == coco_eval_stat_value(&cr, k, COCO_STAT_AP50));
    voc_eval_result_free(&vr);
    coco_eval_result_free(&cr);
    free(p);
    free(d);
    dataset_free(&ds);
}
END_TEST

/* evaluate_model with 1 and 2 decoding threads: the same detections and numbers. */
START_TEST(test_evaluate_threads_same_result)
{
    rd_threads_set(1);
    rd_dataset ds;
    ev_open(&ds);
    retinanet *m = ev_model();
    eval_metrics r[2];
    rd_detection *d[2];
    int64_t n[2];
    char err[1024];
    for (int t = 0; t < 2; t++) {
        eval_config c;
        ev_config(&c, 1);
        c.threads = t + 1;
        ck_assert_msg(evaluate_model(m, &ds, &c, &r[t], &d[t], &n[t], err, sizeof err) == 0,
                      "%s", err);
    }
    ck_assert_int_gt(n[0], 40);
    ck_assert_int_eq(n[0], n[1]);
    ck_assert(memcmp(d[0], d[1], sizeof *d[0] * (size_t)n[0]) == 0);
    ck_assert(r[0].ap == r[1].ap && r[0].ap50 == r[1].ap50 && r[0].apl == r[1].apl);
    ck_assert(memcmp(r[0].coco, r[1].coco, sizeof r[0].coco) == 0);
    ck_assert_int_eq(r[0].nimages, 4);
    ck_assert(r[0].ap >= 0 && r[0].ap <= 1 && r[0].seconds > 0);
    free(d[0]);
    free(d[1]);
    retinanet_destroy(m);
    dataset_free(&ds);
}
END_TEST

static int ev_run(const char *fmt, const char *a, const char *b)
{
    char line[4096];
    snprintf(line, sizeof line, fmt, a, b);
    return cli_run_rankdet_line(line, ev_out, ev_err, EV_BUF);
}

/* (e) bad input: usage errors exit 2, bad data 1, each with a message naming it. */
START_TEST(test_evaluate_command_errors)
{
    const char *base = "eval --weights %s --data %s --backbone resnet18 --threads 1";
    char *missing = test_path_in(ev_dir, "none.h5");
    struct {
        const char *fmt, *a, *b;
        int rc;
        const char *says;
    } cases[] = {
        {"eval --weights %s --backbone resnet18%s", ev_weights, "", 2, "--data"},
        {"eval --weights %s --data %s --scales 500,abc", ev_weights, ev_set, 2, "--scales"},
        {"eval --weights %s --data %s --scales 12", ev_weights, ev_set, 2, "--scales"},
        {"eval --weights %s --data %s --preset nope", ev_weights, ev_set, 2, "--preset"},
        {"eval --weights %s --data %s --backbone resnet18 --num-classes 3", ev_weights, ev_set,
         2, "--num-classes"},
        {"eval --weights %s --data %s --limit -1", ev_weights, ev_set, 2, "--limit"},
        {base, missing, ev_set, 1, "none.h5"},
        {"eval --weights %s --data %s --backbone resnet34", ev_weights, ev_set, 1, "w.h5"},
        {base, ev_weights, "/nonexistent/set", 1, "/nonexistent/set"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = ev_run(cases[i].fmt, cases[i].a, cases[i].b);
        ck_assert_msg(rc == cases[i].rc, "case %zu: exit %d, expected %d: %s", i, rc,
                      cases[i].rc, ev_err);
        ck_assert_msg(strstr(ev_err, cases[i].says) != NULL, "case %zu: no '%s' in: %s", i,
                      cases[i].says, ev_err);
    }
    free(missing);
}
END_TEST

static double ev_json_number(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    ck_assert_msg(cJSON_IsNumber(v), "no number %s", name);
    return v->valuedouble;
}

static cJSON *ev_json_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    cJSON *j = cJSON_Parse(text);
    ck_assert_ptr_nonnull(j);
    return j;
}

/* (e) a run of the command: the numbers and detections of evaluate_model here. */
START_TEST(test_evaluate_command_run)
{
    char *json = test_path_in(ev_dir, "m.json"), *dets = test_path_in(ev_dir, "d.json");
    char line[4096];
    snprintf(line, sizeof line, "eval --weights %s --data %s --backbone resnet18 --scales %d "
             "--threads 1 --out %s --json %s", ev_weights, ev_set, EV_SCALE, dets, json);
    int rc = cli_run_rankdet_line(line, ev_out, ev_err, EV_BUF);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, ev_err);
    ck_assert_msg(strstr(ev_out, "AP50") && strstr(ev_out, "circle") &&
                      strstr(ev_out, "PASCAL VOC2007"), "%s", ev_out);
    rd_threads_set(1);
    rd_dataset ds;
    ev_open(&ds);
    retinanet *m = ev_model();
    eval_config c;
    ev_config(&c, 1);
    eval_metrics r;
    int64_t n;
    char err[1024];
    ck_assert_int_eq(evaluate_model(m, &ds, &c, &r, NULL, &n, err, sizeof err), 0);
    cJSON *j = ev_json_read(json);
    ck_assert(ev_json_number(j, "AP") == r.ap && ev_json_number(j, "AP50") == r.ap50 &&
              ev_json_number(j, "AP75") == r.ap75 && ev_json_number(j, "APs") == r.aps);
    ck_assert(ev_json_number(j, "detections") == (double)n);
    cJSON_Delete(j);
    /* Two threads (network and decoding), the first three images. */
    c.limit = 3;
    ck_assert_int_eq(evaluate_model(m, &ds, &c, &r, NULL, &n, err, sizeof err), 0);
    snprintf(line, sizeof line, "eval --weights %s --data %s --backbone resnet18 --scales %d "
             "--threads 2 --limit 3 --json %s", ev_weights, ev_set, EV_SCALE, json);
    rc = cli_run_rankdet_line(line, ev_out, ev_err, EV_BUF);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, ev_err);
    j = ev_json_read(json);
    ck_assert(ev_json_number(j, "AP") == r.ap && ev_json_number(j, "AP50") == r.ap50 &&
              ev_json_number(j, "images") == 3 && ev_json_number(j, "detections") == (double)n);
    cJSON_Delete(j);
    c.limit = 0;
    ck_assert_int_eq(evaluate_model(m, &ds, &c, &r, NULL, &n, err, sizeof err), 0);
    cJSON *d = ev_json_read(dets);
    ck_assert_int_eq(cJSON_GetArraySize(d), n);
    cJSON_Delete(d);
    /* The written detections evaluated by the VOC mode give the same AP50. */
    snprintf(line, sizeof line, "eval --voc %s --dets %s --split test --json %s", ev_set, dets,
             json);
    rc = cli_run_rankdet_line(line, ev_out, ev_err, EV_BUF);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, ev_err);
    j = ev_json_read(json);
    ck_assert_msg(fabs(ev_json_number(j, "AP50") - r.ap50) < 1e-12, "%.17g vs %.17g",
                  ev_json_number(j, "AP50"), r.ap50);
    ck_assert(fabs(ev_json_number(j, "AP") - r.ap) < 1e-12);
    cJSON_Delete(j);
    retinanet_destroy(m);
    dataset_free(&ds);
    free(json);
    free(dets);
}
END_TEST

/* eval_parse_scales and the per-scale long side cap. */
START_TEST(test_evaluate_parse_scales)
{
    eval_config c;
    eval_config_default(&c, preset_find("paper"));
    ck_assert_int_eq(c.nscales, 1);
    ck_assert_int_eq(c.scales[0], 500);
    ck_assert(eval_max_size(&c, 500) == 833.0f);
    char err[256];
    ck_assert_int_eq(eval_parse_scales(&c, "400,500,600", err, sizeof err), 0);
    ck_assert_int_eq(c.nscales, 3);
    ck_assert(c.scales[0] == 400 && c.scales[1] == 500 && c.scales[2] == 600);
    ck_assert(eval_max_size(&c, 600) == (float)(600.0 * 833.0 / 500.0));
    c.max_size = 700;  // the cap at scales[0], proportional at the others
    ck_assert(eval_max_size(&c, 400) == 700.0f && eval_max_size(&c, 600) == 1050.0f);
    const char *bad[] = {"", "500,", ",500", "5OO", "500;600", "0", "31", "10001",
                         "1,2,3,4,5,6,7,8,9", "100,200,300,400,500,600,700,800,900", "-500"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(eval_parse_scales(&c, bad[i], err, sizeof err) == -1, "'%s'", bad[i]);
        ck_assert_msg(strstr(err, "--scales") != NULL, "%s", err);
    }
    ck_assert_int_eq(c.nscales, 3);  // a failed parse changes nothing
    eval_input_shape s;
    eval_test_shape(preset_find("paper"), 375, 500, 500.0f, 833.0f, &s);
    ck_assert(s.rh == 500 && s.rw == 667 && s.ph == 512 && s.pw == 672);
    eval_test_shape(preset_find("torchvision"), 375, 500, 800.0f, 1333.0f, &s);
    /* torchvision 0.14's GeneralizedRCNNTransform makes a 375 x 500 image 799 x 1066 (float32
     * scale 800/375 times 375 is just below 800), padded 800 x 1088 */
    ck_assert_msg(s.rh == 799 && s.rw == 1066 && s.ph == 800 && s.pw == 1088, "%d %d %d %d",
                  s.rh, s.rw, s.ph, s.pw);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("evaluate");
    TCase *tc = tcase_create("evaluate");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, ev_setup, ev_teardown);
    tcase_add_test(tc, test_evaluate_parse_scales);
    tcase_add_test(tc, test_evaluate_merge_by_hand);
    tcase_add_test(tc, test_evaluate_mirror_by_hand);
    tcase_add_test(tc, test_evaluate_single_scale_matches_detect);
    tcase_add_test(tc, test_evaluate_flip_pass_lands_on_original);
    tcase_add_test(tc, test_evaluate_multiscale_flip_pools_every_pass);
    tcase_add_test(tc, test_evaluate_steady_state_allocates_nothing);
    tcase_add_test(tc, test_evaluate_metrics_perfect_and_limit);
    tcase_add_test(tc, test_evaluate_metrics_partial_as_evaluators);
    tcase_add_test(tc, test_evaluate_threads_same_result);
    tcase_add_test(tc, test_evaluate_command_errors);
    tcase_add_test(tc, test_evaluate_command_run);
    suite_add_tcase(s, tc);
    return s;
}
