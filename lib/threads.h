/* threads.h — one thread count for the whole process: OpenMP regions and OpenBLAS together. */
#ifndef RD_THREADS_H
#define RD_THREADS_H

/* Use `threads` threads (≥ 1) from now on. */
void rd_threads_set(int threads);
/* The thread count in use. */
int rd_threads_get(void);

#endif
