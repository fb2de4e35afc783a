/* check.c — failure reporting for checks and user errors (see check.h). */
#include "lib/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void rd_check_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
    fprintf(stderr, "rankdet: check failed at %s:%d: %s\n  hint: ", file, line, expr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

void *rd_malloc(size_t bytes, const char *what)
{
    void *p = malloc(bytes ? bytes : 1);
    RD_CHECK(p != NULL, "out of memory allocating %zu bytes for %s", bytes, what);
    return p;
}

void *rd_calloc(size_t count, size_t size, const char *what)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    RD_CHECK(p != NULL, "out of memory allocating %zu x %zu bytes for %s", count, size, what);
    return p;
}

void rd_error(const char *fmt, ...)
{
    fputs("rankdet: error: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int rd_err_vappend(char *err, size_t errsize, int len, const char *fmt, va_list ap)
{
    if (len >= 0 && (size_t)len < errsize)
        vsnprintf(err + len, errsize - (size_t)len, fmt, ap);
    return -1;
}
