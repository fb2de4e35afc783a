/* check_main.c — runs one check suite; exits non-zero on any failure. */
#include "tests/check_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *test_rankdet_bin(void)
{
    const char *bin = getenv("RANKDET_BIN");
    return bin && *bin ? bin : "bin/rankdet";
}

char *test_tmpdir(void)
{
    char *dir = strdup("/tmp/rankdet-test-XXXXXX");
    ck_assert_ptr_nonnull(dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

char *test_path_in(const char *dir, const char *name)
{
    size_t size = strlen(dir) + strlen(name) + 2;
    char *p = malloc(size);
    ck_assert_ptr_nonnull(p);
    snprintf(p, size, "%s/%s", dir, name);
    return p;
}

int main(void)
{
    SRunner *runner = srunner_create(test_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
