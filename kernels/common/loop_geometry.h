#pragma once
// The geometry of an elementwise loop, shared by the CPU loops
// (kernels/cpu/loops.h) and the CUDA ones (kernels/cuda/loops.cuh): every
// input is broadcast to out's shape (stride 0 on broadcast dims), size-1
// dims are dropped and neighbours contiguous for every operand merged, so
// most loops end up one- or two-dimensional.
#include <array>
#include <cstdint>
#include <utility>

#include "dynagrad/tensor_base.h"

namespace dg::loop {

// Operand 0 is the output; 1..N the inputs. Strides are in bytes.
template <size_t NT>
struct LoopGeometry {
  DimVector sizes;  // coalesced, outermost first; empty means one element
  std::array<DimVector, NT> strides;
  std::array<char*, NT> data{};
  int64_t numel = 0;

  int64_t ndim() const { return static_cast<int64_t>(sizes.size()); }
  int64_t inner_size() const { return sizes.empty() ? 1 : sizes[sizes.size() - 1]; }
  int64_t inner_stride(size_t k) const { return sizes.empty() ? 0 : strides[k][sizes.size() - 1]; }
};

// Strides of `t` (in bytes) as seen from a tensor of shape `shape` that `t`
// broadcasts to: right-aligned, 0 on dims that `t` lacks or has as size 1.
inline DimVector broadcast_byte_strides(const TensorBase& t, IntArrayRef shape) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  const int64_t td = t.dim();
  const int64_t es = static_cast<int64_t>(t.element_size());
  DimVector s(static_cast<size_t>(nd), 0);
  IntArrayRef ts = t.sizes(), tst = t.strides();
  for (int64_t d = 0; d < td; ++d) {
    const int64_t od = nd - td + d;
    if (od < 0) continue;  // callers check shapes; stay memory-safe regardless
    s[od] = ts[d] == 1 ? 0 : tst[d] * es;
  }
  return s;
}

// Drops size-1 dims and merges neighbours that are contiguous for every
// operand. `order_operand` >= 0 first sorts the dims by that operand's
// strides, outermost = largest (stable, so ties keep their logical order).
template <size_t NT>
void coalesce(LoopGeometry<NT>& g, IntArrayRef shape, int order_operand) {
  const size_t nd = shape.size();
  DimVector order(nd);
  for (size_t d = 0; d < nd; ++d) order[d] = static_cast<int64_t>(d);
  if (order_operand >= 0) {
    const DimVector& os = g.strides[static_cast<size_t>(order_operand)];
    auto key = [&](int64_t d) { return os[d] < 0 ? -os[d] : os[d]; };
    for (size_t i = 1; i < nd; ++i) {  // insertion sort: stable and nd is tiny
      int64_t v = order[i];
      size_t j = i;
      while (j > 0 && key(order[j - 1]) < key(v)) {
        order[j] = order[j - 1];
        --j;
      }
      order[j] = v;
    }
  }
  DimVector sizes;
  std::array<DimVector, NT> strides;
  for (size_t i = 0; i < nd; ++i) {
    const int64_t d = order[i];
    const int64_t n = shape[d];
    if (n == 1) continue;
    if (!sizes.empty()) {
      bool mergeable = true;
      for (size_t k = 0; k < NT; ++k) mergeable &= strides[k][strides[k].size() - 1] == g.strides[k][d] * n;
      if (mergeable) {
        sizes.back() *= n;
        for (size_t k = 0; k < NT; ++k) strides[k].back() = g.strides[k][d];
        continue;
      }
    }
    sizes.push_back(n);
    for (size_t k = 0; k < NT; ++k) strides[k].push_back(g.strides[k][d]);
  }
  g.sizes = std::move(sizes);
  g.strides = std::move(strides);
}

template <size_t NT>
LoopGeometry<NT> make_geometry(const TensorBase& out, const std::array<const TensorBase*, NT - 1>& inputs) {
  LoopGeometry<NT> g;
  IntArrayRef shape = out.sizes();
  g.numel = out.numel();
  g.data[0] = static_cast<char*>(out.data_ptr());
  g.strides[0] = broadcast_byte_strides(out, shape);
  for (size_t k = 1; k < NT; ++k) {
    g.data[k] = static_cast<char*>(inputs[k - 1]->data_ptr());
    g.strides[k] = broadcast_byte_strides(*inputs[k - 1], shape);
  }
  if (g.numel == 0) return g;
  // Visit dims in out's memory order when out is strided (in-place on a
  // transposed tensor) so writes stream; a fresh out is contiguous and the
  // logical order already is its memory order.
  coalesce(g, shape, out.is_contiguous() ? -1 : 0);
  return g;
}

// Elementwise writes are only safe when each output element depends on the
// input element at the same address (or on memory it does not overlap).
inline bool partially_overlaps(const TensorBase& self, const TensorBase& src) {
  if (self.unsafeGetTensorImpl()->storage().get() != src.unsafeGetTensorImpl()->storage().get()) return false;
  const bool same_geometry = self.data_ptr() == src.data_ptr() && self.sizes() == src.sizes() &&
                             self.strides() == src.strides() && self.dtype() == src.dtype();
  return !same_geometry;
}

// The view of t at `index` along `dim` (both may be negative, counted from
// the end; the caller checked them): select() without autograd, for kernels
// that write one slice of their output.
inline TensorBase selected_slice(const TensorBase& t, int64_t dim, int64_t index) {
  const int64_t nd = t.dim();
  if (dim < 0) dim += nd;
  if (index < 0) index += t.size(dim);
  DimVector sizes(t.sizes()), strides(t.strides());
  const int64_t offset = t.storage_offset() + index * strides[dim];
  sizes.erase(static_cast<size_t>(dim));
  strides.erase(static_cast<size_t>(dim));
  return make_view(t, sizes, strides, offset);
}

}  // namespace dg::loop
