/* test_checkpoint_train.c — the training side of checkpoints (detector/checkpoint.h): the SGD
 * state (momentum buffers under optim/momentum/, the attribute optim_step) survives a write and
 * a read so exactly that two more steps give the same bits as an uninterrupted run; missing and
 * mis-shaped buffers are refused by name; checkpoint_load_matching reads the tensors a file and
 * the model share (pretrained weights), counts them, and refuses a mis-shaped one by name with
 * the model untouched. Files are edited with the plain HDF5 API. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "detector/checkpoint.h"
#include "lib/h5.h"
#include "lib/rng.h"
#include "tests/check_main.h"
#include "tests/net_random.h"

/* The optimizer train_step.c makes: every trainable tensor of m, in table order. */
static void ckt_sgd_init(sgd *s, retinanet *m)
{
    sgd_config c;
    sgd_config_default(&c);
    c.lr = 0.05;
    c.warmup_steps = 4;  // the lr changes every step: a wrong optim_step shows
    sgd_tensor *list = calloc((size_t)m->nparams, sizeof *list);
    for (int i = 0; i < m->nparams; i++)
        list[i] = (sgd_tensor){m->params[i].data, m->params[i].trainable ? m->params[i].grad : NULL,
                               m->params[i].count};
    sgd_init(s, &c, list, m->nparams);
    free(list);
}

/* Gradients of step `step`, the same for every model, then one SGD step. */
static void ckt_fake_step(retinanet *m, sgd *s, int step)
{
    rd_rng rng;
    rd_rng_init(&rng, 1000 + (uint64_t)step);
    for (int i = 0; i < m->nparams; i++)
        if (m->params[i].grad)
            for (size_t k = 0; k < m->params[i].count; k++)
                m->params[i].grad[k] = (float)rd_rng_gaussian(&rng, 1.0);
    rd_rng_free(&rng);
    sgd_step(s);
}

/* A checkpoint of m and s at path. */
static void ckt_write(const char *path, const retinanet *m, const sgd *s)
{
    char err[1024];
    checkpoint_writer w;
    ck_assert_msg(checkpoint_begin(&w, path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(checkpoint_write_state_dict(&w, m, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(checkpoint_write_sgd(&w, m, s, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(checkpoint_commit(&w, err, sizeof err) == 0, "%s", err);
}

static int ckt_count_links(const char *path, const char *group)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
    ck_assert_int_ge(g, 0);
    H5G_info_t info;
    ck_assert_int_ge(H5Gget_info(g, &info), 0);
    H5Gclose(g);
    H5Fclose(f);
    return (int)info.nlinks;
}

START_TEST(test_sgd_state_round_trip)
{
    char *dir = test_tmpdir(), *path = test_path_in(dir, "ckpt.h5"), err[4096];
    retinanet_config c = net_small_config(1);
    retinanet *a = retinanet_create(&c), *b = retinanet_create(&c);
    net_fill_uniform(a, 11);
    sgd sa, sb;
    ckt_sgd_init(&sa, a);
    ck_assert_int_gt(sa.ntensors, 0);
    ck_assert_int_lt(sa.ntensors, a->nparams);  // frozen stem, layer1 and BatchNorms left out
    for (int t = 0; t < 3; t++)
        ckt_fake_step(a, &sa, t);
    ckt_write(path, a, &sa);
    ck_assert_int_eq(ckt_count_links(path, "optim/momentum"), sa.ntensors);

    checkpoint_reader r;
    ck_assert_msg(checkpoint_open(&r, path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(checkpoint_read_state_dict(&r, b, err, sizeof err) == 0, "%s", err);
    ckt_sgd_init(&sb, b);
    ck_assert_msg(checkpoint_read_sgd(&r, b, &sb, err, sizeof err) == 0, "%s", err);
    checkpoint_close(&r);
    ck_assert_int_eq(sb.step, 3);
    for (int j = 0; j < sa.ntensors; j++)
        ck_assert(memcmp(sa.momentum[j], sb.momentum[j], sa.tensors[j].count * 4) == 0);
    for (int t = 3; t < 5; t++) {
        ckt_fake_step(a, &sa, t);
        ckt_fake_step(b, &sb, t);
    }
    retinanet *start = retinanet_create_inference(&c);
    net_fill_uniform(start, 11);
    for (int i = 0; i < a->nparams; i++) {
        size_t bytes = a->params[i].count * sizeof(float);
        ck_assert_msg(memcmp(a->params[i].data, b->params[i].data, bytes) == 0,
                      "%s differs after the resumed steps", a->params[i].name);
        int moved = memcmp(a->params[i].data, start->params[i].data, bytes) != 0;
        ck_assert_msg(moved == (a->params[i].grad != NULL), "%s %s", a->params[i].name,
                      moved ? "is frozen but moved" : "is trainable but never moved");
    }
    retinanet_destroy(start);
    sgd_free(&sa);
    sgd_free(&sb);
    retinanet_destroy(a);
    retinanet_destroy(b);
    unlink(path);
    free(path);
    free(dir);
}
END_TEST

/* Replace dataset name by a float32 one of dims (rank 1 or 4), or delete it (rank 0). */
static void ckt_edit(const char *path, const char *name, int rank, const hsize_t *dims)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    if (H5Lexists(f, name, H5P_DEFAULT) > 0)
        ck_assert_int_ge(H5Ldelete(f, name, H5P_DEFAULT), 0);
    if (rank > 0) {
        hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(lcpl, 1);
        hid_t space = H5Screate_simple(rank, dims, NULL);
        hid_t d = H5Dcreate2(f, name, H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        ck_assert_int_ge(d, 0);
        H5Dclose(d);
        H5Sclose(space);
        H5Pclose(lcpl);
    }
    H5Fclose(f);
}

/* checkpoint_read_sgd on path fails with every needle in the message; s stays at step 0 with
 * zero buffers. */
static void ckt_expect_sgd_refused(const char *path, const char *const *needles, int n)
{
    retinanet_config c = net_small_config(1);
    retinanet *m = retinanet_create(&c);
    sgd s;
    ckt_sgd_init(&s, m);
    checkpoint_reader r;
    char err[4096];
    ck_assert_msg(checkpoint_open(&r, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(checkpoint_read_sgd(&r, m, &s, err, sizeof err), -1);
    checkpoint_close(&r);
    for (int i = 0; i < n; i++)
        ck_assert_msg(strstr(err, needles[i]) != NULL, "'%s' not in: %s", needles[i], err);
    ck_assert_int_eq(s.step, 0);
    for (int j = 0; j < s.ntensors; j++)
        for (size_t k = 0; k < s.tensors[j].count; k++)
            ck_assert_float_eq(s.momentum[j][k], 0.0f);
    sgd_free(&s);
    retinanet_destroy(m);
}

START_TEST(test_sgd_state_refused_by_name)
{
    char *dir = test_tmpdir(), *path = test_path_in(dir, "ckpt.h5");
    retinanet_config c = net_small_config(1);
    retinanet *m = retinanet_create(&c);
    net_fill_uniform(m, 12);
    sgd s;
    ckt_sgd_init(&s, m);
    for (int t = 0; t < 2; t++)
        ckt_fake_step(m, &s, t);
    ckt_write(path, m, &s);
    sgd_free(&s);
    retinanet_destroy(m);

    ckt_edit(path, "optim/momentum/head.regression_head.bbox_reg.bias", 0, NULL);
    hsize_t dims[4] = {8, 8, 3, 1};
    ckt_edit(path, "optim/momentum/head.classification_head.conv.0.0.weight", 4, dims);
    const char *needles[] = {
        path,
        "missing momentum buffer optim/momentum/head.regression_head.bbox_reg.bias [24]",
        "mis-shaped momentum buffer optim/momentum/head.classification_head.conv.0.0.weight: "
        "float32 [8, 8, 3, 1] in the file, the model needs float32 [8, 8, 3, 3]"};
    ckt_expect_sgd_refused(path, needles, 3);

    m = retinanet_create(&c);  // a state without the attribute optim_step
    ckt_sgd_init(&s, m);
    ckt_write(path, m, &s);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(H5Adelete(f, "optim_step"), 0);
    H5Fclose(f);
    const char *no_step[] = {path, "optim_step"};
    ckt_expect_sgd_refused(path, no_step, 2);
    sgd_free(&s);
    retinanet_destroy(m);
    unlink(path);
    free(path);
    free(dir);
}
END_TEST

/* A file of pretrained weights written the way experiments/convert_torchvision.py writes a
 * classification ResNet: every backbone.body tensor of a random model of the same depth, plus
 * the classifier fc.weight and fc.bias that no detector has. Returns the backbone count. */
static int ckt_write_backbone_file(const char *path, const retinanet *src)
{
    char err[1024], name[RETINANET_NAME_MAX + 16];
    checkpoint_writer w;
    ck_assert_msg(checkpoint_begin(&w, path, err, sizeof err) == 0, "%s", err);
    int n = 0;
    for (int i = 0; i < src->nparams; i++) {
        const retinanet_param *p = &src->params[i];
        if (strncmp(p->name, "backbone.body.", 14) != 0)
            continue;
        int64_t dims[4] = {p->shape[0], p->shape[1], p->shape[2], p->shape[3]};
        snprintf(name, sizeof name, "state_dict/%s", p->name);
        ck_assert_int_eq(checkpoint_write_tensor(&w, name, p->ndim, dims, p->data, err,
                                                 sizeof err), 0);
        n++;
    }
    float fc[3 * 32] = {0};
    ck_assert_int_eq(checkpoint_write_tensor(&w, "state_dict/fc.weight", 2, (int64_t[]){3, 32},
                                             fc, err, sizeof err), 0);
    ck_assert_int_eq(checkpoint_write_tensor(&w, "state_dict/fc.bias", 1, (int64_t[]){3}, fc,
                                             err, sizeof err), 0);
    ck_assert_msg(checkpoint_commit(&w, err, sizeof err) == 0, "%s", err);
    return n;
}

START_TEST(test_load_matching_subset)
{
    char *dir = test_tmpdir(), *path = test_path_in(dir, "r18.h5"), err[4096];
    retinanet_config c = net_small_config(1);
    retinanet *src = retinanet_create_inference(&c), *m = retinanet_create_inference(&c);
    net_fill_uniform(src, 21);
    int nbody = ckt_write_backbone_file(path, src);
    ck_assert_int_eq(nbody, 100);  // resnet18: stem 5 + 8 blocks of 10 + 3 downsamples of 5
    retinanet_init_weights(m, 4);
    const retinanet_param *fpn0 = retinanet_param_find(m, "backbone.fpn.inner_blocks.0.0.weight");
    float keep = fpn0->data[0];
    int loaded = -1;
    ck_assert_msg(checkpoint_load_matching(path, m, &loaded, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(loaded, nbody);
    for (int i = 0; i < m->nparams; i++) {
        int body = strncmp(m->params[i].name, "backbone.body.", 14) == 0;
        int same = memcmp(m->params[i].data, src->params[i].data, m->params[i].count * 4) == 0;
        ck_assert_msg(same == body, "%s %s", m->params[i].name,
                      body ? "was not loaded" : "was overwritten");
    }
    ck_assert_float_eq(fpn0->data[0], keep);

    /* A whole checkpoint loads every tensor and refolds the BatchNorms: same outputs. */
    char *full = test_path_in(dir, "full.h5");
    ck_assert_msg(checkpoint_save(full, src, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(checkpoint_load_matching(full, m, &loaded, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(loaded, m->nparams);
    float *x = malloc(3 * 64 * 64 * sizeof *x);
    for (int i = 0; i < 3 * 64 * 64; i++)
        x[i] = (float)cos(0.013 * i);
    retinanet_plan(src, 1, 64, 64, 0);
    retinanet_plan(m, 1, 64, 64, 0);
    retinanet_forward(src, x);
    retinanet_forward(m, x);
    ck_assert(memcmp(src->cls_logits, m->cls_logits,
                     sizeof(float) * (size_t)src->num_anchors_total * (size_t)c.num_classes) == 0);
    free(x);
    unlink(full);
    free(full);
    unlink(path);
    free(path);
    free(dir);
    retinanet_destroy(src);
    retinanet_destroy(m);
}
END_TEST

START_TEST(test_load_matching_refuses_misshaped)
{
    char *dir = test_tmpdir(), *path = test_path_in(dir, "r18.h5"), err[4096];
    retinanet_config c = net_small_config(1);
    retinanet *src = retinanet_create_inference(&c), *m = retinanet_create_inference(&c);
    net_fill_uniform(src, 22);
    ckt_write_backbone_file(path, src);
    hsize_t dims[4] = {16, 4, 3, 3};
    ckt_edit(path, "state_dict/backbone.body.layer2.0.conv1.weight", 4, dims);
    int loaded = -1;
    ck_assert_int_eq(checkpoint_load_matching(path, m, &loaded, err, sizeof err), -1);
    ck_assert_int_eq(loaded, 0);
    const char *needles[] = {path, "mis-shaped tensor state_dict/backbone.body.layer2.0.conv1."
                             "weight: float32 [16, 4, 3, 3] in the file, the model needs float32 "
                             "[8, 4, 3, 3]"};
    for (int i = 0; i < 2; i++)
        ck_assert_msg(strstr(err, needles[i]) != NULL, "'%s' not in: %s", needles[i], err);
    ck_assert_ptr_null(strstr(err, "fc.weight"));  // tensors the model lacks are not problems
    for (int i = 0; i < m->nparams; i++)
        for (size_t k = 0; k < m->params[i].count; k++)
            ck_assert_float_eq(m->params[i].data[k], 0.0f);

    unlink(path);
    ck_assert_int_eq(checkpoint_load_matching(path, m, &loaded, err, sizeof err), -1);
    ck_assert_msg(strstr(err, path) && strstr(err, "No such file"), "%s", err);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    ck_assert_int_eq(checkpoint_load_matching(path, m, &loaded, err, sizeof err), -1);
    ck_assert_msg(strstr(err, path) && strstr(err, "no group state_dict/"), "%s", err);
    unlink(path);
    free(path);
    free(dir);
    retinanet_destroy(src);
    retinanet_destroy(m);
}
END_TEST

Suite *test_suite(void)
{
    Suite *s = suite_create("checkpoint_train");
    TCase *tc = tcase_create("checkpoint_train");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sgd_state_round_trip);
    tcase_add_test(tc, test_sgd_state_refused_by_name);
    tcase_add_test(tc, test_load_matching_subset);
    tcase_add_test(tc, test_load_matching_refuses_misshaped);
    suite_add_tcase(s, tc);
    return s;
}
