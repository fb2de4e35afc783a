#!/usr/bin/env python3
"""make_eval_fixtures.py — reference numbers for the COCO and VOC evaluation (analysis/).

Run from the repository root:  python3 tests/make_eval_fixtures.py
(needs numpy and pycocotools: `pip install pycocotools`). Deterministic: every case draws from
its own seeded random.Random; the outputs do not change from run to run.

COCO: generated ground truth and detections, evaluated by pycocotools' COCOeval (iouType
'bbox', default Params: evaluate, accumulate, summarize). Cases cover crowd regions, areas
exactly at 32^2 and 96^2 (ground truth `area` and detection w*h), IoU exactly at thresholds,
more than 100 detections in one image and category (the maxDets cut, with ties at the cut),
categories with detections but no ground truth and the reverse, images with nothing, ties in
score (stable order), a ground truth with id 0, boxes of zero width, and random cases.
An empty detection list cannot go through COCO.loadRes (it reads anns[0]); its reference is
COCOeval on a result COCO built the way loadRes would build it, with no annotations.
Writes
  tests/fixtures/eval_coco_cases.txt   every case, read by tests/test_coco_eval.c:
      case NAME                           starts a case
      image ID                            one per image of the ground truth (file order)
      category ID                         one per category
      gt ID IMAGE CATEGORY X Y W H AREA ISCROWD
      dt IMAGE CATEGORY X Y W H SCORE     file order (ids are positions + 1, as loadRes)
      stats S0 .. S11                     COCOeval.stats
      catstats CATEGORY S0 .. S11         the 12 numbers over that category alone
                                          (summarize()'s rule on precision[:, :, k] and
                                          recall[:, k]; -1 when undefined)
      end
    numbers as Python's repr (shortest round trip), so C's strtod reads the same doubles.
  tests/fixtures/eval_coco_gt.json, eval_coco_dt.json, eval_coco_expected.txt
      one case as COCO files for the command test (tests/test_cmd_eval.c): the stats and the
      summarize() lines pycocotools prints.
  tests/fixtures/eval_coco_thresholds.txt  Params.iouThrs and recThrs, repr.

VOC: the classic voc_eval.py (py-faster-rcnn's lib/datasets/voc_eval.py, the devkit's rules
in Python), transcribed below (voc_ap verbatim; voc_eval's matching loop verbatim on
in-memory records), run at every IoU threshold of numpy.linspace(.5, .95, 10) with both
metrics. Two deliberate differences, both in the C code too: detections are sorted with
kind='mergesort' (ties in file order; the classic default quicksort leaves ties unordered),
and a class without non-difficult ground truth gets AP -1 (the classic code divides by 0).
Writes
  tests/fixtures/eval_voc_cases.txt     read by tests/test_voc_eval.c:
      case NAME METRIC NIMAGES NCLASSES   METRIC 07 or 10
      gt IMAGE CLASS DIFFICULT XMIN YMIN XMAX YMAX
      dt IMAGE CLASS SCORE X1 Y1 X2 Y2      file order
      ap CLASS AP@.50 AP@.55 ... AP@.95
      end
  tests/fixtures/eval_voc/             a devkit-style folder for the command test:
      Annotations/*.xml, ImageSets/Main/test.txt, results/comp4_det_test_CLASS.txt, and
      expected.txt (per-class AP50 and mAP by voc_eval.py reading those files with its own
      parse_rec, for both metrics, and the mean over thresholds).
"""
import contextlib
import copy
import io
import shutil
import struct
import xml.etree.ElementTree as ET
import zlib
import json
import os
import random
import sys

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def num(v):
    """A number as the fixture writes it: ints as ints, floats by repr."""
    if isinstance(v, (bool, np.bool_)):
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v))


# ---------------------------------------------------------------------------- COCO reference

def coco_evaluate(gt_dict, dets):
    """COCOeval on gt_dict and the result list dets; returns (stats, per-category stats)."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(gt_dict)
        gt.createIndex()
        if dets:
            dt = gt.loadRes(copy.deepcopy(dets))
        else:  # loadRes cannot take an empty list; build what it would build
            dt = COCO()
            dt.dataset = {"images": list(gt.dataset["images"]),
                          "categories": copy.deepcopy(gt.dataset["categories"]),
                          "annotations": []}
            dt.createIndex()
        E = COCOeval(gt, dt, "bbox")
        E.evaluate()
        E.accumulate()
        E.summarize()
    stats = [float(s) for s in E.stats]
    per_cat = []
    for k, cat in enumerate(E.params.catIds):
        per_cat.append((cat, category_stats(E, k)))
    return stats, per_cat, E


def category_stats(E, k):
    """summarize()'s 12 numbers with the category axis cut to k."""
    p = E.params

    def one(ap, iouThr=None, areaRng="all", maxDets=100):
        aind = [i for i, a in enumerate(p.areaRngLbl) if a == areaRng]
        mind = [i for i, m in enumerate(p.maxDets) if m == maxDets]
        if ap:
            s = E.eval["precision"]
            if iouThr is not None:
                s = s[np.where(iouThr == p.iouThrs)[0]]
            s = s[:, :, k, aind, mind]
        else:
            s = E.eval["recall"]
            if iouThr is not None:
                s = s[np.where(iouThr == p.iouThrs)[0]]
            s = s[:, k, aind, mind]
        return -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))

    return [one(1), one(1, .5), one(1, .75), one(1, areaRng="small"),
            one(1, areaRng="medium"), one(1, areaRng="large"), one(0, maxDets=1),
            one(0, maxDets=10), one(0), one(0, areaRng="small"), one(0, areaRng="medium"),
            one(0, areaRng="large")]


# ---------------------------------------------------------------------------- COCO cases

class Case:
    def __init__(self, name):
        self.name = name
        self.images = []
        self.categories = []
        self.gts = []   # dicts: id, image_id, category_id, bbox, area, iscrowd
        self.dets = []  # dicts: image_id, category_id, bbox, score

    def gt(self, image, cat, bbox, area=None, crowd=0, gid=None):
        if area is None:
            area = bbox[2] * bbox[3]
        self.gts.append({"id": len(self.gts) + 1 if gid is None else gid, "image_id": image,
                         "category_id": cat, "bbox": list(bbox), "area": area,
                         "iscrowd": crowd})

    def dt(self, image, cat, bbox, score):
        self.dets.append({"image_id": image, "category_id": cat, "bbox": list(bbox),
                          "score": score})

    def gt_dict(self):
        return {"images": [{"id": i, "width": 640, "height": 480,
                            "file_name": "%012d.jpg" % i} for i in self.images],
                "categories": [{"id": c, "name": "class%d" % c} for c in self.categories],
                "annotations": self.gts}


def rand_box(rng, lo=2.0, hi=300.0, decimals=2):
    w = round(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), decimals)
    h = round(w * float(np.exp(rng.uniform(-0.8, 0.8))), decimals)
    x = round(rng.uniform(0, 640 - min(w, 600)), decimals)
    y = round(rng.uniform(0, 480 - min(h, 440)), decimals)
    return [x, y, w, h]


def jitter(rng, b, amount):
    x, y, w, h = b
    dx, dy = rng.gauss(0, amount * w), rng.gauss(0, amount * h)
    sw, sh = np.exp(rng.gauss(0, amount)), np.exp(rng.gauss(0, amount))
    return [round(x + dx, 2), round(y + dy, 2), round(max(w * sw, 0.5), 2),
            round(max(h * sh, 0.5), 2)]


def random_case(name, seed, nimg, ncat, gt_per_img, crowd_p=0.05, fp_per_img=4,
                score_decimals=3, empty_imgs=0.1):
    rng = random.Random(seed)
    c = Case(name)
    c.images = sorted(rng.sample(range(1, 10 * nimg + 10), nimg))
    rng.shuffle(c.images)  # file order is not id order
    c.categories = sorted(rng.sample(range(1, 91), ncat))
    for img in c.images:
        if rng.random() < empty_imgs:
            continue
        for _ in range(rng.randint(0, gt_per_img)):
            cat = rng.choice(c.categories)
            b = rand_box(rng)
            area = round(b[2] * b[3] * rng.uniform(0.4, 1.0), 3)
            c.gt(img, cat, b, area, 1 if rng.random() < crowd_p else 0)
    for g in c.gts:
        for _ in range(rng.randint(0, 3)):
            cat = g["category_id"] if rng.random() < 0.85 else rng.choice(c.categories)
            c.dt(g["image_id"], cat, jitter(rng, g["bbox"], rng.choice([0.03, 0.1, 0.25])),
                 round(rng.random(), score_decimals))
    for img in c.images:
        for _ in range(rng.randint(0, fp_per_img)):
            c.dt(img, rng.choice(c.categories), rand_box(rng), round(rng.random() * 0.6,
                                                                       score_decimals))
    rng.shuffle(c.dets)
    return c


def crowd_case():
    rng = random.Random(11)
    c = Case("crowd")
    c.images = [3, 1, 2]
    c.categories = [1, 5]
    c.gt(1, 1, [100, 100, 200, 150], 20000, crowd=1)
    c.gt(1, 1, [110, 120, 40, 50], 1500)
    c.gt(1, 1, [250, 180, 30, 40], 1000)
    c.gt(2, 1, [0, 0, 300, 300], 60000, crowd=1)
    c.gt(2, 5, [50, 50, 100, 100], 8000)
    c.gt(3, 5, [10, 10, 50, 50], 2000, crowd=1)  # only crowd for this image-category
    for i in range(30):  # many detections inside the crowd regions: never false positives
        c.dt(1, 1, [round(100 + rng.uniform(0, 150), 1), round(100 + rng.uniform(0, 100), 1),
                    round(rng.uniform(10, 50), 1), round(rng.uniform(10, 50), 1)],
             round(rng.random(), 2))
        c.dt(2, 1, [round(rng.uniform(0, 250), 1), round(rng.uniform(0, 250), 1),
                    round(rng.uniform(10, 50), 1), round(rng.uniform(10, 50), 1)],
             round(rng.random(), 2))
    c.dt(1, 1, [111, 121, 40, 48], 0.95)
    c.dt(1, 1, [112, 118, 38, 52], 0.5)  # duplicate: false positive unless inside crowd IoA
    c.dt(2, 5, [52, 48, 100, 104], 0.7)
    c.dt(3, 5, [12, 12, 20, 20], 0.9)
    c.dt(3, 5, [200, 200, 20, 20], 0.8)
    return c


def area_boundary_case():
    c = Case("area_boundaries")
    c.images = [1, 2, 3]
    c.categories = [7, 8]
    # ground truth areas exactly at the range bounds (both ranges contain a bound)
    for i, area in enumerate([1024, 1024.0, 9216, 9216.0, 0, 1023.999, 9216.001, 1e10]):
        c.gt(1, 7, [10 + 60 * i, 10, 32, 32], area)
    # detections with w*h exactly 32^2 and 96^2, unmatched (their area decides ignoring)
    c.dt(1, 7, [5, 300, 32, 32], 0.4)
    c.dt(1, 7, [50, 300, 96, 96], 0.35)
    c.dt(1, 7, [200, 300, 16, 64], 0.3)
    c.dt(1, 7, [300, 300, 48, 192], 0.25)
    c.dt(1, 7, [400, 300, 32.0001, 32], 0.2)
    for i in range(8):
        c.dt(1, 7, [10 + 60 * i, 10, 32, 32], 0.9 - 0.05 * i)
    # IoU exactly at thresholds: 0.5, 0.6, 0.75, 0.8, 0.95 against 10x10 boxes
    for j, frac in enumerate([0.5, 0.6, 0.75, 0.8, 0.95, 0.55, 0.65, 0.7, 0.85, 0.9]):
        c.gt(2, 8, [100 * j, 0, 10, 10])
        c.dt(2, 8, [100 * j, 0, 10, 10 * frac], 0.5 + 0.01 * j)
    c.gt(3, 8, [0, 0, 96, 96], 9216)
    c.dt(3, 8, [0, 0, 96, 96], 0.8)
    c.gt(3, 7, [0, 0, 31, 33], 1023)
    c.dt(3, 7, [0, 0, 0, 50], 0.9)  # zero width: area 0, IoU 0
    c.dt(3, 7, [1, 1, 31, 33], 0.7)
    return c


def many_dets_case():
    rng = random.Random(5)
    c = Case("many_dets")
    c.images = [10, 20]
    c.categories = [1, 2]
    for i in range(40):
        c.gt(10, 1, rand_box(rng, 8, 120))
    gts = list(c.gts)
    for i in range(260):  # more than 100 in one image and category; many tied scores
        g = rng.choice(gts)
        b = jitter(rng, g["bbox"], 0.15) if rng.random() < 0.6 else rand_box(rng)
        c.dt(10, 1, b, round(rng.choice([0.5, 0.3, rng.random()]), 2))
    for i in range(120):  # ties exactly at the cut of 100
        c.dt(20, 2, rand_box(rng), 0.25)
    c.gt(20, 2, [10, 10, 50, 50])
    c.dt(20, 2, [10, 10, 50, 50], 0.25)  # the 121st: cut away
    c.gt(20, 1, [0, 0, 100, 100])
    return c


def missing_case():
    rng = random.Random(9)
    c = Case("missing")
    c.images = [5, 6, 7, 8]  # 8 has nothing at all
    c.categories = [1, 2, 3, 4]  # 2: detections only; 3: ground truth only; 4: nothing
    for img in (5, 6):
        for _ in range(3):
            b = rand_box(rng, 20, 200)
            c.gt(img, 1, b)
            c.dt(img, 1, jitter(rng, b, 0.05), round(rng.random(), 3))
    c.dt(5, 2, rand_box(rng), 0.9)
    c.dt(7, 2, rand_box(rng), 0.8)
    c.gt(6, 3, rand_box(rng))
    c.gt(7, 3, rand_box(rng), crowd=1)
    c.gt(7, 1, rand_box(rng), crowd=1)  # crowd only: never missed
    return c


def ties_case():
    rng = random.Random(3)
    c = Case("ties")
    c.images = [4, 2, 9, 1]
    c.categories = [3]
    for img in c.images:
        for _ in range(4):
            b = rand_box(rng, 20, 150)
            c.gt(img, 3, b)
            c.dt(img, 3, jitter(rng, b, 0.2), 0.5)
            c.dt(img, 3, rand_box(rng), 0.5)
    rng.shuffle(c.dets)
    return c


def gt_id_zero_case():
    c = Case("gt_id_zero")
    c.images = [1]
    c.categories = [1]
    c.gt(1, 1, [0, 0, 50, 50], gid=0)  # pycocotools stores matches by id: 0 means none
    c.gt(1, 1, [100, 100, 50, 50], gid=7)
    c.gt(1, 1, [200, 200, 50, 50], gid=-3)
    c.dt(1, 1, [0, 0, 50, 50], 0.9)
    c.dt(1, 1, [100, 100, 50, 50], 0.8)
    c.dt(1, 1, [200, 200, 50, 50], 0.7)
    c.dt(1, 1, [1, 1, 50, 50], 0.6)
    return c


def empty_dets_case():
    c = random_case("empty_dets", 21, 6, 3, 4)
    c.dets = []
    return c


def int_coords_case():
    c = random_case("int_coords", 33, 12, 4, 6, crowd_p=0.1)
    for d in c.gts + c.dets:
        d["bbox"] = [int(round(v)) for v in d["bbox"]]
        if "area" in d:
            d["area"] = int(round(d["area"]))
    return c


def coco_cases():
    cases = [crowd_case(), area_boundary_case(), many_dets_case(), missing_case(),
             ties_case(), gt_id_zero_case(), empty_dets_case(), int_coords_case()]
    for i in range(24):
        rng = random.Random(1000 + i)
        cases.append(random_case("random%02d" % i, 2000 + i, rng.randint(1, 25),
                                 rng.randint(1, 8), rng.randint(0, 12),
                                 crowd_p=rng.choice([0, 0.05, 0.2]),
                                 fp_per_img=rng.randint(0, 12),
                                 score_decimals=rng.choice([1, 2, 6])))
    cases.append(random_case("large", 77, 120, 12, 10, crowd_p=0.05, fp_per_img=15))
    return cases


def write_coco_case(f, c):
    stats, per_cat, _ = coco_evaluate(c.gt_dict(), c.dets)
    f.write("case %s\n" % c.name)
    for i in c.images:
        f.write("image %d\n" % i)
    for k in c.categories:
        f.write("category %d\n" % k)
    for g in c.gts:
        f.write("gt %d %d %d %s %s %d\n" % (g["id"], g["image_id"], g["category_id"],
                                            " ".join(num(v) for v in g["bbox"]), num(g["area"]),
                                            g["iscrowd"]))
    for d in c.dets:
        f.write("dt %d %d %s %s\n" % (d["image_id"], d["category_id"],
                                      " ".join(num(v) for v in d["bbox"]), num(d["score"])))
    f.write("stats %s\n" % " ".join(num(s) for s in stats))
    for cat, s in per_cat:
        f.write("catstats %d %s\n" % (cat, " ".join(num(v) for v in s)))
    f.write("end\n")
    return stats


def write_coco_files(c):
    gt = c.gt_dict()
    with open(os.path.join(FIXTURES, "eval_coco_gt.json"), "w") as f:
        json.dump(gt, f)
    with open(os.path.join(FIXTURES, "eval_coco_dt.json"), "w") as f:
        json.dump(c.dets, f)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        stats, per_cat, E = coco_evaluate(gt, c.dets)
        E.summarize()
    lines = [l for l in out.getvalue().splitlines() if l.startswith(" Average")]
    with open(os.path.join(FIXTURES, "eval_coco_expected.txt"), "w") as f:
        f.write("stats %s\n" % " ".join(num(s) for s in stats))
        for cat, s in per_cat:
            f.write("catstats %d %s\n" % (cat, " ".join(num(v) for v in s)))
        for l in lines:
            f.write(l + "\n")


def write_thresholds():
    from pycocotools.cocoeval import Params
    p = Params("bbox")
    with open(os.path.join(FIXTURES, "eval_coco_thresholds.txt"), "w") as f:
        f.write("iou %s\n" % " ".join(num(v) for v in p.iouThrs))
        f.write("recall %s\n" % " ".join(num(v) for v in p.recThrs))


# ---------------------------------------------------------------------------- VOC reference

def voc_ap(rec, prec, use_07_metric=False):
    """ ap = voc_ap(rec, prec, [use_07_metric])  (voc_eval.py, verbatim)"""
    if use_07_metric:
        # 11 point metric
        ap = 0.
        for t in np.arange(0., 1.1, 0.1):
            if np.sum(rec >= t) == 0:
                p = 0
            else:
                p = np.max(prec[rec >= t])
            ap = ap + p / 11.
    else:
        # correct AP calculation
        # first append sentinel values at the end
        mrec = np.concatenate(([0.], rec, [1.]))
        mpre = np.concatenate(([0.], prec, [0.]))

        # compute the precision envelope
        for i in range(mpre.size - 1, 0, -1):
            mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])

        # to calculate area under PR curve, look for points
        # where X axis (recall) changes value
        i = np.where(mrec[1:] != mrec[:-1])[0]

        # and sum (\Delta recall) * prec
        ap = np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])
    return ap


def voc_eval_records(recs, imagenames, classname, image_ids, confidence, BB, ovthresh,
                     use_07_metric):
    """voc_eval.py after its file reading: recs[imagename] = [{'name', 'bbox', 'difficult'}],
    the detections of classname as image_ids, confidence, BB. Returns AP (-1 if npos == 0)."""
    class_recs = {}
    npos = 0
    for imagename in imagenames:
        R = [obj for obj in recs[imagename] if obj['name'] == classname]
        bbox = np.array([x['bbox'] for x in R])
        difficult = np.array([x['difficult'] for x in R]).astype(bool)
        det = [False] * len(R)
        npos = npos + sum(~difficult)
        class_recs[imagename] = {'bbox': bbox,
                                 'difficult': difficult,
                                 'det': det}
    if npos == 0:
        return -1.0
    confidence = np.array(confidence, dtype=float)
    BB = np.array(BB, dtype=float).reshape(-1, 4)
    # sort by confidence (stable: ties in file order)
    sorted_ind = np.argsort(-confidence, kind='mergesort')
    BB = BB[sorted_ind, :]
    image_ids = [image_ids[x] for x in sorted_ind]

    # go down dets and mark TPs and FPs
    nd = len(image_ids)
    tp = np.zeros(nd)
    fp = np.zeros(nd)
    for d in range(nd):
        R = class_recs[image_ids[d]]
        bb = BB[d, :].astype(float)
        ovmax = -np.inf
        BBGT = R['bbox'].astype(float)

        if BBGT.size > 0:
            # compute overlaps
            # intersection
            ixmin = np.maximum(BBGT[:, 0], bb[0])
            iymin = np.maximum(BBGT[:, 1], bb[1])
            ixmax = np.minimum(BBGT[:, 2], bb[2])
            iymax = np.minimum(BBGT[:, 3], bb[3])
            iw = np.maximum(ixmax - ixmin + 1., 0.)
            ih = np.maximum(iymax - iymin + 1., 0.)
            inters = iw * ih

            # union
            uni = ((bb[2] - bb[0] + 1.) * (bb[3] - bb[1] + 1.) +
                   (BBGT[:, 2] - BBGT[:, 0] + 1.) *
                   (BBGT[:, 3] - BBGT[:, 1] + 1.) - inters)

            overlaps = inters / uni
            ovmax = np.max(overlaps)
            jmax = np.argmax(overlaps)

        if ovmax > ovthresh:
            if not R['difficult'][jmax]:
                if not R['det'][jmax]:
                    tp[d] = 1.
                    R['det'][jmax] = 1
                else:
                    fp[d] = 1.
        else:
            fp[d] = 1.

    # compute precision recall
    fp = np.cumsum(fp)
    tp = np.cumsum(tp)
    rec = tp / float(npos)
    # avoid divide by zero in case the first detection matches a difficult
    # ground truth
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    ap = voc_ap(rec, prec, use_07_metric)
    return float(ap)


VOC_THRESHOLDS = np.linspace(.5, .95, 10)


class VocCase:
    def __init__(self, name, nimages, nclasses):
        self.name, self.nimages, self.nclasses = name, nimages, nclasses
        self.gts = []   # (image, class, difficult, [xmin, ymin, xmax, ymax])
        self.dets = []  # (image, class, score, [x1, y1, x2, y2])

    def aps(self, metric):
        names = ["img%d" % i for i in range(self.nimages)]
        classes = ["c%d" % k for k in range(self.nclasses)]
        recs = {n: [] for n in names}
        for img, k, diff, box in self.gts:
            recs[names[img]].append({'name': classes[k], 'bbox': box, 'difficult': diff})
        out = []
        for k in range(self.nclasses):
            mine = [d for d in self.dets if d[1] == k]
            ids = [names[d[0]] for d in mine]
            conf = [d[2] for d in mine]
            BB = [d[3] for d in mine]
            out.append([voc_eval_records(recs, names, classes[k], ids, conf, BB, t,
                                         metric == "07") for t in VOC_THRESHOLDS])
        return out


def voc_random_case(name, seed, nimages, nclasses, gt_per_img, difficult_p=0.15,
                    fp_per_img=3, score_fmt="%.3f"):
    rng = random.Random(seed)
    c = VocCase(name, nimages, nclasses)
    for img in range(nimages):
        if rng.random() < 0.1:
            continue
        for _ in range(rng.randint(0, gt_per_img)):
            w, h = rng.randint(1, 200), rng.randint(1, 200)
            x, y = rng.randint(1, 300), rng.randint(1, 300)
            c.gts.append((img, rng.randrange(nclasses), int(rng.random() < difficult_p),
                          [x, y, x + w - 1, y + h - 1]))
    for img, k, diff, box in c.gts:
        for _ in range(rng.randint(0, 3)):
            w = box[2] - box[0] + 1
            h = box[3] - box[1] + 1
            s = rng.choice([0.02, 0.08, 0.2])
            x1 = round(box[0] + rng.gauss(0, s * w), 1)
            y1 = round(box[1] + rng.gauss(0, s * h), 1)
            x2 = round(max(box[2] + rng.gauss(0, s * w), x1), 1)
            y2 = round(max(box[3] + rng.gauss(0, s * h), y1), 1)
            kk = k if rng.random() < 0.85 else rng.randrange(nclasses)
            c.dets.append((img, kk, float(score_fmt % rng.random()), [x1, y1, x2, y2]))
    for img in range(nimages):
        for _ in range(rng.randint(0, fp_per_img)):
            x1, y1 = round(rng.uniform(1, 400), 1), round(rng.uniform(1, 400), 1)
            c.dets.append((img, rng.randrange(nclasses), float(score_fmt % (0.6 * rng.random())),
                           [x1, y1, round(x1 + rng.uniform(0, 150), 1),
                            round(y1 + rng.uniform(0, 150), 1)]))
    rng.shuffle(c.dets)
    return c


def voc_special_case():
    c = VocCase("special", 4, 5)
    # class 0: IoU exactly 0.5 under the +1 rule (strict >: a false positive at .50),
    # 0.75 exactly, a duplicate, a detection on a difficult box (neither tp nor fp)
    c.gts += [(0, 0, 0, [1, 1, 10, 10]), (0, 0, 0, [101, 1, 110, 10]),
              (0, 0, 1, [201, 1, 210, 10]), (1, 0, 0, [1, 1, 20, 20])]
    c.dets += [(0, 0, 0.9, [1, 1, 10, 5]), (0, 0, 0.8, [101, 1, 110, 7.5]),
               (0, 0, 0.7, [101, 1, 110, 10]), (0, 0, 0.6, [201, 1, 210, 10]),
               (0, 0, 0.6, [1, 1, 10, 10]), (1, 0, 0.5, [1, 1, 20, 20]),
               (1, 0, 0.5, [2, 2, 20, 20]), (3, 0, 0.4, [1, 1, 5, 5])]
    # class 1: only difficult ground truth (npos 0); class 2: detections, no ground truth
    c.gts += [(2, 1, 1, [5, 5, 50, 50])]
    c.dets += [(2, 1, 0.9, [5, 5, 50, 50]), (2, 2, 0.3, [5, 5, 50, 50])]
    # class 3: ground truth, no detections; class 4: two equal boxes, the second difficult
    # (np.argmax takes the first: a true positive, not an ignored hit)
    c.gts += [(3, 3, 0, [10, 10, 40, 40]), (1, 4, 0, [30, 30, 60, 60]),
              (1, 4, 1, [30, 30, 60, 60])]
    c.dets += [(1, 4, 0.8, [31, 31, 60, 60]), (1, 4, 0.7, [30, 30, 60, 60]),
               (1, 4, 0.6, [30, 30, 61, 61])]
    return c


def voc_cases():
    cases = [("07", voc_special_case()), ("10", voc_special_case())]
    for i in range(12):
        rng = random.Random(500 + i)
        c = voc_random_case("random%02d" % i, 600 + i, rng.randint(1, 30), rng.randint(1, 6),
                            rng.randint(0, 8), difficult_p=rng.choice([0, 0.15, 0.4]),
                            fp_per_img=rng.randint(0, 8),
                            score_fmt=rng.choice(["%.1f", "%.3f", "%.6f"]))
        cases.append(("07" if i % 2 == 0 else "10", c))
    return cases


def write_voc_cases():
    with open(os.path.join(FIXTURES, "eval_voc_cases.txt"), "w") as f:
        f.write("# VOC AP reference: the classic voc_eval.py (tests/make_eval_fixtures.py)\n")
        for metric, c in voc_cases():
            aps = c.aps(metric)
            f.write("case %s %s %d %d\n" % (c.name, metric, c.nimages, c.nclasses))
            for img, k, diff, box in c.gts:
                f.write("gt %d %d %d %s\n" % (img, k, diff, " ".join(num(v) for v in box)))
            for img, k, score, box in c.dets:
                f.write("dt %d %d %s %s\n" % (img, k, num(score), " ".join(num(v) for v in box)))
            for k in range(c.nclasses):
                f.write("ap %d %s\n" % (k, " ".join(num(v) for v in aps[k])))
            f.write("end\n")
            print("voc %-10s %s gt %4d dt %5d  mAP50 %.4f" % (
                c.name, metric, len(c.gts), len(c.dets),
                np.mean([a[0] for a in aps if a[0] >= 0]) if any(a[0] >= 0 for a in aps)
                else -1), file=sys.stderr)


VOC_CLASSES = ['aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
               'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant',
               'sheep', 'sofa', 'train', 'tvmonitor']


def parse_rec(filename):
    """ Parse a PASCAL VOC xml file (voc_eval.py, verbatim) """
    tree = ET.parse(filename)
    objects = []
    for obj in tree.findall('object'):
        obj_struct = {}
        obj_struct['name'] = obj.find('name').text
        obj_struct['pose'] = obj.find('pose').text
        obj_struct['truncated'] = int(obj.find('truncated').text)
        obj_struct['difficult'] = int(obj.find('difficult').text)
        bbox = obj.find('bndbox')
        obj_struct['bbox'] = [int(bbox.find('xmin').text),
                              int(bbox.find('ymin').text),
                              int(bbox.find('xmax').text),
                              int(bbox.find('ymax').text)]
        objects.append(obj_struct)
    return objects


def voc_eval_files(detpath, annopath, imagesetfile, classname, ovthresh, use_07_metric):
    """voc_eval.py's reading of the image set, the annotations and the detection file
    (verbatim but for the cache), then the matching of voc_eval_records."""
    with open(imagesetfile, 'r') as f:
        lines = f.readlines()
    imagenames = [x.strip() for x in lines]
    recs = {}
    for i, imagename in enumerate(imagenames):
        recs[imagename] = parse_rec(annopath.format(imagename))
    detfile = detpath.format(classname)
    with open(detfile, 'r') as f:
        lines = f.readlines()
    splitlines = [x.strip().split(' ') for x in lines]
    image_ids = [x[0] for x in splitlines]
    confidence = [float(x[1]) for x in splitlines]
    BB = [[float(z) for z in x[2:]] for x in splitlines]
    return voc_eval_records(recs, imagenames, classname, image_ids, confidence, BB, ovthresh,
                            use_07_metric)


def png_gray(width, height):
    """A black 8-bit grayscale PNG of width x height (the readers take sizes from headers)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    raw = b"".join(b"\x00" + bytes(width) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                               0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def write_voc_folder():
    """A devkit-style folder with 9 images (8 in test.txt), its XML, result files for the 20
    classes, the same detections as a COCO results file, and voc_eval.py's numbers."""
    root = os.path.join(FIXTURES, "eval_voc")
    shutil.rmtree(root, ignore_errors=True)
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main", "results"):
        os.makedirs(os.path.join(root, sub))
    rng = random.Random(77)
    ids = ["%06d" % (7 * i + 3) for i in range(9)]
    test = [ids[i] for i in (4, 0, 2, 1, 3, 8, 6, 5)]  # list order is not name order
    used = ["person", "car", "dog", "chair", "bottle", "sheep"]
    objects = {}
    for img in ids:
        W, H = rng.choice([(500, 375), (353, 500), (480, 360)])
        with open(os.path.join(root, "JPEGImages", img + ".png"), "wb") as f:
            f.write(png_gray(W, H))
        objs = []
        for _ in range(rng.randint(0, 6)):
            w, h = rng.randint(4, W // 2), rng.randint(4, H // 2)
            x, y = rng.randint(1, W - w), rng.randint(1, H - h)
            objs.append((rng.choice(used), int(rng.random() < 0.2), [x, y, x + w - 1, y + h - 1]))
        objects[img] = objs
        with open(os.path.join(root, "Annotations", img + ".xml"), "w") as f:
            f.write("<annotation>\n  <folder>VOC2007</folder>\n  <filename>%s.png</filename>\n"
                    "  <size><width>%d</width><height>%d</height><depth>3</depth></size>\n"
                    % (img, W, H))
            for name, diff, b in objs:
                f.write("  <object>\n    <name>%s</name>\n    <pose>Unspecified</pose>\n"
                        "    <truncated>0</truncated>\n    <difficult>%d</difficult>\n"
                        "    <bndbox><xmin>%d</xmin><ymin>%d</ymin><xmax>%d</xmax>"
                        "<ymax>%d</ymax></bndbox>\n  </object>\n" % (name, diff, *b))
            f.write("</annotation>\n")
    with open(os.path.join(root, "ImageSets", "Main", "test.txt"), "w") as f:
        f.write("".join(i + "\n" for i in test))
    dets = {c: [] for c in VOC_CLASSES}
    for img in test:
        for name, diff, b in objects[img]:
            for _ in range(rng.randint(0, 2)):
                side = max(b[2] - b[0], b[3] - b[1])
                j = [round(v + rng.gauss(0, 0.1 * side), 1) for v in b]
                j[2], j[3] = max(j[2], j[0]), max(j[3], j[1])
                cls = name if rng.random() < 0.85 else rng.choice(used)
                dets[cls].append((img, float("%.3f" % rng.random()), j))
        for _ in range(rng.randint(0, 3)):
            x, y = round(rng.uniform(1, 300), 1), round(rng.uniform(1, 300), 1)
            dets[rng.choice(used + ["cat"])].append(
                (img, float("%.3f" % (0.5 * rng.random())),
                 [x, y, round(x + rng.uniform(5, 100), 1), round(y + rng.uniform(5, 100), 1)]))
    results = []
    for c in VOC_CLASSES:
        with open(os.path.join(root, "results", "comp4_det_test_%s.txt" % c), "w") as f:
            for img, score, b in dets[c]:
                f.write("%s %.3f %.1f %.1f %.1f %.1f\n" % (img, score, *b))
                results.append({"image_id": test.index(img), "category_id": VOC_CLASSES.index(c),
                                "bbox": [b[0] - 1, b[1] - 1, b[2] - b[0] + 1, b[3] - b[1] + 1],
                                "score": score})
    with open(os.path.join(root, "dets.json"), "w") as f:
        json.dump(results, f)
    detpath = os.path.join(root, "results", "comp4_det_test_{}.txt")
    annopath = os.path.join(root, "Annotations", "{}.xml")
    imageset = os.path.join(root, "ImageSets", "Main", "test.txt")
    with open(os.path.join(root, "expected.txt"), "w") as f:
        f.write("# voc_eval.py on this folder: METRIC CLASS AP@.50 ... AP@.95 (-1: no ground "
                "truth)\n")
        for metric in ("07", "10"):
            for c in VOC_CLASSES:
                aps = [voc_eval_files(detpath, annopath, imageset, c, t, metric == "07")
                       for t in VOC_THRESHOLDS]
                f.write("ap%s %s %s\n" % (metric, c, " ".join(num(a) for a in aps)))


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    cases = coco_cases()
    with open(os.path.join(FIXTURES, "eval_coco_cases.txt"), "w") as f:
        f.write("# COCO bbox evaluation reference: pycocotools COCOeval "
                "(tests/make_eval_fixtures.py)\n")
        for c in cases:
            stats = write_coco_case(f, c)
            print("%-16s gt %4d dt %5d  AP %.4f AP50 %.4f AR100 %.4f" %
                  (c.name, len(c.gts), len(c.dets), stats[0], stats[1], stats[8]),
                  file=sys.stderr)
    write_coco_files(random_case("cmd", 55, 8, 5, 6, crowd_p=0.1))
    write_thresholds()
    write_voc_cases()
    write_voc_folder()


if __name__ == "__main__":
    main()
