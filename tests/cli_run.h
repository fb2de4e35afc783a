/* cli_run.h — running bin/rankdet (test_rankdet_bin()) and shell commands from a test, with
 * the exit status and what the program printed, for the end-to-end command tests. */
#ifndef RD_TESTS_CLI_RUN_H
#define RD_TESTS_CLI_RUN_H

#include <stddef.h>

/* Run bin/rankdet with args (NULL-terminated, at most 30, without the program name); its
 * stdout and stderr go into out and err, each NUL-terminated and cut to size bytes. Returns
 * the exit status; fails the test when the program cannot be run or dies by a signal. */
int cli_run_rankdet(char *const *args, char *out, char *err, size_t size);

/* cli_run_rankdet with the arguments given as one line of words separated by spaces (no
 * quoting: no word may hold a space), as in "toy --seed 3 --loss ap". */
int cli_run_rankdet_line(const char *line, char *out, char *err, size_t size);

/* Run cmd through /bin/sh; its exit status, or -1 when it did not exit normally. */
int cli_run_shell(const char *cmd);

#endif
