/* tables.c — reading for the side-by-side tables (tables.h): the paper's numbers
 * (paper_tables/table1.tsv ... table3.tsv, Chen et al., CVPR 2019), each run's metrics.tsv and
 * config.txt from the results tree of results/README.md, and the metric-family rule. The
 * Markdown and LaTeX rendering is in tables_render.c. */
#include "analysis/tables.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/check.h"

static const char *const tables_metric_names[TABLES_NMETRICS] = {"AP",  "AP50", "AP75",
                                                                  "APs", "APm",  "APl"};

/* "PREFIX: what" into err; returns -1. */
static int tables_fail(char *err, size_t errsize, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int tables_fail(char *err, size_t errsize, const char *prefix, const char *fmt, ...)
{
    int len = snprintf(err, errsize, "%s: ", prefix);
    if (len < 0 || (size_t)len >= errsize)
        len = errsize > 0 ? (int)errsize - 1 : 0;
    va_list ap;
    va_start(ap, fmt);
    rd_err_vappend(err, errsize, len, fmt, ap);
    va_end(ap);
    return -1;
}

/* Split line (modified in place) at tabs and spaces into at most max fields; their count. */
static int tables_split(char *line, char **fields, int max)
{
    int n = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok != NULL; tok = strtok(NULL, " \t\r\n"))
        if (n < max + 1)
            fields[n++] = tok;  // one past max is kept so callers can see "too many"
    return n;
}

/* The whole of s is a finite number. */
static int tables_parse_number(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end != s && *end == '\0' && errno == 0 && isfinite(*v);
}

/* Index of each metric in the header's fields; -1 with a message when one is missing. */
static int tables_metric_header(char **names, int n, int index[TABLES_NMETRICS],
                                const char *where, char *err, size_t errsize)
{
    for (int m = 0; m < TABLES_NMETRICS; m++) {
        index[m] = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(names[i], tables_metric_names[m]) == 0)
                index[m] = i;
        if (index[m] < 0)
            return tables_fail(err, errsize, where, "the header has no column %s (expected "
                               "`# AP AP50 AP75 APs APm APl`)", tables_metric_names[m]);
    }
    return 0;
}

/* One row of numbers under a header of ncols names into values[]. */
static int tables_metric_row(char **fields, int n, int ncols, const int index[TABLES_NMETRICS],
                             double values[TABLES_NMETRICS], const char *where, char *err,
                             size_t errsize)
{
    if (n != ncols)
        return tables_fail(err, errsize, where, "%d values under a header of %d columns", n,
                           ncols);
    for (int m = 0; m < TABLES_NMETRICS; m++) {
        const char *s = fields[index[m]];
        double v;
        if (!tables_parse_number(s, &v))
            return tables_fail(err, errsize, where, "%s is '%s', not a number",
                               tables_metric_names[m], s);
        if (!(v >= 0 && v <= 1) && v != -1)
            return tables_fail(err, errsize, where, "%s = %s is outside [0, 1] (and not -1, "
                               "\"undefined\")", tables_metric_names[m], s);
        values[m] = v;
    }
    return 0;
}

int tables_read_metrics(const char *path, double values[TABLES_NMETRICS], char *err,
                        size_t errsize)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return tables_fail(err, errsize, path, "cannot open: %s", strerror(errno));
    enum { MAXF = 32 };
    char *line = NULL, *fields[MAXF + 1], where[TABLES_PATH + 32];
    size_t cap = 0;
    int lineno = 0, ncols = -1, rows = 0, index[TABLES_NMETRICS], rc = 0;
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        lineno++;
        snprintf(where, sizeof where, "%s: line %d", path, lineno);
        char *s = line + strspn(line, " \t");
        if (ncols < 0) {
            if (*s != '#') {
                rc = tables_fail(err, errsize, where, "expected the header line "
                                 "`# AP AP50 AP75 APs APm APl`");
                break;
            }
            ncols = tables_split(s + 1, fields, MAXF);
            rc = ncols > MAXF ? tables_fail(err, errsize, where, "more than %d columns", MAXF)
                              : tables_metric_header(fields, ncols, index, where, err, errsize);
            continue;
        }
        int n = tables_split(s, fields, MAXF);
        if (n == 0 || fields[0][0] == '#')
            continue;
        if (++rows > 1)
            rc = tables_fail(err, errsize, where, "a second row of numbers (metrics.tsv holds "
                             "one)");
        else
            rc = tables_metric_row(fields, n, ncols, index, values, where, err, errsize);
    }
    free(line);
    fclose(f);
    if (rc == 0 && ncols < 0)
        rc = tables_fail(err, errsize, path, "empty (expected `# AP AP50 AP75 APs APm APl` "
                         "and one row)");
    else if (rc == 0 && rows == 0)
        rc = tables_fail(err, errsize, path, "no row of numbers under the header");
    return rc;
}

void tables_mean_std(const double *v, int n, double *mean, double *std)
{
    *mean = *std = NAN;
    if (n <= 0)
        return;
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    *mean = s / n;
    if (n < 2)
        return;
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += (v[i] - *mean) * (v[i] - *mean);
    *std = sqrt(ss / (n - 1));
}

/* ---- the metric family (tables.h states the rule) ---- */

/* The value of key in config text (keys with '-' and '_' alike; quotes removed) into buf;
 * buf is "" when the key is absent. */
static void tables_config_value(const char *config, const char *key, char *buf, size_t size)
{
    buf[0] = '\0';
    for (const char *line = config; line && *line;) {
        size_t len = strcspn(line, "\n");
        const char *eq = memchr(line, '=', len), *k = line;
        while (k < line + len && isspace((unsigned char)*k))
            k++;
        size_t i = 0;
        for (; eq && key[i] && k + i < eq; i++)
            if (!(key[i] == k[i] || (strchr("-_", key[i]) && strchr("-_", k[i]))))
                break;
        const char *after = k + i;
        while (eq && after < eq && isspace((unsigned char)*after))
            after++;
        if (eq && key[i] == '\0' && after == eq) {
            const char *v = eq + 1, *end = line + len;
            while (v < end && isspace((unsigned char)*v))
                v++;
            while (end > v && isspace((unsigned char)end[-1]))
                end--;
            if (end - v >= 2 && *v == '"' && end[-1] == '"')
                v++, end--;
            snprintf(buf, size, "%.*s", (int)(end - v), v);
        }
        line += len + (line[len] == '\n');
    }
}

static int tables_ends_with_json(const char *s)
{
    size_t n = strlen(s);
    return n >= 5 && strcasecmp(s + n - 5, ".json") == 0;
}

/* A file in dir whose name ends with suffix (case-insensitive). */
static int tables_dir_has(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int found = 0;
    size_t k = strlen(suffix);
    for (struct dirent *e; !found && (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        found = n > k && strcasecmp(e->d_name + n - k, suffix) == 0;
    }
    closedir(d);
    return found;
}

static int tables_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Rule 3 of tables_family_of_config: 1 VOC, 2 COCO, 0 cannot tell (root absent or unknown). */
static int tables_family_on_disk(const char *root)
{
    char p[TABLES_PATH + 32];
    if (!tables_is_dir(root))
        return 0;
    snprintf(p, sizeof p, "%s/Annotations", root);
    if (tables_is_dir(p))
        return 1;
    snprintf(p, sizeof p, "%s/annotations", root);
    if (tables_is_dir(p))
        return tables_dir_has(p, ".xml") ? 1 : tables_dir_has(p, ".json") ? 2 : 0;
    snprintf(p, sizeof p, "%s/labels", root);
    return tables_is_dir(p) ? 2 : 0;
}

/* Rule 4: the last path component of name starts with coco or yolo. */
static tables_family tables_family_of_name(const char *name)
{
    size_t n = strlen(name);
    while (n > 0 && name[n - 1] == '/')
        n--;
    size_t start = n;
    while (start > 0 && name[start - 1] != '/')
        start--;
    const char *base = name + start;
    int coco = (n - start >= 4) && (strncasecmp(base, "coco", 4) == 0 ||
                                    strncasecmp(base, "yolo", 4) == 0);
    return coco ? TABLES_FAMILY_COCO : TABLES_FAMILY_VOC;
}

tables_family tables_family_of_config(const char *config, const char *fallback_name)
{
    if (config == NULL)
        return tables_family_of_name(fallback_name ? fallback_name : "");
    char v[TABLES_PATH], root[TABLES_PATH];
    tables_config_value(config, "format", v, sizeof v);
    if (*v)
        return strcasecmp(v, "voc") == 0 ? TABLES_FAMILY_VOC : TABLES_FAMILY_COCO;
    static const char *const keys[] = {"data", "val-data", "train-split", "val-split"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        tables_config_value(config, keys[i], v, sizeof v);
        if (tables_ends_with_json(v))
            return TABLES_FAMILY_COCO;
    }
    tables_config_value(config, "val-data", root, sizeof root);
    if (*root == '\0')
        tables_config_value(config, "data", root, sizeof root);
    int disk = tables_family_on_disk(root);
    if (disk)
        return disk == 1 ? TABLES_FAMILY_VOC : TABLES_FAMILY_COCO;
    return tables_family_of_name(*root ? root : (fallback_name ? fallback_name : ""));
}

/* ---- the paper's tables ---- */

int tables_read_paper(const char *path, int nkeys, int nnums, tables_paper *t, char *err,
                      size_t errsize)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return tables_fail(err, errsize, path, "cannot open the paper's table: %s",
                           strerror(errno));
    char *line = NULL, *fields[TABLES_MAX_FIELDS + 1], where[TABLES_PATH + 32];
    size_t cap = 0;
    int lineno = 0, rc = 0, want = nkeys + nnums;
    RD_CHECK(nkeys <= TABLES_MAX_KEYS && nnums <= TABLES_MAX_NUMS, "table shape %d+%d", nkeys,
             nnums);
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        lineno++;
        snprintf(where, sizeof where, "%s: line %d", path, lineno);
        char *s = line + strspn(line, " \t");
        if (*s == '#')
            continue;
        line[strcspn(line, "\r\n")] = '\0';
        int n = 0;
        for (char *tok = strtok(s, "\t"); tok && n <= TABLES_MAX_FIELDS; tok = strtok(NULL, "\t"))
            fields[n++] = tok;
        if (n == 0)
            continue;
        if (n != want) {
            rc = tables_fail(err, errsize, where, "%d fields, expected %d", n, want);
            break;
        }
        t->rows = realloc(t->rows, (size_t)(t->nrows + 1) * sizeof *t->rows);
        RD_CHECK(t->rows != NULL, "growing the rows of %s", path);
        tables_paper_row *r = &t->rows[t->nrows++];
        memset(r, 0, sizeof *r);
        for (int i = 0; i < nkeys; i++)
            snprintf(r->keys[i], sizeof r->keys[i], "%s", fields[i]);
        for (int i = 0; i < nnums && rc == 0; i++) {
            double v;
            const char *x = fields[nkeys + i];
            if (strcmp(x, "-") != 0 && !tables_parse_number(x, &v))
                rc = tables_fail(err, errsize, where, "field %d is '%s', not a number or '-'",
                                 nkeys + i + 1, x);
            snprintf(r->nums[i], sizeof r->nums[i], "%s", x);
        }
    }
    free(line);
    fclose(f);
    if (rc == 0 && t->nrows == 0)
        rc = tables_fail(err, errsize, path, "no rows");
    if (rc != 0)
        tables_paper_free(t);
    return rc;
}

void tables_paper_free(tables_paper *t)
{
    free(t->rows);
    memset(t, 0, sizeof *t);
}

/* ---- the results tree ---- */

static int tables_keep_dir(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* The sub-folders of dir, sorted (strcmp); count, 0 when dir is missing. Caller frees each
 * and the array. */
static int tables_list_dirs(const char *dir, char ***names)
{
    struct dirent **list = NULL;
    *names = NULL;
    int n = scandir(dir, &list, tables_keep_dir, alphasort);
    if (n < 0)
        return 0;
    int k = 0;
    *names = rd_calloc((size_t)n + 1, sizeof **names, "folder names");
    for (int i = 0; i < n; i++) {
        char p[TABLES_PATH * 2];
        snprintf(p, sizeof p, "%s/%s", dir, list[i]->d_name);
        if (tables_is_dir(p))
            (*names)[k++] = strdup(list[i]->d_name);
        free(list[i]);
    }
    free(list);
    return k;
}

static void tables_free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The whole of a small text file (caller frees), NULL when it cannot be read. */
static char *tables_read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *text = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&text, &size);
    RD_CHECK(m != NULL, "open_memstream");
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;)
        fwrite(buf, 1, n, m);
    fclose(f);
    fclose(m);
    return text;
}

/* seed<k> with k a non-negative integer: k, else -1. */
static int tables_seed_of(const char *name)
{
    if (strncmp(name, "seed", 4) != 0 || !isdigit((unsigned char)name[4]))
        return -1;
    char *end;
    long k = strtol(name + 4, &end, 10);
    return *end == '\0' && k <= 1000000 ? (int)k : -1;
}

/* Sort v's runs by seed number (the folders come in name order: seed1 seed10 seed2). */
static void tables_sort_seeds(tables_variant *v)
{
    for (int i = 1; i < v->n; i++)
        for (int j = i; j > 0 && v->seeds[j - 1] > v->seeds[j]; j--) {
            int k = v->seeds[j];
            v->seeds[j] = v->seeds[j - 1];
            v->seeds[j - 1] = k;
            double t[TABLES_NMETRICS];
            memcpy(t, v->values[j], sizeof t);
            memcpy(v->values[j], v->values[j - 1], sizeof t);
            memcpy(v->values[j - 1], t, sizeof t);
        }
}

/* Read every seed<k>/metrics.tsv of one variant folder into v; the first config.txt seen
 * (none yet in *config) is kept. Runs without metrics.tsv are noted on info and left out. */
static int tables_read_variant(const char *dir, tables_variant *v, char **config, FILE *info,
                               char *err, size_t errsize)
{
    char **seeds;
    int n = tables_list_dirs(dir, &seeds), rc = 0;
    v->seeds = rd_calloc((size_t)n + 1, sizeof *v->seeds, "seed numbers");
    v->values = rd_calloc((size_t)n + 1, sizeof *v->values, "metrics");
    for (int i = 0; i < n && rc == 0; i++) {
        int k = tables_seed_of(seeds[i]);
        if (k < 0)
            continue;
        char p[TABLES_PATH * 2 + 32];
        snprintf(p, sizeof p, "%s/%s/metrics.tsv", dir, seeds[i]);
        if (access(p, F_OK) != 0) {
            fprintf(info, "note: %s/%s has no metrics.tsv (unfinished run?): left out\n", dir,
                    seeds[i]);
            continue;
        }
        rc = tables_read_metrics(p, v->values[v->n], err, errsize);
        v->seeds[v->n++] = k;
        if (*config == NULL) {
            snprintf(p, sizeof p, "%s/%s/config.txt", dir, seeds[i]);
            *config = tables_read_text(p);
        }
    }
    tables_free_names(seeds, n);
    return rc;
}

int tables_read_group(const char *results, const char *experiment, const char *name,
                      tables_group *g, FILE *info, char *err, size_t errsize)
{
    memset(g, 0, sizeof *g);
    snprintf(g->dir, sizeof g->dir, "%s/%s/%s", results, experiment, name);
    const char *dash = strchr(name, '-');
    snprintf(g->preset, sizeof g->preset, "%.*s", dash ? (int)(dash - name) : (int)strlen(name),
             name);
    snprintf(g->data, sizeof g->data, "%s", dash ? dash + 1 : "");
    char **variants, *config = NULL;
    int n = tables_list_dirs(g->dir, &variants), rc = 0;
    g->variants = rd_calloc((size_t)n + 1, sizeof *g->variants, "variants");
    for (int i = 0; i < n && rc == 0; i++) {
        tables_variant *v = &g->variants[g->nvariants];
        snprintf(v->name, sizeof v->name, "%s", variants[i]);
        char dir[TABLES_PATH * 2];
        snprintf(dir, sizeof dir, "%s/%s", g->dir, variants[i]);
        rc = tables_read_variant(dir, v, &config, info, err, errsize);
        g->nvariants++;
        tables_sort_seeds(v);
    }
    g->family = tables_family_of_config(config, g->data);
    g->has_config = config != NULL;
    free(config);
    tables_free_names(variants, n);
    if (rc != 0)
        tables_group_free(g);
    return rc;
}

void tables_group_free(tables_group *g)
{
    for (int i = 0; i < g->nvariants; i++) {
        free(g->variants[i].seeds);
        free(g->variants[i].values);
    }
    free(g->variants);
    memset(g, 0, sizeof *g);
}

int tables_list_groups(const char *results, const char *experiment, char ***names)
{
    char dir[TABLES_PATH * 2];
    snprintf(dir, sizeof dir, "%s/%s", results, experiment);
    return tables_list_dirs(dir, names);
}

void tables_names_free(char **names, int n)
{
    tables_free_names(names, n);
}
