#!/usr/bin/env bash
# The one command a GPU run needs: builds dynagrad with CUDA, runs the whole
# test suite on the GPU (tests/test_cuda_ops.cpp compares every op's CUDA
# forward and backward with the CPU's, in float64 and float32; the
# "[cuda][determinism]" case of tests/test_anomaly.cpp checks that the
# atomic-add kernels raise under dg::use_deterministic_algorithms(true) and
# their integer forms run), ProcessGroupNCCL's tests (dg_dist_tests
# "[distributed][cuda]"), then the GPU benchmark side by side with PyTorch (tools/gpu_bench.cpp and
# tools/bench/gpu_bench_torch.py), printed as ratios.
#
#   tools/gpu-check.sh                 build here (needs the CUDA toolkit and
#                                      the build deps of tools/install-deps.sh),
#                                      test and benchmark on this machine's GPU
#   tools/gpu-check.sh --bundle DIR    build here (no GPU needed) and pack the
#                                      test and benchmark programs with the
#                                      libraries a bare GPU machine lacks
#                                      (oneDNN, yaml-cpp) into DIR/bundle.tar.xz
#   tools/gpu-check.sh --from-bundle DIR
#                                      on a GPU machine with CUDA 13 and PyTorch
#                                      but none of our build deps: unpack, test,
#                                      benchmark
# Environment: DG_GPU_BUILD_DIR (default build-gpu), CMAKE_CUDA_ARCHITECTURES
# (default "80;90"), DG_GPU_TESTS (Catch2 test spec, default: every test),
# DG_GPU_SANITIZE=1 also runs the CUDA tests under compute-sanitizer.
# Results (test log, benchmark table) also go to $OUT when it is set.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUTDIR=${OUT:-}
log() { echo "gpu-check: $*"; }
# Where the dynamic linker finds a library ("" when it does not). awk reads
# all of ldconfig's output: stopping early would fail the pipe (pipefail).
lib_path() { ldconfig -p | awk -v l="$1" '$1 == l && !found { print $NF; found = 1 }'; }

build() {
  local dir=${DG_GPU_BUILD_DIR:-build-gpu}
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDG_CUDA=ON \
    "-DCMAKE_CUDA_ARCHITECTURES=${CMAKE_CUDA_ARCHITECTURES:-80;90}" >/dev/null
  cmake --build "$dir" --target dg_tests dg_gpu_bench dg_dist_tests dg_dist_worker -j"$(nproc)"
  BIN=$ROOT/$dir
}

# Runs the tests and the benchmark from programs in $TESTS / $BENCH.
check() {
  log "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo unknown)"
  local tlog=${OUTDIR:+$OUTDIR/gpu-tests.log}
  tlog=${tlog:-/tmp/gpu-tests.log}
  log "tests: $TESTS ${DG_GPU_TESTS:-(all)}"
  set +e
  "$TESTS" ${DG_GPU_TESTS:+"$DG_GPU_TESTS"} 2>&1 | tee "$tlog" | tail -n 60
  local rc=${PIPESTATUS[0]}
  # ProcessGroupNCCL's tests (tests/test_distributed.cpp, tests/dist/nccl_scenarios.cpp):
  # ranks are processes of dg_dist_worker, one per GPU (at most 2).
  if [ -n "${DIST_TESTS:-}" ] && [ -x "$DIST_TESTS" ]; then
    log "distributed tests on the GPU (NCCL): $DIST_TESTS [distributed][cuda]"
    "$DIST_TESTS" "[distributed][cuda]" 2>&1 | tee -a "$tlog" | tail -n 30
    [ "${PIPESTATUS[0]}" = 0 ] || rc=4
  fi
  set -e
  if [ "${DG_GPU_SANITIZE:-0}" = 1 ] && command -v compute-sanitizer >/dev/null; then
    log "compute-sanitizer (memcheck) over the [cuda] tests"
    compute-sanitizer --tool memcheck --error-exitcode 3 "$TESTS" "[cuda]" 2>&1 | tail -n 30 || rc=3
  fi
  log "benchmark (dynagrad, then PyTorch; float32, median of synchronised runs)"
  "$BENCH" | tee /tmp/dg_gpu_bench.txt
  if python3 -c "import torch" 2>/dev/null; then
    python3 "$ROOT/tools/bench/gpu_bench_torch.py" | tee /tmp/torch_gpu_bench.txt
    python3 - /tmp/dg_gpu_bench.txt /tmp/torch_gpu_bench.txt <<'PY' | tee ${OUTDIR:+"$OUTDIR/gpu-bench.txt"}
import sys
def read(p):
    r = {}
    for line in open(p):
        f = line.split()
        if len(f) >= 2 and f[0] != "skipped":
            r[f[0]] = (float(f[1]), " ".join(f[2:]))
    return r
d, t = read(sys.argv[1]), read(sys.argv[2])
print(f"{'case':<20}{'dynagrad':>14}{'PyTorch':>14}  ratio (dynagrad time / PyTorch time)")
for k, (v, unit) in d.items():
    if k not in t:
        continue
    tv = t[k][0]
    rate = unit.endswith("/s")  # a rate: higher is better, so invert it
    ratio = (tv / v if rate else v / tv) if v and tv else float("nan")
    print(f"{k:<20}{v:>10.3f} {unit:<4}{tv:>10.3f} {unit:<4}  {ratio:.2f}x")
PY
  else
    log "no PyTorch here: dynagrad figures only"
  fi
  return "$rc"
}

case "${1:-}" in
  --bundle)
    dir=${2:?"--bundle needs a directory"}
    build
    stage=$(mktemp -d)
    cp -a "$BIN"/libdynagrad.so* "$BIN/tests/dg_tests" "$BIN/tools/dg_gpu_bench" "$stage/"
    cp -a "$BIN"/libdynagrad_distributed.so* "$BIN/tests/dg_dist_tests" "$BIN/tests/dg_dist_worker" "$stage/"
    cp tests/golden/ops_golden.yaml "$stage/"
    # What a bare GPU machine may lack (oneDNN and what it loads, yaml-cpp);
    # the CUDA runtime and cuBLAS come with its toolkit.
    for lib in libdnnl.so.2 libyaml-cpp.so.0.7 libgomp.so.1 libOpenCL.so.1 libgloo.so.0 libhiredis.so.0.14 \
      libibverbs.so.1 libnl-route-3.so.200 libnl-3.so.200; do
      p=$(lib_path "$lib")
      if [ -n "$p" ]; then cp -L "$p" "$stage/$lib"; fi
    done
    mkdir -p "$dir"
    tar -C "$stage" -cJf "$dir/bundle.tar.xz" .
    rm -rf "$stage"
    log "packed $(du -h "$dir/bundle.tar.xz" | cut -f1) into $dir/bundle.tar.xz"
    ;;
  --from-bundle)
    dir=${2:?"--from-bundle needs a directory"}
    run=$(mktemp -d)
    tar -C "$run" -xJf "$dir/bundle.tar.xz"
    cublas=$(lib_path libcublas.so.13)
    cuda_libs=${cublas:+$(dirname "$cublas")}
    for d in /usr/local/cuda/lib64 /usr/local/cuda/lib $cuda_libs; do
      [ -d "$d" ] && LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d
    done
    # pip's CUDA libraries (PyTorch's) when the toolkit's are not on the path.
    if python3 -c "import nvidia" 2>/dev/null; then
      for d in $(python3 -c "import nvidia, os; b = nvidia.__path__[0]; print(' '.join(os.path.join(b, x, 'lib') for x in os.listdir(b)))"); do
        [ -d "$d" ] && LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$d
      done
    fi
    export LD_LIBRARY_PATH="$run:$LD_LIBRARY_PATH"
    if ldd "$run/dg_tests" | grep -q "not found"; then
      ldd "$run/dg_tests" | grep "not found"
      log "missing libraries above"
      exit 2
    fi
    export DG_GOLDEN_FILE=$run/ops_golden.yaml
    export DG_DIST_WORKER=$run/dg_dist_worker
    TESTS=$run/dg_tests BENCH=$run/dg_gpu_bench DIST_TESTS=$run/dg_dist_tests check
    ;;
  "")
    build
    export DG_GOLDEN_FILE=$ROOT/tests/golden/ops_golden.yaml
    TESTS=$BIN/tests/dg_tests BENCH=$BIN/tools/dg_gpu_bench DIST_TESTS=$BIN/tests/dg_dist_tests check
    ;;
  *)
    echo "usage: tools/gpu-check.sh [--bundle DIR | --from-bundle DIR]" >&2
    exit 2
    ;;
esac
