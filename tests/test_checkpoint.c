/* test_checkpoint.c — HDF5 checkpoints: round trip, refusal of missing, unexpected, mis-shaped
 * and non-float32 tensors with their names in the message, the optimizer-state API, and atomic
 * writes (no file at the destination after a failed or abandoned write). The files are edited
 * with the plain HDF5 API, not through the code under test. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>

#include "detector/checkpoint.h"
#include "lib/h5.h"
#include "tests/check_main.h"
#include "tests/net_random.h"

/* A small model with every value drawn (BatchNorm statistics included). */
static retinanet *random_model(uint64_t seed)
{
    retinanet_config c = net_small_config(0);
    retinanet *m = retinanet_create_inference(&c);
    net_fill_uniform(m, seed);
    return m;
}

/* A saved random model in a fresh directory; *dir and the returned path are the caller's. */
static char *saved_model(char **dir, retinanet **model)
{
    *dir = test_tmpdir();
    char *path = test_path_in(*dir, "w.h5"), err[1024];
    retinanet *m = random_model(3);
    ck_assert_msg(checkpoint_save(path, m, err, sizeof err) == 0, "%s", err);
    if (model)
        *model = m;
    else
        retinanet_destroy(m);
    return path;
}

static void remove_dir(char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            char *p = test_path_in(dir, e->d_name);
            remove(p);
            free(p);
        }
    }
    if (d)
        closedir(d);
    rmdir(dir);
    free(dir);
}

static int dir_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

/* Replace (or add) dataset name in path by a float dataset of the given dims and type. */
static void put_dataset(const char *path, const char *name, int rank, const hsize_t *dims,
                        hid_t type)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    if (H5Lexists(f, name, H5P_DEFAULT) > 0)
        ck_assert_int_ge(H5Ldelete(f, name, H5P_DEFAULT), 0);
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    H5Dclose(d);
    H5Sclose(space);
    H5Fclose(f);
}

static void delete_dataset(const char *path, const char *name)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(H5Ldelete(f, name, H5P_DEFAULT), 0);
    H5Fclose(f);
}

START_TEST(test_round_trip)
{
    char *dir;
    retinanet *a;
    char *path = saved_model(&dir, &a), err[1024];
    retinanet_config c = net_small_config(0);
    retinanet *b = retinanet_create_inference(&c);
    ck_assert_msg(checkpoint_load(path, b, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < a->nparams; i++)
        ck_assert_msg(memcmp(a->params[i].data, b->params[i].data,
                             a->params[i].count * sizeof(float)) == 0,
                      "%s differs after the round trip", a->params[i].name);
    /* The BatchNorms were refolded: both models give the same outputs. */
    float *x = calloc(3 * 64 * 64, sizeof *x);
    for (int i = 0; i < 3 * 64 * 64; i++)
        x[i] = (float)sin(0.01 * i);
    retinanet_plan(a, 1, 64, 64, 0);
    retinanet_plan(b, 1, 64, 64, 0);
    retinanet_forward(a, x);
    retinanet_forward(b, x);
    ck_assert(memcmp(a->cls_logits, b->cls_logits,
                     sizeof(float) * a->num_anchors_total * c.num_classes) == 0);
    /* The file stores OIHW float32 under torchvision's names. */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "state_dict/backbone.body.layer2.0.conv1.weight", H5P_DEFAULT);
    hid_t space = H5Dget_space(d), type = H5Dget_type(d);
    hsize_t dims[4];
    ck_assert_int_eq(H5Sget_simple_extent_dims(space, dims, NULL), 4);
    ck_assert(dims[0] == 8 && dims[1] == 4 && dims[2] == 3 && dims[3] == 3);
    ck_assert(H5Tequal(type, H5T_IEEE_F32LE) > 0);
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(d);
    H5Fclose(f);
    free(x);
    free(path);
    remove_dir(dir);
    retinanet_destroy(a);
    retinanet_destroy(b);
}
END_TEST

/* Load path into a fresh zeroed model: must fail with each of needles in the message and
 * leave the model untouched. */
static void expect_refused(const char *path, const char *const *needles, int count)
{
    retinanet_config c = net_small_config(0);
    retinanet *m = retinanet_create_inference(&c);
    char err[8192];
    ck_assert_int_eq(checkpoint_load(path, m, err, sizeof err), -1);
    for (int i = 0; i < count; i++)
        ck_assert_msg(strstr(err, needles[i]) != NULL, "'%s' not in the message: %s", needles[i],
                      err);
    for (int i = 0; i < m->nparams; i++)
        for (size_t k = 0; k < m->params[i].count; k++)
            ck_assert_float_eq(m->params[i].data[k], 0.0f);
    retinanet_destroy(m);
}

START_TEST(test_refuses_missing_tensor)
{
    char *dir, *path = saved_model(&dir, NULL);
    delete_dataset(path, "state_dict/head.regression_head.bbox_reg.bias");
    const char *needles[] = {"missing tensor state_dict/head.regression_head.bbox_reg.bias [36]",
                             path};
    expect_refused(path, needles, 2);
    free(path);
    remove_dir(dir);
}
END_TEST

START_TEST(test_refuses_unexpected_tensor)
{
    char *dir, *path = saved_model(&dir, NULL);
    hsize_t one = 1;
    put_dataset(path, "state_dict/backbone.body.bn1.num_batches_tracked", 1, &one,
                H5T_IEEE_F32LE);
    put_dataset(path, "state_dict/head.extra.weight", 1, &one, H5T_IEEE_F32LE);
    const char *needles[] = {"unexpected tensor state_dict/backbone.body.bn1.num_batches_tracked",
                             "num_batches_tracked buffers",
                             "unexpected tensor state_dict/head.extra.weight"};
    expect_refused(path, needles, 3);
    free(path);
    remove_dir(dir);
}
END_TEST

START_TEST(test_refuses_misshaped_and_wrong_type)
{
    char *dir, *path = saved_model(&dir, NULL);
    hsize_t dims[4] = {8, 4, 1, 3}, vec = 16;
    put_dataset(path, "state_dict/backbone.body.layer2.0.conv1.weight", 4, dims, H5T_IEEE_F32LE);
    put_dataset(path, "state_dict/backbone.fpn.layer_blocks.1.0.bias", 1, &vec, H5T_IEEE_F32LE);
    hsize_t eight = 8;
    put_dataset(path, "state_dict/backbone.fpn.layer_blocks.2.0.bias", 1, &eight,
                H5T_IEEE_F64LE);
    const char *needles[] = {
        "mis-shaped tensor state_dict/backbone.body.layer2.0.conv1.weight: [8, 4, 1, 3] in the "
        "file, the model needs [8, 4, 3, 3]",
        "mis-shaped tensor state_dict/backbone.fpn.layer_blocks.1.0.bias: [16] in the file, the "
        "model needs [8]",
        "tensor state_dict/backbone.fpn.layer_blocks.2.0.bias is float64"};
    expect_refused(path, needles, 3);
    free(path);
    remove_dir(dir);
}
END_TEST

/* Every kind of problem at once: all are named, not only the first. */
START_TEST(test_reports_every_problem)
{
    char *dir, *path = saved_model(&dir, NULL);
    delete_dataset(path, "state_dict/backbone.body.conv1.weight");
    delete_dataset(path, "state_dict/head.classification_head.cls_logits.bias");
    hsize_t two = 2;
    put_dataset(path, "state_dict/backbone.fpn.extra_blocks.p7.bias", 1, &two, H5T_IEEE_F32LE);
    put_dataset(path, "state_dict/stray", 1, &two, H5T_IEEE_F32LE);
    const char *needles[] = {"missing tensor state_dict/backbone.body.conv1.weight [4, 3, 7, 7]",
                             "missing tensor state_dict/head.classification_head.cls_logits.bias",
                             "mis-shaped tensor state_dict/backbone.fpn.extra_blocks.p7.bias",
                             "unexpected tensor state_dict/stray"};
    expect_refused(path, needles, 4);
    free(path);
    remove_dir(dir);
}
END_TEST

START_TEST(test_refuses_other_files)
{
    char *dir = test_tmpdir(), *path = test_path_in(dir, "plain.h5");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    const char *no_group[] = {"no group state_dict/"};
    expect_refused(path, no_group, 1);
    FILE *t = fopen(path, "w");
    fputs("not hdf5\n", t);
    fclose(t);
    const char *not_h5[] = {"not a readable HDF5 file"};
    expect_refused(path, not_h5, 1);
    remove(path);
    const char *missing[] = {"cannot read checkpoint", "No such file"};
    expect_refused(path, missing, 2);
    free(path);
    remove_dir(dir);
}
END_TEST

/* Optimizer state and attributes through the writer; tensors read back by exact shape. */
START_TEST(test_optimizer_state_api)
{
    char *dir = test_tmpdir(), *path = test_path_in(dir, "state.h5"), err[1024];
    retinanet *m = random_model(5);
    checkpoint_writer w;
    ck_assert_int_eq(checkpoint_begin(&w, path, err, sizeof err), 0);
    ck_assert_int_eq(checkpoint_write_state_dict(&w, m, err, sizeof err), 0);
    const retinanet_param *p = retinanet_param_find(m, "head.regression_head.bbox_reg.weight");
    int64_t dims[4] = {p->shape[0], p->shape[1], p->shape[2], p->shape[3]};
    ck_assert_int_eq(checkpoint_write_tensor(&w, "optim/momentum_buffer/x", 4, dims, p->data,
                                             err, sizeof err), 0);
    h5_attr_int64(checkpoint_file(&w), "step", 1234);
    ck_assert_int_eq(checkpoint_commit(&w, err, sizeof err), 0);

    checkpoint_reader r;
    ck_assert_int_eq(checkpoint_open(&r, path, err, sizeof err), 0);
    float *back = malloc(p->count * sizeof *back);
    ck_assert_int_eq(checkpoint_read_tensor(&r, "optim/momentum_buffer/x", 4, dims, back, err,
                                            sizeof err), 0);
    ck_assert(memcmp(back, p->data, p->count * sizeof *back) == 0);
    double step = 0;
    ck_assert_int_eq(h5_attr_read_double(r.file, "step", &step), 0);
    ck_assert_double_eq(step, 1234.0);
    ck_assert_int_eq(h5_attr_read_double(r.file, "format_version", &step), 0);
    ck_assert_double_eq(step, CHECKPOINT_FORMAT_VERSION);
    int64_t wrong[4] = {dims[0], dims[1], dims[2], dims[3] + 1};
    ck_assert_int_eq(checkpoint_read_tensor(&r, "optim/momentum_buffer/x", 4, wrong, back, err,
                                            sizeof err), -1);
    ck_assert_msg(strstr(err, "optim/momentum_buffer/x") && strstr(err, "[36, 8, 3, 3]") &&
                  strstr(err, "[36, 8, 3, 4]"), "%s", err);
    ck_assert_int_eq(checkpoint_read_tensor(&r, "optim/none", 4, dims, back, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "optim/none") != NULL, "%s", err);
    checkpoint_close(&r);
    free(back);
    free(path);
    remove_dir(dir);
    retinanet_destroy(m);
}
END_TEST

/* A failed or abandoned write leaves the destination as it was and no temporary file. */
START_TEST(test_atomic_write)
{
    char *dir, err[1024];
    retinanet *m;
    char *path = saved_model(&dir, &m);
    struct stat before, after;
    ck_assert_int_eq(stat(path, &before), 0);

    /* No such directory: nothing is created. */
    char *bad = test_path_in(dir, "no/such/dir/w.h5");
    ck_assert_int_eq(checkpoint_save(bad, m, err, sizeof err), -1);
    ck_assert_msg(strstr(err, bad) != NULL, "%s", err);
    free(bad);

    /* Abandoned after writing: the old file is untouched, the temporary file gone. */
    checkpoint_writer w;
    ck_assert_int_eq(checkpoint_begin(&w, path, err, sizeof err), 0);
    ck_assert_int_eq(checkpoint_write_state_dict(&w, m, err, sizeof err), 0);
    checkpoint_abort(&w);
    ck_assert_int_eq(stat(path, &after), 0);
    ck_assert(after.st_ino == before.st_ino && after.st_mtime == before.st_mtime);
    ck_assert_int_eq(dir_entries(dir), 1);

    /* The destination is a directory: the rename fails, the temporary file is removed. */
    char *sub = test_path_in(dir, "sub");
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    char *inner = test_path_in(sub, "x");
    FILE *t = fopen(inner, "w");
    fclose(t);
    ck_assert_int_eq(checkpoint_save(sub, m, err, sizeof err), -1);
    ck_assert_msg(strstr(err, sub) != NULL, "%s", err);
    ck_assert_int_eq(dir_entries(dir), 2);  // w.h5 and sub/
    remove(inner);
    rmdir(sub);
    free(inner);
    free(sub);

    /* A writer that dies before committing leaves no file at the destination. */
    char *fresh = test_path_in(dir, "fresh.h5");
    pid_t pid = fork();
    if (pid == 0) {
        checkpoint_writer cw;
        if (checkpoint_begin(&cw, fresh, err, sizeof err) == 0)
            checkpoint_write_state_dict(&cw, m, err, sizeof err);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    ck_assert_int_eq(access(fresh, F_OK), -1);
    free(fresh);
    free(path);
    remove_dir(dir);
    retinanet_destroy(m);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("checkpoint");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_refuses_missing_tensor);
    tcase_add_test(tc, test_refuses_unexpected_tensor);
    tcase_add_test(tc, test_refuses_misshaped_and_wrong_type);
    tcase_add_test(tc, test_reports_every_problem);
    tcase_add_test(tc, test_refuses_other_files);
    tcase_add_test(tc, test_optimizer_state_api);
    tcase_add_test(tc, test_atomic_write);
    suite_add_tcase(s, tc);
    return s;
}
