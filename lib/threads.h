/* threads.h — one thread count for the whole process: OpenMP regions and OpenBLAS together. */
#ifndef RD_THREADS_H
#define RD_THREADS_H

/* Use `threads` threads (≥ 1) from now on: OpenMP's count. OpenBLAS is set to one thread;
 * callers of BLAS cut their work into blocks that OpenMP runs (detector/conv2d.c). */
void rd_threads_set(int threads);
/* The thread count in use. */
int rd_threads_get(void);

#endif
