/* yolo.h — YOLO (darknet / Ultralytics) labels: one text file per image, one line per box,
 * "CLASS CX CY W H" normalised to the image size (a polygon "CLASS X1 Y1 X2 Y2 ..." is read as
 * the box around its points), with a names file. */
#ifndef RD_YOLO_H
#define RD_YOLO_H

#include <stddef.h>

#include "data/dataset.h"
#include "lib/box.h"

/* One label line in image pixels: class and box for an image of width × height. Returns 0,
 * 1 for a blank line, or -1 with "NAME: line N: what" in err (not numbers, a class outside
 * [0, nclasses), a negative width or height). The box is not clamped here. */
int yolo_parse_line(const char *line, int nclasses, int width, int height, const char *name,
                    int line_no, int32_t *label, rd_box *box, char *err, size_t errsize);

/* dataset_open's YOLO reader (see dataset.h). Layout: ROOT/images[/SPLIT] with its labels in
 * ROOT/labels[/SPLIT] or ROOT/X/labels[/SPLIT] (one level down, as coco128's
 * object_detection/labels/), or an images folder whose path has an images/ component replaced
 * by labels/ (Ultralytics' rule). The names come from opt->names, or else the first of
 * classes.txt, obj.names, data.yaml, dataset.yaml, config.yaml, *.names, *.yaml found in the
 * labels folder, the two above it, or ROOT. Every image is a sample (sorted by name); an
 * image without a label file is background; a label file without an image is counted in
 * orphan_labels. */
int yolo_dataset_read(const char *path, const dataset_options *opt, rd_dataset *ds, char *err,
                      size_t errsize);
/* 1 when ROOT has labels/ or X/labels/ (how dataset_open recognises a YOLO root). */
int yolo_find_labels_root(const char *root);

#endif
