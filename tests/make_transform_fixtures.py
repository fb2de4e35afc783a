#!/usr/bin/python3
"""make_transform_fixtures.py — reference tensors for the test transform (data/transform.c).

Writes tests/fixtures/transform_reference.txt, read by tests/test_transform.c. Each case is a
small seeded uint8 RGB image (HWC) put through torchvision 0.14 exactly as a detector sees it:
to_tensor (x / 255), then GeneralizedRCNNTransform in eval mode with small min_size/max_size
(normalise, resize by min(min/short, max/long) with bilinear interpolation, zero padding to a
multiple of 32), plus torchvision's resize_boxes on a few boxes. Small sizes keep the file
small while covering upscaling, downscaling, the long-side bound, the identity copy and the
last-index clamp.

File format, one block per case (numbers separated by spaces, one line each):
  case NAME H W MIN_SIZE MAX_SIZE
  mean m0 m1 m2              %.9g float32
  std s0 s1 s2               %.9g float32
  pixels p_0 ... p_{3HW-1}   uint8, [H][W][3]
  scale S                    %.9g, the float32 resize factor
  resized OH OW
  padded PH PW
  output v_0 ...             %.9g, [3][PH][PW] float32
  boxes N x1 y1 x2 y2 ...    %.9g, input boxes in image pixels
  resized_boxes x1 y1 ...    %.9g, after resize_boxes
  end
Run with Debian's python (torch 1.13, torchvision 0.14) from the repository root:
  /usr/bin/python3 tests/make_transform_fixtures.py
"""
import os

import numpy as np
import torch
import torchvision
from torchvision.models.detection.transform import GeneralizedRCNNTransform, resize_boxes
from torchvision.transforms import functional as TF

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures",
                   "transform_reference.txt")

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]

# name, H, W, min_size, max_size
CASES = [
    ("upscale", 7, 5, 16.0, 40.0),
    ("downscale", 48, 64, 20.0, 40.0),
    ("long_bound", 9, 31, 20.0, 33.0),
    ("identity", 20, 30, 20.0, 33.0),
    ("odd_ratio", 13, 17, 23.0, 100.0),
    ("tall", 37, 11, 15.0, 45.0),
]


def fmt(values):
    return " ".join("%.9g" % v for v in np.asarray(values, dtype=np.float32).ravel())


def one_case(f, rng, name, h, w, min_size, max_size):
    pixels = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    image = TF.to_tensor(pixels)  # [3][H][W] float32 in [0, 1]
    t = GeneralizedRCNNTransform(min_size, max_size, MEAN, STD)
    t.eval()
    x1 = rng.uniform(0, w * 0.6, size=3)
    y1 = rng.uniform(0, h * 0.6, size=3)
    boxes = np.stack([x1, y1, x1 + rng.uniform(0.5, w * 0.4, 3),
                      y1 + rng.uniform(0.5, h * 0.4, 3)], axis=1).astype(np.float32)
    targets = [{"boxes": torch.from_numpy(boxes.copy()),
                "labels": torch.zeros(3, dtype=torch.int64)}]
    with torch.no_grad():
        batch, out_targets = t([image], targets)
    oh, ow = batch.image_sizes[0]
    ph, pw = batch.tensors.shape[-2:]
    scale = torch.min(min_size / torch.tensor(float(min(h, w))),
                      max_size / torch.tensor(float(max(h, w))))
    # the boxes the transform returns come from resize_boxes; recompute to check the call
    again = resize_boxes(torch.from_numpy(boxes.copy()), (h, w), (oh, ow))
    assert torch.equal(again, out_targets[0]["boxes"])
    f.write("case %s %d %d %.9g %.9g\n" % (name, h, w, min_size, max_size))
    f.write("mean %s\n" % fmt(MEAN))
    f.write("std %s\n" % fmt(STD))
    f.write("pixels %s\n" % " ".join(str(int(p)) for p in pixels.ravel()))
    f.write("scale %.9g\n" % scale.item())
    f.write("resized %d %d\n" % (oh, ow))
    f.write("padded %d %d\n" % (ph, pw))
    f.write("output %s\n" % fmt(batch.tensors[0].numpy()))
    f.write("boxes %d %s\n" % (len(boxes), fmt(boxes)))
    f.write("resized_boxes %s\n" % fmt(out_targets[0]["boxes"].numpy()))
    f.write("end\n")


def main():
    assert torchvision.__version__.startswith("0.14"), torchvision.__version__
    torch.set_num_threads(1)
    rng = np.random.default_rng(20190615)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("# transform_reference.txt — written by tests/make_transform_fixtures.py "
                "(torchvision %s); do not edit by hand.\n" % torchvision.__version__)
        for case in CASES:
            one_case(f, rng, *case)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
