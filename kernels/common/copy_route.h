#pragma once
// What copy_ decides before it moves a value, shared by kernels/cpu/copy.cpp
// and kernels/cuda/copy.cu: the value conversion between dtypes, which route
// a copy takes once src is on self's device, and select_backward's steps.
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

template <typename T>
struct Identity {
  DG_HOST_DEVICE T operator()(T x) const { return x; }
};

// select_backward on either device: out = 0, then grad_output into the
// slice `index` of `dim` (which the meta checked). `zero(t)` and
// `copy(dst, src)` are the device's own fill and elementwise copy.
template <typename Zero, typename Copy>
void select_backward_into(const TensorBase& out, const TensorBase& grad_output, int64_t dim, int64_t index,
                          const Zero& zero, const Copy& copy) {
  zero(out);
  if (out.numel() == 0) return;
  copy(loop::selected_slice(out, dim, index), grad_output);
}

}  // namespace dg::copying
