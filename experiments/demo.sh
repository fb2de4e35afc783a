#!/usr/bin/env bash
# The main job on the built-in default (run by `make demo`): the toy convergence study, then a
# summary of the loss benchmark. Usage: experiments/demo.sh bin/rankdet
set -euo pipefail
bin=${1:-bin/rankdet}
cd "$(dirname "$0")/.."
./experiments/toy.sh "$bin"
echo
echo "== loss benchmark summary (rankdet bench loss; the full run is 'bin/rankdet bench loss') =="
"$bin" bench loss --repeats 3 --budget 2 --losses ap,auc,focal,ce_ohem,hinge_ap
