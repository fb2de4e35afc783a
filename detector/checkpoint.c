/* checkpoint.c — HDF5 checkpoints of DESIGN.md (checkpoint.h): atomic writes through a
 * temporary file, and loading that checks the whole state_dict/ group before touching the
 * model. HDF5 errors are caught (H5E_BEGIN_TRY) and reported as one message naming the file. */
#include "detector/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/check.h"
#include "lib/h5.h"

/* ---- messages ---------------------------------------------------------------------------- */

/* An error message built from parts, cut (with "...") at its buffer's size. */
typedef struct ckpt_msg {
    char *buf;
    size_t size, len;
    int problems;
} ckpt_msg;

static void ckpt_msg_add(ckpt_msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ckpt_msg_add(ckpt_msg *m, const char *fmt, ...)
{
    if (m->size == 0 || m->len + 1 >= m->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->buf + m->len, m->size - m->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= m->size - m->len) {
        m->len = m->size - 1;
        if (m->size > 4)
            memcpy(m->buf + m->size - 4, "...", 4);
    } else {
        m->len += (size_t)n;
    }
}

static void ckpt_err(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ckpt_err(char *err, size_t errsize, const char *fmt, ...)
{
    if (errsize == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsize, fmt, ap);
    va_end(ap);
}

/* "[64, 3, 7, 7]" into buf. */
static const char *ckpt_dims_text(int ndim, const int64_t *dims, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    len += (size_t)snprintf(buf + len, size - len, "[");
    for (int k = 0; k < ndim && len < size; k++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", k ? ", " : "",
                                (long long)dims[k]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
    return buf;
}

/* ---- writing ----------------------------------------------------------------------------- */

int checkpoint_write_array(hid_t loc, const char *name, hid_t mem_type, int ndim,
                           const int64_t *dims, const void *data, char *err, size_t errsize)
{
    RD_CHECK(ndim >= 1 && ndim <= CHECKPOINT_MAX_DIMS, "array '%s' of rank %d", name, ndim);
    hsize_t hd[CHECKPOINT_MAX_DIMS];
    hsize_t total = 1;
    for (int k = 0; k < ndim; k++) {
        hd[k] = (hsize_t)dims[k];
        total *= hd[k];
    }
    hid_t ftype = H5Tequal(mem_type, H5T_NATIVE_FLOAT) > 0   ? H5T_IEEE_F32LE
                  : H5Tequal(mem_type, H5T_NATIVE_INT64) > 0 ? H5T_STD_I64LE
                                                             : mem_type;
    herr_t st = -1;
    H5E_BEGIN_TRY {
        hid_t space = H5Screate_simple(ndim, hd, NULL);
        hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
        if (lcpl >= 0)
            H5Pset_create_intermediate_group(lcpl, 1);
        hid_t dset = space < 0 || lcpl < 0
                         ? -1
                         : H5Dcreate2(loc, name, ftype, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (dset >= 0)
            st = total == 0 ? 0 : H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
        if (dset >= 0 && H5Dclose(dset) < 0)
            st = -1;
        if (lcpl >= 0)
            H5Pclose(lcpl);
        if (space >= 0)
            H5Sclose(space);
    } H5E_END_TRY;
    if (st < 0)
        ckpt_err(err, errsize, "cannot write dataset '%s' (exists already, or disk full?)", name);
    return st < 0 ? -1 : 0;
}

int checkpoint_begin(checkpoint_writer *w, const char *path, char *err, size_t errsize)
{
    w->file = -1;
    if (strlen(path) >= sizeof w->path) {
        ckpt_err(err, errsize, "checkpoint path '%s' is too long", path);
        return -1;
    }
    strcpy(w->path, path);
    snprintf(w->tmp, sizeof w->tmp, "%s.tmp.%ld", path, (long)getpid());
    hid_t fapl = h5_fapl_unlocked();
    errno = 0;
    H5E_BEGIN_TRY { w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl); } H5E_END_TRY;
    H5Pclose(fapl);
    if (w->file < 0) {
        int e = errno;
        unlink(w->tmp);
        ckpt_err(err, errsize, "cannot create checkpoint '%s' (writing '%s'): %s", path, w->tmp,
                 e ? strerror(e) : "HDF5 refused");
        return -1;
    }
    h5_attr_string(w->file, "format", "rankdet checkpoint");
    h5_attr_int64(w->file, "format_version", CHECKPOINT_FORMAT_VERSION);
    return 0;
}

hid_t checkpoint_file(const checkpoint_writer *w)
{
    return w->file;
}

int checkpoint_write_tensor(checkpoint_writer *w, const char *name, int ndim,
                            const int64_t *dims, const float *data, char *err, size_t errsize)
{
    char inner[512];
    if (checkpoint_write_array(w->file, name, H5T_NATIVE_FLOAT, ndim, dims, data, inner,
                               sizeof inner) < 0) {
        ckpt_err(err, errsize, "%s: %s", w->path, inner);
        return -1;
    }
    return 0;
}

int checkpoint_write_state_dict(checkpoint_writer *w, const retinanet *m, char *err,
                                size_t errsize)
{
    char name[RETINANET_NAME_MAX + 16], model[256];
    const retinanet_config *c = &m->cfg;
    snprintf(model, sizeof model,
             "retinanet resnet%d width %d fpn_channels %d num_classes %d num_anchors %d "
             "p6_from %s", c->depth, c->width, c->fpn_channels, c->num_classes, c->num_anchors,
             c->p6_from_c5 ? "C5" : "P5");
    h5_attr_string(w->file, "model", model);
    for (int i = 0; i < m->nparams; i++) {
        const retinanet_param *p = &m->params[i];
        int64_t dims[4];
        for (int k = 0; k < p->ndim; k++)
            dims[k] = p->shape[k];
        snprintf(name, sizeof name, "state_dict/%s", p->name);
        if (checkpoint_write_tensor(w, name, p->ndim, dims, p->data, err, errsize) < 0)
            return -1;
    }
    return 0;
}

int checkpoint_commit(checkpoint_writer *w, char *err, size_t errsize)
{
    herr_t st = -1;
    H5E_BEGIN_TRY { st = H5Fclose(w->file); } H5E_END_TRY;
    w->file = -1;
    int fd = st < 0 ? -1 : open(w->tmp, O_RDONLY);
    int synced = fd >= 0 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!synced || rename(w->tmp, w->path) != 0) {
        int e = errno;
        unlink(w->tmp);
        ckpt_err(err, errsize, "cannot write checkpoint '%s': %s", w->path,
                 st < 0 ? "closing the file failed (disk full?)" : strerror(e));
        return -1;
    }
    return 0;
}

void checkpoint_abort(checkpoint_writer *w)
{
    if (w->file >= 0)
        H5E_BEGIN_TRY { H5Fclose(w->file); } H5E_END_TRY;
    w->file = -1;
    unlink(w->tmp);
}

int checkpoint_save(const char *path, const retinanet *m, char *err, size_t errsize)
{
    checkpoint_writer w;
    if (checkpoint_begin(&w, path, err, errsize) < 0)
        return -1;
    if (checkpoint_write_state_dict(&w, m, err, errsize) < 0) {
        checkpoint_abort(&w);
        return -1;
    }
    return checkpoint_commit(&w, err, errsize);
}

/* ---- reading ----------------------------------------------------------------------------- */

int checkpoint_open(checkpoint_reader *r, const char *path, char *err, size_t errsize)
{
    r->file = -1;
    snprintf(r->path, sizeof r->path, "%s", path);
    if (access(path, R_OK) != 0) {
        ckpt_err(err, errsize, "cannot read checkpoint '%s': %s", path, strerror(errno));
        return -1;
    }
    hid_t fapl = h5_fapl_unlocked();
    H5E_BEGIN_TRY { r->file = H5Fopen(path, H5F_ACC_RDONLY, fapl); } H5E_END_TRY;
    H5Pclose(fapl);
    if (r->file < 0) {
        ckpt_err(err, errsize, "'%s' is not a readable HDF5 file (damaged, truncated or another "
                 "format?)", path);
        return -1;
    }
    return 0;
}

void checkpoint_close(checkpoint_reader *r)
{
    if (r->file >= 0)
        H5Fclose(r->file);
    r->file = -1;
}

/* Rank, dims and whether dataset name (under loc) is float32. -1 when it is not a dataset. */
static int ckpt_describe(hid_t loc, const char *name, int *ndim, int64_t *dims, int *is_f32,
                         char *type_text, size_t type_size)
{
    int ok = -1;
    H5E_BEGIN_TRY {
        hid_t dset = H5Dopen2(loc, name, H5P_DEFAULT);
        hid_t space = dset < 0 ? -1 : H5Dget_space(dset);
        hid_t type = dset < 0 ? -1 : H5Dget_type(dset);
        hsize_t hd[H5S_MAX_RANK];
        int rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
        if (rank >= 0 && rank <= CHECKPOINT_MAX_DIMS && type >= 0 &&
            H5Sget_simple_extent_dims(space, hd, NULL) >= 0) {
            *ndim = rank;
            for (int k = 0; k < rank; k++)
                dims[k] = (int64_t)hd[k];
            H5T_class_t cls = H5Tget_class(type);
            size_t bytes = H5Tget_size(type);
            *is_f32 = cls == H5T_FLOAT && bytes == 4;
            snprintf(type_text, type_size, "%s%zu",
                     cls == H5T_FLOAT ? "float" : cls == H5T_INTEGER ? "int" : "non-numeric ",
                     8 * bytes);
            ok = 0;
        }
        if (type >= 0)
            H5Tclose(type);
        if (space >= 0)
            H5Sclose(space);
        if (dset >= 0)
            H5Dclose(dset);
    } H5E_END_TRY;
    return ok;
}

typedef struct ckpt_check {
    retinanet *m;
    hid_t group;
    unsigned char *seen;  // [nparams]
    ckpt_msg *msg;
} ckpt_check;

/* Check one link of state_dict/ against the table. */
static herr_t ckpt_check_link(hid_t group, const char *name, const H5L_info_t *info, void *ctx)
{
    (void)info;
    ckpt_check *c = ctx;
    int ndim = 0, is_f32 = 0, idx = -1;
    int64_t dims[CHECKPOINT_MAX_DIMS];
    char type[32], have[128], want[128];
    for (int i = 0; i < c->m->nparams && idx < 0; i++)
        if (strcmp(c->m->params[i].name, name) == 0)
            idx = i;
    if (idx < 0) {
        c->msg->problems++;
        ckpt_msg_add(c->msg, "\n  unexpected tensor state_dict/%s%s", name,
                     strstr(name, "num_batches_tracked")
                         ? " (drop torchvision's num_batches_tracked buffers when exporting)"
                         : "");
        return 0;
    }
    c->seen[idx] = 1;
    const retinanet_param *p = &c->m->params[idx];
    int64_t pd[4] = {p->shape[0], p->shape[1], p->shape[2], p->shape[3]};
    ckpt_dims_text(p->ndim, pd, want, sizeof want);
    if (ckpt_describe(group, name, &ndim, dims, &is_f32, type, sizeof type) < 0) {
        c->msg->problems++;
        ckpt_msg_add(c->msg, "\n  state_dict/%s is not a readable dataset", name);
        return 0;
    }
    int same = ndim == p->ndim;
    for (int k = 0; same && k < ndim; k++)
        same = dims[k] == pd[k];
    if (!same) {
        c->msg->problems++;
        ckpt_msg_add(c->msg, "\n  mis-shaped tensor state_dict/%s: %s in the file, the model "
                     "needs %s", name, ckpt_dims_text(ndim, dims, have, sizeof have), want);
    } else if (!is_f32) {
        c->msg->problems++;
        ckpt_msg_add(c->msg, "\n  tensor state_dict/%s is %s; checkpoints hold float32", name,
                     type);
    }
    return 0;
}

/* Every problem of state_dict/ against m into msg; the number of problems. */
static int ckpt_check_state_dict(checkpoint_reader *r, retinanet *m, ckpt_msg *msg)
{
    hid_t group = -1;
    H5E_BEGIN_TRY { group = H5Gopen2(r->file, "state_dict", H5P_DEFAULT); } H5E_END_TRY;
    if (group < 0) {
        msg->problems++;
        ckpt_msg_add(msg, "\n  no group state_dict/ (not a rankdet checkpoint?)");
        return msg->problems;
    }
    ckpt_check c = {m, group, rd_calloc((size_t)m->nparams, 1, "checkpoint check"), msg};
    herr_t st = -1;
    H5E_BEGIN_TRY {
        st = H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, NULL, ckpt_check_link, &c);
    } H5E_END_TRY;
    if (st < 0) {
        msg->problems++;
        ckpt_msg_add(msg, "\n  state_dict/ cannot be listed (damaged file?)");
    }
    for (int i = 0; i < m->nparams; i++) {
        if (c.seen[i])
            continue;
        const retinanet_param *p = &m->params[i];
        int64_t pd[4] = {p->shape[0], p->shape[1], p->shape[2], p->shape[3]};
        char want[128];
        msg->problems++;
        ckpt_msg_add(msg, "\n  missing tensor state_dict/%s %s", p->name,
                     ckpt_dims_text(p->ndim, pd, want, sizeof want));
    }
    free(c.seen);
    H5Gclose(group);
    return msg->problems;
}

int checkpoint_read_tensor(checkpoint_reader *r, const char *name, int ndim,
                           const int64_t *dims, float *data, char *err, size_t errsize)
{
    int have_ndim = 0, is_f32 = 0;
    int64_t have[CHECKPOINT_MAX_DIMS];
    char type[32], a[128], b[128];
    if (ckpt_describe(r->file, name, &have_ndim, have, &is_f32, type, sizeof type) < 0) {
        ckpt_err(err, errsize, "%s: no readable dataset '%s'", r->path, name);
        return -1;
    }
    int same = have_ndim == ndim && is_f32;
    for (int k = 0; same && k < ndim; k++)
        same = have[k] == dims[k];
    if (!same) {
        ckpt_err(err, errsize, "%s: dataset '%s' is %s %s; expected float32 %s", r->path, name,
                 type, ckpt_dims_text(have_ndim, have, a, sizeof a),
                 ckpt_dims_text(ndim, dims, b, sizeof b));
        return -1;
    }
    herr_t st = -1;
    H5E_BEGIN_TRY {
        hid_t dset = H5Dopen2(r->file, name, H5P_DEFAULT);
        if (dset >= 0) {
            st = H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
            H5Dclose(dset);
        }
    } H5E_END_TRY;
    if (st < 0)
        ckpt_err(err, errsize, "%s: cannot read dataset '%s' (damaged file?)", r->path, name);
    return st < 0 ? -1 : 0;
}

int checkpoint_read_state_dict(checkpoint_reader *r, retinanet *m, char *err, size_t errsize)
{
    char head[CHECKPOINT_PATH_MAX + 256];
    const retinanet_config *c = &m->cfg;
    snprintf(head, sizeof head,
             "checkpoint '%s' does not fit the model (resnet%d, %d classes, %d anchors, P6 on %s); "
             "refusing to load it:", r->path, c->depth, c->num_classes, c->num_anchors,
             c->p6_from_c5 ? "C5" : "P5");
    ckpt_msg msg = {err, errsize, 0, 0};
    ckpt_msg_add(&msg, "%s", head);
    if (ckpt_check_state_dict(r, m, &msg) > 0)
        return -1;
    for (int i = 0; i < m->nparams; i++) {
        retinanet_param *p = &m->params[i];
        int64_t dims[4] = {p->shape[0], p->shape[1], p->shape[2], p->shape[3]};
        char name[RETINANET_NAME_MAX + 16];
        snprintf(name, sizeof name, "state_dict/%s", p->name);
        if (checkpoint_read_tensor(r, name, p->ndim, dims, p->data, err, errsize) < 0)
            return -1;
    }
    retinanet_fold_bn(m);
    return 0;
}

int checkpoint_load(const char *path, retinanet *m, char *err, size_t errsize)
{
    checkpoint_reader r;
    if (checkpoint_open(&r, path, err, errsize) < 0)
        return -1;
    int st = checkpoint_read_state_dict(&r, m, err, errsize);
    checkpoint_close(&r);
    return st;
}
