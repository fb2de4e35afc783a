/* test_bench_train.c — `rankdet bench train` as a command (no timing is checked here: timings
 * live in the bench): a child configuration runs a real step and prints one JSON object with
 * its median, phases and layer blocks; bad flags exit 2 with a message naming the flag. */
#include <cJSON.h>
#include <string.h>

#include "tests/check_main.h"
#include "tests/cli_run.h"

enum { OUT_SIZE = 1 << 16 };

START_TEST(test_child_prints_one_json_object)
{
    static char out[OUT_SIZE], err[OUT_SIZE];
    int rc = cli_run_rankdet_line("bench train --child --threads 1 --losses ap --size 64 "
                                  "--batch 1 --classes 3 --steps 2 --warmup 0",
                                  out, err, OUT_SIZE);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    cJSON *j = cJSON_Parse(out);
    ck_assert_msg(j != NULL, "not JSON: %s", out);
    const cJSON *median = cJSON_GetObjectItemCaseSensitive(j, "median_s");
    ck_assert(cJSON_IsNumber(median) && median->valuedouble > 0.0);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "step_s")), 2);
    const cJSON *phases = cJSON_GetObjectItemCaseSensitive(j, "phases");
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(phases, "heads backward")));
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(j, "layers");
    ck_assert_int_eq(cJSON_GetArraySize(layers), 13);  // stem, 4 layers, 3 FPN, 5 head levels
    const cJSON *l2 = cJSON_GetArrayItem(layers, 2);   // layer2 of ResNet-18: 2 × 2 + 1 convs
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(l2, "name")->valuestring, "layer2");
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(l2, "convs")->valueint, 5);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "loss")->valuestring, "ap");
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_bad_flags_exit_2)
{
    static char out[OUT_SIZE], err[OUT_SIZE];
    ck_assert_int_eq(cli_run_rankdet_line("bench train --threads 0", out, err, OUT_SIZE), 2);
    ck_assert_msg(strstr(err, "--threads") != NULL, "%s", err);
    ck_assert_int_eq(cli_run_rankdet_line("bench train --losses focal,nope", out, err, OUT_SIZE),
                     2);
    ck_assert_msg(strstr(err, "nope") != NULL, "%s", err);
    ck_assert_int_eq(cli_run_rankdet_line("bench train --preset coco", out, err, OUT_SIZE), 2);
    ck_assert_msg(strstr(err, "--preset") != NULL, "%s", err);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("bench_train");
    TCase *tc = tcase_create("bench_train");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_child_prints_one_json_object);
    tcase_add_test(tc, test_bad_flags_exit_2);
    suite_add_tcase(s, tc);
    return s;
}
