/* runlog.c — the HDF5 run log of DESIGN.md ("Run logs"), see runlog.h.
 * Crash safety without SWMR: rows wait in memory and reach the file only in runlog_flush
 * (extend every column, write the new rows, H5Fflush), so between flushes the file on disk is
 * the consistent state of the last flush. The default (earliest) file format carries no
 * "open for writing" superblock flag, so h5py and h5dump open the file of a killed run. */
#include "lib/runlog.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/check.h"
#include "lib/h5.h"
#include "lib/progress.h"

#define RUNLOG_CHUNK 1024     // rows per HDF5 chunk
#define RUNLOG_MAX_GROUPS 16  // groups per log
#define RUNLOG_MAX_COLS 64    // columns per group

typedef struct runlog_group {
    char name[64];
    int ncols;
    hid_t group;
    hid_t dsets[RUNLOG_MAX_COLS];
    double *rows[RUNLOG_MAX_COLS];  // [cap] per column: rows waiting for the next flush
    int64_t nbuf, cap;              // rows buffered, rows the buffers hold
    int64_t nfile;                  // rows already in the file
} runlog_group;

struct rd_runlog {
    hid_t file;
    double flush_seconds;
    double t_flush;  // rd_seconds() of the last flush
    int ngroups;
    runlog_group groups[RUNLOG_MAX_GROUPS];
};

/* "2026-11-24T14:23:44Z" */
static void runlog_iso_time(char *buf, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

rd_runlog *runlog_create(const char *path, const runlog_meta *meta, double flush_seconds)
{
    hid_t fapl = h5_fapl_unlocked();
    hid_t file = -1;
    H5E_BEGIN_TRY { file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl); } H5E_END_TRY;
    H5Pclose(fapl);
    if (file < 0) {
        rd_error("cannot create run log '%s' (does its directory exist and is it writable?)",
                 path);
        return NULL;
    }
    rd_runlog *log = rd_calloc(1, sizeof *log, "a run log");
    log->file = file;
    log->flush_seconds = flush_seconds;
    char start[32];
    runlog_iso_time(start, sizeof start);
    h5_attr_string(file, "version", meta->version ? meta->version : "");
    h5_attr_string(file, "git_commit", meta->git_commit ? meta->git_commit : "");
    h5_attr_string(file, "command_line", meta->command_line ? meta->command_line : "");
    h5_attr_string(file, "config", meta->config ? meta->config : "");
    h5_attr_uint64(file, "seed", meta->seed);
    h5_attr_string(file, "start_time", start);
    runlog_flush(log);
    return log;
}

static runlog_group *runlog_find(rd_runlog *log, const char *group)
{
    for (int i = 0; i < log->ngroups; i++)
        if (strcmp(log->groups[i].name, group) == 0)
            return &log->groups[i];
    return NULL;
}

/* One extendible, chunked float64 column of 0 rows. */
static hid_t runlog_create_column(hid_t group, const char *gname, const char *name)
{
    hsize_t dims[1] = {0}, maxdims[1] = {H5S_UNLIMITED}, chunk[1] = {RUNLOG_CHUNK};
    hid_t space = H5Screate_simple(1, dims, maxdims);
    RD_CHECK_H5(space, "dataspace of column %s/%s", gname, name);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    RD_CHECK_H5(H5Pset_chunk(dcpl, 1, chunk), "chunking column %s/%s", gname, name);
    hid_t dset = H5Dcreate2(group, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    RD_CHECK_H5(dset, "creating column %s/%s (declared twice?)", gname, name);
    H5Pclose(dcpl);
    H5Sclose(space);
    return dset;
}

void runlog_columns(rd_runlog *log, const char *group, int ncols, const char *const *names)
{
    RD_CHECK(runlog_find(log, group) == NULL, "run log group '%s' declared twice", group);
    RD_CHECK(log->ngroups < RUNLOG_MAX_GROUPS, "more than %d run log groups", RUNLOG_MAX_GROUPS);
    RD_CHECK(ncols > 0 && ncols <= RUNLOG_MAX_COLS, "group '%s' has %d columns (1 to %d)",
             group, ncols, RUNLOG_MAX_COLS);
    RD_CHECK(strlen(group) < sizeof log->groups[0].name, "group name '%s' is too long", group);
    runlog_group *g = &log->groups[log->ngroups++];
    memset(g, 0, sizeof *g);
    strcpy(g->name, group);
    g->ncols = ncols;
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    RD_CHECK_H5(H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
                "link order of group '%s'", group);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    RD_CHECK_H5(H5Pset_create_intermediate_group(lcpl, 1), "link properties of '%s'", group);
    g->group = H5Gcreate2(log->file, group, lcpl, gcpl, H5P_DEFAULT);
    RD_CHECK_H5(g->group, "creating run log group '%s'", group);
    H5Pclose(lcpl);
    H5Pclose(gcpl);
    g->cap = 64;
    for (int c = 0; c < ncols; c++) {
        g->dsets[c] = runlog_create_column(g->group, group, names[c]);
        g->rows[c] = rd_malloc((size_t)g->cap * sizeof(double), "run log rows");
    }
    runlog_flush(log);
}

/* Write the buffered rows of one group at the end of its columns. */
static void runlog_write_group(runlog_group *g)
{
    if (g->nbuf == 0)
        return;
    hsize_t start[1] = {(hsize_t)g->nfile}, count[1] = {(hsize_t)g->nbuf};
    hsize_t total[1] = {(hsize_t)(g->nfile + g->nbuf)};
    hid_t mem = H5Screate_simple(1, count, NULL);
    RD_CHECK_H5(mem, "memory dataspace for group '%s'", g->name);
    for (int c = 0; c < g->ncols; c++) {
        RD_CHECK_H5(H5Dset_extent(g->dsets[c], total), "extending group '%s'", g->name);
        hid_t space = H5Dget_space(g->dsets[c]);
        RD_CHECK_H5(H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL),
                    "selecting new rows of group '%s'", g->name);
        RD_CHECK_H5(H5Dwrite(g->dsets[c], H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT,
                             g->rows[c]),
                    "writing rows of group '%s' (disk full?)", g->name);
        H5Sclose(space);
    }
    H5Sclose(mem);
    g->nfile += g->nbuf;
    g->nbuf = 0;
}

void runlog_flush(rd_runlog *log)
{
    for (int i = 0; i < log->ngroups; i++)
        runlog_write_group(&log->groups[i]);
    RD_CHECK_H5(H5Fflush(log->file, H5F_SCOPE_LOCAL), "flushing the run log (disk full?)");
    log->t_flush = rd_seconds();
}

void runlog_append(rd_runlog *log, const char *group, const double *row)
{
    runlog_group *g = runlog_find(log, group);
    RD_CHECK(g != NULL, "run log group '%s' was not declared with runlog_columns", group);
    if (g->nbuf == g->cap) {
        g->cap *= 2;
        for (int c = 0; c < g->ncols; c++) {
            g->rows[c] = realloc(g->rows[c], (size_t)g->cap * sizeof(double));
            RD_CHECK(g->rows[c] != NULL, "out of memory buffering %lld run log rows",
                     (long long)g->cap);
        }
    }
    for (int c = 0; c < g->ncols; c++)
        g->rows[c][g->nbuf] = row[c];
    g->nbuf++;
    if (rd_seconds() - log->t_flush >= log->flush_seconds)
        runlog_flush(log);
}

int64_t runlog_rows_flushed(const rd_runlog *log, const char *group)
{
    for (int i = 0; i < log->ngroups; i++)
        if (strcmp(log->groups[i].name, group) == 0)
            return log->groups[i].nfile;
    return -1;
}

void runlog_close(rd_runlog *log)
{
    runlog_flush(log);
    for (int i = 0; i < log->ngroups; i++) {
        runlog_group *g = &log->groups[i];
        for (int c = 0; c < g->ncols; c++) {
            H5Dclose(g->dsets[c]);
            free(g->rows[c]);
        }
        H5Gclose(g->group);
    }
    RD_CHECK_H5(H5Fclose(log->file), "closing the run log (disk full?)");
    free(log);
}

/* Arguments with characters a shell would read specially are single-quoted, so the line
 * can be pasted back into a shell. */
static int runlog_needs_quotes(const char *a)
{
    return *a == '\0' || strpbrk(a, " \t\n'\"\\$`*?[]{}()<>|&;#~!") != NULL;
}

char *runlog_join_argv(int argc, char **argv)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    RD_CHECK(out != NULL, "open_memstream for the command line");
    for (int i = 0; i < argc; i++) {
        if (i)
            fputc(' ', out);
        if (!runlog_needs_quotes(argv[i])) {
            fputs(argv[i], out);
            continue;
        }
        fputc('\'', out);
        for (const char *c = argv[i]; *c; c++)
            fputs(*c == '\'' ? "'\\''" : (char[2]){*c, 0}, out);
        fputc('\'', out);
    }
    fclose(out);
    return text;
}
