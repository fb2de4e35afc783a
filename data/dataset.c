/* dataset.c — dataset_open: the format from the path (or the options), the class list, and the
 * builder the readers share (samples and objects appended, boxes clamped to the image,
 * degenerate boxes dropped and counted, the bad-sample policy). The readers are data/voc.c,
 * data/yolo.c and data/coco.c; class-name files are read in data/dataset_names.c. */
#include "data/dataset.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/coco.h"
#include "data/dataset_build.h"
#include "data/image.h"
#include "data/voc.h"
#include "data/yolo.h"
#include "lib/check.h"

#define DATASET_WARNINGS_SHOWN 5  // skipped samples printed one by one; the rest are counted

int dataset_fail(char *err, size_t errsize, const char *name, const char *fmt, ...)
{
    int len = snprintf(err, errsize, "%s: ", name);
    va_list ap;
    va_start(ap, fmt);
    rd_err_vappend(err, errsize, len, fmt, ap);
    va_end(ap);
    return -1;
}

void dataset_builder_init(dataset_builder *b, rd_dataset *ds, bad_sample_policy policy,
                          char *err, size_t errsize)
{
    *b = (dataset_builder){.ds = ds, .policy = policy, .err = err, .errsize = errsize};
}

int dataset_builder_begin(dataset_builder *b, const char *image_path, int64_t image_id)
{
    int width = 0, height = 0;
    if (image_read_size(image_path, &width, &height, b->err, b->errsize) != 0)
        return -1;
    rd_dataset *ds = b->ds;
    if (ds->nsamples == b->sample_cap) {
        b->sample_cap = b->sample_cap ? 2 * b->sample_cap : 64;
        ds->samples = realloc(ds->samples, sizeof *ds->samples * (size_t)b->sample_cap);
        RD_CHECK(ds->samples != NULL, "out of memory for %lld samples",
                 (long long)b->sample_cap);
    }
    size_t len = strlen(image_path) + 1;
    rd_sample *s = &ds->samples[ds->nsamples++];
    *s = (rd_sample){.image_path = memcpy(rd_malloc(len, "an image path"), image_path, len),
                     .image_id = image_id, .width = width, .height = height,
                     .first_object = ds->nobjects, .nobjects = 0};
    return 0;
}

static float dataset_clampf(float v, float hi)
{
    return v < 0 ? 0 : (v > hi ? hi : v);
}

void dataset_builder_object(dataset_builder *b, rd_box box, int32_t label, int crowd,
                            int difficult, int truncated, float area)
{
    rd_dataset *ds = b->ds;
    RD_CHECK(ds->nsamples > 0, "an object before any sample");
    rd_sample *s = &ds->samples[ds->nsamples - 1];
    RD_CHECK(label >= 0 && label < ds->nclasses, "label %d of %d classes", label, ds->nclasses);
    rd_box c = {dataset_clampf(box.x1, (float)s->width), dataset_clampf(box.y1, (float)s->height),
                dataset_clampf(box.x2, (float)s->width), dataset_clampf(box.y2, (float)s->height)};
    if (!(c.x2 > c.x1 && c.y2 > c.y1)) {
        ds->dropped_boxes++;
        return;
    }
    if (ds->nobjects == b->object_cap) {
        b->object_cap = b->object_cap ? 2 * b->object_cap : 256;
        ds->objects = realloc(ds->objects, sizeof *ds->objects * (size_t)b->object_cap);
        RD_CHECK(ds->objects != NULL, "out of memory for %lld objects",
                 (long long)b->object_cap);
    }
    ds->objects[ds->nobjects++] = (rd_object){
        .box = c, .label = label, .crowd = crowd != 0, .difficult = difficult != 0,
        .truncated = truncated != 0, .area = area < 0 ? box_area(c) : area};
    s->nobjects++;
}

void dataset_builder_cancel(dataset_builder *b)
{
    rd_dataset *ds = b->ds;
    RD_CHECK(ds->nsamples > 0, "cancelling with no sample");
    rd_sample *s = &ds->samples[--ds->nsamples];
    ds->nobjects = s->first_object;
    free(s->image_path);
}

int dataset_builder_bad(dataset_builder *b)
{
    if (b->policy == BAD_SAMPLE_ERROR)
        return -1;
    b->ds->skipped_samples++;
    if (b->warnings_shown < DATASET_WARNINGS_SHOWN)
        fprintf(stderr, "rankdet: warning: skipping a bad sample: %s\n", b->err);
    else if (b->warnings_shown == DATASET_WARNINGS_SHOWN)
        fprintf(stderr, "rankdet: warning: more bad samples skipped (counted, not shown)\n");
    b->warnings_shown++;
    b->err[0] = '\0';
    return 0;
}

void dataset_set_classes(rd_dataset *ds, const char *const *names, int n)
{
    RD_CHECK(ds->class_names == NULL, "the class list is set twice");
    ds->nclasses = n;
    ds->class_names = rd_calloc((size_t)n, sizeof *ds->class_names, "class names");
    ds->category_ids = rd_calloc((size_t)n, sizeof *ds->category_ids, "category ids");
    for (int k = 0; k < n; k++) {
        size_t len = strlen(names[k]) + 1;
        ds->class_names[k] = memcpy(rd_malloc(len, "a class name"), names[k], len);
        ds->category_ids[k] = k;
    }
}

int dataset_find_class(const rd_dataset *ds, const char *name)
{
    for (int k = 0; k < ds->nclasses; k++)
        if (strcmp(ds->class_names[k], name) == 0)
            return k;
    return -1;
}

void dataset_free(rd_dataset *ds)
{
    for (int k = 0; k < ds->nclasses && ds->class_names != NULL; k++)
        free(ds->class_names[k]);
    for (int64_t i = 0; i < ds->nsamples; i++)
        free(ds->samples[i].image_path);
    free(ds->class_names);
    free(ds->category_ids);
    free(ds->samples);
    free(ds->objects);
    *ds = (rd_dataset){0};
}

/* The format a path looks like: a .json file is COCO; a folder is VOC when it holds
 * Annotations/, XML files, or annotations/ with XML files; COCO when annotations/ holds JSON;
 * YOLO when it holds labels/ (or one level down, X/labels/). NULL when nothing fits. */
static const char *dataset_detect_format(const char *path)
{
    size_t len = strlen(path);
    if (dataset_is_file(path))
        return len > 5 && strcmp(path + len - 5, ".json") == 0 ? "coco" : NULL;
    if (!dataset_is_dir(path))
        return NULL;
    char *p = dataset_path_join(path, "Annotations");
    int voc = dataset_is_dir(p) || voc_dir_has_xml(path);
    free(p);
    if (voc)
        return "voc";
    p = dataset_path_join(path, "annotations");
    const char *found = NULL;
    if (dataset_is_dir(p))
        found = voc_dir_has_xml(p) ? "voc" : (coco_dir_has_json(p) ? "coco" : NULL);
    free(p);
    if (found == NULL && yolo_find_labels_root(path))
        found = "yolo";
    return found;
}

int dataset_open(const char *path, const dataset_options *opt, rd_dataset *ds, char *err,
                 size_t errsize)
{
    static const dataset_options defaults = {0};
    opt = opt ? opt : &defaults;
    *ds = (rd_dataset){0};
    struct stat st;
    if (stat(path, &st) != 0)
        return dataset_fail(err, errsize, path, "cannot open: %s", strerror(errno));
    const char *format = opt->format && *opt->format ? opt->format : dataset_detect_format(path);
    if (format == NULL)
        return dataset_fail(err, errsize, path, "cannot tell the dataset format (a VOC "
                            "Annotations/ folder or XML files, a COCO .json, a YOLO labels/ "
                            "folder); name it with the format option");
    if (opt->names && *opt->names && dataset_read_names(opt->names, ds, err, errsize) != 0)
        return -1;
    int rc;
    if (strcmp(format, "voc") == 0)
        rc = voc_dataset_read(path, opt, ds, err, errsize);
    else if (strcmp(format, "coco") == 0)
        rc = coco_dataset_read(path, opt, ds, err, errsize);
    else if (strcmp(format, "yolo") == 0)
        rc = yolo_dataset_read(path, opt, ds, err, errsize);
    else
        rc = dataset_fail(err, errsize, path, "unknown dataset format '%s' (voc, coco, yolo)",
                          format);
    if (rc == 0 && ds->nsamples == 0 && ds->skipped_samples == 0)
        rc = dataset_fail(err, errsize, path, "no images found (read as %s%s%s)", format,
                          opt->split && *opt->split ? ", split " : "",
                          opt->split ? opt->split : "");
    if (rc != 0)
        dataset_free(ds);
    else
        snprintf(ds->format, sizeof ds->format, "%s", format);
    return rc;
}

/* Remove the samples with bad[i] set, and their objects, keeping the order. */
static void dataset_remove_samples(rd_dataset *ds, const uint8_t *bad)
{
    int64_t ns = 0, no = 0;
    for (int64_t i = 0; i < ds->nsamples; i++) {
        rd_sample s = ds->samples[i];
        if (bad[i]) {
            free(s.image_path);
            ds->skipped_samples++;
            continue;
        }
        memmove(ds->objects + no, ds->objects + s.first_object,
                sizeof *ds->objects * (size_t)s.nobjects);
        s.first_object = no;
        no += s.nobjects;
        ds->samples[ns++] = s;
    }
    ds->nsamples = ns;
    ds->nobjects = no;
}

int dataset_verify_images(rd_dataset *ds, bad_sample_policy policy, int threads, char *err,
                          size_t errsize)
{
    RD_CHECK(threads >= 1, "threads = %d", threads);
    uint8_t *bad = rd_calloc((size_t)ds->nsamples + 1, 1, "sample flags");
#pragma omp parallel num_threads(threads)
    {
        image_buffers bufs = {0};
        char msg[512];
#pragma omp for schedule(dynamic, 4)
        for (int64_t i = 0; i < ds->nsamples; i++) {
            rd_image img;
            const rd_sample *s = &ds->samples[i];
            bad[i] = image_read_into(s->image_path, &bufs, &img, msg, sizeof msg) != 0 ||
                     img.width != s->width || img.height != s->height;
        }
        image_buffers_free(&bufs);
    }
    int64_t first = 0;
    while (first < ds->nsamples && !bad[first])
        first++;
    int rc = 0;
    if (first < ds->nsamples) {  // decode it again for its message
        rd_image img;
        const rd_sample *s = &ds->samples[first];
        if (image_read(s->image_path, &img, err, errsize) == 0) {
            dataset_fail(err, errsize, s->image_path, "decoded as %dx%d, its header says %dx%d",
                         img.width, img.height, s->width, s->height);
            image_free(&img);
        }
        if (policy == BAD_SAMPLE_ERROR)
            rc = -1;
        else
            fprintf(stderr, "rankdet: warning: skipping bad images, the first: %s\n", err);
    }
    if (rc == 0)
        dataset_remove_samples(ds, bad);
    free(bad);
    return rc;
}
