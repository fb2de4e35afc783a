/* cli_run.c — fork and exec bin/rankdet with its output captured in temporary files (its
 * arguments as an array or as one line of words), and shell commands through system() (see
 * cli_run.h). */
#include "tests/cli_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/check_main.h"

int cli_run_rankdet(char *const *args, char *out, char *err, size_t size)
{
    enum { MAX_ARGS = 30 };
    char *argv[MAX_ARGS + 2] = {(char *)test_rankdet_bin()};
    int argc = 1;
    for (; args[argc - 1]; argc++) {
        ck_assert_msg(argc <= MAX_ARGS, "more than %d arguments for %s", MAX_ARGS, argv[0]);
        argv[argc] = args[argc - 1];
    }
    argv[argc] = NULL;
    FILE *fo = tmpfile(), *fe = tmpfile();
    ck_assert(fo && fe);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fileno(fo), 1);
        dup2(fileno(fe), 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    FILE *files[2] = {fo, fe};
    char *bufs[2] = {out, err};
    for (int k = 0; k < 2; k++) {
        rewind(files[k]);
        bufs[k][fread(bufs[k], 1, size - 1, files[k])] = '\0';
        fclose(files[k]);
    }
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 127, "cannot run %s", argv[0]);
    return WEXITSTATUS(status);
}

int cli_run_rankdet_line(const char *line, char *out, char *err, size_t size)
{
    enum { MAX_ARGS = 30 };
    char *copy = strdup(line), *args[MAX_ARGS + 1];
    ck_assert_ptr_nonnull(copy);
    int n = 0;
    for (char *w = strtok(copy, " "); w != NULL; w = strtok(NULL, " ")) {
        ck_assert_msg(n < MAX_ARGS, "more than %d arguments in '%s'", MAX_ARGS, line);
        args[n++] = w;
    }
    args[n] = NULL;
    int rc = cli_run_rankdet(args, out, err, size);
    free(copy);
    return rc;
}

int cli_run_shell(const char *cmd)
{
    int st = system(cmd);
    return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}
