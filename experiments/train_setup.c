/* train_setup.c — opening and closing a training run (experiments/train_ctx.h): the config's
 * checks, datasets, model and initial weights, schedule, loader, run log, and the state files:
 * checkpoint.h5 (written and read back on resume), final.h5, metrics.tsv, detections.json. */
#include "experiments/train_ctx.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/dets_json.h"
#include "detector/checkpoint.h"
#include "experiments/commands.h"
#include "lib/check.h"
#include "lib/h5.h"
#include "lib/threads.h"

#define TRAIN_PATH 1200

/* Keys a resumed run may change: they do not change what the run computes. */
static const char *const train_resume_free_keys[] = {"resume", "threads", "progress", "steps",
                                                      "epochs"};

double train_elapsed(const train_ctx *x)
{
    return x->elapsed_before + (rd_seconds() - x->t0);
}

static void train_path(const train_ctx *x, const char *name, char *out)
{
    snprintf(out, TRAIN_PATH, "%s/%s", x->c->out, name);
}

/* "110,140" epochs → milestones in steps. 0, or -1 after a message. */
static int train_milestones(const train_ctx *x, sgd_config *s)
{
    const char *p = x->c->lr_steps;
    s->num_milestones = 0;
    while (*p) {
        char *end;
        double e = strtod(p, &end);
        if (end == p || e <= 0 || (*end != ',' && *end != '\0') ||
            s->num_milestones == SGD_MAX_MILESTONES) {
            cli_error(&train_run_spec, "lr-steps '%s': expected up to %d increasing positive "
                      "epochs separated by commas", x->c->lr_steps, SGD_MAX_MILESTONES);
            return -1;
        }
        int64_t step = (int64_t)llround(e * (double)x->batches_per_epoch);
        if (s->num_milestones > 0 && step <= s->milestones[s->num_milestones - 1]) {
            cli_error(&train_run_spec, "lr-steps '%s': epochs must increase", x->c->lr_steps);
            return -1;
        }
        s->milestones[s->num_milestones++] = step;
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* The checks that need no file. 0, or 2 after a message. */
static int train_check_config(train_ctx *x)
{
    const train_run_config *c = x->c;
    x->preset = preset_find(c->preset);
    x->loss = loss_find(c->loss);
    const char *bad = NULL;
    if (*c->data == '\0')
        bad = "data: no dataset given (data=PATH)";
    else if (x->preset == NULL)
        bad = "preset: not paper or torchvision";
    else if (x->loss == NULL)
        bad = "loss: not a registry loss (ap auc approx_ap hinge_ap focal ce_ohem)";
    else if (strncmp(c->backbone, "resnet", 6) != 0 || !strchr("1235", c->backbone[6]))
        bad = "backbone: not resnet18, resnet34, resnet50 or resnet101";
    else if (c->batch < 1 || c->batch > 1024)
        bad = "batch: must be 1..1024";
    else if (c->train_size < 64 || c->train_size % 32 != 0)
        bad = "train-size: must be a multiple of 32, at least 64";
    else if (c->steps < 0 || c->epochs < 0 || (c->steps == 0 && c->epochs <= 0))
        bad = "epochs/steps: the run needs a positive length";
    else if (c->log_every < 1 || c->eval_every < 0 || c->checkpoint_every < 0)
        bad = "log-every must be >= 1, eval-every and checkpoint-every >= 0";
    else if (c->threads < 1 || c->threads > 256)
        bad = "threads: must be 1..256";
    else if (*c->out == '\0')
        bad = "out: no run directory";
    if (bad) {
        cli_error(&train_run_spec, "%s", bad);
        return 2;
    }
    return 0;
}

static int train_open_dataset(const train_ctx *x, const char *root, const char *split,
                              rd_dataset *ds)
{
    dataset_options o = {NULL, split, x->c->names, x->c->skip_bad ? BAD_SAMPLE_SKIP
                                                                   : BAD_SAMPLE_ERROR};
    char err[2048];
    if (dataset_open(root, &o, ds, err, sizeof err) != 0) {
        rd_error("%s", err);
        return 1;
    }
    return 0;
}

/* Training and evaluation sets; the same classes in both. 0, or 1 after a message. */
static int train_open_data(train_ctx *x)
{
    const train_run_config *c = x->c;
    if (train_open_dataset(x, c->data, c->train_split, &x->train_ds))
        return 1;
    x->have_train_ds = 1;
    if (train_open_dataset(x, *c->val_data ? c->val_data : c->data, c->val_split, &x->val_ds))
        return 1;
    x->have_val_ds = 1;
    int same = x->train_ds.nclasses == x->val_ds.nclasses;
    for (int k = 0; same && k < x->train_ds.nclasses; k++)
        same = strcmp(x->train_ds.class_names[k], x->val_ds.class_names[k]) == 0;
    if (!same) {
        rd_error("the training set (%s) and the evaluation set (%s) have different classes",
                 c->data, *c->val_data ? c->val_data : c->data);
        return 1;
    }
    if (x->train_ds.nsamples < c->batch) {
        rd_error("%s: %lld training images, fewer than batch=%d", c->data,
                 (long long)x->train_ds.nsamples, c->batch);
        return 1;
    }
    x->batches_per_epoch = x->train_ds.nsamples / c->batch;
    x->total_steps = c->steps > 0 ? c->steps
                                  : (int64_t)ceil(c->epochs * (double)x->batches_per_epoch);
    return 0;
}

/* Model with the seed's initial weights, then the pretrained tensors. 0, or 1/2 after a message. */
static int train_build_model(train_ctx *x)
{
    const train_run_config *c = x->c;
    retinanet_config mc;
    retinanet_config_preset(&mc, x->preset);
    mc.depth = atoi(c->backbone + 6);
    mc.width = c->width;
    mc.fpn_channels = c->fpn_channels;
    mc.frozen_stages = c->frozen_stages;
    mc.num_classes = x->train_ds.nclasses;
    mc.head_std = (float)c->head_std;
    mc.zero_init_residual = c->zero_init_residual;
    mc.bn_train = c->bn_train;
    if (strcmp(c->fpn_init, "preset") != 0)
        mc.fpn_gaussian = strcmp(c->fpn_init, "gaussian") == 0;
    char err[2048];
    if (strcmp(c->fpn_init, "preset") != 0 && strcmp(c->fpn_init, "gaussian") != 0 &&
        strcmp(c->fpn_init, "kaiming") != 0) {
        cli_error(&train_run_spec, "fpn-init '%s': expected preset, gaussian or kaiming",
                  c->fpn_init);
        return 2;
    }
    if (retinanet_config_check(&mc, err, sizeof err) != 0) {
        cli_error(&train_run_spec, "%s", err);
        return 2;
    }
    x->model = retinanet_create(&mc);
    retinanet_init_weights(x->model, (uint64_t)c->seed);
    if (*c->pretrained) {
        int loaded;
        if (checkpoint_load_matching(c->pretrained, x->model, &loaded, err, sizeof err) != 0) {
            rd_error("%s", err);
            return 1;
        }
        fprintf(stderr, "pretrained: %d tensors from %s\n", loaded, c->pretrained);
    }
    return 0;
}

/* The step: loss parameters and the SGD schedule. 0, or 2 after a message. */
static int train_build_step(train_ctx *x)
{
    const train_run_config *c = x->c;
    train_config tc = {.preset = x->preset, .cls_loss = x->loss};
    loss_params_default(&tc.cls_params);
    tc.cls_params.delta = c->delta, tc.cls_params.interp = c->interp;
    tc.cls_params.tau = c->tau, tc.cls_params.eps = c->eps;
    tc.cls_params.alpha = c->alpha, tc.cls_params.gamma = c->gamma;
    tc.cls_params.neg_per_pos = c->neg_per_pos;
    sgd_config_default(&tc.sgd);
    tc.sgd.lr = c->lr, tc.sgd.momentum = c->momentum, tc.sgd.weight_decay = c->weight_decay;
    tc.sgd.warmup_steps = c->warmup_steps, tc.sgd.warmup_factor = c->warmup_factor;
    tc.sgd.gamma = c->lr_gamma;
    if (train_milestones(x, &tc.sgd) != 0)
        return 2;
    tc.no_box_loss = !c->box_loss;
    tc.track_ap_loss = 1;
    tc.clip_grad = c->clip_grad;
    char err[1024];
    if (train_step_check(x->model, &tc, err, sizeof err) != 0) {
        cli_error(&train_run_spec, "%s", err);
        return 2;
    }
    train_step_init(&x->step, x->model, &tc);
    x->have_step = 1;
    return 0;
}

static int train_open_loader(train_ctx *x)
{
    const train_run_config *c = x->c;
    loader_config lc;
    loader_config_defaults(&lc, LOADER_TRAIN);
    lc.batch = c->batch, lc.threads = c->threads, lc.seed = (uint64_t)c->seed;
    lc.first_batch = x->start_step;
    norm_params norm;
    memcpy(norm.mean, x->preset->mean, sizeof norm.mean);
    memcpy(norm.std, x->preset->std, sizeof norm.std);
    transform_train_defaults(&lc.transform, c->train_size, &norm);
    if (!c->augment)
        lc.transform.photometric = lc.transform.expand = lc.transform.crop = lc.transform.flip = 0;
    char err[1024];
    if (loader_open(&x->loader, &x->train_ds, &lc, err, sizeof err) != 0) {
        rd_error("%s", err);
        return 1;
    }
    return 0;
}

static int train_setup_eval(train_ctx *x)
{
    const train_run_config *c = x->c;
    eval_config_default(&x->eval, x->preset);
    if (c->test_size > 0)
        x->eval.scales[0] = c->test_size;
    char err[512];
    if (*c->test_scales && eval_parse_scales(&x->eval, c->test_scales, err, sizeof err) != 0) {
        cli_error(&train_run_spec, "test-scales: %s", err);
        return 2;
    }
    x->eval.flip = c->test_flip;
    x->eval.limit = c->eval_limit;
    x->eval.is_voc = strcmp(x->val_ds.format, "voc") == 0;
    x->eval.threads = c->threads;
    return 0;
}

/* The first key whose value differs between two resolved configs, outside the free keys;
 * 0 when none. */
static int train_config_differs(const char *a, const char *b, char *what, size_t size)
{
    const char *pa = a, *pb = b;
    while (*pa || *pb) {
        size_t la = strcspn(pa, "\n"), lb = strcspn(pb, "\n");
        size_t key = strcspn(pa, " =");
        int free_key = 0;
        for (size_t i = 0; i < sizeof train_resume_free_keys / sizeof *train_resume_free_keys; i++)
            free_key |= strlen(train_resume_free_keys[i]) == key &&
                        strncmp(pa, train_resume_free_keys[i], key) == 0;
        if (!free_key && (la != lb || strncmp(pa, pb, la) != 0)) {
            snprintf(what, size, "'%.*s' there, '%.*s' now", (int)la, pa, (int)lb, pb);
            return 1;
        }
        pa += la + (pa[la] == '\n');
        pb += lb + (pb[lb] == '\n');
    }
    return 0;
}

static int train_read_window(hid_t f, train_window *w)
{
    double steps = 0;
    int rc = h5_attr_read_double(f, "window_steps", &steps);
    rc |= h5_attr_read_double(f, "window_loss", &w->loss);
    rc |= h5_attr_read_double(f, "window_cls", &w->cls);
    rc |= h5_attr_read_double(f, "window_box", &w->box);
    rc |= h5_attr_read_double(f, "window_ap", &w->ap);
    rc |= h5_attr_read_double(f, "window_pos", &w->pos);
    rc |= h5_attr_read_double(f, "window_lr", &w->lr);
    rc |= h5_attr_read_double(f, "window_grad_norm", &w->grad_norm);
    rc |= h5_attr_read_double(f, "window_start", &w->start);
    w->steps = (int64_t)steps;
    return rc;
}

/* Weights, optimizer, step and log window from out/checkpoint.h5. 0, or 1 after a message. */
static int train_resume(train_ctx *x)
{
    char path[TRAIN_PATH], err[4096];
    train_path(x, "checkpoint.h5", path);
    checkpoint_reader r;
    if (checkpoint_open(&r, path, err, sizeof err) != 0) {
        rd_error("resume: %s", err);
        return 1;
    }
    char *saved = h5_attr_text(r.file, "config");
    double step = -1, elapsed = 0;
    int rc = saved == NULL || h5_attr_read_double(r.file, "step", &step) != 0 ||
             h5_attr_read_double(r.file, "elapsed", &elapsed) != 0 ||
             train_read_window(r.file, &x->window) != 0;
    if (rc)
        rd_error("resume: %s is not a training checkpoint (no config, step or log state)", path);
    else if (train_config_differs(saved, x->config_text, err, sizeof err)) {
        rd_error("resume: %s was made with another config: %s", path, err);
        rc = 1;
    } else if (checkpoint_read_state_dict(&r, x->model, err, sizeof err) != 0 ||
               checkpoint_read_sgd(&r, x->model, &x->step.opt, err, sizeof err) != 0) {
        rd_error("resume: %s", err);
        rc = 1;
    }
    free(saved);
    checkpoint_close(&r);
    x->start_step = (int64_t)step;
    x->last_checkpoint = x->start_step;
    x->elapsed_before = elapsed;
    x->resumed_at = elapsed;
    if (rc == 0 && x->start_step > x->total_steps) {
        rd_error("resume: %s is at step %lld, past the run's %lld steps", path,
                 (long long)x->start_step, (long long)x->total_steps);
        rc = 1;
    }
    return rc;
}

static int train_open_log(train_ctx *x, const char *command_line)
{
    static const char *const tcols[TRAIN_LOG_COLS] = {
        "step", "epoch", "loss", "cls_loss", "box_loss", "ap_loss", "lr", "num_pos", "seconds",
        "images_per_s", "grad_norm"};
    static const char *const ecols[TRAIN_EVAL_COLS] = {"step", "epoch", "AP", "AP50", "AP75",
                                                       "APs", "APm", "APl", "seconds"};
    char path[TRAIN_PATH];
    train_path(x, "log.h5", path);
    if (x->c->resume) {
        /* A row at the checkpoint's own step with steps left in the window is the partial
         * row a finished run writes last: it goes too. */
        double keep = (double)x->start_step - (x->window.steps > 0 ? 0.5 : 0);
        x->log = runlog_reopen(path, keep, 5.0);
    } else {
        runlog_meta meta = {rankdet_version(), rankdet_git_commit(), command_line,
                            x->config_text, (uint64_t)x->c->seed};
        x->log = runlog_create(path, &meta, 5.0);
    }
    if (x->log == NULL)
        return 1;
    runlog_columns(x->log, "train", TRAIN_LOG_COLS, tcols);
    runlog_columns(x->log, "eval", TRAIN_EVAL_COLS, ecols);
    return 0;
}

static int train_write_text(const char *path, const char *text)
{
    char tmp[TRAIN_PATH + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    int ok = f != NULL && fputs(text, f) >= 0;
    ok = (f != NULL && fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        rd_error("cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
        return 1;
    }
    return 0;
}

static int train_make_dir(const char *dir)
{
    char p[TRAIN_PATH];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        mkdir(p, 0755);
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        rd_error("out: cannot create '%s': %s", dir, strerror(errno));
        return 1;
    }
    return 0;
}

int train_setup(train_ctx *x, const train_run_config *c, const char *command_line)
{
    memset(x, 0, sizeof *x);
    x->c = c;
    x->t0 = rd_seconds();
    x->last_checkpoint = -1;
    int rc = train_check_config(x);
    if (rc)
        return rc;
    rd_threads_set(c->threads);
    x->config_text = cli_format_alloc(&train_run_spec, c);
    char path[TRAIN_PATH];
    train_path(x, "checkpoint.h5", path);
    if (!c->resume && access(path, F_OK) == 0) {
        rd_error("%s exists: continue that run with resume=1, or choose another out=", path);
        return 2;
    }
    if ((rc = train_open_data(x)) || (rc = train_build_model(x)) || (rc = train_build_step(x)) ||
        (rc = train_setup_eval(x)) || (rc = train_make_dir(c->out)))
        return rc;
    if (c->resume && (rc = train_resume(x)))
        return rc;
    train_path(x, "config.txt", path);
    if ((rc = train_write_text(path, x->config_text)) || (rc = train_open_log(x, command_line)) ||
        (rc = train_open_loader(x)))
        return rc;
    x->gt = rd_calloc((size_t)c->batch, sizeof *x->gt, "batch ground truth");
    if (c->progress) {
        progress_init(&x->progress, stderr, c->loss, x->total_steps);
        fprintf(stderr, "train %s %s: %lld images, %d classes, %lld steps (%.4g epochs of %lld), "
                "%d threads\n", c->loss, c->backbone, (long long)x->train_ds.nsamples,
                x->train_ds.nclasses, (long long)x->total_steps,
                (double)x->total_steps / (double)x->batches_per_epoch,
                (long long)x->batches_per_epoch, c->threads);
    }
    return 0;
}

void train_teardown(train_ctx *x)
{
    loader_close(x->loader);
    if (x->log)
        runlog_close(x->log);
    if (x->have_step)
        train_step_free(&x->step);
    if (x->model)
        retinanet_destroy(x->model);
    if (x->have_val_ds)
        dataset_free(&x->val_ds);
    if (x->have_train_ds)
        dataset_free(&x->train_ds);
    free(x->gt);
    free(x->config_text);
}

static void train_write_window(hid_t f, const train_window *w)
{
    h5_attr_double(f, "window_steps", (double)w->steps);
    h5_attr_double(f, "window_loss", w->loss);
    h5_attr_double(f, "window_cls", w->cls);
    h5_attr_double(f, "window_box", w->box);
    h5_attr_double(f, "window_ap", w->ap);
    h5_attr_double(f, "window_pos", w->pos);
    h5_attr_double(f, "window_lr", w->lr);
    h5_attr_double(f, "window_grad_norm", w->grad_norm);
    h5_attr_double(f, "window_start", w->start);
}

int train_save_checkpoint(train_ctx *x, int64_t step)
{
    char path[TRAIN_PATH], err[1024];
    train_path(x, "checkpoint.h5", path);
    checkpoint_writer w;
    if (checkpoint_begin(&w, path, err, sizeof err) != 0) {
        rd_error("%s", err);
        return 1;
    }
    if (checkpoint_write_state_dict(&w, x->model, err, sizeof err) != 0 ||
        checkpoint_write_sgd(&w, x->model, &x->step.opt, err, sizeof err) != 0) {
        checkpoint_abort(&w);
        rd_error("%s", err);
        return 1;
    }
    hid_t f = checkpoint_file(&w);
    h5_attr_double(f, "step", (double)step);
    h5_attr_double(f, "epoch", (double)step / (double)x->batches_per_epoch);
    h5_attr_int64(f, "seed", x->c->seed);
    h5_attr_double(f, "elapsed", train_elapsed(x));
    h5_attr_string(f, "config", x->config_text);
    train_write_window(f, &x->window);
    if (checkpoint_commit(&w, err, sizeof err) != 0) {
        rd_error("%s", err);
        return 1;
    }
    x->last_checkpoint = step;
    return 0;
}

int train_write_final(train_ctx *x, const eval_metrics *em, const rd_detection *dets,
                      int64_t ndets)
{
    char path[TRAIN_PATH], err[1024], text[512];
    snprintf(text, sizeof text, "# AP\tAP50\tAP75\tAPs\tAPm\tAPl\n%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\n",
             em->ap, em->ap50, em->ap75, em->aps, em->apm, em->apl);
    train_path(x, "metrics.tsv", path);
    if (train_write_text(path, text))
        return 1;
    train_path(x, "detections.json", path);
    if (dets_json_write(path, dets, ndets, x->val_ds.category_ids, x->val_ds.nclasses, err,
                        sizeof err) != 0) {
        rd_error("%s", err);
        return 1;
    }
    train_path(x, "final.h5", path);
    if (checkpoint_save(path, x->model, err, sizeof err) != 0) {
        rd_error("%s", err);
        return 1;
    }
    return 0;
}
