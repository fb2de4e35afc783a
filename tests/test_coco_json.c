/* test_coco_json.c — data/coco_json: the real coco128 instances file read with the values
 * Python's json gives (counts, first and last elements, crowd count), the optional fields'
 * defaults, id lookups, results files, and one message per kind of bad field naming the file,
 * the element and the field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/coco_json.h"
#include "tests/check_main.h"

#define COCO128_JSON "../shared/datasets/coco128/annotations/instances_train2017.json"

START_TEST(test_coco128_instances)
{
    FILE *f = fopen(COCO128_JSON, "rb");
    ck_assert_msg(f != NULL, "the dataset %s is absent (it ships in ../shared/datasets)",
                  COCO128_JSON);
    fclose(f);
    coco_instances c;
    char err[512];
    ck_assert_msg(coco_json_read_instances(COCO128_JSON, &c, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(c.nimages, 128);
    ck_assert_int_eq(c.ncategories, 80);
    ck_assert_int_eq(c.nannotations, 939);
    ck_assert_int_eq(c.images[0].id, 9);
    ck_assert_int_eq(c.images[0].width, 640);
    ck_assert_int_eq(c.images[0].height, 480);
    ck_assert_str_eq(c.images[0].file_name, "000000000009.jpg");
    ck_assert_int_eq(c.images[127].id, 650);
    ck_assert_int_eq(c.images[127].height, 427);
    ck_assert_str_eq(c.categories[79].name, "toothbrush");
    ck_assert_int_eq(c.categories[79].id, 90);
    const coco_annotation *a = &c.annotations[0];
    ck_assert_int_eq(a->id, 1774);
    ck_assert_int_eq(a->image_id, 74);
    ck_assert_int_eq(a->category_id, 18);
    ck_assert_double_eq(a->bbox[0], 61.87);
    ck_assert_double_eq(a->bbox[3], 103.18);
    ck_assert_double_eq(a->area, 18234.62355);
    a = &c.annotations[938];
    ck_assert_int_eq(a->id, 908400000643LL);
    ck_assert_double_eq(a->bbox[2], 95);
    ck_assert_double_eq(a->area, 6509);
    int crowd = 0;
    for (int64_t i = 0; i < c.nannotations; i++)
        crowd += c.annotations[i].iscrowd;
    ck_assert_int_eq(crowd, 10);
    ck_assert_int_eq(coco_id_index_find(&c.image_index, 650), 127);
    ck_assert_int_eq(coco_id_index_find(&c.category_index, 90), 79);
    ck_assert_int_eq(coco_id_index_find(&c.category_index, 12), -1);  // COCO skips id 12
    coco_instances_free(&c);
    ck_assert_ptr_null(c.images);
}
END_TEST

START_TEST(test_instances_defaults)
{
    const char *text =
        "{\"images\": [{\"id\": 7}, {\"id\": 3, \"width\": 10, \"height\": 20, "
        "\"file_name\": \"a.jpg\"}],\n \"categories\": [{\"id\": 5}, {\"id\": 2, \"name\": "
        "\"cat\"}],\n \"annotations\": [{\"image_id\": 3, \"category_id\": 2, \"bbox\": "
        "[1, 2, 3.5, 4]},\n {\"id\": 0, \"image_id\": 7, \"category_id\": 5, \"bbox\": [0, 0, "
        "0, 0], \"area\": 0.25, \"iscrowd\": true, \"segmentation\": {\"counts\": [1, 2]}}]}";
    coco_instances c;
    char err[512];
    ck_assert_msg(coco_json_parse_instances(text, strlen(text), "t.json", &c, err, sizeof err)
                  == 0, "%s", err);
    ck_assert_int_eq(c.images[0].width, 0);
    ck_assert_str_eq(c.images[0].file_name, "");
    ck_assert_str_eq(c.images[1].file_name, "a.jpg");
    ck_assert_str_eq(c.categories[0].name, "");
    ck_assert_int_eq(c.annotations[0].id, 1);   // position + 1 when absent
    ck_assert_double_eq(c.annotations[0].area, 14.0);  // w * h when absent
    ck_assert_int_eq(c.annotations[0].iscrowd, 0);
    ck_assert_int_eq(c.annotations[1].id, 0);
    ck_assert_double_eq(c.annotations[1].area, 0.25);
    ck_assert_int_eq(c.annotations[1].iscrowd, 1);
    ck_assert_int_eq(coco_id_index_find(&c.image_index, 7), 0);
    ck_assert_int_eq(coco_id_index_find(&c.image_index, 3), 1);
    ck_assert_int_eq(coco_id_index_find(&c.image_index, 4), -1);
    coco_instances_free(&c);

    const char *info = "{\"images\": [], \"categories\": []}";
    ck_assert_msg(coco_json_parse_instances(info, strlen(info), "i.json", &c, err, sizeof err)
                  == 0, "%s", err);
    ck_assert_int_eq(c.nimages + c.ncategories + c.nannotations, 0);
    ck_assert_int_eq(coco_id_index_find(&c.image_index, 0), -1);
    coco_instances_free(&c);
}
END_TEST

/* One bad instances text and the message it must give. */
static const struct {
    const char *text, *message;
} bad_instances[] = {
    {"", "t.json: malformed JSON: the file is empty"},
    {"{\"images\": [\n{\"id\": 1,,}], \"categories\": []}",
     "t.json: malformed JSON at line 2, column 1"},
    {"{\"images\": [], \"categories\": []} x", "t.json: malformed JSON at line 1, column 34 (the end of the text)"},
    {"{\"images\": [{\"id\": 1}] \"categories\": []}", "t.json: malformed JSON at line 1, "
     "column 24"},
    {"{\"info\": {\"a\": tru}, \"images\": [], \"categories\": []}",
     "t.json: malformed JSON at line 1, column 16"},
    {"\xEF\xBB\xBF  \n ", "t.json: malformed JSON: the file is empty"},
    {"[1, 2]", "t.json: the top level is an array, expected an object"},
    {"{\"categories\": []}", "t.json: no \"images\" array: not a COCO instances file"},
    {"{\"images\": {}, \"categories\": []}", "t.json: \"images\" is an object, expected an array"},
    {"{\"images\": [{\"id\": 1}, 4], \"categories\": []}",
     "t.json: images[1]: expected an object, found a number"},
    {"{\"images\": [{\"width\": 3}], \"categories\": []}", "t.json: images[0].id: missing"},
    {"{\"images\": [{\"id\": \"9\"}], \"categories\": []}",
     "t.json: images[0].id: expected an integer, found a string"},
    {"{\"images\": [{\"id\": 1.5}], \"categories\": []}",
     "t.json: images[0].id: expected an integer, found 1.5"},
    {"{\"images\": [{\"id\": 1, \"height\": -4}], \"categories\": []}",
     "t.json: images[0].height: size -4 is negative"},
    {"{\"images\": [{\"id\": 1}, {\"id\": 2}, {\"id\": 1}], \"categories\": []}",
     "t.json: images[2].id: id 1 repeats images[0].id"},
    {"{\"images\": [], \"categories\": [{\"id\": 1, \"name\": 3}]}",
     "t.json: categories[0].name: expected a string, found a number"},
    {"{\"images\": [{\"id\": 1}], \"categories\": [{\"id\": 1}], \"annotations\": "
     "[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, -3, 2]}]}",
     "t.json: annotations[0].bbox: width -3 is negative"},
    {"{\"images\": [{\"id\": 1}], \"categories\": [{\"id\": 1}], \"annotations\": "
     "[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 3]}]}",
     "t.json: annotations[0].bbox: expected 4 numbers [x, y, w, h], found 3"},
    {"{\"images\": [{\"id\": 1}], \"categories\": [{\"id\": 1}], \"annotations\": "
     "[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, null, 3, 3]}]}",
     "t.json: annotations[0].bbox: element 1 is not a finite number"},
    {"{\"images\": [{\"id\": 1}], \"categories\": [{\"id\": 1}], \"annotations\": "
     "[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 3, 3], \"area\": -1}]}",
     "t.json: annotations[0].area: -1 is negative"},
    {"{\"images\": [{\"id\": 1}], \"categories\": [{\"id\": 1}], \"annotations\": "
     "[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 3, 3], \"iscrowd\": 2}]}",
     "t.json: annotations[0].iscrowd: expected 0 or 1, found 2"},
    {"{\"images\": [{\"id\": 1}], \"categories\": [{\"id\": 1}], \"annotations\": "
     "[{\"image_id\": 1, \"bbox\": [0, 0, 3, 3]}]}",
     "t.json: annotations[0].category_id: missing"},
    {"{\"images\": [{\"id\": 1}], \"categories\": [{\"id\": 1}], \"annotations\": "
     "[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 3, 3]}, "
     "{\"image_id\": 2, \"category_id\": 1, \"bbox\": [0, 0, 3, 3]}]}",
     "t.json: annotations[1].image_id: 2 is not the id of any image"},
    {"{\"images\": [{\"id\": 1}], \"categories\": [{\"id\": 1}], \"annotations\": "
     "[{\"image_id\": 1, \"category_id\": 4, \"bbox\": [0, 0, 3, 3]}]}",
     "t.json: annotations[0].category_id: 4 is not the id of any category"},
};

START_TEST(test_instances_errors)
{
    const char *text = bad_instances[_i].text, *want = bad_instances[_i].message;
    coco_instances c;
    char err[512] = "";
    ck_assert_int_eq(coco_json_parse_instances(text, strlen(text), "t.json", &c, err,
                                               sizeof err), -1);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "case %d: got '%s', want '%s'", _i,
                  err, want);
    ck_assert_ptr_null(c.images);
    ck_assert_ptr_null(c.annotations);
}
END_TEST

START_TEST(test_results)
{
    const char *text = "[{\"image_id\": 4, \"category_id\": 2, \"bbox\": [1.5, 2, 3, 0], "
                       "\"score\": 0.25, \"segmentation\": []},\n"
                       " {\"score\": 1e-3, \"bbox\": [0, 0, 1, 1], \"category_id\": 1.0, "
                       "\"image_id\": 9}]";
    coco_results r;
    char err[512];
    ck_assert_msg(coco_json_parse_results(text, strlen(text), "r.json", &r, err, sizeof err)
                  == 0, "%s", err);
    ck_assert_int_eq(r.n, 2);
    ck_assert_int_eq(r.results[0].image_id, 4);
    ck_assert_int_eq(r.results[0].category_id, 2);
    ck_assert_double_eq(r.results[0].bbox[0], 1.5);
    ck_assert_double_eq(r.results[0].bbox[3], 0.0);
    ck_assert_double_eq(r.results[0].score, 0.25);
    ck_assert_int_eq(r.results[1].category_id, 1);
    ck_assert_double_eq(r.results[1].score, 1e-3);
    coco_results_free(&r);
    ck_assert_int_eq(coco_json_parse_results("[ ]", 3, "e.json", &r, err, sizeof err), 0);
    ck_assert_int_eq(r.n, 0);
    coco_results_free(&r);
}
END_TEST

static const struct {
    const char *text, *message;
} bad_results[] = {
    {"{\"image_id\": 1}", "r.json: the top level is an object, expected an array of results"},
    {"[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1]}]",
     "r.json: results[0].score: missing"},
    {"[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": 1},"
     " {\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, -1], \"score\": 1}]",
     "r.json: results[1].bbox: height -1 is negative"},
    {"[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": \"0.5\"}]",
     "r.json: results[0].score: expected a number, found a string"},
    {"[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": 1e999}]",
     "r.json: results[0].score: expected a finite number, found inf"},
    {"[{\"image_id\": 1e300, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": 1}]",
     "r.json: results[0].image_id: expected an integer, found 1.0000000000000001e+300"},
    {"[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": 1}",
     "r.json: malformed JSON at line 1, column 68 (the end of the text)"},
};

START_TEST(test_results_errors)
{
    const char *text = bad_results[_i].text, *want = bad_results[_i].message;
    coco_results r;
    char err[512] = "";
    ck_assert_int_eq(coco_json_parse_results(text, strlen(text), "r.json", &r, err, sizeof err),
                     -1);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "case %d: got '%s', want '%s'", _i,
                  err, want);
    ck_assert_ptr_null(r.results);
}
END_TEST

START_TEST(test_missing_file)
{
    coco_results r;
    char err[512];
    ck_assert_int_eq(coco_json_read_results("/nonexistent/r.json", &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "/nonexistent/r.json: cannot open: No such file or directory");
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("coco_json");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_coco128_instances);
    tcase_add_test(tc, test_instances_defaults);
    tcase_add_loop_test(tc, test_instances_errors, 0,
                        (int)(sizeof bad_instances / sizeof bad_instances[0]));
    tcase_add_test(tc, test_results);
    tcase_add_loop_test(tc, test_results_errors, 0,
                        (int)(sizeof bad_results / sizeof bad_results[0]));
    tcase_add_test(tc, test_missing_file);
    suite_add_tcase(s, tc);
    return s;
}
