/* cmd_export.c — `rankdet export LOG.h5`: one group of a run log (lib/runlog.h) as a
 * tab-separated table for gnuplot — a header line `# col1 col2 ...` then one line per row,
 * columns in the order the run declared them — or, with --attrs, the root attributes
 * (version, git commit, command line, config, seed, start time) as `name = value` lines.
 * Numbers are printed with the fewest digits that read back exactly. */
#include <hdf5.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiments/commands.h"
#include "lib/check.h"
#include "lib/cli.h"
#include "lib/h5.h"

typedef struct export_config {
    char group[RD_CLI_STR];
    char out[RD_CLI_STR];
    int attrs;
} export_config;

static const cli_opt export_opts[] = {
    {"group", CLI_STRING, offsetof(export_config, group), "train",
     "group of the log to export (train, eval, ...)"},
    {"out", CLI_STRING, offsetof(export_config, out), "", "write to this file instead of stdout"},
    {"attrs", CLI_BOOL, offsetof(export_config, attrs), "0",
     "print the root attributes (version, commit, config, ...) instead of a table"},
};

static const cli_spec export_spec = {
    "rankdet export", "LOG.h5 [--group train] [--out FILE.tsv] [--attrs]",
    "Writes one group of a run log as a tab-separated table with a header line\n"
    "`# col1 col2 ...` (gnuplot reads it as is), or the log's root attributes.",
    export_opts, (int)(sizeof export_opts / sizeof export_opts[0])};

/* The columns of one group, read whole. */
typedef struct export_table {
    int ncols;
    int64_t nrows;
    char **names;    // [ncols]
    double **cols;   // [ncols][nrows]
} export_table;

static void export_table_free(export_table *t)
{
    for (int c = 0; c < t->ncols; c++) {
        free(t->names[c]);
        free(t->cols[c]);
    }
    free(t->names);
    free(t->cols);
}

/* The i-th link name of group, in creation order when the group tracks it. Caller frees. */
static char *export_link_name(hid_t group, hsize_t i)
{
    ssize_t n = -1;
    H5_index_t order = H5_INDEX_CRT_ORDER;
    H5E_BEGIN_TRY {
        n = H5Lget_name_by_idx(group, ".", order, H5_ITER_INC, i, NULL, 0, H5P_DEFAULT);
    } H5E_END_TRY;
    if (n < 0) {
        order = H5_INDEX_NAME;
        n = H5Lget_name_by_idx(group, ".", order, H5_ITER_INC, i, NULL, 0, H5P_DEFAULT);
        RD_CHECK_H5(n, "reading link %llu of a group", (unsigned long long)i);
    }
    char *name = rd_malloc((size_t)n + 1, "a dataset name");
    RD_CHECK_H5(H5Lget_name_by_idx(group, ".", order, H5_ITER_INC, i, name, (size_t)n + 1,
                                   H5P_DEFAULT), "reading link %llu of a group",
                (unsigned long long)i);
    return name;
}

/* Open group gname of the log; -1 with a message naming the groups there are. */
static hid_t export_open_group(hid_t file, const char *path, const char *gname)
{
    hid_t g = -1;
    H5E_BEGIN_TRY {
        if (H5Lexists(file, gname, H5P_DEFAULT) > 0) {
            hid_t obj = H5Oopen(file, gname, H5P_DEFAULT);
            if (obj >= 0 && H5Iget_type(obj) == H5I_GROUP)
                g = obj;
            else if (obj >= 0)
                H5Oclose(obj);
        }
    } H5E_END_TRY;
    if (g >= 0)
        return g;
    H5G_info_t info;
    RD_CHECK_H5(H5Gget_info(file, &info), "listing the root group of %s", path);
    fprintf(stderr, "rankdet: error: %s has no group '%s' (it has:", path, gname);
    for (hsize_t i = 0; i < info.nlinks; i++) {
        char *name = export_link_name(file, i);
        fprintf(stderr, " %s", name);
        free(name);
    }
    fprintf(stderr, "%s)\n", info.nlinks ? "" : " nothing");
    return -1;
}

/* Read every dataset of the group into t; 0, or -1 after a message. */
static int export_read(hid_t file, const char *path, const char *gname, export_table *t)
{
    memset(t, 0, sizeof *t);
    hid_t g = export_open_group(file, path, gname);
    if (g < 0)
        return -1;
    H5G_info_t info;
    RD_CHECK_H5(H5Gget_info(g, &info), "listing group '%s' of %s", gname, path);
    t->names = rd_calloc(info.nlinks, sizeof *t->names, "column names");
    t->cols = rd_calloc(info.nlinks, sizeof *t->cols, "columns");
    int r = 0;
    for (hsize_t i = 0; i < info.nlinks && r == 0; i++) {
        char *name = export_link_name(g, i), full[1024];
        snprintf(full, sizeof full, "%s/%s", gname, name);
        int64_t n = 0;
        r = h5_read_1d_double(file, path, full, &t->cols[t->ncols], &n);
        t->names[t->ncols++] = name;
        if (r == 0 && t->ncols > 1 && n != t->nrows) {
            rd_error("the datasets of group '%s' in %s have unequal lengths: %s has %lld rows, "
                     "%s has %lld", gname, path, t->names[0], (long long)t->nrows, name,
                     (long long)n);
            r = -1;
        }
        t->nrows = n;
    }
    if (r == 0 && t->ncols == 0) {
        rd_error("group '%s' in %s holds no datasets", gname, path);
        r = -1;
    }
    H5Gclose(g);
    return r;
}

/* The fewest digits that read back as exactly v. */
static void export_print_number(FILE *out, double v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof buf, "%.17g", v);
    fputs(buf, out);
}

static void export_write_table(const export_table *t, FILE *out)
{
    fputs("#", out);
    for (int c = 0; c < t->ncols; c++)
        fprintf(out, "%s%s", c ? "\t" : " ", t->names[c]);
    fputc('\n', out);
    for (int64_t r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            if (c)
                fputc('\t', out);
            export_print_number(out, t->cols[c][r]);
        }
        fputc('\n', out);
    }
}

/* Root attributes as `name = value`; a value of several lines follows, indented. */
static herr_t export_write_attr(hid_t obj, const char *name, const H5A_info_t *info, void *out)
{
    (void)info;
    char *text = h5_attr_text(obj, name);
    if (text == NULL)
        return -1;
    if (strchr(text, '\n') == NULL) {
        fprintf(out, "%s = %s\n", name, text);
    } else {
        fprintf(out, "%s =\n", name);
        for (char *line = text; *line;) {
            size_t n = strcspn(line, "\n");
            fprintf(out, "    %.*s\n", (int)n, line);
            line += n + (line[n] == '\n');
        }
    }
    free(text);
    return 0;
}

/* Export to out_path (stdout when empty) through a temporary file renamed at the end. */
static int export_run(hid_t file, const char *path, const export_config *c)
{
    export_table t;
    memset(&t, 0, sizeof t);
    if (!c->attrs && export_read(file, path, c->group, &t) < 0) {
        export_table_free(&t);
        return 1;
    }
    char tmp[RD_CLI_STR + 32];
    FILE *out = stdout;
    if (*c->out) {
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld", c->out, (long)getpid());
        out = fopen(tmp, "w");
        if (out == NULL) {
            rd_error("cannot write '%s': %m", c->out);
            export_table_free(&t);
            return 1;
        }
    }
    int r = 0;
    if (c->attrs)
        r = H5Aiterate2(file, H5_INDEX_NAME, H5_ITER_INC, NULL, export_write_attr, out) < 0;
    else
        export_write_table(&t, out);
    export_table_free(&t);
    if (out == stdout)
        return fflush(stdout) != 0 || r;
    if (fclose(out) != 0 || r || rename(tmp, c->out) != 0) {
        if (!r)
            rd_error("cannot write '%s': %m", c->out);
        unlink(tmp);
        return 1;
    }
    return 0;
}

int cmd_export(int argc, char **argv)
{
    export_config c;
    cli_defaults(&export_spec, &c);
    char *pos[1] = {NULL};
    int npos = 0;
    cli_result r = cli_parse(&export_spec, &c, argc, argv, pos, 1, &npos);
    if (r != CLI_OK)
        return r == CLI_HELP ? 0 : 2;
    if (npos == 0) {
        cli_error(&export_spec, "missing the run log LOG.h5");
        return 2;
    }
    hid_t file = h5_open_read(pos[0]);
    if (file < 0)
        return 1;
    int rc = export_run(file, pos[0], &c);
    H5Fclose(file);
    return rc;
}
