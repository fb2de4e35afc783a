/* gpu_skip.h — GPU tests on a machine without a usable GPU: they say SKIPPED (tests/run.sh
 * counts the lines) and return, never passing in silence. */
#ifndef RD_GPU_SKIP_H
#define RD_GPU_SKIP_H

/* 1 when no CUDA GPU can be used: prints "SKIPPED: TEST (why)" on stdout; the test returns. */
int gpu_skip(const char *test);

/* At the top of a GPU test: returns from it, SKIPPED, when there is no GPU. */
#define GPU_TEST_OR_SKIP() \
    do { if (gpu_skip(__func__)) return; } while (0)

#endif
