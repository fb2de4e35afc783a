/* tables_render.c — the side-by-side tables of tables.h as Markdown and LaTeX (booktabs): which
 * paper rows and columns each part of Tables 1-3 of Chen et al. (CVPR 2019) has, which variant
 * folder a paper row is, the cells (paper value; rankdet mean ± std over seeds ×100), and the
 * files, each written to a temporary name and renamed. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/tables.h"
#include "lib/check.h"

/* How a paper row names its variant folder. */
typedef enum tables_match {
    TABLES_MATCH_BATCH,   // batch_size 4 <-> bs4
    TABLES_MATCH_DELTA,   // delta 0.5 <-> delta0.5 (compared as numbers)
    TABLES_MATCH_INTERP,  // interp yes <-> interp_yes
    TABLES_MATCH_LOSS,    // ap <-> ap
    TABLES_MATCH_SCALE,   // retinanet500_ap no/yes <-> ss/ms (other methods: none)
} tables_match;

enum { TABLES_ANY = -1 };  // a column whose rankdet cell takes either metric family

typedef struct tables_column {
    const char *md, *tex;  // header
    int paper;             // index of the paper's number in the row
    int metric;            // rankdet's metric beside it (AP..APl), -1: paper only
    int family;            // whose results go here: a tables_family, or TABLES_ANY
} tables_column;

typedef struct tables_part {
    const char *id, *experiment, *title;  // "1a", "table1a", "batch size"
    const char *row_md, *row_tex;          // header of the first column
    const char *select;                    // paper rows whose first key is this; NULL: all
    tables_match match;
    const tables_column *cols;
    int ncols;
} tables_part;

typedef struct tables_file {
    const char *name, *title, *paper;  // "table1", its heading, "table1.tsv"
    int nkeys, nnums;
    const tables_part *parts;
    int nparts;
} tables_file;

static const tables_column tables_cols1[] = {
    {"AP", "AP", 0, 0, TABLES_ANY},
    {"AP50", "AP$_{50}$", 1, 1, TABLES_ANY},
    {"AP75", "AP$_{75}$", 2, 2, TABLES_ANY},
};
static const tables_column tables_cols2[] = {
    {"VOC AP", "VOC AP", 0, 0, TABLES_FAMILY_VOC},
    {"VOC AP50", "VOC AP$_{50}$", 1, 1, TABLES_FAMILY_VOC},
    {"VOC AP75", "VOC AP$_{75}$", 2, 2, TABLES_FAMILY_VOC},
    {"COCO AP", "COCO AP", 3, 0, TABLES_FAMILY_COCO},
    {"COCO AP50", "COCO AP$_{50}$", 4, 1, TABLES_FAMILY_COCO},
    {"COCO AP75", "COCO AP$_{75}$", 5, 2, TABLES_FAMILY_COCO},
};
static const tables_column tables_cols3[] = {
    {"VOC07 AP50", "VOC07 AP$_{50}$", 0, 1, TABLES_FAMILY_VOC},
    {"VOC12 AP50", "VOC12 AP$_{50}$", 1, -1, TABLES_FAMILY_VOC},
    {"COCO AP", "COCO AP", 2, 0, TABLES_FAMILY_COCO},
    {"COCO AP50", "AP$_{50}$", 3, 1, TABLES_FAMILY_COCO},
    {"COCO AP75", "AP$_{75}$", 4, 2, TABLES_FAMILY_COCO},
    {"COCO APs", "AP$_S$", 5, 3, TABLES_FAMILY_COCO},
    {"COCO APm", "AP$_M$", 6, 4, TABLES_FAMILY_COCO},
    {"COCO APl", "AP$_L$", 7, 5, TABLES_FAMILY_COCO},
};
#define TABLES_N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const tables_part tables_parts1[] = {
    {"1a", "table1a", "batch size", "batch size", "batch size", "1a", TABLES_MATCH_BATCH,
     tables_cols1, TABLES_N(tables_cols1)},
    {"1b", "table1b", "δ of the piecewise step", "δ", "$\\delta$", "1b", TABLES_MATCH_DELTA,
     tables_cols1, TABLES_N(tables_cols1)},
    {"1c", "table1c", "interpolation", "interpolation", "interpolation", "1c",
     TABLES_MATCH_INTERP, tables_cols1, TABLES_N(tables_cols1)},
};
static const tables_part tables_parts2[] = {
    {"2", "table2", "training losses", "loss", "loss", NULL, TABLES_MATCH_LOSS, tables_cols2,
     TABLES_N(tables_cols2)},
};
static const tables_part tables_parts3[] = {
    {"3", "table3", "RetinaNet500, ResNet-101, single- and multi-scale test", "method (test)",
     "method (test)", NULL, TABLES_MATCH_SCALE, tables_cols3, TABLES_N(tables_cols3)},
};
static const tables_file tables_files[] = {
    {"table1", "Table 1: ablations of AP-loss", "table1.tsv", 3, 3, tables_parts1,
     TABLES_N(tables_parts1)},
    {"table2", "Table 2: training losses", "table2.tsv", 1, 6, tables_parts2,
     TABLES_N(tables_parts2)},
    {"table3", "Table 3: RetinaNet500 with AP-loss", "table3.tsv", 2, 8, tables_parts3,
     TABLES_N(tables_parts3)},
};

/* ---- rows ---- */

/* name is prefix followed by a number equal to value's. */
static int tables_number_after(const char *name, const char *prefix, const char *value)
{
    size_t k = strlen(prefix);
    if (strncmp(name, prefix, k) != 0)
        return 0;
    char *e1, *e2;
    double a = strtod(name + k, &e1), b = strtod(value, &e2);
    return e1 != name + k && *e1 == '\0' && e2 != value && *e2 == '\0' && a == b;
}

static int tables_row_matches(const tables_part *p, const tables_paper_row *r, const char *name)
{
    switch (p->match) {
    case TABLES_MATCH_BATCH:
        return tables_number_after(name, "bs", r->keys[2]);
    case TABLES_MATCH_DELTA:
        return tables_number_after(name, "delta", r->keys[2]);
    case TABLES_MATCH_INTERP:
        return strncmp(name, "interp_", 7) == 0 && strcmp(name + 7, r->keys[2]) == 0;
    case TABLES_MATCH_LOSS:
        return strcmp(name, r->keys[0]) == 0;
    case TABLES_MATCH_SCALE:
        return strcmp(r->keys[0], "retinanet500_ap") == 0 &&
               strcmp(name, strcmp(r->keys[1], "yes") == 0 ? "ms" : "ss") == 0;
    }
    return 0;
}

/* The first column of a paper row. */
static void tables_row_label(const tables_part *p, const tables_paper_row *r, char *buf,
                             size_t size)
{
    if (p->match == TABLES_MATCH_SCALE) {
        const char *m = strcmp(r->keys[0], "retinanet500_ap") == 0      ? "AP-loss"
                        : strcmp(r->keys[0], "retinanet500_focal") == 0 ? "focal loss"
                                                                        : r->keys[0];
        snprintf(buf, size, "%s (%s)", m,
                 strcmp(r->keys[1], "yes") == 0 ? "multi-scale" : "single-scale");
    } else {
        snprintf(buf, size, "%s", p->match == TABLES_MATCH_LOSS ? r->keys[0] : r->keys[2]);
    }
}

typedef struct tables_row {
    char label[96];
    const tables_paper_row *paper;  // NULL: a variant the paper has no row for
    const tables_variant *v;        // NULL: no results
} tables_row;

/* The rows of part for group g (NULL: no results): the paper's rows in its order, then the
 * variants with runs that no paper row names. *rows is malloc'd; returns the count. */
static int tables_rows(const tables_part *p, const tables_paper *paper, const tables_group *g,
                       tables_row **rows)
{
    int nv = g ? g->nvariants : 0, n = 0;
    *rows = rd_calloc((size_t)(paper->nrows + nv) + 1, sizeof **rows, "table rows");
    char *used = rd_calloc((size_t)nv + 1, 1, "variant flags");
    for (int i = 0; i < paper->nrows; i++) {
        const tables_paper_row *r = &paper->rows[i];
        if (p->select && strcmp(r->keys[0], p->select) != 0)
            continue;
        tables_row *row = &(*rows)[n++];
        row->paper = r;
        tables_row_label(p, r, row->label, sizeof row->label);
        for (int k = 0; k < nv && row->v == NULL; k++)
            if (!used[k] && tables_row_matches(p, r, g->variants[k].name)) {
                used[k] = 1;
                row->v = g->variants[k].n > 0 ? &g->variants[k] : NULL;
            }
    }
    for (int k = 0; k < nv; k++)
        if (!used[k] && g->variants[k].n > 0) {
            tables_row *row = &(*rows)[n++];
            snprintf(row->label, sizeof row->label, "%s", g->variants[k].name);
            row->v = &g->variants[k];
        }
    free(used);
    return n;
}

/* ---- cells ---- */

typedef enum tables_syntax { TABLES_MD, TABLES_TEX } tables_syntax;

static const char *tables_dash(tables_syntax s)
{
    return s == TABLES_MD ? "—" : "---";
}

static void tables_paper_cell(const char *num, tables_syntax s, char *buf, size_t size)
{
    snprintf(buf, size, "%s", strcmp(num, "-") == 0 ? tables_dash(s) : num);
}

/* rankdet's mean ± std of one metric over v's runs (×100, one decimal); the runs where the
 * metric is -1 (undefined) are left out. */
static void tables_result_cell(const tables_variant *v, int metric, tables_syntax s, char *buf,
                               size_t size)
{
    double *x = rd_calloc(v ? (size_t)v->n + 1 : 1, sizeof *x, "a column of results"), mean, std;
    int n = 0;
    for (int i = 0; v && i < v->n; i++)
        if (v->values[i][metric] >= 0)
            x[n++] = 100 * v->values[i][metric];
    tables_mean_std(x, n, &mean, &std);
    free(x);
    if (n == 0)
        snprintf(buf, size, "%s", tables_dash(s));
    else if (n == 1)
        snprintf(buf, size, s == TABLES_MD ? "%.1f ± —" : "$%.1f \\pm$ ---", mean);
    else
        snprintf(buf, size, s == TABLES_MD ? "%.1f ± %.1f" : "$%.1f \\pm %.1f$", mean, std);
}

/* Characters Markdown or LaTeX would read as markup, escaped. */
static void tables_escape(const char *text, tables_syntax s, char *buf, size_t size)
{
    size_t k = 0;
    for (const char *c = text; *c && k + 24 < size; c++) {
        const char *word = NULL;
        if (s == TABLES_TEX && *c == '~')
            word = "\\textasciitilde{}";
        else if (s == TABLES_TEX && *c == '^')
            word = "\\textasciicircum{}";
        else if (s == TABLES_TEX && *c == '\\')
            word = "\\textbackslash{}";
        if (word) {
            k += (size_t)snprintf(buf + k, size - k, "%s", word);
            continue;
        }
        if ((s == TABLES_MD && *c == '|') || (s == TABLES_TEX && strchr("&%$#_{}", *c)))
            buf[k++] = '\\';
        buf[k++] = *c;
    }
    buf[k] = '\0';
}

/* The cells of one row after its label: per column the paper's number, then rankdet's (blank
 * under the other metric family), then the number of seeds. family < 0: no results at all. */
static int tables_row_cells(const tables_part *p, const tables_row *row, int family,
                            tables_syntax s, char cells[][48])
{
    int n = 0;
    for (int c = 0; c < p->ncols; c++) {
        const tables_column *col = &p->cols[c];
        if (row->paper)
            tables_paper_cell(row->paper->nums[col->paper], s, cells[n++], 48);
        else
            snprintf(cells[n++], 48, "%s", tables_dash(s));
        if (col->metric < 0)
            continue;
        if (family >= 0 && col->family != TABLES_ANY && col->family != family)
            cells[n++][0] = '\0';
        else
            tables_result_cell(row->v, col->metric, s, cells[n++], 48);
    }
    if (row->v)
        snprintf(cells[n++], 48, s == TABLES_MD ? "n=%d" : "$n=%d$", row->v->n);
    else
        snprintf(cells[n++], 48, "%s", tables_dash(s));
    return n;
}

/* ---- captions and tables ---- */

/* "1, 2, 3": every seed of the group, ascending, without repeats. */
static void tables_seed_list(const tables_group *g, char *buf, size_t size)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int last = -1;;) {
        int next = -1;
        for (int i = 0; i < g->nvariants; i++)
            for (int j = 0; j < g->variants[i].n; j++) {
                int seed = g->variants[i].seeds[j];
                if (seed > last && (next < 0 || seed < next))
                    next = seed;
            }
        if (next < 0 || k + 16 >= size)
            break;
        k += (size_t)snprintf(buf + k, size - k, "%s%d", last < 0 ? "" : ", ", next);
        last = next;
    }
}

static void tables_caption(const tables_file *f, const tables_part *p, const tables_group *g,
                           const char *results, tables_syntax s, FILE *out)
{
    const char *pm = s == TABLES_MD ? "±" : "$\\pm$", *dash = tables_dash(s);
    char preset[160], data[600], dir[2 * TABLES_PATH], seeds[256];
    if (g == NULL) {
        tables_escape(results, s, dir, sizeof dir);
        fprintf(out, "No results under %s/%s: the paper's numbers only (%s: no result).",
                dir, p->experiment, dash);
        return;
    }
    tables_escape(g->preset, s, preset, sizeof preset);
    tables_escape(g->data, s, data, sizeof data);
    tables_escape(g->dir, s, dir, sizeof dir);
    tables_seed_list(g, seeds, sizeof seeds);
    const char *fam = g->family == TABLES_FAMILY_COCO ? "COCO" : "VOC";
    fprintf(out, "Preset %s, dataset %s (%s), %s metric%s%s%s; seeds %s. ", preset, data, dir,
            fam, f->parts == tables_parts1 ? "" : ", rankdet under the ",
            f->parts == tables_parts1 ? "" : fam, f->parts == tables_parts1 ? "" : " columns",
            *seeds ? seeds : "none");
    if (!g->has_config)
        fprintf(out, "No config.txt: the metric follows from the folder name. ");
    fprintf(out, "rankdet: mean %s std over seeds (std with n %s 1; %s %s: one seed), "
            "%s100; %s: no result.", pm, s == TABLES_MD ? "−" : "$-$", pm, dash,
            s == TABLES_MD ? "×" : "$\\times$", dash);
}

static void tables_md_table(const tables_part *p, const tables_row *rows, int nrows,
                            int family, FILE *out)
{
    fprintf(out, "| %s |", p->row_md);
    for (int c = 0; c < p->ncols; c++)
        fprintf(out, p->cols[c].metric < 0 ? " %s paper |" : " %s paper | %s rankdet |",
                p->cols[c].md, p->cols[c].md);
    fprintf(out, " seeds |\n| :-- |");
    for (int c = 0; c < p->ncols; c++)
        fputs(p->cols[c].metric < 0 ? " --: |" : " --: | --: |", out);
    fputs(" --: |\n", out);
    for (int i = 0; i < nrows; i++) {
        char cells[2 * TABLES_MAX_NUMS + 2][48], label[200];
        int n = tables_row_cells(p, &rows[i], family, TABLES_MD, cells);
        tables_escape(rows[i].label, TABLES_MD, label, sizeof label);
        fprintf(out, "| %s |", label);
        for (int k = 0; k < n; k++)
            fprintf(out, " %s |", cells[k]);
        fputc('\n', out);
    }
}

static void tables_tex_header(const tables_part *p, FILE *out)
{
    fputs("\\begin{tabular}{l", out);
    for (int c = 0; c < p->ncols; c++)
        fputs(p->cols[c].metric < 0 ? "r" : "rr", out);
    fprintf(out, "r}\n\\toprule\n");
    int col = 2;
    for (int c = 0; c < p->ncols; c++) {
        int w = p->cols[c].metric < 0 ? 1 : 2;
        fprintf(out, " & \\multicolumn{%d}{c}{%s}", w, p->cols[c].tex);
    }
    fputs(" & \\\\\n", out);
    for (int c = 0; c < p->ncols; c++) {
        int w = p->cols[c].metric < 0 ? 1 : 2;
        fprintf(out, "\\cmidrule(lr){%d-%d}", col, col + w - 1);
        col += w;
    }
    fprintf(out, "\n%s", p->row_tex);
    for (int c = 0; c < p->ncols; c++)
        fputs(p->cols[c].metric < 0 ? " & paper" : " & paper & rankdet", out);
    fputs(" & seeds \\\\\n\\midrule\n", out);
}

static void tables_tex_table(const tables_file *f, const tables_part *p, const tables_group *g,
                             const char *results, const tables_row *rows, int nrows,
                             int family, FILE *out)
{
    fprintf(out, "\\begin{table}[t]\n\\centering\n\\small\n\\caption{Table %s, %s: the paper "
            "(Chen et al., CVPR 2019) beside rankdet. ", p->id,
            p->match == TABLES_MATCH_DELTA ? "$\\delta$ of the piecewise step" : p->title);
    tables_caption(f, p, g, results, TABLES_TEX, out);
    fputs("}\n", out);
    tables_tex_header(p, out);
    for (int i = 0; i < nrows; i++) {
        char cells[2 * TABLES_MAX_NUMS + 2][48], label[200];
        int n = tables_row_cells(p, &rows[i], family, TABLES_TEX, cells);
        tables_escape(rows[i].label, TABLES_TEX, label, sizeof label);
        fputs(label, out);
        for (int k = 0; k < n; k++)
            fprintf(out, " & %s", cells[k]);
        fputs(" \\\\\n", out);
    }
    fputs("\\bottomrule\n\\end{tabular}\n\\end{table}\n\n", out);
}

/* One group's (or, g NULL, the paper-only) table of part p in both syntaxes. */
static void tables_render_group(const tables_file *f, const tables_part *p,
                                const tables_paper *paper, const tables_group *g,
                                const char *results, FILE *md, FILE *tex)
{
    tables_row *rows;
    int nrows = tables_rows(p, paper, g, &rows);
    int family = g ? (int)g->family : -1;
    fputs("\n", md);
    tables_caption(f, p, g, results, TABLES_MD, md);
    fputs("\n\n", md);
    tables_md_table(p, rows, nrows, family, md);
    tables_tex_table(f, p, g, results, rows, nrows, family, tex);
    free(rows);
}

/* ---- files ---- */

/* mkdir -p dir. 0, or -1 after a message. */
static int tables_make_dirs(const char *dir)
{
    char p[TABLES_PATH];
    snprintf(p, sizeof p, "%s", dir);
    for (char *c = p + 1;; c++) {
        if (*c != '/' && *c != '\0')
            continue;
        char keep = *c;
        *c = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            rd_error("cannot create the folder %s: %s", p, strerror(errno));
            return -1;
        }
        *c = keep;
        if (keep == '\0')
            return 0;
    }
}

/* Write text to path through path.tmp.PID renamed over it. 0, or -1 after a message. */
static int tables_write_atomic(const char *path, const char *text, size_t len)
{
    char tmp[TABLES_PATH + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int ok = f != NULL && fwrite(text, 1, len, f) == len;
    ok = (f != NULL && fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        rd_error("cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Every part of file f into md and tex. 0, or -1 after a message. */
static int tables_render_file(const tables_file *f, const tables_paper *paper,
                              const tables_options *o, FILE *md, FILE *tex, FILE *info)
{
    fprintf(md, "# %s — Chen et al., CVPR 2019, beside rankdet\n\nGenerated by `rankdet "
            "tables` from %s/%s and", f->title, o->paper, f->paper);
    for (int i = 0; i < f->nparts; i++)
        fprintf(md, "%s %s/%s", i ? "," : "", o->results, f->parts[i].experiment);
    fputs(".\n", md);
    fprintf(tex, "%% %s (Chen et al., CVPR 2019) beside rankdet; generated by `rankdet tables` "
            "from %s/%s and %s. Needs \\usepackage{booktabs}.\n\n", f->title, o->paper,
            f->paper, o->results);
    for (int i = 0; i < f->nparts; i++) {
        const tables_part *p = &f->parts[i];
        if (f->nparts > 1)
            fprintf(md, "\n## Table %s: %s\n", p->id, p->title);
        char **names;
        int n = tables_list_groups(o->results, p->experiment, &names), rc = 0;
        if (n == 0) {
            fprintf(info, "note: no results under %s/%s: Table %s shows the paper's numbers "
                    "only\n", o->results, p->experiment, p->id);
            tables_render_group(f, p, paper, NULL, o->results, md, tex);
        }
        for (int k = 0; k < n && rc == 0; k++) {
            tables_group g;
            char err[2 * TABLES_PATH];
            rc = tables_read_group(o->results, p->experiment, names[k], &g, info, err,
                                   sizeof err);
            if (rc != 0) {
                rd_error("%s", err);
                break;
            }
            fprintf(info, "Table %s: %s (%s metric)\n", p->id, g.dir,
                    g.family == TABLES_FAMILY_COCO ? "COCO" : "VOC");
            tables_render_group(f, p, paper, &g, o->results, md, tex);
            tables_group_free(&g);
        }
        tables_names_free(names, n);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Read f's paper table, render it, write OUT/<name>.md and .tex. 0, or -1 after a message. */
static int tables_generate_file(const tables_file *f, const tables_options *o, FILE *info)
{
    char path[2 * TABLES_PATH], err[2 * TABLES_PATH];
    snprintf(path, sizeof path, "%s/%s", o->paper, f->paper);
    tables_paper paper;
    if (tables_read_paper(path, f->nkeys, f->nnums, &paper, err, sizeof err) != 0) {
        rd_error("%s", err);
        return -1;
    }
    char *md_text = NULL, *tex_text = NULL;
    size_t md_len = 0, tex_len = 0;
    FILE *md = open_memstream(&md_text, &md_len), *tex = open_memstream(&tex_text, &tex_len);
    RD_CHECK(md && tex, "open_memstream");
    int rc = tables_render_file(f, &paper, o, md, tex, info);
    fclose(md);
    fclose(tex);
    tables_paper_free(&paper);
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/%s.md", o->out, f->name);
        rc = tables_write_atomic(path, md_text, md_len);
        snprintf(path, sizeof path, "%s/%s.tex", o->out, f->name);
        rc = rc ? rc : tables_write_atomic(path, tex_text, tex_len);
        if (rc == 0)
            fprintf(info, "wrote %s/%s.md and %s/%s.tex\n", o->out, f->name, o->out, f->name);
    }
    free(md_text);
    free(tex_text);
    return rc;
}

int tables_generate(const tables_options *o, FILE *info)
{
    if (tables_make_dirs(o->out) != 0)
        return 1;
    for (int i = 0; i < TABLES_N(tables_files); i++)
        if (tables_generate_file(&tables_files[i], o, info) != 0)
            return 1;
    return 0;
}
