/* cmd_train.c — `rankdet train CONFIG [key=value ...]` (experiments/train_run.h). The config
 * sources, later ones winning: the table's defaults, the CONFIG file, key=value arguments in
 * order, then --key value flags. */
#include <stdlib.h>
#include <string.h>

#include "experiments/commands.h"
#include "experiments/train_run.h"
#include "lib/runlog.h"

#define TRAIN_MAX_ARGS 256

int cmd_train(int argc, char **argv)
{
    static train_run_config c;
    char *pos[TRAIN_MAX_ARGS];
    int npos = 0;
    cli_defaults(&train_run_spec, &c);
    cli_result r = cli_parse(&train_run_spec, &c, argc, argv, pos, TRAIN_MAX_ARGS, &npos);
    if (r != CLI_OK)
        return r == CLI_HELP ? 0 : 2;
    cli_defaults(&train_run_spec, &c);
    for (int i = 0; i < npos; i++) {
        char *eq = strchr(pos[i], '=');
        if (eq == NULL) {
            if (i > 0) {
                cli_error(&train_run_spec, "'%s': the config file comes first; then key=value",
                          pos[i]);
                return 2;
            }
            if (cli_load_file(&train_run_spec, &c, pos[i]) != CLI_OK)
                return 2;
            continue;
        }
        *eq = '\0';
        r = cli_set(&train_run_spec, &c, pos[i], eq + 1, "command line");
        *eq = '=';
        if (r != CLI_OK)
            return 2;
    }
    if (cli_parse(&train_run_spec, &c, argc, argv, pos, TRAIN_MAX_ARGS, &npos) != CLI_OK)
        return 2;
    char *line = runlog_join_argv(argc, argv);
    int rc = train_run(&c, line);
    free(line);
    return rc;
}
