#include "cpu/parallel.h"

#include <omp.h>

#include <cstdlib>
#include <exception>
#include <mutex>

namespace dg::cpu::detail {
namespace {

// The intra-op threads are OpenMP's, the same pool oneDNN runs matmul and
// convolution on: with a pool of our own, oneDNN's OpenMP workers (which spin
// for a while after each primitive) and our helper fought over the same two
// cores, and the pointwise op after a convolution ran at a fraction of its
// speed. One pool means one set of threads, spinning or working, never both.
int max_threads() {
  // DG_NUM_THREADS caps dynagrad's own loops (1 turns them off, e.g. for
  // profiling); OMP_NUM_THREADS, read by OpenMP, caps everything.
  static const int n = [] {
    int t = omp_get_max_threads();
    if (const char* env = std::getenv("DG_NUM_THREADS")) {
      const int want = std::atoi(env);
      if (want >= 1 && want < t) t = want;
    }
    return t;
  }();
  return n;
}

}  // namespace

void parallel_run(int64_t n, RangeFn fn, void* ctx) {
  const int nt = static_cast<int>(std::min<int64_t>(max_threads(), n));
  // Nested calls (a kernel inside a parallel region) run inline.
  if (nt < 2 || omp_in_parallel()) {
    fn(ctx, 0, n);
    return;
  }
  std::exception_ptr error;
  std::mutex error_mutex;
#pragma omp parallel num_threads(nt)
  {
    const int64_t t = omp_get_thread_num(), k = omp_get_num_threads();
    const int64_t b = n * t / k, e = n * (t + 1) / k;
    try {
      if (b < e) fn(ctx, b, e);
    } catch (...) {
      std::lock_guard<std::mutex> lk(error_mutex);
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace dg::cpu::detail
