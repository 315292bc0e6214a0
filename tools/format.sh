#!/usr/bin/env bash
# Formats the hand-written C++ with the committed .clang-format (generated/
# is laid out by its templates and left alone).
#   tools/format.sh           format in place
#   tools/format.sh --check   change nothing; list unformatted files, exit 1 if any
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if ! command -v clang-format >/dev/null 2>&1; then
  echo "format.sh: clang-format not found; install Debian's clang-format (tools/install-deps.sh does)" >&2
  exit 2
fi
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- \
  'core/*' 'autograd/*' 'ops/*' 'kernels/*' 'api/*' 'serialize/*' 'nn/*' 'optim/*' 'data/*' 'distributed/*' 'tests/*' 'tools/*' |
  grep -E '\.(h|cpp|cu|cuh)$')
if [ "${1:-}" = "--check" ]; then
  bad=()
  for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
  done
  if [ ${#bad[@]} -gt 0 ]; then
    echo "format.sh: not formatted with .clang-format (run tools/format.sh): ${bad[*]}" >&2
    exit 1
  fi
  echo "format.sh: ${#files[@]} files formatted"
else
  clang-format -i "${files[@]}"
fi
