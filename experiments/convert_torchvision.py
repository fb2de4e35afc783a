#!/usr/bin/python3
"""Convert torchvision weights into rankdet's HDF5 weights (DESIGN.md, "Checkpoints and weights").

Usage (Debian's Python, which has torch and h5py):
    /usr/bin/python3 experiments/convert_torchvision.py IN.pth OUT.h5 [--kind auto|resnet|retinanet]

IN.pth is a torch.save'd state_dict (or a dict holding one under "model" or "state_dict", as
torchvision's reference training scripts save them) of either
  - a classification ResNet (torchvision.models.resnet18/34/50/101, ImageNet weights): its names
    get the prefix "backbone.body." and the classifier fc.* is dropped, so the file starts the
    backbone of a rankdet detector of the same depth (PRESET=paper runs: pretrained=OUT.h5);
  - a RetinaNet (torchvision.models.detection.retinanet_resnet50_fpn): names are kept as they
    are, so the file loads whole (rankdet detect --weights, or pretrained= for fine-tuning).
Every tensor is stored as float32 under state_dict/<name> (convolution weights OIHW, as PyTorch
keeps them); BatchNorm's num_batches_tracked counters and a DataParallel "module." prefix are
dropped. The file is written to OUT.h5.tmp.<pid> and renamed, so OUT.h5 is never half written.

Example (a machine with network access fetches the ImageNet weights once):
    /usr/bin/python3 -c "import torch, torchvision; torch.save(torchvision.models.resnet50(
        weights='IMAGENET1K_V1').state_dict(), 'resnet50.pth')"
    /usr/bin/python3 experiments/convert_torchvision.py resnet50.pth weights/resnet50.h5
    weights/resnet50.h5: 265 tensors of a resnet50 backbone (53 num_batches_tracked and 2 fc
    dropped); a depth-50 model starts from it with pretrained=weights/resnet50.h5

Exit status: 0 done, 1 the input is not weights this converts, 2 usage.
"""
import argparse
import os
import re
import sys

import h5py
import numpy as np

FORMAT = "rankdet checkpoint"
FORMAT_VERSION = 1  # detector/checkpoint.h CHECKPOINT_FORMAT_VERSION
BODY = "backbone.body."
# Blocks per stage of the torchvision ResNets, and whether their blocks are bottlenecks.
DEPTHS = {(2, 2, 2, 2, False): 18, (3, 4, 6, 3, False): 34, (3, 4, 6, 3, True): 50,
          (3, 4, 23, 3, True): 101, (3, 8, 36, 3, True): 152}


class ConvertError(Exception):
    """The input is not weights this script converts; the message says why."""


def load_state_dict(path):
    """The name -> tensor mapping saved in path."""
    import torch  # imported here so --help works without torch

    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # torch raises many kinds for a file that is not a torch.save
        raise ConvertError(f"{path}: cannot be read by torch.load ({e.__class__.__name__}: {e})")
    for key in ("model", "state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        obj = obj.state_dict()
    if not isinstance(obj, dict) or not obj:
        raise ConvertError(f"{path}: holds no state_dict (a non-empty name -> tensor mapping)")
    out = {}
    for name, t in obj.items():
        if not hasattr(t, "detach"):
            raise ConvertError(f"{path}: entry '{name}' is a {type(t).__name__}, not a tensor")
        out[name[7:] if name.startswith("module.") else name] = t.detach().cpu()
    return out


def resnet_depth(names, prefix):
    """Depth of the torchvision ResNet whose tensors are named prefix + 'layerS.B....', or None."""
    blocks = [0, 0, 0, 0]
    bottleneck = False
    for n in names:
        m = re.match(re.escape(prefix) + r"layer([1-4])\.(\d+)\.(conv\d)\.weight$", n)
        if m:
            s, b = int(m.group(1)) - 1, int(m.group(2))
            blocks[s] = max(blocks[s], b + 1)
            bottleneck = bottleneck or m.group(3) == "conv3"
    return DEPTHS.get((*blocks, bottleneck))


def convert(sd, kind, path):
    """(rankdet name -> float32 array, kind, depth, dropped names) for the state_dict sd."""
    is_detector = any(n.startswith(BODY) for n in sd)
    if kind == "auto":
        kind = "retinanet" if is_detector else "resnet"
    if kind == "resnet" and is_detector:
        raise ConvertError(f"{path}: names start with '{BODY}': a detector, use --kind retinanet")
    if kind == "resnet" and "conv1.weight" not in sd:
        raise ConvertError(f"{path}: no tensor conv1.weight: not a torchvision ResNet")
    if kind == "retinanet" and not is_detector:
        raise ConvertError(f"{path}: no tensor named '{BODY}...': not a torchvision RetinaNet")
    out, dropped = {}, []
    for name, t in sd.items():
        if name.endswith("num_batches_tracked") or (kind == "resnet" and name.startswith("fc.")):
            dropped.append(name)
            continue
        if not t.is_floating_point():
            raise ConvertError(f"{path}: tensor '{name}' is {t.dtype}, not floating point")
        out[(BODY if kind == "resnet" else "") + name] = t.float().contiguous().numpy()
    depth = resnet_depth(out, BODY)
    if depth is None:
        raise ConvertError(f"{path}: the layer1..layer4 blocks are not those of a torchvision "
                           "ResNet-18, 34, 50, 101 or 152")
    return out, kind, depth, dropped


def write_h5(out_path, tensors, kind, depth, source):
    """tensors under state_dict/ in out_path, written to a temporary file and renamed."""
    tmp = f"{out_path}.tmp.{os.getpid()}"
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = np.int64(FORMAT_VERSION)
            f.attrs["model"] = (f"torchvision resnet{depth} backbone" if kind == "resnet"
                                else f"torchvision retinanet resnet{depth}")
            f.attrs["source"] = os.path.abspath(source)
            g = f.create_group("state_dict")
            for name, a in tensors.items():
                g.create_dataset(name, data=a.astype("<f4"))
        os.replace(tmp, out_path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def main(argv):
    p = argparse.ArgumentParser(
        description="Convert a torchvision ResNet or RetinaNet state_dict (.pth) into "
                    "rankdet's HDF5 weights (state_dict/<name>, float32, OIHW).")
    p.add_argument("input", help="the .pth file (torch.save of a state_dict)")
    p.add_argument("output", help="the .h5 file to write")
    p.add_argument("--kind", choices=("auto", "resnet", "retinanet"), default="auto",
                   help="resnet: an ImageNet classifier (prefix backbone.body., fc dropped); "
                        "retinanet: a detector (names kept); auto: decide from the names")
    a = p.parse_args(argv)
    if not os.path.isfile(a.input):
        print(f"convert_torchvision: no such file: {a.input}", file=sys.stderr)
        return 2
    out_dir = os.path.dirname(os.path.abspath(a.output))
    if not os.path.isdir(out_dir):
        print(f"convert_torchvision: the folder of {a.output} does not exist", file=sys.stderr)
        return 2
    try:
        tensors, kind, depth, dropped = convert(load_state_dict(a.input), a.kind, a.input)
    except ConvertError as e:
        print(f"convert_torchvision: {e}", file=sys.stderr)
        return 1
    write_h5(a.output, tensors, kind, depth, a.input)
    fc = sum(n.startswith("fc.") for n in dropped)
    what = f"resnet{depth} backbone" if kind == "resnet" else f"retinanet resnet{depth}"
    print(f"{a.output}: {len(tensors)} tensors of a {what} ({len(dropped) - fc} "
          f"num_batches_tracked{' and ' + str(fc) + ' fc' if fc else ''} dropped); a depth-{depth} "
          f"model starts from it with pretrained={a.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
