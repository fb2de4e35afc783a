/* bench_data.h — `rankdet bench data`: the training input pipeline on coco128, beside PIL +
 * torchvision transforms. */
#ifndef RD_BENCH_DATA_H
#define RD_BENCH_DATA_H

int bench_data_main(int argc, char **argv);

#endif
