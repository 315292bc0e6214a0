// Comparisons, logical ops and where. The comparison and logical kernels
// run in the promoted compute dtype T and write bool; where reads a bool
// condition next to two operands of dtype T.
#include <cstdint>

#include "kernel_decls.h"
#include "loops.h"

namespace dg::cpu {

namespace {

template <typename T, typename F>
void compare_kernel(const Tensor& out, const Tensor& a, const Tensor& b, const F& f) {
  elementwise<bool, T, T>(out, f, a, b);
}

template <typename T, typename F>
void compare_scalar_kernel(const Tensor& out, const Tensor& a, const F& f) {
  elementwise<bool, T>(out, f, a);
}

}  // namespace

// Each comparison is written once for tensors and once against a number
// (converted to T first, so a float32 tensor compares with float32(0.1)).
#define DG_PW_COMPARISON(name, op)                                                            \
  template <typename T>                                                                       \
  void name(const Tensor& out, const Tensor& self, const Tensor& other) {                     \
    compare_kernel<T>(out, self, other, [](T x, T y) { return x op y; });                     \
  }                                                                                           \
  template <typename T>                                                                       \
  void name##_scalar(const Tensor& out, const Tensor& self, const Scalar& other) {            \
    const T c = other.to<T>();                                                                \
    compare_scalar_kernel<T>(out, self, [c](T x) { return x op c; });                         \
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
  compare_kernel<T>(out, self, other, [](T x, T y) { return (x != T(0)) & (y != T(0)); });
}

template <typename T>
void logical_or(const Tensor& out, const Tensor& self, const Tensor& other) {
  compare_kernel<T>(out, self, other, [](T x, T y) { return (x != T(0)) | (y != T(0)); });
}

template <typename T>
void logical_xor(const Tensor& out, const Tensor& self, const Tensor& other) {
  compare_kernel<T>(out, self, other, [](T x, T y) { return (x != T(0)) != (y != T(0)); });
}

template <typename T>
void logical_not(const Tensor& out, const Tensor& self) {
  compare_scalar_kernel<T>(out, self, [](T x) { return x == T(0); });
}

template <typename T>
void where(const Tensor& out, const Tensor& condition, const Tensor& self, const Tensor& other) {
  // condition is kept out of promotion, so it arrives in its own dtype; the
  // loop reads it as bool, so anything else must be refused here.
  DG_CHECK(condition.dtype() == kBool, "where: expected condition to be a bool tensor, got ", condition.dtype(),
           " (compare first, e.g. x.gt(0), or convert with ne(0))");
  elementwise<T, bool, T, T>(out, [](bool c, T x, T y) { return c ? x : y; }, condition, self, other);
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_eq
DG_INSTANTIATE_KERNEL_cpu_eq_scalar
DG_INSTANTIATE_KERNEL_cpu_ne
DG_INSTANTIATE_KERNEL_cpu_ne_scalar
DG_INSTANTIATE_KERNEL_cpu_lt
DG_INSTANTIATE_KERNEL_cpu_lt_scalar
DG_INSTANTIATE_KERNEL_cpu_le
DG_INSTANTIATE_KERNEL_cpu_le_scalar
DG_INSTANTIATE_KERNEL_cpu_gt
DG_INSTANTIATE_KERNEL_cpu_gt_scalar
DG_INSTANTIATE_KERNEL_cpu_ge
DG_INSTANTIATE_KERNEL_cpu_ge_scalar
DG_INSTANTIATE_KERNEL_cpu_logical_and
DG_INSTANTIATE_KERNEL_cpu_logical_or
DG_INSTANTIATE_KERNEL_cpu_logical_xor
DG_INSTANTIATE_KERNEL_cpu_logical_not
DG_INSTANTIATE_KERNEL_cpu_where
