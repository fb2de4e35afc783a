/* h5.c — HDF5 helpers (h5.h) on the HDF5 1.10 C API. Reading functions check before they
 * touch anything and run inside H5E_BEGIN_TRY, so a bad user file gives one message naming
 * the file, the dataset and the problem instead of HDF5's error stack. Files are opened
 * without HDF5's file locks so that a run log can be read while its run is still writing. */
#include "lib/h5.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/check.h"

/* File access properties: the default (earliest) format, no file locking. Caller closes. */
hid_t h5_fapl_unlocked(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    RD_CHECK_H5(fapl, "creating HDF5 file access properties");
#if H5_VERSION_GE(1, 10, 7)
    RD_CHECK_H5(H5Pset_file_locking(fapl, 0, 1), "switching HDF5 file locking off");
#endif
    return fapl;
}

hid_t h5_open_read(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        rd_error("cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        rd_error("cannot open '%s': it is a directory, not an HDF5 file", path);
        return -1;
    }
    if (access(path, R_OK) != 0) {
        rd_error("cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    hid_t fapl = h5_fapl_unlocked();
    htri_t is_h5 = -1;
    hid_t file = -1;
    H5E_BEGIN_TRY {
#if H5_VERSION_GE(1, 12, 0)
        is_h5 = H5Fis_accessible(path, fapl);
#else
        is_h5 = H5Fis_hdf5(path);
#endif
        if (is_h5 > 0)
            file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    } H5E_END_TRY;
    H5Pclose(fapl);
    if (is_h5 <= 0)
        rd_error("'%s' is not an HDF5 file", path);
    else if (file < 0)
        rd_error("cannot open HDF5 file '%s' (damaged or truncated?)", path);
    return is_h5 > 0 ? file : -1;
}

/* "float32", "int8", "uint16", "string", ... for messages. */
static const char *h5_type_describe(hid_t type, char *buf, size_t size)
{
    size_t bytes = H5Tget_size(type);
    switch (H5Tget_class(type)) {
    case H5T_FLOAT:
        snprintf(buf, size, "float%zu", 8 * bytes);
        break;
    case H5T_INTEGER:
        snprintf(buf, size, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", 8 * bytes);
        break;
    case H5T_STRING:
        snprintf(buf, size, "a string");
        break;
    case H5T_COMPOUND:
        snprintf(buf, size, "a compound type");
        break;
    case H5T_ENUM:
        snprintf(buf, size, "an enum");
        break;
    default:
        snprintf(buf, size, "a %zu-byte non-numeric type", bytes);
        break;
    }
    return buf;
}

/* Every group on the way to name exists and name is a dataset; else -1 with a message. */
static int h5_check_dataset(hid_t file, const char *path, const char *name)
{
    char prefix[1024];
    size_t n = strlen(name);
    RD_CHECK(n < sizeof prefix, "dataset name '%s' is too long", name);
    for (size_t i = 1; i <= n; i++) {
        if (name[i] != '/' && name[i] != '\0')
            continue;
        memcpy(prefix, name, i);
        prefix[i] = '\0';
        htri_t exists = -1;
        H5E_BEGIN_TRY { exists = H5Lexists(file, prefix, H5P_DEFAULT); } H5E_END_TRY;
        if (exists <= 0) {
            rd_error("%s has no dataset '%s'%s%s%s", path, name, i < n ? " (no group '" : "",
                     i < n ? prefix : "", i < n ? "')" : "");
            return -1;
        }
    }
    H5I_type_t type = H5I_BADID;
    H5E_BEGIN_TRY {
        hid_t obj = H5Oopen(file, name, H5P_DEFAULT);
        if (obj >= 0) {
            type = H5Iget_type(obj);
            H5Oclose(obj);
        }
    } H5E_END_TRY;
    if (type != H5I_DATASET) {
        rd_error("'%s' in %s is %s, not a dataset", name, path,
                 type == H5I_BADID ? "unreadable" : type == H5I_GROUP ? "a group" : "an object");
        return -1;
    }
    return 0;
}

/* Open name and check it is 1-D; *n receives its length. Returns the dataset or -1. */
static hid_t h5_open_1d(hid_t file, const char *path, const char *name, int64_t *n)
{
    if (h5_check_dataset(file, path, name) < 0)
        return -1;
    hid_t dset = -1, space = -1;
    int rank = -1;
    hsize_t dims[H5S_MAX_RANK];
    H5E_BEGIN_TRY {
        dset = H5Dopen2(file, name, H5P_DEFAULT);
        space = dset < 0 ? -1 : H5Dget_space(dset);
        rank = space < 0 ? -1 : H5Sget_simple_extent_dims(space, dims, NULL);
        if (space >= 0)
            H5Sclose(space);
    } H5E_END_TRY;
    if (rank != 1) {
        if (rank < 0)
            rd_error("cannot open dataset '%s' in %s (damaged file?)", name, path);
        else
            rd_error("dataset '%s' in %s has rank %d; expected a 1-D array", name, path, rank);
        if (dset >= 0)
            H5Dclose(dset);
        return -1;
    }
    *n = (int64_t)dims[0];
    return dset;
}

/* Read the whole of dset (n elements) as mem_type into a new buffer; -1 with a message. */
static int h5_read_all(hid_t dset, const char *path, const char *name, hid_t mem_type,
                       int64_t n, void **data)
{
    size_t elem = H5Tget_size(mem_type);
    void *buf = rd_malloc((size_t)n * elem, name);
    herr_t st = 0;
    if (n > 0)
        H5E_BEGIN_TRY { st = H5Dread(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); }
        H5E_END_TRY;
    if (st < 0) {
        rd_error("cannot read dataset '%s' in %s (damaged file?)", name, path);
        free(buf);
        return -1;
    }
    *data = buf;
    return 0;
}

int h5_read_1d(hid_t file, const char *path, const char *dataset, H5T_class_t cls,
               size_t elem_size, hid_t mem_type, const char *type_name, void **data, int64_t *n)
{
    hid_t dset = h5_open_1d(file, path, dataset, n);
    if (dset < 0)
        return -1;
    hid_t type = H5Dget_type(dset);
    RD_CHECK_H5(type, "reading the type of '%s' in %s", dataset, path);
    int ok = H5Tget_class(type) == cls && H5Tget_size(type) == elem_size &&
             (cls != H5T_INTEGER || H5Tget_sign(type) == H5Tget_sign(mem_type));
    if (!ok) {
        char got[64];
        rd_error("dataset '%s' in %s is %s; expected %s", dataset, path,
                 h5_type_describe(type, got, sizeof got), type_name);
    }
    H5Tclose(type);
    int r = ok ? h5_read_all(dset, path, dataset, mem_type, *n, data) : -1;
    H5Dclose(dset);
    return r;
}

int h5_read_1d_double(hid_t file, const char *path, const char *dataset, double **data,
                      int64_t *n)
{
    hid_t dset = h5_open_1d(file, path, dataset, n);
    if (dset < 0)
        return -1;
    hid_t type = H5Dget_type(dset);
    RD_CHECK_H5(type, "reading the type of '%s' in %s", dataset, path);
    H5T_class_t cls = H5Tget_class(type);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        char got[64];
        rd_error("dataset '%s' in %s is %s; expected numbers", dataset, path,
                 h5_type_describe(type, got, sizeof got));
    }
    H5Tclose(type);
    int r = cls == H5T_FLOAT || cls == H5T_INTEGER
                ? h5_read_all(dset, path, dataset, H5T_NATIVE_DOUBLE, *n, (void **)data)
                : -1;
    H5Dclose(dset);
    return r;
}

void h5_write_1d(hid_t loc, const char *dataset, hid_t mem_type, const void *data, int64_t n)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    RD_CHECK_H5(space, "creating the dataspace of '%s' (%lld elements)", dataset, (long long)n);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    RD_CHECK_H5(H5Pset_create_intermediate_group(lcpl, 1), "link properties of '%s'", dataset);
    hid_t dset = H5Dcreate2(loc, dataset, mem_type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    RD_CHECK_H5(dset, "creating dataset '%s' (does it exist already?)", dataset);
    if (n > 0)
        RD_CHECK_H5(H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
                    "writing dataset '%s' (disk full?)", dataset);
    H5Dclose(dset);
    H5Pclose(lcpl);
    H5Sclose(space);
}

/* Create (replacing) a scalar attribute of file type ftype and write value as mem_type. */
static void h5_attr_write(hid_t obj, const char *name, hid_t ftype, hid_t mem_type,
                          const void *value)
{
    htri_t exists = H5Aexists(obj, name);
    RD_CHECK_H5(exists, "checking attribute '%s'", name);
    if (exists)
        RD_CHECK_H5(H5Adelete(obj, name), "replacing attribute '%s'", name);
    hid_t space = H5Screate(H5S_SCALAR);
    RD_CHECK_H5(space, "creating a scalar dataspace for attribute '%s'", name);
    hid_t attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    RD_CHECK_H5(attr, "creating attribute '%s'", name);
    RD_CHECK_H5(H5Awrite(attr, mem_type, value), "writing attribute '%s'", name);
    H5Aclose(attr);
    H5Sclose(space);
}

/* Strings are variable-length UTF-8, which h5py reads as str. */
void h5_attr_string(hid_t obj, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    RD_CHECK_H5(type, "copying the string type for attribute '%s'", name);
    RD_CHECK_H5(H5Tset_size(type, H5T_VARIABLE), "string type of attribute '%s'", name);
    RD_CHECK_H5(H5Tset_cset(type, H5T_CSET_UTF8), "string type of attribute '%s'", name);
    h5_attr_write(obj, name, type, type, &value);
    H5Tclose(type);
}

void h5_attr_double(hid_t obj, const char *name, double value)
{
    h5_attr_write(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

void h5_attr_int64(hid_t obj, const char *name, int64_t value)
{
    h5_attr_write(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void h5_attr_uint64(hid_t obj, const char *name, uint64_t value)
{
    h5_attr_write(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value);
}

/* The name of the file obj lives in, for messages. */
static const char *h5_file_name(hid_t obj, char *buf, size_t size)
{
    ssize_t n = -1;
    H5E_BEGIN_TRY { n = H5Fget_name(obj, buf, size); } H5E_END_TRY;
    if (n < 0)
        snprintf(buf, size, "(unknown file)");
    return buf;
}

int h5_attr_read_double(hid_t obj, const char *name, double *value)
{
    char file[512];
    htri_t exists = -1;
    H5E_BEGIN_TRY { exists = H5Aexists(obj, name); } H5E_END_TRY;
    if (exists <= 0) {
        rd_error("%s has no attribute '%s'", h5_file_name(obj, file, sizeof file), name);
        return -1;
    }
    int ok = 0;
    H5E_BEGIN_TRY {
        hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
        hid_t type = attr < 0 ? -1 : H5Aget_type(attr);
        hid_t space = attr < 0 ? -1 : H5Aget_space(attr);
        H5T_class_t cls = type < 0 ? H5T_NO_CLASS : H5Tget_class(type);
        ok = (cls == H5T_FLOAT || cls == H5T_INTEGER) && space >= 0 &&
             H5Sget_simple_extent_npoints(space) == 1 &&
             H5Aread(attr, H5T_NATIVE_DOUBLE, value) >= 0;
        if (space >= 0)
            H5Sclose(space);
        if (type >= 0)
            H5Tclose(type);
        if (attr >= 0)
            H5Aclose(attr);
    } H5E_END_TRY;
    if (!ok)
        rd_error("attribute '%s' in %s is not a single number", name,
                 h5_file_name(obj, file, sizeof file));
    return ok ? 0 : -1;
}

/* Print n elements of a string attribute, joined by ", ". Returns 0 or -1. */
static int h5_attr_print_strings(hid_t attr, hid_t type, hssize_t n, FILE *out)
{
    int vlen = H5Tis_variable_str(type) > 0;
    size_t width = vlen ? sizeof(char *) : H5Tget_size(type) + 1;
    hid_t mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, vlen ? H5T_VARIABLE : width);
    H5Tset_cset(mem, H5Tget_cset(type));
    char *buf = rd_calloc((size_t)n, width, "attribute text");
    int ok = H5Aread(attr, mem, buf) >= 0;
    for (hssize_t i = 0; ok && i < n; i++) {
        const char *s = vlen ? ((char **)(void *)buf)[i] : buf + (size_t)i * width;
        fprintf(out, "%s%s", i ? ", " : "", s ? s : "");
        if (vlen)
            H5free_memory(((char **)(void *)buf)[i]);
    }
    free(buf);
    H5Tclose(mem);
    return ok ? 0 : -1;
}

/* Print n numbers: integers exactly (64-bit seeds included), floats in %.17g. */
static int h5_attr_print_numbers(hid_t attr, hid_t type, hssize_t n, FILE *out)
{
    int is_int = H5Tget_class(type) == H5T_INTEGER;
    int is_unsigned = is_int && H5Tget_sign(type) == H5T_SGN_NONE;
    hid_t mem = !is_int ? H5T_NATIVE_DOUBLE : is_unsigned ? H5T_NATIVE_ULLONG : H5T_NATIVE_LLONG;
    union { double d; long long i; unsigned long long u; } *v;
    v = rd_calloc((size_t)n, sizeof *v, "attribute values");
    int ok = H5Aread(attr, mem, v) >= 0;
    for (hssize_t i = 0; ok && i < n; i++) {
        fputs(i ? ", " : "", out);
        if (!is_int)
            fprintf(out, "%.17g", v[i].d);
        else if (is_unsigned)
            fprintf(out, "%llu", v[i].u);
        else
            fprintf(out, "%lld", v[i].i);
    }
    free(v);
    return ok ? 0 : -1;
}

char *h5_attr_text(hid_t obj, const char *name)
{
    char *text = NULL, file[512];
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    RD_CHECK(out != NULL, "open_memstream for attribute '%s'", name);
    int ok = -1;
    H5E_BEGIN_TRY {
        hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
        hid_t type = attr < 0 ? -1 : H5Aget_type(attr);
        hid_t space = attr < 0 ? -1 : H5Aget_space(attr);
        hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
        H5T_class_t cls = type < 0 ? H5T_NO_CLASS : H5Tget_class(type);
        if (n >= 0 && cls == H5T_STRING)
            ok = h5_attr_print_strings(attr, type, n, out);
        else if (n >= 0 && (cls == H5T_INTEGER || cls == H5T_FLOAT))
            ok = h5_attr_print_numbers(attr, type, n, out);
        if (space >= 0)
            H5Sclose(space);
        if (type >= 0)
            H5Tclose(type);
        if (attr >= 0)
            H5Aclose(attr);
    } H5E_END_TRY;
    fclose(out);
    if (ok < 0) {
        rd_error("attribute '%s' in %s is missing or of a type rankdet cannot show", name,
                 h5_file_name(obj, file, sizeof file));
        free(text);
        return NULL;
    }
    return text;
}

hid_t h5_create_atomic(const char *path, char *tmp_path, size_t tmp_size)
{
    int n = snprintf(tmp_path, tmp_size, "%s.tmp.%ld", path, (long)getpid());
    RD_CHECK(n > 0 && (size_t)n < tmp_size, "temporary name for '%s' does not fit", path);
    hid_t fapl = h5_fapl_unlocked();
    hid_t file = -1;
    errno = 0;
    H5E_BEGIN_TRY { file = H5Fcreate(tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl); } H5E_END_TRY;
    H5Pclose(fapl);
    if (file < 0) {
        int err = errno;
        rd_error("cannot create '%s' (for '%s'): %s", tmp_path, path,
                 err ? strerror(err) : "HDF5 refused");
        unlink(tmp_path);
    }
    return file;
}

void h5_commit(hid_t file, const char *tmp_path, const char *path)
{
    RD_CHECK_H5(H5Fclose(file), "closing '%s' (disk full?)", tmp_path);
    int fd = open(tmp_path, O_RDONLY);
    RD_CHECK(fd >= 0 && fsync(fd) == 0, "syncing '%s': %s", tmp_path, strerror(errno));
    close(fd);
    if (rename(tmp_path, path) != 0) {
        int err = errno;
        unlink(tmp_path);
        RD_CHECK(0, "renaming '%s' to '%s': %s", tmp_path, path, strerror(err));
    }
}

void h5_discard(hid_t file, const char *tmp_path)
{
    H5E_BEGIN_TRY { H5Fclose(file); } H5E_END_TRY;
    unlink(tmp_path);
}
