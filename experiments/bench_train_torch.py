#!/usr/bin/python3
"""bench_train_torch.py — the PyTorch side of `rankdet bench train`: one training step of
torchvision 0.14's RetinaNet with a ResNet-18 (--depth) FPN backbone (P3-P7, P6 on P5, 9 anchors per
place), FrozenBatchNorm2d everywhere and the stem and layer1 frozen (trainable_backbone_layers
3, as retinanet_resnet50_fpn builds it), K classes, sigmoid focal loss and L1 box loss, SGD with
momentum 0.9 and weight decay 1e-4 — on a fixed batch of random images with fixed boxes (the
same boxes the C side uses), on a given number of threads.

Prints one JSON line: threads, steps, median_s (median seconds of one step: forward, loss,
backward, SGD), step_s (every timed step), max_rss_mib (the process's peak resident memory),
baseline_rss_mib (peak after importing torch, before the model), versions and whether oneDNN
(MKL-DNN) is on. Run by `rankdet bench train` in its own process per thread count, so the peak
memory is this configuration's alone:
  /usr/bin/python3 experiments/bench_train_torch.py --threads 1 [--steps 10 --warmup 3
      --batch 2 --size 256 --classes 20 --depth 18]
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10, help="timed steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--classes", type=int, default=20)
    p.add_argument("--depth", type=int, default=18, choices=[18, 34, 50, 101])
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args()


# The fixed ground truth of image i (x1, y1, x2, y2 in a 256 × 256 image, 0-based labels);
# experiments/bench_train.c uses the same (bench_train_boxes).
def boxes_of(i, size, classes):
    s = size / 256.0
    boxes = [[16 + 8 * i, 24, 112 + 8 * i, 136], [120, 60, 230, 200], [40, 150, 90, 240]]
    labels = [(1 + i) % classes, 5 % classes, 12 % classes]
    return [[v * s for v in b] for b in boxes], labels


def build(args, torch, torchvision):
    from torchvision.models.detection import RetinaNet
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.ops.feature_pyramid_network import LastLevelP6P7
    from torchvision.ops.misc import FrozenBatchNorm2d
    body = getattr(torchvision.models, "resnet%d" % args.depth)(weights=None,
                                                                 norm_layer=FrozenBatchNorm2d)
    backbone = _resnet_fpn_extractor(body, 3, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(256, 256))
    model = RetinaNet(backbone, num_classes=args.classes, min_size=args.size,
                      max_size=args.size)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.001, momentum=0.9, weight_decay=1e-4)
    return model, opt


def main():
    args = parse()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch
    import torchvision
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    baseline = rss_mib()
    model, opt = build(args, torch, torchvision)
    images = [torch.rand(3, args.size, args.size) for _ in range(args.batch)]
    targets = []
    for i in range(args.batch):
        boxes, labels = boxes_of(i, args.size, args.classes)
        targets.append({"boxes": torch.tensor(boxes, dtype=torch.float32),
                        "labels": torch.tensor(labels, dtype=torch.int64)})
    times = []
    for step in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        losses = model(images, targets)
        loss = sum(losses.values())
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        if step >= args.warmup:
            times.append(t1 - t0)
    print(json.dumps({
        "threads": args.threads, "steps": args.steps, "median_s": statistics.median(times),
        "step_s": times, "max_rss_mib": rss_mib(), "baseline_rss_mib": baseline,
        "loss": float(loss), "torch": torch.__version__, "torchvision": torchvision.__version__,
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
