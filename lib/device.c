/* device.c — device names (device.h); the GPU queries are in lib/cuda_device.cu. */
#include "lib/device.h"

#include <string.h>

int rd_device_parse(const char *text, rd_device_kind *kind, char *err, size_t errsize)
{
    if (strcmp(text, "cpu") == 0) {
        *kind = RD_DEVICE_CPU;
        return 0;
    }
    if (strcmp(text, "cuda") == 0) {
        *kind = RD_DEVICE_CUDA;
        return 0;
    }
    snprintf(err, errsize, "'%s' is not a device (cpu or cuda)", text);
    return -1;
}

const char *rd_device_name(rd_device_kind kind)
{
    return kind == RD_DEVICE_CUDA ? "cuda" : "cpu";
}
