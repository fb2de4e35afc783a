/* progress.c — progress display (progress.h): a live `\r` line on a terminal, redrawn at most
 * ten times a second; plain lines every every_seconds when the output is a file or a pipe. */
#include "lib/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_LIVE_PERIOD 0.1  // seconds between redraws of the live line

double rd_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_init(rd_progress *p, FILE *out, const char *label, int64_t total)
{
    p->out = out;
    p->label = label;
    p->total = total;
    p->live = isatty(fileno(out));
    p->every_seconds = 10.0;
    p->t_start = p->t_last = rd_seconds();
}

/* "12.3s", "4m05s" or "2h07m" into buf. */
static const char *progress_format_duration(double s, char *buf, size_t size)
{
    if (s < 60.0)
        snprintf(buf, size, "%.1fs", s);
    else if (s < 3600.0)
        snprintf(buf, size, "%dm%02ds", (int)(s / 60.0), (int)s % 60);
    else
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600.0), (int)(s / 60.0) % 60);
    return buf;
}

/* One status line without its terminator: label, step/total, rate, ETA or elapsed, text. */
static void progress_print_line(const rd_progress *p, int64_t step, const char *text,
                                double now, int final)
{
    double elapsed = now - p->t_start;
    double rate = elapsed > 0.0 ? (double)step / elapsed : 0.0;
    char tbuf[32];
    fprintf(p->out, "%s: step %lld", p->label, (long long)step);
    if (p->total > 0)
        fprintf(p->out, "/%lld", (long long)p->total);
    fprintf(p->out, "  %.1f steps/s", rate);
    if (final)
        fprintf(p->out, "  done in %s", progress_format_duration(elapsed, tbuf, sizeof tbuf));
    else if (p->total > 0 && rate > 0.0 && step <= p->total)
        fprintf(p->out, "  ETA %s",
                progress_format_duration((double)(p->total - step) / rate, tbuf, sizeof tbuf));
    if (text && *text)
        fprintf(p->out, "  %s", text);
}

/* The one path of progress_update and progress_update_text: the live line at most every
 * PROGRESS_LIVE_PERIOD, plain lines every every_seconds. */
static void progress_emit(rd_progress *p, int64_t step, const char *text)
{
    double now = rd_seconds();
    double period = p->live ? PROGRESS_LIVE_PERIOD : p->every_seconds;
    if (now - p->t_last < period)
        return;
    p->t_last = now;
    if (p->live)
        fputc('\r', p->out);
    progress_print_line(p, step, text, now, 0);
    fputs(p->live ? "\033[K" : "\n", p->out);
    fflush(p->out);
}

void progress_update(rd_progress *p, int64_t step, double loss)
{
    char text[48];
    snprintf(text, sizeof text, "loss %.6g", loss);
    progress_emit(p, step, text);
}

void progress_update_text(rd_progress *p, int64_t step, const char *text)
{
    progress_emit(p, step, text);
}

void progress_finish(rd_progress *p, int64_t step, double loss)
{
    char text[48];
    snprintf(text, sizeof text, "loss %.6g", loss);
    double now = rd_seconds();
    p->t_last = now;
    if (p->live)
        fputc('\r', p->out);
    progress_print_line(p, step, text, now, 1);
    fputs(p->live ? "\033[K\n" : "\n", p->out);
    fflush(p->out);
}
