/* checkpoint.h — model weights and training state in HDF5, as DESIGN.md defines the file:
 * one float32 dataset per tensor in the group state_dict/, named by torchvision's state_dict
 * name and stored OIHW ([C] for vectors), so a PyTorch state_dict converts with a few lines of
 * h5py (torchvision's num_batches_tracked buffers are left out); optimizer state under optim/
 * and root attributes (format, format_version, model; training adds step, epoch, RNG and
 * loader state and the resolved config through checkpoint_file + lib/h5.h).
 *
 * Writing is atomic: everything goes into "<path>.tmp.<pid>", which checkpoint_commit renames
 * over path; a failed or abandoned write leaves path as it was and removes the temporary file.
 * Loading checks the whole state_dict/ group against the model first and refuses, naming every
 * missing, unexpected, mis-shaped or non-float32 tensor, before it changes anything. Errors go
 * into err as one message naming the file. */
#ifndef RD_CHECKPOINT_H
#define RD_CHECKPOINT_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "detector/retinanet.h"
#include "optim/sgd.h"

#define CHECKPOINT_FORMAT_VERSION 1
#define CHECKPOINT_PATH_MAX 1024
#define CHECKPOINT_MAX_DIMS 8

typedef struct checkpoint_writer {
    hid_t file;                            // the temporary file; < 0 when not open
    char path[CHECKPOINT_PATH_MAX];        // destination
    char tmp[CHECKPOINT_PATH_MAX + 32];    // "<path>.tmp.<pid>"
} checkpoint_writer;

typedef struct checkpoint_reader {
    hid_t file;
    char path[CHECKPOINT_PATH_MAX];
} checkpoint_reader;

/* Start writing path: creates the temporary file and writes the root attributes format and
 * format_version. 0, or -1 with a message (directory missing, no permission). */
int checkpoint_begin(checkpoint_writer *w, const char *path, char *err, size_t errsize);
/* Every table tensor of m under state_dict/, plus the root attribute model (a description).
 * 0, or -1 with a message (disk full). */
int checkpoint_write_state_dict(checkpoint_writer *w, const retinanet *m, char *err,
                                size_t errsize);
/* One float32 tensor of ndim dims at name (groups on the way are created), e.g.
 * "optim/momentum_buffer/head.regression_head.bbox_reg.weight". 0, or -1 with a message. */
int checkpoint_write_tensor(checkpoint_writer *w, const char *name, int ndim,
                            const int64_t *dims, const float *data, char *err, size_t errsize);
/* The open temporary file, for attributes (lib/h5.h h5_attr_*) and other datasets. */
hid_t checkpoint_file(const checkpoint_writer *w);
/* Close, sync and rename over path. 0, or -1 with a message; on failure the temporary file is
 * removed and path is left as it was. */
int checkpoint_commit(checkpoint_writer *w, char *err, size_t errsize);
/* Give up: close and remove the temporary file; path is left as it was. */
void checkpoint_abort(checkpoint_writer *w);

/* Partial load for starting from pretrained weights: every tensor of the file's state_dict/
 * whose name m has (and whose shape matches) is read; tensors of m the file lacks keep their
 * values; file tensors m lacks are ignored. Shape mismatches are errors naming the tensor.
 * *loaded receives how many tensors were read. Refolds the BatchNorms. 0, or -1 with a message
 * (m unchanged on a mismatch). */
int checkpoint_load_matching(const char *path, retinanet *m, int *loaded, char *err,
                             size_t errsize);

/* The optimizer of a training run over m's trainable tensors (s made from them in table order,
 * as detector/train_step.c does): each momentum buffer as optim/momentum/<tensor name> and the
 * root attribute optim_step (s->step). 0, or -1 with a message. */
int checkpoint_write_sgd(checkpoint_writer *w, const retinanet *m, const sgd *s, char *err,
                         size_t errsize);

/* begin + state_dict + commit. 0, or -1 with a message. */
int checkpoint_save(const char *path, const retinanet *m, char *err, size_t errsize);

/* Open an existing checkpoint read-only. 0, or -1 with a message (missing, not HDF5). */
int checkpoint_open(checkpoint_reader *r, const char *path, char *err, size_t errsize);
/* Check state_dict/ against m's table, then read every tensor into it and refold the
 * BatchNorms. -1 with a message listing every problem (m unchanged) or a read failure. */
int checkpoint_read_state_dict(checkpoint_reader *r, retinanet *m, char *err, size_t errsize);
/* Read the float32 tensor name of exactly dims into data. 0, or -1 with a message. */
int checkpoint_read_tensor(checkpoint_reader *r, const char *name, int ndim,
                           const int64_t *dims, float *data, char *err, size_t errsize);
void checkpoint_close(checkpoint_reader *r);

/* Read the optimizer state checkpoint_write_sgd wrote back into s (same model and trainable
 * set): every buffer is checked by name and shape before any is read; a missing or mis-shaped
 * one is an error naming it, s unchanged. 0, or -1 with a message. */
int checkpoint_read_sgd(checkpoint_reader *r, const retinanet *m, sgd *s, char *err,
                        size_t errsize);

/* The network a checkpoint's state_dict/ holds, read from its tensors' shapes: ResNet depth
 * (blocks of layer3 and whether they are bottlenecks), stem width, FPN channels and, with
 * c->num_anchors already set by the preset, the number of classes. The other fields of c are
 * left as they are. 0, or -1 with a message (not a RetinaNet state_dict). */
int checkpoint_infer_config(const char *path, retinanet_config *c, char *err, size_t errsize);

/* open + read_state_dict + close. 0, or -1 with a message. */
int checkpoint_load(const char *path, retinanet *m, char *err, size_t errsize);

/* A whole dataset of ndim dims of mem_type (H5T_NATIVE_FLOAT, H5T_NATIVE_INT64, ...) stored as
 * its little-endian file type, at name under loc (groups created); for forward dumps and
 * other files. 0, or -1 with a message. */
int checkpoint_write_array(hid_t loc, const char *name, hid_t mem_type, int ndim,
                           const int64_t *dims, const void *data, char *err, size_t errsize);

#endif
