/* dataset.h — a detection dataset in memory, whatever its format on disk: PASCAL VOC (a devkit
 * root with Annotations/ and ImageSets/Main/, or image/XML pairs in one folder), COCO
 * (instances_*.json) or YOLO (labels/NAME.txt with a names file). Boxes are in image pixels,
 * clamped to the image; degenerate boxes are dropped and counted; images without labels stay as
 * background; label files without an image are ignored and counted. Bad samples either stop
 * the open with a message naming the file and the field or line, or are skipped and counted. */
#ifndef RD_DATASET_H
#define RD_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "lib/box.h"

typedef enum bad_sample_policy {
    BAD_SAMPLE_ERROR = 0,  // the first bad sample fails dataset_open
    BAD_SAMPLE_SKIP,       // bad samples are left out and counted in skipped_samples
} bad_sample_policy;

typedef struct rd_object {
    rd_box box;         // image pixels, clamped to the image
    int32_t label;      // contiguous class index, 0-based
    uint8_t crowd;      // COCO iscrowd (never positive in training, never missed in evaluation)
    uint8_t difficult;  // VOC difficult (neither counted nor penalised in VOC evaluation)
    uint8_t truncated;  // VOC truncated
    float area;         // COCO annotation `area` (evaluation area ranges); others: box area
} rd_object;

typedef struct rd_sample {
    char *image_path;      // owned
    int64_t image_id;      // COCO image id; VOC and YOLO: position in the sample list
    int width, height;     // of the decoded image (from its header), not from the annotation
    int64_t first_object;  // index of its first object in rd_dataset.objects
    int32_t nobjects;      // 0: background image
} rd_sample;

typedef struct rd_dataset {
    char format[8];           // "voc", "coco" or "yolo": how dataset_open read it
    int nclasses;
    char **class_names;       // [nclasses], owned
    int64_t *category_ids;    // [nclasses]: COCO category id of each class; VOC, YOLO: index
    rd_sample *samples;       // [nsamples], owned
    int64_t nsamples;
    rd_object *objects;       // [nobjects], owned; each sample's objects are contiguous
    int64_t nobjects;
    int64_t dropped_boxes;    // degenerate after clamping (zero width or height)
    int64_t skipped_samples;  // bad samples left out under BAD_SAMPLE_SKIP
    int64_t orphan_labels;    // label files or annotations whose image does not exist
} rd_dataset;

typedef struct dataset_options {
    const char *format;        // "voc", "coco", "yolo", or NULL / "" to detect from the path
    const char *split;         // VOC: ImageSets/Main/<split>.txt ("" = every annotation);
                               // COCO: the annotation file when path is a folder
    const char *names;         // class names file (one per line, or YAML `names:`); NULL: the
                               // format's own (COCO categories, YOLO names file next to labels,
                               // VOC: names.txt at the root if there is one, else the 20 VOC
                               // classes for a devkit root, else the sorted names found)
    bad_sample_policy on_bad_sample;
} dataset_options;

/* Read the dataset at path. Returns 0, or -1 with a message in err naming the file and the
 * field or line that is wrong (ds is then empty). The caller frees ds with dataset_free.
 * Sizes come from each image's header (data/image.h image_read_size), not from the
 * annotation; pixel data is not decoded here, so a file cut inside its pixel data is found
 * when the loader decodes it. A dataset with no image at all (none skipped) is an error.
 * Each reader's layouts and conventions are in data/voc.h, data/coco.h and data/yolo.h
 * (opt->split also names YOLO's images/SPLIT and labels/SPLIT folders). */
int dataset_open(const char *path, const dataset_options *opt, rd_dataset *ds, char *err,
                 size_t errsize);
void dataset_free(rd_dataset *ds);

/* Decode every image of ds in full (threads ≥ 1 at once), which finds what the header-only
 * open cannot: pixel data cut short or corrupt. Under BAD_SAMPLE_ERROR the first bad sample
 * (in sample order) fails with its message; under BAD_SAMPLE_SKIP bad samples are removed
 * (their objects too; image_id is kept) and counted in skipped_samples. 0, or -1 with a
 * message. */
int dataset_verify_images(rd_dataset *ds, bad_sample_policy policy, int threads, char *err,
                          size_t errsize);

#endif
