/* device.h — where a command computes: the CPU (the specification) or a CUDA GPU, and the
 * checks that say plainly why a GPU cannot be used (not built in, none found, too little free
 * memory). The CUDA side is lib/cuda_device.cu, built when nvcc is found (RANKDET_CUDA); in a
 * build without it the GPU functions below are the stubs that say so. */
#ifndef RD_DEVICE_H
#define RD_DEVICE_H

#include <stddef.h>
#include <stdio.h>

typedef enum rd_device_kind {
    RD_DEVICE_CPU = 0,
    RD_DEVICE_CUDA,
} rd_device_kind;

/* "cpu" or "cuda" into *kind. Returns 0, or -1 with "DEVICE is not a device (cpu or cuda)" in
 * err. */
int rd_device_parse(const char *text, rd_device_kind *kind, char *err, size_t errsize);
/* "cpu" or "cuda". */
const char *rd_device_name(rd_device_kind kind);

#ifdef RANKDET_CUDA
/* 1 when a CUDA GPU can be used; 0 with the reason in why (no driver, no device, ...). Selects
 * device 0. */
int rd_cuda_available(char *why, size_t whysize);
/* One line naming device 0 (name, compute capability, memory) into buf. Returns -1 with the
 * reason in buf when there is no usable GPU. */
int rd_cuda_describe(char *buf, size_t bufsize);
/* 0 when `bytes` of device memory are free on device 0; -1 with "WHAT needs X MiB of GPU
 * memory, Y MiB of Z MiB are free" (or why there is no GPU) in err. */
int rd_cuda_memory_check(size_t bytes, const char *what, char *err, size_t errsize);
#else
static inline int rd_cuda_available(char *why, size_t whysize)
{
    snprintf(why, whysize, "rankdet was built without CUDA (make CUDA=0, or no nvcc at build "
             "time; with the CUDA toolkit installed, rebuild with make CUDA=1)");
    return 0;
}
static inline int rd_cuda_describe(char *buf, size_t bufsize)
{
    rd_cuda_available(buf, bufsize);
    return -1;
}
static inline int rd_cuda_memory_check(size_t bytes, const char *what, char *err, size_t errsize)
{
    (void)bytes;
    (void)what;
    rd_cuda_available(err, errsize);
    return -1;
}
#endif

#endif
