#!/usr/bin/python3
"""bench_data_pil.py — the peer of `rankdet bench data`: the same training pipeline in PIL and
torchvision transforms, timed on the same images.

Per image: read the file, decode it (PIL, convert to RGB), SSD-style augmentation with the
draws of the AP-loss release (brightness, contrast before or after saturation and hue, a
channel swap, each with probability 1/2; expansion up to 4x filled with the mean with
probability 1/2; the IoU-constrained random crop keeping boxes whose centre it holds; a flip
with probability 1/2), resize to SIZE x SIZE (bilinear), to_tensor and normalise with the
ImageNet mean and std. torchvision.transforms.functional does each step the way a PyTorch user
would write it. Boxes follow as in rankdet.

--procs P runs P worker processes (the GIL rules out threads), each with one torch thread, over
the image list; an image is the work unit. After one warm-up pass the script times --epochs
passes and prints one line:
  pil images=N seconds=T images_per_second=R procs=P
It exits 3 when torch, torchvision or PIL cannot be imported (the bench then says so).

  /usr/bin/python3 experiments/bench_data_pil.py --root ../shared/datasets/coco128 --procs 1
"""
import argparse
import json
import math
import os
import random
import sys
import time

try:
    import numpy as np
    import torch
    import torchvision.transforms.functional as TF
    from PIL import Image
except ImportError as e:  # the bench reports the peer as unavailable
    print("pil unavailable: %s" % e)
    sys.exit(3)

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
MODES = (None, 0.1, 0.3, 0.7, 0.9, -1.0)
PERMS = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))


def load_samples(root):
    """(image path, boxes [n][4] x1 y1 x2 y2) from the COCO JSON of coco128."""
    with open(os.path.join(root, "annotations", "instances_train2017.json")) as f:
        coco = json.load(f)
    boxes = {}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        if w > 0 and h > 0:
            boxes.setdefault(a["image_id"], []).append([x, y, x + w, y + h])
    out = []
    for im in sorted(coco["images"], key=lambda im: im["file_name"]):
        path = os.path.join(root, "images", "train2017", im["file_name"])
        out.append((path, np.array(boxes.get(im["id"], []), dtype=np.float32).reshape(-1, 4)))
    return out


def photometric(img, rng):
    if rng.randint(0, 1):
        img = TF.adjust_brightness(img, 1.0 + rng.uniform(-32, 32) / 128.0)
    first = rng.randint(0, 1)
    if first and rng.randint(0, 1):
        img = TF.adjust_contrast(img, rng.uniform(0.5, 1.5))
    if rng.randint(0, 1):
        img = TF.adjust_saturation(img, rng.uniform(0.5, 1.5))
    if rng.randint(0, 1):
        img = TF.adjust_hue(img, rng.uniform(-18, 18) / 360.0)
    if not first and rng.randint(0, 1):
        img = TF.adjust_contrast(img, rng.uniform(0.5, 1.5))
    if rng.randint(0, 1):
        bands = img.split()
        img = Image.merge("RGB", [bands[k] for k in PERMS[rng.randint(0, 5)]])
    return img


def expand(img, boxes, rng):
    if rng.randint(0, 1):
        return img, boxes
    w, h = img.size
    ratio = rng.uniform(1, 4)
    cw, ch = int(w * ratio), int(h * ratio)
    left, top = int(rng.uniform(0, cw - w)), int(rng.uniform(0, ch - h))
    canvas = Image.new("RGB", (cw, ch), tuple(int(round(255 * m)) for m in MEAN))
    canvas.paste(img, (left, top))
    return canvas, boxes + np.array([left, top, left, top], dtype=np.float32)


def iou(boxes, rect):
    lt = np.maximum(boxes[:, :2], rect[:2])
    rb = np.minimum(boxes[:, 2:], rect[2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    return inter / (area + np.prod(rect[2:] - rect[:2]) - inter)


def crop(img, boxes, rng):
    W, H = img.size
    for _ in range(200):
        mode = MODES[rng.randint(0, 5)]
        if mode is None:
            return img, boxes
        for _ in range(50):
            w, h = rng.uniform(0.3 * W, W), rng.uniform(0.3 * H, H)
            if h / w < 0.5 or h / w > 2 or w < 1 or h < 1:
                continue
            left, top = rng.uniform(0, W - w), rng.uniform(0, H - h)
            rect = np.array([int(left), int(top), int(left + w), int(top + h)], dtype=np.float32)
            if len(boxes):
                if iou(boxes, rect).max() < mode:
                    continue
                c = (boxes[:, :2] + boxes[:, 2:]) / 2
                keep = ((rect[0] < c[:, 0]) & (c[:, 0] < rect[2]) &
                        (rect[1] < c[:, 1]) & (c[:, 1] < rect[3]))
                if not keep.any():
                    continue
                kept = boxes[keep].copy()
                kept[:, :2] = np.maximum(kept[:, :2], rect[:2]) - rect[:2]
                kept[:, 2:] = np.minimum(kept[:, 2:], rect[2:]) - rect[:2]
            else:
                kept = boxes
            return img.crop(tuple(int(v) for v in rect)), kept
    return img, boxes


def pipeline(sample, size, rng):
    path, boxes = sample
    with open(path, "rb") as f:
        img = Image.open(f).convert("RGB")
    img = photometric(img, rng)
    img, boxes = expand(img, boxes, rng)
    img, boxes = crop(img, boxes, rng)
    w, h = img.size
    if rng.randint(0, 1):
        img = TF.hflip(img)
        boxes = boxes.copy()
        boxes[:, [0, 2]] = w - boxes[:, [2, 0]]
    img = TF.resize(img, [size, size], interpolation=TF.InterpolationMode.BILINEAR)
    boxes = boxes * np.array([size / w, size / h, size / w, size / h], dtype=np.float32)
    x = TF.normalize(TF.to_tensor(img), MEAN, STD)
    return x, boxes


def worker(args):
    samples, size, seed, passes = args
    torch.set_num_threads(1)
    rng = random.Random(seed)
    n = 0
    for _ in range(passes):
        for s in samples:
            x, _ = pipeline(s, size, rng)
            n += x.shape[0] > 0
    return n


def run(samples, size, procs, passes, seed):
    """Seconds for `passes` passes over the samples split among `procs` processes."""
    chunks = [samples[k::procs] for k in range(procs)]
    if procs == 1:
        t0 = time.perf_counter()
        worker((chunks[0], size, seed, passes))
        return time.perf_counter() - t0
    import multiprocessing as mp
    with mp.get_context("fork").Pool(procs) as pool:
        pool.map(worker, [(c, size, seed + k, 1) for k, c in enumerate(chunks)])  # warm the pool
        t0 = time.perf_counter()
        pool.map(worker, [(c, size, seed + k, passes) for k, c in enumerate(chunks)])
        return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default="../shared/datasets/coco128")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(1)
    samples = load_samples(a.root)
    worker((samples[:8], a.size, a.seed, 1))  # warm-up: imports, first decodes
    seconds = run(samples, a.size, a.procs, a.epochs, a.seed)
    n = len(samples) * a.epochs
    print("pil images=%d seconds=%.6f images_per_second=%.3f procs=%d"
          % (n, seconds, n / seconds, a.procs))


if __name__ == "__main__":
    main()
