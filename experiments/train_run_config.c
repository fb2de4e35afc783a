/* train_run_config.c — the key table of `rankdet train` (experiments/train_run.h): every key a
 * config file or a key=value override may set, its default and its one-line help. The defaults
 * are the paper's PASCAL VOC protocol (Section 4.1 of Chen et al.): ResNet-50, AP-loss with
 * δ = 1 and interpolation, batch 16 ranked together, 512×512 training input, 160 epochs, lr
 * 0.001 divided by 10 at epochs 110 and 140, momentum 0.9, weight decay 1e-4, warm-up over 500
 * steps from lr/3. */
#include <stddef.h>

#include "experiments/train_run.h"

#define OPT(name, type, field, def, help) {name, type, offsetof(train_run_config, field), def, help}
static const cli_opt train_run_opts[] = {
    OPT("data", CLI_STRING, data, "", "dataset root: VOC, COCO or YOLO (data/dataset.h)"),
    OPT("train-split", CLI_STRING, train_split, "train",
        "training images: VOC ImageSets/Main/<split>.txt, or the COCO annotation file"),
    OPT("val-split", CLI_STRING, val_split, "test", "evaluation images, as train-split"),
    OPT("val-data", CLI_STRING, val_data, "", "evaluation dataset root (\"\": data)"),
    OPT("names", CLI_STRING, names, "", "class names file (\"\": the dataset's own)"),
    OPT("skip-bad", CLI_BOOL, skip_bad, "0", "leave unreadable samples out instead of stopping"),
    OPT("preset", CLI_STRING, preset, "paper", "conventions preset: paper | torchvision"),
    OPT("backbone", CLI_STRING, backbone, "resnet50", "resnet18 | resnet34 | resnet50 | resnet101"),
    OPT("width", CLI_INT, width, "64", "ResNet stem channels (64 is the standard network)"),
    OPT("fpn-channels", CLI_INT, fpn_channels, "256", "FPN and head channels"),
    OPT("frozen-stages", CLI_INT, frozen_stages, "2",
        "frozen backbone stages: 0 none, 1 stem, 2 stem + layer1, ... 5 all"),
    OPT("pretrained", CLI_STRING, pretrained, "",
        "HDF5 state_dict/ to start from, e.g. ImageNet weights from "
        "experiments/convert_torchvision.py (\"\": random initialisation)"),
    OPT("fpn-init", CLI_STRING, fpn_init, "preset",
        "FPN initialisation: preset (paper: N(0, 0.01); torchvision: kaiming_uniform), "
        "gaussian or kaiming"),
    OPT("head-std", CLI_DOUBLE, head_std, "0.01",
        "std of the heads' hidden convolutions (0: kaiming, for narrow heads from scratch)"),
    OPT("zero-init-residual", CLI_BOOL, zero_init_residual, "0",
        "residual branches start at zero (training the backbone from scratch)"),
    OPT("bn-train", CLI_BOOL, bn_train, "0",
        "BatchNorm of the trainable backbone stages with batch statistics, weight and bias "
        "trained (and weight-decayed) (0: frozen)"),
    OPT("loss", CLI_STRING, loss, "ap", "classification loss: ap auc approx_ap hinge_ap focal ce_ohem"),
    OPT("delta", CLI_DOUBLE, delta, "1", "ap, auc: half-width of the piecewise step (eq. 14)"),
    OPT("interp", CLI_BOOL, interp, "1", "ap: interpolated AP (Algorithm 1)"),
    OPT("tau", CLI_DOUBLE, tau, "0.5", "approx_ap: sigmoid temperature"),
    OPT("eps", CLI_DOUBLE, eps, "0.001", "approx_ap: objective -log(AP + eps)"),
    OPT("alpha", CLI_DOUBLE, alpha, "0.25", "focal: weight of positives"),
    OPT("gamma", CLI_DOUBLE, gamma, "2", "focal: focusing exponent"),
    OPT("neg-per-pos", CLI_INT, neg_per_pos, "3", "ce_ohem: hard negatives kept per positive"),
    OPT("box-loss", CLI_BOOL, box_loss, "1", "box regression (0: off, as Figure 5b)"),
    OPT("batch", CLI_INT, batch, "16", "images per step, all their scores ranked together"),
    OPT("train-size", CLI_INT, train_size, "512", "training input side S (S×S)"),
    OPT("epochs", CLI_DOUBLE, epochs, "160", "length of the run in epochs"),
    OPT("steps", CLI_INT64, steps, "0", "length of the run in steps (> 0 overrides epochs)"),
    OPT("lr", CLI_DOUBLE, lr, "0.001", "base learning rate"),
    OPT("momentum", CLI_DOUBLE, momentum, "0.9", "SGD momentum"),
    OPT("weight-decay", CLI_DOUBLE, weight_decay, "0.0001", "SGD weight decay"),
    OPT("warmup-steps", CLI_INT, warmup_steps, "500", "linear warm-up steps"),
    OPT("warmup-factor", CLI_DOUBLE, warmup_factor, "0.333333333333", "lr factor at step 0"),
    OPT("lr-steps", CLI_STRING, lr_steps, "110,140", "epochs at which lr is multiplied by lr-gamma"),
    OPT("lr-gamma", CLI_DOUBLE, lr_gamma, "0.1", "factor at each lr step"),
    OPT("clip-grad", CLI_DOUBLE, clip_grad, "0",
        "cap on the gradients' global L2 norm before each update (0: none)"),
    OPT("augment", CLI_BOOL, augment, "1", "SSD-style training augmentation"),
    OPT("eval-every", CLI_INT64, eval_every, "0", "steps between evaluations (0: at the end only)"),
    OPT("test-size", CLI_INT, test_size, "0", "test short side (0: the preset's; 600 for paper)"),
    OPT("test-scales", CLI_STRING, test_scales, "",
        "multi-scale test: short sides \"400,500,600\" (\"\": test-size only)"),
    OPT("test-flip", CLI_BOOL, test_flip, "0", "multi-scale test: the mirrored image too"),
    OPT("eval-limit", CLI_INT64, eval_limit, "0", "evaluate on the first N images (0: all)"),
    OPT("out", CLI_STRING, out, "results/run", "run directory (log.h5, checkpoint.h5, ...)"),
    OPT("seed", CLI_INT64, seed, "1", "weights, data order and augmentation"),
    OPT("threads", CLI_INT, threads, "2", "compute and data threads (results do not depend on it)"),
    OPT("log-every", CLI_INT64, log_every, "10", "steps per row of the run log's train/ group"),
    OPT("checkpoint-every", CLI_INT64, checkpoint_every, "500",
        "steps between checkpoints (0: at a signal and at the end only)"),
    OPT("resume", CLI_BOOL, resume, "0", "continue the run in out/ from out/checkpoint.h5"),
    OPT("progress", CLI_BOOL, progress, "1", "progress display on stderr"),
};

const cli_spec train_run_spec = {
    "rankdet train", "CONFIG.cfg [key=value ...] | --key value ...",
    "Trains RetinaNet with a registry classification loss on a VOC, COCO or YOLO dataset:\n"
    "run log (log.h5), checkpoints, final weights, evaluation metrics and detections in out/.\n"
    "CONFIG is a `key = value` file (experiments/*.cfg); key=value arguments override it.\n"
    "`resume=1` continues an interrupted run bit for bit; SIGINT/SIGTERM checkpoint and stop.",
    train_run_opts, (int)(sizeof train_run_opts / sizeof train_run_opts[0])};
