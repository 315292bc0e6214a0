#pragma once
// Element-by-element access for cold paths (printing, factories, gradcheck,
// allclose): walks any strided layout in logical row-major order. Kernels have
// their own fast loops; nothing here is meant to be fast.
#include <cstdint>
#include <type_traits>

#include "dynagrad/int_array.h"
#include "dynagrad/scalar_type.h"

namespace dg::detail {

// Calls f(offset) with the element offset (in elements, from element 0) of
// every element in row-major logical order.
template <typename F>
void for_each_offset(IntArrayRef sizes, IntArrayRef strides, F&& f) {
  const size_t nd = sizes.size();
  for (int64_t s : sizes)
    if (s == 0) return;
  DimVector idx(nd, 0);
  int64_t off = 0;
  while (true) {
    f(off);
    // Odometer increment; the loop runs at most nd times per element.
    size_t d = nd;
    while (d > 0) {
      --d;
      if (++idx[d] < sizes[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (sizes[d] - 1);
      idx[d] = 0;
      if (d == 0) return;
    }
    if (nd == 0) return;
  }
}

// The element offset of the k-th element in row-major logical order.
inline int64_t offset_of(IntArrayRef sizes, IntArrayRef strides, int64_t k) {
  int64_t off = 0;
  for (size_t d = sizes.size(); d-- > 0;) {
    off += (k % sizes[d]) * strides[d];
    k /= sizes[d];
  }
  return off;
}

inline double load_as_double(const void* p, ScalarType t) {
  return visit_dtype(t, [p]<typename T>() -> double {
    if constexpr (std::is_same_v<T, bool>) return *static_cast<const bool*>(p) ? 1.0 : 0.0;
    else if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
      return static_cast<float>(*static_cast<const T*>(p));
    else return static_cast<double>(*static_cast<const T*>(p));
  });
}

inline void store_from_double(void* p, ScalarType t, double v) {
  visit_dtype(t, [p, v]<typename T>() {
    if constexpr (std::is_same_v<T, bool>) *static_cast<bool*>(p) = v != 0;
    else *static_cast<T*>(p) = static_cast<T>(v);
  });
}

}  // namespace dg::detail
