/* loss_cuda_registry.c — the GPU twins of the registry losses (loss_cuda.h), by name, beside
 * the CPU table of optim/loss_registry.c. */
#include "optim/loss_cuda.h"

#include <string.h>

/* bytes_per_entry: the batch (scores, labels, grad: 9 bytes) and the largest scratch a loss
 * takes per entry (sorted copies, prefix sums, keys and ranks), rounded up. */
static const loss_cuda_def loss_cuda_table[] = {
    {"ap", ap_loss_cuda_compute, 48},
    {"auc", auc_loss_cuda_compute, 48},
    {"focal", focal_loss_cuda_compute, 16},
    {"ce_ohem", ce_ohem_loss_cuda_compute, 48},
    {"approx_ap", approx_ap_loss_cuda_compute, 64},
    {"hinge_ap", hinge_ap_loss_cuda_compute, 64},
};

const loss_cuda_def *loss_cuda_find(const char *name)
{
    const int count = (int)(sizeof loss_cuda_table / sizeof loss_cuda_table[0]);
    for (int i = 0; i < count; i++)
        if (strcmp(loss_cuda_table[i].name, name) == 0)
            return &loss_cuda_table[i];
    return NULL;
}
