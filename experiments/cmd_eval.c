/* cmd_eval.c — `rankdet eval`: the COCO bbox metrics of a results file against an instances
 * file (analysis/coco_eval: the numbers pycocotools' COCOeval prints), printed as
 * pycocotools prints them, per category on request; or the PASCAL VOC AP of detections (the
 * devkit's per-class result files or a COCO results file) against a VOC dataset
 * (analysis/voc_eval: the classic voc_eval.py numbers) per class; or a model's weights run
 * over a dataset (experiments/evaluate.h: single- or multi-scale test, optional flip) with
 * the headline metrics and per-class AP50. --json writes the numbers to a file.
 * Exit status: 0 done, 1 bad input data, 2 usage error. */
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
#include "data/dataset.h"
#include "detector/checkpoint.h"
#include "experiments/commands.h"
#include "experiments/evaluate.h"
#include "lib/check.h"
#include "lib/cli.h"
#include "lib/progress.h"
#include "lib/threads.h"

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
    char weights[RD_CLI_STR];
    char data[RD_CLI_STR];
    char preset[RD_CLI_STR];
    char backbone[RD_CLI_STR];
    int num_classes;
    char scales[RD_CLI_STR];
    int flip;
    int64_t limit;
    char out[RD_CLI_STR];
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
     "threads (OpenMP; with --weights also images decoded at once); 0 for all cores"},
    {"weights", CLI_STRING, offsetof(eval_cmd_config, weights), "",
     "model mode: checkpoint (HDF5, state_dict/) to run over --data"},
    {"data", CLI_STRING, offsetof(eval_cmd_config, data), "",
     "model mode: dataset (VOC devkit or image/XML folder, COCO, YOLO); the split is --split"},
    {"preset", CLI_STRING, offsetof(eval_cmd_config, preset), "paper",
     "model mode: conventions, paper or torchvision (test transform, anchors, post-processing)"},
    {"backbone", CLI_STRING, offsetof(eval_cmd_config, backbone), "",
     "model mode: resnet18, resnet34, resnet50 or resnet101 (\"\": the weights' own; the "
     "network's widths always come from the weights)"},
    {"num-classes", CLI_INT, offsetof(eval_cmd_config, num_classes), "0",
     "model mode: K of the weights' class head (0: the dataset's classes; must match them)"},
    {"scales", CLI_STRING, offsetof(eval_cmd_config, scales), "",
     "model mode: test short sides, one (500) or several (400,500,600: multi-scale test); "
     "default the preset's (500 paper, 800 torchvision)"},
    {"flip", CLI_BOOL, offsetof(eval_cmd_config, flip), "0",
     "model mode: also test the mirrored image at each scale"},
    {"limit", CLI_INT64, offsetof(eval_cmd_config, limit), "0",
     "model mode: evaluate the first N images only (0: all)"},
    {"out", CLI_STRING, offsetof(eval_cmd_config, out), "",
     "model mode: write the detections to this COCO results JSON file"},
};

static const cli_spec eval_cmd_spec = {
    "rankdet eval",
    "--coco-gt GT.json --coco-dt DETS.json [--json OUT.json] [--per-category]\n"
    "   or: rankdet eval --voc DIR --dets DETS [--metric voc07|voc10] [--json OUT.json]\n"
    "   or: rankdet eval --weights W.h5 --data DIR [--split test] [--preset paper] [--backbone "
    "resnet50]\n       [--scales 500|400,500,600] [--flip] [--limit N] [--out DETS.json] "
    "[--threads T]",
    "COCO: evaluates detections as pycocotools' COCOeval does (iouType bbox): AP over IoU\n"
    ".50:.05:.95, AP50, AP75, AP small/medium/large, AR at 1/10/100 detections and AR\n"
    "small/medium/large, with the same numbers to 1e-12.\n"
    "VOC: per-class AP as the classic voc_eval.py computes it (+1 pixel IoU, difficult boxes\n"
    "neither counted nor penalised, VOC2007 11-point or VOC2010 area rule) at IoU 0.5, 0.75\n"
    "and averaged over .50:.05:.95, with the mAP of each. COCO results files for VOC number\n"
    "images by their position in the list and classes from 0, as `rankdet detect` writes them.\n"
    "A detection of an image or class the ground truth does not have is an error (exit 1); an\n"
    "empty list gives AP 0.\n"
    "Model: runs the weights over the dataset's images with the preset's test transform and\n"
    "post-processing (several scales and --flip: every pass pooled, class-wise NMS, the\n"
    "preset's best kept) and prints AP, AP50, AP75 (PASCAL VOC2007 11-point for a VOC dataset,\n"
    "averaged over IoU .50:.05:.95; COCO otherwise), APs, APm, APl (COCO) and each class's AP50.",
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

/* --split, or when it is empty the devkit's test list of dir when there is one, else "". */
static void eval_default_split(const char *dir, const char *given, char *split, size_t size)
{
    snprintf(split, size, "%s", given);
    if (!*split) {
        snprintf(split, size, "%s/ImageSets/Main/test.txt", dir);
        FILE *f = fopen(split, "r");
        snprintf(split, size, "%s", f ? "test" : "");
        if (f)
            fclose(f);
    }
}

static int eval_voc_run(const eval_cmd_config *c)
{
    char err[1024], split[RD_CLI_STR + 64];
    eval_default_split(c->voc, c->split, split, sizeof split);
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

/* ---- model mode: --weights W.h5 --data DIR ---- */

/* Usage checks of the model mode; fills ec (but not is_voc). 0, or -1 after a message. */
static int eval_model_usage(const eval_cmd_config *c, eval_config *ec)
{
    static const char *const backbones[] = {"resnet18", "resnet34", "resnet50", "resnet101"};
    int known = *c->backbone == '\0';
    for (int i = 0; i < 4; i++)
        known |= strcmp(c->backbone, backbones[i]) == 0;
    const detector_preset *p = preset_find(c->preset);
    char bad[RD_CLI_STR + 256] = "";
    if (!*c->weights || !*c->data)
        snprintf(bad, sizeof bad, "give both --weights W.h5 and --data DIR");
    else if (*c->coco_gt || *c->coco_dt || *c->voc || *c->dets)
        snprintf(bad, sizeof bad, "--weights/--data cannot be combined with --coco-gt, "
                 "--coco-dt, --voc or --dets");
    else if (p == NULL)
        snprintf(bad, sizeof bad, "unknown --preset '%.200s'; known: %s", c->preset,
                 preset_names());
    else if (!known)
        snprintf(bad, sizeof bad, "unknown --backbone '%.200s'; known: resnet18, resnet34, "
                 "resnet50, resnet101", c->backbone);
    else if (c->num_classes < 0 || c->num_classes > 100000)
        snprintf(bad, sizeof bad, "--num-classes must be in [0, 100000], got %d",
                 c->num_classes);
    else if (c->limit < 0)
        snprintf(bad, sizeof bad, "--limit must be >= 0, got %lld", (long long)c->limit);
    else if (c->threads < 0 || c->threads > 1024)
        snprintf(bad, sizeof bad, "--threads must be in [0, 1024], got %d", c->threads);
    if (p)
        eval_config_default(ec, p);
    if (!*bad && *c->scales)
        eval_parse_scales(ec, c->scales, bad, sizeof bad);
    if (*bad)
        cli_error(&eval_cmd_spec, "%s", bad);
    if (*bad)
        return -1;
    ec->flip = c->flip;
    ec->limit = c->limit;
    ec->threads = c->threads > 0 ? c->threads : omp_get_num_procs();
    return 0;
}

/* The model of the flags with the weights loaded; NULL after a message. */
static retinanet *eval_model_load(const eval_cmd_config *c, const detector_preset *p, int k)
{
    retinanet_config mc;
    retinanet_config_preset(&mc, p);
    char err[16384];
    if (checkpoint_infer_config(c->weights, &mc, err, sizeof err) < 0) {
        rd_error("--weights: %s", err);
        return NULL;
    }
    if ((*c->backbone && atoi(c->backbone + strlen("resnet")) != mc.depth) ||
        mc.num_classes != k) {
        rd_error("--weights '%s' hold a resnet%d RetinaNet with %d classes under the %s preset, "
                 "not a %s with %d classes", c->weights, mc.depth, mc.num_classes, p->name,
                 *c->backbone ? c->backbone : "network", k);
        return NULL;
    }
    retinanet *m = retinanet_create_inference(&mc);
    if (checkpoint_load(c->weights, m, err, sizeof err) < 0) {
        rd_error("%s", err);
        rd_error("--weights '%s' does not fit a %s RetinaNet with %d classes (--backbone, "
                 "--num-classes and --preset must be those of the weights)", c->weights,
                 c->backbone, k);
        retinanet_destroy(m);
        return NULL;
    }
    return m;
}

/* A metric value, or "-" when undefined. */
static void eval_model_print_value(double v)
{
    if (v < 0)
        printf(" %7s", "-");
    else
        printf(" %7.4f", v);
}

static void eval_model_print(const eval_cmd_config *c, const eval_config *ec,
                             const rd_dataset *ds, const char *split, const eval_metrics *r,
                             const double *class_ap50, const rd_detection *dets)
{
    printf("eval: %s (%s, split %s): %lld of %lld images, %d classes; preset %s, scales",
           c->data, ds->format, *split ? split : "-", (long long)r->nimages,
           (long long)ds->nsamples, ds->nclasses, ec->preset->name);
    for (int i = 0; i < ec->nscales; i++)
        printf("%s%d", i ? "," : " ", ec->scales[i]);
    printf("%s; %lld detections in %.2f s\n", ec->flip ? " + flip" : "", (long long)r->ndets,
           r->seconds);
    printf("AP, AP50, AP75: %s; APs, APm, APl: COCO\n\n%7s %7s %7s %7s %7s %7s\n",
           ec->is_voc ? "PASCAL VOC2007 11-point AP (AP: mean over IoU .50:.05:.95)"
                      : "COCO (AP: mean over IoU .50:.05:.95)",
           "AP", "AP50", "AP75", "APs", "APm", "APl");
    double head[6] = {r->ap, r->ap50, r->ap75, r->aps, r->apm, r->apl};
    for (int i = 0; i < 6; i++)
        eval_model_print_value(head[i]);
    printf("\n\n%-20s %7s %8s %7s\n", "class", "gt", "dets", "AP50");
    for (int k = 0; k < ds->nclasses; k++) {
        int64_t gt = 0, nd = 0;
        for (int64_t s = 0; s < r->nimages; s++)
            for (int32_t j = 0; j < ds->samples[s].nobjects; j++) {
                const rd_object *o = &ds->objects[ds->samples[s].first_object + j];
                gt += o->label == k && !o->crowd && !(ec->is_voc && o->difficult);
            }
        for (int64_t i = 0; i < r->ndets; i++)
            nd += dets[i].label == k;
        printf("%-20.20s %7lld %8lld", ds->class_names[k], (long long)gt, (long long)nd);
        eval_model_print_value(class_ap50[k]);
        printf("\n");
    }
}

/* The numbers as JSON text into f. */
static void eval_model_json_put(FILE *f, const eval_cmd_config *c, const eval_config *ec,
                                const rd_dataset *ds, const eval_metrics *r,
                                const double *class_ap50)
{
    char v[32];
    fprintf(f, "{\n  \"metric\": \"%s\",\n  \"weights\": ", ec->is_voc ? "voc07" : "coco_bbox");
    eval_json_string(f, c->weights);
    fprintf(f, ",\n  \"data\": ");
    eval_json_string(f, c->data);
    fprintf(f, ",\n  \"preset\": \"%s\",\n  \"scales\": [", ec->preset->name);
    for (int i = 0; i < ec->nscales; i++)
        fprintf(f, "%s%d", i ? ", " : "", ec->scales[i]);
    fprintf(f, "],\n  \"flip\": %s,\n  \"images\": %lld,\n  \"detections\": %lld,\n  ",
            ec->flip ? "true" : "false", (long long)r->nimages, (long long)r->ndets);
    const char *names[6] = {"AP", "AP50", "AP75", "APs", "APm", "APl"};
    double head[6] = {r->ap, r->ap50, r->ap75, r->aps, r->apm, r->apl};
    for (int i = 0; i < 6; i++)
        fprintf(f, "%s\"%s\": %s", i ? ", " : "", names[i], dets_json_format_double(head[i], v));
    fprintf(f, ",\n  \"coco\": {");
    for (int s = 0; s < COCO_STAT_COUNT; s++)
        fprintf(f, "%s\"%s\": %s", s ? ", " : "", coco_eval_stat_name(s),
                dets_json_format_double(r->coco[s], v));
    fprintf(f, "},\n  \"per_class\": [");
    for (int k = 0; k < ds->nclasses; k++) {
        fprintf(f, "%s\n    {\"name\": ", k ? "," : "");
        eval_json_string(f, ds->class_names[k]);
        fprintf(f, ", \"AP50\": %s}", dets_json_format_double(class_ap50[k], v));
    }
    fprintf(f, "\n  ]\n}\n");
}

/* Detections, metrics, table, --out and --json for an open dataset and a loaded model. */
static int eval_model_report(const eval_cmd_config *c, const eval_config *ec, retinanet *m,
                             const rd_dataset *ds, const char *split)
{
    char err[1024];
    eval_metrics r;
    memset(&r, 0, sizeof r);
    rd_detection *dets = NULL;
    int64_t n = 0;
    double t0 = rd_seconds();
    double *class_ap50 = rd_calloc((size_t)ds->nclasses, sizeof *class_ap50, "class AP50");
    int rc = eval_detect_dataset(m, ds, ec, &dets, &n, err, sizeof err);
    r.seconds = rd_seconds() - t0;
    if (rc == 0)
        rc = eval_compute_metrics(ds, ec, dets, n, &r, class_ap50, err, sizeof err);
    if (rc != 0)
        rd_error("%s", err);
    else
        eval_model_print(c, ec, ds, split, &r, class_ap50, dets);
    if (rc == 0 && *c->out &&
        (rc = dets_json_write(c->out, dets, n, ds->category_ids, ds->nclasses, err,
                              sizeof err)) != 0)
        rd_error("--out: %s", err);
    if (rc == 0 && *c->json) {
        eval_json_writer w = {c->json, NULL, ""};
        rc = eval_json_open(&w);
        if (rc == 0) {
            eval_model_json_put(w.f, c, ec, ds, &r, class_ap50);
            rc = eval_json_commit(&w);
        }
    }
    free(class_ap50);
    free(dets);
    return rc == 0 ? 0 : 1;
}

static int eval_model_run(const eval_cmd_config *c)
{
    eval_config ec;
    if (eval_model_usage(c, &ec) < 0)
        return 2;
    rd_threads_set(ec.threads);
    char err[1024], split[RD_CLI_STR + 64];
    eval_default_split(c->data, c->split, split, sizeof split);
    dataset_options opt = {NULL, split, NULL, BAD_SAMPLE_ERROR};
    rd_dataset ds;
    if (dataset_open(c->data, &opt, &ds, err, sizeof err) != 0) {
        rd_error("--data: %s", err);
        return 1;
    }
    int k = c->num_classes > 0 ? c->num_classes : ds.nclasses, rc = 1;
    if (k != ds.nclasses) {
        cli_error(&eval_cmd_spec, "--num-classes %d differs from the %d classes of --data "
                  "'%s'", k, ds.nclasses, c->data);
        dataset_free(&ds);
        return 2;
    }
    ec.is_voc = strcmp(ds.format, "voc") == 0;
    retinanet *m = eval_model_load(c, ec.preset, k);
    if (m) {
        rc = eval_model_report(c, &ec, m, &ds, split);
        retinanet_destroy(m);
    }
    dataset_free(&ds);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    eval_cmd_config c;
    cli_defaults(&eval_cmd_spec, &c);
    int npos = 0;
    cli_result r = cli_parse(&eval_cmd_spec, &c, argc, argv, NULL, 0, &npos);
    if (r != CLI_OK)
        return r == CLI_HELP ? 0 : 2;
    if (*c.weights || *c.data)
        return eval_model_run(&c);
    int coco = *c.coco_gt || *c.coco_dt, voc = *c.voc || *c.dets;
    if (coco == voc) {
        cli_error(&eval_cmd_spec, coco ? "give either --coco-gt/--coco-dt or --voc/--dets, "
                                         "not both"
                                       : "give --coco-gt GT.json --coco-dt DETS.json, or --voc "
                                         "DIR --dets DETS, or --weights W.h5 --data DIR");
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
