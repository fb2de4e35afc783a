/* cli.h — one config struct per tool, parsed from one table: long flags (`--name V`,
 * `--name=V`, `--flag`, `--no-flag`), an optional `key = value` file (`--config FILE`, keys
 * are flag names; '-' and '_' are the same), `--help` generated from the table, and the
 * resolved config as text for run logs. Later sources win: defaults, config file, flags. */
#ifndef RD_CLI_H
#define RD_CLI_H

#include <stddef.h>

#define RD_CLI_STR 512  // capacity of a CLI_STRING field: char field[RD_CLI_STR]

typedef enum cli_type {
    CLI_INT,     // int field
    CLI_INT64,   // int64_t field
    CLI_DOUBLE,  // double field
    CLI_BOOL,    // int field, 0 or 1; `--name` sets it, `--no-name` clears it
    CLI_STRING,  // char field[RD_CLI_STR]
} cli_type;

typedef struct cli_opt {
    const char *name;     // flag name without dashes, e.g. "delta"
    cli_type type;
    size_t offset;        // offsetof(config struct, field)
    const char *def;      // default as text ("1", "0.5", "ap", "" for none)
    const char *help;     // one line
} cli_opt;

typedef struct cli_spec {
    const char *command;  // "rankdet loss"
    const char *usage;    // "NAME --in IN.h5 --out OUT.h5 [flags]"
    const char *summary;  // a sentence or two for --help
    const cli_opt *opts;
    int nopts;
} cli_spec;

typedef enum cli_result {
    CLI_OK = 0,
    CLI_HELP,    // --help was given and printed on stdout: exit 0
    CLI_ERROR,   // a message naming the flag and the problem went to stderr: exit 2
} cli_result;

/* Set every field of cfg to its default. Aborts if a default does not parse (a table bug). */
void cli_defaults(const cli_spec *spec, void *cfg);
/* Parse argv[1..argc-1] (argv[0] is the command name) over cfg, which holds defaults.
 * Arguments that are not flags are collected in order into positional[], at most
 * max_positional of them (more is an error); *npositional receives their count. */
cli_result cli_parse(const cli_spec *spec, void *cfg, int argc, char **argv,
                     char **positional, int max_positional, int *npositional);
/* Apply a `key = value` file ('#' starts a comment). CLI_ERROR names the file and line. */
cli_result cli_load_file(const cli_spec *spec, void *cfg, const char *path);
/* Apply one `key=value` pair (also used by `rankdet train CONFIG key=value`). */
cli_result cli_set(const cli_spec *spec, void *cfg, const char *key, const char *value,
                   const char *origin);
/* The resolved config as "key = value\n" lines, in table order, into buf. Returns buf. */
char *cli_format(const cli_spec *spec, const void *cfg, char *buf, size_t bufsize);
/* The same text in a buffer of the right size, which the caller frees. Cannot fail. */
char *cli_format_alloc(const cli_spec *spec, const void *cfg);
/* Print --help for spec on stdout. */
void cli_print_help(const cli_spec *spec);
/* A usage error in the parser's words, for checks a command makes after parsing:
 * "COMMAND: error: <message> (see COMMAND --help)" on stderr. The caller exits 2. */
void cli_error(const cli_spec *spec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
