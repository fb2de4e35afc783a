/* test_cli.c — lib/cli: defaults, every flag type in both spellings, booleans, positionals,
 * config files (comments, quoting, precedence), error messages (flag or file:line named),
 * --help, and cli_format read back into the same config. Expected values are hand written. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cli.h"
#include "tests/check_main.h"

typedef struct test_cfg {
    int count;
    int64_t big;
    double rate;
    int verbose;
    char name[RD_CLI_STR];
    int dry_run;
} test_cfg;

static const cli_opt test_opts[] = {
    {"count", CLI_INT, offsetof(test_cfg, count), "3", "how many"},
    {"big-num", CLI_INT64, offsetof(test_cfg, big), "-5", "a 64-bit number"},
    {"rate", CLI_DOUBLE, offsetof(test_cfg, rate), "0.5", "a real number"},
    {"verbose", CLI_BOOL, offsetof(test_cfg, verbose), "1", "talk more"},
    {"name", CLI_STRING, offsetof(test_cfg, name), "ap", "a name"},
    {"dry_run", CLI_BOOL, offsetof(test_cfg, dry_run), "0", "do nothing"},
};
static const cli_spec test_spec = {"rankdet t", "[flags] ARG", "A test command.", test_opts, 6};

/* Redirects a file descriptor (stdout or stderr) into a temporary file while a call runs. */
typedef struct capture {
    int fd, saved;
    FILE *tmp;
} capture;

static void capture_begin(capture *c, int fd)
{
    fflush(NULL);
    c->fd = fd;
    c->tmp = tmpfile();
    ck_assert_ptr_nonnull(c->tmp);
    c->saved = dup(fd);
    dup2(fileno(c->tmp), fd);
}

static const char *capture_end(capture *c, char *buf, size_t size)
{
    fflush(NULL);
    dup2(c->saved, c->fd);
    close(c->saved);
    rewind(c->tmp);
    size_t n = fread(buf, 1, size - 1, c->tmp);
    buf[n] = '\0';
    fclose(c->tmp);
    return buf;
}

/* Parse argv (NULL-terminated, after the command name) over defaults; stderr into err. */
static cli_result parse(test_cfg *c, char **argv, char **pos, int maxpos, int *npos, char *err,
                        size_t errsize)
{
    int argc = 1;
    char *full[32] = {"t"};
    for (; argv[argc - 1]; argc++)
        full[argc] = argv[argc - 1];
    cli_defaults(&test_spec, c);
    capture cap;
    capture_begin(&cap, 2);
    cli_result r = cli_parse(&test_spec, c, argc, full, pos, maxpos, npos);
    capture_end(&cap, err, errsize);
    return r;
}

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *path = test_path_in(dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(test_cli_defaults)
{
    test_cfg c;
    memset(&c, 0x5a, sizeof c);
    cli_defaults(&test_spec, &c);
    ck_assert_int_eq(c.count, 3);
    ck_assert_int_eq(c.big, -5);
    ck_assert_double_eq(c.rate, 0.5);
    ck_assert_int_eq(c.verbose, 1);
    ck_assert_str_eq(c.name, "ap");
    ck_assert_int_eq(c.dry_run, 0);
}
END_TEST

START_TEST(test_cli_every_type_both_spellings)
{
    test_cfg c;
    char err[1024];
    char *a1[] = {"--count=7", "--big-num", "9000000000", "--rate=-2.5e-3", "--name", "a b",
                  NULL};
    ck_assert_int_eq(parse(&c, a1, NULL, 0, NULL, err, sizeof err), CLI_OK);
    ck_assert_int_eq(c.count, 7);
    ck_assert_int_eq(c.big, INT64_C(9000000000));
    ck_assert_double_eq(c.rate, -2.5e-3);
    ck_assert_str_eq(c.name, "a b");
    char *a2[] = {"--count", "-12", "--big_num=-9000000001", "--rate", "-0.25", "--name=x=y",
                  NULL};
    ck_assert_int_eq(parse(&c, a2, NULL, 0, NULL, err, sizeof err), CLI_OK);
    ck_assert_int_eq(c.count, -12);
    ck_assert_int_eq(c.big, INT64_C(-9000000001));
    ck_assert_double_eq(c.rate, -0.25);
    ck_assert_str_eq(c.name, "x=y");
    ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(test_cli_bools)
{
    test_cfg c;
    char err[1024];
    char *a1[] = {"--no-verbose", "--dry-run", NULL};
    ck_assert_int_eq(parse(&c, a1, NULL, 0, NULL, err, sizeof err), CLI_OK);
    ck_assert_int_eq(c.verbose, 0);
    ck_assert_int_eq(c.dry_run, 1);
    char *a2[] = {"--dry_run=yes", "--verbose=false", "--no_verbose", "--verbose", NULL};
    ck_assert_int_eq(parse(&c, a2, NULL, 0, NULL, err, sizeof err), CLI_OK);
    ck_assert_int_eq(c.dry_run, 1);
    ck_assert_int_eq(c.verbose, 1);
    char *a3[] = {"--no-verbose=1", NULL};
    ck_assert_int_eq(parse(&c, a3, NULL, 0, NULL, err, sizeof err), CLI_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "--no-verbose takes no value"));
    char *a4[] = {"--verbose=maybe", NULL};
    ck_assert_int_eq(parse(&c, a4, NULL, 0, NULL, err, sizeof err), CLI_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "--verbose expects true or false, got 'maybe'"));
    char *a5[] = {"--no-count", NULL};
    ck_assert_int_eq(parse(&c, a5, NULL, 0, NULL, err, sizeof err), CLI_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "unknown flag '--no-count'"));
}
END_TEST

START_TEST(test_cli_positionals)
{
    test_cfg c;
    char err[1024], *pos[3];
    int npos = -1;
    char *a1[] = {"first", "--count", "2", "-1.5", "--", "--rate", NULL};
    ck_assert_int_eq(parse(&c, a1, pos, 3, &npos, err, sizeof err), CLI_OK);
    ck_assert_int_eq(npos, 3);
    ck_assert_str_eq(pos[1], "-1.5");  // a negative number is an argument, not a flag
    ck_assert_str_eq(pos[2], "--rate");
    char *a2[] = {"first", "--count", "2", "--", "--rate", NULL};
    ck_assert_int_eq(parse(&c, a2, pos, 2, &npos, err, sizeof err), CLI_OK);
    ck_assert_int_eq(npos, 2);
    ck_assert_str_eq(pos[0], "first");
    ck_assert_str_eq(pos[1], "--rate");
    ck_assert_int_eq(c.count, 2);
    ck_assert_double_eq(c.rate, 0.5);
    char *a3[] = {"a", "b", "c", NULL};
    ck_assert_int_eq(parse(&c, a3, pos, 2, &npos, err, sizeof err), CLI_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "too many arguments: 'c' (at most 2)"));
    char *a4[] = {"stray", NULL};
    ck_assert_int_eq(parse(&c, a4, NULL, 0, NULL, err, sizeof err), CLI_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "unexpected argument 'stray'"));
}
END_TEST

START_TEST(test_cli_config_file_and_precedence)
{
    char *dir = test_tmpdir();
    char *path = write_file(dir, "a.cfg",
                            "# settings for a test\n"
                            "count = 11   # trailing comment\n"
                            "\n"
                            "   big_num=12\n"
                            "rate = 1e-3\n"
                            "verbose = off\n"
                            "name = \"has # hash, \\\"quotes\\\" and  spaces \"\n");
    test_cfg c;
    cli_defaults(&test_spec, &c);
    ck_assert_int_eq(cli_load_file(&test_spec, &c, path), CLI_OK);
    ck_assert_int_eq(c.count, 11);
    ck_assert_int_eq(c.big, 12);
    ck_assert_double_eq(c.rate, 1e-3);
    ck_assert_int_eq(c.verbose, 0);
    ck_assert_str_eq(c.name, "has # hash, \"quotes\" and  spaces ");
    char err[1024];
    char *a1[] = {"--count", "5", "--config", path, NULL};  // the file comes later: it wins
    ck_assert_int_eq(parse(&c, a1, NULL, 0, NULL, err, sizeof err), CLI_OK);
    ck_assert_int_eq(c.count, 11);
    char *a2[] = {"--config", path, "--count=5", "--verbose", NULL};  // flags after it win
    ck_assert_int_eq(parse(&c, a2, NULL, 0, NULL, err, sizeof err), CLI_OK);
    ck_assert_int_eq(c.count, 5);
    ck_assert_int_eq(c.verbose, 1);
    ck_assert_double_eq(c.rate, 1e-3);
    ck_assert_int_eq(c.big, 12);
    ck_assert_int_eq(cli_set(&test_spec, &c, "big-num", "-7", "test"), CLI_OK);
    ck_assert_int_eq(c.big, -7);
    free(path);
    free(dir);
}
END_TEST

/* Parse argv and expect CLI_ERROR with phrase in the message. */
static void expect_error(char **argv, const char *phrase)
{
    test_cfg c;
    char err[2048];
    ck_assert_int_eq(parse(&c, argv, NULL, 0, NULL, err, sizeof err), CLI_ERROR);
    ck_assert_msg(strstr(err, phrase) != NULL, "expected '%s' in: %s", phrase, err);
    ck_assert_msg(strstr(err, "(see rankdet t --help)") != NULL, "no --help hint in: %s", err);
}

START_TEST(test_cli_flag_errors)
{
    expect_error((char *[]){"--bogus", "1", NULL}, "unknown flag '--bogus'");
    expect_error((char *[]){"--cont", "1", NULL}, "unknown flag '--cont'; did you mean --count?");
    expect_error((char *[]){"-c", NULL}, "unknown flag '-c'");
    expect_error((char *[]){"--rate", "abc", NULL},
                 "rankdet t: error: --rate expects a number, got 'abc'");
    expect_error((char *[]){"--rate=1.5x", NULL}, "--rate expects a number, got '1.5x'");
    expect_error((char *[]){"--rate", "inf", NULL}, "--rate expects a finite number, got 'inf'");
    expect_error((char *[]){"--count", NULL}, "--count is missing its value");
    expect_error((char *[]){"--count", "--rate", "1", NULL}, "--count is missing its value");
    expect_error((char *[]){"--count", "1.5", NULL}, "--count expects an integer, got '1.5'");
    expect_error((char *[]){"--count", "3000000000", NULL},
                 "--count expects an integer from -2147483648 to 2147483647, got '3000000000'");
    expect_error((char *[]){"--big-num", "99999999999999999999", NULL},
                 "--big-num expects an integer from");
    expect_error((char *[]){"--config", "/nonexistent/x.cfg", NULL},
                 "cannot read config file '/nonexistent/x.cfg'");
    char long_name[RD_CLI_STR + 10];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    expect_error((char *[]){"--name", long_name, NULL},
                 "--name is too long (521 characters; at most 511)");
}
END_TEST

START_TEST(test_cli_config_errors_name_file_and_line)
{
    char *dir = test_tmpdir();
    struct { const char *text, *phrase; } cases[] = {
        {"count = 1\n# fine\nrate = fast\n", "b.cfg:3: rate expects a number, got 'fast'"},
        {"count = 1\njust words\n", "b.cfg:2: expected 'key = value'"},
        {"colour = red\n", "b.cfg:1: unknown key 'colour'"},
        {"\n\ncout = 2\n", "b.cfg:3: unknown key 'cout'; did you mean --count?"},
        {"name = \"open\n", "b.cfg:1: expected a closing '\"'"},
        {"= 4\n", "b.cfg:1: expected a key before '='"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = write_file(dir, "b.cfg", cases[i].text);
        test_cfg c;
        cli_defaults(&test_spec, &c);
        char err[2048];
        capture cap;
        capture_begin(&cap, 2);
        cli_result r = cli_load_file(&test_spec, &c, path);
        capture_end(&cap, err, sizeof err);
        ck_assert_int_eq(r, CLI_ERROR);
        ck_assert_msg(strstr(err, cases[i].phrase) != NULL, "case %zu: expected '%s' in: %s", i,
                      cases[i].phrase, err);
        free(path);
    }
    free(dir);
}
END_TEST

START_TEST(test_cli_format_round_trip)
{
    test_cfg a, b;
    cli_defaults(&test_spec, &a);
    a.count = -7;
    a.big = INT64_MIN;
    a.rate = 0.1;
    a.verbose = 0;
    a.dry_run = 1;
    strcpy(a.name, " lead # and \"quote\" \\ back\nslash ");
    char text[4096];
    cli_format(&test_spec, &a, text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, "count = -7\nbig-num = -9223372036854775808\n"
                                       "rate = 0.1\nverbose = false\n"));
    ck_assert_ptr_nonnull(strstr(text, "dry_run = true\n"));
    char *dir = test_tmpdir();
    char *path = write_file(dir, "round.cfg", text);
    cli_defaults(&test_spec, &b);
    ck_assert_int_eq(cli_load_file(&test_spec, &b, path), CLI_OK);
    ck_assert_int_eq(b.count, a.count);
    ck_assert_int_eq(b.big, a.big);
    ck_assert_double_eq(b.rate, a.rate);
    ck_assert_int_eq(b.verbose, a.verbose);
    ck_assert_int_eq(b.dry_run, a.dry_run);
    ck_assert_str_eq(b.name, a.name);
    a.rate = 0.1 + 0.2;  // needs all 17 digits
    char *again = cli_format_alloc(&test_spec, &a);
    ck_assert_ptr_nonnull(strstr(again, "rate = 0.30000000000000004\n"));
    free(again);
    char tiny[16];
    cli_format(&test_spec, &a, tiny, sizeof tiny);  // truncates, still a string
    ck_assert_str_eq(tiny, "count = -7\nbig-");
    free(path);
    free(dir);
}
END_TEST

START_TEST(test_cli_help_lists_every_flag)
{
    test_cfg c;
    char out[8192];
    capture cap;
    capture_begin(&cap, 1);
    char *argv[] = {"t", "--count", "abc", "--help"};
    cli_defaults(&test_spec, &c);
    cli_result r = cli_parse(&test_spec, &c, 4, argv, NULL, 0, NULL);
    capture_end(&cap, out, sizeof out);
    ck_assert_int_eq(r, CLI_HELP);
    const char *expect[] = {
        "usage: rankdet t [flags] ARG\n", "A test command.",
        "--count <int>", "how many (default: 3)\n",
        "--big-num <int>", "a 64-bit number (default: -5)\n",
        "--rate <number>", "a real number (default: 0.5)\n",
        "--[no-]verbose", "talk more (default: on)\n",
        "--name <text>", "a name (default: ap)\n",
        "--[no-]dry_run", "do nothing (default: off)\n",
        "--config <file>", "--help"};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        ck_assert_msg(strstr(out, expect[i]) != NULL, "help lacks '%s':\n%s", expect[i], out);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_add_test(tc, test_cli_defaults);
    tcase_add_test(tc, test_cli_every_type_both_spellings);
    tcase_add_test(tc, test_cli_bools);
    tcase_add_test(tc, test_cli_positionals);
    tcase_add_test(tc, test_cli_config_file_and_precedence);
    tcase_add_test(tc, test_cli_flag_errors);
    tcase_add_test(tc, test_cli_config_errors_name_file_and_line);
    tcase_add_test(tc, test_cli_format_round_trip);
    tcase_add_test(tc, test_cli_help_lists_every_flag);
    suite_add_tcase(s, tc);
    return s;
}
