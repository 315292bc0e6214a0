#!/bin/sh
# Regenerates tests/golden/distributed_sampler_golden.json from LibTorch 1.13
# (Debian's libtorch-dev): compiles tools/golden/sampler_golden.cpp and runs it.
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
g++ -std=c++17 -O1 "$root/tools/golden/sampler_golden.cpp" -I/usr/include/torch/csrc/api/include \
  -ltorch -ltorch_cpu -lc10 -o "$tmp/sampler_golden"
"$tmp/sampler_golden" > "$root/tests/golden/distributed_sampler_golden.json"
echo "wrote tests/golden/distributed_sampler_golden.json"
