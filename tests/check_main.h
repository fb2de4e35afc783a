/* check_main.h — every tests/test_*.c defines test_suite(); tests/check_main.c runs it.
 * Helpers shared by the suites live here too. */
#ifndef RD_CHECK_MAIN_H
#define RD_CHECK_MAIN_H

#include <check.h>

/* The suite of one test file. */
Suite *test_suite(void);

/* Path of bin/rankdet for tests that run the command line (RANKDET_BIN, else bin/rankdet). */
const char *test_rankdet_bin(void);
/* A fresh temporary directory for this test (caller owns the returned string). */
char *test_tmpdir(void);

#endif
