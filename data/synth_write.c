/* synth_write.c — writing the synthetic shapes set as a PASCAL VOC devkit folder (layout in
 * synth.h): JPEG images (data/image.h), VOC XML (data/voc.h's writer, with its 1-based box
 * rule), the split lists, the names file and the generator's settings. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/synth.h"
#include "data/voc.h"
#include "lib/check.h"

enum { SYNTH_PATH = 4096 };

/* 0 when dir does not exist or is an empty folder. */
static int synth_dir_usable(const char *dir, char *err, size_t errsize)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errsize, "%s: cannot use as the output folder: %s", dir, strerror(errno));
        return -1;
    }
    int entries = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    if (entries > 0) {
        snprintf(err, errsize, "%s: the output folder exists and is not empty (choose a new "
                 "--out, or remove it)", dir);
        return -1;
    }
    return 0;
}

/* mkdir -p of dir/sub. */
static int synth_mkdirs(const char *dir, const char *sub, char *err, size_t errsize)
{
    char path[SYNTH_PATH];
    snprintf(path, sizeof path, "%s%s%s", dir, *sub ? "/" : "", sub);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            snprintf(err, errsize, "%s: cannot create the folder: %s", path, strerror(errno));
            return -1;
        }
        *p = c;
        if (c == '\0')
            return 0;
    }
}

static FILE *synth_open(const char *dir, const char *name, char *err, size_t errsize)
{
    char path[SYNTH_PATH];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        snprintf(err, errsize, "%s: cannot create: %s", path, strerror(errno));
    return f;
}

/* names.txt and synth.txt. */
static int synth_write_meta(const synth_config *c, const char *dir, int64_t ntest, char *err,
                            size_t errsize)
{
    FILE *names = synth_open(dir, "names.txt", err, errsize);
    if (names == NULL)
        return -1;
    for (int k = 0; k < c->classes; k++)
        fprintf(names, "%s\n", synth_class_name(k));
    FILE *meta = fclose(names) == 0 ? synth_open(dir, "synth.txt", err, errsize) : NULL;
    if (meta == NULL)
        return -1;
    fprintf(meta, "# rankdet synth: the synthetic shapes set (data/synth.h)\n"
                  "images = %lld\nclasses = %d\nsize = %d\nseed = %llu\ntest-frac = %.17g\n"
                  "quality = %d\nmin-objects = %d\nmax-objects = %d\ntrain-images = %lld\n"
                  "test-images = %lld\n",
            (long long)c->images, c->classes, c->size, (unsigned long long)c->seed,
            c->test_frac, c->quality, c->min_objects, c->max_objects,
            (long long)(c->images - ntest), (long long)ntest);
    if (fclose(meta) != 0) {
        snprintf(err, errsize, "%s/synth.txt: cannot write: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Image `index`: its JPEG and XML. */
static int synth_write_one(const synth_config *c, const char *dir, int64_t index, char *err,
                           size_t errsize)
{
    rd_image img;
    synth_object objects[SYNTH_MAX_OBJECTS];
    voc_object voc[SYNTH_MAX_OBJECTS];
    int n = synth_render(c, index, &img, objects);
    char name[64], path[SYNTH_PATH];
    snprintf(name, sizeof name, "%06lld.jpg", (long long)index);
    snprintf(path, sizeof path, "%s/JPEGImages/%s", dir, name);
    int rc = image_write_jpeg(path, &img, c->quality, err, errsize);
    for (int i = 0; i < n; i++) {
        memset(&voc[i], 0, sizeof voc[i]);
        voc[i].name = (char *)synth_class_name(objects[i].label);
        voc_box_from_pixels(objects[i].box, &voc[i]);
    }
    snprintf(path, sizeof path, "%s/Annotations/%06lld.xml", dir, (long long)index);
    if (rc == 0)
        rc = voc_write_xml(path, name, img.width, img.height, voc, n, err, errsize);
    image_free(&img);
    return rc;
}

int synth_write(const synth_config *cfg, const char *dir, int progress, char *err,
                size_t errsize)
{
    const char *problem = synth_config_problem(cfg);
    if (problem) {
        snprintf(err, errsize, "%s", problem);
        return -1;
    }
    if (synth_dir_usable(dir, err, errsize) != 0 ||
        synth_mkdirs(dir, "JPEGImages", err, errsize) != 0 ||
        synth_mkdirs(dir, "Annotations", err, errsize) != 0 ||
        synth_mkdirs(dir, "ImageSets/Main", err, errsize) != 0)
        return -1;
    int64_t ntest = llround(cfg->test_frac * (double)cfg->images);
    if (synth_write_meta(cfg, dir, ntest, err, errsize) != 0)
        return -1;
    FILE *lists[2] = {synth_open(dir, "ImageSets/Main/train.txt", err, errsize), NULL};
    lists[1] = lists[0] ? synth_open(dir, "ImageSets/Main/test.txt", err, errsize) : NULL;
    int rc = lists[0] && lists[1] ? 0 : -1;
    int64_t every = cfg->images / 10 > 0 ? cfg->images / 10 : 1;
    for (int64_t i = 0; rc == 0 && i < cfg->images; i++) {
        rc = synth_write_one(cfg, dir, i, err, errsize);
        fprintf(lists[i >= cfg->images - ntest], "%06lld\n", (long long)i);
        if (progress && rc == 0 && ((i + 1) % every == 0 || i + 1 == cfg->images))
            fprintf(stderr, "synth: %lld/%lld images\n", (long long)(i + 1),
                    (long long)cfg->images);
    }
    for (int k = 0; k < 2; k++)
        if (lists[k] && fclose(lists[k]) != 0 && rc == 0) {
            snprintf(err, errsize, "%s/ImageSets/Main: cannot write the split lists: %s", dir,
                     strerror(errno));
            rc = -1;
        }
    return rc;
}
