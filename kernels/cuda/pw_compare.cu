// CUDA comparisons, logical ops and where; the counterparts of
// kernels/cpu/pw_compare.cpp. The comparison and logical kernels run in the
// promoted compute dtype T and write bool; where reads a bool condition
// next to two operands of dtype T.
#include <cstdint>

#include "kernel_decls.h"
#include "loops.cuh"

namespace dg::cuda {

namespace {

template <typename T, typename F>
void compare_kernel(const char* op, const Tensor& out, const Tensor& a, const Tensor& b, const F& f) {
  gpu_elementwise<bool, T, T>(op, out, f, a, b);
}

template <typename T, typename F>
void compare_scalar_kernel(const char* op, const Tensor& out, const Tensor& a, const F& f) {
  gpu_elementwise<bool, T>(op, out, f, a);
}

}  // namespace

// Each comparison is written once for tensors and once against a number
// (converted to T first, so a float32 tensor compares with float32(0.1)).
#define DG_PW_COMPARISON(name, op)                                                               \
  template <typename T>                                                                          \
  void name(const Tensor& out, const Tensor& self, const Tensor& other) {                        \
    compare_kernel<T>(#name, out, self, other, [] __device__(T x, T y) -> bool { return x op y; }); \
  }                                                                                              \
  template <typename T>                                                                          \
  void name##_scalar(const Tensor& out, const Tensor& self, const Scalar& other) {               \
    const T c = other.to<T>();                                                                   \
    compare_scalar_kernel<T>(#name, out, self, [c] __device__(T x) -> bool { return x op c; });  \
  }

DG_PW_COMPARISON(eq, ==)
DG_PW_COMPARISON(ne, !=)
DG_PW_COMPARISON(lt, <)
DG_PW_COMPARISON(le, <=)
DG_PW_COMPARISON(gt, >)
DG_PW_COMPARISON(ge, >=)
#undef DG_PW_COMPARISON

// Truth is "nonzero": NaN counts as true, as in PyTorch.
template <typename T>
void logical_and(const Tensor& out, const Tensor& self, const Tensor& other) {
  compare_kernel<T>("logical_and", out, self, other,
                    [] __device__(T x, T y) -> bool { return (x != T(0)) && (y != T(0)); });
}

template <typename T>
void logical_or(const Tensor& out, const Tensor& self, const Tensor& other) {
  compare_kernel<T>("logical_or", out, self, other,
                    [] __device__(T x, T y) -> bool { return (x != T(0)) || (y != T(0)); });
}

template <typename T>
void logical_xor(const Tensor& out, const Tensor& self, const Tensor& other) {
  compare_kernel<T>("logical_xor", out, self, other,
                    [] __device__(T x, T y) -> bool { return (x != T(0)) != (y != T(0)); });
}

template <typename T>
void logical_not(const Tensor& out, const Tensor& self) {
  compare_scalar_kernel<T>("logical_not", out, self, [] __device__(T x) -> bool { return x == T(0); });
}

template <typename T>
void where(const Tensor& out, const Tensor& condition, const Tensor& self, const Tensor& other) {
  // condition is kept out of promotion, so it arrives in its own dtype; the
  // loop reads it as bool, so anything else must be refused here.
  DG_CHECK(condition.dtype() == kBool, "where: expected condition to be a bool tensor, got ", condition.dtype(),
           " (compare first, e.g. x.gt(0), or convert with ne(0))");
  gpu_elementwise<T, bool, T, T>("where", out, [] __device__(bool c, T x, T y) { return c ? x : y; }, condition,
                                 self, other);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_eq
DG_INSTANTIATE_KERNEL_cuda_eq_scalar
DG_INSTANTIATE_KERNEL_cuda_ne
DG_INSTANTIATE_KERNEL_cuda_ne_scalar
DG_INSTANTIATE_KERNEL_cuda_lt
DG_INSTANTIATE_KERNEL_cuda_lt_scalar
DG_INSTANTIATE_KERNEL_cuda_le
DG_INSTANTIATE_KERNEL_cuda_le_scalar
DG_INSTANTIATE_KERNEL_cuda_gt
DG_INSTANTIATE_KERNEL_cuda_gt_scalar
DG_INSTANTIATE_KERNEL_cuda_ge
DG_INSTANTIATE_KERNEL_cuda_ge_scalar
DG_INSTANTIATE_KERNEL_cuda_logical_and
DG_INSTANTIATE_KERNEL_cuda_logical_or
DG_INSTANTIATE_KERNEL_cuda_logical_xor
DG_INSTANTIATE_KERNEL_cuda_logical_not
DG_INSTANTIATE_KERNEL_cuda_where
