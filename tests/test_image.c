/* test_image.c — image decoding against PIL (tests/fixtures/image_reference.txt, made by
 * tests/make_image_fixtures.py): every JPEG and PNG kind as a small fixture, real images from
 * ../shared/datasets, broken files refused with a message naming the file, atomic writes. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/image.h"
#include "tests/check_main.h"

#define IMAGE_REF "tests/fixtures/image_reference.txt"
#define IMAGE_FIX "tests/fixtures/images/"
#define IMAGE_REF_MAX_PX 64

typedef struct image_ref {
    char path[512];
    int width, height, tol;
    unsigned long long sum, wsum;
    int npx;
    int px[IMAGE_REF_MAX_PX][5];  // x, y, r, g, b
} image_ref;

/* The next "image" entry of the reference file and its px lines; 0 at the end. */
static int image_ref_next(FILE *f, image_ref *r)
{
    char line[1024];
    long at = ftell(f);
    r->npx = 0;
    int have = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#')
            continue;
        if (strncmp(line, "image ", 6) == 0) {
            if (have) {
                fseek(f, at, SEEK_SET);
                return 1;
            }
            ck_assert_int_eq(sscanf(line, "image %511s %d %d %d %llu %llu", r->path, &r->width,
                                    &r->height, &r->tol, &r->sum, &r->wsum), 6);
            have = 1;
        } else {
            ck_assert_msg(have && r->npx < IMAGE_REF_MAX_PX, "stray line: %s", line);
            int *p = r->px[r->npx++];
            ck_assert_int_eq(sscanf(line, "px %d %d %d %d %d", p, p + 1, p + 2, p + 3, p + 4), 5);
        }
        at = ftell(f);
    }
    return have;
}

/* Decode r->path and hold it to the reference: size, sampled pixels within r->tol, the byte
 * sum within tol · 3·W·H (what a ±tol per channel allows), the weighted sum exact at tol 0. */
static void image_check_ref(const image_ref *r)
{
    char err[512];
    rd_image img;
    ck_assert_msg(image_read(r->path, &img, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(img.width, r->width);
    ck_assert_int_eq(img.height, r->height);
    for (int i = 0; i < r->npx; i++) {
        const int *p = r->px[i];
        const uint8_t *got = img.rgb + ((size_t)p[1] * img.width + p[0]) * 3;
        for (int c = 0; c < 3; c++)
            ck_assert_msg(abs(got[c] - p[2 + c]) <= r->tol, "%s (%d,%d) channel %d: %d vs PIL %d",
                          r->path, p[0], p[1], c, got[c], p[2 + c]);
    }
    unsigned long long sum = 0, wsum = 0;
    size_t n = (size_t)img.width * img.height * 3;
    for (size_t i = 0; i < n; i++) {
        sum += img.rgb[i];
        wsum += (unsigned long long)img.rgb[i] * (i % 251 + 1);
    }
    long long dsum = (long long)sum - (long long)r->sum;
    ck_assert_msg(llabs(dsum) <= (long long)r->tol * (long long)n, "%s: byte sum %llu vs PIL %llu",
                  r->path, sum, r->sum);
    if (r->tol == 0)
        ck_assert_msg(wsum == r->wsum, "%s: weighted sum differs from PIL", r->path);
    int w = 0, h = 0;
    ck_assert_msg(image_read_size(r->path, &w, &h, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(w, r->width);
    ck_assert_int_eq(h, r->height);
    image_free(&img);
}

/* Every reference entry whose path starts with prefix; returns how many were checked. */
static int image_check_refs(const char *prefix)
{
    FILE *f = fopen(IMAGE_REF, "r");
    ck_assert_msg(f != NULL, "cannot open %s (run from the repository root)", IMAGE_REF);
    image_ref r;
    int n = 0;
    while (image_ref_next(f, &r))
        if (strncmp(r.path, prefix, strlen(prefix)) == 0) {
            image_check_ref(&r);
            n++;
        }
    fclose(f);
    return n;
}

START_TEST(test_image_sniff_first_bytes)
{
    const unsigned char jpeg[] = {0xff, 0xd8, 0xff, 0xe0};
    const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const unsigned char gif[] = "GIF89a..";
    ck_assert_int_eq(image_sniff(jpeg, 4), IMAGE_FORMAT_JPEG);
    ck_assert_int_eq(image_sniff(jpeg, 2), IMAGE_FORMAT_UNKNOWN);
    ck_assert_int_eq(image_sniff(png, 8), IMAGE_FORMAT_PNG);
    ck_assert_int_eq(image_sniff(png, 7), IMAGE_FORMAT_UNKNOWN);
    ck_assert_int_eq(image_sniff(gif, 8), IMAGE_FORMAT_UNKNOWN);
    ck_assert_int_eq(image_sniff(NULL, 0), IMAGE_FORMAT_UNKNOWN);
}
END_TEST

/* 6 JPEG (4:2:0, progressive 4:4:4, gray, CMYK, EOI missing, zeros after EOI) and 11 PNG
 * (RGB, RGBA, palette 8-bit with tRNS and 2-bit, gray 1/4/16-bit, RGB and RGBA 16-bit, gray +
 * alpha, Adam7-interlaced RGB). */
START_TEST(test_image_fixtures_match_pil)
{
    ck_assert_int_eq(image_check_refs(IMAGE_FIX), 17);
}
END_TEST

START_TEST(test_image_real_images_match_pil)
{
    struct stat st;
    ck_assert_msg(stat("../shared/datasets", &st) == 0,
                  "../shared/datasets is absent: this test decodes real images from it");
    ck_assert_int_eq(image_check_refs("../shared/datasets/"), 7);
}
END_TEST

/* image_read on a broken file fails, leaves img empty, and names the file and the problem. */
static void image_expect_error(const char *file, const char *what)
{
    char path[256], err[512] = "";
    snprintf(path, sizeof path, "%s%s", IMAGE_FIX, file);
    rd_image img = {.width = 7};
    ck_assert_int_eq(image_read(path, &img, err, sizeof err), -1);
    ck_assert_ptr_null(img.rgb);
    ck_assert_int_eq(img.width, 0);
    ck_assert_msg(strstr(err, path) == err, "message does not start with the path: %s", err);
    ck_assert_msg(strstr(err, what) != NULL, "expected \"%s\" in: %s", what, err);
}

START_TEST(test_image_broken_files_fail_with_a_message)
{
    image_expect_error("truncated.jpg", "truncated JPEG");
    image_expect_error("truncated_progressive.jpg", "truncated JPEG");
    image_expect_error("truncated_scans.jpg", "truncated JPEG");
    image_expect_error("bad_precision.jpg", "corrupt JPEG: Unsupported JPEG data precision 9");
    image_expect_error("truncated.png", "truncated PNG");
    image_expect_error("bad_crc.png", "corrupt PNG: IDAT: CRC error");
    image_expect_error("bad_zlib.png", "corrupt PNG: IDAT: invalid");
    image_expect_error("zero_width.png", "corrupt PNG: Invalid IHDR data");
    image_expect_error("huge.png", "40000x40000 is too large");
    image_expect_error("not_image.jpg", "not a JPEG or PNG file (first bytes 3c 3f 78 6d");
    image_expect_error("empty.png", "empty file");
    image_expect_error("missing.png", "cannot open");
    image_expect_error("", "not a regular file");
}
END_TEST

/* The header reader sees the size of a file whose pixel data is cut, and refuses non-images. */
START_TEST(test_image_read_size_reads_the_header_only)
{
    char err[512];
    int w = 0, h = 0;
    ck_assert_int_eq(image_read_size(IMAGE_FIX "truncated.jpg", &w, &h, err, sizeof err), 0);
    ck_assert_int_eq(w, 45);
    ck_assert_int_eq(h, 31);
    ck_assert_int_eq(image_read_size(IMAGE_FIX "not_image.jpg", &w, &h, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a JPEG or PNG"));
    ck_assert_int_eq(image_read_size(IMAGE_FIX "zero_width.png", &w, &h, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "0x31 is empty"));
    ck_assert_int_eq(image_read_size(IMAGE_FIX "bad_precision.jpg", &w, &h, err, sizeof err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "precision 9"));
}
END_TEST

/* A 64x48 test card: smooth ramps, so JPEG at quality 95 stays close. */
static void image_make_card(rd_image *img)
{
    image_alloc(img, 64, 48);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *p = img->rgb + ((size_t)y * 64 + x) * 3;
            p[0] = (uint8_t)(x * 4);
            p[1] = (uint8_t)(y * 5);
            p[2] = (uint8_t)(128 + (x - y));
        }
}

static int image_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

START_TEST(test_image_write_png_and_jpeg_round_trip)
{
    char err[512];
    char *dir = test_tmpdir();
    char *png = test_path_in(dir, "card.png"), *jpg = test_path_in(dir, "card.jpg");
    rd_image card, back;
    image_make_card(&card);
    ck_assert_int_eq(image_write_png(png, &card, err, sizeof err), 0);
    ck_assert_int_eq(image_read(png, &back, err, sizeof err), 0);
    ck_assert_int_eq(back.width, 64);
    ck_assert_int_eq(back.height, 48);
    ck_assert_mem_eq(back.rgb, card.rgb, 64 * 48 * 3);
    image_free(&back);
    ck_assert_int_eq(image_write_jpeg(jpg, &card, 95, err, sizeof err), 0);
    ck_assert_int_eq(image_read(jpg, &back, err, sizeof err), 0);
    int worst = 0;
    for (int i = 0; i < 64 * 48 * 3; i++)
        worst = abs(back.rgb[i] - card.rgb[i]) > worst ? abs(back.rgb[i] - card.rgb[i]) : worst;
    ck_assert_int_le(worst, 6);
    ck_assert_int_ge(worst, 1);  // it really went through JPEG
    image_free(&back);
    ck_assert_int_eq(image_write_png(jpg, &card, err, sizeof err), 0);  // replaces the JPEG
    ck_assert_int_eq(image_read(jpg, &back, err, sizeof err), 0);
    ck_assert_mem_eq(back.rgb, card.rgb, 64 * 48 * 3);
    ck_assert_int_eq(image_count_entries(dir), 2);  // no temporary file left behind
    char *missing = test_path_in(dir, "no/such/dir.png");
    ck_assert_int_eq(image_write_png(missing, &card, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, missing));
    image_free(&back);
    image_free(&card);
    free(missing);
    free(png);
    free(jpg);
    free(dir);
}
END_TEST

/* image_read_into gives image_read's pixels and grows its buffers only for a larger file or
 * image. All four are 45x31: the first takes both buffers (2 grows); then files of 1434
 * bytes (larger: 3), 11259 (4) and 8469 (smaller: still 4). */
START_TEST(test_image_read_into_reuses_buffers)
{
    static const char *const files[] = {"gray.jpg", "rgb_420.jpg", "rgba16.png", "rgb16.png"};
    static const size_t grows[] = {2, 3, 4, 4};
    image_buffers bufs = {0};
    char err[512];
    for (int i = 0; i < 4; i++) {
        char path[256];
        snprintf(path, sizeof path, IMAGE_FIX "%s", files[i]);
        rd_image a, b;
        ck_assert_msg(image_read_into(path, &bufs, &a, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(image_read(path, &b, err, sizeof err) == 0, "%s", err);
        ck_assert_ptr_eq(a.rgb, bufs.pixels);
        ck_assert_int_eq(a.width, b.width);
        ck_assert_mem_eq(a.rgb, b.rgb, (size_t)b.width * b.height * 3);
        ck_assert_uint_eq(bufs.grows, grows[i]);
        image_free(&b);
    }
    rd_image bad;
    ck_assert_int_eq(image_read_into(IMAGE_FIX "truncated.png", &bufs, &bad, err, sizeof err), -1);
    ck_assert_ptr_null(bad.rgb);
    ck_assert_ptr_nonnull(bufs.pixels);  // kept for the next image
    ck_assert_ptr_nonnull(strstr(err, "truncated PNG"));
    image_buffers_free(&bufs);
    ck_assert_ptr_null(bufs.pixels);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("image");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_image_sniff_first_bytes);
    tcase_add_test(tc, test_image_fixtures_match_pil);
    tcase_add_test(tc, test_image_real_images_match_pil);
    tcase_add_test(tc, test_image_broken_files_fail_with_a_message);
    tcase_add_test(tc, test_image_read_size_reads_the_header_only);
    tcase_add_test(tc, test_image_write_png_and_jpeg_round_trip);
    tcase_add_test(tc, test_image_read_into_reuses_buffers);
    suite_add_tcase(s, tc);
    return s;
}
