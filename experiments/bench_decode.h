/* bench_decode.h — `rankdet bench decode`: image reading and decoding, one thread, beside
 * PIL. */
#ifndef RD_BENCH_DECODE_H
#define RD_BENCH_DECODE_H

int bench_decode_main(int argc, char **argv);

#endif
