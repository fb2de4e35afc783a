/* geometry_fixture.c — the reader of tests/fixtures/geometry_reference.h5 (see
 * geometry_fixture.h), with the plain HDF5 C API. */
#include "tests/geometry_fixture.h"

#include <stdlib.h>

#include <check.h>

hid_t geofix_open(void)
{
    hid_t f = H5Fopen(GEOFIX_PATH, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_msg(f >= 0, "cannot open %s (make it with /usr/bin/python3 "
                  "tests/make_geometry_fixtures.py; run tests from the repository root)",
                  GEOFIX_PATH);
    return f;
}

void *geofix_read(hid_t file, const char *path, hid_t mem_type, size_t elem, size_t *count)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "%s lacks dataset %s", GEOFIX_PATH, path);
    hid_t s = H5Dget_space(d);
    *count = (size_t)H5Sget_simple_extent_npoints(s);
    void *v = malloc(*count * elem + 1);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_ge(H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Sclose(s);
    H5Dclose(d);
    return v;
}

int geofix_attr(hid_t file, const char *path, const char *name, hid_t mem_type, void *out,
                int max)
{
    hid_t a = H5Aopen_by_name(file, path, name, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "%s: %s lacks attribute %s", GEOFIX_PATH, path, name);
    hid_t s = H5Aget_space(a);
    int count = (int)H5Sget_simple_extent_npoints(s);
    ck_assert_int_le(count, max);
    ck_assert_int_ge(H5Aread(a, mem_type, out), 0);
    H5Sclose(s);
    H5Aclose(a);
    return count;
}
