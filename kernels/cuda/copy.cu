// CUDA kernels that move or set values: clone, copy_ (with dtype conversion,
// and from the CPU), zero_, fill_, select_backward. The counterparts of
// kernels/cpu/copy.cpp.
#include <type_traits>

#include "common/copy_route.h"
#include "cuda/loops.cuh"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

template <typename Dst, typename Src>
struct Convert {
  __device__ Dst operator()(Src v) const { return copying::convert<Dst>(v); }
};

template <typename T>
void copy_from(const TensorBase& self, const TensorBase& src) {
  visit_dtype(src.dtype(), [&]<typename S>() { gpu_elementwise<T, S>("copy_", self, Convert<T, S>{}, src); });
}

void device_memcpy(const char* op, const TensorBase& dst, const TensorBase& src) {
  copy_bytes(op, dst.data_ptr(), dst.device(), src.data_ptr(), src.device(), dst.nbytes());
}

}  // namespace

template <typename T>
void copy_(const TensorBase& self, const TensorBase& src_any) {
  if (self.numel() == 0) return;
  if (self.is_same(src_any)) return;
  // From the host or another GPU: the values come over contiguous, in src's
  // dtype; the conversion and any broadcast then run here.
  const bool here = src_any.is_cuda() && src_any.device().index == self.device().index;
  const TensorBase src = here ? src_any : dg::detail::copy_to_device(src_any, self.device());
  switch (copying::route(self, src)) {
    case copying::Route::ViaTemporary: {
      // A private copy made below autograd (src.clone() would record history
      // from inside a kernel), as on the CPU.
      TensorBase tmp = make_empty(src.sizes(), src.dtype(), src.device());
      visit_dtype(src.dtype(), [&]<typename S>() { gpu_elementwise<S, S>("copy_", tmp, Convert<S, S>{}, src); });
      copy_from<T>(self, tmp);
      return;
    }
    case copying::Route::Bytes: device_memcpy("copy_", self, src); return;
    case copying::Route::Elementwise: copy_from<T>(self, src); return;
  }
}

template <typename T>
void clone(const TensorBase& out, const TensorBase& self) {
  if (out.numel() == 0) return;
  if (self.is_contiguous()) {
    device_memcpy("clone", out, self);
    return;
  }
  gpu_unary<T>("clone", out, self, [] __device__(T x) { return x; });
}

template <typename T>
void fill_(const TensorBase& self, const Scalar& value) {
  const T v = value.to<T>();
  gpu_nullary<T>("fill_", self, [v] __device__() { return v; });
}

template <typename T>
void zero_(const TensorBase& self) {
  if (self.numel() == 0) return;
  if (self.is_contiguous()) {
    // All-zero bytes are 0 for every dtype we have (IEEE +0.0, 0, false).
    DeviceGuard g(self);
    check(cudaMemsetAsync(self.data_ptr(), 0, self.nbytes(), stream(g.device())), "zero_", "cudaMemsetAsync");
    return;
  }
  gpu_nullary<T>("zero_", self, [] __device__() { return T(0); });
}

template <typename T>
void select_backward(const TensorBase& out, const TensorBase& grad_output, IntArrayRef input_sizes, int64_t dim,
                     int64_t index) {
  copying::select_backward_into(out, grad_output, dim, index, zero_<T>,
                                [](const TensorBase& dst, const TensorBase& src) {
                                  gpu_unary<T>("select_backward", dst, src, copying::Identity<T>{});
                                });
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_copy_;
DG_INSTANTIATE_KERNEL_cuda_clone;
DG_INSTANTIATE_KERNEL_cuda_fill_;
DG_INSTANTIATE_KERNEL_cuda_zero_;
DG_INSTANTIATE_KERNEL_cuda_select_backward;
