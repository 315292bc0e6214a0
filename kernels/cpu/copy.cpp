// Kernels that move or set values: clone, copy_ (with dtype conversion),
// zero_, fill_, select_backward.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common/copy_route.h"
#include "cpu/loops.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {
// memcpy split over the intra-op threads: one thread alone cannot pull the
// memory bandwidth a large copy (a gradient clone) could have.
void parallel_memcpy(void* dst, const void* src, size_t nbytes) {
  constexpr int64_t kChunk = 64 * 1024;
  const int64_t chunks = static_cast<int64_t>((nbytes + kChunk - 1) / kChunk);
  parallel_for(chunks, kChunk / 4, [&](int64_t b, int64_t e) {
    const size_t lo = static_cast<size_t>(b * kChunk), hi = std::min(nbytes, static_cast<size_t>(e * kChunk));
    std::memcpy(static_cast<char*>(dst) + lo, static_cast<const char*>(src) + lo, hi - lo);
  });
}
}  // namespace

namespace {

template <typename T>
void copy_from(const TensorBase& self, const TensorBase& src) {
  visit_dtype(src.dtype(), [&]<typename S>() {
    elementwise<T, S>(
        self, [](S v) { return copying::convert<T>(v); }, src);
  });
}

}  // namespace

template <typename T>
void copy_(const TensorBase& self, const TensorBase& src_any) {
  if (self.numel() == 0) return;
  // From a CUDA tensor: its values come over first (contiguous, in its dtype).
  const TensorBase src = src_any.is_cpu() ? src_any : dg::detail::to_host(src_any);
  if (self.is_same(src)) return;
  switch (copying::route(self, src)) {
    case copying::Route::ViaTemporary: {
      TensorBase tmp = make_empty(src.sizes(), src.dtype(), src.device());
      visit_dtype(src.dtype(), [&]<typename S>() {
        elementwise<S, S>(
            tmp, [](S v) { return v; }, src);
      });
      copy_from<T>(self, tmp);
      return;
    }
    case copying::Route::Bytes: parallel_memcpy(self.data_ptr(), src.data_ptr(), self.nbytes()); return;
    case copying::Route::Elementwise: copy_from<T>(self, src); return;
  }
}

template <typename T>
void clone(const TensorBase& out, const TensorBase& self) {
  if (out.numel() == 0) return;
  if (self.is_contiguous()) {
    parallel_memcpy(out.data_ptr(), self.data_ptr(), out.nbytes());
    return;
  }
  unary_kernel<T>(out, self, [](T x) { return x; });
}

template <typename T>
void fill_(const TensorBase& self, const Scalar& value) {
  const T v = value.to<T>();
  nullary_kernel<T>(self, [v]() { return v; });
}

template <typename T>
void zero_(const TensorBase& self) {
  if (self.is_contiguous()) {
    // All-zero bytes are 0 for every dtype we have (IEEE +0.0, 0, false).
    if (self.numel() > 0) std::memset(self.data_ptr(), 0, self.nbytes());
    return;
  }
  nullary_kernel<T>(self, []() { return T(0); });
}

template <typename T>
void select_backward(const TensorBase& out, const TensorBase& grad_output, IntArrayRef input_sizes, int64_t dim,
                     int64_t index) {
  copying::select_backward_into(
      out, grad_output, dim, index, zero_<T>,
      [](const TensorBase& dst, const TensorBase& src) { unary_kernel<T>(dst, src, copying::Identity<T>{}); });
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_copy_;
DG_INSTANTIATE_KERNEL_cpu_clone;
DG_INSTANTIATE_KERNEL_cpu_fill_;
DG_INSTANTIATE_KERNEL_cpu_zero_;
DG_INSTANTIATE_KERNEL_cpu_select_backward;
