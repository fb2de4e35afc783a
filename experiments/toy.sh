#!/usr/bin/env bash
# The toy convergence study (run by `make toy`): Proposition 1 and the toy Figure 5b of the
# AP-loss paper (Chen et al., CVPR 2019) into results/toy/. Runs the curves study (every loss:
# on the Gaussian set with full batch, minibatch and noisy labels, and on the anisotropic set
# with full batch) and the Proposition 1 study (20 seeds of each kind of set), exports the
# logs with `rankdet export`, draws analysis/toy_curve.gp as PNG and SVG, and prints where the
# files are. Each study's header is printed directly above its own output. Extra arguments go
# to both studies (e.g. --steps 500 --hard-steps 20000).
# Usage: experiments/toy.sh bin/rankdet [rankdet toy flags]
set -euo pipefail
bin=${1:-bin/rankdet}
shift || true
cd "$(dirname "$0")/.."
out=results/toy
losses="ap approx_ap hinge_ap auc focal"
batch=200
noise=0.01
mkdir -p "$out"
rm -f "$out"/curves_*.h5 "$out"/curves_*.tsv

echo "== rankdet toy --study curves (logs in $out) =="
"$bin" toy --study curves --out "$out" --losses "${losses// /,}" --batch "$batch" \
  --noise "$noise" "$@"
echo
echo "== rankdet toy --study prop1 =="
"$bin" toy --study prop1 --seeds 20 --out "$out" "$@"

for log in "$out"/curves_*.h5; do
  "$bin" export "$log" --group train --out "${log%.h5}.tsv"
done

# Column numbers of step and one_minus_ap, from the export's header line "# col1 col2 ...".
header=$(head -n 1 "$out/curves_full_ap.tsv")
col() { sed 's/^#[[:space:]]*//' <<<"$header" | tr -s ' \t' '\n' | grep -nx "$1" | cut -d: -f1; }
xcol=$(col step)
ycol=$(col one_minus_ap)
[ -n "$xcol" ] && [ -n "$ycol" ] || { echo "toy.sh: no step/one_minus_ap columns in: $header" >&2; exit 1; }

gnuplot -e "dir='$out'; losses='$losses'; xcol=$xcol; ycol=$ycol; batch='$batch'; \
noise='$(awk -v n="$noise" 'BEGIN { printf "%g%%", 100 * n }')'; out='$out/fig5b_toy'" analysis/toy_curve.gp

echo
echo "== outputs =="
echo "figure:   $out/fig5b_toy.png and $out/fig5b_toy.svg"
echo "tables:   $out/curves.md (final AP per loss), $out/prop1.md (steps to AP = 1)"
echo "logs:     $out/curves_<full|mini|noisy|hard>_<loss>.h5 (and .tsv exports)"
