#!/usr/bin/env python3
"""bench_decode.py — the PIL side of `rankdet bench decode`.

    python3 experiments/bench_decode.py RUNS FILE...

Opens every FILE with PIL and converts it to RGB (Image.open(p).convert("RGB"), which reads
the file and decodes it in full), RUNS times over the whole list, and prints one line:
"images_per_second X", the median over the runs. One thread, as the C side.
"""
import statistics
import sys
import time
import warnings


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    from PIL import Image
    warnings.simplefilter("ignore")  # PIL's advice on palette transparency
    runs, files = int(sys.argv[1]), sys.argv[2:]
    rates = []
    for _ in range(runs):
        t = time.perf_counter()
        for f in files:
            Image.open(f).convert("RGB")
        rates.append(len(files) / (time.perf_counter() - t))
    print("images_per_second %.3f" % statistics.median(rates))


if __name__ == "__main__":
    main()
