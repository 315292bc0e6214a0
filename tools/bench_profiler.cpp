// Per-op cost of the profiler: the 1000-op recording chain of dg_bench (1b)
// with the profiler off, on with input shapes, on without; and LibTorch 1.13's
// legacy profiler (the one RecordProfile uses) on the same chain when built
// with LibTorch. Median of 9 batches of at least 0.1 s; the events are
// collected off the clock between batches.
//   OMP_NUM_THREADS=1 build/tools/dg_bench_profiler
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "dynagrad/dynagrad.h"
#ifdef DG_HAVE_LIBTORCH
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>
#endif

namespace {

constexpr int kChainOps = 1000;

template <typename T>
T op_chain(T y, const T& w) {
  for (int i = 0; i < kChainOps / 4; ++i) {
    y = y * w;
    y = y + 0.001;
    y = y.sin();
    y = y.tanh();
  }
  return y;
}

// us per op: median over batches; `between` runs off the clock after each.
double measure(const std::function<void()>& run, const std::function<void()>& between) {
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < 2; ++i) run();
  between();
  std::vector<double> batches;
  for (int b = 0; b < 9; ++b) {
    int n = 0;
    const auto t0 = clock::now();
    double elapsed = 0;
    while (elapsed < 0.1) {
      run();
      ++n;
      elapsed = std::chrono::duration<double>(clock::now() - t0).count();
    }
    batches.push_back(elapsed / n / kChainOps * 1e6);
    between();
  }
  std::sort(batches.begin(), batches.end());
  return batches[batches.size() / 2];
}

// One library's three rows: off, on with input shapes, on without.
// `enable(shapes)` / `disable()` start and stop its profiler; a fresh session
// per batch keeps the event buffers from growing without bound.
template <typename T>
void rows(const char* lib, const T& x, const T& w, const std::function<void(bool)>& enable,
          const std::function<void()>& disable) {
  T y;
  auto run = [&] { y = op_chain(x, w); };
  const double off = measure(run, [&] { y = T(); });
  std::printf("%-10s profiler off                    %8.3f us/op\n", lib, off);
  for (bool shapes : {true, false}) {
    enable(shapes);
    const double on = measure(run, [&] {
      y = T();
      disable();
      enable(shapes);
    });
    disable();
    std::printf("%-10s profiler on, %-18s %8.3f us/op   +%.3f us/op\n", lib,
                shapes ? "with input shapes" : "no input shapes", on, on - off);
  }
}

}  // namespace

int main() {
  namespace prof = dg::autograd::profiler;
  dg::manual_seed(0);
  rows<dg::Tensor>(
      "dynagrad", dg::rand({8}).requires_grad_(), dg::rand({8}),
      [](bool shapes) {
        prof::ProfilerConfig config;
        config.report_input_shapes = shapes;
        prof::enableProfiler(config);
      },
      [] { prof::disableProfiler(); });
#ifdef DG_HAVE_LIBTORCH
  torch::manual_seed(0);
  rows<torch::Tensor>(
      "LibTorch", torch::rand({8}).requires_grad_(), torch::rand({8}),
      [](bool shapes) {
        using torch::profiler::impl::ProfilerConfig;
        using torch::profiler::impl::ProfilerState;
        torch::autograd::profiler::enableProfilerLegacy(ProfilerConfig(ProfilerState::CPU, shapes));
      },
      [] { torch::autograd::profiler::disableProfilerLegacy(); });
#endif
  return 0;
}
