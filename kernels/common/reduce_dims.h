#pragma once
// What the reductions decide on the host, shared by kernels/cpu/reduce.cpp
// and kernels/cuda/reduce.cu(h): the accumulator type, and which dims a
// reduction covers.
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

#include "dynagrad/int_array.h"

namespace dg::reducing {

// The accumulator type of sums and products: a float sum accumulates in
// double, an integer one in int64.
template <typename T>
using acc_t = std::conditional_t<std::is_integral_v<T>, int64_t, double>;

// Which of self's `ndim` dims `dim` reduces: all of them when it is empty;
// none for a 0-dim self (dim 0 / -1 of a scalar reduces its one element).
// The metas have wrapped-checked every dim.
inline std::vector<bool> dims_mask(int64_t ndim, IntArrayRef dim) {
  std::vector<bool> m(static_cast<size_t>(ndim), dim.empty());
  for (int64_t d : dim) {
    if (ndim == 0) continue;
    m[static_cast<size_t>(d < 0 ? d + ndim : d)] = true;
  }
  return m;
}

inline std::vector<bool> all_dims(int64_t ndim) { return std::vector<bool>(static_cast<size_t>(ndim), true); }

// argmax / argmin: along `dim`, or over the flattened tensor without one.
inline std::vector<bool> arg_dims(int64_t ndim, std::optional<int64_t> dim) {
  return dim ? dims_mask(ndim, IntArrayRef(*dim)) : all_dims(ndim);
}

}  // namespace dg::reducing
