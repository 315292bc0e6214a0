#!/usr/bin/env bash
# Builds tests/consumer against dynagrad the two ways a user would, and runs it:
#   (a) add_subdirectory of this source tree: a fresh Release build of the
#       library alone (its tests and tools off), minutes on two cores;
#   (b) `cmake --install <builddir>` into a scratch prefix, then
#       find_package(dynagrad CONFIG REQUIRED) with CMAKE_PREFIX_PATH.
# Usage: tests/consumer/run.sh <dynagrad build dir> [a|b|all]   (default all)
# Prints PASS/FAIL per mode; exits non-zero if any mode fails.
set -euo pipefail

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 <dynagrad build dir (already built)> [a|b|all]" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
builddir="$(cd "$1" && pwd)"
which="${2:-all}"
case "$which" in a|b|all) ;; *) echo "$0: mode must be a, b or all, not '$which'" >&2; exit 2;; esac

scratch="$(mktemp -d "${TMPDIR:-/tmp}/dg-consumer.XXXXXX")"
trap 'rm -rf "$scratch" "$root/build-consumer"' EXIT

gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)

# Runs a command with its output in a log; on failure shows the log's tail.
step() {
  local log="$scratch/step.log"
  if ! "$@" >"$log" 2>&1; then
    echo "  failed: $*" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
}

mode_a() {
  # Inside the checkout (and git-ignored, /build*): with CCACHE_BASEDIR set
  # to the checkout, its compiles then match the main build's and come from
  # ccache when it is installed.
  local b="$root/build-consumer"
  rm -rf "$b"
  step cmake -S "$here" -B "$b" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DDG_SOURCE_DIR="$root" \
    -DDG_BUILD_TESTS=OFF -DDG_BUILD_TOOLS=OFF -DDG_CCACHE=ON || return 1
  step cmake --build "$b" --target consumer consumer_distributed -j2 || return 1
  "$b/consumer" && "$b/consumer_distributed"
}

mode_b() {
  local prefix="$scratch/prefix" b="$scratch/b"
  step cmake --install "$builddir" --prefix "$prefix" || return 1
  step cmake -S "$here" -B "$b" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" || return 1
  # The consumer must have found this install, not some other dynagrad.
  if ! grep -q "^dynagrad_DIR:PATH=$prefix/" "$b/CMakeCache.txt"; then
    echo "  find_package found $(grep '^dynagrad_DIR' "$b/CMakeCache.txt"), not $prefix" >&2
    return 1
  fi
  step cmake --build "$b" --target consumer consumer_distributed -j2 || return 1
  "$b/consumer" && "$b/consumer_distributed"
}

failed=0
run_mode() {
  local name="$1" fn="$2"
  echo "consumer [$name]: building and running..."
  if "$fn"; then
    echo "consumer [$name]: PASS"
  else
    echo "consumer [$name]: FAIL"
    failed=1
  fi
}
[ "$which" = b ] || run_mode "add_subdirectory" mode_a
[ "$which" = a ] || run_mode "find_package after cmake --install" mode_b
exit "$failed"
