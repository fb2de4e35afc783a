/* loader.c — the threaded batch loader of loader.h. Work is handed out as (batch, position)
 * items in global order under one mutex; batch g lives in ring slot g mod Q and may be started
 * only once the caller has released batch g - Q. A worker writes its image straight into the
 * slot and its objects into the slot's per-image staging; the caller packs the objects into flat
 * arrays when it takes the batch. Sample RNG seeds are splitmix64 hashes of (seed, epoch,
 * sample index) (Steele et al., "Fast splittable pseudorandom number generators", 2014). */
#include "data/loader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/check.h"
#include "lib/rng.h"

enum { LOADER_ERR = 512, LOADER_MAX_THREADS = 256, LOADER_MAX_SIZE = 8192 };

typedef struct loader_slot {
    int64_t batch;         // the global batch it holds (-1: none yet)
    int remaining;         // images still being made
    int failed;            // an image could not be read: message in err
    char err[LOADER_ERR];
    loader_batch out;      // what the caller sees
    rd_object *staging;    // [N][max_objects]
    int *counts;           // [N] objects kept per image
} loader_slot;

typedef struct loader_worker {
    rd_loader *loader;
    pthread_t thread;
    rd_arena scratch;      // transform scratch, grow-only
    image_buffers io;      // file bytes and decoded pixels, grow-only
    rd_rng rng;            // reseeded for every sample
    size_t grows_seen;     // scratch.grows as of its last finished image (read under the lock)
} loader_worker;

struct rd_loader {
    const rd_dataset *ds;
    loader_config cfg;
    int Q, N, S, max_objects;
    int64_t per_epoch, total;       // batches per epoch; last global batch + 1 (0: endless)
    rd_arena ring;                  // every slot's buffers, allocated once
    loader_slot *slots;             // [Q]
    int64_t *order;                 // [nsamples] the sample order of order_epoch
    int64_t order_epoch;
    rd_rng shuffle_rng;
    loader_worker *workers;         // [T]
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    int64_t next_batch;             // the next item to hand out: (next_batch, next_pos)
    int next_pos;
    int64_t released;               // batches before this one are free
    int64_t held;                   // the batch the caller holds (-1: none)
    int stop;
};

/* ---- seeds ---- */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A 32-bit mt19937 seed (what gsl_rng_set uses) for (seed, a, b). */
static unsigned long loader_seed(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t h = splitmix64(splitmix64(splitmix64(seed) ^ a) ^ b);
    return (unsigned long)((h ^ (h >> 32)) & 0xffffffffull);
}


/* ---- work ---- */

static int loader_batch_images(const rd_loader *l, int64_t g)
{
    int64_t k = g % l->per_epoch;
    int64_t left = l->ds->nsamples - k * l->N;
    return left < l->N ? (int)left : l->N;
}

/* The epoch's order (Fisher-Yates from (seed, epoch)), made when its first item is claimed. */
static void loader_order_epoch(rd_loader *l, int64_t epoch)
{
    if (l->order_epoch == epoch)
        return;
    int64_t n = l->ds->nsamples;
    for (int64_t i = 0; i < n; i++)
        l->order[i] = i;
    if (l->cfg.mode == LOADER_TRAIN) {
        rd_rng_seed(&l->shuffle_rng, loader_seed(l->cfg.seed, (uint64_t)epoch, UINT64_MAX));
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)rd_rng_below(&l->shuffle_rng, (uint64_t)i + 1);
            int64_t t = l->order[i];
            l->order[i] = l->order[j];
            l->order[j] = t;
        }
    }
    l->order_epoch = epoch;
}

/* Read, transform and store one image into slot position i. 0, or -1 with a message. */
static int loader_make_image(loader_worker *w, loader_slot *slot, int i, int64_t sample,
                             int64_t epoch, char *err, size_t errsize)
{
    rd_loader *l = w->loader;
    const rd_sample *s = &l->ds->samples[sample];
    const rd_object *objects = l->ds->objects + s->first_object;
    rd_image img;
    if (image_read_into(s->image_path, &w->io, &img, err, errsize) != 0)
        return -1;
    train_draw d;
    if (l->cfg.mode == LOADER_TRAIN) {
        rd_rng_seed(&w->rng, loader_seed(l->cfg.seed, (uint64_t)epoch, (uint64_t)sample));
        transform_train_draw(&l->cfg.transform, img.width, img.height, objects, s->nobjects,
                             &w->rng, &d);
    } else {
        transform_train_identity(img.width, img.height, &d);
    }
    size_t plane = (size_t)3 * l->S * l->S;
    transform_train_pixels(&d, &l->cfg.transform, &img, &w->scratch,
                           slot->out.images + (size_t)i * plane);
    slot->counts[i] = transform_train_boxes(&d, l->S, objects, s->nobjects,
                                            slot->staging + (size_t)i * l->max_objects);
    slot->out.image_ids[i] = s->image_id;
    slot->out.samples[i] = sample;
    slot->out.widths[i] = img.width;
    slot->out.heights[i] = img.height;
    return 0;
}

/* Claim the next item under the lock: 1 with (slot, position, sample, epoch), 0 to stop. */
static int loader_claim(rd_loader *l, loader_slot **slot, int *pos, int64_t *sample,
                        int64_t *epoch)
{
    for (;;) {
        if (l->stop || (l->total > 0 && l->next_batch >= l->total))
            return 0;
        if (l->next_batch < l->released + l->Q)
            break;
        pthread_cond_wait(&l->work, &l->mu);
    }
    int64_t g = l->next_batch;
    int n = loader_batch_images(l, g);
    *epoch = g / l->per_epoch;
    loader_order_epoch(l, *epoch);
    *slot = &l->slots[g % l->Q];
    *pos = l->next_pos;
    *sample = l->order[(g % l->per_epoch) * l->N + l->next_pos];
    if (l->next_pos == 0) {
        (*slot)->batch = g;
        (*slot)->remaining = n;
        (*slot)->failed = 0;
        (*slot)->out.n = n;
        (*slot)->out.step = g;
        (*slot)->out.epoch = *epoch;
        (*slot)->out.index = g % l->per_epoch;
    }
    if (++l->next_pos == n) {
        l->next_batch++;
        l->next_pos = 0;
    }
    return 1;
}

static void *loader_worker_main(void *arg)
{
    loader_worker *w = arg;
    rd_loader *l = w->loader;
    char err[LOADER_ERR];
    pthread_mutex_lock(&l->mu);
    loader_slot *slot;
    int pos;
    int64_t sample, epoch;
    while (loader_claim(l, &slot, &pos, &sample, &epoch)) {
        pthread_mutex_unlock(&l->mu);
        int rc = loader_make_image(w, slot, pos, sample, epoch, err, sizeof err);
        pthread_mutex_lock(&l->mu);
        if (rc != 0 && !slot->failed) {
            slot->failed = 1;
            snprintf(slot->err, sizeof slot->err, "%s", err);
        }
        w->grows_seen = w->scratch.grows;
        if (--slot->remaining == 0)
            pthread_cond_broadcast(&l->done);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* ---- the caller's side ---- */

void loader_config_defaults(loader_config *cfg, loader_mode mode)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = mode;
    cfg->batch = 8;
    cfg->threads = 2;
    cfg->seed = 1;
    cfg->epochs = mode == LOADER_TEST ? 1 : 0;
    const norm_params imagenet = {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
    transform_train_defaults(&cfg->transform, 512, &imagenet);
}

static int loader_check_config(const rd_dataset *ds, const loader_config *c, char *err,
                               size_t errsize)
{
    const char *what = NULL;
    if (ds->nsamples <= 0)
        what = "the dataset has no images";
    else if (c->batch < 1)
        what = "the batch size must be at least 1";
    else if (c->mode == LOADER_TRAIN && ds->nsamples < c->batch)
        what = "the batch is larger than the dataset (training drops partial batches)";
    else if (c->threads < 1 || c->threads > LOADER_MAX_THREADS)
        what = "the worker thread count must be in 1..256";
    else if (c->prefetch < 0)
        what = "the prefetch depth must be at least 1 (or 0 for the default)";
    else if (c->transform.size < 1 || c->transform.size > LOADER_MAX_SIZE)
        what = "the image size must be in 1..8192";
    else if (c->epochs < 0 || (c->mode == LOADER_TEST && c->epochs == 0))
        what = "the epoch count must be positive (0, endless, only when training)";
    else if (c->first_batch < 0)
        what = "the first batch must not be negative";
    if (what)
        snprintf(err, errsize, "loader: %s (%lld images, batch %d)", what,
                 (long long)ds->nsamples, c->batch);
    return what ? -1 : 0;
}

/* Carve every slot's buffers out of one arena. */
static void loader_ring_alloc(rd_loader *l)
{
    size_t N = (size_t)l->N, M = (size_t)l->max_objects * N, plane = (size_t)3 * l->S * l->S;
    size_t per_slot = rd_arena_align(sizeof(float) * plane * N) +
                      2 * rd_arena_align(sizeof(int64_t) * N) +
                      2 * rd_arena_align(sizeof(int) * N) +
                      rd_arena_align(sizeof(int32_t) * (N + 1)) +
                      rd_arena_align(sizeof(rd_box) * M) + rd_arena_align(sizeof(int32_t) * M) +
                      2 * rd_arena_align(M) + rd_arena_align(sizeof(rd_object) * M) +
                      rd_arena_align(sizeof(int) * N);
    rd_arena_init(&l->ring);
    rd_arena_reserve(&l->ring, per_slot * (size_t)l->Q);
    for (int q = 0; q < l->Q; q++) {
        loader_slot *s = &l->slots[q];
        loader_batch *b = &s->out;
        s->batch = -1;
        b->size = l->S;
        b->images = rd_arena_push(&l->ring, sizeof(float) * plane * N);
        b->image_ids = rd_arena_push(&l->ring, sizeof(int64_t) * N);
        b->samples = rd_arena_push(&l->ring, sizeof(int64_t) * N);
        b->widths = rd_arena_push(&l->ring, sizeof(int) * N);
        b->heights = rd_arena_push(&l->ring, sizeof(int) * N);
        b->first = rd_arena_push(&l->ring, sizeof(int32_t) * (N + 1));
        b->boxes = rd_arena_push(&l->ring, sizeof(rd_box) * M);
        b->labels = rd_arena_push(&l->ring, sizeof(int32_t) * M);
        b->crowd = rd_arena_push(&l->ring, M);
        b->difficult = rd_arena_push(&l->ring, M);
        s->staging = rd_arena_push(&l->ring, sizeof(rd_object) * M);
        s->counts = rd_arena_push(&l->ring, sizeof(int) * N);
    }
}

int loader_open(rd_loader **out, const rd_dataset *ds, const loader_config *cfg, char *err,
                size_t errsize)
{
    *out = NULL;
    if (loader_check_config(ds, cfg, err, errsize) != 0)
        return -1;
    rd_loader *l = rd_calloc(1, sizeof *l, "loader");
    l->ds = ds;
    l->cfg = *cfg;
    l->N = cfg->batch;
    l->S = cfg->transform.size;
    l->Q = cfg->prefetch > 0 ? cfg->prefetch : cfg->threads + 1;
    for (int64_t i = 0; i < ds->nsamples; i++)
        l->max_objects = ds->samples[i].nobjects > l->max_objects ? ds->samples[i].nobjects
                                                                    : l->max_objects;
    l->max_objects = l->max_objects > 0 ? l->max_objects : 1;
    l->per_epoch = cfg->mode == LOADER_TRAIN ? ds->nsamples / l->N
                                             : (ds->nsamples + l->N - 1) / l->N;
    l->total = cfg->epochs > 0 ? cfg->epochs * l->per_epoch : 0;
    l->slots = rd_calloc((size_t)l->Q, sizeof *l->slots, "loader slots");
    loader_ring_alloc(l);
    l->order = rd_malloc(sizeof(int64_t) * (size_t)ds->nsamples, "loader order");
    l->order_epoch = -1;
    rd_rng_init(&l->shuffle_rng, cfg->seed);
    l->next_batch = l->released = cfg->first_batch;
    l->held = -1;
    RD_CHECK(pthread_mutex_init(&l->mu, NULL) == 0, "cannot create the loader mutex");
    RD_CHECK(pthread_cond_init(&l->work, NULL) == 0 && pthread_cond_init(&l->done, NULL) == 0,
             "cannot create the loader condition variables");
    int max_w = 1, max_h = 1;  // header sizes: the scratch every worker will need
    for (int64_t i = 0; i < ds->nsamples; i++) {
        max_w = ds->samples[i].width > max_w ? ds->samples[i].width : max_w;
        max_h = ds->samples[i].height > max_h ? ds->samples[i].height : max_h;
    }
    l->workers = rd_calloc((size_t)cfg->threads, sizeof *l->workers, "loader workers");
    for (int t = 0; t < cfg->threads; t++) {
        loader_worker *w = &l->workers[t];
        w->loader = l;
        rd_arena_init(&w->scratch);
        rd_arena_reserve(&w->scratch, transform_train_scratch_bytes(max_w, max_h, l->S));
        w->grows_seen = w->scratch.grows;
        rd_rng_init(&w->rng, cfg->seed);
        RD_CHECK(pthread_create(&w->thread, NULL, loader_worker_main, w) == 0,
                 "cannot start loader thread %d of %d", t + 1, cfg->threads);
    }
    *out = l;
    return 0;
}

/* Pack the slot's per-image objects into the flat arrays of its batch. */
static void loader_pack(const rd_loader *l, loader_slot *s)
{
    loader_batch *b = &s->out;
    int32_t k = 0;
    for (int i = 0; i < b->n; i++) {
        b->first[i] = k;
        const rd_object *o = s->staging + (size_t)i * l->max_objects;
        for (int j = 0; j < s->counts[i]; j++, k++) {
            b->boxes[k] = o[j].box;
            b->labels[k] = o[j].label;
            b->crowd[k] = o[j].crowd;
            b->difficult[k] = o[j].difficult;
        }
    }
    b->first[b->n] = k;
}

int loader_next(rd_loader *l, const loader_batch **batch, char *err, size_t errsize)
{
    *batch = NULL;
    pthread_mutex_lock(&l->mu);
    if (l->held >= 0) {
        l->released = l->held + 1;
        l->held = -1;
        pthread_cond_broadcast(&l->work);
    }
    int64_t g = l->released;
    if (l->total > 0 && g >= l->total) {
        pthread_mutex_unlock(&l->mu);
        return 0;
    }
    loader_slot *s = &l->slots[g % l->Q];
    while (!(s->batch == g && s->remaining == 0))
        pthread_cond_wait(&l->done, &l->mu);
    l->held = g;
    pthread_mutex_unlock(&l->mu);
    if (s->failed) {
        snprintf(err, errsize, "%s", s->err);
        return -1;
    }
    loader_pack(l, s);
    *batch = &s->out;
    return 1;
}

int64_t loader_batches_per_epoch(const rd_loader *l)
{
    return l->per_epoch;
}

size_t loader_allocations(const rd_loader *l)
{
    pthread_mutex_lock((pthread_mutex_t *)&l->mu);
    size_t n = l->ring.grows;
    for (int t = 0; t < l->cfg.threads; t++)
        n += l->workers[t].grows_seen;
    pthread_mutex_unlock((pthread_mutex_t *)&l->mu);
    return n;
}

void loader_close(rd_loader *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->work);
    pthread_mutex_unlock(&l->mu);
    for (int t = 0; t < l->cfg.threads; t++) {
        pthread_join(l->workers[t].thread, NULL);
        rd_arena_free(&l->workers[t].scratch);
        image_buffers_free(&l->workers[t].io);
        rd_rng_free(&l->workers[t].rng);
    }
    pthread_cond_destroy(&l->work);
    pthread_cond_destroy(&l->done);
    pthread_mutex_destroy(&l->mu);
    rd_rng_free(&l->shuffle_rng);
    rd_arena_free(&l->ring);
    free(l->order);
    free(l->workers);
    free(l->slots);
    free(l);
}
