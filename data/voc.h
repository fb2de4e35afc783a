/* voc.h — PASCAL VOC annotations (http://host.robots.ox.ac.uk/pascal/VOC/, devkit_doc.pdf):
 * one XML per image, read with libxml2. voc_read_xml gives the boxes exactly as written (VOC's
 * 1-based, inclusive pixel indices), for the VOC evaluation; voc_box_to_pixels turns them into
 * rankdet's continuous coordinates (lib/box.h) for training.
 *
 * Coordinates: VOC's pixel i (1-based) covers the continuous interval [i - 1, i], so the box
 * xmin..xmax (inclusive) is [xmin - 1, xmax] and its width xmax - xmin + 1 is the devkit's
 * "+1" width. A continuous detection (x1, y1, x2, y2) in VOC's convention is therefore
 * (x1 + 1, y1 + 1, x2, y2) (voc_box_from_pixels), and the devkit's +1 IoU of two such boxes
 * equals the continuous IoU of the originals. */
#ifndef RD_VOC_H
#define RD_VOC_H

#include <stddef.h>

#include "data/dataset.h"
#include "lib/box.h"

typedef struct voc_object {
    char *name;                      // <name>, owned
    double xmin, ymin, xmax, ymax;   // <bndbox> as written (xmax >= xmin, ymax >= ymin)
    int difficult, truncated;        // 0 or 1; 0 when absent
    int line;                        // line of <object> in the file, for messages
} voc_object;

typedef struct voc_annotation {
    char *filename;             // <filename>, "" when absent; owned
    int width, height, depth;   // <size> as written; 0 when absent (never negative)
    voc_object *objects;        // [nobjects], file order; owned
    int nobjects;
} voc_annotation;

/* Read one VOC XML file. Required: the root <annotation>; per <object>, <name> and <bndbox>
 * with xmin, ymin, xmax, ymax numbers and xmax >= xmin, ymax >= ymin. Optional: <size>,
 * <difficult>, <truncated> (integers; any non-zero value reads as 1). Everything else is
 * ignored (<path>, <folder>, <pose>, <part>, ...). Returns 0, or -1 with "PATH: line N: what"
 * in err (malformed XML, a missing or non-numeric field, a negative size; out is then empty).
 * The caller frees out with voc_annotation_free. */
int voc_read_xml(const char *path, voc_annotation *out, char *err, size_t errsize);
/* The same from text[0..len); name stands for the file in messages. */
int voc_parse_xml(const char *text, size_t len, const char *name, voc_annotation *out,
                  char *err, size_t errsize);
/* Free what voc_read_xml filled in; a is empty afterwards. NULL-safe. */
void voc_annotation_free(voc_annotation *a);

/* The object's box in continuous pixels: (xmin - 1, ymin - 1, xmax, ymax). */
rd_box voc_box_to_pixels(const voc_object *o);
/* The inverse: (x1 + 1, y1 + 1, x2, y2) into xmin, ymin, xmax, ymax of o. */
void voc_box_from_pixels(rd_box b, voc_object *o);

/* Write a VOC XML file for an image of width × height (depth 3) and its objects, atomically.
 * 0, or -1 with a message naming the path. */
int voc_write_xml(const char *path, const char *image_filename, int width, int height,
                  const voc_object *objects, int nobjects, char *err, size_t errsize);

/* The 20 PASCAL VOC classes in the devkit's order (aeroplane ... tvmonitor). */
extern const char *const VOC_CLASS_NAMES[20];

/* dataset_open's VOC reader (see dataset.h); ds holds the class list when opt->names gave
 * one. Layouts: a devkit root (Annotations/, JPEGImages/, ImageSets/Main/SPLIT.txt), a root
 * with annotations/ and images/, or one folder of image/XML pairs. The samples are the ids of
 * the split file, or else every image (sorted by name); an image's XML has its stem; an image
 * without one is background, an XML without an image is counted in orphan_labels. */
int voc_dataset_read(const char *path, const dataset_options *opt, rd_dataset *ds, char *err,
                     size_t errsize);
/* 1 when dir holds at least one .xml file. */
int voc_dir_has_xml(const char *dir);

#endif
