/* test_device.c — device names and the GPU queries of lib/device.h: on a machine with a GPU,
 * its description and the free-memory check (a request beyond the card's memory refused with
 * the numbers); without one, every GPU query gives the reason and the GPU tests say SKIPPED. */
#include <string.h>

#include "lib/device.h"
#include "tests/check_main.h"
#include "tests/gpu_skip.h"

START_TEST(test_device_parse)
{
    rd_device_kind k = RD_DEVICE_CUDA;
    char err[128];
    ck_assert_int_eq(rd_device_parse("cpu", &k, err, sizeof err), 0);
    ck_assert_int_eq(k, RD_DEVICE_CPU);
    ck_assert_int_eq(rd_device_parse("cuda", &k, err, sizeof err), 0);
    ck_assert_int_eq(k, RD_DEVICE_CUDA);
    ck_assert_str_eq(rd_device_name(k), "cuda");
    ck_assert_int_eq(rd_device_parse("gpu", &k, err, sizeof err), -1);
    ck_assert_str_eq(err, "'gpu' is not a device (cpu or cuda)");
}
END_TEST

/* Without a GPU every query fails with a reason; with one, they agree with each other. */
START_TEST(test_device_queries_agree)
{
    char why[512], desc[512], err[512];
    int ok = rd_cuda_available(why, sizeof why);
    int described = rd_cuda_describe(desc, sizeof desc);
    int fits = rd_cuda_memory_check(1 << 20, "a test buffer", err, sizeof err);
    if (!ok) {
        ck_assert_int_gt((int)strlen(why), 10);
        ck_assert_int_eq(described, -1);
        ck_assert_str_eq(desc, why);
        ck_assert_int_eq(fits, -1);
        ck_assert_str_eq(err, why);
    } else {
        ck_assert_int_eq(described, 0);
        ck_assert_ptr_nonnull(strstr(desc, "compute capability"));
        ck_assert_int_eq(fits, 0);
    }
}
END_TEST

START_TEST(test_device_memory_refused)
{
    GPU_TEST_OR_SKIP();
    char err[512];
    size_t too_much = (size_t)1 << 50;  // 1 PiB
    ck_assert_int_eq(rd_cuda_memory_check(too_much, "the training step", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "the training step needs 1073741824 MiB of GPU memory; ") == err &&
                  strstr(err, " MiB are free") != NULL, "%s", err);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("device");
    TCase *tc = tcase_create("device");
    tcase_add_test(tc, test_device_parse);
    tcase_add_test(tc, test_device_queries_agree);
    tcase_add_test(tc, test_device_memory_refused);
    suite_add_tcase(s, tc);
    return s;
}
