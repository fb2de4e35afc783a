/* coco.c — a COCO instances file (read raw by data/coco_json.c) as an rd_dataset: classes in
 * ascending category id, images in ascending image id, boxes (x, y, x + w, y + h) clamped to
 * the image, `area` and `iscrowd` kept for evaluation (see coco.h for where files are
 * looked for). */
#include "data/coco.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/coco_json.h"
#include "data/dataset_build.h"
#include "lib/check.h"

int coco_dir_has_json(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int found = 0;
    for (struct dirent *e; !found && (e = readdir(d)) != NULL;) {
        const char *dot = strrchr(e->d_name, '.');
        found = dot != NULL && strcasecmp(dot, ".json") == 0;
    }
    closedir(d);
    return found;
}

static int coco_is_instances_name(const char *name)
{
    size_t n = strlen(name);
    return strncmp(name, "instances_", 10) == 0 && n > 15 && strcmp(name + n - 5, ".json") == 0;
}

/* The only instances_*.json of dir (malloc'd), or NULL with a message. */
static char *coco_only_instances(const char *dir, const char *path, char *err, size_t errsize)
{
    char **names = NULL;
    int n = dataset_list_dir(dir, coco_is_instances_name, &names, err, errsize);
    char *found = n == 1 ? dataset_path_join(dir, names[0]) : NULL;
    if (n == 0)
        dataset_fail(err, errsize, path, "no instances_*.json in %s", dir);
    else if (n > 1)
        dataset_fail(err, errsize, path, "%d instances_*.json files in %s (%s, %s, ...): "
                     "choose one with the split", n, dir, names[0], names[1]);
    dataset_free_names(names, n > 0 ? n : 0);
    return found;
}

/* The annotation file for path and split (malloc'd), or NULL with a message. */
static char *coco_json_path(const char *path, const char *split, char *err, size_t errsize)
{
    if (dataset_is_file(path))
        return strdup(path);
    char *ann = dataset_path_join(path, "annotations");
    size_t n = strlen(split);
    char *name = rd_malloc(n + 32, "a file name");
    if (n > 5 && strcmp(split + n - 5, ".json") == 0)
        snprintf(name, n + 32, "%s", split);
    else
        snprintf(name, n + 32, "instances_%s.json", split);
    char *json = NULL;
    if (n == 0) {
        json = coco_only_instances(ann, path, err, errsize);
    } else {
        char *tries[2] = {dataset_path_join(path, name), dataset_path_join(ann, name)};
        for (int i = 0; i < 2; i++) {
            if (json == NULL && dataset_is_file(tries[i]))
                json = tries[i];
            else
                free(tries[i]);
        }
        if (json == NULL)
            dataset_fail(err, errsize, path, "no %s here or in annotations/", name);
    }
    free(name);
    free(ann);
    return json;
}

/* dirname of path (malloc'd). */
static char *coco_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return strdup(".");
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    char *d = rd_malloc(len + 1, "a folder name");
    memcpy(d, path, len);
    d[len] = '\0';
    return d;
}

/* The images folder: the first candidate (see coco.h) holding an image of the file, in
 * ascending id (malloc'd), or NULL with a message. */
static char *coco_image_dir(const char *json, const coco_instances *c, char *err,
                            size_t errsize)
{
    char *jdir = coco_dirname(json);
    const char *base = strrchr(json, '/') ? strrchr(json, '/') + 1 : json;
    const char *jname = strrchr(jdir, '/') ? strrchr(jdir, '/') + 1 : jdir;
    char *root = strcmp(jname, "annotations") == 0 ? coco_dirname(jdir) : strdup(jdir);
    char split[256] = "";
    if (coco_is_instances_name(base) && strlen(base) - 15 < sizeof split)
        snprintf(split, sizeof split, "%.*s", (int)(strlen(base) - 15), base + 10);
    char *images = dataset_path_join(root, "images");
    char *cand[5] = {split[0] ? dataset_path_join(images, split) : strdup(images),
                     split[0] ? dataset_path_join(root, split) : strdup(root), strdup(images),
                     strdup(root), strdup(jdir)};
    char *found = NULL;
    for (int64_t k = 0; k < c->nimages && found == NULL; k++) {
        const char *file = c->images[c->image_index.pos[k]].file_name;
        for (int i = 0; i < 5 && found == NULL && *file; i++) {
            char *p = dataset_path_join(cand[i], file);
            if (dataset_is_file(p))
                found = strdup(cand[i]);
            free(p);
        }
    }
    if (found == NULL)
        dataset_fail(err, errsize, json, "cannot find the images: none of its %lld file_name "
                     "is in %s, %s, %s, %s or %s", (long long)c->nimages, cand[0], cand[1],
                     cand[2], cand[3], cand[4]);
    for (int i = 0; i < 5; i++)
        free(cand[i]);
    free(images);
    free(root);
    free(jdir);
    return found;
}

/* class_of[category position]: the class index of each category. Without a names file the
 * classes are the categories in ascending id; with one, a category takes the class of its
 * name, or -1 when the list does not have it. */
static int *coco_classes(const coco_instances *c, rd_dataset *ds)
{
    int *class_of = rd_calloc((size_t)c->ncategories, sizeof *class_of, "category classes");
    if (ds->class_names != NULL) {
        for (int64_t i = 0; i < c->ncategories; i++) {
            class_of[i] = dataset_find_class(ds, c->categories[i].name);
            if (class_of[i] >= 0)
                ds->category_ids[class_of[i]] = c->categories[i].id;
        }
        return class_of;
    }
    int n = (int)c->ncategories;
    const char **names = rd_calloc((size_t)n, sizeof *names, "class names");
    for (int k = 0; k < n; k++) {
        names[k] = c->categories[c->category_index.pos[k]].name;
        class_of[c->category_index.pos[k]] = k;
    }
    dataset_set_classes(ds, names, n);
    for (int k = 0; k < n; k++)
        ds->category_ids[k] = c->category_index.ids[k];
    free(names);
    return class_of;
}

/* The annotations of each image position, in file order: first[pos] .. first[pos + 1] of
 * order[] (counting sort). first has nimages + 1 entries. */
static void coco_group(const coco_instances *c, int64_t **first, int64_t **order)
{
    int64_t *f = rd_calloc((size_t)c->nimages + 1, sizeof *f, "annotation groups");
    int64_t *o = rd_calloc((size_t)c->nannotations, sizeof *o, "annotation order");
    for (int64_t j = 0; j < c->nannotations; j++)
        f[coco_id_index_find(&c->image_index, c->annotations[j].image_id) + 1]++;
    for (int64_t i = 0; i < c->nimages; i++)
        f[i + 1] += f[i];
    int64_t *fill = rd_calloc((size_t)c->nimages, sizeof *fill, "annotation groups");
    for (int64_t j = 0; j < c->nannotations; j++) {
        int64_t pos = coco_id_index_find(&c->image_index, c->annotations[j].image_id);
        o[f[pos] + fill[pos]++] = j;
    }
    free(fill);
    *first = f;
    *order = o;
}

/* The sample of image position pos begun in the builder: its size against the JSON's, and
 * its annotations. 0, or -1 with the message in b->err. */
static int coco_add_objects(dataset_builder *b, const coco_instances *c, const char *json,
                            int64_t pos, const int64_t *ann, int64_t nann, const int *class_of)
{
    const coco_image *im = &c->images[pos];
    const rd_sample *s = &b->ds->samples[b->ds->nsamples - 1];
    if ((im->width != 0 || im->height != 0) && (im->width != s->width || im->height != s->height))
        return dataset_fail(b->err, b->errsize, json, "images[%lld] (%s): the JSON says "
                            "%dx%d, the image is %dx%d", (long long)pos, im->file_name,
                            im->width, im->height, s->width, s->height);
    for (int64_t k = 0; k < nann; k++) {
        const coco_annotation *a = &c->annotations[ann[k]];
        int64_t cat = coco_id_index_find(&c->category_index, a->category_id);
        int label = class_of[cat];
        if (label < 0)
            return dataset_fail(b->err, b->errsize, json, "annotations[%lld].category_id: %lld "
                                "('%s') is not among the %d classes", (long long)ann[k],
                                (long long)a->category_id, c->categories[cat].name,
                                b->ds->nclasses);
        rd_box box = {(float)a->bbox[0], (float)a->bbox[1], (float)(a->bbox[0] + a->bbox[2]),
                      (float)(a->bbox[1] + a->bbox[3])};
        dataset_builder_object(b, box, label, a->iscrowd, 0, 0, (float)a->area);
    }
    return 0;
}

static int coco_build(dataset_builder *b, const coco_instances *c, const char *json,
                      const char *image_dir, const int *class_of)
{
    int64_t *first = NULL, *order = NULL;
    coco_group(c, &first, &order);
    int rc = 0;
    for (int64_t k = 0; rc == 0 && k < c->nimages; k++) {
        int64_t pos = c->image_index.pos[k];
        const coco_image *im = &c->images[pos];
        char *path = dataset_path_join(image_dir, im->file_name);
        if (im->file_name[0] == '\0' || !dataset_is_file(path)) {
            b->ds->orphan_labels += first[pos + 1] - first[pos];
        } else if (dataset_builder_begin(b, path, im->id) != 0) {
            rc = dataset_builder_bad(b);
        } else if (coco_add_objects(b, c, json, pos, order + first[pos],
                                    first[pos + 1] - first[pos], class_of) != 0) {
            dataset_builder_cancel(b);
            rc = dataset_builder_bad(b);
        }
        free(path);
    }
    free(first);
    free(order);
    return rc;
}

int coco_dataset_read(const char *path, const dataset_options *opt, rd_dataset *ds, char *err,
                      size_t errsize)
{
    char *json = coco_json_path(path, opt->split ? opt->split : "", err, errsize);
    if (json == NULL)
        return -1;
    coco_instances c;
    int rc = coco_json_read_instances(json, &c, err, errsize);
    if (rc != 0) {
        free(json);
        return -1;
    }
    char *image_dir = c.nimages > 0 ? coco_image_dir(json, &c, err, errsize) : strdup(".");
    if (image_dir == NULL) {
        rc = -1;
    } else {
        int *class_of = coco_classes(&c, ds);
        dataset_builder b;
        dataset_builder_init(&b, ds, opt->on_bad_sample, err, errsize);
        rc = coco_build(&b, &c, json, image_dir, class_of);
        free(class_of);
    }
    free(image_dir);
    coco_instances_free(&c);
    free(json);
    return rc;
}
