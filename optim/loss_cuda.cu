/* loss_cuda.cu — what the GPU losses share (loss_cuda.h): the grow-only device workspace,
 * device copies of a batch, and CUDA-event timing of a loss for `rankdet bench loss`. */
#include <cuda_runtime.h>

extern "C" {
#include "optim/loss_cuda.h"
}

#include "lib/cuda_check.h"

#define LOSS_CUDA_HEADER_BYTES 1024

void loss_cuda_ws_free(loss_cuda_ws *ws)
{
    if (ws->buf)
        RD_CHECK_CUDA(cudaFree(ws->buf));
    if (ws->header)
        RD_CHECK_CUDA(cudaFree(ws->header));
    size_t allocations = ws->allocations;
    loss_cuda_ws_init(ws);
    ws->allocations = allocations;
}

void *loss_cuda_ws_reserve(loss_cuda_ws *ws, size_t bytes)
{
    if (bytes <= ws->bytes)
        return ws->buf;
    if (ws->buf)
        RD_CHECK_CUDA(cudaFree(ws->buf));
    ws->buf = NULL;
    ws->bytes = 0;
    RD_CHECK_CUDA(cudaMalloc(&ws->buf, bytes));
    ws->bytes = bytes;
    ws->allocations++;
    return ws->buf;
}

void *loss_cuda_ws_header(loss_cuda_ws *ws, size_t bytes)
{
    RD_CHECK(bytes <= LOSS_CUDA_HEADER_BYTES, "a loss header of %zu bytes (at most %d)", bytes,
             LOSS_CUDA_HEADER_BYTES);
    if (!ws->header) {
        RD_CHECK_CUDA(cudaMalloc(&ws->header, LOSS_CUDA_HEADER_BYTES));
        ws->allocations++;
    }
    return ws->header;
}

void loss_cuda_batch_init(loss_cuda_batch *b, int64_t n)
{
    RD_CHECK(n >= 0, "a batch of %lld entries", (long long)n);
    const size_t m = n > 0 ? (size_t)n : 1;
    b->n = n;
    RD_CHECK_CUDA(cudaMalloc(&b->scores, m * sizeof *b->scores));
    RD_CHECK_CUDA(cudaMalloc(&b->labels, m * sizeof *b->labels));
    RD_CHECK_CUDA(cudaMalloc(&b->grad, m * sizeof *b->grad));
}

void loss_cuda_batch_free(loss_cuda_batch *b)
{
    if (b->scores)
        RD_CHECK_CUDA(cudaFree(b->scores));
    if (b->labels)
        RD_CHECK_CUDA(cudaFree(b->labels));
    if (b->grad)
        RD_CHECK_CUDA(cudaFree(b->grad));
    b->scores = NULL;
    b->labels = NULL;
    b->grad = NULL;
    b->n = 0;
}

double loss_cuda_batch_upload(loss_cuda_batch *b, const float *scores, const int8_t *labels)
{
    cudaEvent_t start, stop;
    RD_CHECK_CUDA(cudaEventCreate(&start));
    RD_CHECK_CUDA(cudaEventCreate(&stop));
    RD_CHECK_CUDA(cudaEventRecord(start, 0));
    RD_CHECK_CUDA(cudaMemcpy(b->scores, scores, (size_t)b->n * sizeof *scores,
                             cudaMemcpyHostToDevice));
    RD_CHECK_CUDA(cudaMemcpy(b->labels, labels, (size_t)b->n * sizeof *labels,
                             cudaMemcpyHostToDevice));
    RD_CHECK_CUDA(cudaEventRecord(stop, 0));
    RD_CHECK_CUDA(cudaEventSynchronize(stop));
    float ms = 0.0f;
    RD_CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
    RD_CHECK_CUDA(cudaEventDestroy(start));
    RD_CHECK_CUDA(cudaEventDestroy(stop));
    return ms;
}

void loss_cuda_batch_download(const loss_cuda_batch *b, float *grad)
{
    RD_CHECK_CUDA(cudaMemcpy(grad, b->grad, (size_t)b->n * sizeof *grad,
                             cudaMemcpyDeviceToHost));
}

loss_status loss_cuda_time(loss_cuda_fn fn, const loss_cuda_batch *b, const loss_params *p,
                           loss_cuda_ws *ws, int repeats, double *ms, loss_result *out)
{
    const loss_inputs in = {b->scores, b->labels, NULL, b->n};
    loss_status st = fn(&in, p, ws, b->grad, out, NULL);  // warm-up: scratch allocated
    cudaEvent_t start, stop;
    RD_CHECK_CUDA(cudaEventCreate(&start));
    RD_CHECK_CUDA(cudaEventCreate(&stop));
    for (int r = 0; r < repeats; r++) {
        RD_CHECK_CUDA(cudaEventRecord(start, 0));
        st = fn(&in, p, ws, b->grad, out, NULL);
        RD_CHECK_CUDA(cudaEventRecord(stop, 0));
        RD_CHECK_CUDA(cudaEventSynchronize(stop));
        float t = 0.0f;
        RD_CHECK_CUDA(cudaEventElapsedTime(&t, start, stop));
        ms[r] = t;
    }
    RD_CHECK_CUDA(cudaEventDestroy(start));
    RD_CHECK_CUDA(cudaEventDestroy(stop));
    return st;
}
