/* coco_json.h — the raw content of COCO JSON files, read with cJSON: an instances file
 * (images, categories, annotations; https://cocodataset.org/#format-data) and a results file
 * (a list of {image_id, category_id, bbox, score}; https://cocodataset.org/#format-results).
 * Values are kept as written: bbox is [x, y, w, h] in doubles, nothing is clamped, no class
 * index is assigned (data/ readers and analysis/coco_eval do that). Every bad field is an
 * error naming the file, the element and the field, as in
 *   "instances.json: annotations[12].bbox: width -3 is negative".
 * Fields the formats define but evaluation and training do not use (segmentation, info,
 * licenses, supercategory, ...) are skipped. */
#ifndef RD_COCO_JSON_H
#define RD_COCO_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef struct coco_image {
    int64_t id;
    int width, height;      // 0 when the file leaves them out; never negative
    const char *file_name;  // "" when absent; points into coco_instances.strings
} coco_image;

typedef struct coco_category {
    int64_t id;
    const char *name;  // "" when absent; points into coco_instances.strings
} coco_category;

typedef struct coco_annotation {
    int64_t id;           // as written; position + 1 when the file leaves it out
    int64_t image_id;     // an id of coco_instances.images (checked)
    int64_t category_id;  // an id of coco_instances.categories (checked)
    double bbox[4];       // x, y, w, h as written; finite, w >= 0, h >= 0
    double area;          // `area` as written (finite, >= 0); w * h when absent
    int iscrowd;          // 0 or 1; 0 when absent
} coco_annotation;

/* An id -> position lookup, sorted by id (ids are unique). */
typedef struct coco_id_index {
    int64_t *ids;  // [n], ascending
    int64_t *pos;  // [n]: position in the array the index was built for
    int64_t n;
} coco_id_index;

typedef struct coco_instances {
    coco_image *images;  // [nimages], file order
    int64_t nimages;
    coco_category *categories;  // [ncategories], file order
    int64_t ncategories;
    coco_annotation *annotations;  // [nannotations], file order
    int64_t nannotations;
    coco_id_index image_index;     // image id -> position in images
    coco_id_index category_index;  // category id -> position in categories
    char *strings;                 // owned pool behind file_name and name
} coco_instances;

typedef struct coco_result {
    int64_t image_id;
    int64_t category_id;
    double bbox[4];  // x, y, w, h; finite, w >= 0, h >= 0
    double score;    // finite
} coco_result;

typedef struct coco_results {
    coco_result *results;  // [n], file order; owned
    int64_t n;
} coco_results;

/* Read the instances file at path. `images` and `categories` are required arrays,
 * `annotations` may be absent (an image-info file). Image and category ids must be unique
 * integers; every annotation must name a listed image and category. Returns 0, or -1 with a
 * message naming the file, element and field in err (out is then empty). The caller frees out
 * with coco_instances_free. */
int coco_json_read_instances(const char *path, coco_instances *out, char *err, size_t errsize);
/* The same from text[0..len) in memory; `name` stands for the file in messages. */
int coco_json_parse_instances(const char *text, size_t len, const char *name,
                              coco_instances *out, char *err, size_t errsize);
/* Free what coco_json_read_instances filled in; out is empty afterwards. NULL-safe. */
void coco_instances_free(coco_instances *c);

/* Read the results file at path: a JSON array (possibly empty) of objects with integer
 * image_id and category_id, a bbox of 4 finite numbers with w, h >= 0, and a finite score;
 * other fields are ignored. Ids are not checked against any ground truth here. Returns 0, or
 * -1 with a message in err (out is then empty). The caller frees out with coco_results_free. */
int coco_json_read_results(const char *path, coco_results *out, char *err, size_t errsize);
/* The same from text[0..len) in memory; `name` stands for the file in messages. */
int coco_json_parse_results(const char *text, size_t len, const char *name, coco_results *out,
                            char *err, size_t errsize);
/* Free what coco_json_read_results filled in; out is empty afterwards. NULL-safe. */
void coco_results_free(coco_results *r);

/* Position of id in the index's array, or -1 when it is not there. O(log n). */
int64_t coco_id_index_find(const coco_id_index *ix, int64_t id);

/* The whole file at path in a NUL-terminated buffer the caller frees; its length in *len.
 * NULL with a message in err when it cannot be read. */
char *coco_json_read_file(const char *path, size_t *len, char *err, size_t errsize);

#endif
