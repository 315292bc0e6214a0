#!/usr/bin/env bash
# Regenerates generated/ from ops.yaml and derivatives.yaml without building
# anything: the generator alone, with the first Python that has Jinja2 and
# PyYAML (as the build picks it). Prints the validation errors, if any, and
# which generated files changed.
#   tools/regen.sh            regenerate
#   tools/regen.sh --check    change nothing; exit 1 if generated/ is stale
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

py=""
for cand in ${DG_PYTHON:-} "$(command -v python3 || true)" /usr/bin/python3; do
  if [ -n "$cand" ] && [ -x "$cand" ] && "$cand" -c "import jinja2, yaml" 2>/dev/null; then
    py="$cand"
    break
  fi
done
if [ -z "$py" ]; then
  echo "regen.sh: no Python 3 with Jinja2 and PyYAML found; install Debian's packages:" >&2
  echo "  apt-get install python3-jinja2 python3-yaml   (or run tools/install-deps.sh)" >&2
  exit 2
fi

"$py" "$root/codegen/gen.py" --ops "$root/ops.yaml" --derivatives "$root/derivatives.yaml" \
  --out "$root/generated" "$@"
if [ "${1:-}" != "--check" ] && git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$root" status --short -- generated
fi
