/* loss_fixture.h — the one reader of the loss reference files: tests/fixtures/loss_reference.txt
 * (tests/make_loss_fixtures.py: focal, ce_ohem) and tests/fixtures/rank_reference.txt
 * (tests/make_rank_fixtures.py: ap, auc, approx_ap, hinge_ap). After a first comment line, one
 * block per case, each item a line of space-separated words:
 *   case NAME LOSS N         LOSS a registry name, N the number of scores
 *   params KEY=VALUE ...     over the loss_params defaults (optim/loss.h); keys delta, interp,
 *                            tau, eps, alpha, gamma, neg_per_pos; or the single word none
 *   scores s_0 ... s_{N-1}   float32 values
 *   labels t_0 ... t_{N-1}   1, 0 or -1
 *   loss L
 *   grad g_0 ... g_{N-1}     or the single word none: the case keeps only its loss
 *   end
 * A file that cannot be read or breaks the format fails the running check test, with a message
 * naming the file and the case. */
#ifndef RD_TESTS_LOSS_FIXTURE_H
#define RD_TESTS_LOSS_FIXTURE_H

#include <stdint.h>
#include <stdio.h>

#include "optim/loss.h"

typedef struct loss_fixture {
    FILE *file;
    char path[256];
    char last[64];  // the name of the last case read, for messages about what follows it
} loss_fixture;

typedef struct loss_fixture_case {
    char name[64];
    char loss[16];       // the registry name of the loss
    int64_t n;
    loss_params params;  // the defaults, overridden by the case's params line
    float *scores;       // [n]
    int8_t *labels;      // [n]
    double loss_value;
    double *grad;        // [n]; NULL when the case keeps only its loss (`grad none`)
} loss_fixture_case;

/* Open the fixture at path (relative to the repository root, where the suites run) and read
 * its comment line; maker is the script that writes it, named when the file is missing. Fails
 * the test when the file cannot be opened or does not start with a comment. */
void loss_fixture_open(loss_fixture *fx, const char *path, const char *maker);

/* Read the next case into c: 1, or 0 at the end of the file. The arrays are malloc'd and c
 * owns them: free them with loss_fixture_case_free. Fails the test on a malformed case. */
int loss_fixture_read(loss_fixture *fx, loss_fixture_case *c);

/* Free the arrays of a case read by loss_fixture_read. */
void loss_fixture_case_free(loss_fixture_case *c);

/* Close the file of loss_fixture_open. */
void loss_fixture_close(loss_fixture *fx);

#endif
