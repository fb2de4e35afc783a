/* h5io.c — datasets and attributes for the tests, with the plain HDF5 C API (see h5io.h). */
#include "tests/h5io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check_main.h"

void h5io_add_dataset(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *data,
                      hsize_t n, hsize_t cols)
{
    hsize_t dims[2] = {n, cols};
    hid_t s = H5Screate_simple(cols ? 2 : 1, dims, NULL);
    ck_assert_int_ge(s, 0);
    hid_t d = H5Dcreate2(loc, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "cannot create dataset %s", name);
    ck_assert_int_ge(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
    H5Dclose(d);
    H5Sclose(s);
}

double *h5io_read_column(hid_t loc, const char *name, int64_t *n)
{
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "no dataset %s", name);
    hid_t s = H5Dget_space(d);
    hsize_t dims[1];
    ck_assert_msg(H5Sget_simple_extent_ndims(s) == 1, "dataset %s is not 1-D", name);
    H5Sget_simple_extent_dims(s, dims, NULL);
    double *v = malloc((dims[0] + 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    if (dims[0])
        ck_assert_int_ge(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    *n = (int64_t)dims[0];
    H5Sclose(s);
    H5Dclose(d);
    return v;
}

double h5io_read_double_attr(hid_t obj, const char *name)
{
    double v = NAN;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "no attribute %s", name);
    ck_assert_int_ge(H5Aread(a, H5T_NATIVE_DOUBLE, &v), 0);
    H5Aclose(a);
    return v;
}

char *h5io_read_string_attr(hid_t obj, const char *name)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "no attribute %s", name);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char *v = NULL;
    ck_assert_int_ge(H5Aread(a, t, &v), 0);
    char *copy = strdup(v);
    ck_assert_ptr_nonnull(copy);
    H5free_memory(v);
    H5Tclose(t);
    H5Aclose(a);
    return copy;
}
