/* loss_expect.h — the checks every registry loss's test makes (the conventions of
 * optim/loss.h): an error status naming the first bad entry, a zero update for a batch without
 * positives, the same bits on 1 and 2 threads, a steady state that allocates nothing, and an
 * update against expected values. A failed expectation fails the running check test. */
#ifndef RD_TESTS_LOSS_EXPECT_H
#define RD_TESTS_LOSS_EXPECT_H

#include <stdint.h>

#include "lib/arena.h"
#include "optim/loss.h"

/* Assert |g[i] - want[i]| <= tol for every i < n. */
void expect_update(const float *g, const double *want, int n, double tol);

/* Run compute on in with p (the defaults when NULL) and its own scratch, update into
 * grad[n]; assert LOSS_OK. Returns the result. */
loss_result expect_loss_ok(loss_compute_fn compute, const loss_inputs *in, const loss_params *p,
                           float *grad);

/* Run compute on in with default parameters (its own scratch and update buffer); assert it
 * returns status want and, for an error, names bad_index. Returns the result. */
loss_result expect_loss_status(loss_compute_fn compute, const loss_inputs *in, loss_status want,
                               int64_t bad_index);

/* Run compute on in, a batch without positives, with default parameters and the update buffer
 * filled with 7 first; assert LOSS_OK, no_positive, loss 0 and an update of zeros. Returns the
 * result for further checks. */
loss_result expect_loss_no_positive(loss_compute_fn compute, const loss_inputs *in);

/* Run compute with p on 1 thread, then on 2 threads, with the same ws (updates in buffers of
 * its own); assert both return LOSS_OK and give the same bits, loss and update. Leaves OpenMP
 * at 2 threads. Returns the 1-thread result. */
loss_result expect_threads_same_bits(loss_compute_fn compute, const loss_inputs *in,
                                     const loss_params *p, rd_arena *ws);

/* Run compute with p on in four times with the same scratch arena: after the first run the
 * arena never grows, and the loss comes back equal. */
void expect_steady_state(loss_compute_fn compute, const loss_inputs *in, const loss_params *p);

#endif
