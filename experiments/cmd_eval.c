/* cmd_eval.c — `rankdet eval`: the COCO bbox metrics of a results file against an instances
 * file (analysis/coco_eval: the numbers pycocotools' COCOeval prints), printed as
 * pycocotools prints them, per category on request; or the PASCAL VOC AP of detections (the
 * devkit's per-class result files or a COCO results file) against a VOC dataset
 * (analysis/voc_eval: the classic voc_eval.py numbers) per class. --json writes the numbers
 * to a file. Exit status: 0 done, 1 bad input data, 2 usage error. */
#include <omp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/coco_eval.h"
#include "analysis/dets_json.h"
#include "analysis/voc_eval.h"
#include "data/coco_json.h"
#include "experiments/commands.h"
#include "lib/check.h"
#include "lib/cli.h"
#include "lib/progress.h"

typedef struct eval_cmd_config {
    char coco_gt[RD_CLI_STR];
    char coco_dt[RD_CLI_STR];
    char voc[RD_CLI_STR];
    char dets[RD_CLI_STR];
    char metric[RD_CLI_STR];
    char split[RD_CLI_STR];
    char json[RD_CLI_STR];
    int per_category;
    int threads;
} eval_cmd_config;

static const cli_opt eval_cmd_opts[] = {
    {"coco-gt", CLI_STRING, offsetof(eval_cmd_config, coco_gt), "",
     "COCO instances file (ground truth)"},
    {"coco-dt", CLI_STRING, offsetof(eval_cmd_config, coco_dt), "",
     "COCO results file: [{image_id, category_id, bbox, score}, ...]"},
    {"voc", CLI_STRING, offsetof(eval_cmd_config, voc), "",
     "VOC dataset: a devkit root (Annotations/, JPEGImages/, ImageSets/Main/) or a folder of "
     "image/XML pairs"},
    {"dets", CLI_STRING, offsetof(eval_cmd_config, dets), "",
     "VOC detections: a folder of comp4_det_test_CLASS.txt files, a pattern with {} for the "
     "class, or a COCO results .json"},
    {"metric", CLI_STRING, offsetof(eval_cmd_config, metric), "voc07",
     "VOC AP rule: voc07 (11-point) or voc10 (area under the curve)"},
    {"split", CLI_STRING, offsetof(eval_cmd_config, split), "",
     "VOC image list ImageSets/Main/SPLIT.txt; default: test when it exists, else every image"},
    {"json", CLI_STRING, offsetof(eval_cmd_config, json), "",
     "also write the numbers to this JSON file"},
    {"per-category", CLI_BOOL, offsetof(eval_cmd_config, per_category), "0",
     "print (and write) the numbers of every category"},
    {"threads", CLI_INT, offsetof(eval_cmd_config, threads), "0",
     "OpenMP threads; 0 for all cores"},
};

static const cli_spec eval_cmd_spec = {
    "rankdet eval",
    "--coco-gt GT.json --coco-dt DETS.json [--json OUT.json] [--per-category]\n"
    "   or: rankdet eval --voc DIR --dets DETS [--metric voc07|voc10] [--json OUT.json]",
    "COCO: evaluates detections as pycocotools' COCOeval does (iouType bbox): AP over IoU\n"
    ".50:.05:.95, AP50, AP75, AP small/medium/large, AR at 1/10/100 detections and AR\n"
    "small/medium/large, with the same numbers to 1e-12.\n"
    "VOC: per-class AP as the classic voc_eval.py computes it (+1 pixel IoU, difficult boxes\n"
    "neither counted nor penalised, VOC2007 11-point or VOC2010 area rule) at IoU 0.5, 0.75\n"
    "and averaged over .50:.05:.95, with the mAP of each. COCO results files for VOC number\n"
    "images by their position in the list and classes from 0, as `rankdet detect` writes them.\n"
    "A detection of an image or class the ground truth does not have is an error (exit 1); an\n"
    "empty list gives AP 0.",
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

/* A --json file being written: PATH.tmp.PID, renamed over PATH when complete. */
typedef struct eval_json_writer {
    const char *path;
    FILE *f;
    char tmp[RD_CLI_STR + 32];
} eval_json_writer;

/* 0, or -1 after a message. */
static int eval_json_open(eval_json_writer *w)
{
    snprintf(w->tmp, sizeof w->tmp, "%s.tmp.%ld", w->path, (long)getpid());
    w->f = fopen(w->tmp, "w");
    if (w->f == NULL)
        rd_error("--json %s: cannot write it", w->path);
    return w->f ? 0 : -1;
}

/* Close and rename into place; 0, or -1 after a message (the temporary file removed). */
static int eval_json_commit(eval_json_writer *w)
{
    int bad = ferror(w->f);
    bad |= fclose(w->f) != 0;
    if (bad || rename(w->tmp, w->path) != 0) {
        remove(w->tmp);
        rd_error("--json %s: write failed", w->path);
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
        if (*c->json) {
            eval_json_writer w = {c->json, NULL, ""};
            rc = eval_json_open(&w);
            if (rc == 0) {
                eval_coco_json_put(w.f, c, &gt, &r, dt.n);
                rc = eval_json_commit(&w);
            }
        }
        coco_eval_result_free(&r);
    }
    coco_results_free(&dt);
    coco_instances_free(&gt);
    return rc == 0 ? 0 : 1;
}

/* The VOC numbers as JSON text into f. */
static void eval_voc_json_put(FILE *f, const eval_cmd_config *c, const voc_eval_truth *t,
                              const voc_eval_result *r, int64_t ndt)
{
    char v[32];
    fprintf(f, "{\n  \"metric\": \"%s\",\n  \"voc\": ", c->metric);
    eval_json_string(f, c->voc);
    fprintf(f, ",\n  \"dets\": ");
    eval_json_string(f, c->dets);
    fprintf(f, ",\n  \"images\": %lld,\n  \"classes\": %d,\n  \"detections\": %lld,\n",
            (long long)t->ds.nsamples, t->ds.nclasses, (long long)ndt);
    fprintf(f, "  \"AP\": %s, ", dets_json_format_double(r->ap, v));
    fprintf(f, "\"AP50\": %s, ", dets_json_format_double(r->ap50, v));
    fprintf(f, "\"AP75\": %s,\n  \"mAP_per_iou\": [", dets_json_format_double(r->ap75, v));
    for (int i = 0; i < VOC_EVAL_T; i++)
        fprintf(f, "%s%s", i ? ", " : "", dets_json_format_double(r->map[i], v));
    fprintf(f, "],\n  \"per_class\": [");
    for (int k = 0; k < r->nclasses; k++) {
        fprintf(f, "%s\n    {\"name\": ", k ? "," : "");
        eval_json_string(f, t->ds.class_names[k]);
        fprintf(f, ", \"npos\": %lld, \"ndet\": %lld, \"AP_per_iou\": [",
                (long long)r->npos[k], (long long)r->ndet[k]);
        for (int i = 0; i < VOC_EVAL_T; i++)
            fprintf(f, "%s%s", i ? ", " : "",
                    dets_json_format_double(voc_eval_class_ap(r, k, i), v));
        fprintf(f, "]}");
    }
    fprintf(f, "\n  ]\n}\n");
}

/* One row of the VOC table: AP50, AP75 and the mean over thresholds ("-" when undefined). */
static void eval_voc_print_row(const char *name, int64_t npos, int64_t ndet, double ap50,
                               double ap75, double ap)
{
    double v[3] = {ap50, ap75, ap};
    printf("%-16.16s %7lld %8lld", name, (long long)npos, (long long)ndet);
    for (int i = 0; i < 3; i++)
        if (v[i] < 0)
            printf(" %9s", "-");
        else
            printf(" %9.4f", v[i]);
    printf("\n");
}

static void eval_voc_print(const eval_cmd_config *c, const voc_eval_truth *t,
                           const voc_eval_result *r, int64_t ndt)
{
    int64_t difficult = 0, total_pos = 0;
    for (int64_t g = 0; g < t->ngt; g++)
        difficult += t->gt[g].difficult;
    printf("VOC (%s): %lld images, %d classes, %lld objects (%lld difficult), %lld "
           "detections\n\n%-16s %7s %8s %9s %9s %9s\n", strcmp(c->metric, "voc07") == 0
               ? "VOC2007 11-point AP" : "VOC2010 area AP", (long long)t->ds.nsamples,
           t->ds.nclasses, (long long)t->ngt, (long long)difficult, (long long)ndt, "class",
           "gt", "dets", "AP50", "AP75", "AP");
    for (int k = 0; k < r->nclasses; k++) {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < VOC_EVAL_T; i++)
            if (voc_eval_class_ap(r, k, i) >= 0)
                sum += voc_eval_class_ap(r, k, i), n++;
        eval_voc_print_row(t->ds.class_names[k], r->npos[k], r->ndet[k],
                           voc_eval_class_ap(r, k, 0), voc_eval_class_ap(r, k, 5),
                           n ? sum / n : -1);
        total_pos += r->npos[k];
    }
    eval_voc_print_row("mean", total_pos, ndt, r->ap50, r->ap75, r->ap);
}

/* The detections for t from c->dets (result files, or a COCO results file). */
static int eval_voc_read_dets(const eval_cmd_config *c, const voc_eval_truth *t,
                              voc_eval_det **dt, int64_t *ndt, char *err, size_t errsize)
{
    size_t len = strlen(c->dets);
    if (len < 5 || strcmp(c->dets + len - 5, ".json") != 0)
        return dets_voc_read(c->dets, t, dt, ndt, err, errsize);
    coco_results res;
    if (coco_json_read_results(c->dets, &res, err, errsize) != 0)
        return -1;
    int rc = dets_voc_from_results(&res, c->dets, t, dt, ndt, err, errsize);
    coco_results_free(&res);
    return rc;
}

static int eval_voc_run(const eval_cmd_config *c)
{
    char err[1024], split[RD_CLI_STR + 64];
    snprintf(split, sizeof split, "%s", c->split);
    if (!*split) {  // the devkit's test list when there is one
        snprintf(split, sizeof split, "%s/ImageSets/Main/test.txt", c->voc);
        FILE *f = fopen(split, "r");
        snprintf(split, sizeof split, "%s", f ? "test" : "");
        if (f)
            fclose(f);
    }
    voc_eval_truth t;
    if (voc_eval_truth_read(c->voc, split, &t, err, sizeof err) != 0) {
        rd_error("%s", err);
        return 1;
    }
    voc_eval_det *dt = NULL;
    int64_t ndt = 0;
    int rc = eval_voc_read_dets(c, &t, &dt, &ndt, err, sizeof err);
    if (rc != 0)
        rd_error("%s", err);
    else {
        voc_eval_input in = {t.ds.nsamples, t.ds.nclasses, t.gt, t.ngt, dt, ndt,
                             strcmp(c->metric, "voc07") == 0 ? VOC_METRIC_07 : VOC_METRIC_10};
        voc_eval_result r;
        voc_eval_run(&in, &r);
        eval_voc_print(c, &t, &r, ndt);
        if (*c->json) {
            eval_json_writer w = {c->json, NULL, ""};
            rc = eval_json_open(&w);
            if (rc == 0) {
                eval_voc_json_put(w.f, c, &t, &r, ndt);
                rc = eval_json_commit(&w);
            }
        }
        voc_eval_result_free(&r);
    }
    free(dt);
    voc_eval_truth_free(&t);
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
    int coco = *c.coco_gt || *c.coco_dt, voc = *c.voc || *c.dets;
    if (coco == voc) {
        cli_error(&eval_cmd_spec, coco ? "give either --coco-gt/--coco-dt or --voc/--dets, "
                                         "not both"
                                       : "give --coco-gt GT.json --coco-dt DETS.json, or --voc "
                                         "DIR --dets DETS");
        return 2;
    }
    if (coco && (!*c.coco_gt || !*c.coco_dt)) {
        cli_error(&eval_cmd_spec, "give both --coco-gt GT.json and --coco-dt DETS.json");
        return 2;
    }
    if (voc && (!*c.voc || !*c.dets)) {
        cli_error(&eval_cmd_spec, "give both --voc DIR and --dets DETS");
        return 2;
    }
    if (strcmp(c.metric, "voc07") != 0 && strcmp(c.metric, "voc10") != 0) {
        cli_error(&eval_cmd_spec, "--metric must be voc07 or voc10, got '%s'", c.metric);
        return 2;
    }
    if (c.threads < 0) {
        cli_error(&eval_cmd_spec, "--threads must be >= 0, got %d", c.threads);
        return 2;
    }
    if (c.threads > 0)
        omp_set_num_threads(c.threads);
    return coco ? eval_coco_run(&c) : eval_voc_run(&c);
}
