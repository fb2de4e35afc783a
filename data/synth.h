/* synth.h — the synthetic "shapes" detection set rankdet ships (`rankdet synth`, the data of
 * `make demo`): S×S colour images of up to six shape classes (circle, square, triangle, plus,
 * star, ring) at sizes from small (0.12 S) to large (0.45 S), rotated and stretched, in varied
 * colours on gradient, striped or cluttered backgrounds, overlapping one another (each object
 * keeps at least 60% of its pixels visible, boxes overlap at IoU ≤ 0.45), with pixel noise and
 * JPEG compression. Every image comes from its own generator seeded by (seed, index), so a
 * seed gives the same bytes whatever else changes.
 *
 * On disk it is a PASCAL VOC devkit folder: JPEGImages/NNNNNN.jpg, Annotations/NNNNNN.xml
 * (boxes are the tight pixel extents of the whole shapes, occluded parts included, written in
 * VOC's 1-based inclusive integers: xmin = x1 + 1, xmax = x2 for the continuous box
 * [x1, x2)), ImageSets/Main/train.txt and test.txt (the last round(test_frac · N) images are
 * the test split), names.txt (the class names in label order; pass it as the names file when
 * opening the set, since a devkit's default classes are VOC's 20) and synth.txt (the
 * generator's settings). */
#ifndef RD_SYNTH_H
#define RD_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "data/image.h"
#include "lib/box.h"

enum { SYNTH_MAX_CLASSES = 6, SYNTH_MAX_OBJECTS = 20 };

typedef struct synth_config {
    int64_t images;      // N
    int classes;         // K in 1..SYNTH_MAX_CLASSES (the first K of the class list)
    int size;            // S, in 32..2048
    uint64_t seed;
    double test_frac;    // share of images in test.txt, in [0, 1)
    int quality;         // JPEG quality 1..100
    int min_objects, max_objects;  // per image, 1 ≤ min ≤ max ≤ SYNTH_MAX_OBJECTS
} synth_config;

typedef struct synth_object {
    rd_box box;   // continuous pixels with integer corners: the shape covers x1 ≤ x < x2
    int label;    // 0-based class index
} synth_object;

/* The name of class k (0 ≤ k < SYNTH_MAX_CLASSES): "circle", "square", ... */
const char *synth_class_name(int k);
/* Defaults: 2000 images, 4 classes, size 128, seed 1, test share 0.2, quality 90, 1-5 objects. */
void synth_config_defaults(synth_config *cfg);
/* NULL when cfg is valid, else a sentence naming the setting and its allowed range. */
const char *synth_config_problem(const synth_config *cfg);
/* Render image `index` of the set into img (allocated here, freed by the caller with
 * image_free) and its objects (at most cfg->max_objects). Returns the object count; at least
 * min_objects unless the image is too crowded to place them (rare; never 0). */
int synth_render(const synth_config *cfg, int64_t index, rd_image *img, synth_object *objects);
/* Write the whole set into dir (created; it must not exist or be empty). Returns 0, or -1 with
 * a message naming the path that could not be written. Prints progress on stderr when
 * `progress` is set. */
int synth_write(const synth_config *cfg, const char *dir, int progress, char *err,
                size_t errsize);

#endif
