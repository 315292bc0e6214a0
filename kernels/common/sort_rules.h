#pragma once
// The element rules of the sorting and selection family, written once for
// the CPU and CUDA kernels (kernels/cpu/sort.cpp, kernels/cuda/sort.cu):
// where NaN sorts, which index a running maximum keeps on ties, the running
// log-add-exp of logcumsumexp, and searchsorted's binary search, each as
// PyTorch 1.13 defines it.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "dynagrad/half.h"  // DG_HOST_DEVICE

namespace dg::sorting {

template <typename T>
DG_HOST_DEVICE bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return v != v;
  } else {
    (void)v;
    return false;
  }
}

// a before b in ascending (descending) order, NaN counted as the largest.
template <typename T>
DG_HOST_DEVICE bool before(T a, T b, bool descending) {
  if (descending) return b < a || (is_nan(a) && !is_nan(b));
  return a < b || (is_nan(b) && !is_nan(a));
}

// Whether a running maximum (minimum) moves to v: on ties it does (the
// latest index wins), and once a NaN is met it stays.
template <typename T>
DG_HOST_DEVICE bool cum_extreme_takes(T v, T best, bool max) {
  return is_nan(v) || (!is_nan(best) && (max ? v >= best : v <= best));
}

// log(exp(a) + exp(x)) without overflow; two equal infinities stay as they
// are (PyTorch's _log_add_exp_helper).
DG_HOST_DEVICE inline double log_add_exp(double a, double x) {
  const double lo = a < x ? a : x, hi = a < x ? x : a;
  if (is_nan(a) || is_nan(x)) return a + x;
  return (lo != hi || std::isfinite(lo)) ? hi + std::log1p(std::exp(lo - hi)) : x;
}

// The first position in row[0 .. m) (elements `step` apart) whose value is
// >= v (> v when right): PyTorch's lower/upper bound, NaN comparisons
// included.
template <typename T>
DG_HOST_DEVICE int64_t search_position(const T* row, int64_t m, int64_t step, T v, bool right) {
  int64_t lo = 0, hi = m;
  while (lo < hi) {
    const int64_t mid = lo + ((hi - lo) >> 1);
    const T mv = row[mid * step];
    if (right ? !(mv > v) : !(mv >= v)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

}  // namespace dg::sorting
