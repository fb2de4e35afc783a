/* cli.c — table-driven flags and `key = value` config files (cli.h).
 * Conventions follow GNU long options: `--name V`, `--name=V`, `--flag`, `--no-flag`, `--`
 * ends the flags. Every error names the flag (or file:line) and the problem, and points to
 * --help; none of them aborts. */
#include "lib/cli.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check.h"

#define CLI_MAX_DEPTH 8  // config files may name further config files, this deep at most

static void cli_report_v(const cli_spec *spec, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: error: ", spec->command);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see %s --help)\n", spec->command);
}

void cli_error(const cli_spec *spec, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_report_v(spec, fmt, ap);
    va_end(ap);
}

/* Flag names compare with '-' and '_' as the same character; n is the length of s. */
static int cli_name_eq(const char *name, const char *s, size_t n)
{
    size_t i = 0;
    for (; i < n && name[i]; i++) {
        char a = name[i] == '_' ? '-' : name[i];
        char b = s[i] == '_' ? '-' : s[i];
        if (a != b)
            return 0;
    }
    return i == n && name[i] == '\0';
}

static const cli_opt *cli_find(const cli_spec *spec, const char *s, size_t n)
{
    for (int i = 0; i < spec->nopts; i++)
        if (cli_name_eq(spec->opts[i].name, s, n))
            return &spec->opts[i];
    return NULL;
}

/* Edit distance (Levenshtein) of two short names, for "did you mean" hints. */
static size_t cli_distance(const char *a, size_t na, const char *b)
{
    size_t nb = strlen(b), row[64];
    if (na >= 63 || nb >= 63)
        return SIZE_MAX;
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t sub = diag + (a[i - 1] != b[j - 1]);
            size_t best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            diag = up;
        }
    }
    return row[nb];
}

/* "PREFIXunknown KIND 'DASHESname'", with the nearest table name as a hint when close. */
static void cli_report_unknown(const cli_spec *spec, const char *prefix, const char *kind,
                               const char *dashes, const char *s, size_t n)
{
    const char *best = NULL;
    size_t best_d = n / 3 + 1;
    for (int i = 0; i < spec->nopts; i++) {
        size_t d = cli_distance(s, n, spec->opts[i].name);
        if (d <= best_d && (best == NULL || d < best_d)) {
            best = spec->opts[i].name;
            best_d = d;
        }
    }
    if (best)
        cli_error(spec, "%sunknown %s '%s%.*s'; did you mean --%s?", prefix, kind, dashes,
                  (int)n, s, best);
    else
        cli_error(spec, "%sunknown %s '%s%.*s'", prefix, kind, dashes, (int)n, s);
}

static int cli_parse_bool(const char *text, int *value)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return *value = 1, 0;
        if (strcasecmp(text, no[i]) == 0)
            return *value = 0, 0;
    }
    return -1;
}

static int cli_parse_int64(const cli_spec *spec, const char *subject, const char *text,
                           long long lo, long long hi, long long *value)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || isspace((unsigned char)text[0])) {
        cli_error(spec, "%s expects an integer, got '%s'", subject, text);
        return -1;
    }
    if (errno == ERANGE || v < lo || v > hi) {
        cli_error(spec, "%s expects an integer from %lld to %lld, got '%s'", subject, lo, hi,
                  text);
        return -1;
    }
    *value = v;
    return 0;
}

static int cli_parse_double(const cli_spec *spec, const char *subject, const char *text,
                            double *value)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || isspace((unsigned char)text[0])) {
        cli_error(spec, "%s expects a number, got '%s'", subject, text);
        return -1;
    }
    if (!isfinite(v)) {
        cli_error(spec, "%s expects a finite number, got '%s'", subject, text);
        return -1;
    }
    *value = v;
    return 0;
}

/* Store text into the field of opt; on bad text print an error naming subject. */
static int cli_store(const cli_spec *spec, const cli_opt *opt, void *cfg, const char *text,
                     const char *subject)
{
    char *field = (char *)cfg + opt->offset;
    long long v;
    switch (opt->type) {
    case CLI_INT:
        if (cli_parse_int64(spec, subject, text, INT_MIN, INT_MAX, &v) < 0)
            return -1;
        *(int *)field = (int)v;
        return 0;
    case CLI_INT64:
        if (cli_parse_int64(spec, subject, text, LLONG_MIN, LLONG_MAX, &v) < 0)
            return -1;
        *(int64_t *)field = (int64_t)v;
        return 0;
    case CLI_DOUBLE:
        return cli_parse_double(spec, subject, text, (double *)field);
    case CLI_BOOL:
        if (cli_parse_bool(text, (int *)field) == 0)
            return 0;
        cli_error(spec, "%s expects true or false, got '%s'", subject, text);
        return -1;
    case CLI_STRING:
        if (strlen(text) >= RD_CLI_STR) {
            cli_error(spec, "%s is too long (%zu characters; at most %d)", subject,
                      strlen(text), RD_CLI_STR - 1);
            return -1;
        }
        strcpy(field, text);
        return 0;
    }
    return -1;
}

void cli_defaults(const cli_spec *spec, void *cfg)
{
    for (int i = 0; i < spec->nopts; i++) {
        const cli_opt *o = &spec->opts[i];
        const char *def = o->def ? o->def : "";
        if (*def == '\0' && o->type != CLI_STRING)
            def = "0";
        char subject[96];
        snprintf(subject, sizeof subject, "the default of --%s", o->name);
        RD_CHECK(cli_store(spec, o, cfg, def, subject) == 0,
                 "the option table of '%s' has a bad default for --%s", spec->command, o->name);
    }
}

static cli_result cli_load_depth(const cli_spec *spec, void *cfg, const char *path, int depth);

/* key = value from a file line, cli_set or --name=value; origin prefixes the key in errors. */
static cli_result cli_set_depth(const cli_spec *spec, void *cfg, const char *key,
                                const char *value, const char *origin, int depth)
{
    while (*key == '-')
        key++;
    const cli_opt *opt = cli_find(spec, key, strlen(key));
    char subject[600];
    snprintf(subject, sizeof subject, "%s%s%s", origin ? origin : "", origin ? ": " : "", key);
    if (opt == NULL && cli_name_eq("config", key, strlen(key)))
        return cli_load_depth(spec, cfg, value, depth + 1);
    if (opt == NULL) {
        char prefix[520];
        snprintf(prefix, sizeof prefix, "%s%s", origin ? origin : "", origin ? ": " : "");
        cli_report_unknown(spec, prefix, "key", "", key, strlen(key));
        return CLI_ERROR;
    }
    return cli_store(spec, opt, cfg, value, subject) == 0 ? CLI_OK : CLI_ERROR;
}

cli_result cli_set(const cli_spec *spec, void *cfg, const char *key, const char *value,
                   const char *origin)
{
    return cli_set_depth(spec, cfg, key, value, origin, 0);
}

/* Split one config line in place: comment ('#' outside quotes) cut, key and value trimmed,
 * a double-quoted value unescaped (\" and \\). Returns 1 for a pair, 0 for a blank line and
 * -1 (with *problem set) for a malformed one. Quoted values may hold \n for a newline. */
static int cli_split_line(char *line, char **key, char **value, const char **problem)
{
    int quoted = 0;
    for (char *c = line; *c; c++) {
        if (quoted && *c == '\\' && c[1])
            c++;
        else if (*c == '"')
            quoted = !quoted;
        else if (*c == '#' && !quoted) {
            *c = '\0';
            break;
        }
    }
    char *end = line + strlen(line);
    while (end > line && isspace((unsigned char)end[-1]))
        *--end = '\0';
    while (isspace((unsigned char)*line))
        line++;
    if (*line == '\0')
        return 0;
    char *eq = strchr(line, '=');
    if (eq == NULL || eq == line)
        return *problem = eq ? "a key before '='" : "'key = value'", -1;
    char *k_end = eq;
    while (k_end > line && isspace((unsigned char)k_end[-1]))
        k_end--;
    *k_end = '\0';
    char *v = eq + 1;
    while (isspace((unsigned char)*v))
        v++;
    *key = line;
    *value = v;
    if (*v != '"')
        return 1;
    char *out = v;
    for (char *c = v + 1;; c++) {
        if (*c == '\0')
            return *problem = "a closing '\"'", -1;
        if (*c == '"') {
            if (c[1] != '\0')
                return *problem = "nothing after the closing '\"'", -1;
            break;
        }
        if (*c == '\\' && (c[1] == '"' || c[1] == '\\' || c[1] == 'n')) {
            *out++ = *++c == 'n' ? '\n' : *c;
            continue;
        }
        *out++ = *c;
    }
    *out = '\0';
    return 1;
}

static cli_result cli_load_depth(const cli_spec *spec, void *cfg, const char *path, int depth)
{
    if (depth > CLI_MAX_DEPTH) {
        cli_error(spec, "config file '%s' is nested more than %d files deep", path,
                  CLI_MAX_DEPTH);
        return CLI_ERROR;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        cli_error(spec, "cannot read config file '%s': %s", path, strerror(errno));
        return CLI_ERROR;
    }
    char *line = NULL;
    size_t cap = 0;
    cli_result r = CLI_OK;
    for (int lineno = 1; r == CLI_OK && getline(&line, &cap, f) >= 0; lineno++) {
        char origin[600], *key, *value;
        const char *problem = NULL;
        snprintf(origin, sizeof origin, "%s:%d", path, lineno);
        int got = cli_split_line(line, &key, &value, &problem);
        if (got < 0) {
            cli_error(spec, "%s: expected %s", origin, problem);
            r = CLI_ERROR;
        } else if (got > 0) {
            r = cli_set_depth(spec, cfg, key, value, origin, depth);
        }
    }
    free(line);
    fclose(f);
    return r;
}

cli_result cli_load_file(const cli_spec *spec, void *cfg, const char *path)
{
    return cli_load_depth(spec, cfg, path, 0);
}

/* A value for a flag that takes one: after '=' or the next argument, unless that is a flag. */
static const char *cli_flag_value(const cli_spec *spec, const char *eq, int argc, char **argv,
                                  int *i)
{
    if (eq)
        return eq + 1;
    if (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0)
        return argv[++*i];
    cli_error(spec, "%s is missing its value", argv[*i]);
    return NULL;
}

/* One `--...` argument at argv[*i] (which may consume the next one). */
static cli_result cli_parse_flag(const cli_spec *spec, void *cfg, int argc, char **argv, int *i)
{
    const char *body = argv[*i] + 2;
    const char *eq = strchr(body, '=');
    size_t n = eq ? (size_t)(eq - body) : strlen(body);
    char subject[96];
    snprintf(subject, sizeof subject, "--%.*s", (int)(n < 64 ? n : 64), body);
    const cli_opt *opt = cli_find(spec, body, n);
    if (opt == NULL && cli_name_eq("config", body, n)) {
        const char *path = cli_flag_value(spec, eq, argc, argv, i);
        return path ? cli_load_depth(spec, cfg, path, 0) : CLI_ERROR;
    }
    if (opt == NULL && n > 3 && (strncmp(body, "no-", 3) == 0 || strncmp(body, "no_", 3) == 0)) {
        const cli_opt *neg = cli_find(spec, body + 3, n - 3);
        if (neg && neg->type == CLI_BOOL) {
            if (eq) {
                cli_error(spec, "%s takes no value, got '%s'", subject, eq + 1);
                return CLI_ERROR;
            }
            *(int *)((char *)cfg + neg->offset) = 0;
            return CLI_OK;
        }
    }
    if (opt == NULL) {
        cli_report_unknown(spec, "", "flag", "--", body, n);
        return CLI_ERROR;
    }
    if (opt->type == CLI_BOOL && eq == NULL) {
        *(int *)((char *)cfg + opt->offset) = 1;
        return CLI_OK;
    }
    const char *value = cli_flag_value(spec, eq, argc, argv, i);
    if (value == NULL)
        return CLI_ERROR;
    return cli_store(spec, opt, cfg, value, subject) == 0 ? CLI_OK : CLI_ERROR;
}

/* "-1.5" is a value, not a flag. */
static int cli_is_number(const char *s)
{
    char *end;
    strtod(s, &end);
    return end != s && *end == '\0';
}

cli_result cli_parse(const cli_spec *spec, void *cfg, int argc, char **argv,
                     char **positional, int max_positional, int *npositional)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cli_print_help(spec);
            return CLI_HELP;
        }
    int npos = 0, flags_done = 0;
    if (npositional)
        *npositional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!flags_done && strcmp(a, "--") == 0) {
            flags_done = 1;
            continue;
        }
        if (!flags_done && strncmp(a, "--", 2) == 0) {
            if (cli_parse_flag(spec, cfg, argc, argv, &i) != CLI_OK)
                return CLI_ERROR;
            continue;
        }
        if (!flags_done && a[0] == '-' && a[1] != '\0' && !cli_is_number(a)) {
            cli_error(spec, "unknown flag '%s'; flags are long, like --name", a);
            return CLI_ERROR;
        }
        if (npos >= max_positional) {
            if (max_positional == 0)
                cli_error(spec, "unexpected argument '%s'", a);
            else
                cli_error(spec, "too many arguments: '%s' (at most %d)", a, max_positional);
            return CLI_ERROR;
        }
        positional[npos++] = argv[i];
        if (npositional)
            *npositional = npos;
    }
    return CLI_OK;
}

/* Appends to a buffer like snprintf: len counts every byte asked for, even past size. */
typedef struct cli_text {
    char *buf;
    size_t size, len;
} cli_text;

static void cli_text_add(cli_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cli_text_add(cli_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = t->len < t->size ? t->size - t->len : 0;
    int n = vsnprintf(room ? t->buf + t->len : NULL, room, fmt, ap);
    va_end(ap);
    t->len += n > 0 ? (size_t)n : 0;
}

/* The shortest %g text that reads back as exactly v. */
static void cli_format_double(double v, char *buf, size_t size)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* Strings are quoted only when a plain value would not read back the same. */
static void cli_format_string(cli_text *t, const char *s)
{
    size_t n = strlen(s);
    int plain = n == 0 || (!isspace((unsigned char)s[0]) && !isspace((unsigned char)s[n - 1]) &&
                           s[0] != '"' && strpbrk(s, "#\n") == NULL);
    if (plain) {
        cli_text_add(t, "%s", s);
        return;
    }
    cli_text_add(t, "\"");
    for (const char *c = s; *c; c++) {
        if (*c == '\n')
            cli_text_add(t, "\\n");
        else
            cli_text_add(t, "%s%c", *c == '"' || *c == '\\' ? "\\" : "", *c);
    }
    cli_text_add(t, "\"");
}

static void cli_format_value(cli_text *t, const cli_opt *o, const void *cfg)
{
    const char *field = (const char *)cfg + o->offset;
    char num[40];
    switch (o->type) {
    case CLI_INT:
        cli_text_add(t, "%d", *(const int *)field);
        break;
    case CLI_INT64:
        cli_text_add(t, "%" PRId64, *(const int64_t *)field);
        break;
    case CLI_DOUBLE:
        cli_format_double(*(const double *)field, num, sizeof num);
        cli_text_add(t, "%s", num);
        break;
    case CLI_BOOL:
        cli_text_add(t, "%s", *(const int *)field ? "true" : "false");
        break;
    case CLI_STRING:
        cli_format_string(t, field);
        break;
    }
}

static size_t cli_format_into(const cli_spec *spec, const void *cfg, char *buf, size_t size)
{
    cli_text t = {buf, size, 0};
    if (size)
        buf[0] = '\0';
    for (int i = 0; i < spec->nopts; i++) {
        cli_text_add(&t, "%s = ", spec->opts[i].name);
        cli_format_value(&t, &spec->opts[i], cfg);
        cli_text_add(&t, "\n");
    }
    return t.len;
}

char *cli_format(const cli_spec *spec, const void *cfg, char *buf, size_t bufsize)
{
    cli_format_into(spec, cfg, buf, bufsize);
    return buf;
}

char *cli_format_alloc(const cli_spec *spec, const void *cfg)
{
    size_t n = cli_format_into(spec, cfg, NULL, 0) + 1;
    char *buf = rd_malloc(n, "the resolved config text");
    cli_format_into(spec, cfg, buf, n);
    return buf;
}

static const char *cli_type_word(cli_type type)
{
    switch (type) {
    case CLI_INT:
    case CLI_INT64:
        return "<int>";
    case CLI_DOUBLE:
        return "<number>";
    case CLI_STRING:
        return "<text>";
    case CLI_BOOL:
        return "";
    }
    return "";
}

/* One help row: the flag with its type, then the help line and the default, wrapped at
 * CLI_HELP_WIDTH columns under a 27-column indent. */
#define CLI_HELP_WIDTH 96
static void cli_help_row(const char *flag, const char *help, const char *def)
{
    char text[1024];
    snprintf(text, sizeof text, "%s%s%s%s", help ? help : "", def && help ? " " : "",
             def ? "(default: " : "", def ? def : "");
    if (def)
        strncat(text, ")", sizeof text - strlen(text) - 1);
    int col = printf("  %-24s ", flag), first = 1;
    for (const char *w = text; *w;) {
        while (*w == ' ')
            w++;
        int n = (int)strcspn(w, " ");
        if (n == 0)
            break;
        if (!first && col + 1 + n > CLI_HELP_WIDTH) {
            col = printf("\n%27s", "") - 1;
            first = 1;
        }
        col += printf("%s%.*s", first ? "" : " ", n, w);
        first = 0;
        w += n;
    }
    putchar('\n');
}

void cli_print_help(const cli_spec *spec)
{
    printf("usage: %s%s%s\n\n", spec->command, spec->usage ? " " : "",
           spec->usage ? spec->usage : "");
    if (spec->summary && *spec->summary)
        printf("%s\n\n", spec->summary);
    printf("flags (--name VALUE or --name=VALUE; a config file takes name = VALUE lines):\n");
    for (int i = 0; i < spec->nopts; i++) {
        const cli_opt *o = &spec->opts[i];
        char flag[96], def[RD_CLI_STR + 8];
        const char *d = o->def ? o->def : "";
        if (o->type == CLI_BOOL) {
            int on = 0;
            snprintf(flag, sizeof flag, "--[no-]%s", o->name);
            snprintf(def, sizeof def, "%s", cli_parse_bool(*d ? d : "0", &on) == 0 && on
                                                ? "on" : "off");
        } else {
            snprintf(flag, sizeof flag, "--%s %s", o->name, cli_type_word(o->type));
            snprintf(def, sizeof def, "%s", *d ? d : o->type == CLI_STRING ? "none" : "0");
        }
        cli_help_row(flag, o->help, def);
    }
    cli_help_row("--config <file>", "apply a name = value file here (later flags win)", NULL);
    cli_help_row("--help", "print this help", NULL);
}
