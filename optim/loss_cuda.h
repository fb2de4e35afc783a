/* loss_cuda.h — the registry losses on a CUDA GPU: twins of the CPU losses of loss.h with the
 * same conventions (ignored entries 0, no positive → zero update with no_positive set, the
 * first NaN/Inf score or bad label reported by index), on scores, labels and grad that live
 * in device memory; the loss_result comes back to the host. Each twin sits beside its CPU
 * loss (optim/NAME_loss.cu beside optim/NAME_loss.c); loss_cuda_find names them as the
 * registry of loss.h does. Streams are passed as void * (a cudaStream_t; NULL for the
 * default stream) so that C files need no CUDA header.
 * In a build without CUDA the functions below are stubs that abort with "built without CUDA";
 * callers check rd_cuda_available (lib/device.h) first. */
#ifndef RD_LOSS_CUDA_H
#define RD_LOSS_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "optim/loss.h"

/* Device scratch of the GPU losses: one grow-only buffer, so that a loop of batches with the
 * same counts allocates nothing after its first call (the capacity only grows). */
typedef struct loss_cuda_ws {
    void *buf;          // device memory, `bytes` long
    size_t bytes;
    void *header;       // device: counts, the first bad entry and reductions of one call
    size_t allocations; // device allocations made so far (a steady state adds none)
} loss_cuda_ws;

/* A batch in device memory. */
typedef struct loss_cuda_batch {
    float *scores;   // [n] device
    int8_t *labels;  // [n] device
    float *grad;     // [n] device
    int64_t n;
} loss_cuda_batch;

/* The signature of a GPU loss: in->scores and in->labels are device pointers, grad[n] is
 * written in device memory, out on the host. */
typedef loss_status (*loss_cuda_fn)(const loss_inputs *in, const loss_params *p,
                                    loss_cuda_ws *ws, float *grad, loss_result *out,
                                    void *stream);

/* A GPU twin of a registry loss (optim/loss_cuda_registry.c). */
typedef struct loss_cuda_def {
    const char *name;         // the registry name of loss.h
    loss_cuda_fn compute;
    size_t bytes_per_entry;   // device memory per batch entry, batch and scratch, about
} loss_cuda_def;

/* The GPU twin of the registry loss `name`, or NULL when it has none. In a build without
 * CUDA the table is the same and its functions are the stubs below. Cannot fail. */
const loss_cuda_def *loss_cuda_find(const char *name);

/* An empty workspace; no device call. */
static inline void loss_cuda_ws_init(loss_cuda_ws *ws)
{
    ws->buf = NULL;
    ws->bytes = 0;
    ws->header = NULL;
    ws->allocations = 0;
}

#ifdef RANKDET_CUDA
/* Release the device memory of ws (nothing held: nothing done); ws is empty again. */
void loss_cuda_ws_free(loss_cuda_ws *ws);
/* At least `bytes` of device scratch in ws->buf (grow-only: contents are not kept when it
 * grows). Aborts when the device is out of memory. */
void *loss_cuda_ws_reserve(loss_cuda_ws *ws, size_t bytes);
/* The small device header of ws (allocated on first use, `bytes` at most 1024). */
void *loss_cuda_ws_header(loss_cuda_ws *ws, size_t bytes);

/* Device buffers for a batch of n entries. Aborts when the device is out of memory; check
 * rd_cuda_memory_check (3 x 4 x n bytes, about) first when n comes from a user. */
void loss_cuda_batch_init(loss_cuda_batch *b, int64_t n);
void loss_cuda_batch_free(loss_cuda_batch *b);
/* Copy scores[n] and labels[n] from the host to b; returns the milliseconds it took (CUDA
 * events on the default stream, synchronised). */
double loss_cuda_batch_upload(loss_cuda_batch *b, const float *scores, const int8_t *labels);
/* Copy b's grad[n] to the host (synchronised). */
void loss_cuda_batch_download(const loss_cuda_batch *b, float *grad);

/* `repeats` runs of fn on b, each timed alone by CUDA events on the default stream, into
 * ms[repeats]; the last run's status and result. One untimed run comes first (warm-up). */
loss_status loss_cuda_time(loss_cuda_fn fn, const loss_cuda_batch *b, const loss_params *p,
                           loss_cuda_ws *ws, int repeats, double *ms, loss_result *out);

/* The exact AP-loss of optim/ap_loss.c on the GPU. in->scores [n] float and in->labels [n]
 * int8 are device pointers, grad [n] a device buffer written in full (unspecified after an
 * error), out on the host. Work on `stream`; returns after synchronising it. Scratch comes
 * from ws (grow-only). Agreement with the CPU: counts, status and bad_index exactly; loss
 * within 1e-9 (relative above 1); every update within 1e-6 of the largest |update| (the pair
 * sums use double-double prefix sums, so the float rounding of the update dominates). */
loss_status ap_loss_cuda_compute(const loss_inputs *in, const loss_params *p, loss_cuda_ws *ws,
                                 float *grad, loss_result *out, void *stream);
/* The GPU twins of the other registry losses, with ap's contract: device scores, labels and
 * grad, out on the host, work on `stream` and synchronise it, scratch from ws. Agreement with
 * the CPU: counts, status and bad_index exactly; loss within 1e-9 (relative above 1).
 * focal: sigmoid focal loss; every update within 1e-6 of the largest |update|. */
loss_status focal_loss_cuda_compute(const loss_inputs *in, const loss_params *p,
                                    loss_cuda_ws *ws, float *grad, loss_result *out,
                                    void *stream);
/* auc: the AUC-loss; updates within 1e-6 of the largest |update|. */
loss_status auc_loss_cuda_compute(const loss_inputs *in, const loss_params *p, loss_cuda_ws *ws,
                                  float *grad, loss_result *out, void *stream);
/* ce_ohem: cross-entropy with hard-negative mining; the same kept negatives exactly (ties at
 * the cut-off to the lower index), updates within 1e-6 of the largest |update|. */
loss_status ce_ohem_loss_cuda_compute(const loss_inputs *in, const loss_params *p,
                                      loss_cuda_ws *ws, float *grad, loss_result *out,
                                      void *stream);
/* approx_ap: -log(AP + eps) of the sigmoid-smoothed AP; loss within 1e-9 (relative above 1),
 * updates within 1e-6 of the largest |update| (double sums in another order than the CPU's). */
loss_status approx_ap_loss_cuda_compute(const loss_inputs *in, const loss_params *p,
                                        loss_cuda_ws *ws, float *grad, loss_result *out,
                                        void *stream);
/* hinge_ap: the structured hinge bound; the CPU's ranking exactly (no FMA contraction), so
 * updates equal to the CPU's bit for bit; loss within 1e-9 (relative above 1). */
loss_status hinge_ap_loss_cuda_compute(const loss_inputs *in, const loss_params *p,
                                       loss_cuda_ws *ws, float *grad, loss_result *out,
                                       void *stream);
#else
#include "lib/check.h"

#define LOSS_CUDA_STUB() \
    rd_check_fail(__FILE__, __LINE__, __func__, "rankdet was built without CUDA")

static inline void loss_cuda_ws_free(loss_cuda_ws *ws) { (void)ws; }
static inline void loss_cuda_batch_init(loss_cuda_batch *b, int64_t n)
{
    (void)b, (void)n;
    LOSS_CUDA_STUB();
}
static inline void loss_cuda_batch_free(loss_cuda_batch *b) { (void)b; }
static inline double loss_cuda_batch_upload(loss_cuda_batch *b, const float *scores,
                                            const int8_t *labels)
{
    (void)b, (void)scores, (void)labels;
    LOSS_CUDA_STUB();
}
static inline void loss_cuda_batch_download(const loss_cuda_batch *b, float *grad)
{
    (void)b, (void)grad;
    LOSS_CUDA_STUB();
}
static inline loss_status loss_cuda_time(loss_cuda_fn fn, const loss_cuda_batch *b,
                                         const loss_params *p, loss_cuda_ws *ws, int repeats,
                                         double *ms, loss_result *out)
{
    (void)fn, (void)b, (void)p, (void)ws, (void)repeats, (void)ms, (void)out;
    LOSS_CUDA_STUB();
}
/* A GPU loss that aborts: the build has no CUDA. */
#define LOSS_CUDA_STUB_LOSS(fn)                                                              \
    static inline loss_status fn(const loss_inputs *in, const loss_params *p,                \
                                 loss_cuda_ws *ws, float *grad, loss_result *out, void *stream) \
    {                                                                                        \
        (void)in, (void)p, (void)ws, (void)grad, (void)out, (void)stream;                    \
        LOSS_CUDA_STUB();                                                                    \
    }
LOSS_CUDA_STUB_LOSS(ap_loss_cuda_compute)
LOSS_CUDA_STUB_LOSS(focal_loss_cuda_compute)
LOSS_CUDA_STUB_LOSS(auc_loss_cuda_compute)
LOSS_CUDA_STUB_LOSS(ce_ohem_loss_cuda_compute)
LOSS_CUDA_STUB_LOSS(approx_ap_loss_cuda_compute)
LOSS_CUDA_STUB_LOSS(hinge_ap_loss_cuda_compute)
#endif

#endif
