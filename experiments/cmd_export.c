/* cmd_export.c — placeholder until the command lands. */
#include <stdio.h>
#include "experiments/commands.h"
int cmd_export(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "rankdet export: not built yet\n"); return 1; }
