/* cuda_device.cu — the GPU queries of device.h: is there a usable GPU, which one, and is
 * there enough free memory for a job. Device 0 is used. */
extern "C" {
#include "lib/device.h"
}

#include <cuda_runtime.h>

static int cuda_device_open(char *why, size_t whysize)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        int runtime = 0;
        cudaRuntimeGetVersion(&runtime);
        snprintf(why, whysize, "no usable CUDA GPU (no device, or no driver for CUDA runtime "
                 "%d.%d): %s, %s", runtime / 1000, runtime % 1000 / 10, cudaGetErrorName(e),
                 cudaGetErrorString(e));
        cudaGetLastError();  // clear the error for later queries
        return -1;
    }
    if (count == 0) {
        snprintf(why, whysize, "no CUDA GPU was found");
        return -1;
    }
    e = cudaSetDevice(0);
    if (e != cudaSuccess) {
        snprintf(why, whysize, "cannot use CUDA device 0: %s", cudaGetErrorString(e));
        return -1;
    }
    return 0;
}

extern "C" int rd_cuda_available(char *why, size_t whysize)
{
    return cuda_device_open(why, whysize) == 0;
}

extern "C" int rd_cuda_describe(char *buf, size_t bufsize)
{
    if (cuda_device_open(buf, bufsize) != 0)
        return -1;
    cudaDeviceProp prop;
    cudaError_t e = cudaGetDeviceProperties(&prop, 0);
    if (e != cudaSuccess) {
        snprintf(buf, bufsize, "cannot read CUDA device 0: %s", cudaGetErrorString(e));
        return -1;
    }
    snprintf(buf, bufsize, "%s, compute capability %d.%d, %.1f GiB, %d SMs", prop.name,
             prop.major, prop.minor, (double)prop.totalGlobalMem / (1 << 30),
             prop.multiProcessorCount);
    return 0;
}

extern "C" int rd_cuda_memory_check(size_t bytes, const char *what, char *err, size_t errsize)
{
    if (cuda_device_open(err, errsize) != 0)
        return -1;
    size_t free_bytes = 0, total_bytes = 0;
    cudaError_t e = cudaMemGetInfo(&free_bytes, &total_bytes);
    if (e != cudaSuccess) {
        snprintf(err, errsize, "cannot read the free GPU memory: %s", cudaGetErrorString(e));
        return -1;
    }
    if (bytes > free_bytes) {
        const double mib = 1024.0 * 1024.0;
        snprintf(err, errsize, "%s needs %.0f MiB of GPU memory; %.0f MiB of %.0f MiB are free",
                 what, bytes / mib, free_bytes / mib, total_bytes / mib);
        return -1;
    }
    return 0;
}
