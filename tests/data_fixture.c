/* data_fixture.c — see data_fixture.h. */
#include "tests/data_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/image.h"
#include "tests/check_main.h"

void data_fixture_mkdir(const char *dir, const char *rel)
{
    char *path = test_path_in(dir, rel);
    for (char *s = path + strlen(dir) + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char keep = *s;
            *s = '\0';
            ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s", path);
            *s = keep;
        }
        if (*s == '\0')
            break;
    }
    free(path);
}

/* Create the folders above dir/rel. */
static void data_fixture_parents(const char *dir, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    if (slash == NULL)
        return;
    char *sub = strndup(rel, (size_t)(slash - rel));
    data_fixture_mkdir(dir, sub);
    free(sub);
}

void data_fixture_text(const char *dir, const char *rel, const char *text)
{
    data_fixture_parents(dir, rel);
    char *path = test_path_in(dir, rel);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
    free(path);
}

void data_fixture_image(const char *dir, const char *rel, int width, int height, int png)
{
    data_fixture_parents(dir, rel);
    char *path = test_path_in(dir, rel), err[512];
    rd_image img;
    image_alloc(&img, width, height);
    for (size_t i = 0; i < (size_t)width * height * 3; i++)
        img.rgb[i] = (uint8_t)(i * 7);
    int rc = png ? image_write_png(path, &img, err, sizeof err)
                 : image_write_jpeg(path, &img, 90, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    image_free(&img);
    free(path);
}

void data_fixture_copy(const char *name, const char *dir, const char *rel)
{
    char src[512];
    snprintf(src, sizeof src, "tests/fixtures/images/%s", name);
    FILE *in = fopen(src, "rb");
    ck_assert_msg(in != NULL, "cannot open %s (run from the repository root)", src);
    data_fixture_parents(dir, rel);
    char *path = test_path_in(dir, rel);
    FILE *out = fopen(path, "wb");
    ck_assert_msg(out != NULL, "cannot write %s", path);
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, in)) > 0;)
        fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
    free(path);
}

const char *data_fixture_shared(const char *rel)
{
    static char path[512];
    struct stat st;
    ck_assert_msg(stat("../shared/datasets", &st) == 0,
                  "../shared/datasets is absent: this test reads the real datasets from it");
    snprintf(path, sizeof path, "../shared/datasets/%s", rel);
    return path;
}
