/* tv_fixture.c — the torchvision parity fixtures' reader and checks (tv_fixture.h). */
#include "tests/tv_fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/check_main.h"
#include "tests/h5io.h"

#define PARITY_TOL TVF_TOL

hid_t tvf_open(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/%s", name);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "cannot open %s (made by tests/make_torchvision_fixtures.py)", path);
    return f;
}

int tvf_attr_int(hid_t f, const char *name)
{
    return (int)h5io_read_double_attr(f, name);
}

/* data (shape [ndim]) against the fixture's summary of `name`. */
void tvf_check_summary(hid_t f, const char *name, const float *data, const int64_t *shape,
                       int ndim)
{
    char key[128];
    int64_t n;
    snprintf(key, sizeof key, "%s_shape", name);
    double *fshape = h5io_read_column(f, key, &n);
    ck_assert_int_eq(n, ndim);
    size_t count = 1;
    for (int k = 0; k < ndim; k++) {
        ck_assert_msg((int64_t)fshape[k] == shape[k], "%s: dim %d is %lld, torchvision has %g",
                      name, k, (long long)shape[k], fshape[k]);
        count *= (size_t)shape[k];
    }
    snprintf(key, sizeof key, "%s_sum", name);
    double *tsum = h5io_read_column(f, key, &n);
    snprintf(key, sizeof key, "%s_abs", name);
    double *tabs = h5io_read_column(f, key, &n);
    double sum = 0.0, abs = 0.0;
    for (size_t i = 0; i < count; i++) {
        sum += data[i];
        abs += fabs(data[i]);
    }
    ck_assert_msg(fabs(sum - tsum[0]) <= PARITY_TOL * tabs[0], "%s: sum %.9g, torchvision %.9g",
                  name, sum, tsum[0]);
    ck_assert_msg(fabs(abs - tabs[0]) <= PARITY_TOL * tabs[0],
                  "%s: sum of magnitudes %.9g, torchvision %.9g", name, abs, tabs[0]);
    double mean_abs = tabs[0] / (double)count;
    snprintf(key, sizeof key, "%s_idx", name);
    double *idx = h5io_read_column(f, key, &n);
    int64_t ns;
    snprintf(key, sizeof key, "%s_val", name);
    double *val = h5io_read_column(f, key, &ns);
    ck_assert_int_eq(n, ns);
    ck_assert_int_gt(n, 0);
    for (int64_t i = 0; i < n; i++) {
        double c = data[(size_t)idx[i]], t = val[i];
        ck_assert_msg(fabs(c - t) <= PARITY_TOL * (fabs(t) + mean_abs),
                      "%s[%.0f]: %.9g, torchvision %.9g", name, idx[i], c, t);
    }
    free(fshape);
    free(tsum);
    free(tabs);
    free(idx);
    free(val);
}

/* A whole float dataset with its rank and dims (plain HDF5, not the code under test). */
float *tvf_read_floats(hid_t f, const char *name, int *rank, hsize_t dims[8], size_t *count)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "no dataset %s", name);
    hid_t space = H5Dget_space(d);
    *rank = H5Sget_simple_extent_dims(space, dims, NULL);
    *count = (size_t)H5Sget_simple_extent_npoints(space);
    float *v = malloc(*count * sizeof *v + 1);
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Sclose(space);
    H5Dclose(d);
    return v;
}

/* Does the fixture's detection (box, score, label) have a partner among got[] not yet taken? */
static int tvf_detection_matches(const rd_detection *got, int n, unsigned char *taken,
                             const double *box, double score, int64_t label)
{
    for (int j = 0; j < n; j++) {
        const rd_detection *d = &got[j];
        const float c[4] = {d->box.x1, d->box.y1, d->box.x2, d->box.y2};
        int same = !taken[j] && d->label == label && fabs(d->score - score) <= PARITY_TOL;
        for (int k = 0; same && k < 4; k++)
            same = fabs(c[k] - box[k]) <= PARITY_TOL * (1.0 + fabs(box[k]));
        if (same) {
            taken[j] = 1;
            return 1;
        }
    }
    return 0;
}

void tvf_check_detections(hid_t f, const rd_detection *got, int count)
{
    int64_t n, ns, nl;
    double *boxes = h5io_read_column(f, "detections/boxes_flat", &n);
    double *scores = h5io_read_column(f, "detections/scores", &ns);
    double *labels = h5io_read_column(f, "detections/labels", &nl);
    ck_assert_int_eq(n, 4 * ns);
    ck_assert_int_gt(ns, 0);
    unsigned char *taken = calloc((size_t)count + 1, 1);
    int missing = 0, borderline = 0;
    for (int64_t i = 0; i < ns; i++) {
        int near = fabs(scores[i] - 0.05) <= PARITY_TOL * 0.05;
        if (!tvf_detection_matches(got, count, taken, boxes + 4 * i, scores[i],
                                   (int64_t)labels[i])) {
            ck_assert_msg(near, "torchvision's detection %lld (label %g, score %.7g, box %.3f "
                          "%.3f %.3f %.3f) is missing", (long long)i, labels[i], scores[i],
                          boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]);
            missing++;
        }
    }
    for (int j = 0; j < count; j++)
        if (!taken[j]) {
            ck_assert_msg(fabs(got[j].score - 0.05) <= PARITY_TOL * 0.05,
                          "extra detection: label %d score %.7g", got[j].label, got[j].score);
            borderline++;
        }
    ck_assert_int_eq(count - borderline, ns - missing);
    free(taken);
    free(boxes);
    free(scores);
    free(labels);
}
