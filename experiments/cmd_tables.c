/* cmd_tables.c — `rankdet tables`: the paper's Tables 1-3 (paper_tables/tableN.tsv) beside
 * rankdet's results (results/<experiment>/<preset>-<data>/<variant>/seed<k>/metrics.tsv) as
 * Markdown and LaTeX, through analysis/tables.h. */
#include <stddef.h>
#include <stdio.h>

#include "analysis/tables.h"
#include "experiments/commands.h"
#include "lib/cli.h"

typedef struct tables_config {
    char results[RD_CLI_STR];
    char paper[RD_CLI_STR];
    char out[RD_CLI_STR];
} tables_config;

static const cli_opt tables_opts[] = {
    {"results", CLI_STRING, offsetof(tables_config, results), "results",
     "results root: <experiment>/<preset>-<data>/<variant>/seed<k>/metrics.tsv"},
    {"paper", CLI_STRING, offsetof(tables_config, paper), "paper_tables",
     "folder of the paper's numbers (table1.tsv table2.tsv table3.tsv)"},
    {"out", CLI_STRING, offsetof(tables_config, out), "paper_tables/generated",
     "output folder (created): table1.md table1.tex ... table3.tex"},
};

static const cli_spec tables_spec = {
    "rankdet tables", "[--results results] [--paper paper_tables] [--out paper_tables/generated]",
    "Writes Tables 1 (a, b, c), 2 and 3 of the AP-loss paper beside rankdet's mean ± std over\n"
    "seeds (×100), one table per results/<experiment>/<preset>-<data>/ folder, as Markdown\n"
    "(tableN.md) and LaTeX (tableN.tex, booktabs). Rows without results show \"—\". rankdet's\n"
    "numbers go under the COCO columns when the runs' config.txt names a COCO or YOLO\n"
    "evaluation set (a .json annotation file, a folder with annotations/*.json or labels/, or\n"
    "a dataset folder named coco* or yolo*), under the VOC columns otherwise.\n"
    "Exit 1 when a metrics.tsv or a paper table is malformed (the message names the file).",
    tables_opts, (int)(sizeof tables_opts / sizeof tables_opts[0])};

int cmd_tables(int argc, char **argv)
{
    tables_config c;
    cli_defaults(&tables_spec, &c);
    int npos = 0;
    cli_result r = cli_parse(&tables_spec, &c, argc, argv, NULL, 0, &npos);
    if (r != CLI_OK)
        return r == CLI_HELP ? 0 : 2;
    if (!*c.results || !*c.paper || !*c.out) {
        cli_error(&tables_spec, "--results, --paper and --out must not be empty");
        return 2;
    }
    tables_options o = {.results = c.results, .paper = c.paper, .out = c.out};
    return tables_generate(&o, stdout);
}
