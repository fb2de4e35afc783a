/* bench_train_layers.h — where a training step's convolution time goes: every convolution of
 * a planned RetinaNet timed on its own (forward, and backward as the step runs it), summed per
 * block. */
#ifndef RD_BENCH_TRAIN_LAYERS_H
#define RD_BENCH_TRAIN_LAYERS_H

#include <stdio.h>

#include "detector/retinanet.h"

/* Write `, "layers": [{"name": ..., "convs": n, "fwd_s": ..., "bwd_s": ...}, ...]` (a JSON
 * member to append to an object) for model m, planned for training; the blocks are stem,
 * layer1..layer4, the FPN's laterals, outputs and P6/P7, and the heads per level. Medians of
 * three runs per convolution. Allocates its buffers (outside any step); aborts on OOM. */
void bench_train_layers_print_json(retinanet *m, FILE *out);

#endif
