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
"""
import contextlib
import copy
import io
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


if __name__ == "__main__":
    main()
