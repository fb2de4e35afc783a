/* cmd_loss.c — `rankdet loss NAME --in IN.h5 --out OUT.h5`: the loss playground of DESIGN.md.
 * Reads `scores` (float32) and `labels` (int8, 1 / 0 / -1), runs the registry loss NAME
 * (optim/loss.h) and writes `grad` (float32) with the attributes `loss`, `loss_name`,
 * `num_pos`, `num_neg`, `no_positive` and `config`, atomically, so a failed run leaves any
 * existing OUT.h5 as it was. `--device cuda` runs the loss's GPU twin (optim/loss_cuda.h,
 * loss_cuda_find). Exit status: 0 done, 1 bad input data or no usable GPU, 2 usage error. */
#include <omp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "experiments/commands.h"
#include "lib/check.h"
#include "lib/cli.h"
#include "lib/device.h"
#include "lib/h5.h"
#include "lib/progress.h"
#include "optim/loss.h"
#include "optim/loss_cuda.h"

typedef struct loss_cmd_config {
    char in[RD_CLI_STR];
    char out[RD_CLI_STR];
    loss_params p;
    int threads;
    char device[RD_CLI_STR];
} loss_cmd_config;

/* Defaults of the loss parameters come from loss_params_default (def NULL here). */
static const cli_opt loss_cmd_opts[] = {
    {"in", CLI_STRING, offsetof(loss_cmd_config, in), "",
     "input HDF5 file with datasets scores (float32) and labels (int8)"},
    {"out", CLI_STRING, offsetof(loss_cmd_config, out), "",
     "output HDF5 file: dataset grad (float32), attribute loss (float64)"},
    {"delta", CLI_DOUBLE, offsetof(loss_cmd_config, p.delta), NULL,
     "ap, auc: half-width of the piecewise step (eq. 14); 0 for the Heaviside step"},
    {"interp", CLI_BOOL, offsetof(loss_cmd_config, p.interp), NULL,
     "ap: interpolated AP (Algorithm 1, lines 8-12)"},
    {"tau", CLI_DOUBLE, offsetof(loss_cmd_config, p.tau), NULL,
     "approx_ap: temperature of the sigmoid (> 0)"},
    {"eps", CLI_DOUBLE, offsetof(loss_cmd_config, p.eps), NULL,
     "approx_ap: objective -log(AP + eps) (> 0)"},
    {"alpha", CLI_DOUBLE, offsetof(loss_cmd_config, p.alpha), NULL,
     "focal: weight of the positives, in [0, 1]"},
    {"gamma", CLI_DOUBLE, offsetof(loss_cmd_config, p.gamma), NULL,
     "focal: focusing exponent (>= 0)"},
    {"neg-per-pos", CLI_INT, offsetof(loss_cmd_config, p.neg_per_pos), NULL,
     "ce_ohem: hard negatives kept per positive (>= 0)"},
    {"threads", CLI_INT, offsetof(loss_cmd_config, threads), "0",
     "OpenMP threads for the loss; 0 for all cores"},
    {"device", CLI_STRING, offsetof(loss_cmd_config, device), "cpu",
     "where the loss runs: cpu, or cuda (the GPU twin of the loss)"},
};
#define LOSS_CMD_NOPTS ((int)(sizeof loss_cmd_opts / sizeof loss_cmd_opts[0]))

/* The spec with defaults and the registry listing filled in at run time. */
typedef struct loss_cmd_spec {
    cli_spec spec;
    cli_opt opts[LOSS_CMD_NOPTS];
    char defs[LOSS_CMD_NOPTS][32];
    char summary[4096];
} loss_cmd_spec;

static void loss_cmd_spec_init(loss_cmd_spec *s)
{
    loss_cmd_config d;
    memset(&d, 0, sizeof d);
    loss_params_default(&d.p);
    for (int i = 0; i < LOSS_CMD_NOPTS; i++) {
        s->opts[i] = loss_cmd_opts[i];
        if (s->opts[i].def != NULL)
            continue;
        const char *field = (const char *)&d + s->opts[i].offset;
        if (s->opts[i].type == CLI_DOUBLE)
            snprintf(s->defs[i], sizeof s->defs[i], "%.15g", *(const double *)field);
        else
            snprintf(s->defs[i], sizeof s->defs[i], "%d", *(const int *)field);
        s->opts[i].def = s->defs[i];
    }
    int count, len;
    const loss_def *table = loss_registry(&count);
    len = snprintf(s->summary, sizeof s->summary,
                   "Runs one registry loss on the whole batch in IN.h5 and writes its update "
                   "and value to OUT.h5\n(atomically: a failed run leaves OUT.h5 as it was). "
                   "Exit status 1 for bad data, 2 for bad usage.\n\nlosses (NAME):");
    for (int i = 0; i < count && len > 0 && (size_t)len < sizeof s->summary; i++)
        len += snprintf(s->summary + len, sizeof s->summary - (size_t)len, "\n  %-10s %s",
                        table[i].name, table[i].summary);
    s->spec = (cli_spec){"rankdet loss", "NAME --in IN.h5 --out OUT.h5 [flags]", s->summary,
                         s->opts, LOSS_CMD_NOPTS};
}

/* "ap, auc, ..." into buf. */
static const char *loss_cmd_names(char *buf, size_t size)
{
    int count;
    size_t len = 0;
    const loss_def *table = loss_registry(&count);
    buf[0] = '\0';
    for (int i = 0; i < count && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", table[i].name);
    return buf;
}

/* Checks of the flags and the loss name; 0, or -1 after a usage message. */
static int loss_cmd_check_usage(const cli_spec *spec, const loss_cmd_config *c,
                                const char *name, const loss_def **def, rd_device_kind *device)
{
    char names[512];
    if (name == NULL) {
        cli_error(spec, "missing the loss NAME; known losses: %s",
                  loss_cmd_names(names, sizeof names));
        return -1;
    }
    if ((*def = loss_find(name)) == NULL) {
        cli_error(spec, "unknown loss '%s'; known losses: %s", name,
                  loss_cmd_names(names, sizeof names));
        return -1;
    }
    char bad[160] = "";
    const loss_params *p = &c->p;
    if (!*c->in || !*c->out)
        snprintf(bad, sizeof bad, "%s is required", !*c->in ? "--in IN.h5" : "--out OUT.h5");
    else if (p->delta < 0)
        snprintf(bad, sizeof bad, "--delta must be >= 0, got %g", p->delta);
    else if (p->tau <= 0)
        snprintf(bad, sizeof bad, "--tau must be > 0, got %g", p->tau);
    else if (p->eps <= 0)
        snprintf(bad, sizeof bad, "--eps must be > 0, got %g", p->eps);
    else if (p->alpha < 0 || p->alpha > 1)
        snprintf(bad, sizeof bad, "--alpha must be in [0, 1], got %g", p->alpha);
    else if (p->gamma < 0)
        snprintf(bad, sizeof bad, "--gamma must be >= 0, got %g", p->gamma);
    else if (p->neg_per_pos < 0)
        snprintf(bad, sizeof bad, "--neg-per-pos must be >= 0, got %d", p->neg_per_pos);
    else if (c->threads < 0)
        snprintf(bad, sizeof bad, "--threads must be >= 0, got %d", c->threads);
    if (!*bad)
        rd_device_parse(c->device, device, bad, sizeof bad);
    if (*bad) {
        cli_error(spec, "%s", bad);
        return -1;
    }
    struct stat si, so;
    int have_out = stat(c->out, &so) == 0;
    if (have_out && S_ISDIR(so.st_mode)) {
        cli_error(spec, "--out '%s' is a directory; give a file name", c->out);
        return -1;
    }
    if (have_out && stat(c->in, &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino) {
        cli_error(spec, "--out '%s' is the same file as --in '%s'; refusing to overwrite the "
                  "input", c->out, c->in);
        return -1;
    }
    return 0;
}

/* scores and labels of the same length from path into in (buffers owned by the caller,
 * freed on failure); 0, or -1 after a message. */
static int loss_cmd_read(const char *path, loss_inputs *in)
{
    hid_t file = h5_open_read(path);
    if (file < 0)
        return -1;
    void *scores = NULL, *labels = NULL;
    int64_t ns = 0, nl = 0;
    int r = h5_read_1d(file, path, "scores", H5T_FLOAT, 4, H5T_NATIVE_FLOAT, "float32", &scores,
                       &ns);
    if (r == 0)
        r = h5_read_1d(file, path, "labels", H5T_INTEGER, 1, H5T_NATIVE_INT8, "int8", &labels,
                       &nl);
    H5Fclose(file);
    if (r == 0 && ns != nl) {
        rd_error("%s: scores has %lld entries, labels %lld; they must match", path,
                 (long long)ns, (long long)nl);
        r = -1;
    }
    if (r < 0) {
        free(scores);
        free(labels);
        return -1;
    }
    *in = (loss_inputs){scores, labels, NULL, ns};
    return 0;
}

/* grad and the attributes into out_path, atomically; 0, or -1 after a message. */
static int loss_cmd_write(const char *out_path, const float *grad, const loss_inputs *in,
                          const loss_result *res, const char *name, const char *config)
{
    char tmp[RD_CLI_STR + 64];
    hid_t file = h5_create_atomic(out_path, tmp, sizeof tmp);
    if (file < 0)
        return -1;
    h5_write_1d(file, "grad", H5T_NATIVE_FLOAT, grad, in->n);
    h5_attr_double(file, "loss", res->loss);
    h5_attr_string(file, "loss_name", name);
    h5_attr_int64(file, "num_pos", res->num_pos);
    h5_attr_int64(file, "num_neg", res->num_neg);
    h5_attr_int64(file, "no_positive", res->no_positive);
    h5_attr_string(file, "config", config);
    h5_attr_string(file, "version", rankdet_version());
    h5_attr_string(file, "git_commit", rankdet_git_commit());
    h5_commit(file, tmp, out_path);
    return 0;
}

/* The GPU twin of def on a device copy of the batch, the update back into grad. Returns the
 * status, or -1 after a message when the GPU lacks the memory. *ms is the time of the loss
 * alone (upload and download excluded). */
static int loss_cmd_compute_cuda(const loss_def *def, const loss_inputs *in,
                                 const loss_params *p, float *grad, loss_result *res, double *ms)
{
    const loss_cuda_def *gpu = loss_cuda_find(def->name);
    RD_CHECK(gpu, "loss '%s' has no GPU twin (every registry loss should)", def->name);
    char err[512], what[64];
    const size_t bytes = (size_t)in->n * gpu->bytes_per_entry + ((size_t)64 << 20);
    snprintf(what, sizeof what, "the %s loss", def->name);
    if (rd_cuda_memory_check(bytes, what, err, sizeof err) < 0) {
        rd_error("--device cuda: %s", err);
        return -1;
    }
    loss_cuda_batch b;
    loss_cuda_batch_init(&b, in->n);
    loss_cuda_batch_upload(&b, in->scores, in->labels);
    loss_cuda_ws ws;
    loss_cuda_ws_init(&ws);
    loss_inputs din = {b.scores, b.labels, NULL, in->n};
    double t0 = rd_seconds();
    loss_status st = gpu->compute(&din, p, &ws, b.grad, res, NULL);
    *ms = 1e3 * (rd_seconds() - t0);
    if (st == LOSS_OK)
        loss_cuda_batch_download(&b, grad);
    loss_cuda_ws_free(&ws);
    loss_cuda_batch_free(&b);
    return (int)st;
}

/* Validate, run the loss on the device, write. Exit status 0 or 1. */
static int loss_cmd_run(const loss_def *def, const loss_cmd_config *c, rd_device_kind device,
                        const char *config)
{
    loss_inputs in;
    if (loss_cmd_read(c->in, &in) < 0)
        return 1;
    loss_result res;
    char why[160];
    loss_status st = loss_scan(&in, &res);
    float *grad = NULL;  // [n]
    double ms = 0.0;
    int no_memory = 0;  // the GPU lacked the memory (said already)
    if (st == LOSS_OK) {
        grad = rd_malloc((size_t)in.n * sizeof *grad, "the loss update");
        if (device == RD_DEVICE_CUDA) {
            int r = loss_cmd_compute_cuda(def, &in, &c->p, grad, &res, &ms);
            no_memory = r < 0;
            st = no_memory ? LOSS_OK : (loss_status)r;
        } else {
            rd_arena ws;
            rd_arena_init(&ws);
            double t0 = rd_seconds();
            st = def->compute(&in, &c->p, &ws, grad, &res);
            ms = 1e3 * (rd_seconds() - t0);
            rd_arena_free(&ws);
        }
    }
    if (st != LOSS_OK)
        rd_error("%s: %s", c->in, loss_status_describe(st, &in, &res, why, sizeof why));
    int rc = !no_memory && st == LOSS_OK && loss_cmd_write(c->out, grad, &in, &res, def->name, config) == 0
                 ? 0 : 1;
    if (rc == 0)
        printf("%s: loss %.9g on %lld scores (%lld positive, %lld negative, %lld ignored)%s "
               "in %.3f ms%s -> %s\n", def->name, res.loss, (long long)in.n,
               (long long)res.num_pos, (long long)res.num_neg,
               (long long)(in.n - res.num_pos - res.num_neg),
               res.no_positive ? ", no positive: zero update" : "", ms,
               device == RD_DEVICE_CUDA ? " on the GPU" : "", c->out);
    free(grad);
    free((void *)in.scores);
    free((void *)in.labels);
    return rc;
}

int cmd_loss(int argc, char **argv)
{
    loss_cmd_spec s;
    loss_cmd_spec_init(&s);
    loss_cmd_config c;
    cli_defaults(&s.spec, &c);
    char *pos[1] = {NULL};
    int npos = 0;
    cli_result r = cli_parse(&s.spec, &c, argc, argv, pos, 1, &npos);
    if (r != CLI_OK)
        return r == CLI_HELP ? 0 : 2;
    const loss_def *def = NULL;
    rd_device_kind device = RD_DEVICE_CPU;
    if (loss_cmd_check_usage(&s.spec, &c, npos ? pos[0] : NULL, &def, &device) < 0)
        return 2;
    char why[512];
    if (device == RD_DEVICE_CUDA && !rd_cuda_available(why, sizeof why)) {
        rd_error("--device cuda: %s", why);
        return 1;
    }
    if (c.threads > 0)
        omp_set_num_threads(c.threads);
    char *config = cli_format_alloc(&s.spec, &c);
    int rc = loss_cmd_run(def, &c, device, config);
    free(config);
    return rc;
}
