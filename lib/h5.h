/* h5.h — small HDF5 helpers: whole 1-D datasets in and out, attributes, atomic files.
 * Functions that read user files return 0 or -1 after printing an error that names the file,
 * the dataset and the problem (missing, wrong type, wrong rank); they never abort on bad
 * input. Functions that write abort through RD_CHECK_H5 on library failure. */
#ifndef RD_H5_H
#define RD_H5_H

#include <hdf5.h>
#include <stdint.h>

/* Open an existing file read-only; -1 (with a message naming path) when it cannot. */
hid_t h5_open_read(const char *path);

/* Read a 1-D dataset of the expected class and size in bytes into a malloc'd buffer that the
 * caller frees; *n receives its length. type_name is what the message calls the expected
 * type ("float32", "int8"). Returns 0, or -1 with a message. */
int h5_read_1d(hid_t file, const char *path, const char *dataset, H5T_class_t cls,
               size_t elem_size, hid_t mem_type, const char *type_name, void **data, int64_t *n);

/* Read a 1-D dataset of any integer or float type, converted to double, into a malloc'd
 * buffer that the caller frees. Returns 0, or -1 with a message. */
int h5_read_1d_double(hid_t file, const char *path, const char *dataset, double **data,
                      int64_t *n);

/* Write a 1-D dataset (whole, contiguous) under loc; creates intermediate groups. */
void h5_write_1d(hid_t loc, const char *dataset, hid_t mem_type, const void *data, int64_t n);

/* Attributes on an object (a file id means the root group). */
void h5_attr_string(hid_t obj, const char *name, const char *value);
void h5_attr_double(hid_t obj, const char *name, double value);
void h5_attr_int64(hid_t obj, const char *name, int64_t value);
void h5_attr_uint64(hid_t obj, const char *name, uint64_t value);
/* Read a double attribute; 0 or -1 with a message. */
int h5_attr_read_double(hid_t obj, const char *name, double *value);
/* Any string or numeric attribute as text (array elements joined by ", "), in a malloc'd
 * string the caller frees; NULL with a message when it is missing or of another type. */
char *h5_attr_text(hid_t obj, const char *name);

/* Atomic write: create "<path>.tmp.<pid>", write, then h5_commit renames it over path.
 * h5_create_atomic returns the file id; h5_commit closes it and renames. */
hid_t h5_create_atomic(const char *path, char *tmp_path, size_t tmp_size);
void h5_commit(hid_t file, const char *tmp_path, const char *path);
/* h5_create_atomic returns -1, after a message naming path, when the file cannot be created
 * (no such directory, no permission). h5_discard closes and deletes an uncommitted file. */
void h5_discard(hid_t file, const char *tmp_path);

/* File access properties used by every open here: the default (earliest) file format and no
 * HDF5 file locks, so a log can be read while its run writes it. Caller closes (H5Pclose). */
hid_t h5_fapl_unlocked(void);

#endif
