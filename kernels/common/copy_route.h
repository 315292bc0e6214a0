#pragma once
// What copy_ decides before it moves a value, shared by kernels/cpu/copy.cpp
// and kernels/cuda/copy.cu: the value conversion between dtypes, and which
// route a copy takes once src is on self's device.
#include <type_traits>

#include "loop_geometry.h"
#include "offset_calc.h"  // DG_HOST_DEVICE

namespace dg::copying {

// v as a Dst: to bool, nonzero is true (NaN != 0, so NaN -> true, as in
// PyTorch); otherwise a plain conversion.
template <typename Dst, typename Src>
DG_HOST_DEVICE Dst convert(Src v) {
  if constexpr (std::is_same_v<Dst, bool>) {
    return v != Src(0);
  } else {
    return static_cast<Dst>(v);
  }
}

enum class Route {
  // Through a private copy of src: self and src partially overlap, and
  // x[1:].copy_(x[:-1]) would read values it already overwrote.
  ViaTemporary,
  // The bytes as they are: one contiguous layout, one dtype, one shape.
  Bytes,
  // Element by element, converting and broadcasting.
  Elementwise,
};

// src is on self's device already.
inline Route route(const TensorBase& self, const TensorBase& src) {
  if (loop::partially_overlaps(self, src)) return Route::ViaTemporary;
  if (self.is_contiguous() && src.is_contiguous() && src.dtype() == self.dtype() && src.sizes() == self.sizes())
    return Route::Bytes;
  return Route::Elementwise;
}

}  // namespace dg::copying
