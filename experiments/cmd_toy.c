/* cmd_toy.c — placeholder until the command lands. */
#include <stdio.h>
#include "experiments/commands.h"
int cmd_toy(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "rankdet toy: not built yet\n"); return 1; }
