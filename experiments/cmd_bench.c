/* cmd_bench.c — placeholder until the command lands. */
#include <stdio.h>
#include "experiments/commands.h"
int cmd_bench(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "rankdet bench: not built yet\n"); return 1; }
