#!/usr/bin/env bash
# Replays the README's "Adding an operator" walk-through, so that it stays
# true: takes its three marked blocks (`<!-- replay: ops.yaml -->`,
# `derivatives.yaml`, `program`), adds the two YAML entries to a scratch copy
# of the repository, regenerates with tools/regen.sh, checks that the
# generator wrote the op's kernels for both devices, builds the library (CPU)
# and runs the README's program against it (gradcheck and gradgradcheck of
# the new op), then compiles the generated CUDA kernel when nvcc is there.
#   tests/readme/replay.sh [scratch-dir]      (default: a fresh temporary one)
# Prints PASS or what failed; exits non-zero on failure. Takes a few minutes
# (one library build).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
scratch="${1:-$(mktemp -d "${TMPDIR:-/tmp}/dg-replay.XXXXXX")}"
[ $# -ge 1 ] || trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch"
fail() { echo "readme replay: FAIL: $*" >&2; exit 1; }

# The blocks, each the fenced code block right after its marker.
python3 - "$root/README.md" "$scratch" <<'PY'
import re, sys, textwrap
text = open(sys.argv[1], encoding="utf-8").read()
for name, out in (("ops.yaml", "ops.block"), ("derivatives.yaml", "derivatives.block"), ("program", "program.cpp")):
    m = re.search(r"<!-- replay: " + re.escape(name) + r" -->\s*\n(\s*)```\w*\n(.*?)\n\s*```", text, re.S)
    if not m:
        sys.exit(f"readme replay: FAIL: README.md has no block marked <!-- replay: {name} -->")
    with open(f"{sys.argv[2]}/{out}", "w") as f:
        f.write(textwrap.dedent(m.group(2)) + "\n")
PY
op=$(sed -n 's/^- name: \([A-Za-z_0-9.]*\).*/\1/p' "$scratch/ops.block" | head -1)
[ -n "$op" ] || fail "the ops.yaml block names no op"

# A scratch copy of the repository as git sees it (tracked and new files).
src="$scratch/src"
rm -rf "$src" && mkdir -p "$src"
(cd "$root" && git ls-files --cached --others --exclude-standard -z | xargs -0 cp --parents -t "$src")
grep -q "^- name: $op\$" "$src/ops.yaml" &&
  fail "'$op' is already in ops.yaml: the walk-through must add an op the library does not have; pick another"
{ echo; cat "$scratch/ops.block"; } >>"$src/ops.yaml"
{ echo; cat "$scratch/derivatives.block"; } >>"$src/derivatives.yaml"

echo "readme replay: regenerating with '$op' added"
"$src/tools/regen.sh" >/dev/null 2>"$scratch/regen.err" || { cat "$scratch/regen.err" >&2; fail "tools/regen.sh"; }
grep -q "warning" "$scratch/regen.err" && { cat "$scratch/regen.err" >&2; fail "the generator warned"; }
grep -q "void $op(" "$src"/generated/kernels/pointwise_cpu_*.cpp || fail "no generated CPU kernel for $op"
grep -q "void $op(" "$src"/generated/kernels/pointwise_cuda_*.cu || fail "no generated CUDA kernel for $op"

echo "readme replay: building the library (CPU)"
gen=(); command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
# The build folders sit inside the copy, as build/ sits in the checkout: with
# ccache's paths taken relative to the copy, the kernels the new op does not
# touch come from the cache of the checkout's own build.
export CCACHE_BASEDIR="$src" CCACHE_NOHASHDIR=1
cmake -S "$src" -B "$src/build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DDG_BUILD_TESTS=OFF \
  -DDG_BUILD_TOOLS=OFF -DDG_CUDA=OFF -DDG_CCACHE=ON >"$scratch/cmake.log" 2>&1 || { tail -30 "$scratch/cmake.log"; fail "configure"; }
cmake --build "$src/build" --target dynagrad -j2 >"$scratch/build.log" 2>&1 ||
  { tail -40 "$scratch/build.log"; fail "build"; }

echo "readme replay: running the README's program"
"${CXX:-c++}" -std=c++20 -O1 "$scratch/program.cpp" -o "$scratch/program" \
  -I"$src/core" -I"$src/autograd" -I"$src/api" -I"$src/serialize" -I"$src/nn" -I"$src/optim" -I"$src/data" \
  -I"$src/generated" \
  -L"$src/build" -ldynagrad -Wl,-rpath,"$src/build" -pthread ||
  fail "the README's program does not compile"
"$scratch/program" || fail "the README's program returned $? (its gradient or gradcheck is wrong)"

nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
if [ -x "$nvcc" ]; then
  echo "readme replay: compiling the generated CUDA kernel"
  shard=$(grep -l "void $op(" "$src"/generated/kernels/pointwise_cuda_*.cu | head -1)
  cmake -S "$src" -B "$src/build-cuda" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DDG_BUILD_TESTS=OFF \
    -DDG_BUILD_TOOLS=OFF -DDG_CUDA=ON -DDG_CCACHE=ON >"$scratch/cmake-cuda.log" 2>&1 || { tail -30 "$scratch/cmake-cuda.log"; fail "configure (CUDA)"; }
  cmake --build "$src/build-cuda" --target "CMakeFiles/dynagrad_kernels.dir/generated/kernels/$(basename "$shard").o" \
    >"$scratch/build-cuda.log" 2>&1 || { tail -40 "$scratch/build-cuda.log"; fail "the generated CUDA kernel does not compile"; }
else
  echo "readme replay: no nvcc; the generated CUDA kernel was not compiled"
fi
echo "readme replay: PASS ('$op' added from the README's two YAML entries, nothing else)"
