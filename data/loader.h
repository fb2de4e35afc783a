/* loader.h — batches of network inputs from a dataset: T worker threads read, decode and
 * transform images into a bounded ring of prefetched batches while the caller trains on the
 * current one. Training batches are shuffled per epoch and augmented (transform.h's SSD-style
 * transform); test batches keep the dataset order and are only resized to S×S and normalised.
 *
 * Determinism: the epoch's order comes from (seed, epoch) and each sample's augmentation from
 * (seed, epoch, sample index) — never from which thread did the work or when — so the same seed
 * gives the same batches bit for bit for any T and any prefetch depth, and a run resumed at
 * batch g (first_batch) sees exactly the batches a run from the start sees from g on.
 *
 * Memory: the loader's own buffers are sized when it opens — the batch ring from the dataset's
 * largest object count, each worker's transform scratch from the largest image sides
 * (rd_sample width and height) — so a batch allocates nothing in them (an image larger than
 * its header said grows a scratch once). Each worker reads through image_read_into, whose
 * file and pixel buffers grow until that worker has met the largest image; libjpeg and
 * libpng still allocate their small working memory per image. */
#ifndef RD_LOADER_H
#define RD_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "data/transform.h"

typedef enum loader_mode {
    LOADER_TRAIN = 0,  // shuffled each epoch, augmented; the last partial batch is dropped
    LOADER_TEST,       // dataset order, resize + normalise; the last batch may be short
} loader_mode;

typedef struct loader_config {
    loader_mode mode;
    int batch;                         // N images per batch (≥ 1)
    int threads;                       // T worker threads (≥ 1)
    int prefetch;                      // batches in the ring (≥ 1); 0: T + 1
    uint64_t seed;
    int64_t epochs;                    // passes; 0: endless (LOADER_TRAIN only)
    int64_t first_batch;               // global batch number to start at (resuming)
    train_transform_config transform;  // size S, normalisation and, in training, augmentation
} loader_config;

typedef struct loader_batch {
    int n;                   // images in this batch (N; the last test batch may hold fewer)
    int size;                // S
    int64_t step;            // global batch number (first_batch, first_batch + 1, ...)
    int64_t epoch, index;    // epoch and batch position within it
    float *images;           // [n][3][S][S], normalised
    int64_t *image_ids;      // [n] rd_sample.image_id
    int64_t *samples;        // [n] positions in the dataset
    int *widths, *heights;   // [n] decoded image sizes (boxes in image pixels = box · W / S)
    int32_t *first;          // [n + 1]: image i owns objects first[i] .. first[i+1] - 1
    rd_box *boxes;           // [first[n]] network-input pixels, in [0, S]
    int32_t *labels;         // [first[n]] contiguous class indices
    uint8_t *crowd;          // [first[n]] COCO iscrowd
    uint8_t *difficult;      // [first[n]] VOC difficult
} loader_batch;

typedef struct rd_loader rd_loader;

/* Fill cfg with the defaults for mode: batch 8, T = 2, prefetch T + 1, seed 1, one test epoch
 * or endless training, size 512, ImageNet normalisation, every augmentation step on. */
void loader_config_defaults(loader_config *cfg, loader_mode mode);
/* Start the workers over ds, which must outlive the loader (it is only read). Returns 0, or -1
 * with a message naming the setting that is wrong (batch larger than the dataset in training,
 * no images, a bad size or count). Free with loader_close. */
int loader_open(rd_loader **out, const rd_dataset *ds, const loader_config *cfg, char *err,
                size_t errsize);
/* The next batch, in order: 1 with *batch valid until the next call or loader_close; 0 after the
 * last batch of the last epoch; -1 with a message naming the image that could not be read. */
int loader_next(rd_loader *l, const loader_batch **batch, char *err, size_t errsize);
/* Batches per epoch. */
int64_t loader_batches_per_epoch(const rd_loader *l);
/* How many times the loader's own buffers (ring and transform scratch; not the decode buffers)
 * have been (re)allocated so far: constant after loader_open unless an image is larger than
 * its header said. */
size_t loader_allocations(const rd_loader *l);
/* Stop the workers (waiting for the images in progress) and free everything. NULL is fine. */
void loader_close(rd_loader *l);

#endif
