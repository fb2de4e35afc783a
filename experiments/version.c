/* version.c — build identity; the Makefile rebuilds this file on every build. */
#include "experiments/commands.h"

#ifndef RANKDET_GIT_COMMIT
#define RANKDET_GIT_COMMIT "unknown"
#endif

const char *rankdet_version(void) { return "0.1.0"; }
const char *rankdet_git_commit(void) { return RANKDET_GIT_COMMIT; }
