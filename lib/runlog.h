/* runlog.h — the HDF5 run log of DESIGN.md: one file per run; root attributes (version, git
 * commit, command line, resolved config, seed, start time); groups of 1-D extendible,
 * chunked float64 datasets ("train/step", "train/loss", "eval/AP", ...), one row per call.
 * Rows are buffered in memory and written plus H5Fflush'ed at least every flush_seconds, so
 * a run killed even by SIGKILL leaves a file h5py and h5dump open, holding every row older
 * than that; between flushes the file is not touched. */
#ifndef RD_RUNLOG_H
#define RD_RUNLOG_H

#include <stdint.h>

typedef struct rd_runlog rd_runlog;  // opaque

typedef struct runlog_meta {
    const char *version;       // rankdet version
    const char *git_commit;    // build commit
    const char *command_line;  // argv joined by spaces
    const char *config;        // resolved config, "key = value" lines
    uint64_t seed;
} runlog_meta;

/* Create (truncate) the log at path and write the root attributes (start time included).
 * Returns NULL with a message naming path when the file cannot be created. */
rd_runlog *runlog_create(const char *path, const runlog_meta *meta, double flush_seconds);

/* Reopen an existing log to continue a resumed run: the root attributes are kept (the
 * attribute "resumed" records each resume's start time), and in every group the rows whose
 * `step` column is greater than max_step are removed (a group without a `step` column is left
 * whole), so appending continues as if the run had never stopped. The groups' columns are
 * known again (runlog_columns must then declare the same names, or it aborts). Returns NULL
 * with a message naming path when the file is missing or is not a run log. */
rd_runlog *runlog_reopen(const char *path, double max_step, double flush_seconds);

/* Declare a group's columns once, before its first row: names are dataset names inside the
 * group ("step", "loss", "ap", "wnorm"). */
void runlog_columns(rd_runlog *log, const char *group, int ncols, const char *const *names);

/* Append one row (ncols values, the declared order) to group; flushes when due. */
void runlog_append(rd_runlog *log, const char *group, const double *row);

/* Rows of group already written and flushed to the file (-1 for an undeclared group). */
int64_t runlog_rows_flushed(const rd_runlog *log, const char *group);

/* Write buffered rows and flush the file now. */
void runlog_flush(rd_runlog *log);

/* Flush and close; frees log. */
void runlog_close(rd_runlog *log);

/* Join argv into one string (caller frees). */
char *runlog_join_argv(int argc, char **argv);

#endif
