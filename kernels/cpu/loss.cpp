// The class pick of nll_loss and its gradient: out[n, d...] = self[n,
// target[n, d...], d...]. The meta has checked the targets, so they index
// unchecked here.
#include <cstdint>

#include "element_access.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

// Offset, in a [N, C, d...] tensor, of element (n, c, d...) where k is the
// row-major index of (n, d...) in the [N, d...] target shape.
inline int64_t class_offset(const TensorBase& t, int64_t k, int64_t c) {
  int64_t off = c * t.stride(1);
  for (int64_t d = t.dim(); d-- > 0;) {
    if (d == 1) continue;
    const int64_t s = t.size(d);
    off += (k % s) * t.stride(d);
    k /= s;
  }
  return off;
}

}  // namespace

template <typename T>
void nll_pick(const TensorBase& out, const TensorBase& self, const TensorBase& target, int64_t ignore_index) {
  const int64_t* t = target.data_ptr<int64_t>();
  const T* x = self.data_ptr<T>();
  T* o = out.data_ptr<T>();
  const int64_t n = target.numel();
  for (int64_t k = 0; k < n; ++k) {
    const int64_t c = t[detail::offset_of(target.sizes(), target.strides(), k)];
    o[detail::offset_of(out.sizes(), out.strides(), k)] = c == ignore_index ? T(0) : x[class_offset(self, k, c)];
  }
}

template <typename T>
void nll_pick_backward(const TensorBase& out, const TensorBase& grad, const TensorBase& target, IntArrayRef self_sizes,
                       int64_t ignore_index) {
  (void)self_sizes;  // out already has them
  T* o = out.data_ptr<T>();
  const int64_t on = out.numel();
  for (int64_t k = 0; k < on; ++k) o[detail::offset_of(out.sizes(), out.strides(), k)] = T(0);
  const int64_t* t = target.data_ptr<int64_t>();
  const T* g = grad.data_ptr<T>();
  const int64_t n = target.numel();
  for (int64_t k = 0; k < n; ++k) {
    const int64_t c = t[detail::offset_of(target.sizes(), target.strides(), k)];
    if (c != ignore_index) o[class_offset(out, k, c)] = g[detail::offset_of(grad.sizes(), grad.strides(), k)];
  }
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_nll_pick;
DG_INSTANTIATE_KERNEL_cpu_nll_pick_backward;
