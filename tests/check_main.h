/* check_main.h — every tests/test_*.c defines test_suite(); tests/check_main.c runs it.
 * The paths every suite may need live here too; the other helpers shared by the suites sit in
 * the support files beside it (every .c file in tests/ not named test_*.c links into each suite):
 * case_rng, rank_cases, loss_expect, loss_fixture, loss_cuda_expect, cli_run, h5io,
 * data_fixture, geometry_fixture, tv_fixture, tv_weights, net_random, postprocess_cases,
 * gpu_skip (GPU tests say SKIPPED without a GPU) and gpu_compare (CPU/GPU comparisons). */
#ifndef RD_CHECK_MAIN_H
#define RD_CHECK_MAIN_H

#include <check.h>

/* The suite of one test file. */
Suite *test_suite(void);

/* Path of bin/rankdet for tests that run the command line (RANKDET_BIN, else bin/rankdet). */
const char *test_rankdet_bin(void);
/* A fresh temporary directory for this test (caller owns the returned string). */
char *test_tmpdir(void);
/* "dir/name" in a malloc'd string the caller frees. */
char *test_path_in(const char *dir, const char *name);

#endif
