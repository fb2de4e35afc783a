/* progress.h — progress display: on a terminal, one live line rewritten in place with step,
 * rate, ETA and the last loss; otherwise plain lines every `every_seconds`. */
#ifndef RD_PROGRESS_H
#define RD_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct rd_progress {
    FILE *out;
    const char *label;       // "toy ap" — shown at the start of the line
    int64_t total;           // steps expected (0: unknown, no ETA)
    int live;                // 1 when out is a terminal
    double every_seconds;    // plain mode: seconds between lines
    double t_start, t_last;  // monotonic seconds
} rd_progress;

/* Start a display on out (isatty decides live or plain). */
void progress_init(rd_progress *p, FILE *out, const char *label, int64_t total);
/* Report step (1-based count of steps done) and the latest loss. */
void progress_update(rd_progress *p, int64_t step, double loss);
/* Report step with a caller-made text in place of the loss (for example
 * "epoch 3  12.4 img/s  loss 0.412 (cls 0.301 box 0.111)"); rate and ETA as above. */
void progress_update_text(rd_progress *p, int64_t step, const char *text);
/* Final line (always printed). */
void progress_finish(rd_progress *p, int64_t step, double loss);

/* Monotonic clock in seconds. */
double rd_seconds(void);

#endif
