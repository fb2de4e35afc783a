#!/usr/bin/env bash
# The main job (make demo): generate the synthetic shapes set, train an AP-loss RetinaNet on
# the CPU (experiments/demo.cfg), evaluate it on the test split, print the metrics table, and
# write the training curve and detection pictures of a few test images into results/demo/.
# Usage: experiments/demo.sh bin/rankdet
set -euo pipefail
. "$(dirname "$0")/openmp_wait.sh"  # a short spin, then sleep
bin=$(realpath -m "${1:-bin/rankdet}")
cd "$(dirname "$0")/.."
out=results/demo
data=$out/synth
mkdir -p "$out"
if [ ! -f "$data/names.txt" ]; then
  rm -rf "$data"
  "$bin" synth --out "$data" --images 2000 --classes 4 --size 128 --seed 1
fi
rm -rf "$out/run"
echo "== training (experiments/demo.cfg; log, checkpoints and weights in $out/run) =="
"$bin" train experiments/demo.cfg data="$data" out="$out/run"
echo
echo "== evaluation on the test split (VOC2007 metric; AP is the mean over IoU .50:.95) =="
"$bin" eval --weights "$out/run/final.h5" --data "$data" --split test --scales 256 --threads 2 \
  | tee "$out/metrics.txt"
./experiments/figures.sh "$bin" train_curve "$out/run" "$out"
for id in $(head -n 4 "$data/ImageSets/Main/test.txt"); do
  "$bin" detect --weights "$out/run/final.h5" --input "$data/JPEGImages/$id.jpg" \
    --names "$data/names.txt" --min-size 256 --max-size 256 --draw "$out/detections_$id.png" \
    > "$out/detections_$id.txt"
done
echo
echo "wrote $out/metrics.txt, $out/train_curve.png|svg, $out/detections_*.png and the run in $out/run"
