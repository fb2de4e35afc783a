#!/usr/bin/python3
"""Reference outputs of torchvision 0.14's RetinaNet for the parity tests of rankdet's model.

Run from the repository root with Debian's Python (torch 1.13, torchvision 0.14, h5py):
    /usr/bin/python3 tests/make_torchvision_fixtures.py
It writes, deterministically:
  tests/fixtures/tv_r50.h5     retinanet_resnet50_fpn (91 classes)
  tests/fixtures/tv_r18.h5     a ResNet-18 FPN RetinaNet (20 classes)
      weights from the generator below (the C test rebuilds them bit for bit from the seed and
      the gains stored as attributes, tests/tv_weights.c), one generated 8-bit RGB image, the
      test transform with min_size/max_size reduced so the test runs in seconds; stored: the
      network input size, FPN levels and head outputs as shapes, per-level sums and sums of
      absolute values plus sampled values, and the full detection list.
  tests/fixtures/tv_narrow_p5.h5, tv_narrow_c5.h5  a narrow ResNet-18-shaped RetinaNet built from torchvision's own
      modules with torchvision's initialisation (BatchNorm statistics drawn at random), its
      state_dict exported as rankdet's checkpoint format (state_dict/, float32, OIHW, without
      num_batches_tracked) and its FPN/head outputs on generated input tensors (64 x 96, and
      70 x 90 whose levels are not halvings of each other); P6 on P5
      (LastLevelP6P7(C, C), torchvision) and on C5 (LastLevelP6P7(C5, C), the paper).
Random initialisation gives no detection above 0.05, so the generator's class-logit gain is
raised and the seed re-drawn until the detection list is non-empty and free of decisions
within 1e-4 of a threshold (score vs 0.05, IoU vs 0.5 in NMS, the 1000 and 300 cut-offs).

The generator (keep in step with tests/tv_weights.c): per tensor, a splitmix64 stream started
at fnv1a64(name) + seed * 0x9E3779B97F4A7C15; draw i is mix(state + (i + 1) * golden);
u = (draw >> 40) * 2^-24; s = 2u - 1 (exact in double); then, in double, rounded once to
float32:
  convolution weight: s * sqrt(3 / fan_in) * gain, gain = gain_cls for cls_logits,
                      gain_box for bbox_reg, 1 in the FPN, sqrt(2) elsewhere
  BatchNorm weight 0.5 + 0.25 s; BatchNorm bias and running_mean 0.1 s; running_var 1 + 0.5 s
  convolution bias 0.1 s, except cls_logits.bias = -log(99)
  the image: draw >> 56 as uint8 (name "image"); the narrow model's input: s (name "input").
"""
import math
import os
import sys

import h5py
import numpy as np
import torch
import torchvision
from torchvision.models import resnet
from torchvision.models.detection import retinanet_resnet50_fpn
from torchvision.models.detection.backbone_utils import BackboneWithFPN, _resnet_fpn_extractor
from torchvision.models.detection.retinanet import RetinaNet
from torchvision.ops import boxes as box_ops
from torchvision.ops.feature_pyramid_network import LastLevelP6P7

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
SAMPLES_FPN = 48
SAMPLES_HEAD = 256
torch.set_num_threads(2)
np.seterr(over="ignore")


def fnv1a64(name):
    h = 0xCBF29CE484222325
    for b in name.encode():
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def draws(name, seed, count):
    """The raw 64-bit draws of a tensor's stream."""
    state = np.uint64((fnv1a64(name) + seed * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
    z = state + (np.arange(1, count + 1, dtype=np.uint64) * GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def uniform_pm1(name, seed, count):
    u = (draws(name, seed, count) >> np.uint64(40)).astype(np.float64) * 2.0 ** -24
    return 2.0 * u - 1.0


def is_bn(name):
    return ".bn" in name or ".downsample.1." in name


def tensor_values(name, shape, seed, gain_cls, gain_box):
    count = int(np.prod(shape)) if len(shape) else 1
    s = uniform_pm1(name, seed, count)
    leaf = name.rsplit(".", 1)[1]
    if len(shape) == 4:
        fan_in = shape[1] * shape[2] * shape[3]
        if name.endswith("cls_logits.weight"):
            gain = gain_cls
        elif name.endswith("bbox_reg.weight"):
            gain = gain_box
        elif name.startswith("backbone.fpn."):
            gain = 1.0
        else:
            gain = math.sqrt(2.0)
        v = s * (math.sqrt(3.0 / fan_in) * gain)
    elif is_bn(name) and leaf == "weight":
        v = 0.5 + 0.25 * s
    elif is_bn(name) and leaf == "running_var":
        v = 1.0 + 0.5 * s
    elif name.endswith("cls_logits.bias"):
        v = np.full(count, -math.log(99.0))
    else:  # BatchNorm bias, running_mean, convolution biases
        v = 0.1 * s
    return v.astype(np.float32).reshape(shape)


def generated_image(seed, height, width):
    d = draws("image", seed, height * width * 3) >> np.uint64(56)
    return d.astype(np.uint8).reshape(height, width, 3)


def set_generated_weights(model, seed, gain_cls, gain_box):
    sd = model.state_dict()
    for name, t in sd.items():
        if name.endswith("num_batches_tracked"):
            continue
        t.copy_(torch.from_numpy(tensor_values(name, tuple(t.shape), seed, gain_cls, gain_box)))
    model.load_state_dict(sd)


def resnet18_fpn_retinanet(num_classes, min_size, max_size):
    backbone = resnet.resnet18(weights=None)
    backbone = _resnet_fpn_extractor(backbone, 5, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(256, 256))
    return RetinaNet(backbone, num_classes, min_size=min_size, max_size=max_size)


def forward_all(model, img_u8):
    """Transform, FPN, head, anchors and detections of one image, as RetinaNet.forward."""
    x = torch.from_numpy(img_u8).permute(2, 0, 1).float() / 255
    with torch.no_grad():
        images, _ = model.transform([x])
        feats = list(model.backbone(images.tensors).values())
        head = model.head(feats)
        anchors = model.anchor_generator(images, feats)
        dets = model([x])[0]
    return images, feats, head, anchors, dets


def borderline(model, head, anchors, images, feats):
    """Decisions within 1e-4 of a threshold in torchvision's postprocess (see the docstring)."""
    hw = [f.shape[-2] * f.shape[-1] for f in feats]
    a = head["cls_logits"].shape[1] // sum(hw)
    split = [h * a for h in hw]
    cls = head["cls_logits"][0].split(split)
    reg = head["bbox_regression"][0].split(split)
    anc = anchors[0].split(split)
    boxes, scores, labels = [], [], []
    for c, r, an in zip(cls, reg, anc):
        sc = torch.sigmoid(c).flatten()
        if ((sc - model.score_thresh).abs() <= 1e-4 * model.score_thresh).any():
            return "a score within 1e-4 of 0.05"
        keep = torch.where(sc > model.score_thresh)[0]
        if len(keep) >= model.topk_candidates:
            return "the top-1000 cut-off is reached"
        k = c.shape[-1]
        b = model.box_coder.decode_single(r[keep // k], an[keep // k])
        boxes.append(box_ops.clip_boxes_to_image(b, images.image_sizes[0]))
        scores.append(sc[keep])
        labels.append(keep % k)
    boxes, scores, labels = torch.cat(boxes), torch.cat(scores), torch.cat(labels)
    iou = box_ops.box_iou(boxes, boxes)
    same = labels[:, None] == labels[None, :]
    if ((iou - 0.5).abs() <= 1e-4)[same].any():
        return "an IoU within 1e-4 of 0.5"
    keep = box_ops.batched_nms(boxes, scores, labels, 0.5)
    if len(keep) >= model.detections_per_img:
        return "the keep-300 cut-off is reached"
    return None


def sample_indices(count, n, rng):
    return np.sort(rng.choice(count, size=min(n, count), replace=False)).astype(np.int64)


def write_tensor_summary(g, name, t, n, rng):
    a = t.detach().numpy().astype(np.float32)
    g.create_dataset(name + "_shape", data=np.array(a.shape, dtype=np.int64))
    g.create_dataset(name + "_sum", data=np.array([a.astype(np.float64).sum()]))
    g.create_dataset(name + "_abs", data=np.array([np.abs(a.astype(np.float64)).sum()]))
    idx = sample_indices(a.size, n, rng)
    g.create_dataset(name + "_idx", data=idx)
    g.create_dataset(name + "_val", data=a.reshape(-1)[idx])


def write_outputs(f, feats, head, rng, prefix=""):
    for level, t in zip(["P3", "P4", "P5", "P6", "P7"], feats):
        write_tensor_summary(f, prefix + "fpn/" + level, t, SAMPLES_FPN, rng)
    write_tensor_summary(f, prefix + "head/cls_logits", head["cls_logits"], SAMPLES_HEAD, rng)
    write_tensor_summary(f, prefix + "head/bbox_regression", head["bbox_regression"],
                         SAMPLES_HEAD, rng)


def make_parity(path, build, depth, num_classes, min_size, max_size, img_hw, gain_cls):
    gain_box = 0.1
    model = build(num_classes, min_size, max_size).eval()
    for seed in range(1, 200):
        set_generated_weights(model, seed, gain_cls, gain_box)
        img = generated_image(seed, *img_hw)
        images, feats, head, anchors, dets = forward_all(model, img)
        why = borderline(model, head, anchors, images, feats)
        n = len(dets["boxes"])
        print(f"{os.path.basename(path)} seed {seed}: {n} detections"
              + (f", rejected: {why}" if why else ""))
        if n >= 5 and why is None:
            break
    else:
        sys.exit(f"{path}: no seed gave clean detections")
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        for k, v in dict(seed=seed, depth=depth, num_classes=num_classes, min_size=min_size,
                         max_size=max_size, image_h=img_hw[0], image_w=img_hw[1],
                         gain_cls=gain_cls, gain_box=gain_box).items():
            f.attrs[k] = v
        f.attrs["torchvision"] = torchvision.__version__
        f.create_dataset("input_size", data=np.array(images.tensors.shape[-2:], dtype=np.int64))
        f.create_dataset("image_size", data=np.array(images.image_sizes[0], dtype=np.int64))
        write_outputs(f, feats, head, rng)
        f.create_dataset("anchors/anchors_sum", data=np.array([anchors[0].double().sum()]))
        f.create_dataset("detections/boxes", data=dets["boxes"].numpy().astype(np.float32))
        f.create_dataset("detections/boxes_flat",
                         data=dets["boxes"].numpy().astype(np.float32).reshape(-1))
        f.create_dataset("detections/scores", data=dets["scores"].numpy().astype(np.float32))
        f.create_dataset("detections/labels", data=dets["labels"].numpy().astype(np.int64))


def narrow_resnet18(width):
    """torchvision's ResNet-18 rebuilt with stem width `width` through its own _make_layer."""
    r = resnet.resnet18(weights=None)
    r.inplanes = width
    r.conv1 = torch.nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
    r.bn1 = r._norm_layer(width)
    r.layer1 = r._make_layer(resnet.BasicBlock, width, 2)
    r.layer2 = r._make_layer(resnet.BasicBlock, 2 * width, 2, stride=2)
    r.layer3 = r._make_layer(resnet.BasicBlock, 4 * width, 2, stride=2)
    r.layer4 = r._make_layer(resnet.BasicBlock, 8 * width, 2, stride=2)
    for m in r.modules():  # torchvision's ResNet initialisation
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return r


def make_narrow(path, p6_from_c5, width=4, fpn_channels=8, num_classes=3, size=(64, 96),
                odd=(70, 90)):
    torch.manual_seed(7)
    # LastLevelP6P7(in, out) takes P6 from C5 when in != out (the paper's convention).
    extra = LastLevelP6P7(8 * width if p6_from_c5 else fpn_channels, fpn_channels)
    backbone = BackboneWithFPN(narrow_resnet18(width), {"layer2": "0", "layer3": "1",
                                                        "layer4": "2"},
                               [2 * width, 4 * width, 8 * width], fpn_channels,
                               extra_blocks=extra)
    model = RetinaNet(backbone, num_classes).eval()
    for m in model.modules():  # non-trivial BatchNorm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    def run(h, w):
        x = torch.from_numpy(uniform_pm1("input", 0, 3 * h * w).astype(np.float32))
        with torch.no_grad():
            feats = list(model.backbone(x.reshape(1, 3, h, w)).values())
            return feats, model.head(feats)

    feats, head = run(*size)
    odd_feats, odd_head = run(*odd)  # sides not multiples of 32: uneven top-down sizes
    rng = np.random.default_rng(3)
    with h5py.File(path, "w") as f:
        for k, v in dict(width=width, fpn_channels=fpn_channels, num_classes=num_classes,
                         input_h=size[0], input_w=size[1], odd_h=odd[0], odd_w=odd[1],
                         p6_from_c5=int(p6_from_c5)).items():
            f.attrs[k] = v
        f.attrs["torchvision"] = torchvision.__version__
        names = []
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            f.create_dataset("state_dict/" + name, data=t.numpy().astype(np.float32))
            names.append(name)
        f.create_dataset("names", data=np.array(names, dtype=h5py.string_dtype()))
        write_outputs(f, feats, head, rng)
        write_outputs(f, odd_feats, odd_head, rng, "odd/")


def main():
    os.makedirs(OUT, exist_ok=True)
    make_parity(os.path.join(OUT, "tv_r50.h5"),
                lambda k, lo, hi: retinanet_resnet50_fpn(weights=None, weights_backbone=None,
                                                         num_classes=k, min_size=lo, max_size=hi),
                50, 91, 128, 192, (60, 80), 1.0)
    make_parity(os.path.join(OUT, "tv_r18.h5"), resnet18_fpn_retinanet, 18, 20, 160, 224,
                (90, 70), 0.5)
    make_narrow(os.path.join(OUT, "tv_narrow_p5.h5"), False)
    make_narrow(os.path.join(OUT, "tv_narrow_c5.h5"), True)


if __name__ == "__main__":
    main()
