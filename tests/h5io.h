/* h5io.h — small HDF5 files written and read back by the tests with the plain HDF5 C API, on
 * purpose not through lib/h5, so a test of a command does not lean on the code that command
 * uses. Every call fails the running check test on an HDF5 error. */
#ifndef RD_TESTS_H5IO_H
#define RD_TESTS_H5IO_H

#include <stdint.h>

#include <hdf5.h>

/* Create dataset name under loc, of file type ftype, from data in memory type mtype: rank 1 of
 * n entries, or rank 2 of n × cols when cols > 0. */
void h5io_add_dataset(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *data,
                      hsize_t n, hsize_t cols);

/* A whole 1-D dataset name under loc read as float64, in a malloc'd array of *n (+ 1) entries
 * the caller frees; *n receives its length. Fails the test when it is missing or not 1-D. */
double *h5io_read_column(hid_t loc, const char *name, int64_t *n);

/* A float64 attribute of obj (a file id means the root group). */
double h5io_read_double_attr(hid_t obj, const char *name);

/* A variable-length UTF-8 string attribute of obj, in a malloc'd copy the caller frees. */
char *h5io_read_string_attr(hid_t obj, const char *name);

#endif
