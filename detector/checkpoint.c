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

/* state_dict/NAME described into ndim, dims, is_f32 and type and compared with p's shape:
 * 1 the same shape, 0 another, -1 unreadable (counted and said in msg). pd receives p's
 * shape. */
static int ckpt_compare_shape(hid_t group, const char *name, const retinanet_param *p,
                              ckpt_msg *msg, int *ndim, int64_t *dims, int64_t pd[4],
                              int *is_f32, char *type, size_t typesize)
{
    for (int k = 0; k < 4; k++)
        pd[k] = p->shape[k];
    if (ckpt_describe(group, name, ndim, dims, is_f32, type, typesize) < 0) {
        msg->problems++;
        ckpt_msg_add(msg, "\n  state_dict/%s is not a readable dataset", name);
        return -1;
    }
    int same = *ndim == p->ndim;
    for (int k = 0; same && k < *ndim; k++)
        same = dims[k] == pd[k];
    return same;
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
    int ndim = 0, is_f32 = 0;
    int64_t dims[CHECKPOINT_MAX_DIMS], pd[4];
    char type[32], have[128], want[128];
    const retinanet_param *p = retinanet_param_find(c->m, name);
    if (p == NULL) {
        c->msg->problems++;
        ckpt_msg_add(c->msg, "\n  unexpected tensor state_dict/%s%s", name,
                     strstr(name, "num_batches_tracked")
                         ? " (drop torchvision's num_batches_tracked buffers when exporting)"
                         : "");
        return 0;
    }
    c->seen[p - c->m->params] = 1;
    int same = ckpt_compare_shape(group, name, p, c->msg, &ndim, dims, pd, &is_f32, type,
                                  sizeof type);
    if (same < 0)
        return 0;
    ckpt_dims_text(p->ndim, pd, want, sizeof want);
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

/* ---- pretrained weights: the tensors a file and the model share ---------------------------- */

typedef struct ckpt_match {
    retinanet *m;
    unsigned char *hit;  // [nparams] the file holds this tensor, with its shape
    int loaded;
    ckpt_msg *msg;
} ckpt_match;

/* One link of state_dict/: a tensor m has must match its shape and be float32; others are
 * ignored. */
static herr_t ckpt_match_link(hid_t group, const char *name, const H5L_info_t *info, void *ctx)
{
    (void)info;
    ckpt_match *c = ctx;
    const retinanet_param *p = retinanet_param_find(c->m, name);
    if (p == NULL)
        return 0;
    int64_t pd[4], dims[CHECKPOINT_MAX_DIMS];
    int ndim = 0, is_f32 = 0;
    char type[32], have[128], want[128];
    int same = ckpt_compare_shape(group, name, p, c->msg, &ndim, dims, pd, &is_f32, type,
                                  sizeof type);
    if (same < 0)
        return 0;
    if (!same || !is_f32) {
        c->msg->problems++;
        ckpt_msg_add(c->msg, "\n  %s tensor state_dict/%s: %s %s in the file, the model needs "
                     "float32 %s", same ? "wrongly typed" : "mis-shaped", name, type,
                     ckpt_dims_text(ndim, dims, have, sizeof have),
                     ckpt_dims_text(p->ndim, pd, want, sizeof want));
        return 0;
    }
    c->hit[p - c->m->params] = 1;
    c->loaded++;
    return 0;
}

/* Check every shared tensor, then read them all; m is untouched unless all fit. */
static int ckpt_read_matching(checkpoint_reader *r, retinanet *m, int *loaded, char *err,
                              size_t errsize)
{
    hid_t group = -1;
    H5E_BEGIN_TRY { group = H5Gopen2(r->file, "state_dict", H5P_DEFAULT); } H5E_END_TRY;
    if (group < 0) {
        ckpt_err(err, errsize, "'%s' has no group state_dict/ (not rankdet weights? convert "
                 "torchvision weights with experiments/convert_torchvision.py)", r->path);
        return -1;
    }
    ckpt_msg msg = {err, errsize, 0, 0};
    ckpt_msg_add(&msg, "pretrained weights '%s' do not fit the model (resnet%d); refusing to "
                 "load them:", r->path, m->cfg.depth);
    ckpt_match c = {m, rd_calloc((size_t)m->nparams, 1, "checkpoint match"), 0, &msg};
    herr_t st = -1;
    H5E_BEGIN_TRY {
        st = H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, NULL, ckpt_match_link, &c);
    } H5E_END_TRY;
    H5Gclose(group);
    if (st < 0) {
        msg.problems++;
        ckpt_msg_add(&msg, "\n  state_dict/ cannot be listed (damaged file?)");
    }
    int rc = msg.problems > 0 ? -1 : 0;
    for (int i = 0; i < m->nparams && rc == 0; i++) {
        retinanet_param *p = &m->params[i];
        int64_t dims[4] = {p->shape[0], p->shape[1], p->shape[2], p->shape[3]};
        char name[RETINANET_NAME_MAX + 16];
        snprintf(name, sizeof name, "state_dict/%s", p->name);
        if (c.hit[i])
            rc = checkpoint_read_tensor(r, name, p->ndim, dims, p->data, err, errsize);
    }
    free(c.hit);
    *loaded = rc == 0 ? c.loaded : 0;
    return rc;
}

int checkpoint_load_matching(const char *path, retinanet *m, int *loaded, char *err,
                             size_t errsize)
{
    checkpoint_reader r;
    *loaded = 0;
    if (checkpoint_open(&r, path, err, errsize) < 0)
        return -1;
    int st = ckpt_read_matching(&r, m, loaded, err, errsize);
    checkpoint_close(&r);
    if (st == 0)
        retinanet_fold_bn(m);
    return st;
}

/* ---- optimizer state ---------------------------------------------------------------------- */

/* The parameter of m whose values sgd tensor j updates (s must have been made over m). */
static const retinanet_param *ckpt_sgd_param(const retinanet *m, const sgd *s, int j)
{
    for (int i = 0; i < m->nparams; i++)
        if (m->params[i].data == s->tensors[j].data) {
            RD_CHECK(m->params[i].count == s->tensors[j].count,
                     "sgd tensor %d has %zu values, '%s' has %zu", j, s->tensors[j].count,
                     m->params[i].name, m->params[i].count);
            return &m->params[i];
        }
    rd_check_fail(__FILE__, __LINE__, "ckpt_sgd_param", "sgd tensor %d is not a tensor of the "
                  "model (make the optimizer over this model's table)", j);
}

int checkpoint_write_sgd(checkpoint_writer *w, const retinanet *m, const sgd *s, char *err,
                         size_t errsize)
{
    for (int j = 0; j < s->ntensors; j++) {
        const retinanet_param *p = ckpt_sgd_param(m, s, j);
        int64_t dims[4] = {p->shape[0], p->shape[1], p->shape[2], p->shape[3]};
        char name[RETINANET_NAME_MAX + 16];
        snprintf(name, sizeof name, "optim/momentum/%s", p->name);
        if (checkpoint_write_tensor(w, name, p->ndim, dims, s->momentum[j], err, errsize) < 0)
            return -1;
    }
    h5_attr_int64(w->file, "optim_step", s->step);
    return 0;
}

/* The root attribute optim_step as a step count >= 0. 0, or -1 with a message. */
static int ckpt_read_optim_step(checkpoint_reader *r, int64_t *step, char *err, size_t errsize)
{
    herr_t st = -1;
    H5E_BEGIN_TRY {
        hid_t attr = H5Aopen(r->file, "optim_step", H5P_DEFAULT);
        hid_t space = attr < 0 ? -1 : H5Aget_space(attr);
        if (space >= 0 && H5Sget_simple_extent_npoints(space) == 1)
            st = H5Aread(attr, H5T_NATIVE_INT64, step);
        if (space >= 0)
            H5Sclose(space);
        if (attr >= 0)
            H5Aclose(attr);
    } H5E_END_TRY;
    if (st < 0 || *step < 0) {
        ckpt_err(err, errsize, "%s: no optimizer state (the root attribute optim_step is missing "
                 "or not a step count)", r->path);
        return -1;
    }
    return 0;
}

int checkpoint_read_sgd(checkpoint_reader *r, const retinanet *m, sgd *s, char *err,
                        size_t errsize)
{
    ckpt_msg msg = {err, errsize, 0, 0};
    ckpt_msg_add(&msg, "the optimizer state in '%s' does not fit the model's trainable "
                 "tensors; refusing to load it:", r->path);
    char name[RETINANET_NAME_MAX + 16], type[32], have[128], want[128];
    for (int j = 0; j < s->ntensors; j++) {
        const retinanet_param *p = ckpt_sgd_param(m, s, j);
        int64_t pd[4] = {p->shape[0], p->shape[1], p->shape[2], p->shape[3]};
        int64_t dims[CHECKPOINT_MAX_DIMS];
        int ndim = 0, is_f32 = 0, same;
        snprintf(name, sizeof name, "optim/momentum/%s", p->name);
        if (ckpt_describe(r->file, name, &ndim, dims, &is_f32, type, sizeof type) < 0) {
            msg.problems++;
            ckpt_msg_add(&msg, "\n  missing momentum buffer %s %s", name,
                         ckpt_dims_text(p->ndim, pd, want, sizeof want));
            continue;
        }
        same = ndim == p->ndim && is_f32;
        for (int k = 0; same && k < ndim; k++)
            same = dims[k] == pd[k];
        if (!same) {
            msg.problems++;
            ckpt_msg_add(&msg, "\n  mis-shaped momentum buffer %s: %s %s in the file, the "
                         "model needs float32 %s", name, type,
                         ckpt_dims_text(ndim, dims, have, sizeof have),
                         ckpt_dims_text(p->ndim, pd, want, sizeof want));
        }
    }
    int64_t step = 0;
    if (msg.problems > 0 || ckpt_read_optim_step(r, &step, err, errsize) < 0)
        return -1;
    for (int j = 0; j < s->ntensors; j++) {
        const retinanet_param *p = ckpt_sgd_param(m, s, j);
        int64_t pd[4] = {p->shape[0], p->shape[1], p->shape[2], p->shape[3]};
        snprintf(name, sizeof name, "optim/momentum/%s", p->name);
        if (checkpoint_read_tensor(r, name, p->ndim, pd, s->momentum[j], err, errsize) < 0)
            return -1;
    }
    s->step = step;
    return 0;
}

/* dims[0] of state_dict/<name>, or -1 when there is no such dataset. */
static int64_t ckpt_dim0(hid_t f, const char *name)
{
    char path[256], type[32];
    snprintf(path, sizeof path, "state_dict/%s", name);
    int ndim = 0, f32;
    int64_t dims[CHECKPOINT_MAX_DIMS];
    if (ckpt_describe(f, path, &ndim, dims, &f32, type, sizeof type) != 0 || ndim < 1)
        return -1;
    return dims[0];
}

int checkpoint_infer_config(const char *path, retinanet_config *c, char *err, size_t errsize)
{
    checkpoint_reader r;
    if (checkpoint_open(&r, path, err, errsize) < 0)
        return -1;
    int64_t width = ckpt_dim0(r.file, "backbone.body.conv1.weight");
    int64_t fpn = ckpt_dim0(r.file, "backbone.fpn.inner_blocks.0.0.weight");
    int64_t logits = ckpt_dim0(r.file, "head.classification_head.cls_logits.bias");
    int bottleneck = ckpt_dim0(r.file, "backbone.body.layer1.0.conv3.weight") > 0;
    int blocks = 0;
    char name[96];
    for (;; blocks++) {
        snprintf(name, sizeof name, "backbone.body.layer3.%d.conv1.weight", blocks);
        if (ckpt_dim0(r.file, name) < 0)
            break;
    }
    checkpoint_close(&r);
    int depth = !bottleneck ? (blocks == 2 ? 18 : blocks == 6 ? 34 : 0)
                            : (blocks == 6 ? 50 : blocks == 23 ? 101 : 0);
    if (width <= 0 || fpn <= 0 || logits <= 0 || depth == 0 || c->num_anchors <= 0 ||
        logits % c->num_anchors != 0) {
        snprintf(err, errsize, "%s: not the weights of a RetinaNet rankdet knows (stem %lld, FPN "
                 "%lld, %lld class logits for %d anchors, %d blocks in layer3%s)", path,
                 (long long)width, (long long)fpn, (long long)logits, c->num_anchors, blocks,
                 bottleneck ? ", bottleneck" : "");
        return -1;
    }
    c->depth = depth;
    c->width = (int)width;
    c->fpn_channels = (int)fpn;
    c->num_classes = (int)(logits / c->num_anchors);
    return 0;
}
