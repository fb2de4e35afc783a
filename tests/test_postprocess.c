/* test_postprocess.c — detector/postprocess.c against torchvision 0.14's
 * RetinaNet.postprocess_detections + transform.resize_boxes (torchvision preset) and the AP-loss
 * released code's test path in continuous coordinates (paper preset) on random logits
 * (tests/fixtures/geometry_reference.h5); a hand-made case (threshold, clip, class-wise NMS,
 * scaling, keep-N); a head at its prior (no detection above 0.05); no allocation on repeats. */
#include <math.h>
#include <stdlib.h>

#include "detector/postprocess.h"
#include "tests/check_main.h"
#include "tests/postprocess_cases.h"

static void check_fixture_case(const char *name, const char *preset)
{
    ppcase c;
    ppcase_fixture(&c, name);
    const detector_preset *p = preset_find(preset);
    rd_detection *det = malloc((size_t)p->detections_per_image * sizeof *det);
    rd_arena ws;
    rd_arena_init(&ws);
    int n = postprocess_detections(p, &c.in, &ws, det);
    ck_assert_int_eq(n, (int)c.n);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(det[i].image_id, 42);
        ck_assert_msg(det[i].label == c.labels[i] && fabsf(det[i].score - c.scores[i]) <= 1e-6f,
                      "%s detection %d: class %d score %.8g, reference class %lld score %.8g",
                      name, i, det[i].label, (double)det[i].score, (long long)c.labels[i],
                      (double)c.scores[i]);
        const float *b = &det[i].box.x1, *w = c.boxes + 4 * i;
        for (int k = 0; k < 4; k++)
            ck_assert_msg(fabsf(b[k] - w[k]) <= 1e-3f, "%s detection %d coordinate %d: %.7g vs "
                          "%.7g", name, i, k, (double)b[k], (double)w[k]);
    }
    size_t grows = ws.grows;
    ck_assert_int_eq(postprocess_detections(p, &c.in, &ws, det), n);
    ck_assert_uint_eq(ws.grows, grows);
    rd_arena_free(&ws);
    free(det);
    ppcase_free(&c);
}

START_TEST(test_fixture_torchvision)
{
    check_fixture_case("tv", "torchvision");
}
END_TEST

START_TEST(test_fixture_paper)
{
    check_fixture_case("paper", "paper");
}
END_TEST

/* Five anchors, one per level, K = 2, zero deltas, input 100 × 200 scaled to 50 × 100:
 * anchor 0 class 1 (score .9) and anchor 1 class 1 (.8, IoU .81 with it) → NMS drops anchor 1;
 * anchor 1 class 0 (.7) survives (other class); anchor 2 (.04) is under 0.05; anchor 3 sticks
 * out of the image and is clipped. */
START_TEST(test_hand_case)
{
    const detector_preset *p = preset_find("torchvision");
    ppcase c;
    ppcase_hand(&c);
    rd_detection det[300];
    rd_arena ws;
    rd_arena_init(&ws);
    int n = postprocess_detections(p, &c.in, &ws, det);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(det[0].label, 1);
    ck_assert_float_eq_tol(det[0].score, 0.9f, 1e-6f);
    ck_assert_float_eq_tol(det[0].box.x2, 50.0f, 1e-5f);  // 100 · 100/200
    ck_assert_float_eq_tol(det[0].box.y2, 25.0f, 1e-5f);  // 50 · 50/100
    ck_assert_int_eq(det[1].label, 0);
    ck_assert_float_eq_tol(det[1].score, 0.7f, 1e-6f);
    ck_assert_int_eq(det[2].label, 1);
    ck_assert_float_eq_tol(det[2].score, 0.5f, 1e-6f);
    ck_assert_float_eq_tol(det[2].box.x1, 75.0f, 1e-5f);  // 150 / 2
    ck_assert_float_eq_tol(det[2].box.x2, 100.0f, 1e-5f); // clipped at 200, then / 2
    ck_assert_float_eq_tol(det[2].box.y2, 50.0f, 1e-5f);  // clipped at 100, then / 2
    ck_assert_int_eq(det[2].image_id, 7);
    rd_arena_free(&ws);
    ppcase_free(&c);
}
END_TEST

/* A head just under its prior (logits -log 99 - 0.01, scores 0.0099) gives nothing in torchvision's preset
 * and everything up to keep-100 from P7 alone in the paper's (P7 keeps scores > 0). */
START_TEST(test_prior_head)
{
    ppcase c;
    ppcase_prior(&c);
    rd_detection det[300];
    rd_arena ws;
    rd_arena_init(&ws);
    ck_assert_int_eq(postprocess_detections(preset_find("torchvision"), &c.in, &ws, det), 0);
    int n = postprocess_detections(preset_find("paper"), &c.in, &ws, det);
    ck_assert_int_eq(n, 20 * 3);  // P7's 20 anchors × 3 classes; nothing else passes 0.01
    rd_arena_free(&ws);
    ppcase_free(&c);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("postprocess");
    TCase *tc = tcase_create("postprocess");
    tcase_add_test(tc, test_fixture_torchvision);
    tcase_add_test(tc, test_fixture_paper);
    tcase_add_test(tc, test_hand_case);
    tcase_add_test(tc, test_prior_head);
    suite_add_tcase(s, tc);
    return s;
}
