/* tables.h — the paper's Tables 1-3 (Chen et al., CVPR 2019; paper_tables/tableN.tsv) side by side
 * with rankdet's results, as Markdown and LaTeX (`rankdet tables`).
 *
 * Results are read from the layout of results/README.md:
 *   RESULTS/<experiment>/<preset>-<data>/<variant>/seed<k>/metrics.tsv  (and config.txt)
 * with experiments table1a table1b table1c table2 table3. Each <preset>-<data> folder becomes
 * one table of its part; each paper row is matched to a variant (batch size 1 <-> bs1,
 * δ 0.25 <-> delta0.25, interpolation no <-> interp_no, loss ap <-> ap, Table 3 single- or
 * multi-scale test of AP-loss <-> ss, ms); variants with no paper row follow as extra rows.
 * A row shows the paper's numbers beside rankdet's mean ± std over the seeds (×100, one
 * decimal; std with n - 1; "± —" when one seed gives no std) and the number of seeds; a row
 * without results shows "—".
 *
 * VOC or COCO columns (Tables 2 and 3): rankdet's numbers go under the columns of the metric
 * its evaluation set was scored with, decided from the config.txt of the folder's runs
 * (tables_family_of_config): COCO for a COCO or YOLO evaluation set, VOC otherwise. */
#ifndef RD_TABLES_H
#define RD_TABLES_H

#include <stddef.h>
#include <stdio.h>

enum { TABLES_NMETRICS = 6 };  // AP AP50 AP75 APs APm APl, the columns of metrics.tsv

typedef enum tables_family {
    TABLES_FAMILY_VOC = 0,  // VOC-format evaluation set: the VOC metric and columns
    TABLES_FAMILY_COCO,     // COCO or YOLO evaluation set: the COCO metric and columns
} tables_family;

/* Read one run's metrics.tsv: a header line `# AP AP50 AP75 APs APm APl` (these six names,
 * any order, more columns allowed) and exactly one row of numbers, tab- or space-separated.
 * Each value must be in [0, 1], or -1 (pycocotools' "no ground truth in this area range",
 * kept as -1 and left out of means). 0 with values[TABLES_NMETRICS] in AP..APl order, or -1
 * with "PATH: line N: what is wrong" in err. */
int tables_read_metrics(const char *path, double values[TABLES_NMETRICS], char *err,
                        size_t errsize);

/* Mean and sample standard deviation (divisor n - 1) of v[0..n-1]; *std is NAN when n < 2
 * and both are NAN when n = 0. Cannot fail. */
void tables_mean_std(const double *v, int n, double *mean, double *std);

/* The metric family of a run from its resolved config (config.txt, `key = value` lines; keys
 * with '-' or '_' alike). The rule, first match wins:
 *   1. a `format` key: voc -> VOC; coco or yolo -> COCO;
 *   2. `data`, `val-data`, `train-split` or `val-split` names a .json file -> COCO;
 *   3. the evaluation root (`val-data`, else `data`) is a folder here that holds Annotations/
 *      or annotations/ with XML -> VOC; annotations/ with a .json, or labels/ (YOLO) -> COCO;
 *   4. otherwise by name: the root's last path component starts with "coco" or "yolo"
 *      (case-insensitive) -> COCO; anything else (synth, fruits, VOC2007, ...) -> VOC.
 * config may be NULL (no config.txt): rule 4 on fallback_name, the <data> part of the results
 * folder. Cannot fail. */
tables_family tables_family_of_config(const char *config, const char *fallback_name);

/* ---- the pieces tables_generate is made of (tables.c reads, tables_render.c renders) ---- */

enum {
    TABLES_PATH = 1024,      // capacity of a path
    TABLES_MAX_KEYS = 3,     // fields before the numbers in a paper table
    TABLES_MAX_NUMS = 8,     // numbers per paper row
    TABLES_MAX_FIELDS = 16,
};

typedef struct tables_paper_row {
    char keys[TABLES_MAX_KEYS][32];  // table1: part setting value; table2: loss; table3: method multiscale
    char nums[TABLES_MAX_NUMS][16];  // as written in the file; "-" = not reported
} tables_paper_row;

typedef struct tables_paper {
    tables_paper_row *rows;  // [nrows], owned
    int nrows;
} tables_paper;

/* Read a paper table: '#' lines are comments, each other line nkeys + nnums tab-separated
 * fields, the numbers finite or "-". 0, or -1 with "PATH: line N: what" in err. The caller
 * frees t with tables_paper_free. */
int tables_read_paper(const char *path, int nkeys, int nnums, tables_paper *t, char *err,
                      size_t errsize);
void tables_paper_free(tables_paper *t);

typedef struct tables_variant {
    char name[64];                     // the variant folder: bs1, delta0.5, ap, ss, ...
    int n;                             // runs with a metrics.tsv
    int *seeds;                        // [n], ascending; owned
    double (*values)[TABLES_NMETRICS]; // [n] metrics of each run, in [0, 1] or -1; owned
} tables_variant;

typedef struct tables_group {
    char dir[TABLES_PATH];   // RESULTS/<experiment>/<preset>-<data>
    char preset[64];         // the folder name up to its first '-'
    char data[256];          // the rest
    tables_family family;    // from the first config.txt found (tables_family_of_config)
    int has_config;          // a config.txt was found
    tables_variant *variants;  // [nvariants], folder name order; owned
    int nvariants;
} tables_group;

/* The <preset>-<data> folders of RESULTS/<experiment> in name order (0 when it is missing).
 * The caller frees them with tables_names_free. Cannot fail. */
int tables_list_groups(const char *results, const char *experiment, char ***names);
void tables_names_free(char **names, int n);

/* Read RESULTS/<experiment>/<name>/<variant>/seed<k>/metrics.tsv (and config.txt) into g;
 * runs without metrics.tsv are noted on info and left out. 0, or -1 with a message naming
 * the malformed metrics.tsv in err. The caller frees g with tables_group_free. */
int tables_read_group(const char *results, const char *experiment, const char *name,
                      tables_group *g, FILE *info, char *err, size_t errsize);
void tables_group_free(tables_group *g);

typedef struct tables_options {
    const char *results;  // results root ("results")
    const char *paper;    // folder of table1.tsv table2.tsv table3.tsv ("paper_tables")
    const char *out;      // output folder, created if missing ("paper_tables/generated")
} tables_options;

/* Render table1 (parts a, b, c), table2 and table3 as OUT/tableN.md and OUT/tableN.tex
 * (each written to a temporary file and renamed). Progress and notes (result folders found,
 * runs left out because they have no metrics.tsv yet, parts with no results at all) go to
 * info. Returns 0; 1 after a message on stderr naming the file when a paper table or a
 * metrics.tsv is malformed or an output cannot be written (nothing is renamed into place for
 * the table being written). */
int tables_generate(const tables_options *opt, FILE *info);

#endif
