/* coco.h — COCO instances files as a detection dataset, on top of data/coco_json (the raw
 * file): category ids mapped to contiguous class indices (ascending id, as pycocotools'
 * getCatIds and torchvision order them) and back through rd_dataset.category_ids, `bbox`
 * [x, y, w, h] turned into (x, y, x + w, y + h), `iscrowd` and `area` kept. */
#ifndef RD_COCO_H
#define RD_COCO_H

#include <stddef.h>

#include "data/dataset.h"

/* dataset_open's COCO reader (see dataset.h). path is the JSON file, or a folder with the
 * split naming annotations/instances_SPLIT.json (or a .json file under the folder or its
 * annotations/). The images are looked for in ROOT/images/SPLIT, ROOT/SPLIT, ROOT/images,
 * ROOT and the JSON's folder, where ROOT is the folder above annotations/: the first holding
 * the first image. Samples are the images in ascending id; an image whose file is missing is
 * left out and its annotations counted in orphan_labels; an image whose size in the JSON
 * differs from its file, or an annotation whose category is not among the classes (a names
 * file may narrow them), is a bad sample. */
int coco_dataset_read(const char *path, const dataset_options *opt, rd_dataset *ds, char *err,
                      size_t errsize);
/* 1 when dir holds at least one .json file. */
int coco_dir_has_json(const char *dir);

#endif
