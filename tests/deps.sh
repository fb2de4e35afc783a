#!/usr/bin/env bash
# Installs the Debian packages rankdet needs that are missing (non-interactive apt-get).
# Called by `make deps`, and so by `make test` and `make demo` on a fresh machine.
set -euo pipefail
pkgs=(gcc make pkg-config libopenblas-dev libhdf5-dev hdf5-tools libgsl-dev check
      libsubunit-dev gnuplot-nox libjpeg62-turbo-dev libpng-dev libxml2-dev libcjson-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "rankdet: installing missing packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "rankdet: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
