/* threads.c — one thread count for the whole process (see threads.h). OpenMP keeps the count
 * (omp_get_max_threads), so there is no state of our own. OpenBLAS is set to one thread: the
 * layers cut their GEMMs into blocks by shape and run the blocks in OpenMP regions, which keeps
 * the bits independent of the thread count (OpenBLAS's own threading does not) and leaves one
 * thread pool on the cores instead of two competing ones. */
#include "lib/threads.h"

#include <cblas.h>
#include <omp.h>

#include "lib/check.h"

void rd_threads_set(int threads)
{
    RD_CHECK(threads >= 1, "thread count must be >= 1 (got %d); validate flags first", threads);
    omp_set_num_threads(threads);
    openblas_set_num_threads(1);
}

int rd_threads_get(void)
{
    return omp_get_max_threads();
}
