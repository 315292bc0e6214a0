// dg_bench: dynagrad and LibTorch side by side in one process, on the same
// inputs and thread counts, so the ratio column is a like-for-like comparison.
//
//   (a) a 1000-op chain on a 1-element float32 tensor, forward under no-grad
//   (b) the same chain recording a graph (the input requires grad)
//   (c) the backward of (b) alone (graph built untimed)
//   (d) 1024x1024 float32 matmul, forward + backward
//
// Usage: dg_bench [--quick] [--threads N]
#include <dynagrad/dynagrad.h>

#include <dlfcn.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#ifdef DG_HAVE_LIBTORCH
#include <ATen/ATen.h>  // tensors + autograd; the nn frontend is not needed
#include <ATen/Parallel.h>
#include <torch/version.h>
#endif

namespace {

struct Config {
  bool quick = false;
  int threads = 0;          // OpenMP / OpenBLAS / LibTorch intra-op threads
  double min_batch_s = 0.2; // one timed batch lasts at least this long
  int batches = 7;          // the median of this many batches is reported
};

constexpr int kChainOps = 1000;
constexpr int64_t kMatN = 1024;

// ---- timing ----------------------------------------------------------------------

using Clock = std::chrono::steady_clock;

// Median seconds of one run(), with setup() before each run kept off the clock.
// Each run is timed on its own: the cheapest case (a 1000-op chain) lasts tens
// of microseconds, so the clock's ~20 ns is noise, and per-run timing lets the
// backward case rebuild its graph between runs.
template <typename Setup, typename Run>
double measure(const Config& cfg, Setup&& setup, Run&& run) {
  auto batch = [&](int64_t n) {
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      setup();
      const auto t0 = Clock::now();
      run();
      total += std::chrono::duration<double>(Clock::now() - t0).count();
    }
    return total;
  };
  batch(2);  // warm-up: allocator, oneDNN primitive cache, lazy library init
  int64_t n = 1;
  double t = batch(n);
  while (t < cfg.min_batch_s) {
    // Aim 20% past the target so the next batch usually suffices.
    const double grow = t > 0 ? 1.2 * cfg.min_batch_s / t : 10.0;
    n = std::max<int64_t>(n + 1, static_cast<int64_t>(static_cast<double>(n) * std::min(grow, 10.0)));
    t = batch(n);
  }
  std::vector<double> per_run{t / static_cast<double>(n)};
  for (int b = 1; b < cfg.batches; ++b) per_run.push_back(batch(n) / static_cast<double>(n));
  std::nth_element(per_run.begin(), per_run.begin() + per_run.size() / 2, per_run.end());
  return per_run[per_run.size() / 2];
}

// ---- the cases, written once for both libraries ------------------------------------
// dg::Tensor and at::Tensor spell these ops identically, so one template keeps
// the two op sequences the same by construction.

template <typename T>
T op_chain(T y, const T& w) {
  static_assert(kChainOps % 4 == 0);
  for (int i = 0; i < kChainOps / 4; ++i) {
    y = y * w;       // tensor-tensor
    y = y + 0.001;   // tensor-scalar
    y = y.tanh();    // unary; tanh and sin keep the value in (-1, 1)
    y = y.sin();
  }
  return y;
}

struct Timings {
  double chain_nograd_ns = NAN;   // per op
  double chain_record_ns = NAN;   // per op
  double chain_backward_ns = NAN; // per op of the forward
  double matmul_ms = NAN;
  // Results kept for the cross-check between libraries.
  double chain_value = NAN;
  double chain_grad = NAN;
  double matmul_grad_sq = NAN;  // sum of squares of a.grad and b.grad
};

// Per-library glue: making leaves and clearing .grad, the only calls that differ.
struct DgApi {
  using Tensor = dg::Tensor;
  using NoGradGuard = dg::NoGradGuard;
  static Tensor copy_of(const dg::Tensor& t) { return t.clone(); }
  static void clear_grad(const Tensor& t) { t.mutable_grad().reset(); }
};

#ifdef DG_HAVE_LIBTORCH
struct TorchApi {
  using Tensor = at::Tensor;
  using NoGradGuard = at::NoGradGuard;
  static Tensor copy_of(const dg::Tensor& t) {
    auto c = t.contiguous();
    std::vector<int64_t> sizes(c.sizes().begin(), c.sizes().end());
    auto out = at::empty(sizes, at::kFloat);
    std::memcpy(out.data_ptr<float>(), c.data_ptr<float>(), c.nbytes());
    return out;
  }
  static void clear_grad(const Tensor& t) { t.mutable_grad().reset(); }
};
#endif

// The inputs, made once by dynagrad and copied into each library.
struct Inputs {
  dg::Tensor x, w, a, b;
};

template <typename Api>
Timings run_cases(const Config& cfg, const Inputs& in) {
  using Tensor = typename Api::Tensor;
  Timings r;
  const Tensor x = Api::copy_of(in.x);
  const Tensor w = Api::copy_of(in.w);
  auto noop = [] {};

  {  // (a)
    typename Api::NoGradGuard no_grad;
    Tensor y;
    r.chain_nograd_ns = measure(cfg, noop, [&] { y = op_chain(x, w); }) * 1e9 / kChainOps;
    r.chain_value = y.template item<double>();
  }

  const Tensor xr = Api::copy_of(in.x);
  xr.requires_grad_(true);
  {  // (b): the previous graph is freed in setup, off the clock, so only recording is timed.
    Tensor y;
    r.chain_record_ns = measure(cfg, [&] { y.reset(); }, [&] { y = op_chain(xr, w); }) * 1e9 / kChainOps;
  }
  {  // (c)
    Tensor y;
    auto build = [&] {
      y = Tensor();  // frees the last graph before the next is built
      Api::clear_grad(xr);
      y = op_chain(xr, w);
    };
    r.chain_backward_ns = measure(cfg, build, [&] { y.backward(); }) * 1e9 / kChainOps;
    r.chain_grad = xr.grad().template item<double>();
  }
  {  // (d)
    const Tensor a = Api::copy_of(in.a);
    const Tensor b = Api::copy_of(in.b);
    a.requires_grad_(true);
    b.requires_grad_(true);
    auto clear = [&] {
      Api::clear_grad(a);
      Api::clear_grad(b);
    };
    r.matmul_ms = measure(cfg, clear, [&] { a.mm(b).sum().backward(); }) * 1e3;
    r.matmul_grad_sq = (a.grad() * a.grad()).sum().template item<double>() +
                       (b.grad() * b.grad()).sum().template item<double>();
  }
  return r;
}

// ---- machine and thread setup -------------------------------------------------------

int cpus_available() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return 1;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

// OpenMP (oneDNN's threads, and LibTorch's) and OpenBLAS (LibTorch's matmul)
// are loaded by the libraries, not linked here; look their controls up at run
// time so the benchmark works whichever of them is present.
template <typename F>
F* runtime_symbol(const char* name) {
  return reinterpret_cast<F*>(dlsym(RTLD_DEFAULT, name));
}

struct ThreadReport {
  int openmp = -1;
  int openblas = -1;
  int openblas_parallel = -1;  // 0 sequential, 1 pthreads, 2 OpenMP
  int libtorch = -1;
};

ThreadReport set_threads(int n) {
  ThreadReport t;
  if (auto set = runtime_symbol<void(int)>("omp_set_num_threads")) set(n);
  if (auto set = runtime_symbol<void(int)>("openblas_set_num_threads")) set(n);
#ifdef DG_HAVE_LIBTORCH
  at::set_num_threads(n);
  t.libtorch = at::get_num_threads();
#endif
  if (auto get = runtime_symbol<int()>("omp_get_max_threads")) t.openmp = get();
  if (auto get = runtime_symbol<int()>("openblas_get_num_threads")) t.openblas = get();
  if (auto get = runtime_symbol<int()>("openblas_get_parallel")) t.openblas_parallel = get();
  return t;
}

std::string count_or_absent(int n) { return n < 0 ? std::string("not loaded") : std::to_string(n); }

// ---- output ---------------------------------------------------------------------------

void print_header(const Config& cfg, const ThreadReport& threads) {
  std::printf("dg_bench%s: %s, %d CPU(s) available (nproc)\n", cfg.quick ? " --quick" : "", cpu_model().c_str(),
              cpus_available());
  std::printf("threads: dynagrad pointwise = caller + 1 helper (large tensors only); "
              "OpenMP (oneDNN matmul) = %s\n",
              count_or_absent(threads.openmp).c_str());
#ifdef DG_HAVE_LIBTORCH
  const char* blas_kind = threads.openblas_parallel == 1   ? " (pthreads build)"
                          : threads.openblas_parallel == 0 ? " (SEQUENTIAL build: LibTorch's matmul gets one core)"
                                                           : "";
  std::printf("         LibTorch %s intra-op = %d; OpenBLAS (LibTorch's matmul) = %s%s\n", TORCH_VERSION,
              threads.libtorch, count_or_absent(threads.openblas).c_str(), blas_kind);
  std::printf("note: LibTorch's CPU matmul goes through the system BLAS; without libopenblas0-pthread\n"
              "      (tools/install-deps.sh installs it) its matmul column is not a fair comparison.\n");
#else
  std::printf("LibTorch: not found when dg_bench was configured; the LibTorch column is skipped\n"
              "          (install libtorch-dev and libopenblas0-pthread, then reconfigure).\n");
#endif
  std::printf("timing: median of %d batches, each >= %.2f s; chains in ns per op (%d ops), matmul in ms\n\n",
              cfg.batches, cfg.min_batch_s, kChainOps);
}

void print_row(const char* name, const char* unit, double dg_value, double torch_value) {
  std::printf("%-38s %-6s %10.2f", name, unit, dg_value);
  if (std::isnan(torch_value)) {
    std::printf(" %10s %7s\n", "-", "-");
  } else {
    std::printf(" %10.2f %7.2f\n", torch_value, dg_value / torch_value);
  }
}

void print_table(const Timings& d, const Timings& t) {
  std::printf("%-38s %-6s %10s %10s %7s\n", "case", "unit", "dynagrad", "LibTorch", "ratio");
  print_row("(a) 1000-op chain, no grad", "ns/op", d.chain_nograd_ns, t.chain_nograd_ns);
  print_row("(b) 1000-op chain, recording graph", "ns/op", d.chain_record_ns, t.chain_record_ns);
  print_row("(c) backward of (b)", "ns/op", d.chain_backward_ns, t.chain_backward_ns);
  print_row("(d) matmul 1024x1024 fwd+bwd", "ms", d.matmul_ms, t.matmul_ms);
  std::printf("ratio = dynagrad / LibTorch: below 1 means dynagrad is faster.\n");
}

#ifdef DG_HAVE_LIBTORCH
bool agree(double a, double b, double rel) { return std::abs(a - b) <= rel * (1.0 + std::abs(b)); }

// Both libraries ran on the same inputs; if their results differ, the
// timings compare different work, so say so loudly (and fail).
bool cross_check(const Timings& d, const Timings& t) {
  const bool ok = agree(d.chain_value, t.chain_value, 1e-4) && agree(d.chain_grad, t.chain_grad, 1e-3) &&
                  agree(d.matmul_grad_sq, t.matmul_grad_sq, 1e-3);
  std::printf("\ncross-check, dynagrad vs LibTorch: chain %.6g vs %.6g; d/dx %.6g vs %.6g; "
              "|grads|^2 of matmul %.6g vs %.6g: %s\n",
              d.chain_value, t.chain_value, d.chain_grad, t.chain_grad, d.matmul_grad_sq, t.matmul_grad_sq,
              ok ? "agree" : "DISAGREE");
  return ok;
}
#endif

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: dg_bench [--quick] [--threads N]\n"
               "  --quick      short batches (a few seconds in all); noisier numbers\n"
               "  --threads N  OpenMP/OpenBLAS/LibTorch threads (default: the CPUs available)\n");
  std::exit(code);
}

Config parse_args(int argc, char** argv) {
  Config cfg;
  cfg.threads = cpus_available();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      cfg.quick = true;
      cfg.min_batch_s = 0.02;
      cfg.batches = 3;
    } else if (arg == "--threads" && i + 1 < argc) {
      cfg.threads = std::atoi(argv[++i]);
      if (cfg.threads < 1) usage(2);
    } else if (arg == "--help" || arg == "-h") {
      usage(0);
    } else {
      std::fprintf(stderr, "dg_bench: unknown argument '%s'\n", arg.c_str());
      usage(2);
    }
  }
  return cfg;
}

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = parse_args(argc, argv);
  try {
    const auto start = Clock::now();
    dg::manual_seed(0);
    const auto f32 = dg::TensorOptions().dtype(dg::kFloat32);
    const Inputs in{dg::full({1}, 0.5, f32), dg::full({1}, 1.0001, f32), dg::randn({kMatN, kMatN}),
                    dg::randn({kMatN, kMatN})};

    print_header(cfg, set_threads(cfg.threads));
    const Timings d = run_cases<DgApi>(cfg, in);
    Timings t;  // NaNs: the LibTorch column prints as "-"
    bool ok = true;
#ifdef DG_HAVE_LIBTORCH
    t = run_cases<TorchApi>(cfg, in);
#endif
    print_table(d, t);
#ifdef DG_HAVE_LIBTORCH
    ok = cross_check(d, t);
#endif
    std::printf("total time %.1f s\n", std::chrono::duration<double>(Clock::now() - start).count());
    return ok ? 0 : 1;
  } catch (const dg::Error& e) {
    std::fprintf(stderr, "dg_bench: dynagrad error: %s\n", e.what());
  } catch (const std::exception& e) {  // LibTorch's c10::Error
    std::fprintf(stderr, "dg_bench: error: %s\n", e.what());
  }
  return 2;
}
