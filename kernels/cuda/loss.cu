// CUDA class pick of nll_loss and its gradient; the counterpart of
// kernels/cpu/loss.cpp. The meta has checked the targets (on the host), so
// the picks index unchecked.
#include <cstdint>

#include "cuda/loops.cuh"
#include "cuda/reduce.cuh"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

using namespace reduction;

// Geometry of a [N, C, d...] tensor seen from the [N, d...] target shape:
// the offset of element (n, 0, d...) for target index k, and the class step.
struct ClassView {
  loop::Strided rows;
  int64_t class_stride;
};

ClassView class_view(const TensorBase& t, const char* op) {
  DimVector sizes, strides;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (d == 1) continue;
    sizes.push_back(t.size(d));
    strides.push_back(t.stride(d));
  }
  return ClassView{compact_strided(sizes, strides, op), t.stride(1)};
}

// One target element k: its class c picks element (n, c, d...) of the
// [N, C, d...] tensor `wide`. Forward: flat[k] = wide[pick] (0 when
// ignored). Backward: wide[pick] = flat[k] (nothing when ignored; the rest
// of wide was zeroed first). Distinct k pick distinct elements.
template <typename T, bool Backward>
struct PickElement {
  const int64_t* target;
  loop::Strided target_geom;
  T* dst;
  const T* src;
  loop::Strided flat;  // the [N, d...] operand: out forward, grad backward
  ClassView wide;      // the [N, C, d...] operand: self forward, out backward
  int64_t ignore_index;
  __device__ void operator()(int64_t k) const {
    const int64_t c = target[offset_at(target_geom, k)];
    const int64_t f = offset_at(flat, k);
    const int64_t w = offset_at(wide.rows, k) + c * wide.class_stride;
    if constexpr (Backward) {
      if (c != ignore_index) dst[w] = src[f];
    } else {
      dst[f] = c == ignore_index ? T(0) : src[w];
    }
  }
};

template <typename T, bool Backward>
void pick(const char* op, const TensorBase& dst, const TensorBase& src, const TensorBase& target,
          int64_t ignore_index) {
  const TensorBase& flat = Backward ? src : dst;
  const TensorBase& wide = Backward ? dst : src;
  const PickElement<T, Backward> f{static_cast<const int64_t*>(target.data_ptr()),
                                   compact_strided(target.sizes(), target.strides(), op),
                                   static_cast<T*>(dst.data_ptr()),
                                   static_cast<const T*>(src.data_ptr()),
                                   compact_strided(flat.sizes(), flat.strides(), op),
                                   class_view(wide, op),
                                   ignore_index};
  launch_for_each(op, dst, target.numel(), f);
}

template <typename T>
struct Zero {
  __device__ T operator()() const { return T(0); }
};

}  // namespace

template <typename T>
void nll_pick(const TensorBase& out, const TensorBase& self, const TensorBase& target, int64_t ignore_index) {
  pick<T, false>("_nll_pick", out, self, target, ignore_index);
}

template <typename T>
void nll_pick_backward(const TensorBase& out, const TensorBase& grad, const TensorBase& target, IntArrayRef self_sizes,
                       int64_t ignore_index) {
  (void)self_sizes;  // out already has them
  gpu_nullary<T>("_nll_pick_backward", out, Zero<T>{});
  pick<T, true>("_nll_pick_backward", out, grad, target, ignore_index);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_nll_pick;
DG_INSTANTIATE_KERNEL_cuda_nll_pick_backward;
