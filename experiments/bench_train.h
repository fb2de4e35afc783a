/* bench_train.h — `rankdet bench train`: one training step of RetinaNet beside PyTorch's. */
#ifndef RD_BENCH_TRAIN_H
#define RD_BENCH_TRAIN_H

#include <stdint.h>

#include "lib/cli.h"

typedef struct bench_train_config {
    int size, batch, classes, depth;
    char preset[RD_CLI_STR];
    int steps, warmup;
    char threads[RD_CLI_STR];  // "1,2"
    char losses[RD_CLI_STR];   // "focal,ap"
    int torch;
    char python[RD_CLI_STR];
    char script[RD_CLI_STR];
    int layers;
    char blas_core[RD_CLI_STR];  // OPENBLAS_CORETYPE for the children ("": automatic)
    int64_t seed;
    int child;
} bench_train_config;

/* `rankdet bench train [flags]`: returns the exit status (2 usage, 1 a failed run). */
int bench_train_main(int argc, char **argv);

#endif
