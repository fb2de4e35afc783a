/* check.h — always-on checks that fail loudly with the expression, file:line and a hint,
 * and the error reporting used for bad user input (which is not an assert).
 * Checks stay on in release builds (ggml's habit); a failed check aborts. */
#ifndef RD_CHECK_H
#define RD_CHECK_H

#include <stdarg.h>
#include <stddef.h>

/* The CUDA sources (C++) include this header too: C linkage, and C++'s spelling of noreturn. */
#ifdef __cplusplus
extern "C" {
#define RD_NORETURN [[noreturn]]
#else
#define RD_NORETURN _Noreturn
#endif

/* Print "check failed" with place, expression and hint, then abort(). Never returns. */
RD_NORETURN void rd_check_fail(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* RD_CHECK(cond, "hint %d", x): a programming or environment error, not bad user input. */
#define RD_CHECK(cond, ...) \
    do { if (!(cond)) rd_check_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); } while (0)

/* HDF5 calls return a negative herr_t or hid_t on failure. */
#define RD_CHECK_H5(call, ...) \
    do { if ((long long)(call) < 0) rd_check_fail(__FILE__, __LINE__, #call, __VA_ARGS__); } while (0)

/* Allocation that cannot fail quietly: aborts naming what was being allocated. Caller frees. */
void *rd_malloc(size_t bytes, const char *what);
void *rd_calloc(size_t count, size_t size, const char *what);

/* Messages for bad input written into a caller's buffer: err already holds `len` bytes of a
 * prefix ("FILE: line 3: "); the formatted rest is appended, cut to errsize. Returns -1, the
 * failure value of the functions that report this way. */
int rd_err_vappend(char *err, size_t errsize, int len, const char *fmt, va_list ap);

/* Bad input from a user: "rankdet: error: ..." on stderr. The caller decides how to stop. */
void rd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif

#endif
