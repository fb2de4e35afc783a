#!/usr/bin/env python3
"""bench_eval_coco.py — the pycocotools side of `rankdet bench eval`.

    python3 experiments/bench_eval_coco.py GT.json DETS.json OUT.json

Runs COCO(GT), loadRes(DETS), COCOeval(..., 'bbox').evaluate(), accumulate(), summarize(), as
a user of pycocotools would, and writes the 12 numbers and the seconds of each phase to
OUT.json: {"stats": [...], "seconds": {"load_gt", "load_dt", "evaluate", "accumulate",
"summarize", "total"}}. The bench runs this script in its own process and measures its wall
time and peak memory from outside, as it does for `rankdet eval`.
"""
import contextlib
import io
import json
import sys
import time


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    gt_path, dt_path, out_path = sys.argv[1:]
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    seconds = {}
    t0 = t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(gt_path)
        seconds["load_gt"] = time.perf_counter() - t
        t = time.perf_counter()
        dt = gt.loadRes(dt_path)
        seconds["load_dt"] = time.perf_counter() - t
        E = COCOeval(gt, dt, "bbox")
        for phase in ("evaluate", "accumulate", "summarize"):
            t = time.perf_counter()
            getattr(E, phase)()
            seconds[phase] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0
    with open(out_path, "w") as f:
        json.dump({"stats": [float(s) for s in E.stats], "seconds": seconds}, f, indent=1)


if __name__ == "__main__":
    main()
