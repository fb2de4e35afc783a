#!/usr/bin/python3
"""make_geometry_fixtures.py — torchvision 0.14 reference values for the detector geometry:
detector/anchors.c, assign.c, box_coder.c, nms.c, postprocess.c and optim/box_loss.c, read by
tests/test_anchors.c, test_assign.c, test_box_coder.c, test_nms.c, test_postprocess.c and
test_box_loss.c.

Writes tests/fixtures/geometry_reference.h5 (float32 unless said otherwise):
  anchors/<case>        torchvision: AnchorGenerator(((32, 40, 50), ...), ((0.5, 1, 2),) * 5) of
                        retinanet_resnet50_fpn on an image of the padded size, feature maps of
                        the ceil(side / 2^l) grids. paper: the AP-loss released code's
                        lib/model/anchors.py (generate_anchors with scales 4·{1, 2^½}, shift,
                        grids (side + 2^l - 1) // 2^l), in float64, then converted from its
                        inclusive pixel-index boxes to continuous ones (x2 + 1, y2 + 1).
                        Dataset `anchors` [A][4]; attrs height, width, grid_h[5], grid_w[5].
  assign/<case>         torchvision.ops.box_iou(gt, anchors) + Matcher(0.5, 0.4, True) as
                        RetinaNet.compute_loss runs it, on anchors/<anchors attr>: gt [G][4],
                        gt_labels [G] int32, matched [A] int32 (Matcher's codes), max_iou [A]
                        (the Matcher's matched_vals), labels [A][K] int8 (compute_loss's
                        gt_classes_target where valid, -1 where BETWEEN_THRESHOLDS); attr K.
  box_coder/            BoxCoder encode_single / decode_single with weights (1, 1, 1, 1) and
                        (10, 10, 5, 5): anchors, boxes, deltas [n][4] and encode_w1, encode_w10,
                        decode_w1, decode_w10 [n][4] (the decoded deltas include dw, dh above
                        the log(1000/16) clip).
  box_loss/             RetinaNetRegressionHead.compute_loss (L1, per image / max(1, fg), mean
                        over images) on anchors/tv_64x64 for two images: gt0, gt1 [G][4],
                        matched [2][A] int32, regression [2][A][4], loss (attr, float64) and
                        its autograd gradient grad [2][A][4].
  nms/                  boxes [n][4], scores [n], labels [n] int32; keep_batched [m] int64
                        (torchvision.ops.batched_nms at 0.5) and keep_single [m] int64
                        (torchvision.ops.nms at 0.5); the script checks that the vanilla
                        per-class batched_nms agrees, so no decision sits on a rounding edge.
  postprocess/<case>    tv: RetinaNet.postprocess_detections (score 0.05, top 1000, NMS 0.5,
                        keep 300) then GeneralizedRCNNTransform.postprocess (resize_boxes) on
                        random logits; paper: the released code's test path (model.py) with
                        its numbers in continuous coordinates. cls_logits [A][K],
                        bbox_regression [A][4], anchors [A][4], level_count [5] int64, and
                        boxes [M][4], scores [M], labels [M] int64; attrs input_h, input_w,
                        orig_h, orig_w, K. Seeds are re-drawn until no two kept candidate scores
                        of a level tie (so order is defined by scores alone).
Deterministic (torch.manual_seed). Needs Debian's python3-torch and python3-torchvision.
Run from the repository root: /usr/bin/python3 tests/make_geometry_fixtures.py
"""
import math
import os
import types

import h5py
import numpy as np
import torch
import torchvision
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.retinanet import RetinaNet, RetinaNetRegressionHead
from torchvision.models.detection.transform import resize_boxes
from torchvision.ops import boxes as box_ops

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures",
                   "geometry_reference.h5")
LEVELS = 5
CLIP = math.log(1000.0 / 16)


def put(g, name, array):
    """A gzip-compressed dataset (the fixture stays small; libhdf5 reads it natively)."""
    g.create_dataset(name, data=np.ascontiguousarray(array), compression="gzip",
                     compression_opts=9, shuffle=True)


def quantized(t):
    """Multiples of 2^-10: exact in float32, and they compress."""
    return torch.round(t * 1024.0) / 1024.0


def grids(h, w):
    return [((h + 2 ** l - 1) // 2 ** l, (w + 2 ** l - 1) // 2 ** l) for l in range(3, 8)]


def tv_anchors(h, w):
    sizes = tuple((x, int(x * 2 ** (1.0 / 3)), int(x * 2 ** (2.0 / 3))) for x in [32, 64, 128, 256, 512])
    gen = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
    feats = [torch.zeros(1, 1, gh, gw) for gh, gw in grids(h, w)]
    images = ImageList(torch.zeros(1, 3, h, w), [(h, w)])
    return gen(images, feats)[0]


def paper_anchors(h, w):
    """lib/model/anchors.py of cccorn/AP-loss, then + 1 on x2, y2 (continuous boxes)."""
    ratios, scales = np.array([0.5, 1.0, 2.0]), np.array([2 ** 0, 2 ** 0.5]) * 4

    def whctrs(a):
        ww, hh = a[2] - a[0] + 1, a[3] - a[1] + 1
        return ww, hh, a[0] + 0.5 * (ww - 1), a[1] + 0.5 * (hh - 1)

    def mk(ws, hs, cx, cy):
        ws, hs = ws[:, None], hs[:, None]
        return np.hstack((cx - 0.5 * (ws - 1), cy - 0.5 * (hs - 1), cx + 0.5 * (ws - 1),
                          cy + 0.5 * (hs - 1)))

    out = []
    for l, (gh, gw) in zip(range(3, 8), grids(h, w)):
        stride = 2 ** l
        ww, hh, cx, cy = whctrs(np.array([1, 1, stride, stride]) - 1.0)
        ws = np.sqrt(ww * hh / ratios)
        ratio_anchors = mk(ws, ws * ratios, cx, cy)
        cell = []
        for r in ratio_anchors:
            rw, rh, rcx, rcy = whctrs(r)
            cell.append(mk(rw * scales, rh * scales, rcx, rcy))
        cell = np.vstack(cell)
        sx, sy = np.meshgrid(np.arange(gw) * stride, np.arange(gh) * stride)
        shifts = np.vstack((sx.ravel(), sy.ravel(), sx.ravel(), sy.ravel())).T
        out.append((cell[None, :, :] + shifts[:, None, :]).reshape(-1, 4))
    a = np.vstack(out)
    a[:, 2:] += 1.0
    return torch.from_numpy(a.astype(np.float32))


def write_anchor_case(root, name, anchors, h, w):
    g = root.create_group("anchors/" + name)
    put(g, "anchors", anchors.numpy().astype(np.float32))
    gs = grids(h, w)
    g.attrs.update(dict(height=h, width=w, grid_h=np.array([x[0] for x in gs], np.int32),
                        grid_w=np.array([x[1] for x in gs], np.int32)))


def random_gt(n, h, w, gen):
    xy = torch.rand(n, 2, generator=gen) * torch.tensor([w * 0.8, h * 0.8])
    wh = 4 + torch.rand(n, 2, generator=gen) * torch.tensor([w * 0.6, h * 0.6])
    b = torch.cat([xy, xy + wh], 1)
    b[:, 2] = b[:, 2].clamp(max=w)
    b[:, 3] = b[:, 3].clamp(max=h)
    return b


def match(anchors, gt):
    matcher = det_utils.Matcher(0.5, 0.4, allow_low_quality_matches=True)
    if gt.numel() == 0:
        return torch.full((anchors.shape[0],), -1, dtype=torch.int64), torch.zeros(anchors.shape[0])
    q = box_ops.box_iou(gt, anchors)
    vals, _ = q.max(dim=0)
    return matcher(q), vals


def write_assign_case(root, name, anchors_name, anchors, gt, labels, K):
    m, vals = match(anchors, gt)
    target = torch.zeros(anchors.shape[0], K)
    fg = m >= 0
    target[fg, labels[m[fg]]] = 1.0
    target[m == det_utils.Matcher.BETWEEN_THRESHOLDS] = -1.0
    g = root.create_group("assign/" + name)
    put(g, "gt", gt.numpy().astype(np.float32))
    put(g, "gt_labels", labels.numpy().astype(np.int32))
    put(g, "matched", m.numpy().astype(np.int32))
    put(g, "max_iou", vals.numpy().astype(np.float32))
    put(g, "labels", target.numpy().astype(np.int8))
    g.attrs.update(dict(K=K, anchors=anchors_name))
    return m


def assign_cases(root, anchors, gen):
    h, w = 96, 160
    gt = random_gt(8, h, w, gen)
    gt[5] = gt[2]                                   # a duplicate: tied best anchors
    gt[6] = anchors[1000].clone()                   # an anchor exactly: IoU 1
    gt[7] = torch.tensor([10.3, 20.7, 14.1, 23.9])  # tiny: only low-quality matches
    m = write_assign_case(root, "tv_random", "tv_96x160", anchors, gt,
                          torch.tensor([0, 1, 2, 3, 0, 1, 2, 3]), 4)
    assert (m >= 0).sum() > 0 and (m == -2).sum() > 0
    many = random_gt(60, h, w, gen)
    write_assign_case(root, "tv_many", "tv_96x160", anchors, many,
                      torch.randint(0, 7, (60,), generator=gen), 7)
    # A box far outside every anchor: torchvision forces every zero-IoU anchor.
    quirk = torch.cat([gt[:2], torch.tensor([[1000.0, 1000.0, 1010.0, 1010.0]])])
    m = write_assign_case(root, "tv_no_overlap", "tv_96x160", anchors, quirk,
                          torch.tensor([1, 2, 0]), 3)
    assert (m >= 0).sum() > anchors.shape[0] // 2


def box_coder_case(root, gen):
    n = 64
    anchors = random_gt(n, 200, 300, gen)
    boxes = random_gt(n, 200, 300, gen)
    deltas = torch.randn(n, 4, generator=gen)
    deltas[:4, 2:] = torch.tensor([[5.0, -3.0], [30.0, 4.2], [4.1, 4.2], [-9.0, 21.0]])
    g = root.create_group("box_coder")
    for name, t in (("anchors", anchors), ("boxes", boxes), ("deltas", deltas)):
        put(g, name, t.numpy())
    for tag, wts in (("w1", (1.0, 1.0, 1.0, 1.0)), ("w10", (10.0, 10.0, 5.0, 5.0))):
        coder = det_utils.BoxCoder(weights=wts, bbox_xform_clip=CLIP)
        put(g, "encode_" + tag, coder.encode_single(boxes, anchors).numpy())
        put(g, "decode_" + tag, coder.decode_single(deltas, anchors).numpy())


def box_loss_case(root, anchors, gen):
    head = RetinaNetRegressionHead(8, 9)
    gts = [random_gt(5, 64, 64, gen), random_gt(3, 64, 64, gen)]
    matched = [match(anchors, g)[0] for g in gts]
    reg = quantized(torch.randn(2, anchors.shape[0], 4, generator=gen) * 0.5).requires_grad_(True)
    targets = [{"boxes": g} for g in gts]
    loss = head.compute_loss(targets, {"bbox_regression": reg}, [anchors, anchors], matched)
    loss.backward()
    g = root.create_group("box_loss")
    put(g, "gt0", gts[0].numpy())
    put(g, "gt1", gts[1].numpy())
    put(g, "matched", torch.stack(matched).numpy().astype(np.int32))
    put(g, "regression", reg.detach().numpy())
    put(g, "grad", reg.grad.numpy())
    g.attrs["loss"] = float(loss)
    g.attrs["anchors"] = "tv_64x64"


def nms_case(root, gen):
    n = 400
    xy = torch.rand(n, 2, generator=gen) * 90
    boxes = torch.cat([xy, xy + 10 + torch.rand(n, 2, generator=gen) * 40], 1)
    scores = torch.rand(n, generator=gen)
    scores[10] = scores[11]  # one exact tie: lower index first
    boxes[11] = boxes[10] + 1.0
    labels = torch.randint(0, 5, (n,), generator=gen)
    labels[11] = labels[10]
    kb = box_ops.batched_nms(boxes, scores, labels, 0.5)
    assert torch.equal(kb, box_ops._batched_nms_vanilla(boxes, scores, labels, 0.5))
    ks = box_ops.nms(boxes, scores, 0.5)
    g = root.create_group("nms")
    put(g, "boxes", boxes.numpy())
    put(g, "scores", scores.numpy())
    put(g, "labels", labels.numpy().astype(np.int32))
    put(g, "keep_batched", kb.numpy())
    put(g, "keep_single", ks.numpy())


def level_split(h, w, per_loc):
    return [gh * gw * per_loc for gh, gw in grids(h, w)]


def tv_postprocess(logits, reg, anchors, counts, image_size, orig):
    fake = types.SimpleNamespace(score_thresh=0.05, topk_candidates=1000, nms_thresh=0.5,
                                 detections_per_img=300,
                                 box_coder=det_utils.BoxCoder(weights=(1.0, 1.0, 1.0, 1.0)))
    heads = {"cls_logits": list(logits[None].split(counts, dim=1)),
             "bbox_regression": list(reg[None].split(counts, dim=1))}
    det = RetinaNet.postprocess_detections(fake, heads, [list(anchors.split(counts))],
                                           [image_size])[0]
    det["boxes"] = resize_boxes(det["boxes"], image_size, orig)
    return det


def paper_postprocess(logits, reg, anchors, counts, image_size, orig):
    """model.py's test branch: per level sort, top 1000, > 0.01 (P7: > 0), decode, clip,
    batched_nms 0.5, keep 100; continuous coordinates, weights (10, 10, 5, 5)."""
    coder = det_utils.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0), bbox_xform_clip=CLIP)
    K = logits.shape[1]
    boxes, scores, labels = [], [], []
    for l, (lg, rg, an) in enumerate(zip(logits.split(counts), reg.split(counts),
                                         anchors.split(counts))):
        s = torch.sigmoid(lg).reshape(-1)
        os_, oi = s.sort(descending=True, stable=True)
        os_, oi = os_[:1000], oi[:1000]
        keep = os_ > (0.01 if l < 4 else 0.0)
        os_, oi = os_[keep], oi[keep]
        b = box_ops.clip_boxes_to_image(coder.decode_single(rg[oi // K], an[oi // K]), image_size)
        boxes.append(b), scores.append(os_), labels.append(oi % K)
    boxes, scores, labels = torch.cat(boxes), torch.cat(scores), torch.cat(labels)
    keep = box_ops.batched_nms(boxes, scores, labels, 0.5)[:100]
    return {"boxes": resize_boxes(boxes[keep], image_size, orig), "scores": scores[keep],
            "labels": labels[keep]}


def has_level_ties(logits, counts, thresh):
    for lg in logits.split(counts):
        s = torch.sigmoid(lg).reshape(-1)
        s = s[s > thresh].sort(descending=True)[0][:1001]
        if (s[1:] == s[:-1]).any():
            return True
    return False


def postprocess_case(root, name, anchors, per_loc, K, h, w, image_size, orig, fn, thresh, gen):
    counts = level_split(h, w, per_loc)
    while True:
        logits = torch.randn(anchors.shape[0], K, generator=gen) * 1.5 - 3.0
        reg = quantized(torch.randn(anchors.shape[0], 4, generator=gen) * 0.3)
        if not has_level_ties(logits, counts, thresh):
            break
    det = fn(logits, reg, anchors, counts, image_size, orig)
    g = root.create_group("postprocess/" + name)
    put(g, "cls_logits", logits.numpy())
    put(g, "bbox_regression", reg.numpy())
    put(g, "anchors", anchors.numpy())
    put(g, "level_count", np.array(counts, np.int64))
    put(g, "boxes", det["boxes"].numpy())
    put(g, "scores", det["scores"].numpy())
    put(g, "labels", det["labels"].numpy().astype(np.int64))
    g.attrs.update(dict(input_h=image_size[0], input_w=image_size[1], orig_h=orig[0],
                        orig_w=orig[1], K=K))
    print(name, "detections", len(det["scores"]), "of", logits.numel(), "scores")


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(20190601)
    with h5py.File(OUT, "w") as root:
        tv96 = tv_anchors(96, 160)
        write_anchor_case(root, "tv_96x160", tv96, 96, 160)
        tv64 = tv_anchors(64, 64)
        write_anchor_case(root, "tv_64x64", tv64, 64, 64)
        write_anchor_case(root, "paper_96x160", paper_anchors(96, 160), 96, 160)
        write_anchor_case(root, "paper_128x128", paper_anchors(128, 128), 128, 128)
        assign_cases(root, tv96, gen)
        box_coder_case(root, gen)
        box_loss_case(root, tv64, gen)
        nms_case(root, gen)
        postprocess_case(root, "tv", tv_anchors(96, 128), 9, 4, 96, 128, (90, 125), (181, 250),
                         tv_postprocess, 0.05, gen)
        postprocess_case(root, "paper", paper_anchors(96, 128), 6, 3, 96, 128, (93, 128),
                         (372, 512), paper_postprocess, 0.0, gen)
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
