#pragma once
// Small helpers shared by the convolution and pooling kernels.
#include <cstdint>

#include "cpu/loops.h"
#include "dynagrad/tensor_base.h"

namespace dg::cpu::cv {

// `t` itself when it is contiguous, else a contiguous copy (same dtype): the
// conv and pool loops index dense NCHW memory.
template <typename T>
TensorBase dense(const TensorBase& t) {
  if (t.is_contiguous()) return t;
  TensorBase c = make_empty(t.sizes(), t.dtype(), t.device());
  unary_kernel<T>(c, t, [](T x) { return x; });
  return c;
}

// A dense tensor to write into, and the copy back into `out` when `out` is
// not dense itself.
template <typename T>
struct DenseOut {
  const TensorBase& out;
  TensorBase dst;
  explicit DenseOut(const TensorBase& o)
      : out(o), dst(o.is_contiguous() ? o : make_empty(o.sizes(), o.dtype(), o.device())) {}
  T* data() const { return dst.template data_ptr<T>(); }
  void finish() const {
    if (!dst.is_same(out)) unary_kernel<T>(out, dst, [](T x) { return x; });
  }
};

// The output positions o in [lo, hi) whose input position o * stride + offset
// lies in [0, limit).
inline void valid_range(int64_t offset, int64_t stride, int64_t limit, int64_t out_size, int64_t& lo, int64_t& hi) {
  lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  hi = offset >= limit ? 0 : (limit - 1 - offset) / stride + 1;
  if (hi > out_size) hi = out_size;
  if (lo > hi) lo = hi;
}

}  // namespace dg::cpu::cv
