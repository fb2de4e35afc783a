/* test_voc.c — PASCAL VOC: one XML read exactly as written (and every kind of bad field named
 * with its line), the 1-based to continuous box rule, the three folder layouts (devkit with
 * split lists, annotations/ + images/, image/XML pairs) built in a temporary folder, the
 * bad-sample policy, and the real fruits and raccoon sets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/image.h"
#include "data/voc.h"
#include "tests/check_main.h"
#include "tests/data_fixture.h"

static const char *const VOC_XML_GOOD =
    "<?xml version='1.0'?>\n"
    "<annotation>\n"
    "  <filename>a.jpg</filename>\n"
    "  <size><width>40</width><height>30</height><depth>3</depth></size>\n"
    "  <object>\n"
    "    <name>dog</name><truncated>1</truncated><difficult>0</difficult>\n"
    "    <bndbox><xmin>1</xmin><ymin>2.5</ymin><xmax>20</xmax><ymax>30</ymax></bndbox>\n"
    "    <part><name>head</name>\n"
    "      <bndbox><xmin>5</xmin><ymin>5</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></part>\n"
    "  </object>\n"
    "  <object>\n"
    "    <name> cat </name><difficult>1</difficult>\n"
    "    <bndbox><xmin>10</xmin><ymin>3</ymin><xmax>45</xmax><ymax>12</ymax></bndbox>\n"
    "  </object>\n"
    "</annotation>\n";

START_TEST(test_voc_xml_read_as_written)
{
    voc_annotation a;
    char err[512];
    ck_assert_msg(voc_parse_xml(VOC_XML_GOOD, strlen(VOC_XML_GOOD), "a.xml", &a, err,
                                sizeof err) == 0, "%s", err);
    ck_assert_str_eq(a.filename, "a.jpg");
    ck_assert_int_eq(a.width, 40);
    ck_assert_int_eq(a.height, 30);
    ck_assert_int_eq(a.depth, 3);
    ck_assert_int_eq(a.nobjects, 2);  // the <part> box is not an object
    const voc_object *dog = &a.objects[0], *cat = &a.objects[1];
    ck_assert_str_eq(dog->name, "dog");
    ck_assert(dog->xmin == 1 && dog->ymin == 2.5 && dog->xmax == 20 && dog->ymax == 30);
    ck_assert_int_eq(dog->truncated, 1);
    ck_assert_int_eq(dog->difficult, 0);
    ck_assert_int_eq(dog->line, 5);
    ck_assert_str_eq(cat->name, "cat");
    ck_assert_int_eq(cat->difficult, 1);
    ck_assert_int_eq(cat->truncated, 0);  // absent
    ck_assert_int_eq(cat->line, 11);
    rd_box b = voc_box_to_pixels(dog);  // pixels 1..20 cover [0, 20]
    ck_assert(b.x1 == 0.0f && b.y1 == 1.5f && b.x2 == 20.0f && b.y2 == 30.0f);
    voc_object back = {0};
    voc_box_from_pixels(b, &back);
    ck_assert(back.xmin == 1 && back.ymin == 2.5 && back.xmax == 20 && back.ymax == 30);
    voc_annotation_free(&a);
    ck_assert_ptr_null(a.objects);
}
END_TEST

/* voc_parse_xml(text) fails with every piece of want in the message. */
static void voc_expect_error(const char *text, const char *want1, const char *want2)
{
    voc_annotation a;
    char err[512] = "";
    ck_assert_int_eq(voc_parse_xml(text, strlen(text), "bad.xml", &a, err, sizeof err), -1);
    ck_assert_ptr_null(a.objects);
    ck_assert_msg(strncmp(err, "bad.xml: line ", 14) == 0, "no file and line: %s", err);
    ck_assert_msg(strstr(err, want1) != NULL, "expected \"%s\" in: %s", want1, err);
    ck_assert_msg(strstr(err, want2) != NULL, "expected \"%s\" in: %s", want2, err);
}

START_TEST(test_voc_xml_bad_fields_named_with_line)
{
    voc_expect_error("<annotation>\n<object>\n</annotation>\n", "line 3: malformed XML",
                     "mismatch: object line 2 and annotation");
    voc_expect_error("<root/>\n", "line 1:", "root element is <root>");
    voc_expect_error("<annotation>\n<object><bndbox/></object>\n</annotation>",
                     "line 2: ", "<object> has no <name>");
    voc_expect_error("<annotation>\n<object><name>x</name></object>\n</annotation>",
                     "line 2: ", "'x' has no <bndbox>");
    voc_expect_error("<annotation><object><name>x</name>\n<bndbox><xmin>abc</xmin><ymin>1"
                     "</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>",
                     "line 2: ", "<bndbox><xmin>: 'abc' is not a number");
    voc_expect_error("<annotation><object><name>x</name>\n<bndbox><xmin>1</xmin><ymin>1"
                     "</ymin><xmax>5</xmax></bndbox></object></annotation>",
                     "line 2: ", "<bndbox> has no <ymax>");
    voc_expect_error("<annotation>\n\n<size><width>-5</width><height>3</height></size>"
                     "</annotation>", "line 3: ", "<size><width>: -5 is negative");
    voc_expect_error("<annotation><object><name>x</name>\n<bndbox><xmin>10</xmin><ymin>1"
                     "</ymin><xmax>3</xmax><ymax>5</ymax></bndbox></object></annotation>",
                     "line 2: ", "xmax 3 < xmin 10 (negative width)");
    voc_expect_error("<annotation><object><name>x</name><difficult>yes</difficult>\n<bndbox>"
                     "<xmin>1</xmin><ymin>1</ymin><xmax>3</xmax><ymax>5</ymax></bndbox></object>"
                     "</annotation>", "line 1: ", "<object><difficult>: 'yes' is not a number");
}
END_TEST

START_TEST(test_voc_xml_write_round_trip)
{
    char *dir = test_tmpdir(), err[512];
    char *path = test_path_in(dir, "w.xml");
    voc_object objs[2] = {{.name = "a&b", .difficult = 1}, {.name = "<c>", .truncated = 1}};
    voc_box_from_pixels((rd_box){2.5f, 0, 10, 8}, &objs[0]);
    voc_box_from_pixels((rd_box){0, 1, 3, 4}, &objs[1]);
    ck_assert_int_eq(voc_write_xml(path, "w.jpg", 12, 9, objs, 2, err, sizeof err), 0);
    voc_annotation a;
    ck_assert_msg(voc_read_xml(path, &a, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(a.nobjects, 2);
    ck_assert_str_eq(a.objects[0].name, "a&b");
    ck_assert_str_eq(a.objects[1].name, "<c>");
    ck_assert(a.objects[0].xmin == 3.5 && a.objects[0].ymin == 1 && a.objects[0].xmax == 10);
    ck_assert_int_eq(a.objects[0].difficult, 1);
    ck_assert_int_eq(a.objects[1].truncated, 1);
    rd_box b = voc_box_to_pixels(&a.objects[1]);
    ck_assert(b.x1 == 0 && b.y1 == 1 && b.x2 == 3 && b.y2 == 4);
    ck_assert_int_eq(a.width, 12);
    voc_annotation_free(&a);
    free(path);
    free(dir);
}
END_TEST

/* One object in VOC XML. */
static char *voc_xml(const char *name, int x1, int y1, int x2, int y2)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "<annotation><size><width>0</width><height>0</height></size>"
                              "<object><name>%s</name><difficult>1</difficult><bndbox><xmin>%d"
                              "</xmin><ymin>%d</ymin><xmax>%d</xmax><ymax>%d</ymax></bndbox>"
                              "</object></annotation>\n", name, x1, y1, x2, y2);
    return buf;
}

/* pairs/: a.jpg (40x30) with three objects, b.jpg (a 20x10 PNG, XML size 0x0), c.png without
 * XML, d.xml without image. */
static char *voc_make_pairs(void)
{
    char *dir = test_tmpdir();
    data_fixture_image(dir, "pairs/a.jpg", 40, 30, 0);
    data_fixture_text(dir, "pairs/a.xml",
                      "<annotation><object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin>"
                      "<xmax>20</xmax><ymax>30</ymax></bndbox></object>\n<object><name>cat"
                      "</name><bndbox><xmin>10</xmin><ymin>3</ymin><xmax>45</xmax><ymax>12"
                      "</ymax></bndbox></object>\n<object><name>cat</name><bndbox><xmin>50"
                      "</xmin><ymin>3</ymin><xmax>60</xmax><ymax>12</ymax></bndbox></object>"
                      "</annotation>\n");
    data_fixture_image(dir, "pairs/b.jpg", 20, 10, 1);
    data_fixture_text(dir, "pairs/b.xml", voc_xml("dog", 2, 2, 5, 5));
    data_fixture_image(dir, "pairs/c.png", 16, 16, 1);
    data_fixture_text(dir, "pairs/d.xml", voc_xml("bird", 2, 2, 5, 5));
    return dir;
}

START_TEST(test_voc_pairs_folder)
{
    char *dir = voc_make_pairs(), *pairs = test_path_in(dir, "pairs"), err[512];
    rd_dataset ds;
    ck_assert_msg(dataset_open(pairs, NULL, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ds.nclasses, 2);  // the names in the samples' XML, sorted (not d.xml's)
    ck_assert_str_eq(ds.class_names[0], "cat");
    ck_assert_str_eq(ds.class_names[1], "dog");
    ck_assert_int_eq(ds.nsamples, 3);
    ck_assert_int_eq(ds.orphan_labels, 1);   // d.xml
    ck_assert_int_eq(ds.dropped_boxes, 1);   // the cat at x 49..60 in a 40-wide image
    ck_assert_int_eq(ds.nobjects, 3);
    const rd_sample *a = &ds.samples[0], *b = &ds.samples[1], *c = &ds.samples[2];
    ck_assert_ptr_nonnull(strstr(a->image_path, "pairs/a.jpg"));
    ck_assert_int_eq(a->nobjects, 2);
    const rd_object *dog = &ds.objects[a->first_object], *cat = dog + 1;
    ck_assert(dog->box.x1 == 0 && dog->box.y1 == 0 && dog->box.x2 == 20 && dog->box.y2 == 30);
    ck_assert_int_eq(dog->label, 1);
    ck_assert(cat->box.x1 == 9 && cat->box.y1 == 2 && cat->box.x2 == 40 && cat->box.y2 == 12);
    ck_assert(cat->area == 310.0f);  // clamped box: 31 x 10
    ck_assert_int_eq(b->width, 20);  // from the PNG, not the XML's 0x0
    ck_assert_int_eq(b->height, 10);
    ck_assert_int_eq(b->image_id, 1);
    ck_assert_int_eq(ds.objects[b->first_object].difficult, 1);
    ck_assert_int_eq(c->nobjects, 0);  // background
    ck_assert_int_eq(c->width, 16);
    dataset_free(&ds);
    ck_assert_ptr_null(ds.samples);
    free(pairs);
    free(dir);
}
END_TEST

/* devkit/: 0001-0004 in Annotations/ and JPEGImages/ (0004.jpg is not an image, 0002 has an
 * unknown class) and split lists. */
static char *voc_make_devkit(void)
{
    char *dir = test_tmpdir();
    data_fixture_image(dir, "devkit/JPEGImages/0001.jpg", 50, 40, 0);
    data_fixture_image(dir, "devkit/JPEGImages/0002.jpg", 50, 40, 0);
    data_fixture_image(dir, "devkit/JPEGImages/0003.jpg", 30, 60, 0);
    data_fixture_copy("not_image.jpg", dir, "devkit/JPEGImages/0004.jpg");
    data_fixture_text(dir, "devkit/Annotations/0001.xml", voc_xml("person", 3, 4, 30, 40));
    data_fixture_text(dir, "devkit/Annotations/0002.xml", voc_xml("unicorn", 1, 1, 5, 5));
    data_fixture_text(dir, "devkit/Annotations/0004.xml", voc_xml("dog", 1, 1, 5, 5));
    data_fixture_text(dir, "devkit/ImageSets/Main/train.txt", "0001\n0003\n");
    data_fixture_text(dir, "devkit/ImageSets/Main/val.txt", "0002\n");
    data_fixture_text(dir, "devkit/ImageSets/Main/bad.txt", "0001\n0004\n");
    data_fixture_text(dir, "devkit/ImageSets/Main/missing.txt", "0001 1\n\n0009 -1\n");
    data_fixture_text(dir, "names.txt", "unicorn\nperson\n");
    return dir;
}

/* dataset_open of the devkit with split and policy: its return code, ds filled on success. */
static int voc_open_devkit(const char *dir, const char *split, bad_sample_policy policy,
                           rd_dataset *ds, char *err)
{
    char *root = test_path_in(dir, "devkit");
    dataset_options opt = {.split = split, .on_bad_sample = policy};
    int rc = dataset_open(root, &opt, ds, err, 512);
    free(root);
    return rc;
}

START_TEST(test_voc_devkit_splits_and_bad_samples)
{
    char *dir = voc_make_devkit(), err[512];
    rd_dataset ds;
    ck_assert_msg(voc_open_devkit(dir, "train", BAD_SAMPLE_ERROR, &ds, err) == 0, "%s", err);
    ck_assert_int_eq(ds.nclasses, 20);  // the VOC classes
    ck_assert_int_eq(ds.nsamples, 2);
    ck_assert_int_eq(ds.samples[0].nobjects, 1);
    ck_assert_int_eq(ds.objects[0].label, 14);  // person
    ck_assert(ds.objects[0].box.x1 == 2 && ds.objects[0].box.y2 == 40);
    ck_assert_int_eq(ds.samples[1].nobjects, 0);  // 0003 has no XML: background
    ck_assert_int_eq(ds.samples[1].height, 60);
    dataset_free(&ds);

    ck_assert_int_eq(voc_open_devkit(dir, "val", BAD_SAMPLE_ERROR, &ds, err), -1);
    ck_assert_msg(strstr(err, "Annotations/0002.xml: line 1: unknown class 'unicorn'"), "%s",
                  err);
    ck_assert_int_eq(voc_open_devkit(dir, "val", BAD_SAMPLE_SKIP, &ds, err), 0);
    ck_assert_int_eq(ds.nsamples, 0);
    ck_assert_int_eq(ds.skipped_samples, 1);
    dataset_free(&ds);

    ck_assert_int_eq(voc_open_devkit(dir, "bad", BAD_SAMPLE_ERROR, &ds, err), -1);
    ck_assert_msg(strstr(err, "JPEGImages/0004.jpg: not a JPEG or PNG file"), "%s", err);
    ck_assert_int_eq(voc_open_devkit(dir, "bad", BAD_SAMPLE_SKIP, &ds, err), 0);
    ck_assert_int_eq(ds.nsamples, 1);
    ck_assert_int_eq(ds.skipped_samples, 1);
    dataset_free(&ds);

    ck_assert_int_eq(voc_open_devkit(dir, "missing", BAD_SAMPLE_ERROR, &ds, err), -1);
    ck_assert_msg(strstr(err, "ImageSets/Main/missing.txt: line 3: no image '0009'"), "%s", err);
    ck_assert_int_eq(voc_open_devkit(dir, "nosuch", BAD_SAMPLE_SKIP, &ds, err), -1);
    ck_assert_msg(strstr(err, "ImageSets/Main/nosuch.txt: cannot open"), "%s", err);
    free(dir);
}
END_TEST

START_TEST(test_voc_names_file_sets_the_classes)
{
    char *dir = voc_make_devkit(), err[512];
    char *root = test_path_in(dir, "devkit"), *names = test_path_in(dir, "names.txt");
    dataset_options opt = {.format = "voc", .split = "val", .names = names};
    rd_dataset ds;
    ck_assert_msg(dataset_open(root, &opt, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ds.nclasses, 2);
    ck_assert_int_eq(ds.objects[0].label, 0);  // unicorn is first in names.txt
    dataset_free(&ds);
    opt.split = "train";  // person is class 1 now
    ck_assert_msg(dataset_open(root, &opt, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ds.objects[0].label, 1);
    dataset_free(&ds);
    free(names);
    free(root);
    free(dir);
}
END_TEST

/* The header-only open accepts an image cut inside its pixel data; the full decode finds it. */
START_TEST(test_voc_verify_images_finds_cut_pixel_data)
{
    char *dir = voc_make_pairs(), *pairs = test_path_in(dir, "pairs"), err[512];
    data_fixture_copy("truncated.jpg", dir, "pairs/a2.jpg");  // 45x31, cut halfway
    data_fixture_text(dir, "pairs/a2.xml", voc_xml("dog", 2, 2, 5, 5));
    rd_dataset ds;
    ck_assert_msg(dataset_open(pairs, NULL, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ds.nsamples, 4);
    ck_assert_int_eq(ds.samples[1].width, 45);  // a2.jpg, from its intact header
    ck_assert_int_eq(dataset_verify_images(&ds, BAD_SAMPLE_ERROR, 2, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "pairs/a2.jpg: truncated JPEG"), "%s", err);
    ck_assert_int_eq(ds.nsamples, 4);  // unchanged on error
    ck_assert_int_eq(dataset_verify_images(&ds, BAD_SAMPLE_SKIP, 2, err, sizeof err), 0);
    ck_assert_int_eq(ds.nsamples, 3);
    ck_assert_int_eq(ds.skipped_samples, 1);
    ck_assert_int_eq(ds.nobjects, 3);
    const rd_sample *b = &ds.samples[1];  // b.jpg moved up, with its object
    ck_assert_ptr_nonnull(strstr(b->image_path, "pairs/b.jpg"));
    ck_assert_int_eq(b->image_id, 2);
    ck_assert_int_eq(b->first_object, 2);
    ck_assert(ds.objects[2].box.x1 == 1 && ds.objects[2].box.x2 == 5);
    dataset_free(&ds);
    free(pairs);
    free(dir);
}
END_TEST

START_TEST(test_voc_fruits)
{
    rd_dataset ds;
    char err[512];
    ck_assert_msg(dataset_open(data_fixture_shared("fruits/train_zip/train"), NULL, &ds, err,
                               sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ds.nclasses, 3);
    ck_assert_int_eq(ds.nsamples, 240);
    ck_assert_int_eq(ds.nobjects, 465);
    ck_assert_int_eq(ds.dropped_boxes + ds.skipped_samples + ds.orphan_labels, 0);
    int per_class[3] = {0}, png = 0, big = 0;
    for (int64_t i = 0; i < ds.nobjects; i++)
        per_class[ds.objects[i].label]++;
    ck_assert_int_eq(per_class[0], 156);  // apple, banana, orange (SOURCE.md)
    ck_assert_int_eq(per_class[1], 169);
    ck_assert_int_eq(per_class[2], 140);
    for (int64_t i = 0; i < ds.nsamples; i++) {
        const rd_sample *s = &ds.samples[i];
        unsigned char head[8] = {0};
        FILE *f = fopen(s->image_path, "rb");
        ck_assert_int_eq(fread(head, 1, 8, f), 8);
        fclose(f);
        png += image_sniff(head, 8) == IMAGE_FORMAT_PNG;  // named .jpg, XML size 0x0
        ck_assert_int_gt(s->width, 0);
        big += s->width == 2569 && s->height == 4605;
        if (strstr(s->image_path, "/apple_1.jpg")) {
            ck_assert_int_eq(s->width, 349);
            ck_assert_int_eq(s->height, 349);
        }
    }
    ck_assert_int_eq(png, 33);
    ck_assert_int_eq(big, 1);
    dataset_free(&ds);
    ck_assert_msg(dataset_open(data_fixture_shared("fruits/test_zip/test"), NULL, &ds, err,
                               sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ds.nsamples, 60);
    ck_assert_int_eq(ds.nobjects, 117);
    dataset_free(&ds);
}
END_TEST

/* The sample whose image path ends in suffix. */
static const rd_sample *voc_find(const rd_dataset *ds, const char *suffix)
{
    for (int64_t i = 0; i < ds->nsamples; i++) {
        const char *p = ds->samples[i].image_path;
        size_t n = strlen(p), m = strlen(suffix);
        if (n >= m && strcmp(p + n - m, suffix) == 0)
            return &ds->samples[i];
    }
    ck_abort_msg("no sample %s", suffix);
    return NULL;
}

START_TEST(test_voc_raccoon_annotations_and_images_folders)
{
    rd_dataset ds;
    char err[512];
    ck_assert_msg(dataset_open(data_fixture_shared("raccoon"), NULL, &ds, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_int_eq(ds.nclasses, 1);
    ck_assert_str_eq(ds.class_names[0], "raccoon");
    ck_assert_int_eq(ds.nsamples, 200);
    ck_assert_int_eq(ds.nobjects, 217);
    const rd_sample *a = voc_find(&ds, "/raccoon-11.jpg"), *b = voc_find(&ds, "/raccoon-116.jpg");
    const rd_box ba = ds.objects[a->first_object].box, bb = ds.objects[b->first_object].box;
    ck_assert(ba.x1 == 2 && ba.y1 == 0 && ba.x2 == 461 && ba.y2 == 431);  // XML 3,1,461,431
    ck_assert(bb.x1 == 2 && bb.y1 == 0 && bb.x2 == 436 && bb.y2 == 430);  // the duplicate's own
    const rd_sample *gray = voc_find(&ds, "/raccoon-150.jpg");
    ck_assert_int_eq(gray->width, 275);
    ck_assert_int_eq(gray->height, 183);
    dataset_free(&ds);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("voc");
    TCase *tc = tcase_create("voc");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_voc_xml_read_as_written);
    tcase_add_test(tc, test_voc_xml_bad_fields_named_with_line);
    tcase_add_test(tc, test_voc_xml_write_round_trip);
    tcase_add_test(tc, test_voc_pairs_folder);
    tcase_add_test(tc, test_voc_devkit_splits_and_bad_samples);
    tcase_add_test(tc, test_voc_names_file_sets_the_classes);
    tcase_add_test(tc, test_voc_verify_images_finds_cut_pixel_data);
    tcase_add_test(tc, test_voc_fruits);
    tcase_add_test(tc, test_voc_raccoon_annotations_and_images_folders);
    suite_add_tcase(s, tc);
    return s;
}
