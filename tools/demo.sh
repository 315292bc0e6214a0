#!/usr/bin/env bash
# Installs the dependencies, builds dg_demo (Release) and runs it.
# Usage: tools/demo.sh [build-dir]   (default: build/ in the repository)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"

"$root/tools/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" --target dg_demo -j2
"$build/tools/dg_demo"
