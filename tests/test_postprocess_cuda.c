/* test_postprocess_cuda.c — the GPU NMS and post-processing (detector/nms.cu,
 * detector/postprocess.cu) against their specification, the CPU's nms.c and postprocess.c:
 * the hand-made NMS cases and torchvision's 400-box fixture of test_nms.c, random boxes with
 * many tied scores and duplicate boxes (one class and 20 classes, up to 6000 boxes), the
 * fixtures, hand case and prior head of test_postprocess.c, and random heads of several
 * images with tied logits on both presets; a steady state that grows no workspace.
 * Parity: the same kept indices in the same order exactly; the same detection count, labels
 * and image ids exactly, scores and box coordinates within 1e-5 relative (max(1, |CPU|)).
 * The expf of the GPU code is also checked on the host against the C library's (bit for bit,
 * no GPU needed). Without a GPU the parity tests say SKIPPED. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detector/nms.h"
#include "detector/postprocess.h"
#include "detector/postprocess_cuda.h"
#include "tests/case_rng.h"
#include "tests/check_main.h"
#include "tests/gpu_compare.h"
#include "tests/gpu_skip.h"
#include "tests/postprocess_cases.h"

/* CPU and GPU NMS on the same boxes (labels NULL: nms_boxes): equal kept lists. */
static void expect_nms_parity(cuda_ctx *ctx, const float *boxes, const float *scores,
                              const int32_t *labels, int64_t n, float iou, const char *what)
{
    size_t un = n > 0 ? (size_t)n : 1;
    int64_t *want = malloc(un * sizeof *want), *got = malloc(un * sizeof *got);
    rd_arena ws;
    rd_arena_init(&ws);
    int64_t nw = labels ? nms_batched(boxes, scores, labels, n, iou, &ws, want)
                        : nms_boxes(boxes, scores, n, iou, &ws, want);
    rd_arena_free(&ws);
    float *db = gpu_upload_copy(ctx, boxes, (size_t)n * 4 * sizeof(float));
    float *ds = gpu_upload_copy(ctx, scores, (size_t)n * sizeof(float));
    int32_t *dl = labels ? gpu_upload_copy(ctx, labels, (size_t)n * sizeof(int32_t)) : NULL;
    int64_t *dk = cuda_ctx_alloc(ctx, un * sizeof(int64_t));
    int64_t ng = labels ? nms_batched_cuda(ctx, db, ds, dl, n, iou, dk)
                        : nms_boxes_cuda(ctx, db, ds, n, iou, dk);
    ck_assert_msg(ng == nw, "%s: GPU keeps %lld, CPU %lld", what, (long long)ng, (long long)nw);
    if (ng > 0)
        cuda_ctx_download(ctx, got, dk, (size_t)ng * sizeof(int64_t));
    for (int64_t i = 0; i < ng; i++)
        ck_assert_msg(got[i] == want[i], "%s: kept #%lld is %lld on the GPU, %lld on the CPU",
                      what, (long long)i, (long long)got[i], (long long)want[i]);
    cuda_ctx_dealloc(ctx, db);
    cuda_ctx_dealloc(ctx, ds);
    if (dl)
        cuda_ctx_dealloc(ctx, dl);
    cuda_ctx_dealloc(ctx, dk);
    free(want);
    free(got);
}

START_TEST(test_expf_matches_libm)
{
    if (!POSTPROCESS_CUDA_BUILT) {
        printf("SKIPPED: test_expf_matches_libm (built without CUDA)\n");
        return;
    }
    int64_t checked = 0;
    for (uint64_t b = 0; b < (1ull << 32); b += 1021) {  // every sign, exponent and mantissa
        uint32_t u = (uint32_t)b;
        float x;
        memcpy(&x, &u, sizeof x);
        float want = expf(x), got = postprocess_cuda_expf(x);
        ck_assert_msg(memcmp(&want, &got, sizeof want) == 0 || (isnan(want) && isnan(got)),
                      "expf(%a): libm %a, GPU code %a", (double)x, (double)want, (double)got);
        checked++;
    }
    for (int i = 0; i <= 2000000; i++) {  // the logits and deltas that matter, densely
        float x = -25.0f + 50.0f * (float)i / 2000000.0f;
        float want = expf(x), got = postprocess_cuda_expf(x);
        ck_assert_msg(memcmp(&want, &got, sizeof want) == 0, "expf(%a): libm %a, GPU code %a",
                      (double)x, (double)want, (double)got);
    }
    ck_assert_int_gt(checked, 4000000);
}
END_TEST

START_TEST(test_nms_cuda_hand_cases)
{
    GPU_TEST_OR_SKIP();
    cuda_ctx *ctx = cuda_ctx_init(NULL, 0);
    const float four[4][4] = {{0, 0, 10, 10}, {1, 1, 11, 11}, {20, 20, 30, 30}, {0, 0, 10, 10}};
    const float four_scores[4] = {0.9f, 0.8f, 0.7f, 0.6f};
    const int32_t four_labels[4] = {0, 0, 0, 1};
    expect_nms_parity(ctx, &four[0][0], four_scores, four_labels, 4, 0.5f, "four, batched");
    expect_nms_parity(ctx, &four[0][0], four_scores, NULL, 4, 0.5f, "four, single");
    expect_nms_parity(ctx, &four[0][0], four_scores, NULL, 4, 0.7f, "four, single, 0.7");
    float ties[3][4] = {{0, 0, 10, 5}, {0, 0, 10, 10}, {0, 0, 10, 10}};
    float tie_scores[3] = {0.5f, 0.5f, 0.5f};
    expect_nms_parity(ctx, &ties[0][0], tie_scores, NULL, 3, 0.5f, "IoU 0.5, equal scores");
    tie_scores[2] = 0.75f;
    expect_nms_parity(ctx, &ties[0][0], tie_scores, NULL, 3, 0.5f, "IoU 0.5, one ahead");
    expect_nms_parity(ctx, &ties[0][0], tie_scores, NULL, 0, 0.5f, "empty");
    cuda_ctx_free(ctx);
}
END_TEST

START_TEST(test_nms_cuda_fixture)
{
    GPU_TEST_OR_SKIP();
    float *boxes, *scores;
    int32_t *labels;
    size_t n = ppcase_nms_fixture(&boxes, &scores, &labels);
    cuda_ctx *ctx = cuda_ctx_init(NULL, 0);
    expect_nms_parity(ctx, boxes, scores, labels, (int64_t)n, 0.5f, "fixture, batched");
    expect_nms_parity(ctx, boxes, scores, NULL, (int64_t)n, 0.5f, "fixture, single");
    cuda_ctx_free(ctx);
    free(boxes);
    free(scores);
    free(labels);
}
END_TEST

/* n random boxes on a coarse grid (duplicates and exact IoU ties), scores from `levels`
 * values (many ties), labels in [0, classes). */
static void random_boxes(case_rng *rng, int64_t n, int levels, int classes, float *boxes,
                         float *scores, int32_t *labels)
{
    for (int64_t i = 0; i < n; i++) {
        float x = (float)case_below(rng, 40) * 4.0f, y = (float)case_below(rng, 40) * 4.0f;
        float w = (float)(1 + case_below(rng, 8)) * 4.0f, h = (float)(1 + case_below(rng, 8)) * 4.0f;
        float b[4] = {x, y, x + w, y + h};
        memcpy(boxes + 4 * i, b, sizeof b);
        scores[i] = (float)case_below(rng, levels) / (float)levels;
        labels[i] = case_below(rng, classes) - classes / 2;  // negative labels too
    }
}

START_TEST(test_nms_cuda_random)
{
    GPU_TEST_OR_SKIP();
    static const int64_t sizes[4] = {65, 700, 3000, 6000};
    static const float ious[3] = {0.3f, 0.5f, 0.7f};
    cuda_ctx *ctx = cuda_ctx_init(NULL, 0);
    case_rng rng = {20190605};
    float *boxes = malloc(6000 * 4 * sizeof(float)), *scores = malloc(6000 * sizeof(float));
    int32_t *labels = malloc(6000 * sizeof(int32_t));
    char what[96];
    for (int c = 0; c < 24; c++) {
        int64_t n = sizes[c % 4];
        int classes = (c / 4) % 2 ? 20 : 1, levels = (c / 8) % 3 == 0 ? 7 : 1000;
        random_boxes(&rng, n, levels, classes, boxes, scores, labels);
        snprintf(what, sizeof what, "random case %d (%lld boxes, %d classes, %d score values)",
                 c, (long long)n, classes, levels);
        expect_nms_parity(ctx, boxes, scores, labels, n, ious[c % 3], what);
        expect_nms_parity(ctx, boxes, scores, NULL, n, ious[c % 3], what);
    }
    cuda_ctx_free(ctx);
    free(boxes);
    free(scores);
    free(labels);
}
END_TEST

static int close_rel(float got, float want)
{
    return fabsf(got - want) <= 1e-5f * fmaxf(1.0f, fabsf(want));
}

/* CPU and GPU post-processing of one image of A anchors (in: host pointers): the same
 * detections; a repeat grows no workspace. */
static void expect_pp_parity(cuda_ctx *ctx, const detector_preset *p,
                             const postprocess_input *in, int64_t A, const char *what)
{
    size_t cap = (size_t)p->detections_per_image;
    rd_detection *want = malloc(cap * sizeof *want), *got = malloc(cap * sizeof *got);
    rd_arena ws;
    rd_arena_init(&ws);
    int nw = postprocess_detections(p, in, &ws, want);
    rd_arena_free(&ws);
    size_t K = (size_t)in->num_classes;
    postprocess_input din = *in;
    din.cls_logits = gpu_upload_copy(ctx, in->cls_logits, (size_t)A * K * sizeof(float));
    din.bbox_regression = gpu_upload_copy(ctx, in->bbox_regression, (size_t)A * 4 * sizeof(float));
    din.anchors = gpu_upload_copy(ctx, in->anchors, (size_t)A * 4 * sizeof(float));
    int ng = postprocess_detections_cuda(ctx, p, &din, got);
    size_t held = cuda_ctx_workspace_bytes(ctx);
    ck_assert_int_eq(postprocess_detections_cuda(ctx, p, &din, got), ng);
    ck_assert_uint_eq(cuda_ctx_workspace_bytes(ctx), held);
    ck_assert_msg(ng == nw, "%s: %d detections on the GPU, %d on the CPU", what, ng, nw);
    for (int i = 0; i < ng; i++) {
        const rd_detection *g = &got[i], *w = &want[i];
        ck_assert_msg(g->label == w->label && g->image_id == w->image_id &&
                          close_rel(g->score, w->score),
                      "%s detection %d: GPU class %d score %.9g, CPU class %d score %.9g", what,
                      i, g->label, (double)g->score, w->label, (double)w->score);
        const float *gb = &g->box.x1, *wb = &w->box.x1;
        for (int c = 0; c < 4; c++)
            ck_assert_msg(close_rel(gb[c], wb[c]), "%s detection %d coordinate %d: GPU %.9g, "
                          "CPU %.9g", what, i, c, (double)gb[c], (double)wb[c]);
    }
    cuda_ctx_dealloc(ctx, (void *)din.cls_logits);
    cuda_ctx_dealloc(ctx, (void *)din.bbox_regression);
    cuda_ctx_dealloc(ctx, (void *)din.anchors);
    free(want);
    free(got);
}

static void check_fixture_case(cuda_ctx *ctx, const char *name, const char *preset)
{
    ppcase c;
    ppcase_fixture(&c, name);
    expect_pp_parity(ctx, preset_find(preset), &c.in, c.A, name);
    ppcase_free(&c);
}

START_TEST(test_postprocess_cuda_fixtures)
{
    GPU_TEST_OR_SKIP();
    cuda_ctx *ctx = cuda_ctx_init(NULL, 0);
    check_fixture_case(ctx, "tv", "torchvision");
    check_fixture_case(ctx, "paper", "paper");
    cuda_ctx_free(ctx);
}
END_TEST

/* test_postprocess.c's hand case (threshold, clip, class-wise NMS, scaling) and prior head
 * (nothing in torchvision's preset, P7 alone in the paper's). */
START_TEST(test_postprocess_cuda_hand_and_prior)
{
    GPU_TEST_OR_SKIP();
    cuda_ctx *ctx = cuda_ctx_init(NULL, 0);
    ppcase c;
    ppcase_hand(&c);
    expect_pp_parity(ctx, preset_find("torchvision"), &c.in, c.A, "hand case");
    ppcase_free(&c);
    ppcase_prior(&c);
    expect_pp_parity(ctx, preset_find("torchvision"), &c.in, c.A, "prior head, torchvision");
    expect_pp_parity(ctx, preset_find("paper"), &c.in, c.A, "prior head, paper");
    ppcase_free(&c);
    cuda_ctx_free(ctx);
}
END_TEST

/* A random head of A anchors: logits on a 0.25 grid (massive score ties), with NaN, ±inf and
 * huge values when `wild`; deltas on a 0.05 grid (some past the dw clamp when wild); anchors
 * partly outside the 320 × 480 input. */
static void random_head(case_rng *rng, int64_t A, int K, int wild, float *logits, float *reg,
                        float *anchors)
{
    static const float specials[5] = {NAN, INFINITY, -INFINITY, 200.0f, -200.0f};
    for (int64_t i = 0; i < A * K; i++) {
        logits[i] = (float)(case_below(rng, 40) - 30) * 0.25f;
        if (wild && case_below(rng, 50) == 0)
            logits[i] = specials[case_below(rng, 5)];
    }
    for (int64_t a = 0; a < A; a++) {
        for (int c = 0; c < 4; c++)
            reg[4 * a + c] = (float)(case_below(rng, 17) - 8) * (wild ? 1.0f : 0.05f);
        float x = (float)case_below(rng, 460), y = (float)case_below(rng, 300);
        float w = (float)(8 + case_below(rng, 120)), h = (float)(8 + case_below(rng, 120));
        float b[4] = {x, y, x + w, y + h};
        memcpy(anchors + 4 * a, b, sizeof b);
    }
}

START_TEST(test_postprocess_cuda_random_heads)
{
    GPU_TEST_OR_SKIP();
    static const int64_t counts[PRESET_LEVELS] = {1500, 400, 100, 30, 9};
    const int64_t A = 2039;
    const int K = 8;
    cuda_ctx *ctx = cuda_ctx_init(NULL, 0);
    case_rng rng = {20190607};
    float *logits = malloc((size_t)A * K * sizeof(float));
    float *reg = malloc((size_t)A * 4 * sizeof(float)), *anchors = malloc((size_t)A * 16);
    anchor_level lv[PRESET_LEVELS];
    ppcase_levels_from_counts(counts, lv);
    char what[64];
    for (int img = 0; img < 8; img++) {
        random_head(&rng, A, K, img % 4 == 3, logits, reg, anchors);
        postprocess_input in = {logits, reg, anchors, lv, K, 320, 480, 500 + img, 700 - img,
                                1000 + img};
        snprintf(what, sizeof what, "random image %d, torchvision", img);
        expect_pp_parity(ctx, preset_find("torchvision"), &in, A, what);
        snprintf(what, sizeof what, "random image %d, paper", img);
        expect_pp_parity(ctx, preset_find("paper"), &in, A, what);
    }
    free(logits);
    free(reg);
    free(anchors);
    cuda_ctx_free(ctx);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("postprocess_cuda");
    TCase *tc = tcase_create("postprocess_cuda");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_expf_matches_libm);
    tcase_add_test(tc, test_nms_cuda_hand_cases);
    tcase_add_test(tc, test_nms_cuda_fixture);
    tcase_add_test(tc, test_nms_cuda_random);
    tcase_add_test(tc, test_postprocess_cuda_fixtures);
    tcase_add_test(tc, test_postprocess_cuda_hand_and_prior);
    tcase_add_test(tc, test_postprocess_cuda_random_heads);
    suite_add_tcase(s, tc);
    return s;
}
