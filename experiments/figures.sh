#!/usr/bin/env bash
# The figures of the AP-loss paper (Chen et al., CVPR 2019) from rankdet's run logs: exports the
# logs' groups with `rankdet export` into temporary tables, averages them over seeds, and draws
# analysis/<KIND>.gp (common look: analysis/style.gp) as OUTDIR/<KIND>.png and .svg.
#
# Usage: experiments/figures.sh BIN KIND RESULTS_SUBDIR OUTDIR
#   fig5a        RESULTS_SUBDIR = results/figure5a/<preset>-<data>: AP (eval/) against the
#                iteration, one curve per <loss>/ folder, mean over its seed<k>/log.h5 at the
#                evaluation steps every seed has.
#   fig5b        RESULTS_SUBDIR = results/figure5b/<preset>-<data>: the training-set AP-loss
#                (train/ap_loss) of ap, approx_ap and hinge_ap against the iteration, mean over
#                seeds, then a trailing moving mean over W logged rows (W = rows / 20, at least
#                1; FIGURES_SMOOTH=W sets it), said in the figure.
#   train_curve  RESULTS_SUBDIR = one run directory (holding log.h5): loss, cls_loss, box_loss
#                against the step, and eval AP50 and AP on a second axis.
#   delta_sweep  RESULTS_SUBDIR = results/table1b/<preset>-<data>: the final AP and AP50 (last
#                row of eval/) against δ of every delta<δ>/ folder, mean ± std (n - 1) over
#                seeds, beside the paper's Table 1b (paper_tables/table1.tsv); the numbers
#                also go to OUTDIR/delta_sweep.tsv (δ, AP, its std, AP50, its std, seeds).
# Exit: 0; 1 when logs or columns are missing (the message says which); 2 for bad usage.
set -euo pipefail

usage() { echo "usage: experiments/figures.sh BIN KIND RESULTS_SUBDIR OUTDIR" \
  "(KIND: fig5a fig5b train_curve delta_sweep)" >&2; exit 2; }
fail() { echo "figures.sh: error: $*" >&2; exit 1; }
[ $# -eq 4 ] || usage
kind=$2
case "$kind" in fig5a|fig5b|train_curve|delta_sweep) ;; *) echo "figures.sh: unknown KIND '$kind'" >&2; usage ;; esac
command -v gnuplot >/dev/null || fail "gnuplot is not installed (Debian package gnuplot-nox; make deps)"
bin=$(realpath -m "$1")
src=$(realpath -m "$3")
outdir=$(realpath -m "$4")
[ -x "$bin" ] || fail "$1 is not an executable rankdet binary"
[ -d "$src" ] || fail "no folder $3"
cd "$(dirname "$0")/.."
mkdir -p "$outdir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rankdet-figures.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# export LOG GROUP FILE: one group of a run log as a table.
export_group() { "$bin" export "$1" --group "$2" --out "$3" >/dev/null || fail "cannot export $2/ of $1"; }

# mean_by_key KEY "COLS" FILE...: the rows of every file (`rankdet export` tables) averaged by
# the value of column KEY over the files that all have that key: "key mean... n" per key in
# ascending order. Columns are found by name in each file's header line.
mean_by_key() {
  local key=$1 cols=$2; shift 2
  awk -v key="$key" -v cols="$cols" -v nfiles=$# '
    FNR == 1 { h = $0; sub(/^#[ \t]*/, "", h); n = split(h, names, /[ \t]+/); delete at
               for (i = 1; i <= n; i++) at[names[i]] = i
               k = split(key " " cols, want, " ")
               for (i = 1; i <= k; i++) if (!(want[i] in at)) {
                 printf "figures.sh: error: %s has no column %s (it has: %s)\n", FILENAME, want[i], h > "/dev/stderr"; bad = 1; exit 1 }
               next }
    /^#/ || NF == 0 { next }
    { x = $(at[key]) + 0; count[x]++; for (i = 2; i <= k; i++) sum[x, i] += $(at[want[i]]) }
    END { if (bad) exit 1
          for (x in count) if (count[x] == nfiles) { printf "%.17g", x
            for (i = 2; i <= k; i++) printf "\t%.17g", sum[x, i] / nfiles
            printf "\t%d\n", nfiles } }' "$@" | sort -g
}

# The seed<k>/log.h5 files of one variant folder (seed<k> may be a link to the run, as
# experiments/sweep.sh makes them).
logs_of() { find -L "$1" -mindepth 2 -maxdepth 2 -path '*/seed*/log.h5' | sort -V; }

# variants_with_logs DIR: the sub-folders of DIR holding seed<k>/log.h5, ap first.
variants_with_logs() {
  local v
  for v in $(find "$1" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort); do
    if [ -n "$(logs_of "$1/$v")" ]; then echo "$v"; fi
  done | awk '$0 == "ap" { print; next } { rest = rest $0 "\n" } END { printf "%s", rest }'
}

# per_variant GROUP KEY "COLS" VARIANT...: export every seed's GROUP and average into
# $tmp/<variant>.tsv; prints the number of seeds of each variant, in order.
per_variant() {
  local group=$1 key=$2 cols=$3 v log i; shift 3
  for v in "$@"; do
    i=0; local files=()
    while read -r log; do
      i=$((i + 1)); export_group "$log" "$group" "$tmp/$v.$i.raw"; files+=("$tmp/$v.$i.raw")
    done < <(logs_of "$src/$v")
    mean_by_key "$key" "$cols" "${files[@]}" > "$tmp/$v.tsv" || exit 1
    [ -s "$tmp/$v.tsv" ] || fail "$src/$v: the seeds' $group/ tables share no $key"
    echo "$i"
  done
}

case "$kind" in
fig5a)
  variants=$(variants_with_logs "$src")
  [ -n "$variants" ] || fail "no <loss>/seed<k>/log.h5 under $3"
  counts=$(per_variant eval step "AP AP50" $variants)
  gnuplot -e "dir='$tmp'; names='$(echo $variants)'; out='$outdir/fig5a'; \
    where='$(basename "$src")'; seeds='$(echo $counts)'" analysis/fig5a.gp ;;
fig5b)
  variants=$(for v in ap approx_ap hinge_ap; do
    if [ -d "$src/$v" ] && [ -n "$(logs_of "$src/$v")" ]; then echo "$v"; fi; done)
  [ -n "$variants" ] || fail "no ap/, approx_ap/ or hinge_ap/ with seed<k>/log.h5 under $3"
  counts=$(per_variant train step "ap_loss" $variants)
  rows=$(wc -l < "$tmp/$(head -n1 <<<"$variants").tsv")
  w=${FIGURES_SMOOTH:-$(( rows / 20 > 1 ? rows / 20 : 1 ))}
  [[ "$w" =~ ^[1-9][0-9]*$ ]] || { echo "figures.sh: FIGURES_SMOOTH must be a positive integer (got '$w')" >&2; exit 2; }
  for v in $variants; do
    awk -v w="$w" '{ s += $2; q[NR] = $2; if (NR > w) s -= q[NR - w]
                     printf "%s\t%s\t%.17g\n", $1, $2, s / (NR < w ? NR : w) }' "$tmp/$v.tsv" > "$tmp/$v.smooth.tsv"
  done
  gnuplot -e "dir='$tmp'; names='$(echo $variants)'; out='$outdir/fig5b'; smooth=$w; \
    where='$(basename "$src")'; seeds='$(echo $counts)'" analysis/fig5b.gp ;;
train_curve)
  [ -f "$src/log.h5" ] || fail "no run log $3/log.h5"
  export_group "$src/log.h5" train "$tmp/train.raw"
  export_group "$src/log.h5" eval "$tmp/eval.raw"
  mean_by_key step "loss cls_loss box_loss" "$tmp/train.raw" > "$tmp/train.tsv" || exit 1
  mean_by_key step "AP AP50" "$tmp/eval.raw" > "$tmp/eval.tsv" || exit 1
  [ -s "$tmp/train.tsv" ] || fail "$3/log.h5 has no train/ rows"
  gnuplot -e "dir='$tmp'; out='$outdir/train_curve'; where='$3'; \
    has_eval=$([ -s "$tmp/eval.tsv" ] && echo 1 || echo 0)" analysis/train_curve.gp ;;
delta_sweep)
  : > "$tmp/sweep.tsv"
  for d in $(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'delta*' -printf '%f\n' | sort); do
    mapfile -t logs < <(logs_of "$src/$d")
    [ ${#logs[@]} -gt 0 ] || continue
    : > "$tmp/$d.last"
    for i in "${!logs[@]}"; do
      export_group "${logs[$i]}" eval "$tmp/$d.$i.raw"
      mean_by_key step "AP AP50" "$tmp/$d.$i.raw" > "$tmp/$d.$i.tsv" || exit 1
      tail -n 1 "$tmp/$d.$i.tsv" >> "$tmp/$d.last"
    done
    # The last row of each seed's eval/, then mean and std (n - 1) over the seeds.
    awk -v d="${d#delta}" '{ n++; a[n] = $2; b[n] = $3; sa += $2; sb += $3 }
      END { if (n == 0) exit; ma = sa / n; mb = sb / n
            for (i = 1; i <= n; i++) { va += (a[i] - ma)^2; vb += (b[i] - mb)^2 }
            printf "%s\t%.17g\t%.17g\t%.17g\t%.17g\t%d\n", d, ma, (n > 1 ? sqrt(va / (n - 1)) : 0),
                   mb, (n > 1 ? sqrt(vb / (n - 1)) : 0), n }' "$tmp/$d.last" >> "$tmp/sweep.tsv"
  done
  [ -s "$tmp/sweep.tsv" ] || fail "no delta<δ>/seed<k>/log.h5 with eval/ rows under $3"
  sort -g -o "$tmp/sweep.tsv" "$tmp/sweep.tsv"
  { echo "# delta	AP	AP_std	AP50	AP50_std	seeds"; cat "$tmp/sweep.tsv"; } > "$outdir/delta_sweep.tsv"
  awk -F'\t' '$1 == "1b" { print $3 "\t" $4 "\t" $5 }' paper_tables/table1.tsv > "$tmp/paper.tsv"
  gnuplot -e "dir='$tmp'; out='$outdir/delta_sweep'; where='$(basename "$src")'; \
    seeds='$(cut -f6 "$tmp/sweep.tsv" | sort -u | paste -sd/ -)'" analysis/delta_sweep.gp ;;
esac
echo "figure: $outdir/$kind.png and $outdir/$kind.svg"
