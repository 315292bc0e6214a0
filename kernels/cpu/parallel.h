#pragma once
// Intra-op parallelism: a range split evenly over OpenMP's threads (the pool
// oneDNN uses too; see parallel.cpp), only when there is enough work.
#include <cstdint>

namespace dg::cpu {

// Below this much work (elements touched) a second thread costs more in
// wake-up latency than it saves.
constexpr int64_t kParallelGrain = int64_t(1) << 16;

namespace detail {
using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end);
// Runs fn over [0, n) split between the OpenMP threads; inline when nested
// inside another parallel region or when only one thread is allowed.
void parallel_run(int64_t n, RangeFn fn, void* ctx);
}  // namespace detail

// Calls f(begin, end) on disjoint chunks covering [0, n). `work_per_item`
// scales n into "elements touched" for the grain decision.
template <typename F>
void parallel_for(int64_t n, int64_t work_per_item, const F& f) {
  if (n <= 0) return;
  if (n < 2 || n * work_per_item < kParallelGrain) {
    f(int64_t(0), n);
    return;
  }
  detail::parallel_run(
      n, [](void* ctx, int64_t b, int64_t e) { (*static_cast<const F*>(ctx))(b, e); },
      const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace dg::cpu
