/* cmd_detect.c — `rankdet detect`: one image through RetinaNet (detector/retinanet.h) with a
 * preset's test transform (eval_test_transform of experiments/evaluate.h), anchors and
 * post-processing; prints the detections as a table, optionally writes the forward dump of
 * DESIGN.md (--dump) and the image with boxes, class names and scores (--draw). The input is
 * a JPEG or PNG file, or an HDF5 file whose dataset `image` holds float [3][H][W] RGB in
 * [0, 1] (told apart by the file's first bytes).
 * Exit status: 0 done, 1 bad input data (weights, image), 2 usage error. */
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/draw.h"
#include "data/image.h"
#include "data/transform.h"
#include "data/voc.h"
#include "detector/anchors.h"
#include "detector/checkpoint.h"
#include "detector/postprocess.h"
#include "detector/retinanet.h"
#include "experiments/commands.h"
#include "experiments/evaluate.h"
#include "lib/check.h"
#include "lib/cli.h"
#include "lib/h5.h"
#include "lib/threads.h"

typedef struct detect_config {
    char weights[RD_CLI_STR];
    char preset[RD_CLI_STR];
    char backbone[RD_CLI_STR];
    int num_classes;
    char input[RD_CLI_STR];
    char dump[RD_CLI_STR];
    char draw[RD_CLI_STR];
    char names[RD_CLI_STR];
    double min_size, max_size;
    double draw_min_score;
    int threads;
} detect_config;

static const cli_opt detect_opts[] = {
    {"weights", CLI_STRING, offsetof(detect_config, weights), "",
     "checkpoint (HDF5, state_dict/ under torchvision's names)"},
    {"preset", CLI_STRING, offsetof(detect_config, preset), "paper",
     "conventions: paper or torchvision (transform, anchors, post-processing, P6 input)"},
    {"backbone", CLI_STRING, offsetof(detect_config, backbone), "",
     "resnet18, resnet34, resnet50 or resnet101 (\"\": the weights' own; the network's widths "
     "always come from the weights)"},
    {"num-classes", CLI_INT, offsetof(detect_config, num_classes), "0",
     "K, the classes of the weights' class head (0: the weights' own)"},
    {"input", CLI_STRING, offsetof(detect_config, input), "",
     "JPEG or PNG image, or HDF5 file with dataset image float [3][H][W] in [0, 1]"},
    {"dump", CLI_STRING, offsetof(detect_config, dump), "",
     "write the forward dump (FPN levels, head outputs, anchors, detections) to this HDF5 file"},
    {"draw", CLI_STRING, offsetof(detect_config, draw), "",
     "write the image with boxes, class names and scores to this PNG file"},
    {"names", CLI_STRING, offsetof(detect_config, names), "",
     "class names, one per line (default: the 20 VOC classes for K = 20, torchvision's COCO "
     "list for K = 91)"},
    {"draw-min-score", CLI_DOUBLE, offsetof(detect_config, draw_min_score), "0.3",
     "--draw: only detections scoring at least this (the table lists them all)"},
    {"min-size", CLI_DOUBLE, offsetof(detect_config, min_size), "0",
     "test resize: shorter side target (0: the preset's, 500 paper, 800 torchvision)"},
    {"max-size", CLI_DOUBLE, offsetof(detect_config, max_size), "0",
     "test resize: longer side limit (0: the preset's, 833 paper, 1333 torchvision)"},
    {"threads", CLI_INT, offsetof(detect_config, threads), "0", "threads; 0 for all cores"},
};

static const cli_spec detect_spec = {
    "rankdet detect",
    "--weights W.h5 --preset paper|torchvision --backbone resnet50 --num-classes K "
    "--input IMAGE|IMAGE.h5 [--dump OUT.h5] [--draw OUT.png]",
    "Runs RetinaNet on one image and prints its detections (class, score, box in original\n"
    "image pixels). --preset torchvision reproduces torchvision 0.14's retinanet_resnet50_fpn\n"
    "on weights exported from it. Exit status 1 for bad weights or images, 2 for bad usage.",
    detect_opts, (int)(sizeof detect_opts / sizeof detect_opts[0])};

/* torchvision's COCO_V1 category names, indexed by its RetinaNet labels. */
static const char *const detect_coco_names[91] = {
    "__background__", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train",
    "truck", "boat", "traffic light", "fire hydrant", "N/A", "stop sign", "parking meter",
    "bench", "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra",
    "giraffe", "N/A", "backpack", "umbrella", "N/A", "N/A", "handbag", "tie", "suitcase",
    "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
    "skateboard", "surfboard", "tennis racket", "bottle", "N/A", "wine glass", "cup", "fork",
    "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot",
    "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed", "N/A",
    "dining table", "N/A", "N/A", "toilet", "N/A", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "N/A",
    "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush"};

/* The image to detect on: its float [3][H][W] in [0, 1] and 8-bit pixels (for --draw). */
typedef struct detect_image {
    int height, width;
    float *chw01;  // [3][H][W], owned
    rd_image rgb;  // owned
} detect_image;

static void detect_image_free(detect_image *im)
{
    free(im->chw01);
    image_free(&im->rgb);
}

/* Dataset `image` of an HDF5 file: float [3][H][W], finite, in [0, 1]. 0, or -1 after a
 * message naming the file and the problem. */
static int detect_read_h5(const char *path, detect_image *im)
{
    hid_t f = h5_open_read(path);
    if (f < 0)
        return -1;
    hid_t d = -1, space = -1, type = -1;
    hsize_t dims[H5S_MAX_RANK] = {0};
    int rank = -1, is_float = 0;
    H5E_BEGIN_TRY {
        d = H5Dopen2(f, "image", H5P_DEFAULT);
        space = d < 0 ? -1 : H5Dget_space(d);
        type = d < 0 ? -1 : H5Dget_type(d);
        rank = space < 0 ? -1 : H5Sget_simple_extent_dims(space, dims, NULL);
        is_float = type >= 0 && H5Tget_class(type) == H5T_FLOAT;
    } H5E_END_TRY;
    const char *bad = d < 0 ? "has no dataset 'image'"
                      : rank != 3 || dims[0] != 3 ? "dataset 'image' is not [3][H][W]"
                      : !is_float ? "dataset 'image' is not floating point"
                      : dims[1] < 1 || dims[2] < 1 || dims[1] > 20000 || dims[2] > 20000
                          ? "dataset 'image' has a side outside [1, 20000]"
                          : NULL;
    if (bad == NULL) {
        im->height = (int)dims[1];
        im->width = (int)dims[2];
        im->chw01 = rd_malloc(sizeof(float) * 3 * dims[1] * dims[2], "input image");
        herr_t st = -1;
        H5E_BEGIN_TRY { st = H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                     im->chw01); } H5E_END_TRY;
        if (st < 0)
            bad = "dataset 'image' cannot be read (damaged file?)";
    }
    size_t n = bad ? 0 : (size_t)3 * im->height * im->width;
    for (size_t i = 0; i < n && !bad; i++)
        if (!(im->chw01[i] >= 0.0f && im->chw01[i] <= 1.0f))
            bad = "dataset 'image' has values outside [0, 1] (or NaN)";
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    if (d >= 0)
        H5Dclose(d);
    H5Fclose(f);
    if (bad)
        rd_error("%s: %s", path, bad);
    return bad ? -1 : 0;
}

/* The input image, from HDF5 or an image file. 0, or -1 after a message. */
static int detect_read_input(const char *path, detect_image *im)
{
    memset(im, 0, sizeof *im);
    unsigned char head[8] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f)
        fclose(f);
    if (got == 8 && memcmp(head, "\211HDF\r\n\032\n", 8) == 0) {
        if (detect_read_h5(path, im) < 0)
            return -1;
        image_alloc(&im->rgb, im->width, im->height);
        size_t plane = (size_t)im->height * im->width;
        for (size_t i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++)
                im->rgb.rgb[3 * i + c] = (uint8_t)lrintf(255.0f * im->chw01[c * plane + i]);
        return 0;
    }
    char err[1024];
    if (image_read(path, &im->rgb, err, sizeof err) < 0) {
        rd_error("%s", err);
        return -1;
    }
    im->height = im->rgb.height;
    im->width = im->rgb.width;
    im->chw01 = rd_malloc(sizeof(float) * 3 * im->height * im->width, "input image");
    image_to_chw01(&im->rgb, im->chw01);
    return 0;
}

/* Class names for labels 0..K-1 (owned strings when read from a file). */
typedef struct detect_names {
    const char *const *table;  // NULL: "class k"
    char **owned;
    int count;
} detect_names;

/* --names FILE (one name a line), or the default list for K. 0, or -1 after a message. */
static int detect_names_load(const char *path, int k, detect_names *n)
{
    memset(n, 0, sizeof *n);
    if (*path == '\0') {
        n->table = k == 20 ? VOC_CLASS_NAMES : k == 91 ? detect_coco_names : NULL;
        n->count = n->table ? k : 0;
        return 0;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        rd_error("cannot read --names '%s'", path);
        return -1;
    }
    n->owned = rd_calloc((size_t)k, sizeof *n->owned, "class names");
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        if (n->count < k)
            n->owned[n->count] = strdup(line);
        n->count++;
    }
    fclose(f);
    if (n->count != k) {
        rd_error("--names '%s' has %d names; the model has %d classes", path, n->count, k);
        return -1;
    }
    n->table = (const char *const *)n->owned;
    return 0;
}

static void detect_names_free(detect_names *n)
{
    for (int i = 0; n->owned && i < n->count && i < 100000; i++)
        free(n->owned[i]);
    free(n->owned);
}

static const char *detect_name(const detect_names *n, int label, char *buf, size_t size)
{
    if (n->table && label >= 0 && label < n->count)
        return n->table[label];
    snprintf(buf, size, "class %d", label);
    return buf;
}

/* The network's view of one image and what came out of it. */
typedef struct detect_run {
    retinanet *m;
    int rh, rw;                           // resized size (the clip window)
    anchor_level levels[PRESET_LEVELS];
    float *anchors;                       // [A][4]
    rd_detection *dets;                   // [ndet]
    int ndet;
} detect_run;

/* Model, weights, transform, forward, anchors, post-processing. 0, or -1 after a message. */
static int detect_run_all(const detect_config *c, const detector_preset *p,
                          const retinanet_config *mcp, const detect_image *im, detect_run *r)
{
    retinanet_config mc = *mcp;
    r->m = retinanet_create_inference(&mc);
    char err[16384];
    if (checkpoint_load(c->weights, r->m, err, sizeof err) < 0) {
        rd_error("%s", err);
        return -1;
    }
    float min_size = c->min_size > 0 ? (float)c->min_size : p->test_min_size;
    float max_size = c->max_size > 0 ? (float)c->max_size : p->test_max_size;
    rd_arena work;
    rd_arena_init(&work);
    eval_input_shape s;
    float *x = eval_test_transform(p, im->chw01, im->height, im->width, min_size, max_size, 0,
                                   &work, &s);
    int ph = s.ph, pw = s.pw;
    r->rh = s.rh;
    r->rw = s.rw;
    retinanet_plan(r->m, 1, ph, pw, 0);
    retinanet_forward(r->m, x);
    rd_arena_free(&work);
    int gh[PRESET_LEVELS], gw[PRESET_LEVELS];
    for (int l = 0; l < PRESET_LEVELS; l++) {
        gh[l] = r->m->levels[l].h;
        gw[l] = r->m->levels[l].w;
    }
    int64_t a = anchors_levels(p, ph, pw, gh, gw, r->levels);
    RD_CHECK(a == r->m->num_anchors_total, "%lld anchors for %lld head positions", (long long)a,
             (long long)r->m->num_anchors_total);
    r->anchors = rd_malloc(sizeof(float) * 4 * (size_t)a, "anchors");
    anchors_generate(p, r->levels, r->anchors);
    postprocess_input in = {r->m->cls_logits, r->m->bbox_regression, r->anchors, r->levels,
                            mc.num_classes, r->rh, r->rw, im->height, im->width, 0};
    rd_arena ws;
    rd_arena_init(&ws);
    r->dets = rd_calloc((size_t)p->detections_per_image, sizeof *r->dets, "detections");
    r->ndet = postprocess_detections(p, &in, &ws, r->dets);
    rd_arena_free(&ws);
    return 0;
}

static void detect_run_free(detect_run *r)
{
    retinanet_destroy(r->m);
    free(r->anchors);
    free(r->dets);
}

static void detect_print(const detect_config *c, const detect_image *im, const detect_run *r,
                         const detect_names *names)
{
    char buf[32];
    printf("%s: %d x %d, network input %d x %d (resized %d x %d), %d detection%s\n", c->input,
           im->width, im->height, r->m->w, r->m->h, r->rw, r->rh, r->ndet,
           r->ndet == 1 ? "" : "s");
    if (r->ndet > 0)
        printf("%4s %-20s %5s %8s %9s %9s %9s %9s\n", "#", "class", "label", "score", "x1", "y1",
               "x2", "y2");
    for (int i = 0; i < r->ndet; i++) {
        const rd_detection *d = &r->dets[i];
        printf("%4d %-20s %5d %8.5f %9.2f %9.2f %9.2f %9.2f\n", i,
               detect_name(names, d->label, buf, sizeof buf), d->label, d->score, d->box.x1,
               d->box.y1, d->box.x2, d->box.y2);
    }
}

/* The datasets of the forward dump into f. 0, or -1 with a message in err. */
static int detect_dump_arrays(hid_t f, const detect_run *r, char *err, size_t errsize)
{
    const retinanet *m = r->m;
    int64_t a = m->num_anchors_total, k = m->cfg.num_classes, nd = r->ndet;
    float *boxes = rd_malloc(sizeof(float) * 4 * (size_t)(nd + 1), "dump boxes");
    float *scores = rd_malloc(sizeof(float) * (size_t)(nd + 1), "dump scores");
    int64_t *labels = rd_malloc(sizeof(int64_t) * (size_t)(nd + 1), "dump labels");
    for (int64_t i = 0; i < nd; i++) {
        const rd_detection *d = &r->dets[i];
        memcpy(boxes + 4 * i, (const float[4]){d->box.x1, d->box.y1, d->box.x2, d->box.y2},
               4 * sizeof(float));
        scores[i] = d->score;
        labels[i] = d->label;
    }
    int st = 0;
    for (int l = 0; l < FPN_LEVELS && st == 0; l++) {
        char name[32];
        snprintf(name, sizeof name, "fpn/P%d", l + 3);
        int64_t dims[4] = {1, m->cfg.fpn_channels, m->fpn.h[l], m->fpn.w[l]};
        st = checkpoint_write_array(f, name, H5T_NATIVE_FLOAT, 4, dims, m->fpn.p[l], err,
                                    errsize);
    }
    const struct {
        const char *name;
        hid_t type;
        int ndim;
        int64_t dims[3];
        const void *data;
    } arrays[] = {
        {"head/cls_logits", H5T_NATIVE_FLOAT, 3, {1, a, k}, m->cls_logits},
        {"head/bbox_regression", H5T_NATIVE_FLOAT, 3, {1, a, 4}, m->bbox_regression},
        {"anchors/anchors", H5T_NATIVE_FLOAT, 2, {a, 4, 0}, r->anchors},
        {"detections/boxes", H5T_NATIVE_FLOAT, 2, {nd, 4, 0}, boxes},
        {"detections/scores", H5T_NATIVE_FLOAT, 1, {nd, 0, 0}, scores},
        {"detections/labels", H5T_NATIVE_INT64, 1, {nd, 0, 0}, labels},
    };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0] && st == 0; i++)
        st = checkpoint_write_array(f, arrays[i].name, arrays[i].type, arrays[i].ndim,
                                    arrays[i].dims, arrays[i].data, err, errsize);
    free(boxes);
    free(scores);
    free(labels);
    return st;
}

/* The forward dump of DESIGN.md, written atomically. 0, or -1 after a message. */
static int detect_write_dump(const char *path, const detect_image *im, const detect_run *r,
                             const char *preset)
{
    char tmp[RD_CLI_STR + 64], err[512];
    hid_t f = h5_create_atomic(path, tmp, sizeof tmp);
    if (f < 0)
        return -1;
    if (detect_dump_arrays(f, r, err, sizeof err) < 0) {
        h5_discard(f, tmp);
        rd_error("--dump '%s': %s", path, err);
        return -1;
    }
    h5_attr_string(f, "preset", preset);
    h5_attr_int64(f, "image_height", im->height);
    h5_attr_int64(f, "image_width", im->width);
    h5_attr_int64(f, "resized_height", r->rh);
    h5_attr_int64(f, "resized_width", r->rw);
    h5_attr_int64(f, "input_height", r->m->h);
    h5_attr_int64(f, "input_width", r->m->w);
    h5_attr_string(f, "version", rankdet_version());
    h5_commit(f, tmp, path);
    return 0;
}

/* The image with every detection's box and "name score" tag, as PNG. 0, or -1. */
static int detect_write_draw(const char *path, const detect_image *im, const detect_run *r,
                             const detect_names *names, double min_score)
{
    /* Images under 300 pixels a side are enlarged (nearest) so the labels stay readable. */
    int side = im->width < im->height ? im->width : im->height;
    int up = side < 300 ? (300 + side - 1) / side : 1;
    rd_image out;
    image_alloc(&out, im->width * up, im->height * up);
    for (int y = 0; y < out.height; y++)
        for (int x = 0; x < out.width; x++)
            memcpy(out.rgb + 3 * ((size_t)y * out.width + x),
                   im->rgb.rgb + 3 * ((size_t)(y / up) * im->width + x / up), 3);
    side *= up;
    int t = side >= 600 ? 3 : side >= 200 ? 2 : 1, scale = side >= 600 ? 2 : 1;
    for (int i = r->ndet - 1; i >= 0; i--) {  // the best on top
        const rd_detection *d = &r->dets[i];
        if (d->score < min_score)
            continue;
        rd_box box = {d->box.x1 * up, d->box.y1 * up, d->box.x2 * up, d->box.y2 * up};
        char buf[32], label[160];
        snprintf(label, sizeof label, "%s %.2f", detect_name(names, d->label, buf, sizeof buf),
                 d->score);
        draw_box_label(&out, box, label, t, scale, draw_palette(d->label));
    }
    char err[1024];
    int st = image_write_png(path, &out, err, sizeof err);
    if (st < 0)
        rd_error("--draw: %s", err);
    image_free(&out);
    return st;
}

/* Usage checks after parsing; 0, or -1 after a message. */
static int detect_check_usage(const detect_config *c, const detector_preset **p)
{
    static const char *const backbones[] = {"resnet18", "resnet34", "resnet50", "resnet101"};
    int known = *c->backbone == '\0';
    for (int i = 0; i < 4; i++)
        known |= strcmp(c->backbone, backbones[i]) == 0;
    struct stat st;
    char bad[RD_CLI_STR + 96] = "";
    if (!*c->weights || !*c->input)
        snprintf(bad, sizeof bad, "%s is required", !*c->weights ? "--weights W.h5" : "--input");
    else if ((*p = preset_find(c->preset)) == NULL)
        snprintf(bad, sizeof bad, "unknown --preset '%.200s'; known: %s", c->preset,
                 preset_names());
    else if (!known)
        snprintf(bad, sizeof bad, "unknown --backbone '%.200s'; known: resnet18, resnet34, "
                 "resnet50, resnet101", c->backbone);
    else if (c->num_classes < 0 || c->num_classes > 100000)
        snprintf(bad, sizeof bad, "--num-classes must be in [0, 100000], got %d (the classes "
                 "of the weights' class head)", c->num_classes);
    else if (c->min_size < 0 || c->max_size < 0 || c->min_size > 10000 || c->max_size > 10000)
        snprintf(bad, sizeof bad, "--min-size and --max-size must be in [0, 10000]");
    else if (c->threads < 0)
        snprintf(bad, sizeof bad, "--threads must be >= 0, got %d", c->threads);
    else if (*c->dump && stat(c->dump, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(bad, sizeof bad, "--dump '%.200s' is a directory; give a file name", c->dump);
    else if (*c->draw && stat(c->draw, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(bad, sizeof bad, "--draw '%.200s' is a directory; give a file name", c->draw);
    if (*bad)
        cli_error(&detect_spec, "%s", bad);
    return *bad ? -1 : 0;
}

/* The network of the weights (depth, widths, classes), checked against --backbone and
 * --num-classes when given. 0, or -1 after a message. */
static int detect_model_config(const detect_config *c, const detector_preset *p,
                               retinanet_config *mc)
{
    retinanet_config_preset(mc, p);
    char err[1024];
    if (checkpoint_infer_config(c->weights, mc, err, sizeof err) < 0) {
        rd_error("--weights: %s", err);
        return -1;
    }
    if ((*c->backbone && atoi(c->backbone + strlen("resnet")) != mc->depth) ||
        (c->num_classes > 0 && c->num_classes != mc->num_classes)) {
        rd_error("--weights '%s' hold a resnet%d RetinaNet with %d classes under the %s preset; "
                 "--backbone and --num-classes must agree", c->weights, mc->depth,
                 mc->num_classes, p->name);
        return -1;
    }
    return 0;
}

int cmd_detect(int argc, char **argv)
{
    detect_config c;
    int npos = 0;
    cli_defaults(&detect_spec, &c);
    cli_result pr = cli_parse(&detect_spec, &c, argc, argv, NULL, 0, &npos);
    if (pr != CLI_OK)
        return pr == CLI_HELP ? 0 : 2;
    const detector_preset *p = NULL;
    if (detect_check_usage(&c, &p) < 0)
        return 2;
    rd_threads_set(c.threads > 0 ? c.threads : omp_get_num_procs());
    retinanet_config mc;
    if (detect_model_config(&c, p, &mc) < 0)
        return 1;
    c.num_classes = mc.num_classes;
    detect_names names;
    detect_image im;
    if (detect_names_load(c.names, c.num_classes, &names) < 0)
        return 1;
    if (detect_read_input(c.input, &im) < 0) {
        detect_names_free(&names);
        return 1;
    }
    detect_run r;
    memset(&r, 0, sizeof r);
    int st = detect_run_all(&c, p, &mc, &im, &r);
    if (st == 0) {
        detect_print(&c, &im, &r, &names);
        if (*c.dump)
            st = detect_write_dump(c.dump, &im, &r, p->name);
        if (st == 0 && *c.draw)
            st = detect_write_draw(c.draw, &im, &r, &names, c.draw_min_score);
    }
    detect_run_free(&r);
    detect_image_free(&im);
    detect_names_free(&names);
    return st == 0 ? 0 : 1;
}
