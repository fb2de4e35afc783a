/* voc.c — PASCAL VOC XML annotations with libxml2 (see voc.h for the coordinate convention)
 * and the VOC dataset layouts: a devkit root, annotations/ + images/, or image/XML pairs in one
 * folder. Parsing never loads a DTD or the network (XML_PARSE_NONET, no entity expansion). */
#include "data/voc.h"

#include <dirent.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset_build.h"
#include "lib/check.h"

const char *const VOC_CLASS_NAMES[20] = {
    "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",         "car",
    "cat",       "chair",   "cow",   "diningtable", "dog",    "horse",       "motorbike",
    "person",    "pottedplant", "sheep", "sofa",    "train",  "tvmonitor"};

/* Where a message points: "NAME: line N: ". */
typedef struct voc_place {
    const char *name;
    char *err;
    size_t errsize;
} voc_place;

static int voc_fail(const voc_place *p, const xmlNode *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int voc_fail(const voc_place *p, const xmlNode *node, const char *fmt, ...)
{
    int len = snprintf(p->err, p->errsize, "%s: line %ld: ", p->name, xmlGetLineNo((xmlNode *)node));
    va_list ap;
    va_start(ap, fmt);
    rd_err_vappend(p->err, p->errsize, len, fmt, ap);
    va_end(ap);
    return -1;
}

static int voc_is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* The first child element called name, or NULL. */
static xmlNode *voc_child(const xmlNode *parent, const char *name)
{
    for (xmlNode *c = parent->children; c != NULL; c = c->next)
        if (voc_is(c, name))
            return c;
    return NULL;
}

/* The element's text without surrounding blanks (malloc'd). */
static char *voc_text(const xmlNode *n)
{
    xmlChar *raw = xmlNodeGetContent(n);
    const char *s = raw ? (const char *)raw : "";
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' ||
                       s[len - 1] == '\r'))
        len--;
    char *out = rd_malloc(len + 1, "XML text");
    memcpy(out, s, len);
    out[len] = '\0';
    xmlFree(raw);
    return out;
}

/* <parent><field>NUMBER</field>: a finite number (required, or 0 when optional and absent). */
static int voc_number(const xmlNode *parent, const char *field, int required, double *out,
                      const voc_place *p)
{
    xmlNode *n = voc_child(parent, field);
    *out = 0;
    if (n == NULL)
        return required ? voc_fail(p, parent, "<%s> has no <%s>", (const char *)parent->name,
                                   field)
                        : 0;
    char *text = voc_text(n), *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    int bad = end == text || *end != '\0' || !isfinite(v);
    if (bad)
        voc_fail(p, n, "<%s><%s>: '%s' is not a number", (const char *)parent->name, field,
                 text);
    free(text);
    *out = v;
    return bad ? -1 : 0;
}

static int voc_read_size(const xmlNode *size, voc_annotation *a, const voc_place *p)
{
    static const char *const fields[3] = {"width", "height", "depth"};
    int *dst[3] = {&a->width, &a->height, &a->depth};
    for (int i = 0; i < 3; i++) {
        double v = 0;
        if (voc_number(size, fields[i], 0, &v, p) != 0)
            return -1;
        if (v < 0 || v > 1e9 || v != floor(v))
            return voc_fail(p, size, "<size><%s>: %g is %s", fields[i], v,
                            v < 0 ? "negative" : "not a whole number of pixels");
        *dst[i] = (int)v;
    }
    return 0;
}

static int voc_read_object(const xmlNode *obj, voc_object *o, const voc_place *p)
{
    *o = (voc_object){.line = (int)xmlGetLineNo((xmlNode *)obj)};
    xmlNode *name = voc_child(obj, "name"), *box = voc_child(obj, "bndbox");
    if (name == NULL)
        return voc_fail(p, obj, "<object> has no <name>");
    o->name = voc_text(name);
    if (o->name[0] == '\0')
        return voc_fail(p, name, "<object><name> is empty");
    if (box == NULL)
        return voc_fail(p, obj, "<object> '%s' has no <bndbox>", o->name);
    double flag = 0;
    if (voc_number(box, "xmin", 1, &o->xmin, p) != 0 ||
        voc_number(box, "ymin", 1, &o->ymin, p) != 0 ||
        voc_number(box, "xmax", 1, &o->xmax, p) != 0 ||
        voc_number(box, "ymax", 1, &o->ymax, p) != 0)
        return -1;
    if (o->xmax < o->xmin || o->ymax < o->ymin)
        return voc_fail(p, box, "<object> '%s': %s %g < %s %g (negative %s)", o->name,
                        o->xmax < o->xmin ? "xmax" : "ymax",
                        o->xmax < o->xmin ? o->xmax : o->ymax,
                        o->xmax < o->xmin ? "xmin" : "ymin",
                        o->xmax < o->xmin ? o->xmin : o->ymin,
                        o->xmax < o->xmin ? "width" : "height");
    if (voc_number(obj, "difficult", 0, &flag, p) != 0)
        return -1;
    o->difficult = flag != 0;
    if (voc_number(obj, "truncated", 0, &flag, p) != 0)
        return -1;
    o->truncated = flag != 0;
    return 0;
}

/* The children of <annotation>: <filename>, <size>, every <object>. */
static int voc_read_root(const xmlNode *root, voc_annotation *a, const voc_place *p)
{
    int nobj = 0;
    for (xmlNode *c = root->children; c != NULL; c = c->next)
        nobj += voc_is(c, "object");
    a->objects = rd_calloc((size_t)nobj, sizeof *a->objects, "VOC objects");
    xmlNode *filename = voc_child(root, "filename"), *size = voc_child(root, "size");
    a->filename = filename ? voc_text(filename) : strdup("");
    RD_CHECK(a->filename != NULL, "out of memory");
    if (size != NULL && voc_read_size(size, a, p) != 0)
        return -1;
    for (xmlNode *c = root->children; c != NULL; c = c->next)
        if (voc_is(c, "object") && voc_read_object(c, &a->objects[a->nobjects++], p) != 0)
            return -1;
    return 0;
}

/* libxml2 reports every error; the first one is the one to show. */
typedef struct voc_xml_error {
    int line;
    char message[256];
} voc_xml_error;

static void voc_keep_first_error(void *data, xmlErrorPtr e)
{
    voc_xml_error *first = data;
    if (first->message[0] != '\0' || e == NULL || e->level < XML_ERR_ERROR)
        return;
    first->line = e->line;
    snprintf(first->message, sizeof first->message, "%s", e->message ? e->message : "error");
    first->message[strcspn(first->message, "\n")] = '\0';
}

int voc_parse_xml(const char *text, size_t len, const char *name, voc_annotation *out,
                  char *err, size_t errsize)
{
    *out = (voc_annotation){0};
    RD_CHECK(len < (size_t)1 << 30, "an XML file of %zu bytes", len);
    xmlParserCtxtPtr ctx = xmlNewParserCtxt();
    RD_CHECK(ctx != NULL, "xmlNewParserCtxt failed (out of memory?)");
    voc_xml_error first = {0, ""};
    xmlSetStructuredErrorFunc(&first, voc_keep_first_error);  // per thread in libxml2
    xmlDocPtr doc = xmlCtxtReadMemory(ctx, text, (int)len, name, NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR |
                                          XML_PARSE_NOWARNING);
    xmlSetStructuredErrorFunc(NULL, NULL);
    voc_place p = {name, err, errsize};
    int rc = 0;
    if (doc == NULL) {
        rc = -1;
        snprintf(err, errsize, "%s: line %d: malformed XML: %s", name, first.line,
                 first.message[0] ? first.message : "unknown error");
    } else {
        xmlNode *root = xmlDocGetRootElement(doc);
        if (root == NULL || !voc_is(root, "annotation"))
            rc = voc_fail(&p, root ? root : (xmlNode *)doc, "the root element is <%s>, not "
                          "<annotation>", root ? (const char *)root->name : "");
        else
            rc = voc_read_root(root, out, &p);
        xmlFreeDoc(doc);
    }
    xmlFreeParserCtxt(ctx);
    if (rc != 0)
        voc_annotation_free(out);
    return rc;
}

int voc_read_xml(const char *path, voc_annotation *out, char *err, size_t errsize)
{
    *out = (voc_annotation){0};
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return dataset_fail(err, errsize, path, "cannot open: %s", strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 8192;
            buf = realloc(buf, cap);
            RD_CHECK(buf != NULL, "out of memory reading %s", path);
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    int rc = bad ? dataset_fail(err, errsize, path, "read error")
                 : voc_parse_xml(buf, len, path, out, err, errsize);
    free(buf);
    return rc;
}

void voc_annotation_free(voc_annotation *a)
{
    if (a == NULL)
        return;
    for (int i = 0; i < a->nobjects; i++)
        free(a->objects[i].name);
    free(a->objects);
    free(a->filename);
    *a = (voc_annotation){0};
}

rd_box voc_box_to_pixels(const voc_object *o)
{
    return (rd_box){(float)(o->xmin - 1), (float)(o->ymin - 1), (float)o->xmax, (float)o->ymax};
}

void voc_box_from_pixels(rd_box b, voc_object *o)
{
    o->xmin = (double)b.x1 + 1;
    o->ymin = (double)b.y1 + 1;
    o->xmax = b.x2;
    o->ymax = b.y2;
}

/* s with &, <, >, " escaped for XML text, into f. */
static void voc_put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void voc_put_object(FILE *f, const voc_object *o)
{
    fputs("\t<object>\n\t\t<name>", f);
    voc_put_escaped(f, o->name);
    fprintf(f, "</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>%d</truncated>\n"
               "\t\t<difficult>%d</difficult>\n\t\t<bndbox>\n\t\t\t<xmin>%.9g</xmin>\n"
               "\t\t\t<ymin>%.9g</ymin>\n\t\t\t<xmax>%.9g</xmax>\n\t\t\t<ymax>%.9g</ymax>\n"
               "\t\t</bndbox>\n\t</object>\n",
            o->truncated != 0, o->difficult != 0, o->xmin, o->ymin, o->xmax, o->ymax);
}

int voc_write_xml(const char *path, const char *image_filename, int width, int height,
                  const voc_object *objects, int nobjects, char *err, size_t errsize)
{
    size_t len = strlen(path) + 16;
    char *tmp = rd_malloc(len, "a temporary file name");
    snprintf(tmp, len, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd >= 0)
        (void)fchmod(fd, 0644);  // mkstemp creates 0600; written files are for everyone to read
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        dataset_fail(err, errsize, path, "cannot create a temporary file: %s", strerror(errno));
        free(tmp);
        return -1;
    }
    fputs("<annotation>\n\t<filename>", f);
    voc_put_escaped(f, image_filename);
    fprintf(f, "</filename>\n\t<size>\n\t\t<width>%d</width>\n\t\t<height>%d</height>\n"
               "\t\t<depth>3</depth>\n\t</size>\n\t<segmented>0</segmented>\n",
            width, height);
    for (int i = 0; i < nobjects; i++)
        voc_put_object(f, &objects[i]);
    fputs("</annotation>\n", f);
    int rc = ferror(f) ? -1 : 0;
    rc |= fclose(f) != 0 ? -1 : 0;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0) {
        dataset_fail(err, errsize, path, "cannot write: %s", strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

static int voc_is_xml_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL && strcasecmp(dot, ".xml") == 0;
}

int voc_dir_has_xml(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int found = 0;
    for (struct dirent *e; !found && (e = readdir(d)) != NULL;)
        found = voc_is_xml_name(e->d_name);
    closedir(d);
    return found;
}

/* Where the XML and the images of a VOC folder are. */
typedef struct voc_layout {
    char *ann_dir, *img_dir;
    int devkit;  // Annotations/ + JPEGImages/ (+ ImageSets/Main/)
} voc_layout;

/* One sample to read: its image (NULL: missing, a bad sample) and its XML (NULL: background). */
typedef struct voc_item {
    char *image, *xml;
    char *why;  // for a missing image: the place that named it
    int skipped;
} voc_item;

static int voc_layout_find(const char *path, voc_layout *l, char *err, size_t errsize)
{
    *l = (voc_layout){0};
    char *ann = dataset_path_join(path, "Annotations");
    if (dataset_is_dir(ann)) {
        *l = (voc_layout){ann, dataset_path_join(path, "JPEGImages"), 1};
        return 0;
    }
    free(ann);
    ann = dataset_path_join(path, "annotations");
    if (dataset_is_dir(ann) && voc_dir_has_xml(ann)) {
        char *img = dataset_path_join(path, "images");
        if (!dataset_is_dir(img)) {
            free(ann);
            free(img);
            return dataset_fail(err, errsize, path, "annotations/ holds XML files but there "
                                "is no images/ folder beside it");
        }
        *l = (voc_layout){ann, img, 0};
        return 0;
    }
    free(ann);
    *l = (voc_layout){strdup(path), strdup(path), 0};
    RD_CHECK(l->ann_dir && l->img_dir, "out of memory");
    return 0;
}

/* ann_dir/stem.xml when it exists (malloc'd), else NULL. */
static char *voc_xml_for(const voc_layout *l, const char *stem)
{
    size_t len = strlen(stem) + 5;
    char *name = rd_malloc(len, "an XML name");
    snprintf(name, len, "%s.xml", stem);
    char *p = dataset_path_join(l->ann_dir, name);
    free(name);
    if (dataset_is_file(p))
        return p;
    free(p);
    return NULL;
}

/* The ids of ImageSets/Main/SPLIT.txt (first word of each non-blank line). */
static int voc_items_from_split(const char *path, const voc_layout *l, const char *split,
                                voc_item **items, int *n, char *err, size_t errsize)
{
    size_t len = strlen(split) + 32;
    char *rel = rd_malloc(len, "a split file name");
    snprintf(rel, len, "ImageSets/Main/%s.txt", split);
    char *list = dataset_path_join(path, rel);
    free(rel);
    FILE *f = fopen(list, "r");
    if (f == NULL) {
        dataset_fail(err, errsize, list, "cannot open the split list: %s", strerror(errno));
        free(list);
        return -1;
    }
    char *buf = NULL, id[1024];
    size_t cap = 0;
    int line = 0, count = 0;
    for (; getline(&buf, &cap, f) >= 0; line++) {
        if (sscanf(buf, "%1023s", id) != 1)
            continue;
        *items = realloc(*items, sizeof **items * (size_t)(count + 1));
        RD_CHECK(*items != NULL, "out of memory for the split list");
        voc_item *it = &(*items)[count++];
        *it = (voc_item){dataset_find_image(l->img_dir, id), voc_xml_for(l, id), NULL, 0};
        if (it->image == NULL) {
            size_t wlen = strlen(list) + strlen(id) + strlen(l->img_dir) + 96;
            it->why = rd_malloc(wlen, "a message");
            snprintf(it->why, wlen, "%s: line %d: no image '%s' (.jpg, .jpeg or .png) in %s",
                     list, line + 1, id, l->img_dir);
        }
    }
    free(buf);
    fclose(f);
    free(list);
    *n = count;
    return 0;
}

/* Every image of img_dir (sorted by name) with the XML of its stem; XMLs without an image are
 * counted as orphans. */
static int voc_items_from_listing(const voc_layout *l, voc_item **items, int *n,
                                  int64_t *orphans, char *err, size_t errsize)
{
    char **images = NULL, **xmls = NULL;
    int ni = dataset_list_dir(l->img_dir, dataset_is_image_name, &images, err, errsize);
    if (ni < 0)
        return -1;
    int nx = dataset_list_dir(l->ann_dir, voc_is_xml_name, &xmls, err, errsize);
    if (nx < 0) {
        dataset_free_names(images, ni);
        return -1;
    }
    char **stems = rd_calloc((size_t)ni, sizeof *stems, "image stems");
    for (int i = 0; i < ni; i++)
        stems[i] = dataset_stem(images[i]);
    char **sorted = rd_calloc((size_t)ni, sizeof *sorted, "image stems");
    memcpy(sorted, stems, sizeof *stems * (size_t)ni);
    qsort(sorted, (size_t)ni, sizeof *sorted, dataset_cmp_strings);
    for (int i = 0; i < nx; i++) {
        char *stem = dataset_stem(xmls[i]);
        *orphans += bsearch(&stem, sorted, (size_t)ni, sizeof *sorted, dataset_cmp_strings) == NULL;
        free(stem);
    }
    *items = rd_calloc((size_t)ni, sizeof **items, "VOC samples");
    for (int i = 0; i < ni; i++)
        (*items)[i] = (voc_item){dataset_path_join(l->img_dir, images[i]),
                                 voc_xml_for(l, stems[i]), NULL, 0};
    *n = ni;
    free(sorted);
    dataset_free_names(stems, ni);
    dataset_free_names(images, ni);
    dataset_free_names(xmls, nx);
    return 0;
}

/* The class list when no names file gave one: the 20 VOC classes for a devkit, else every
 * name in the annotations, sorted. */
static void voc_default_classes(const voc_layout *l, const voc_annotation *ann, int n,
                                rd_dataset *ds)
{
    if (l->devkit) {
        dataset_set_classes(ds, VOC_CLASS_NAMES, 20);
        return;
    }
    int total = 0, k = 0;
    for (int i = 0; i < n; i++)
        total += ann[i].nobjects;
    const char **names = rd_calloc((size_t)total, sizeof *names, "class names");
    for (int i = 0; i < n; i++)
        for (int j = 0; j < ann[i].nobjects; j++)
            names[k++] = ann[i].objects[j].name;
    qsort(names, (size_t)total, sizeof *names, dataset_cmp_strings);
    int unique = 0;
    for (int i = 0; i < total; i++)
        if (unique == 0 || strcmp(names[unique - 1], names[i]) != 0)
            names[unique++] = names[i];
    dataset_set_classes(ds, names, unique);
    free(names);
}

/* Pass 1: every XML parsed; a bad one (or a missing image) is a bad sample. */
static int voc_parse_items(voc_item *items, int n, voc_annotation *ann, dataset_builder *b)
{
    for (int i = 0; i < n; i++) {
        int bad = 0;
        if (items[i].image == NULL) {
            snprintf(b->err, b->errsize, "%s", items[i].why);
            bad = 1;
        } else if (items[i].xml != NULL) {
            bad = voc_read_xml(items[i].xml, &ann[i], b->err, b->errsize) != 0;
        }
        if (bad && dataset_builder_bad(b) != 0)
            return -1;
        items[i].skipped = bad;
    }
    return 0;
}

/* Pass 2: each sample with its size from the image header and its objects. */
static int voc_build_items(const voc_item *items, int n, const voc_annotation *ann,
                           dataset_builder *b)
{
    rd_dataset *ds = b->ds;
    for (int i = 0; i < n; i++) {
        if (items[i].skipped)
            continue;
        if (dataset_builder_begin(b, items[i].image, ds->nsamples) != 0) {
            if (dataset_builder_bad(b) != 0)
                return -1;
            continue;
        }
        for (int j = 0; j < ann[i].nobjects; j++) {
            const voc_object *o = &ann[i].objects[j];
            int label = dataset_find_class(ds, o->name);
            if (label < 0) {
                dataset_fail(b->err, b->errsize, items[i].xml, "line %d: unknown class '%s' "
                             "(not among the %d classes)", o->line, o->name, ds->nclasses);
                dataset_builder_cancel(b);
                if (dataset_builder_bad(b) != 0)
                    return -1;
                break;
            }
            dataset_builder_object(b, voc_box_to_pixels(o), label, 0, o->difficult,
                                   o->truncated, -1);
        }
    }
    return 0;
}

/* A names.txt at the root (`rankdet synth` writes one) gives the class list when no names
 * file was named. 0 when there is none or it was read, -1 with a message when it is bad. */
static int voc_read_root_names(const char *root, rd_dataset *ds, char *err, size_t errsize)
{
    char *names = dataset_path_join(root, "names.txt");
    int rc = dataset_is_file(names) ? dataset_read_names(names, ds, err, errsize) : 0;
    free(names);
    return rc;
}

int voc_dataset_read(const char *path, const dataset_options *opt, rd_dataset *ds, char *err,
                     size_t errsize)
{
    if (ds->class_names == NULL && dataset_is_dir(path) &&
        voc_read_root_names(path, ds, err, errsize) != 0)
        return -1;
    voc_layout l;
    if (voc_layout_find(path, &l, err, errsize) != 0)
        return -1;
    voc_item *items = NULL;
    int n = 0, rc;
    if (opt->split && *opt->split)
        rc = voc_items_from_split(path, &l, opt->split, &items, &n, err, errsize);
    else
        rc = voc_items_from_listing(&l, &items, &n, &ds->orphan_labels, err, errsize);
    voc_annotation *ann = rd_calloc((size_t)n, sizeof *ann, "VOC annotations");
    dataset_builder b;
    dataset_builder_init(&b, ds, opt->on_bad_sample, err, errsize);
    if (rc == 0)
        rc = voc_parse_items(items, n, ann, &b);
    if (rc == 0 && ds->class_names == NULL)
        voc_default_classes(&l, ann, n, ds);
    if (rc == 0)
        rc = voc_build_items(items, n, ann, &b);
    for (int i = 0; i < n; i++) {
        voc_annotation_free(&ann[i]);
        free(items[i].image);
        free(items[i].xml);
        free(items[i].why);
    }
    free(ann);
    free(items);
    free(l.ann_dir);
    free(l.img_dir);
    return rc;
}
