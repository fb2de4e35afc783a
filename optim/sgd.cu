/* sgd.cu — the CUDA twin of sgd.c's step (sgd_cuda.h): one grid-stride kernel per trainable
 * tensor, each element updated by one thread with the CPU's float32 operations in the CPU's
 * order. __fmul_rn / __fadd_rn / __fsub_rn keep nvcc from contracting them into FMAs (the CPU
 * build, -std=c11, does not contract), so the result is the CPU's bit for bit. */
extern "C" {
#include "optim/sgd_cuda.h"
}
#include <stdlib.h>
#include <string.h>

#include "lib/cuda_ctx_impl.h"

/* d = g + wd·w, b = μ·b + d, w = w - lr·b over count elements. */
__global__ void sgd_update_kernel(float *w, const float *g, float *b, int64_t count, float lr,
                                  float wd, float mu)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < count;
         i += (int64_t)gridDim.x * blockDim.x) {
        float wi = w[i];
        float d = __fadd_rn(g[i], __fmul_rn(wd, wi));
        float m = __fadd_rn(__fmul_rn(mu, b[i]), d);
        b[i] = m;
        w[i] = __fsub_rn(wi, __fmul_rn(lr, m));
    }
}

void sgd_cuda_init(sgd_cuda *s, cuda_ctx *ctx, const sgd_config *c, const sgd_tensor *list,
                   int n)
{
    char err[128];
    RD_CHECK(sgd_config_check(c, err, sizeof err) == 0, "%s; validate the config first", err);
    RD_CHECK(n >= 0, "sgd: %d tensors", n);
    memset(s, 0, sizeof *s);
    s->cfg = *c;
    s->ctx = ctx;
    int trainable = 0;
    size_t floats = 0;
    for (int i = 0; i < n; i++) {
        if (!list[i].grad)
            continue;
        RD_CHECK(list[i].data != NULL, "sgd tensor %d has a gradient but no values", i);
        trainable++;
        floats += (list[i].count + 63) / 64 * 64;  // each buffer on a 256-byte boundary
    }
    s->tensors = (sgd_tensor *)rd_calloc((size_t)trainable + 1, sizeof *s->tensors,
                                         "sgd tensor list");
    s->momentum = (float **)rd_calloc((size_t)trainable + 1, sizeof *s->momentum,
                                      "sgd momentum list");
    if (floats > 0) {
        s->buffer = (float *)cuda_ctx_alloc(ctx, floats * sizeof(float));
        cuda_ctx_zero(ctx, s->buffer, floats * sizeof(float));
    }
    size_t offset = 0;
    for (int i = 0; i < n; i++) {
        if (!list[i].grad)
            continue;
        s->tensors[s->ntensors] = list[i];
        s->momentum[s->ntensors] = s->buffer + offset;
        offset += (list[i].count + 63) / 64 * 64;
        s->num_values += list[i].count;
        s->ntensors++;
    }
}

void sgd_cuda_free(sgd_cuda *s)
{
    if (s->buffer)
        cuda_ctx_dealloc(s->ctx, s->buffer);
    free(s->tensors);
    free(s->momentum);
    memset(s, 0, sizeof *s);
}

double sgd_cuda_step(sgd_cuda *s)
{
    double lr = sgd_lr_at(&s->cfg, s->step);
    for (int i = 0; i < s->ntensors; i++) {
        int64_t count = (int64_t)s->tensors[i].count;
        if (count == 0)
            continue;
        sgd_update_kernel<<<cuda_grid_for(count), CUDA_BLOCK, 0, s->ctx->stream>>>(
            s->tensors[i].data, s->tensors[i].grad, s->momentum[i], count, (float)lr,
            (float)s->cfg.weight_decay, (float)s->cfg.momentum);
        RD_CHECK_LAUNCH();
    }
    s->step++;
    return lr;
}
