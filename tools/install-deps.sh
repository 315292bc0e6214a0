#!/usr/bin/env bash
# Installs every build and test dependency of dynagrad on Debian 12 with apt.
# A no-op when everything is already there; runs `apt-get update` only when
# something is missing. libtorch-dev (+ OpenBLAS) is only for the side-by-side
# benchmark and is installed unless DG_SKIP_LIBTORCH=1.
set -euo pipefail

# liblapacke-dev: the CPU linear algebra (LAPACKE over the liblapack.so.3 the
# alternatives system selects: OpenBLAS's with libopenblas0-pthread, as
# LibTorch, else the reference LAPACK).
# nlohmann-json3-dev: checkpoint headers (safetensors); zlib1g-dev: gzip'ed
# IDX files; dataset-fashion-mnist: the demo's data (and the data tests').
# graphviz: tools/dg-dot renders to_dot graphs (and a graph-export test parses them).
# libgloo-dev: dynagrad::distributed's CPU collectives (Gloo's TCP transport).
pkgs=(g++ cmake ninja-build libyaml-cpp-dev catch2 libdnnl-dev liblapacke-dev
      python3 python3-jinja2 python3-yaml clang-format git ccache
      nlohmann-json3-dev zlib1g-dev dataset-fashion-mnist graphviz libgloo-dev)
if [ "${DG_SKIP_LIBTORCH:-0}" != 1 ]; then
  pkgs+=(libtorch-dev libopenblas0-pthread)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
