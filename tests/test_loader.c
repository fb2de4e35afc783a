/* test_loader.c — the threaded loader on a small dataset of seeded PNG images written here:
 * bit-identical batches for T = 1, 2, 4 and any prefetch depth, a fresh permutation every epoch,
 * resuming at a batch, the test order with a short last batch and boxes scaled to S, no
 * allocation per batch, a missing image named in the error, bad settings refused, and one
 * pass over the real fruits (test) and coco128 sets. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/loader.h"
#include "tests/check_main.h"
#include "tests/data_fixture.h"

#define LT_IMAGES 10
#define LT_S 32

typedef struct lt_set {
    char *dir;
    rd_dataset ds;
} lt_set;

/* LT_IMAGES seeded images of varied sizes, 0 to 3 objects each (image 4 has none). */
static void lt_set_make(lt_set *t)
{
    t->dir = test_tmpdir();
    rd_dataset *ds = &t->ds;
    memset(ds, 0, sizeof *ds);
    ds->nclasses = 3;
    ds->nsamples = LT_IMAGES;
    ds->samples = calloc(LT_IMAGES, sizeof *ds->samples);
    ds->objects = calloc(3 * LT_IMAGES, sizeof *ds->objects);
    rd_rng rng;
    rd_rng_init(&rng, 99);
    for (int i = 0; i < LT_IMAGES; i++) {
        rd_image img;
        image_alloc(&img, 30 + 7 * i, 60 - 3 * i);
        for (size_t p = 0; p < (size_t)img.width * img.height * 3; p++)
            img.rgb[p] = (uint8_t)rd_rng_below(&rng, 256);
        char name[32], err[256];
        snprintf(name, sizeof name, "img%d.png", i);
        rd_sample *s = &ds->samples[i];
        s->image_path = test_path_in(t->dir, name);
        ck_assert_msg(image_write_png(s->image_path, &img, err, sizeof err) == 0, "%s", err);
        s->image_id = 100 + i;
        s->width = img.width;
        s->height = img.height;
        s->first_object = ds->nobjects;
        s->nobjects = i == 4 ? 0 : 1 + i % 3;
        for (int k = 0; k < s->nobjects; k++) {
            rd_object *o = &ds->objects[ds->nobjects++];
            float x = (float)(k * 5), y = (float)(k * 4);
            o->box = (rd_box){x, y, x + 12.5f, y + 10.25f};
            o->label = (i + k) % 3;
            o->crowd = (uint8_t)(k == 2);
            o->difficult = (uint8_t)(k == 1);
        }
        image_free(&img);
    }
    rd_rng_free(&rng);
}

static void lt_set_free(lt_set *t)
{
    for (int i = 0; i < LT_IMAGES; i++) {
        remove(t->ds.samples[i].image_path);
        free(t->ds.samples[i].image_path);
    }
    free(t->ds.samples);
    free(t->ds.objects);
    rmdir(t->dir);
    free(t->dir);
}

static loader_config lt_config(loader_mode mode, int threads, int prefetch, int64_t epochs)
{
    loader_config c;
    loader_config_defaults(&c, mode);
    c.batch = 3;
    c.threads = threads;
    c.prefetch = prefetch;
    c.seed = 2024;
    c.epochs = epochs;
    c.transform.size = LT_S;
    return c;
}

/* Everything a run yields, one batch after another, as bytes. */
typedef struct lt_trace {
    unsigned char *bytes;
    size_t size, cap;
    int batches;
    int64_t samples[64];  // sample order, batch after batch
    int nsamples;
} lt_trace;

static void lt_append(lt_trace *t, const void *p, size_t n)
{
    if (t->size + n > t->cap) {
        t->cap = 2 * (t->size + n);
        t->bytes = realloc(t->bytes, t->cap);
        ck_assert_ptr_nonnull(t->bytes);
    }
    memcpy(t->bytes + t->size, p, n);
    t->size += n;
}

static void lt_trace_batch(lt_trace *t, const loader_batch *b)
{
    int m = b->first[b->n];
    lt_append(t, &b->n, sizeof b->n);
    lt_append(t, &b->step, sizeof b->step);
    lt_append(t, b->images, sizeof(float) * 3 * LT_S * LT_S * b->n);
    lt_append(t, b->image_ids, sizeof(int64_t) * b->n);
    lt_append(t, b->first, sizeof(int32_t) * (b->n + 1));
    lt_append(t, b->boxes, sizeof(rd_box) * m);
    lt_append(t, b->labels, sizeof(int32_t) * m);
    lt_append(t, b->crowd, m);
    lt_append(t, b->difficult, m);
    for (int i = 0; i < b->n && t->nsamples < 64; i++)
        t->samples[t->nsamples++] = b->samples[i];
    t->batches++;
}

static lt_trace lt_run(const rd_dataset *ds, const loader_config *c, int max_batches)
{
    lt_trace t = {0};
    rd_loader *l;
    char err[512];
    ck_assert_msg(loader_open(&l, ds, c, err, sizeof err) == 0, "%s", err);
    const loader_batch *b;
    int rc;
    while (t.batches < max_batches && (rc = loader_next(l, &b, err, sizeof err)) == 1)
        lt_trace_batch(&t, b);
    ck_assert_int_ne(rc, -1);
    loader_close(l);
    return t;
}

START_TEST(test_loader_same_batches_for_any_thread_count)
{
    lt_set set;
    lt_set_make(&set);
    loader_config c1 = lt_config(LOADER_TRAIN, 1, 1, 3);
    lt_trace ref = lt_run(&set.ds, &c1, 100);
    ck_assert_int_eq(ref.batches, 9);  // 10 images, batch 3: 3 per epoch, 3 epochs
    const int threads[3] = {2, 4, 4}, prefetch[3] = {0, 2, 7};
    for (int k = 0; k < 3; k++) {
        loader_config c = lt_config(LOADER_TRAIN, threads[k], prefetch[k], 3);
        lt_trace t = lt_run(&set.ds, &c, 100);
        ck_assert_int_eq(t.batches, ref.batches);
        ck_assert_uint_eq(t.size, ref.size);
        ck_assert_msg(memcmp(t.bytes, ref.bytes, ref.size) == 0,
                      "T = %d, prefetch %d: batches differ from T = 1", threads[k], prefetch[k]);
        free(t.bytes);
    }
    // another seed gives other batches
    loader_config other = lt_config(LOADER_TRAIN, 2, 0, 3);
    other.seed = 2025;
    lt_trace t = lt_run(&set.ds, &other, 100);
    ck_assert(t.size != ref.size || memcmp(t.bytes, ref.bytes, ref.size) != 0);
    free(t.bytes);
    free(ref.bytes);
    lt_set_free(&set);
}
END_TEST

START_TEST(test_loader_reshuffles_and_resumes)
{
    lt_set set;
    lt_set_make(&set);
    loader_config c = lt_config(LOADER_TRAIN, 2, 0, 4);
    lt_trace full = lt_run(&set.ds, &c, 100);
    ck_assert_int_eq(full.nsamples, 36);
    int differs = 0;
    for (int e = 0; e < 4; e++) {  // 9 distinct samples per epoch
        int seen[LT_IMAGES] = {0};
        for (int i = 0; i < 9; i++) {
            int64_t s = full.samples[9 * e + i];
            ck_assert(s >= 0 && s < LT_IMAGES);
            ck_assert_msg(!seen[s], "epoch %d repeats sample %lld", e, (long long)s);
            seen[s] = 1;
        }
        if (e > 0)
            differs += memcmp(&full.samples[9 * e], &full.samples[9 * (e - 1)],
                              9 * sizeof(int64_t)) != 0;
    }
    ck_assert_int_eq(differs, 3);
    // resuming at global batch 5 gives batches 5.. of the full run
    c.first_batch = 5;
    lt_trace tail = lt_run(&set.ds, &c, 100);
    ck_assert_int_eq(tail.batches, 7);
    ck_assert(tail.size > 0);
    ck_assert_int_eq(memcmp(tail.bytes, full.bytes + (full.size - tail.size), tail.size), 0);
    ck_assert_int_eq(memcmp(tail.samples, full.samples + 15, 21 * sizeof(int64_t)), 0);
    free(tail.bytes);
    free(full.bytes);
    lt_set_free(&set);
}
END_TEST

START_TEST(test_loader_test_order_and_boxes)
{
    lt_set set;
    lt_set_make(&set);
    loader_config c = lt_config(LOADER_TEST, 3, 0, 1);
    rd_loader *l;
    char err[512];
    ck_assert_msg(loader_open(&l, &set.ds, &c, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(loader_batches_per_epoch(l), 4);
    const loader_batch *b;
    int seen = 0, batches = 0;
    while (loader_next(l, &b, err, sizeof err) == 1) {
        ck_assert_int_eq(b->n, batches < 3 ? 3 : 1);
        for (int i = 0; i < b->n; i++, seen++) {
            const rd_sample *s = &set.ds.samples[seen];
            ck_assert_int_eq(b->samples[i], seen);
            ck_assert_int_eq(b->image_ids[i], 100 + seen);
            ck_assert_int_eq(b->widths[i], s->width);
            ck_assert_int_eq(b->first[i + 1] - b->first[i], s->nobjects);
            for (int k = 0; k < s->nobjects; k++) {
                const rd_object *o = &set.ds.objects[s->first_object + k];
                int j = b->first[i] + k;
                ck_assert_float_eq_tol(b->boxes[j].x2, o->box.x2 * LT_S / s->width, 1e-5);
                ck_assert_float_eq_tol(b->boxes[j].y1, o->box.y1 * LT_S / s->height, 1e-5);
                ck_assert_int_eq(b->labels[j], o->label);
                ck_assert_int_eq(b->crowd[j], o->crowd);
                ck_assert_int_eq(b->difficult[j], o->difficult);
            }
        }
        batches++;
    }
    ck_assert_int_eq(seen, LT_IMAGES);
    ck_assert_int_eq(batches, 4);
    ck_assert_int_eq(loader_next(l, &b, err, sizeof err), 0);  // stays at the end
    loader_close(l);
    lt_set_free(&set);
}
END_TEST

START_TEST(test_loader_allocates_nothing_per_batch)
{
    lt_set set;
    lt_set_make(&set);
    loader_config c = lt_config(LOADER_TRAIN, 2, 0, 0);  // endless
    rd_loader *l;
    char err[512];
    ck_assert_msg(loader_open(&l, &set.ds, &c, err, sizeof err) == 0, "%s", err);
    const loader_batch *b;
    size_t start = loader_allocations(l);  // the ring and one scratch per worker
    ck_assert_uint_eq(start, 3);
    for (int step = 0; step < 60; step++) {
        ck_assert_int_eq(loader_next(l, &b, err, sizeof err), 1);
        ck_assert_int_eq(b->step, step);
    }
    ck_assert_uint_eq(loader_allocations(l), start);
    loader_close(l);  // while workers wait on a full ring
    lt_set_free(&set);
}
END_TEST

START_TEST(test_loader_errors)
{
    lt_set set;
    lt_set_make(&set);
    char err[512];
    rd_loader *l;
    loader_config c = lt_config(LOADER_TRAIN, 2, 0, 1);
    c.batch = 11;
    ck_assert_int_eq(loader_open(&l, &set.ds, &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "larger than the dataset"));
    c = lt_config(LOADER_TRAIN, 0, 0, 1);
    ck_assert_int_eq(loader_open(&l, &set.ds, &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "thread"));
    c = lt_config(LOADER_TEST, 1, 0, 0);
    ck_assert_int_eq(loader_open(&l, &set.ds, &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "epoch"));
    // a missing image: the batch holding it fails with the file's name
    remove(set.ds.samples[7].image_path);
    c = lt_config(LOADER_TEST, 2, 0, 1);
    ck_assert_int_eq(loader_open(&l, &set.ds, &c, err, sizeof err), 0);
    const loader_batch *b;
    ck_assert_int_eq(loader_next(l, &b, err, sizeof err), 1);
    ck_assert_int_eq(loader_next(l, &b, err, sizeof err), 1);
    ck_assert_int_eq(loader_next(l, &b, err, sizeof err), -1);  // images 6, 7, 8
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(err, "img7.png") != NULL, "message: %s", err);
    loader_close(l);
    lt_set_free(&set);
}
END_TEST

/* One training epoch and one test pass over a real set: every image decodes at its header
 * size (PNGs named .jpg, progressive and grayscale JPEGs, large photos) and every box lands
 * inside [0, S]; the test pass keeps every object. */
static void lt_real_set(const char *rel, const char *format, const char *split)
{
    rd_dataset ds;
    char err[1024];
    dataset_options opt = {.format = format, .split = split};
    ck_assert_msg(dataset_open(data_fixture_shared(rel), &opt, &ds, err, sizeof err) == 0, "%s",
                  err);
    for (int mode = 0; mode < 2; mode++) {
        loader_config c = lt_config(mode ? LOADER_TEST : LOADER_TRAIN, 2, 0, 1);
        c.batch = 4;
        c.transform.size = 64;
        rd_loader *l;
        ck_assert_msg(loader_open(&l, &ds, &c, err, sizeof err) == 0, "%s", err);
        const loader_batch *b;
        int rc, images = 0;
        int64_t objects = 0;
        while ((rc = loader_next(l, &b, err, sizeof err)) == 1) {
            for (int i = 0; i < b->n; i++, images++) {
                const rd_sample *s = &ds.samples[b->samples[i]];
                ck_assert_int_eq(b->widths[i], s->width);
                ck_assert_int_eq(b->heights[i], s->height);
            }
            for (int k = 0; k < b->first[b->n]; k++, objects++) {
                const rd_box *x = &b->boxes[k];
                ck_assert(0 <= x->x1 && x->x1 < x->x2 && x->x2 <= 64);
                ck_assert(0 <= x->y1 && x->y1 < x->y2 && x->y2 <= 64);
            }
        }
        ck_assert_msg(rc == 0, "%s: %s", rel, err);
        ck_assert_int_eq(images, mode ? ds.nsamples : ds.nsamples / 4 * 4);
        if (mode)
            ck_assert_int_eq(objects, ds.nobjects);
        loader_close(l);
    }
    dataset_free(&ds);
}

START_TEST(test_loader_real_sets)
{
    lt_real_set("fruits/test_zip/test", NULL, NULL);
    lt_real_set("coco128", "coco", "train2017");
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("loader");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_loader_same_batches_for_any_thread_count);
    tcase_add_test(tc, test_loader_reshuffles_and_resumes);
    tcase_add_test(tc, test_loader_test_order_and_boxes);
    tcase_add_test(tc, test_loader_allocates_nothing_per_batch);
    tcase_add_test(tc, test_loader_errors);
    tcase_add_test(tc, test_loader_real_sets);
    suite_add_tcase(s, tc);
    return s;
}
