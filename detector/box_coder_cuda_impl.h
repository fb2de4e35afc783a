/* box_coder_cuda_impl.h — for the .cu files only: box_coder_decode of one anchor as a device
 * function, shared by the box coder's kernels (detector/box_coder.cu) and post-processing
 * (detector/postprocess.cu). detector/box_coder.c's operations in its order, each rounded
 * alone (no FMA contraction), with glibc's expf (lib/cuda_expf_impl.h): the CPU's bits. */
#ifndef RD_BOX_CODER_CUDA_IMPL_H
#define RD_BOX_CODER_CUDA_IMPL_H

extern "C" {
#include "detector/box_coder.h"
}
#include "lib/cuda_expf_impl.h"

/* Box b [4] from anchor a [4] and deltas d [4] under coder c; the clip of dw, dh is
 * torch.clamp(max=): NaN stays NaN. Cannot fail. */
static __device__ inline void box_coder_decode_dev(const box_coder &c, const float *a,
                                                   const float *d, float *b)
{
    const float w = __fsub_rn(a[2], a[0]), h = __fsub_rn(a[3], a[1]);
    const float cx = __fadd_rn(a[0], __fmul_rn(0.5f, w)), cy = __fadd_rn(a[1], __fmul_rn(0.5f, h));
    const float dx = __fdiv_rn(d[0], c.weights[0]), dy = __fdiv_rn(d[1], c.weights[1]);
    float dw = __fdiv_rn(d[2], c.weights[2]), dh = __fdiv_rn(d[3], c.weights[3]);
    dw = dw > c.dwh_clip ? c.dwh_clip : dw;
    dh = dh > c.dwh_clip ? c.dwh_clip : dh;
    const float pcx = __fadd_rn(__fmul_rn(dx, w), cx), pcy = __fadd_rn(__fmul_rn(dy, h), cy);
    const float pw = __fmul_rn(cuda_expf_glibc(dw), w), ph = __fmul_rn(cuda_expf_glibc(dh), h);
    const float half_w = __fmul_rn(0.5f, pw), half_h = __fmul_rn(0.5f, ph);
    b[0] = __fsub_rn(pcx, half_w);
    b[1] = __fsub_rn(pcy, half_h);
    b[2] = __fadd_rn(pcx, half_w);
    b[3] = __fadd_rn(pcy, half_h);
}

#endif
