/* dataset_files.c — the files around a dataset: folder listings, image lookup by stem, and
 * class-name files (one name per line as darknet's .names and classes.txt, or the YAML
 * `names:` of Ultralytics data files, as a list or an {index: name} map). The YAML reader
 * knows only that key: it is not a general YAML parser. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/dataset_build.h"
#include "lib/check.h"

#define DATASET_MAX_CLASSES 100000

char *dataset_path_join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = rd_malloc(len, "a path");
    size_t d = strlen(dir);
    snprintf(p, len, "%s%s%s", dir, d > 0 && dir[d - 1] == '/' ? "" : "/", name);
    return p;
}

int dataset_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int dataset_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int dataset_list_entries(const char *dir, int (*keep)(const char *name), int dirs,
                                char ***names, char *err, size_t errsize);

int dataset_cmp_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int dataset_list_dir(const char *dir, int (*keep)(const char *name), char ***names, char *err,
                     size_t errsize)
{
    return dataset_list_entries(dir, keep, 0, names, err, errsize);
}

int dataset_list_subdirs(const char *dir, char ***names, char *err, size_t errsize)
{
    return dataset_list_entries(dir, NULL, 1, names, err, errsize);
}

/* The regular files (dirs = 0) or folders (dirs = 1) of dir, sorted. */
static int dataset_list_entries(const char *dir, int (*keep)(const char *name), int dirs,
                                char ***names, char *err, size_t errsize)
{
    *names = NULL;
    DIR *d = opendir(dir);
    if (d == NULL)
        return dataset_fail(err, errsize, dir, "cannot list the folder: %s", strerror(errno));
    int n = 0, cap = 0;
    char **out = NULL;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' || (keep && !keep(e->d_name)))
            continue;
        char *full = dataset_path_join(dir, e->d_name);
        int wanted = dirs ? dataset_is_dir(full) : dataset_is_file(full);
        free(full);
        if (!wanted)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            out = realloc(out, sizeof *out * (size_t)cap);
            RD_CHECK(out != NULL, "out of memory listing %s", dir);
        }
        out[n++] = strdup(e->d_name);
        RD_CHECK(out[n - 1] != NULL, "out of memory listing %s", dir);
    }
    closedir(d);
    if (n > 1)
        qsort(out, (size_t)n, sizeof *out, dataset_cmp_strings);
    *names = out;
    return n;
}

void dataset_free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int dataset_is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL && (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 ||
                           strcasecmp(dot, ".png") == 0);
}

char *dataset_stem(const char *name)
{
    const char *dot = strrchr(name, '.');
    size_t len = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    char *s = rd_malloc(len + 1, "a file stem");
    memcpy(s, name, len);
    s[len] = '\0';
    return s;
}

char *dataset_find_image(const char *dir, const char *stem)
{
    static const char *const exts[] = {".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG"};
    size_t len = strlen(stem) + 8;
    char *name = rd_malloc(len, "an image name");
    for (size_t i = 0; i < sizeof exts / sizeof *exts; i++) {
        snprintf(name, len, "%s%s", stem, exts[i]);
        char *p = dataset_path_join(dir, name);
        if (dataset_is_file(p)) {
            free(name);
            return p;
        }
        free(p);
    }
    free(name);
    return NULL;
}

/* s without leading and trailing blanks (in place), and without a trailing "# comment". */
static char *dataset_trim(char *s, int yaml)
{
    if (yaml) {
        char quote = 0;
        for (char *c = s; *c; c++) {
            if (quote) {
                quote = *c == quote ? 0 : quote;
            } else if (*c == '"' || *c == '\'') {
                quote = *c;
            } else if (*c == '#' && (c == s || isspace((unsigned char)c[-1]))) {
                *c = '\0';
                break;
            }
        }
    }
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* A YAML scalar without its quotes (in place). */
static char *dataset_unquote(char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        s[n - 1] = '\0';
        return s + 1;
    }
    return s;
}

typedef struct dataset_names {
    char **names;
    int n, cap;
} dataset_names;

static void dataset_names_put(dataset_names *l, int at, const char *name)
{
    if (at >= l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        while (cap <= at)
            cap *= 2;
        l->names = realloc(l->names, sizeof *l->names * (size_t)cap);
        RD_CHECK(l->names != NULL, "out of memory for class names");
        memset(l->names + l->cap, 0, sizeof *l->names * (size_t)(cap - l->cap));
        l->cap = cap;
    }
    l->names[at] = strdup(name);
    RD_CHECK(l->names[at] != NULL, "out of memory for a class name");
    if (at >= l->n)
        l->n = at + 1;
}

/* The items of a flow list "[a, 'b', c]" (brackets included in s). */
static int dataset_yaml_flow(char *s, dataset_names *l, const char *path, int line, char *err,
                             size_t errsize)
{
    size_t n = strlen(s);
    if (n < 2 || s[n - 1] != ']')
        return dataset_fail(err, errsize, path, "line %d: names: the list [...] must end on "
                            "the line it starts", line);
    s[n - 1] = '\0';
    for (char *item = strtok(s + 1, ","); item != NULL; item = strtok(NULL, ",")) {
        char *name = dataset_unquote(dataset_trim(item, 0));
        if (*name)
            dataset_names_put(l, l->n, name);
    }
    return 0;
}

/* One line of the block under `names:`: "- name" or "INDEX: name". */
static int dataset_yaml_item(char *s, dataset_names *l, const char *path, int line, char *err,
                             size_t errsize)
{
    if (s[0] == '-') {
        dataset_names_put(l, l->n, dataset_unquote(dataset_trim(s + 1, 0)));
        return 0;
    }
    char *colon = strchr(s, ':'), *end = NULL;
    long index = colon ? strtol(s, &end, 10) : -1;
    if (colon == NULL || end == s || dataset_trim(end, 0) != colon || index < 0 ||
        index >= DATASET_MAX_CLASSES)
        return dataset_fail(err, errsize, path, "line %d: names: expected '- NAME' or "
                            "'INDEX: NAME', found '%s'", line, s);
    if (index < l->n && l->names[index] != NULL)
        return dataset_fail(err, errsize, path, "line %d: names: index %ld given twice", line,
                            index);
    dataset_names_put(l, (int)index, dataset_unquote(dataset_trim(colon + 1, 0)));
    return 0;
}

/* The YAML line `names:` and the block below it; `nc:` when present must match the count. */
static int dataset_yaml_names(FILE *f, const char *path, dataset_names *l, long *nc, char *err,
                              size_t errsize)
{
    char *buf = NULL;
    size_t cap = 0;
    int line = 0, in_block = 0, rc = 0;
    while (rc == 0 && getline(&buf, &cap, f) >= 0) {
        line++;
        int indented = isspace((unsigned char)buf[0]);
        char *s = dataset_trim(buf, 1);
        if (*s == '\0')
            continue;
        if (in_block && (indented || s[0] == '-')) {
            rc = dataset_yaml_item(s, l, path, line, err, errsize);
            continue;
        }
        in_block = 0;
        if (indented)
            continue;
        if (strncmp(s, "nc:", 3) == 0)
            *nc = strtol(s + 3, NULL, 10);
        if (strncmp(s, "names:", 6) != 0)
            continue;
        char *rest = dataset_trim(s + 6, 0);
        if (*rest == '[')
            rc = dataset_yaml_flow(rest, l, path, line, err, errsize);
        else if (*rest == '\0')
            in_block = 1;
        else
            rc = dataset_fail(err, errsize, path, "line %d: names: expected a list, found "
                              "'%s'", line, rest);
    }
    free(buf);
    return rc;
}

/* One name per non-blank line. */
static void dataset_txt_names(FILE *f, dataset_names *l)
{
    char *buf = NULL;
    size_t cap = 0;
    while (getline(&buf, &cap, f) >= 0) {
        char *s = dataset_trim(buf, 0);
        if (*s)
            dataset_names_put(l, l->n, s);
    }
    free(buf);
}

/* Every index filled, every name non-empty and listed once. */
static int dataset_check_names(const dataset_names *l, long nc, const char *path, char *err,
                               size_t errsize)
{
    if (l->n == 0)
        return dataset_fail(err, errsize, path, "no class names found");
    if (nc >= 0 && nc != l->n)
        return dataset_fail(err, errsize, path, "nc: %ld but %d names", nc, l->n);
    for (int k = 0; k < l->n; k++) {
        if (l->names[k] == NULL || l->names[k][0] == '\0')
            return dataset_fail(err, errsize, path, "names: class %d has no name", k);
        for (int j = 0; j < k; j++)
            if (strcmp(l->names[j], l->names[k]) == 0)
                return dataset_fail(err, errsize, path, "names: '%s' is listed twice "
                                    "(classes %d and %d)", l->names[k], j, k);
    }
    return 0;
}

int dataset_read_names(const char *path, rd_dataset *ds, char *err, size_t errsize)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return dataset_fail(err, errsize, path, "cannot open the names file: %s",
                            strerror(errno));
    const char *dot = strrchr(path, '.');
    int yaml = dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0);
    dataset_names l = {0};
    long nc = -1;
    int rc = 0;
    if (yaml)
        rc = dataset_yaml_names(f, path, &l, &nc, err, errsize);
    else
        dataset_txt_names(f, &l);
    fclose(f);
    if (rc == 0)
        rc = dataset_check_names(&l, nc, path, err, errsize);
    if (rc == 0)
        dataset_set_classes(ds, (const char *const *)l.names, l.n);
    for (int k = 0; k < l.cap; k++)
        free(l.names[k]);
    free(l.names);
    return rc;
}
