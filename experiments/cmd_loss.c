/* cmd_loss.c — placeholder until the command lands. */
#include <stdio.h>
#include "experiments/commands.h"
int cmd_loss(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "rankdet loss: not built yet\n"); return 1; }
