#!/usr/bin/env bash
# sweep.sh — runs one experiment of the AP-loss paper (Chen et al., CVPR 2019, Section 4): every
# variant × seed with `rankdet train` (experiments/train_run.h), into the layout of
# results/README.md:
#   RESULTS/<experiment>/<preset>-<data>/<variant>/seed<k>  ->  ../../../runs/<hash>
# A variant is key=value overrides on the preset's base config (experiments/<preset>.cfg). The
# run directory is named by the hash of the run's resolved config: base config, data keys,
# variant keys, ARGS and seed, as `key = value` lines with '_' read as '-', true/yes/on as 1,
# false/no/off as 0, numbers as %.17g, sorted, without out, threads, progress and resume (they
# do not change what a run computes; results/runs/<hash>/resolved.txt keeps that text). So a
# config reached from several experiments is trained once and linked from each: bs8 of table1a
# = delta1 of table1b = interp_yes of table1c = ap of table2 = ap of figure5a. A run with
# metrics.tsv is done and skipped; one with checkpoint.h5 and no metrics.tsv was interrupted and
# is continued with resume=1 (bit for bit the uninterrupted run); anything else is started anew.
# Table 3's multi-scale test (ms) is not trained again: the weights of its single-scale run (ss)
# are evaluated with `rankdet eval --weights` at its scales (runs/<hash>/ then holds config.txt,
# metrics.tsv, detections.json, eval.json, eval.txt, eval_seconds.txt and source, a link to the
# trained run; no log.h5 or weights of its own).
# One line per run: experiment, variant, seed, AP50, AP, minutes (train/ and eval/ seconds of the
# run log, or the evaluation's) and whether it was trained, resumed, evaluated or done before.
#
# Usage: experiments/sweep.sh EXPERIMENT [KNOB=VALUE ...]
#   EXPERIMENT  table1a (batch size) table1b (δ) table1c (interpolation) table2 (losses)
#               table3 (ResNet-101, single- and multi-scale test) figure5a (AP over training)
#               figure5b (training AP-loss of ap, approx_ap, hinge_ap; box regression off)
#   PRESET=tiny|smoke|paper   base config (default tiny)
#   DATA=DIR     any VOC, COCO or YOLO dataset instead of the preset's (splits: see data_keys)
#   VOC=DEVKIT   PRESET=paper: folder with VOC2007/ and VOC2012/ (paper_voc.cfg)
#   COCO=ROOT    PRESET=paper: COCO 2017 root (paper_coco.cfg)
#   SEEDS=n      seeds 1..n of every variant (default 1)
#   VARIANTS=a,b only these variants (default all)
#   THREADS=n    threads of each run (default: the number of cores)
#   RESULTS=DIR  results root (default results)
#   BIN=PATH     the rankdet binary (default bin/rankdet)
#   WEIGHTS=DIR  PRESET=paper: ImageNet weights resnet50.h5, resnet101.h5 (default weights)
#   ARGS="k=v ..."  extra keys for every run (they enter the hash)
# Exit: 0 all runs done; 1 a run failed (its message above); 2 bad usage; 130/143 interrupted
# (the running run saved its checkpoint: the same command continues it).
set -euo pipefail
. "$(dirname "$0")/openmp_wait.sh"  # a short spin, then sleep

here=$(cd "$(dirname "$0")" && pwd)
usage() {
  sed -n '/^# Usage:/,/^# Exit:/p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
die_usage() { echo "sweep.sh: error: $*" >&2; exit 2; }
die() { echo "sweep.sh: error: $*" >&2; exit 1; }

[ $# -ge 1 ] || usage
experiment=$1; shift
case "$experiment" in
  table1a|table1b|table1c|table2|table3|figure5a|figure5b) ;;
  -h|--help) usage ;;
  *) die_usage "unknown experiment '$experiment' (table1a table1b table1c table2 table3 figure5a figure5b)" ;;
esac
PRESET=tiny DATA='' VOC='' COCO='' SEEDS=1 VARIANTS='' THREADS='' RESULTS=results BIN=bin/rankdet
WEIGHTS=weights ARGS=''
for a in "$@"; do
  case "$a" in
    PRESET=*|DATA=*|VOC=*|COCO=*|SEEDS=*|VARIANTS=*|THREADS=*|RESULTS=*|BIN=*|WEIGHTS=*|ARGS=*)
      printf -v "${a%%=*}" '%s' "${a#*=}" ;;
    *) die_usage "'$a' is not a knob (PRESET= DATA= VOC= COCO= SEEDS= VARIANTS= THREADS= RESULTS= BIN= WEIGHTS= ARGS=)" ;;
  esac
done
[[ "$SEEDS" =~ ^[1-9][0-9]*$ ]] || die_usage "SEEDS must be a positive integer (got '$SEEDS')"
[ -n "$THREADS" ] || THREADS=$(nproc)
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die_usage "THREADS must be a positive integer (got '$THREADS')"
case "$PRESET" in tiny|smoke|paper) ;; *) die_usage "PRESET must be tiny, smoke or paper (got '$PRESET')" ;; esac
[ -x "$BIN" ] || die_usage "BIN=$BIN is not an executable rankdet (make builds bin/rankdet)"
[ -z "$DATA" ] || [ -d "$DATA" ] || die_usage "DATA=$DATA is not a folder"
[ -z "$VOC" ] || [ -d "$VOC" ] || die_usage "VOC=$VOC is not a folder"
[ -z "$COCO" ] || [ -d "$COCO" ] || die_usage "COCO=$COCO is not a folder"
[ "$PRESET" != paper ] || [ -n "$DATA$VOC$COCO" ] ||
  die_usage "PRESET=paper needs VOC=DEVKIT (VOC2007/ and VOC2012/), COCO=ROOT (COCO 2017) or DATA=DIR"

# Ctrl-C reaches the running `rankdet train` too, which checkpoints and exits 130; the sweep
# stops after it instead of starting the next run.
interrupted=0
trap 'interrupted=130' INT
trap 'interrupted=143' TERM
stop_if_interrupted() { if [ "$interrupted" -ne 0 ]; then echo "sweep.sh: interrupted; the same command continues" >&2; exit "$interrupted"; fi; }

# ---- data ----

# data_keys DIR: the dataset keys of any VOC, COCO or YOLO folder into the array dkeys
# (key=value), first rule that fits:
#   VOC devkit (ImageSets/Main/): train-split trainval or train, val-split test or val;
#   COCO (annotations/instances_*.json): train-split the train* file, val-split the val* file;
#   YOLO (images/train*/): the train* and val* (or test*) image folders as splits;
#   a train/ folder and a test/ or val/ folder one or two levels down (as fruits' train_zip/train
#   and test_zip/test): data= the first, val-data= the second, every annotation of each;
#   otherwise the whole folder, evaluated on its own training images (said on stderr).
data_keys() {
  local d=$1 tr='' va='' f t v
  if [ -d "$d/ImageSets/Main" ]; then
    for f in trainval train; do if [ -f "$d/ImageSets/Main/$f.txt" ]; then tr=$f; break; fi; done
    for f in test val; do if [ -f "$d/ImageSets/Main/$f.txt" ]; then va=$f; break; fi; done
    [ -n "$tr" ] || die "$d/ImageSets/Main has no trainval.txt or train.txt"
  elif compgen -G "$d/annotations/instances_*.json" >/dev/null; then
    tr=$(find "$d/annotations" -maxdepth 1 -name 'instances_train*.json' -printf '%f\n' | sort | head -n1)
    va=$(find "$d/annotations" -maxdepth 1 -name 'instances_val*.json' -printf '%f\n' | sort | head -n1)
    [ -n "$tr" ] || tr=$(find "$d/annotations" -maxdepth 1 -name 'instances_*.json' -printf '%f\n' | sort | head -n1)
    tr=${tr#instances_}; tr=${tr%.json}; va=${va#instances_}; va=${va%.json}
  elif compgen -G "$d/images/train*/" >/dev/null; then
    tr=$(find "$d/images" -mindepth 1 -maxdepth 1 -type d -name 'train*' -printf '%f\n' | sort | head -n1)
    va=$(find "$d/images" -mindepth 1 -maxdepth 1 -type d \( -name 'val*' -o -name 'test*' \) -printf '%f\n' | sort | head -n1)
  else
    t=$(find "$d" -mindepth 1 -maxdepth 2 -type d -name train | sort | head -n1)
    v=$(find "$d" -mindepth 1 -maxdepth 2 -type d \( -name test -o -name val \) | sort | head -n1)
    if [ -n "$t" ] && [ -n "$v" ]; then
      dkeys=("data=$t" "val-data=$v" "train-split=" "val-split=")
    else
      echo "sweep.sh: $d has no split: training and evaluating on all its images" >&2
      dkeys=("data=$d" "train-split=" "val-split=")
    fi
    return 0
  fi
  if [ -z "$va" ]; then
    echo "sweep.sh: $d has no val or test split: evaluating on the training split $tr" >&2
    va=$tr
  fi
  dkeys=("data=$d" "train-split=$tr" "val-split=$va")
}

# synth_set DIR ARGS...: the synthetic shapes set, written once (into DIR.tmp, then renamed).
synth_set() {
  local dir=$1; shift
  [ -f "$dir/synth.txt" ] && return
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir.tmp.$$"
  "$BIN" synth --out "$dir.tmp.$$" --quiet "$@" >/dev/null || die "rankdet synth could not write $dir"
  mv -T "$dir.tmp.$$" "$dir" 2>/dev/null || rm -rf "$dir.tmp.$$"  # another sweep made it first
}

# voc0712 DEVKIT OUT: the merged VOC07+12 devkit root of paper_voc.cfg, made once.
voc0712() {
  local kit out=$2 y
  kit=$(cd "$1" && pwd)
  [ -f "$out/ImageSets/Main/trainval.txt" ] && return
  for y in VOC2007 VOC2012; do
    [ -f "$kit/$y/ImageSets/Main/trainval.txt" ] || die "VOC=$1: no $y/ImageSets/Main/trainval.txt"
  done
  [ -f "$kit/VOC2007/ImageSets/Main/test.txt" ] || die "VOC=$1: no VOC2007/ImageSets/Main/test.txt (the VOC2007 test set)"
  echo "sweep.sh: linking VOC2007 + VOC2012 into $out" >&2
  rm -rf "$out.tmp.$$"
  mkdir -p "$out.tmp.$$/Annotations" "$out.tmp.$$/JPEGImages" "$out.tmp.$$/ImageSets/Main"
  for y in VOC2007 VOC2012; do
    cp -rs "$kit/$y/Annotations/." "$out.tmp.$$/Annotations/"
    cp -rs "$kit/$y/JPEGImages/." "$out.tmp.$$/JPEGImages/"
  done
  cat "$kit/VOC2007/ImageSets/Main/trainval.txt" "$kit/VOC2012/ImageSets/Main/trainval.txt" \
    > "$out.tmp.$$/ImageSets/Main/trainval.txt"
  cp "$kit/VOC2007/ImageSets/Main/test.txt" "$out.tmp.$$/ImageSets/Main/test.txt"
  mkdir -p "$(dirname "$out")"
  mv -T "$out.tmp.$$" "$out" 2>/dev/null || rm -rf "$out.tmp.$$"
}

# add_set NAME CFG KEY=VALUE...: one dataset of this sweep ("name|cfg|key=value;..." in sets).
sets=()
add_set() {
  local name=$1 cfg=$2; shift 2
  sets+=("$name|$cfg|$(IFS=';'; echo "$*")")
}

# The datasets of this sweep, made when they are the preset's own.
find_datasets() {
  case "$PRESET" in
    tiny|smoke)
      if [ -n "$DATA" ]; then
        data_keys "$DATA"
        add_set "$(basename "$(cd "$DATA" && pwd)")" "$here/$PRESET.cfg" "${dkeys[@]}"
      elif [ "$PRESET" = tiny ]; then
        synth_set "$RESULTS/data/synth" --size 128
        data_keys "$RESULTS/data/synth"
        add_set synth "$here/tiny.cfg" "${dkeys[@]}"
      else
        synth_set "$RESULTS/data/smoke/synth" --images 24 --size 64 --test-frac 0.34
        data_keys "$RESULTS/data/smoke/synth"
        add_set synth "$here/smoke.cfg" "${dkeys[@]}"
      fi ;;
    paper)
      # Tables 2 and 3 have VOC and COCO columns; the ablations and Figure 5 are on VOC (on
      # COCO when no VOC is given).
      if [ -n "$VOC" ] && [ "$experiment" = figure5b ]; then  # Figure 5b: VOC2007 trainval
        add_set VOC2007 "$here/paper_voc.cfg" "data=$VOC/VOC2007" train-split=trainval val-split=test
      elif [ -n "$VOC" ]; then
        voc0712 "$VOC" "$RESULTS/data/VOC0712"
        add_set VOC0712 "$here/paper_voc.cfg" "data=$RESULTS/data/VOC0712" train-split=trainval \
          val-split=test
      fi
      if [ -n "$COCO" ] && { [ -z "$VOC" ] || [ "$experiment" = table2 ] || [ "$experiment" = table3 ]; }; then
        add_set coco "$here/paper_coco.cfg" "data=$COCO" train-split=train2017 val-split=val2017
      fi
      if [ -n "$DATA" ]; then
        local cfg=paper_voc.cfg
        if compgen -G "$DATA/annotations/instances_*.json" >/dev/null; then cfg=paper_coco.cfg; fi
        data_keys "$DATA"
        add_set "$(basename "$(cd "$DATA" && pwd)")" "$here/$cfg" "${dkeys[@]}"
      fi ;;
  esac
}

# ---- variants ----

# The base config's value of KEY (as written; "" when absent).
cfg_value() {
  awk -v k="$2" '{ sub(/#.*/, ""); i = index($0, "="); if (!i) next
    key = substr($0, 1, i - 1); gsub(/[ \t]/, "", key); gsub(/_/, "-", key)
    if (key == k) { v = substr($0, i + 1); gsub(/^[ \t]+|[ \t]+$/, "", v); val = v } }
    END { print val }' "$1"
}

# variants CFG: "name|key=value key=value[|source]" lines of the experiment on base config CFG.
# A variant with a source differs from it in test keys only: it is not trained but evaluated
# (`rankdet eval --weights`) on the source's final weights, which gives the numbers a run
# trained with its keys would end with (the same weights, the same evaluation).
variants() {
  local cfg=$1 b g d
  case "$experiment" in
    table1a)
      # bsN ranks N images together; the paper's 16-image step was 2 GPUs × 8, so a base batch
      # of 16 takes 2N images a step (bs8 = the base), a base of 8 takes N.
      b=$(cfg_value "$cfg" batch); g=$(( b >= 16 ? b / 8 : 1 ))
      for d in 1 2 4 8; do echo "bs$d|batch=$((d * g))"; done ;;
    table1b) for d in 0.25 0.5 1 2; do echo "delta$d|delta=$d"; done ;;
    table1c) echo "interp_no|interp=false"; echo "interp_yes|interp=true" ;;
    table2|figure5a) for d in ce_ohem focal auc ap; do echo "$d|loss=$d"; done ;;
    table3)
      # RetinaNet500 with ResNet-101, tested at a short side of 500 (the tiny set's 128, smoke's
      # 64). Multi-scale test: the paper does not give its scales; ours are five short sides
      # around the single one (0.8 to 1.6 times 500 on the paper preset) and the mirrored image.
      local ss ms w=''
      case "$PRESET" in
        paper) ss="test-size=500"; ms="test-scales=400,500,600,700,800 test-flip=true"
               w=" pretrained=$WEIGHTS/resnet101.h5" ;;
        tiny) ss="test-size=256"; ms="test-scales=192,224,256,288,320 test-flip=true" ;;
        smoke) ss="test-size=64"; ms="test-scales=48,64,96 test-flip=true" ;;
      esac
      echo "ss|backbone=resnet101$w $ss"
      echo "ms|backbone=resnet101$w $ss $ms|ss" ;;
    figure5b) for d in ap approx_ap hinge_ap; do echo "$d|loss=$d box-loss=false eval-every=0"; done ;;
  esac
}

# resolve CFG KEY=VALUE...: the canonical text of the run's config (see the top of the file).
resolve() {
  local cfg=$1; shift
  { cat "$cfg"; printf '%s\n' "$@"; } | awk '
    { line = $0; sub(/#.*/, "", line); i = index(line, "="); if (!i) next
      k = substr(line, 1, i - 1); v = substr(line, i + 1)
      gsub(/^[ \t]+|[ \t]+$/, "", k); gsub(/^[ \t]+|[ \t]+$/, "", v); gsub(/_/, "-", k)
      if (v ~ /^"/) { v = substr(v, 2); sub(/"$/, "", v) }
      lv = tolower(v)
      if (lv == "true" || lv == "yes" || lv == "on") v = 1
      else if (lv == "false" || lv == "no" || lv == "off") v = 0
      else if (v ~ /^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$/) v = sprintf("%.17g", v + 0)
      if (k == "out" || k == "threads" || k == "progress" || k == "resume") next
      val[k] = v }
    END { for (k in val) print k " = " val[k] }' | LC_ALL=C sort
}

# ---- runs ----

# last_value NAME: the last row's value of column NAME of the `rankdet export` table on stdin
# ("" when there is none).
last_value() {
  awk -v c="$1" 'FNR == 1 { sub(/^#[ \t]*/, ""); for (i = 1; i <= NF; i++) if ($i == c) at = i; next }
    NF && at { v = $at } END { print v }'
}

# summary VARIANT SEED RUN HOW: the one line of a run. Minutes: the run log's training seconds
# (train/, last row) and its last evaluation's seconds (eval/, last row).
summary() {
  local run=$3 t e
  if [ -f "$run/eval_seconds.txt" ]; then
    t=0; e=$(cat "$run/eval_seconds.txt")
  else
    t=$("$BIN" export "$run/log.h5" --group train 2>/dev/null | last_value seconds) || t=''
    e=$("$BIN" export "$run/log.h5" --group eval 2>/dev/null | last_value seconds) || e=''
  fi
  awk -v x="$experiment" -v v="$1" -v s="$2" -v t="${t:-0}" -v e="${e:-0}" -v how="$4" \
      -v h="${run##*/}" '!/^#/ && NF { ap = $1; ap50 = $2; exit }
      END { printf "%-9s %-10s seed%-2s AP50 %.4f  AP %.4f  %6.2f min  %-11s runs/%s\n",
            x, v, s, ap50, ap, (t + e) / 60, how, h }' "$run/metrics.tsv"
}

# train_run RUN CFG KEY=VALUE...: train one run into RUN, or continue it, or leave it when it is
# done; sets run_how (trained, resumed, done before).
train_run() {
  local run=$1 cfg=$2 rc=0 progress=0; shift 2
  if [ -t 2 ]; then progress=1; fi
  if [ -f "$run/metrics.tsv" ]; then
    run_how="done before"; return 0
  elif [ -f "$run/checkpoint.h5" ]; then
    run_how=resumed
    "$BIN" train "$cfg" "$@" out="$run" threads="$THREADS" progress=$progress resume=1 || rc=$?
  else
    run_how=trained
    rm -rf "$run"; mkdir -p "$run"
    "$BIN" train "$cfg" "$@" out="$run" threads="$THREADS" progress=$progress || rc=$?
  fi
  if [ "$rc" -eq 130 ] || [ "$rc" -eq 143 ]; then interrupted=$rc; fi
  stop_if_interrupted
  [ "$rc" -eq 0 ] || die "rankdet train failed (exit $rc) in $run: $cfg $*"
  [ -f "$run/metrics.tsv" ] || die "rankdet train left no metrics.tsv in $run"
}

# key_of KEY: the value of KEY in the resolved text on stdin.
key_of() { awk -v k="$1" '$1 == k { sub(/^[^=]*= ?/, ""); print; exit }'; }

# eval_run RUN SOURCE TEXT: RUN as a run of the resolved config TEXT whose training is that of
# SOURCE (a finished run): SOURCE's final.h5 evaluated with TEXT's test keys by `rankdet eval`
# into detections.json, eval.json (all its numbers) and metrics.tsv (written last); config.txt
# is SOURCE's with the test keys and out of TEXT, and source links to SOURCE. Sets run_how.
eval_run() {
  local run=$1 src=$2 text=$3 scales flip=() t0 rc=0 k
  if [ -f "$run/metrics.tsv" ]; then run_how="done before"; return 0; fi
  run_how=evaluated
  rm -rf "$run"; mkdir -p "$run"
  scales=$(key_of test-scales <<<"$text"); [ -n "$scales" ] || scales=$(key_of test-size <<<"$text")
  [ "$(key_of test-flip <<<"$text")" = 1 ] && flip=(--flip)
  local data; data=$(key_of val-data <<<"$text"); [ -n "$data" ] || data=$(key_of data <<<"$text")
  t0=$(date +%s.%N)
  "$BIN" eval --weights "$src/final.h5" --data "$data" --split "$(key_of val-split <<<"$text")" \
    --preset "$(key_of preset <<<"$text")" --scales "$scales" "${flip[@]}" \
    --limit "$(key_of eval-limit <<<"$text")" --threads "$THREADS" --out "$run/detections.json" \
    --json "$run/eval.json" > "$run/eval.txt" || rc=$?
  stop_if_interrupted
  [ "$rc" -eq 0 ] || die "rankdet eval failed (exit $rc) on $src/final.h5; see $run/eval.txt"
  ln -sfn "../${src##*/}" "$run/source"
  awk -v out="$run" -v scales="$scales" -v flip="${flip[*]:+true}" '
    $1 == "test-scales" { $0 = "test-scales = " scales } $1 == "test-flip" { $0 = "test-flip = " (flip ? flip : "false") }
    $1 == "out" { $0 = "out = " out } { print }' "$src/config.txt" > "$run/config.txt"
  echo "$(date +%s.%N) $t0" | awk '{ printf "%.3f\n", $1 - $2 }' > "$run/eval_seconds.txt"
  { printf '# AP\tAP50\tAP75\tAPs\tAPm\tAPl\n'
    for k in AP AP50 AP75 APs APm APl; do
      grep -o "\"$k\": [-0-9.eE+]*" "$run/eval.json" | head -n1 | awk '{ printf "%.6f", $2 }'
      [ "$k" = APl ] && printf '\n' || printf '\t'
    done; } > "$run/metrics.tsv.tmp"
  [ "$(awk 'END { print NF }' "$run/metrics.tsv.tmp")" -eq 6 ] || die "$run/eval.json lacks a metric"
  mv "$run/metrics.tsv.tmp" "$run/metrics.tsv"
}

# one_run NAME CFG VARIANT SEED KEY=VALUE...: one variant × seed of one dataset: resolve, hash,
# lock, train or continue or skip, link, summary.
one_run() {
  local name=$1 cfg=$2 variant=$3 seed=$4 source=$5; shift 5
  local text hash run link lock
  text=$(resolve "$cfg" "$@" seed="$seed")
  hash=$(printf '%s\n' "$text" | sha256sum | cut -c1-16)
  run=$RESULTS/runs/$hash
  mkdir -p "$RESULTS/runs"
  exec {lock}>"$run.lock"
  flock "$lock"   # a parallel sweep reaching the same run waits for it, then skips it
  if [ -n "$source" ]; then
    eval_run "$run" "$(readlink -f "$RESULTS/$experiment/$PRESET-$name/$source/seed$seed")" "$text"
  else
    train_run "$run" "$cfg" "$@" seed="$seed"
  fi
  printf '%s\n' "$text" > "$run/resolved.txt"
  exec {lock}>&-
  link=$RESULTS/$experiment/$PRESET-$name/$variant
  mkdir -p "$link"
  ln -sfn "../../../runs/$hash" "$link/seed$seed"
  summary "$variant" "$seed" "$run" "$run_how"
}

if [ "$PRESET" = paper ]; then
  for f in "$WEIGHTS/resnet50.h5" $([ "$experiment" = table3 ] && echo "$WEIGHTS/resnet101.h5"); do
    [ -f "$f" ] || die "no ImageNet weights $f: make them with experiments/convert_torchvision.py (README.md, \"Reproducing the paper\")"
  done
fi

find_datasets
[ ${#sets[@]} -gt 0 ] || die "no dataset for $experiment (PRESET=$PRESET)"
for set in "${sets[@]}"; do
  IFS='|' read -r name cfg keys <<<"$set"
  IFS=';' read -r -a data_args <<<"$keys"
  mapfile -t vars < <(variants "$cfg")
  if [ -n "$VARIANTS" ]; then
    for want in ${VARIANTS//,/ }; do
      printf '%s\n' "${vars[@]}" | grep -q "^$want|" || die_usage "VARIANTS: $experiment has no variant '$want' (it has: $(printf '%s\n' "${vars[@]}" | cut -d'|' -f1 | paste -sd' '))"
    done
  fi
  selected=$VARIANTS  # and the variants they are evaluated from
  for v in "${vars[@]}"; do
    IFS='|' read -r variant keys source <<<"$v"
    if [ -n "$source" ] && [[ ",$VARIANTS," == *",$variant,"* ]]; then selected+=",$source"; fi
  done
  echo "== $experiment $PRESET-$name: $(printf '%s\n' "${vars[@]}" | cut -d'|' -f1 | paste -sd' ') × $SEEDS seed(s) -> $RESULTS/$experiment/$PRESET-$name"
  for v in "${vars[@]}"; do
    IFS='|' read -r variant keys source <<<"$v"
    if [ -n "$VARIANTS" ] && [[ ",$selected," != *",$variant,"* ]]; then continue; fi
    read -r -a over <<<"$keys"
    read -r -a extra <<<"$ARGS"
    for ((seed = 1; seed <= SEEDS; seed++)); do
      stop_if_interrupted
      one_run "$name" "$cfg" "$variant" "$seed" "$source" "${data_args[@]}" "${over[@]}" \
        "${extra[@]}"
    done
  done
done
