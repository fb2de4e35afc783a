/* dataset_build.h — what the dataset readers (voc.c, yolo.c, coco.c) share with dataset.c:
 * a builder that appends samples and objects to an rd_dataset (clamping boxes to the image,
 * dropping and counting degenerate ones, applying the bad-sample policy), class lists, and
 * the few file-system helpers they all need. Not a public interface: callers use dataset.h. */
#ifndef RD_DATASET_BUILD_H
#define RD_DATASET_BUILD_H

#include <stddef.h>

#include "data/dataset.h"

typedef struct dataset_builder {
    rd_dataset *ds;
    int64_t sample_cap, object_cap;  // capacities of ds->samples, ds->objects
    bad_sample_policy policy;
    char *err;  // where messages go; a skipped sample's reason is printed as a warning
    size_t errsize;
    int warnings_shown;  // skipped samples printed so far (the first few only)
} dataset_builder;

void dataset_builder_init(dataset_builder *b, rd_dataset *ds, bad_sample_policy policy,
                          char *err, size_t errsize);
/* Append a sample for image_path (copied) with its size read from the image header. -1 when
 * the header cannot be read: the message is in b->err and the caller hands it to
 * dataset_builder_bad. */
int dataset_builder_begin(dataset_builder *b, const char *image_path, int64_t image_id);
/* Append an object to the sample begun last: the box is clamped to the image; a box with no
 * width or height left is dropped and counted. area < 0: the clamped box's area. */
void dataset_builder_object(dataset_builder *b, rd_box box, int32_t label, int crowd,
                            int difficult, int truncated, float area);
/* Remove the sample begun last and its objects (it turned out bad). */
void dataset_builder_cancel(dataset_builder *b);
/* A bad sample whose message is in b->err: -1 under BAD_SAMPLE_ERROR; under BAD_SAMPLE_SKIP
 * it is counted, its reason printed as a warning (the first few), and 0 is returned. */
int dataset_builder_bad(dataset_builder *b);
/* "NAME: what" into b->err; returns -1. */
int dataset_fail(char *err, size_t errsize, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Set the class list (names copied); category_ids are the indices. */
void dataset_set_classes(rd_dataset *ds, const char *const *names, int n);
/* Index of name in the class list, or -1. */
int dataset_find_class(const rd_dataset *ds, const char *name);
/* Read a names file (one name per line, or YAML with a `names:` list or {index: name} map)
 * into ds's class list. 0, or -1 with "PATH: line N: what". */
int dataset_read_names(const char *path, rd_dataset *ds, char *err, size_t errsize);

/* strcmp for qsort and bsearch over an array of char *. */
int dataset_cmp_strings(const void *a, const void *b);
/* "a/b" (malloc'd; the caller frees it). */
char *dataset_path_join(const char *dir, const char *name);
int dataset_is_dir(const char *path);
int dataset_is_file(const char *path);
/* The names of the regular files in dir (not the path) whose name passes keep (NULL: all),
 * sorted by strcmp, in *names (each malloc'd, and the array; free with dataset_free_names).
 * Returns the count, or -1 with a message when dir cannot be read. */
int dataset_list_dir(const char *dir, int (*keep)(const char *name), char ***names, char *err,
                     size_t errsize);
/* The same for the sub-folders of dir. */
int dataset_list_subdirs(const char *dir, char ***names, char *err, size_t errsize);
void dataset_free_names(char **names, int n);
/* 1 when name ends in .jpg, .jpeg or .png (any case): the files a reader takes as images. */
int dataset_is_image_name(const char *name);
/* name without its last extension (malloc'd). */
char *dataset_stem(const char *name);
/* The first of dir/stem.{jpg,jpeg,png,JPG,JPEG,PNG} that exists (malloc'd), or NULL. */
char *dataset_find_image(const char *dir, const char *stem);

#endif
