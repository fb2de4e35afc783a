/* yolo.c — YOLO label folders (see yolo.h): normalised "class cx cy w h" lines turned into
 * pixel boxes as Ultralytics' xywhn2xyxy does (x1 = W·(cx - w/2), in double precision), the
 * images found beside them, and the names file found near them. */
#include "data/yolo.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_build.h"
#include "lib/check.h"

#define YOLO_MAX_NUMBERS 4097  // class + up to 2048 polygon points

int yolo_parse_line(const char *line, int nclasses, int width, int height, const char *name,
                    int line_no, int32_t *label, rd_box *box, char *err, size_t errsize)
{
    double v[YOLO_MAX_NUMBERS];
    int n = 0;
    const char *s = line;
    for (;;) {
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '\0')
            break;
        char *end = NULL;
        double x = strtod(s, &end);
        if (end == s || (*end && !isspace((unsigned char)*end)) || !isfinite(x))
            return dataset_fail(err, errsize, name, "line %d: '%.*s' is not a number", line_no,
                                (int)strcspn(s, " \t\r\n"), s);
        if (n == YOLO_MAX_NUMBERS)
            return dataset_fail(err, errsize, name, "line %d: more than %d numbers", line_no,
                                YOLO_MAX_NUMBERS);
        v[n++] = x;
        s = end;
    }
    if (n == 0)
        return 1;
    if (n != 5 && (n < 7 || n % 2 == 0))
        return dataset_fail(err, errsize, name, "line %d: expected 'CLASS CX CY W H' (or "
                            "'CLASS X1 Y1 X2 Y2 X3 Y3 ...'), found %d numbers", line_no, n);
    if (v[0] != floor(v[0]) || v[0] < 0 || v[0] >= nclasses)
        return dataset_fail(err, errsize, name, "line %d: unknown class %g (the names file "
                            "has %d classes, 0 to %d)", line_no, v[0], nclasses, nclasses - 1);
    *label = (int32_t)v[0];
    if (n == 5) {
        if (v[3] < 0 || v[4] < 0)
            return dataset_fail(err, errsize, name, "line %d: negative %s %g", line_no,
                                v[3] < 0 ? "width" : "height", v[3] < 0 ? v[3] : v[4]);
        *box = (rd_box){(float)(width * (v[1] - v[3] / 2)), (float)(height * (v[2] - v[4] / 2)),
                        (float)(width * (v[1] + v[3] / 2)), (float)(height * (v[2] + v[4] / 2))};
        return 0;
    }
    double x1 = v[1], y1 = v[2], x2 = v[1], y2 = v[2];
    for (int i = 3; i < n; i += 2) {
        x1 = fmin(x1, v[i]), x2 = fmax(x2, v[i]);
        y1 = fmin(y1, v[i + 1]), y2 = fmax(y2, v[i + 1]);
    }
    *box = (rd_box){(float)(width * x1), (float)(height * y1), (float)(width * x2),
                    (float)(height * y2)};
    return 0;
}

/* dir/a/b (malloc'd); b may be "". */
static char *yolo_join2(const char *dir, const char *a, const char *b)
{
    char *p = dataset_path_join(dir, a);
    if (b == NULL || *b == '\0')
        return p;
    char *q = dataset_path_join(p, b);
    free(p);
    return q;
}

/* ROOT/labels[/split], else ROOT/X/labels[/split] for the first X (sorted) that has it. */
static char *yolo_labels_under(const char *root, const char *split)
{
    char *l = yolo_join2(root, "labels", split);
    if (dataset_is_dir(l))
        return l;
    free(l);
    char **subs = NULL, err[256];
    int n = dataset_list_subdirs(root, &subs, err, sizeof err);
    char *found = NULL;
    for (int i = 0; i < n && found == NULL; i++) {
        char *sub = dataset_path_join(root, subs[i]);
        l = yolo_join2(sub, "labels", split);
        free(sub);
        if (dataset_is_dir(l))
            found = l;
        else
            free(l);
    }
    dataset_free_names(subs, n > 0 ? n : 0);
    return found;
}

int yolo_find_labels_root(const char *root)
{
    char *l = yolo_labels_under(root, "");
    free(l);
    return l != NULL;
}

/* path with its last "images" component replaced by "labels" (malloc'd), or NULL. */
static char *yolo_labels_beside(const char *path)
{
    char *p = strdup(path);
    RD_CHECK(p != NULL, "out of memory");
    for (char *at = p + strlen(p); at > p;) {
        at--;
        if (strncmp(at, "images", 6) == 0 && (at == p || at[-1] == '/') &&
            (at[6] == '\0' || at[6] == '/')) {
            memcpy(at, "labels", 6);
            if (dataset_is_dir(p))
                return p;
            break;
        }
    }
    free(p);
    return NULL;
}

/* The images folder and labels folder of path for split. */
static int yolo_folders(const char *path, const char *split, char **images, char **labels,
                        char *err, size_t errsize)
{
    char *img = dataset_path_join(path, "images");
    if (dataset_is_dir(img)) {
        free(img);
        *images = yolo_join2(path, "images", split);
        *labels = yolo_labels_under(path, split);
    } else {
        free(img);
        *images = *split ? dataset_path_join(path, split) : strdup(path);
        *labels = yolo_labels_beside(*images);
    }
    if (!dataset_is_dir(*images))
        return dataset_fail(err, errsize, *images, "no such images folder");
    if (*labels == NULL)
        return dataset_fail(err, errsize, path, "no labels folder for the images in %s "
                            "(looked for labels/%s, X/labels/%s and an images/ component to "
                            "replace by labels/)", *images, split, split);
    return 0;
}

static int yolo_is_names_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcmp(dot, ".names") == 0 || strcmp(dot, ".yaml") == 0 ||
                   strcmp(dot, ".yml") == 0);
}

/* The names file near the labels (see yolo.h), malloc'd, or NULL. */
static char *yolo_find_names(const char *labels, const char *root)
{
    static const char *const known[] = {"classes.txt", "obj.names", "data.yaml",
                                        "dataset.yaml", "config.yaml"};
    char *dirs[4] = {strdup(labels), dataset_path_join(labels, ".."), NULL, strdup(root)};
    dirs[2] = dataset_path_join(dirs[1], "..");
    char *found = NULL;
    for (int d = 0; d < 4 && found == NULL; d++) {
        for (size_t k = 0; k < sizeof known / sizeof *known && found == NULL; k++) {
            char *p = dataset_path_join(dirs[d], known[k]);
            if (dataset_is_file(p))
                found = p;
            else
                free(p);
        }
        char **names = NULL, err[256];
        int n = found ? 0 : dataset_list_dir(dirs[d], yolo_is_names_name, &names, err, sizeof err);
        if (n > 0)
            found = dataset_path_join(dirs[d], names[0]);
        dataset_free_names(names, n > 0 ? n : 0);
    }
    for (int d = 0; d < 4; d++)
        free(dirs[d]);
    return found;
}

static int yolo_is_label_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".txt") == 0 && strcmp(name, "classes.txt") != 0;
}

/* The objects of one label file into the sample begun last. 0, or -1 with the message. */
static int yolo_read_labels(dataset_builder *b, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return dataset_fail(b->err, b->errsize, path, "cannot open: %s", strerror(errno));
    const rd_sample *s = &b->ds->samples[b->ds->nsamples - 1];
    char *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    for (int line = 1; rc == 0 && getline(&buf, &cap, f) >= 0; line++) {
        int32_t label = 0;
        rd_box box;
        int r = yolo_parse_line(buf, b->ds->nclasses, s->width, s->height, path, line, &label,
                                &box, b->err, b->errsize);
        if (r == 0)
            dataset_builder_object(b, box, label, 0, 0, 0, -1);
        rc = r < 0 ? -1 : 0;
    }
    free(buf);
    fclose(f);
    return rc;
}

/* Each image (sorted) with the label file of its stem; label files without an image are
 * counted as orphans. */
static int yolo_build(dataset_builder *b, const char *images, const char *labels)
{
    char **imgs = NULL, **txts = NULL;
    int ni = dataset_list_dir(images, dataset_is_image_name, &imgs, b->err, b->errsize);
    int nt = ni < 0 ? -1 : dataset_list_dir(labels, yolo_is_label_name, &txts, b->err,
                                            b->errsize);
    int rc = nt < 0 ? -1 : 0;
    int *used = rd_calloc(nt > 0 ? (size_t)nt : 1, sizeof *used, "label flags");
    for (int i = 0; rc == 0 && i < ni; i++) {
        char *stem = dataset_stem(imgs[i]), *img = dataset_path_join(images, imgs[i]);
        size_t len = strlen(stem) + 5;
        char *txt = rd_malloc(len, "a label name");
        snprintf(txt, len, "%s.txt", stem);
        char **hit = nt > 0 ? bsearch(&txt, txts, (size_t)nt, sizeof *txts,
                                      dataset_cmp_strings) : NULL;
        char *label_path = hit ? dataset_path_join(labels, *hit) : NULL;
        if (hit)
            used[hit - txts] = 1;
        if (dataset_builder_begin(b, img, b->ds->nsamples) != 0) {
            rc = dataset_builder_bad(b);
        } else if (label_path && yolo_read_labels(b, label_path) != 0) {
            dataset_builder_cancel(b);
            rc = dataset_builder_bad(b);
        }
        free(label_path);
        free(txt);
        free(img);
        free(stem);
    }
    for (int i = 0; i < nt; i++)
        b->ds->orphan_labels += !used[i];
    free(used);
    dataset_free_names(imgs, ni > 0 ? ni : 0);
    dataset_free_names(txts, nt > 0 ? nt : 0);
    return rc;
}

int yolo_dataset_read(const char *path, const dataset_options *opt, rd_dataset *ds, char *err,
                      size_t errsize)
{
    const char *split = opt->split ? opt->split : "";
    char *images = NULL, *labels = NULL;
    int rc = yolo_folders(path, split, &images, &labels, err, errsize);
    if (rc == 0 && ds->class_names == NULL) {
        char *names = yolo_find_names(labels, path);
        if (names == NULL)
            rc = dataset_fail(err, errsize, labels, "no names file found near the labels "
                              "(classes.txt, *.names, *.yaml with names:); give one");
        else
            rc = dataset_read_names(names, ds, err, errsize);
        free(names);
    }
    if (rc == 0) {
        dataset_builder b;
        dataset_builder_init(&b, ds, opt->on_bad_sample, err, errsize);
        rc = yolo_build(&b, images, labels);
    }
    free(images);
    free(labels);
    return rc;
}
