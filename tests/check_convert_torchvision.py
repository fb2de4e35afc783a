#!/usr/bin/python3
"""End-to-end check of experiments/convert_torchvision.py against rankdet's own loader.

Run from the repository root after `make` (it links build/librankdet.a), with Debian's Python
(torch 1.13, torchvision 0.14, h5py); no network is needed:
    /usr/bin/python3 tests/check_convert_torchvision.py
For randomly initialised torchvision resnet18, resnet50 (ImageNet classifiers, seeded) and
retinanet_resnet50_fpn (91 classes) it saves the state_dict as a .pth, converts it, checks the
HDF5 file (names, float32, num_batches_tracked and fc.* dropped, values bit for bit), then runs
a small C program built against build/librankdet.a that creates a rankdet model of that depth,
loads the file with checkpoint_load_matching (the classifiers) or checkpoint_load (the
detector), prints the count, and saves the model back; the saved tensors must equal torch's.
It is not a check suite (the files are hundreds of MB and the models take a minute to build);
it prints one line per model and exits non-zero on any mismatch.
"""
import os
import shlex
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONVERT = os.path.join(ROOT, "experiments", "convert_torchvision.py")
LIBS = "hdf5 gsl openblas libjpeg libpng libxml-2.0 libcjson"

C_LOADER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "detector/checkpoint.h"

/* argv: weights.h5 depth strict(0: load_matching, 1: checkpoint_load) num_classes back.h5 */
int main(int argc, char **argv)
{
    if (argc != 6)
        return 2;
    retinanet_config c;
    int strict = atoi(argv[3]);
    retinanet_config_default(&c, !strict);
    c.depth = atoi(argv[2]);
    c.num_classes = atoi(argv[4]);
    retinanet *m = retinanet_create_inference(&c);
    int body = 0, loaded = 0;
    for (int i = 0; i < m->nparams; i++)
        body += strncmp(m->params[i].name, "backbone.body.", 14) == 0;
    static char err[1 << 16];
    int rc = strict ? checkpoint_load(argv[1], m, err, sizeof err)
                    : checkpoint_load_matching(argv[1], m, &loaded, err, sizeof err);
    if (strict && rc == 0)
        loaded = m->nparams;
    if (rc == 0)
        rc = checkpoint_save(argv[5], m, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("%d %d %d\n", loaded, body, m->nparams);
    retinanet_destroy(m);
    return 0;
}
"""


def build_loader(tmp):
    src, exe = os.path.join(tmp, "load.c"), os.path.join(tmp, "load")
    with open(src, "w") as f:
        f.write(C_LOADER)
    lib = os.path.join(ROOT, "build", "librankdet.a")
    if not os.path.exists(lib):
        sys.exit(f"check_convert_torchvision: {lib} is missing; run make first")
    flags = subprocess.check_output(["pkg-config", "--cflags", "--libs"] + LIBS.split(),
                                    text=True)
    cmd = (f"gcc -std=c11 -D_GNU_SOURCE -O2 -fopenmp -I{shlex.quote(ROOT)} {src} {lib} "
           f"-lgsl {flags.strip()} -lm -o {exe}")
    subprocess.run(cmd, shell=True, check=True)
    return exe


def check_model(name, model, depth, strict, num_classes, loader, tmp):
    """Convert model's state_dict and load it into rankdet; one summary line, or exit 1."""
    sd = model.state_dict()
    pth, h5, back = (os.path.join(tmp, f"{name}.{e}") for e in ("pth", "h5", "back.h5"))
    torch.save(sd, pth)
    r = subprocess.run([sys.executable, CONVERT, pth, h5], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{name}: the converter failed:\n{r.stderr}")
    prefix = "" if strict else "backbone.body."
    want = {prefix + n: t.numpy() for n, t in sd.items()
            if not n.endswith("num_batches_tracked") and not n.startswith("fc.")}
    problems = []
    with h5py.File(h5, "r") as f:
        names = set(f["state_dict"].keys())
        if names != set(want):
            problems.append(f"names differ: extra {sorted(names - set(want))[:3]}, "
                            f"missing {sorted(set(want) - names)[:3]}")
        for n in names & set(want):
            d = f["state_dict"][n]
            if d.dtype != np.dtype("<f4") or not np.array_equal(d[()], want[n]):
                problems.append(f"{n}: {d.dtype} {d.shape} differs")
    r = subprocess.run([loader, h5, str(depth), str(int(strict)), str(num_classes), back],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{name}: rankdet refused the converted file:\n{r.stderr}")
    loaded, body, nparams = map(int, r.stdout.split())
    expect = nparams if strict else body
    if loaded != expect or loaded != len(want):
        problems.append(f"loaded {loaded} tensors; the model has {body} backbone.body tensors "
                        f"of {nparams}, the file {len(want)}")
    with h5py.File(back, "r") as f:
        for n, a in want.items():
            if not np.array_equal(f["state_dict"][n][()], a):
                problems.append(f"{n} differs after the load")
    print(f"{name}: {r.stdout.strip().split()[0]} tensors loaded by "
          f"{'checkpoint_load' if strict else 'checkpoint_load_matching'} into a depth-{depth} "
          f"model ({body} backbone.body tensors, {nparams} in all); "
          f"{'OK' if not problems else 'FAILED'}")
    for p in problems[:10]:
        print("  " + p)
    for p in (pth, h5, back):
        os.remove(p)
    return not problems


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        loader = build_loader(tmp)
        for depth in (18, 50):
            net = getattr(torchvision.models, f"resnet{depth}")(weights=None)
            with torch.no_grad():  # BatchNorm statistics away from their 0 / 1 defaults
                for mod in net.modules():
                    if isinstance(mod, torch.nn.BatchNorm2d):
                        mod.running_mean.uniform_(-0.5, 0.5)
                        mod.running_var.uniform_(0.5, 1.5)
            ok &= check_model(f"resnet{depth}", net, depth, False, 20, loader, tmp)
        det = torchvision.models.detection.retinanet_resnet50_fpn(
            weights=None, weights_backbone=None, num_classes=91)
        ok &= check_model("retinanet_resnet50_fpn", det, 50, True, 91, loader, tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
