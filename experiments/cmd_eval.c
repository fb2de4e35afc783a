/* cmd_eval.c — `rankdet eval`: the COCO bbox metrics of a results file against an instances
 * file (analysis/coco_eval: the numbers pycocotools' COCOeval prints), printed as
 * pycocotools prints them, per category on request, and with --json written to a file.
 * Exit status: 0 done, 1 bad input data, 2 usage error. */
#include <omp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/coco_eval.h"
#include "analysis/dets_json.h"
#include "data/coco_json.h"
#include "experiments/commands.h"
#include "lib/check.h"
#include "lib/cli.h"
#include "lib/progress.h"

typedef struct eval_cmd_config {
    char coco_gt[RD_CLI_STR];
    char coco_dt[RD_CLI_STR];
    char json[RD_CLI_STR];
    int per_category;
    int threads;
} eval_cmd_config;

static const cli_opt eval_cmd_opts[] = {
    {"coco-gt", CLI_STRING, offsetof(eval_cmd_config, coco_gt), "",
     "COCO instances file (ground truth)"},
    {"coco-dt", CLI_STRING, offsetof(eval_cmd_config, coco_dt), "",
     "COCO results file: [{image_id, category_id, bbox, score}, ...]"},
    {"json", CLI_STRING, offsetof(eval_cmd_config, json), "",
     "also write the numbers to this JSON file"},
    {"per-category", CLI_BOOL, offsetof(eval_cmd_config, per_category), "0",
     "print (and write) the numbers of every category"},
    {"threads", CLI_INT, offsetof(eval_cmd_config, threads), "0",
     "OpenMP threads; 0 for all cores"},
};

static const cli_spec eval_cmd_spec = {
    "rankdet eval", "--coco-gt GT.json --coco-dt DETS.json [--json OUT.json] [--per-category]",
    "Evaluates detections as pycocotools' COCOeval does (iouType bbox): AP over IoU\n"
    ".50:.05:.95, AP50, AP75, AP small/medium/large, AR at 1/10/100 detections and AR\n"
    "small/medium/large, with the same numbers to 1e-12. A detection of an image or category\n"
    "the ground truth does not have is an error (exit 1); an empty list gives AP 0.",
    eval_cmd_opts, (int)(sizeof eval_cmd_opts / sizeof eval_cmd_opts[0])};

/* s as a JSON string (quotes, backslashes and control characters escaped). */
static void eval_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* The numbers as JSON text into f. */
static void eval_coco_json_put(FILE *f, const eval_cmd_config *c, const coco_instances *gt,
                               const coco_eval_result *r, int64_t ndt)
{
    char v[32];
    fprintf(f, "{\n  \"metric\": \"coco_bbox\",\n  \"gt\": ");
    eval_json_string(f, c->coco_gt);
    fprintf(f, ",\n  \"dt\": ");
    eval_json_string(f, c->coco_dt);
    fprintf(f, ",\n  \"images\": %lld,\n  \"categories\": %lld,\n  \"detections\": %lld,\n"
            "  \"stats\": {", (long long)gt->nimages, (long long)gt->ncategories,
            (long long)ndt);
    for (int s = 0; s < COCO_STAT_COUNT; s++)
        fprintf(f, "%s\"%s\": %s", s ? ", " : "", coco_eval_stat_name(s),
                dets_json_format_double(r->stats[s], v));
    fprintf(f, "}");
    if (c->per_category) {
        fprintf(f, ",\n  \"per_category\": [");
        for (int64_t k = 0; k < r->ncategories; k++) {
            int64_t pos = coco_id_index_find(&gt->category_index, r->category_ids[k]);
            fprintf(f, "%s\n    {\"id\": %lld, \"name\": ", k ? "," : "",
                    (long long)r->category_ids[k]);
            eval_json_string(f, gt->categories[pos].name);
            fprintf(f, ", \"num_gt\": %lld, \"num_dt\": %lld", (long long)r->num_gt[k],
                    (long long)r->num_dt[k]);
            for (int s = 0; s < COCO_STAT_COUNT; s++)
                fprintf(f, ", \"%s\": %s", coco_eval_stat_name(s),
                        dets_json_format_double(coco_eval_stat_value(r, k, s), v));
            fprintf(f, "}");
        }
        fprintf(f, "\n  ]");
    }
    fprintf(f, "\n}\n");
}

/* Write the JSON file atomically; 0, or -1 after a message. */
static int eval_coco_write_json(const eval_cmd_config *c, const coco_instances *gt,
                                const coco_eval_result *r, int64_t ndt)
{
    char tmp[RD_CLI_STR + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", c->json, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        rd_error("--json %s: cannot write it", c->json);
        return -1;
    }
    eval_coco_json_put(f, c, gt, r, ndt);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, c->json) != 0) {
        remove(tmp);
        rd_error("--json %s: write failed", c->json);
        return -1;
    }
    return 0;
}

/* The per-category table: id, name, counts, the AP numbers ("-" where undefined). */
static void eval_coco_print_categories(const coco_instances *gt, const coco_eval_result *r)
{
    static const coco_eval_stat cols[] = {COCO_STAT_AP, COCO_STAT_AP50, COCO_STAT_AP75,
                                          COCO_STAT_APS, COCO_STAT_APM, COCO_STAT_APL,
                                          COCO_STAT_AR100};
    printf("\n%6s  %-20s %7s %8s", "id", "category", "gt", "dets");
    for (size_t j = 0; j < sizeof cols / sizeof cols[0]; j++)
        printf(" %6s", coco_eval_stat_name(cols[j]));
    printf("\n");
    for (int64_t k = 0; k < r->ncategories; k++) {
        int64_t pos = coco_id_index_find(&gt->category_index, r->category_ids[k]);
        printf("%6lld  %-20.20s %7lld %8lld", (long long)r->category_ids[k],
               gt->categories[pos].name, (long long)r->num_gt[k], (long long)r->num_dt[k]);
        for (size_t j = 0; j < sizeof cols / sizeof cols[0]; j++) {
            double v = coco_eval_stat_value(r, k, cols[j]);
            if (v < 0)
                printf(" %6s", "-");
            else
                printf(" %6.3f", v);
        }
        printf("\n");
    }
}

static int eval_coco_run(const eval_cmd_config *c)
{
    coco_instances gt;
    coco_results dt;
    coco_eval_result r;
    char err[1024];
    double t0 = rd_seconds();
    if (coco_json_read_instances(c->coco_gt, &gt, err, sizeof err) != 0) {
        rd_error("%s", err);
        return 1;
    }
    if (coco_json_read_results(c->coco_dt, &dt, err, sizeof err) != 0) {
        rd_error("%s", err);
        coco_instances_free(&gt);
        return 1;
    }
    double t1 = rd_seconds();
    int rc = coco_eval_json(&gt, &dt, c->coco_dt, &r, err, sizeof err);
    if (rc != 0)
        rd_error("%s", err);
    else {
        double t2 = rd_seconds();
        printf("COCO bbox: %lld images, %lld categories, %lld ground truth, %lld detections "
               "(read %.2f s, evaluated %.2f s)\n", (long long)gt.nimages,
               (long long)gt.ncategories, (long long)gt.nannotations, (long long)dt.n, t1 - t0,
               t2 - t1);
        for (int s = 0; s < COCO_STAT_COUNT; s++)
            printf("%s = %0.3f\n", coco_eval_stat_title(s), r.stats[s]);
        if (c->per_category)
            eval_coco_print_categories(&gt, &r);
        if (*c->json && eval_coco_write_json(c, &gt, &r, dt.n) != 0)
            rc = -1;
        coco_eval_result_free(&r);
    }
    coco_results_free(&dt);
    coco_instances_free(&gt);
    return rc == 0 ? 0 : 1;
}

int cmd_eval(int argc, char **argv)
{
    eval_cmd_config c;
    cli_defaults(&eval_cmd_spec, &c);
    int npos = 0;
    cli_result r = cli_parse(&eval_cmd_spec, &c, argc, argv, NULL, 0, &npos);
    if (r != CLI_OK)
        return r == CLI_HELP ? 0 : 2;
    if (!*c.coco_gt || !*c.coco_dt) {
        cli_error(&eval_cmd_spec, "give both --coco-gt GT.json and --coco-dt DETS.json");
        return 2;
    }
    if (c.threads < 0) {
        cli_error(&eval_cmd_spec, "--threads must be >= 0, got %d", c.threads);
        return 2;
    }
    if (c.threads > 0)
        omp_set_num_threads(c.threads);
    return eval_coco_run(&c);
}
