/* bench_eval.h — `rankdet bench eval`: `rankdet eval` beside pycocotools on a COCO
 * val2017-sized case. */
#ifndef RD_BENCH_EVAL_H
#define RD_BENCH_EVAL_H

int bench_eval_main(int argc, char **argv);

#endif
