/* bench_loss.h — `rankdet bench loss`: the registry losses on a detector-sized minibatch. */
#ifndef RD_BENCH_LOSS_H
#define RD_BENCH_LOSS_H

int bench_loss_main(int argc, char **argv);

#endif
