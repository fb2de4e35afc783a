/* commands.h — the subcommands of bin/rankdet. Each takes argv after the command name
 * (argv[0] is the command) and returns the process exit status. */
#ifndef RD_COMMANDS_H
#define RD_COMMANDS_H

int cmd_loss(int argc, char **argv);    // experiments/cmd_loss.c
int cmd_toy(int argc, char **argv);     // experiments/cmd_toy.c
int cmd_bench(int argc, char **argv);   // experiments/cmd_bench.c
int cmd_export(int argc, char **argv);  // experiments/cmd_export.c
int cmd_synth(int argc, char **argv);   // experiments/cmd_synth.c
int cmd_eval(int argc, char **argv);    // experiments/cmd_eval.c
int cmd_detect(int argc, char **argv);  // experiments/cmd_detect.c
int cmd_tables(int argc, char **argv);  // experiments/cmd_tables.c
int cmd_train(int argc, char **argv);   // experiments/cmd_train.c

/* Build identity, for logs and --version. */
const char *rankdet_version(void);
const char *rankdet_git_commit(void);

#endif
