#!/usr/bin/env bash
# The one test command: installs dependencies, checks the include directions
# and the formatting, configures, builds, runs every test, checks the
# installed-package and add_subdirectory consumers, replays the README's
# "add an op" walk-through, runs everything again under the sanitizers, and
# checks that generated/ is exactly what the generator makes from the YAML.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh

# ccache (CMake uses it when installed, DG_CCACHE): paths below the checkout
# are hashed relative to it, so the consumer build and the README replay
# (a copy of the checkout) reuse the objects of the build below.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

# Every #include runs along an arrow of docs/ARCHITECTURE.md, and the
# hand-written C++ is formatted with .clang-format (before building: such
# mistakes are reported in seconds, not after a build).
python3 tools/check_layers.py
tools/format.sh --check

BUILD=${DG_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD" -j2

(cd "$BUILD" && ctest --output-on-failure)

tests/consumer/run.sh "$BUILD"

# The README's "Adding an operator" walk-through, replayed on a scratch copy:
# two YAML entries, regenerate, build, gradcheck (a few minutes).
tests/readme/replay.sh

# The whole suite again under AddressSanitizer (with LeakSanitizer) and
# UndefinedBehaviorSanitizer: memory errors, leaks (reference cycles in the
# autograd graph show up here) and UB fail the run. The sanitizers see host
# code only, so this build leaves the CUDA kernels out (DG_CUDA=OFF: the
# no-CUDA stub); the build above already compiled and linked them.
ASAN_BUILD=${DG_ASAN_BUILD_DIR:-build-asan}
cmake -S . -B "$ASAN_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDG_BUILD_TOOLS=OFF -DDG_CUDA=OFF -DDG_PORT_TESTS=OFF \
  "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
cmake --build "$ASAN_BUILD" -j2
(cd "$ASAN_BUILD" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure)

# The build regenerates generated/ in place; in a checkout, any difference
# from what is committed means someone edited generated code by hand or forgot
# to commit a regeneration.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  if [ -n "$(git status --porcelain -- generated)" ]; then
    echo "test.sh: generated/ differs from a fresh regeneration of ops.yaml/derivatives.yaml:" >&2
    git status --porcelain -- generated >&2
    git --no-pager diff --stat -- generated >&2
    exit 1
  fi
  echo "test.sh: generated/ matches a fresh regeneration"
fi
