#!/usr/bin/env bash
# experiments/device_bundle.sh — packs bin/rankdet and the GPU test suites with the shared
# libraries they need into one file, for a GPU machine that has the NVIDIA driver and PyTorch
# but none of our Debian libraries: OUT/bundle.tar.xz (default OUT=build/device, git-ignored).
# Left out: glibc itself (the machine's is used), the driver (libcuda), and cuDNN and cuBLAS,
# whose hundreds of megabytes come from the machine's PyTorch wheels (nvidia/*/lib) at run time.
# On the GPU machine, from the repository root:
#   mkdir -p /tmp/rd && tar -xJf build/device/bundle.tar.xz -C /tmp/rd
#   /tmp/rd/run /tmp/rd/tests/test_layers_cuda          # one suite
#   /tmp/rd/run ./tests/run.sh /tmp/rd/bin/rankdet /tmp/rd/tests/test_*   # all, with totals
#   /tmp/rd/run /tmp/rd/bin/rankdet bench loss --device cuda
# Usage: experiments/device_bundle.sh [OUT]   (after make; builds the suites it packs)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/device}
suites=$(ls tests/test_*cuda*.c tests/test_device.c | sed 's|^tests/\(.*\)\.c$|build/tests/\1|')
make --no-print-directory bin/rankdet $suites >/dev/null
stage=$(mktemp -d "${TMPDIR:-/tmp}/rankdet-bundle.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/tests" "$stage/lib" "$out"
strip --strip-debug -o "$stage/bin/rankdet" bin/rankdet
for s in $suites; do strip --strip-debug -o "$stage/tests/${s##*/}" "$s"; done
# Every library the binaries load, less glibc, the driver, cuDNN and cuBLAS.
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|libcuda\.so|libcudnn|libcublas)'
ldd bin/rankdet $suites | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
  while read -r name path; do
    [[ $name =~ $skip ]] || cp -L "$path" "$stage/lib/$name"
  done
cat > "$stage/run" <<'RUN'
#!/bin/sh
# run PROGRAM [ARGS]: PROGRAM with this bundle's libraries, then cuDNN and cuBLAS from the
# nvidia/*/lib folders of the machine's PyTorch (python3 must import torch).
here=$(cd "$(dirname "$0")" && pwd)
nv=$(python3 -c 'import os, torch
sp = os.path.dirname(os.path.dirname(torch.__file__))
print(":".join(os.path.join(r, d) for r, ds, _ in os.walk(os.path.join(sp, "nvidia"))
               for d in ds if d == "lib"))' 2>/dev/null)
[ -n "$nv" ] || echo "run: no nvidia/*/lib folders beside torch (cuDNN, cuBLAS); GPU ops will fail to load" >&2
LD_LIBRARY_PATH="$here/lib${nv:+:$nv}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$@"
RUN
chmod +x "$stage/run"
tar -cJf "$out/bundle.tar.xz" -C "$stage" .
echo "wrote $out/bundle.tar.xz ($(du -h "$out/bundle.tar.xz" | cut -f1); $(ls "$stage/lib" | wc -l) libraries, $(echo $suites | wc -w) suites)"
