/* test_geometry_cuda.c — the CUDA twins of the training geometry and the optimiser against their
 * CPU specification: label assignment (assign_cuda.h) on the hand cases of test_assign, the
 * torchvision fixtures under both presets and random images with duplicate boxes (ties), exact
 * anchors and crowd boxes — match, iou, positives, labels and the IoU side input equal bit for
 * bit; the box coder (box_coder_cuda.h) on the fixture and random boxes — decoded boxes bit
 * for bit (NaN alike: both sides use glibc's expf), encoded deltas within 1e-6 of each box's
 * largest magnitude (CUDA's logf), non-finite entries alike; the box loss
 * (box_loss_cuda.h) for smooth L1 (β 1, 1/9, 0) and L1 with both normalisers — gradient bit for
 * bit, positives exact, loss and sum within 1e-12 relative; SGD (sgd_cuda.h) over 12 steps with
 * warm-up, a milestone and a frozen tensor — values and momentum bit for bit. Without a GPU
 * every test says SKIPPED. */
#include <math.h>
#include <stdlib.h>

#include "detector/anchors.h"
#include "detector/assign.h"
#include "detector/assign_cuda.h"
#include "detector/box_coder.h"
#include "detector/box_coder_cuda.h"
#include "lib/cuda_ctx.h"
#include "optim/box_loss.h"
#include "optim/box_loss_cuda.h"
#include "optim/sgd.h"
#include "optim/sgd_cuda.h"
#include "tests/case_rng.h"
#include "tests/check_main.h"
#include "tests/geometry_fixture.h"
#include "tests/gpu_compare.h"
#include "tests/gpu_skip.h"

/* --- label assignment --- */

/* CPU and GPU on one image (anchors [A][4] host) under p; K classes for the labels. */
static void assign_parity(cuda_ctx *ctx, const detector_preset *p, const float *anchors,
                          int64_t A, const assign_gt *gt, int K, const char *what)
{
    int32_t *match = malloc((size_t)A * 4 + 4);
    float *iou = malloc((size_t)A * 4 + 4);
    int8_t *labels = malloc((size_t)A * K + 1);
    float *side = malloc((size_t)A * K * 4 + 4);
    rd_arena ws;
    rd_arena_init(&ws);
    int64_t npos = assign_anchors(p, anchors, A, gt, &ws, match, iou);
    assign_labels(match, iou, A, gt, K, labels, side);
    rd_arena_free(&ws);

    float *ga = gpu_upload_copy(ctx, anchors, (size_t)A * 16);
    int32_t *gm = cuda_ctx_alloc(ctx, (size_t)A * 4 + 4);
    float *gi = cuda_ctx_alloc(ctx, (size_t)A * 4 + 4);
    int8_t *gl = cuda_ctx_alloc(ctx, (size_t)A * K + 1);
    float *gs = cuda_ctx_alloc(ctx, (size_t)A * K * 4 + 4);
    int64_t gpos = assign_anchors_cuda(ctx, p, ga, A, gt, gm, gi);
    ck_assert_msg(gpos == npos, "%s (%s): GPU %lld positives, CPU %lld", what, p->name,
                  (long long)gpos, (long long)npos);
    assign_labels_cuda(ctx, gm, gi, A, gt, K, gl, gs);
    int32_t *h = gpu_download_copy(ctx, gm, (size_t)A * 4);
    for (int64_t a = 0; a < A; a++)
        ck_assert_msg(h[a] == match[a], "%s (%s) anchor %lld: GPU match %d, CPU %d", what,
                      p->name, (long long)a, h[a], match[a]);
    free(h);
    gpu_expect_dev_same_bits(ctx, gi, iou, (size_t)A, 4, "iou");
    gpu_expect_dev_same_bits(ctx, gl, labels, (size_t)A * K, 1, "labels");
    gpu_expect_dev_same_bits(ctx, gs, side, (size_t)A * K, 4, "iou side");
    gpos = assign_anchors_cuda(ctx, p, ga, A, gt, gm, NULL);  // best in the workspace
    ck_assert_int_eq(gpos, npos);
    gpu_expect_dev_same_bits(ctx, gm, match, (size_t)A, 4, "match without iou");
    cuda_ctx_dealloc(ctx, ga);
    cuda_ctx_dealloc(ctx, gm);
    cuda_ctx_dealloc(ctx, gi);
    cuda_ctx_dealloc(ctx, gl);
    cuda_ctx_dealloc(ctx, gs);
    free(match);
    free(iou);
    free(labels);
    free(side);
}

/* Both presets on one image. */
static void assign_parity_both(cuda_ctx *ctx, const float *anchors, int64_t A,
                               const assign_gt *gt, int K, const char *what)
{
    assign_parity(ctx, preset_find("torchvision"), anchors, A, gt, K, what);
    assign_parity(ctx, preset_find("paper"), anchors, A, gt, K, what);
}

START_TEST(test_assign_hand)
{
    GPU_TEST_OR_SKIP();
    cuda_ctx *ctx = cuda_ctx_init(NULL, 0);
    float thr[4][4] = {{0, 0, 10, 10}, {0, 0, 10, 4.5f}, {0, 0, 10, 1}, {50, 50, 60, 60}};
    rd_box box = {0, 0, 10, 10};
    int32_t label = 2;
    assign_gt one = {&box, &label, NULL, 1};
    assign_parity_both(ctx, &thr[0][0], 4, &one, 3, "thresholds");
    float low[3][4] = {{0, 0, 10, 10}, {10, 0, 20, 10}, {0, 20, 10, 30}};
    rd_box tie = {5, 0, 15, 6};  // IoU 30/130 with the first two: both forced
    assign_gt tied = {&tie, &label, NULL, 1};
    assign_parity_both(ctx, &low[0][0], 3, &tied, 3, "tied best anchors");
    assign_gt none = {NULL, NULL, NULL, 0};
    assign_parity_both(ctx, &low[0][0], 3, &none, 3, "no ground truth");
    float cr[5][4] = {{0, 0, 20, 20}, {10, 0, 20, 8}, {16, 0, 26, 10}, {100, 100, 110, 110},
                      {50, 50, 60, 60}};
    rd_box boxes[2] = {{0, 0, 20, 20}, {100, 100, 110, 110}};
    int32_t labels[2] = {1, 0};
    uint8_t crowd[2] = {1, 0};
    assign_gt withcrowd = {boxes, labels, crowd, 2};
    assign_parity_both(ctx, &cr[0][0], 5, &withcrowd, 2, "crowd");
    uint8_t all_crowd[2] = {1, 1};
    assign_gt only_crowd = {boxes, labels, all_crowd, 2};
    assign_parity_both(ctx, &cr[0][0], 5, &only_crowd, 2, "only crowd");
    cuda_ctx_free(ctx);
}
END_TEST

START_TEST(test_assign_fixtures)
{
    GPU_TEST_OR_SKIP();
    cuda_ctx *ctx = cuda_ctx_init(NULL, 0);
    hid_t f = geofix_open();
    size_t n4;
    float *anchors = geofix_read(f, "anchors/tv_96x160/anchors", H5T_NATIVE_FLOAT, 4, &n4);
    const char *cases[3] = {"tv_random", "tv_many", "tv_no_overlap"};
    for (int c = 0; c < 3; c++) {
        char path[96];
        size_t G4, G;
        snprintf(path, sizeof path, "assign/%s/gt", cases[c]);
        rd_box *boxes = geofix_read(f, path, H5T_NATIVE_FLOAT, 4, &G4);
        snprintf(path, sizeof path, "assign/%s/gt_labels", cases[c]);
        int32_t *labels = geofix_read(f, path, H5T_NATIVE_INT32, 4, &G);
        snprintf(path, sizeof path, "assign/%s", cases[c]);
        int K;
        geofix_attr(f, path, "K", H5T_NATIVE_INT, &K, 1);
        assign_gt gt = {boxes, labels, NULL, (int)G};
        assign_parity_both(ctx, anchors, (int64_t)n4 / 4, &gt, K, cases[c]);
        free(boxes);
        free(labels);
    }
    H5Fclose(f);
    free(anchors);
    cuda_ctx_free(ctx);
}
END_TEST

/* The anchors of a torchvision image of h × w in a malloc'd [A][4]. */
static float *image_anchors(int h, int w, int64_t *A)
{
    const detector_preset *p = preset_find("torchvision");
    anchor_level lv[PRESET_LEVELS];
    int gh[PRESET_LEVELS], gw[PRESET_LEVELS];
    anchors_grid_sizes(h, w, gh, gw);
    *A = anchors_levels(p, h, w, gh, gw, lv);
    float *anchors = malloc((size_t)*A * 16);
    ck_assert_ptr_nonnull(anchors);
    anchors_generate(p, lv, anchors);
    return anchors;
}

/* G random boxes in an h × w image: every fifth a copy of an earlier one (tied bests), every
 * seventh an anchor itself, one tiny; crowd flags on every crowd_every-th box (0: none). */
static void random_gt(case_rng *r, const float *anchors, int64_t A, int h, int w, int G,
                      int crowd_every, rd_box *boxes, int32_t *labels, uint8_t *crowd)
{
    for (int k = 0; k < G; k++) {
        float x = (float)(case_unit(r) * w), y = (float)(case_unit(r) * h);
        float bw = 2.0f + (float)(case_unit(r) * w / 2), bh = 2.0f + (float)(case_unit(r) * h / 2);
        boxes[k] = (rd_box){x, y, x + bw, y + bh};
        if (k > 0 && k % 5 == 0)
            boxes[k] = boxes[case_below(r, k)];
        if (k % 7 == 3) {
            const float *a = anchors + 4 * (case_next(r) % (uint64_t)A);
            boxes[k] = (rd_box){a[0], a[1], a[2], a[3]};
        }
        if (k == 1)
            boxes[k] = (rd_box){x, y, x + 0.5f, y + 0.25f};
        labels[k] = case_below(r, 5);
        crowd[k] = crowd_every > 0 && k % crowd_every == crowd_every - 1;
    }
}

START_TEST(test_assign_random)
{
    GPU_TEST_OR_SKIP();
    cuda_ctx *ctx = cuda_ctx_init(NULL, 0);
    case_rng r = {20190617};
    const int sizes[3][2] = {{96, 160}, {128, 128}, {64, 64}};
    const int counts[4] = {3, 17, 60, 5000};  // 5000: past the block's shared gt maxima
    for (int s = 0; s < 3; s++) {
        int64_t A;
        float *anchors = image_anchors(sizes[s][0], sizes[s][1], &A);
        for (int c = 0; c < 4; c++) {
            if (counts[c] > 100 && s != 2)
                continue;
            int G = counts[c];
            rd_box *boxes = malloc((size_t)G * sizeof *boxes);
            int32_t *labels = malloc((size_t)G * 4);
            uint8_t *crowd = malloc((size_t)G);
            for (int crowd_every = 0; crowd_every <= 4; crowd_every += 4) {
                random_gt(&r, anchors, A, sizes[s][0], sizes[s][1], G, crowd_every, boxes,
                          labels, crowd);
                assign_gt gt = {boxes, labels, crowd_every ? crowd : NULL, G};
                assign_parity_both(ctx, anchors, A, &gt, 5, "random");
            }
            free(boxes);
            free(labels);
            free(crowd);
        }
        free(anchors);
    }
    cuda_ctx_free(ctx);
}
END_TEST

/* --- box coder --- */

/* max |got - want| of each box's entries ≤ 1e-6 · max(1, largest |want| of the box); NaN and
 * ±inf where the CPU has them. */
static void expect_boxes_near(const float *got, const float *want, size_t n4, const char *what)
{
    for (size_t i = 0; i < n4; i++) {
        if (!isfinite(want[i])) {
            ck_assert_msg(isnan(want[i]) ? isnan(got[i]) : got[i] == want[i],
                          "%s %zu: GPU %g, CPU %g", what, i, (double)got[i], (double)want[i]);
            continue;
        }
        float scale = 1.0f;
        for (size_t c = i / 4 * 4; c < i / 4 * 4 + 4; c++)
            scale = isfinite(want[c]) ? fmaxf(scale, fabsf(want[c])) : scale;
        ck_assert_msg(fabsf(got[i] - want[i]) <= 1e-6f * scale, "%s %zu: GPU %.9g, CPU %.9g",
                      what, i, (double)got[i], (double)want[i]);
    }
}

/* Encode, decode and matched targets of n anchors / boxes / deltas on both devices: decode
 * exact, the encodings (logf) near. */
static void coder_parity(cuda_ctx *ctx, const box_coder *c, const float *anchors,
                         const float *boxes, const float *deltas, int64_t n, const char *what)
{
    size_t bytes = (size_t)n * 16;
    float *want = malloc(bytes + 4);
    float *ga = gpu_upload_copy(ctx, anchors, bytes), *gb = gpu_upload_copy(ctx, boxes, bytes);
    float *gd = gpu_upload_copy(ctx, deltas, bytes), *gout = cuda_ctx_alloc(ctx, bytes + 4);
    box_coder_encode(c, anchors, boxes, n, want);
    box_coder_encode_cuda(ctx, c, ga, gb, n, gout);
    float *got = gpu_download_copy(ctx, gout, bytes);
    expect_boxes_near(got, want, (size_t)n * 4, what);
    free(got);
    box_coder_decode(c, anchors, deltas, n, want);
    box_coder_decode_cuda(ctx, c, ga, gd, n, gout);
    got = gpu_download_copy(ctx, gout, bytes);
    gpu_expect_same_floats(got, want, (size_t)n * 4, what);  // glibc's expf on both
    free(got);
    int32_t *match = malloc((size_t)n * 4 + 4);
    for (int64_t i = 0; i < n; i++)  // negatives, ignored, and boxes matched out of order
        match[i] = i % 3 == 0 ? ASSIGN_NEGATIVE : (i % 5 == 0 ? ASSIGN_IGNORED : (int32_t)(n - 1 - i));
    int32_t *gm = gpu_upload_copy(ctx, match, (size_t)n * 4);
    box_coder_encode_matched(c, anchors, n, match, (const rd_box *)boxes, want);
    box_coder_encode_matched_cuda(ctx, c, ga, n, gm, (const rd_box *)gb, gout);
    got = gpu_download_copy(ctx, gout, bytes);
    expect_boxes_near(got, want, (size_t)n * 4, what);
    free(got);
    cuda_ctx_dealloc(ctx, ga);
    cuda_ctx_dealloc(ctx, gb);
    cuda_ctx_dealloc(ctx, gd);
    cuda_ctx_dealloc(ctx, gout);
    cuda_ctx_dealloc(ctx, gm);
    free(match);
    free(want);
}

START_TEST(test_box_coder)
{
    GPU_TEST_OR_SKIP();
    cuda_ctx *ctx = cuda_ctx_init(NULL, 0);
    hid_t f = geofix_open();
    size_t n, m;
    float *anchors = geofix_read(f, "box_coder/anchors", H5T_NATIVE_FLOAT, 4, &n);
    float *boxes = geofix_read(f, "box_coder/boxes", H5T_NATIVE_FLOAT, 4, &m);
    float *deltas = geofix_read(f, "box_coder/deltas", H5T_NATIVE_FLOAT, 4, &m);
    H5Fclose(f);
    ck_assert_uint_eq(m, n);
    coder_parity(ctx, &preset_find("torchvision")->coder, anchors, boxes, deltas, (int64_t)n / 4,
                 "fixture w1");
    coder_parity(ctx, &preset_find("paper")->coder, anchors, boxes, deltas, (int64_t)n / 4,
                 "fixture w10");
    free(anchors);
    free(boxes);
    free(deltas);
    case_rng r = {77};
    const int64_t N = 100003;
    anchors = case_floats(&r, (size_t)N * 4, 0, 800);
    boxes = case_floats(&r, (size_t)N * 4, 0, 800);
    deltas = case_floats(&r, (size_t)N * 4, -6, 6);  // past the dw/dh clip
    for (int64_t i = 0; i < N; i++) {  // x2 ≥ x1, y2 ≥ y1; every 97th box empty (-inf, NaN)
        for (int c = 0; c < 2; c++) {
            anchors[4 * i + 2 + c] = anchors[4 * i + c] + 1 + anchors[4 * i + 2 + c] / 4;
            boxes[4 * i + 2 + c] = boxes[4 * i + c] + (i % 97 ? 1 + boxes[4 * i + 2 + c] / 4 : 0);
        }
    }
    coder_parity(ctx, &preset_find("torchvision")->coder, anchors, boxes, deltas, N, "random w1");
    coder_parity(ctx, &preset_find("paper")->coder, anchors, boxes, deltas, N, "random w10");
    free(anchors);
    free(boxes);
    free(deltas);
    cuda_ctx_free(ctx);
}
END_TEST

/* --- box loss --- */

/* One parameter set on a batch of n images of A anchors (host arrays). */
static void box_loss_parity(cuda_ctx *ctx, const box_loss_params *p, const float *deltas,
                            const float *targets, const int32_t *match, int n, int64_t A,
                            const char *what)
{
    size_t coords = (size_t)n * A * 4;
    float *want = malloc(coords * 4 + 4);
    box_loss_result cpu, gpu;
    box_loss_compute(p, deltas, targets, match, n, A, want, &cpu);
    float *gd = gpu_upload_copy(ctx, deltas, coords * 4), *gt = gpu_upload_copy(ctx, targets, coords * 4);
    int32_t *gm = gpu_upload_copy(ctx, match, (size_t)n * A * sizeof(int32_t));
    float *gg = cuda_ctx_alloc(ctx, coords * 4 + 4);
    box_loss_compute_cuda(ctx, p, gd, gt, gm, n, A, gg, &gpu);
    ck_assert_msg(gpu.num_pos == cpu.num_pos, "%s: GPU %lld positives, CPU %lld", what,
                  (long long)gpu.num_pos, (long long)cpu.num_pos);
    ck_assert_msg(fabs(gpu.loss - cpu.loss) <= 1e-12 * fmax(1e-300, fabs(cpu.loss)) &&
                  fabs(gpu.sum - cpu.sum) <= 1e-12 * fmax(1e-300, fabs(cpu.sum)),
                  "%s: GPU loss %.17g sum %.17g, CPU %.17g %.17g", what, gpu.loss, gpu.sum,
                  cpu.loss, cpu.sum);
    gpu_expect_dev_same_bits(ctx, gg, want, coords, 4, what);
    box_loss_result again;
    box_loss_compute_cuda(ctx, p, gd, gt, gm, n, A, NULL, &again);  // no gradient asked
    ck_assert(again.loss == gpu.loss && again.num_pos == gpu.num_pos);
    free(want);
    cuda_ctx_dealloc(ctx, gd);
    cuda_ctx_dealloc(ctx, gt);
    cuda_ctx_dealloc(ctx, gm);
    cuda_ctx_dealloc(ctx, gg);
}

START_TEST(test_box_loss)
{
    GPU_TEST_OR_SKIP();
    cuda_ctx *ctx = cuda_ctx_init(NULL, 0);
    case_rng r = {4242};
    const int n = 4;
    const int64_t A = 20000;
    size_t coords = (size_t)n * A * 4;
    float *deltas = case_floats(&r, coords, -3, 3), *targets = case_floats(&r, coords, -3, 3);
    int32_t *match = malloc((size_t)n * A * 4);
    for (int64_t e = 0; e < n * A; e++) {  // image 2 has no positive; some exact zeros
        int u = case_below(&r, 10);
        match[e] = e / A == 2 ? ASSIGN_NEGATIVE : (u < 2 ? u : (u < 5 ? ASSIGN_IGNORED : ASSIGN_NEGATIVE));
        if (e % 11 == 0)
            targets[4 * e] = deltas[4 * e];
    }
    const float betas[3] = {1.0f, 1.0f / 9.0f, 0.0f};
    for (int norm = 0; norm < 2; norm++) {
        for (int b = 0; b < 3; b++) {
            box_loss_params p = {BOX_LOSS_SMOOTH_L1, betas[b], (box_loss_norm)norm, 0.25};
            box_loss_parity(ctx, &p, deltas, targets, match, n, A, "smooth L1");
        }
        box_loss_params l1 = {BOX_LOSS_L1, 0.0f, (box_loss_norm)norm, 1.0};
        box_loss_parity(ctx, &l1, deltas, targets, match, n, A, "L1");
        box_loss_parity(ctx, &l1, deltas, targets, match, 1, 1, "one anchor");
    }
    free(deltas);
    free(targets);
    free(match);
    cuda_ctx_free(ctx);
}
END_TEST

/* --- SGD --- */

START_TEST(test_sgd)
{
    GPU_TEST_OR_SKIP();
    cuda_ctx *ctx = cuda_ctx_init(NULL, 0);
    case_rng r = {9};
    enum { NT = 4, STEPS = 12 };
    const size_t counts[NT] = {7, 100003, 0, 1 << 17};  // tensor 3 is frozen
    sgd_config c;
    sgd_config_default(&c);
    c.lr = 0.02;
    c.warmup_steps = 5;
    c.num_milestones = 1;
    c.milestones[0] = 9;
    float *w[NT], *g[NT], *gw[NT], *gg[NT];
    sgd_tensor cpu_list[NT], gpu_list[NT];
    for (int t = 0; t < NT; t++) {
        w[t] = case_floats(&r, counts[t], -1, 1);
        g[t] = case_floats(&r, counts[t], -1, 1);
        gw[t] = gpu_upload_copy(ctx, w[t], counts[t] * 4);
        gg[t] = gpu_upload_copy(ctx, g[t], counts[t] * 4);
        cpu_list[t] = (sgd_tensor){w[t], t == 3 ? NULL : g[t], counts[t]};
        gpu_list[t] = (sgd_tensor){gw[t], t == 3 ? NULL : gg[t], counts[t]};
    }
    sgd cpu;
    sgd_cuda gpu;
    sgd_init(&cpu, &c, cpu_list, NT);
    sgd_cuda_init(&gpu, ctx, &c, gpu_list, NT);
    ck_assert_int_eq(gpu.ntensors, cpu.ntensors);
    ck_assert_uint_eq(gpu.num_values, cpu.num_values);
    for (int s = 0; s < STEPS; s++) {
        for (int t = 0; t < NT; t++) {  // a fresh gradient each step
            for (size_t i = 0; i < counts[t]; i++)
                g[t][i] = (float)(case_unit(&r) * 2 - 1);
            if (counts[t])
                cuda_ctx_upload(ctx, gg[t], g[t], counts[t] * 4);
        }
        ck_assert(sgd_step(&cpu) == sgd_cuda_step(&gpu));
        for (int t = 0; t < NT; t++)
            gpu_expect_dev_same_bits(ctx, gw[t], w[t], counts[t], 4, "sgd values");
        for (int t = 0; t < cpu.ntensors; t++)
            gpu_expect_dev_same_bits(ctx, gpu.momentum[t], cpu.momentum[t], cpu.tensors[t].count,
                                     4, "sgd momentum");
    }
    sgd_free(&cpu);
    sgd_cuda_free(&gpu);
    for (int t = 0; t < NT; t++) {
        cuda_ctx_dealloc(ctx, gw[t]);
        cuda_ctx_dealloc(ctx, gg[t]);
        free(w[t]);
        free(g[t]);
    }
    cuda_ctx_free(ctx);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("geometry_cuda");
    TCase *tc = tcase_create("geometry_cuda");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_assign_hand);
    tcase_add_test(tc, test_assign_fixtures);
    tcase_add_test(tc, test_assign_random);
    tcase_add_test(tc, test_box_coder);
    tcase_add_test(tc, test_box_loss);
    tcase_add_test(tc, test_sgd);
    suite_add_tcase(s, tc);
    return s;
}
