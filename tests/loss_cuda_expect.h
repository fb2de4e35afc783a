/* loss_cuda_expect.h — the parity check of the GPU loss tests (test_ap_loss_cuda.c,
 * test_losses_cuda.c): a GPU twin of optim/loss_cuda.h against its specification, the CPU
 * loss of the registry, on one host batch. A failed expectation fails the running check test.
 * Builds without CUDA too (the GPU calls are then the header's stubs; callers skip first). */
#ifndef RD_TESTS_LOSS_CUDA_EXPECT_H
#define RD_TESTS_LOSS_CUDA_EXPECT_H

#include <stdint.h>

#include "optim/loss.h"
#include "optim/loss_cuda.h"

/* The GPU twin of the registry loss `name` on host data (uploaded into a device batch of its
 * own, freed after), update back into grad[n] when it succeeds. Asserts the twin exists. */
loss_status loss_cuda_run_host(const char *name, const loss_inputs *host, const loss_params *p,
                               loss_cuda_ws *ws, float *grad, loss_result *out);

/* CPU and GPU of the loss `name` on one host batch, asserted equal: status, bad_index or
 * counts and no_positive exactly; loss within 1e-9 (relative above 1); updates within 1e-6 of
 * the largest |update|, except hinge_ap (equal) and ce_ohem (also the same kept negatives:
 * nonzero updates in the same places). `what` names the batch in a failure. Returns the GPU
 * result. */
loss_result expect_cuda_parity(const char *name, const loss_inputs *in, const loss_params *p,
                               loss_cuda_ws *ws, const char *what);

/* The steady state of the GPU loss `name` on 300,000 entries of case_fill_big(seed,
 * overlapping scores): four runs with one workspace on one device batch; after the first
 * (which allocates), no device allocation, the same workspace size, and a loss within tol of
 * the first. */
void expect_cuda_steady_state(const char *name, uint64_t seed, const loss_params *p, double tol);

#endif
