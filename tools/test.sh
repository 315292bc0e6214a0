#!/usr/bin/env bash
# The one test command: installs dependencies, configures, builds, runs every
# test, checks the installed-package and add_subdirectory consumers, and
# checks that generated/ is exactly what the generator makes from the YAML.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh

BUILD=${DG_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD" -j2

(cd "$BUILD" && ctest --output-on-failure)

tests/consumer/run.sh "$BUILD"

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
