/* gpu_skip.c — the SKIPPED report of GPU tests (gpu_skip.h). */
#include "tests/gpu_skip.h"

#include <stdio.h>
#include <string.h>

#include "lib/device.h"

int gpu_skip(const char *test)
{
    char why[512];
    if (rd_cuda_available(why, sizeof why))
        return 0;
    size_t len = strlen(test);  // check's START_TEST names the function TEST_fn
    if (len > 3 && strcmp(test + len - 3, "_fn") == 0)
        len -= 3;
    printf("SKIPPED: %.*s (%s)\n", (int)len, test, why);
    fflush(stdout);
    return 1;
}
