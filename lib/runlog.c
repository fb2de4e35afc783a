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
#include <unistd.h>

#include "lib/check.h"
#include "lib/h5.h"
#include "lib/progress.h"

#define RUNLOG_CHUNK 1024     // rows per HDF5 chunk
#define RUNLOG_MAX_GROUPS 16  // groups per log
#define RUNLOG_MAX_COLS 64    // columns per group

typedef struct runlog_group {
    char name[64];
    int ncols;
    int declared;                   // runlog_columns was called (0 for a group found on reopen)
    char *cols[RUNLOG_MAX_COLS];    // column names, owned
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

/* runlog_columns on a group read back by runlog_reopen: the same names in the same order. */
static void runlog_columns_again(runlog_group *g, int ncols, const char *const *names)
{
    RD_CHECK(!g->declared, "run log group '%s' declared twice", g->name);
    RD_CHECK(ncols == g->ncols, "group '%s' declared with %d columns; the reopened log has %d",
             g->name, ncols, g->ncols);
    for (int c = 0; c < ncols; c++)
        RD_CHECK(strcmp(names[c], g->cols[c]) == 0,
                 "group '%s' column %d declared as '%s'; the reopened log has '%s'", g->name, c,
                 names[c], g->cols[c]);
    g->declared = 1;
}

void runlog_columns(rd_runlog *log, const char *group, int ncols, const char *const *names)
{
    runlog_group *again = runlog_find(log, group);
    if (again) {
        runlog_columns_again(again, ncols, names);
        return;
    }
    RD_CHECK(log->ngroups < RUNLOG_MAX_GROUPS, "more than %d run log groups", RUNLOG_MAX_GROUPS);
    RD_CHECK(ncols > 0 && ncols <= RUNLOG_MAX_COLS, "group '%s' has %d columns (1 to %d)",
             group, ncols, RUNLOG_MAX_COLS);
    RD_CHECK(strlen(group) < sizeof log->groups[0].name, "group name '%s' is too long", group);
    runlog_group *g = &log->groups[log->ngroups++];
    memset(g, 0, sizeof *g);
    strcpy(g->name, group);
    g->ncols = ncols;
    g->declared = 1;
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
        g->cols[c] = strdup(names[c]);
        RD_CHECK(g->cols[c] != NULL, "out of memory naming column %s/%s", group, names[c]);
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

/* Close every handle and free log; the file is not flushed. */
static void runlog_release(rd_runlog *log)
{
    for (int i = 0; i < log->ngroups; i++) {
        runlog_group *g = &log->groups[i];
        for (int c = 0; c < g->ncols; c++) {
            if (g->dsets[c] > 0)
                H5Dclose(g->dsets[c]);
            free(g->rows[c]);
            free(g->cols[c]);
        }
        if (g->group > 0)
            H5Gclose(g->group);
    }
    free(log);
}

void runlog_close(rd_runlog *log)
{
    runlog_flush(log);
    hid_t file = log->file;
    runlog_release(log);
    RD_CHECK_H5(H5Fclose(file), "closing the run log (disk full?)");
}

/* ---- reopening a log to resume a run -------------------------------------------------------- */

typedef struct runlog_names {
    char **names;
    int n, cap;
} runlog_names;

static herr_t runlog_collect_link(hid_t loc, const char *name, const H5L_info_t *info, void *ctx)
{
    (void)loc;
    (void)info;
    runlog_names *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->names = realloc(l->names, (size_t)l->cap * sizeof *l->names);
        RD_CHECK(l->names != NULL, "out of memory listing a run log group");
    }
    l->names[l->n] = strdup(name);
    RD_CHECK(l->names[l->n] != NULL, "out of memory listing a run log group");
    l->n++;
    return 0;
}

/* The links of loc in creation order where the group tracks it (the log's groups do), else
 * by name (the root). -1 when loc cannot be listed. */
static int runlog_list_links(hid_t loc, runlog_names *l)
{
    herr_t st = -1;
    H5E_BEGIN_TRY {
        st = H5Literate(loc, H5_INDEX_CRT_ORDER, H5_ITER_INC, NULL, runlog_collect_link, l);
        if (st < 0 && l->n == 0)
            st = H5Literate(loc, H5_INDEX_NAME, H5_ITER_INC, NULL, runlog_collect_link, l);
    } H5E_END_TRY;
    return st < 0 ? -1 : 0;
}

static void runlog_names_free(runlog_names *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
}

/* Open column name of g as one of its columns: a 1-D, extendible float64 dataset of as many
 * rows as the columns before it. 0, or -1 with the problem in why. */
static int runlog_reopen_column(runlog_group *g, const char *name, char *why, size_t size)
{
    hid_t dset = -1, space = -1, type = -1;
    hsize_t dims[1] = {0}, maxdims[1] = {0};
    int rank = -1, is_f64 = 0;
    H5E_BEGIN_TRY {
        dset = H5Dopen2(g->group, name, H5P_DEFAULT);
        space = dset < 0 ? -1 : H5Dget_space(dset);
        type = dset < 0 ? -1 : H5Dget_type(dset);
        rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
        if (rank == 1)
            H5Sget_simple_extent_dims(space, dims, maxdims);
        is_f64 = type >= 0 && H5Tget_class(type) == H5T_FLOAT && H5Tget_size(type) == 8;
    } H5E_END_TRY;
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    const char *bad = rank != 1 || !is_f64 ? "is not a 1-D float64 column"
                      : maxdims[0] != H5S_UNLIMITED ? "is not extendible"
                      : g->ncols == RUNLOG_MAX_COLS ? "is one column too many"
                      : g->ncols > 0 && (int64_t)dims[0] != g->nfile
                          ? "has another number of rows than the columns before it"
                          : NULL;
    if (bad) {
        snprintf(why, size, "%s/%s %s", g->name, name, bad);
        if (dset >= 0)
            H5Dclose(dset);
        return -1;
    }
    g->nfile = (int64_t)dims[0];
    g->dsets[g->ncols] = dset;
    g->cols[g->ncols] = strdup(name);
    RD_CHECK(g->cols[g->ncols] != NULL, "out of memory naming column %s/%s", g->name, name);
    g->ncols++;
    return 0;
}
static int runlog_is_group(hid_t loc, const char *name)
{
    hid_t g = -1;
    H5E_BEGIN_TRY { g = H5Gopen2(loc, name, H5P_DEFAULT); } H5E_END_TRY;
    if (g >= 0)
        H5Gclose(g);
    return g >= 0;
}

/* Read back the group at name (a path from the root): its datasets become the columns of a
 * log group when it has any, and its subgroups are read the same way. 0, or -1 with why. */
static int runlog_reopen_group(rd_runlog *log, const char *name, int depth, char *why,
                               size_t size)
{
    if (depth > 8 || strlen(name) >= sizeof log->groups[0].name ||
        log->ngroups == RUNLOG_MAX_GROUPS) {
        snprintf(why, size, "group '%s' is nested too deep, named too long or one too many",
                 name);
        return -1;
    }
    runlog_group *g = &log->groups[log->ngroups++];
    memset(g, 0, sizeof *g);
    strcpy(g->name, name);
    runlog_names links = {0};
    H5E_BEGIN_TRY { g->group = H5Gopen2(log->file, name, H5P_DEFAULT); } H5E_END_TRY;
    if (g->group < 0 || runlog_list_links(g->group, &links) < 0) {
        snprintf(why, size, "group '%s' cannot be listed", name);
        g->group = g->group < 0 ? 0 : g->group;
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < links.n && rc == 0; i++)
        if (!runlog_is_group(g->group, links.names[i]))
            rc = runlog_reopen_column(g, links.names[i], why, size);
    if (rc == 0 && g->ncols == 0) {  // a folder of groups only, not a group of the log
        H5Gclose(g->group);
        log->ngroups--;
    }
    for (int i = 0; i < links.n && rc == 0; i++) {
        char child[2 * sizeof log->groups[0].name];
        snprintf(child, sizeof child, "%s/%s", name, links.names[i]);
        if (runlog_is_group(log->file, child))
            rc = runlog_reopen_group(log, child, depth + 1, why, size);
    }
    runlog_names_free(&links);
    return rc;
}

/* Column c of g, all g->nfile rows, in a malloc'd array the caller frees. */
static double *runlog_read_column(const runlog_group *g, int c)
{
    double *v = rd_malloc((size_t)(g->nfile + 1) * sizeof *v, "a run log column");
    RD_CHECK_H5(H5Dread(g->dsets[c], H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v),
                "reading column %s/%s", g->name, g->cols[c]);
    return v;
}

/* Rows [0, n) of column c from v. */
static void runlog_write_head(const runlog_group *g, int c, const double *v, int64_t n)
{
    hsize_t start[1] = {0}, count[1] = {(hsize_t)n};
    hid_t mem = H5Screate_simple(1, count, NULL);
    hid_t space = H5Dget_space(g->dsets[c]);
    RD_CHECK_H5(H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL),
                "selecting rows of %s/%s", g->name, g->cols[c]);
    RD_CHECK_H5(H5Dwrite(g->dsets[c], H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, v),
                "rewriting rows of %s/%s (disk full?)", g->name, g->cols[c]);
    H5Sclose(space);
    H5Sclose(mem);
}

/* Remove the rows of g whose step is greater than max_step; the others keep their order and
 * their bits. A group without a step column is left whole. */
static void runlog_trim_group(runlog_group *g, double max_step)
{
    int sc = -1;
    for (int c = 0; c < g->ncols; c++)
        if (strcmp(g->cols[c], "step") == 0)
            sc = c;
    if (sc < 0 || g->nfile == 0)
        return;
    double *step = runlog_read_column(g, sc);
    int64_t keep = 0, first_drop = -1;
    for (int64_t i = 0; i < g->nfile; i++) {
        if (!(step[i] > max_step))
            keep++;
        else if (first_drop < 0)
            first_drop = i;
    }
    hsize_t total[1] = {(hsize_t)keep};
    for (int c = 0; c < g->ncols && keep < g->nfile; c++) {
        if (first_drop < keep) {  // a removed row lies before a kept one: compact
            double *v = runlog_read_column(g, c);
            int64_t k = 0;
            for (int64_t i = 0; i < g->nfile; i++)
                if (!(step[i] > max_step))
                    v[k++] = v[i];
            runlog_write_head(g, c, v, keep);
            free(v);
        }
        RD_CHECK_H5(H5Dset_extent(g->dsets[c], total), "shortening %s/%s", g->name,
                    g->cols[c]);
    }
    g->nfile = keep;
    free(step);
}

/* Open path read-write and read its groups back; NULL after a message naming path. */
static rd_runlog *runlog_reopen_read(const char *path, double flush_seconds)
{
    hid_t fapl = h5_fapl_unlocked(), file = -1;
    htri_t is_log = 0;
    H5E_BEGIN_TRY {
        file = H5Fopen(path, H5F_ACC_RDWR, fapl);
        is_log = file < 0 ? 0 : H5Aexists(file, "start_time");
    } H5E_END_TRY;
    H5Pclose(fapl);
    if (file < 0 || is_log <= 0) {
        rd_error("cannot resume the run log '%s': %s", path,
                 file >= 0    ? "it is not a run log (no start_time attribute)"
                 : access(path, F_OK) != 0 ? "no such file"
                 : "not an HDF5 file that can be opened for writing");
        if (file >= 0)
            H5Fclose(file);
        return NULL;
    }
    rd_runlog *log = rd_calloc(1, sizeof *log, "a run log");
    log->file = file;
    log->flush_seconds = flush_seconds;
    runlog_names top = {0};
    char why[256] = "the root cannot be listed";
    int rc = runlog_list_links(file, &top);
    for (int i = 0; i < top.n && rc == 0; i++)
        if (runlog_is_group(file, top.names[i]))
            rc = runlog_reopen_group(log, top.names[i], 1, why, sizeof why);
    runlog_names_free(&top);
    if (rc < 0) {
        rd_error("cannot resume the run log '%s': it is not a run log (%s)", path, why);
        runlog_release(log);
        H5Fclose(file);
        return NULL;
    }
    return log;
}

rd_runlog *runlog_reopen(const char *path, double max_step, double flush_seconds)
{
    rd_runlog *log = runlog_reopen_read(path, flush_seconds);
    if (!log)
        return NULL;
    for (int i = 0; i < log->ngroups; i++) {
        runlog_group *g = &log->groups[i];
        runlog_trim_group(g, max_step);
        g->cap = 64;
        for (int c = 0; c < g->ncols; c++)
            g->rows[c] = rd_malloc((size_t)g->cap * sizeof(double), "run log rows");
    }
    char now[32], *before = NULL;
    runlog_iso_time(now, sizeof now);
    htri_t had = H5Aexists(log->file, "resumed");
    RD_CHECK_H5(had, "checking the attribute resumed");
    if (had)
        before = h5_attr_text(log->file, "resumed");
    size_t len = (before ? strlen(before) + 2 : 0) + strlen(now) + 1;
    char *resumed = rd_malloc(len, "the attribute resumed");
    snprintf(resumed, len, "%s%s%s", before ? before : "", before ? ", " : "", now);
    h5_attr_string(log->file, "resumed", resumed);
    free(resumed);
    free(before);
    runlog_flush(log);
    return log;
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
