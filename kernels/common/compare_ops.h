#pragma once
// The scalar functions of the comparisons, logical ops and where, and the
// kernel templates of the comparisons, shared by kernels/cpu/pw_compare.cpp
// and kernels/cuda/pw_compare.cu. Each functor is DG_HOST_DEVICE, so the
// CPU loops and the CUDA ones run the same code.
#include "dynagrad/tensor_base.h"
#include "offset_calc.h"  // DG_HOST_DEVICE

namespace dg::cmp {

#define DG_CMP_FUNCTOR(Name, op)                                                                    \
  struct Name {                                                                                     \
    template <typename T>                                                                           \
    DG_HOST_DEVICE bool operator()(T x, T y) const {                                                \
      return x op y;                                                                                \
    }                                                                                               \
  };
DG_CMP_FUNCTOR(Eq, ==)
DG_CMP_FUNCTOR(Ne, !=)
DG_CMP_FUNCTOR(Lt, <)
DG_CMP_FUNCTOR(Le, <=)
DG_CMP_FUNCTOR(Gt, >)
DG_CMP_FUNCTOR(Ge, >=)
#undef DG_CMP_FUNCTOR

// x against a number fixed for the whole kernel, converted to the tensor's
// dtype first (so a float32 tensor compares with float32(0.1)); T is the
// compute type (float for the 16-bit floats, after rounding the number to
// the 16-bit type).
template <typename Cmp, typename T>
struct Against {
  T c;
  DG_HOST_DEVICE bool operator()(T x) const { return Cmp{}(x, c); }
};

// Truth is "nonzero": NaN counts as true, as in PyTorch. `&` and `|`, not
// `&&` and `||`: no branch, so the CPU loops vectorise.
struct LogicalAnd {
  template <typename T>
  DG_HOST_DEVICE bool operator()(T x, T y) const {
    return (x != T(0)) & (y != T(0));
  }
};
struct LogicalOr {
  template <typename T>
  DG_HOST_DEVICE bool operator()(T x, T y) const {
    return (x != T(0)) | (y != T(0));
  }
};
struct LogicalXor {
  template <typename T>
  DG_HOST_DEVICE bool operator()(T x, T y) const {
    return (x != T(0)) != (y != T(0));
  }
};
struct LogicalNot {
  template <typename T>
  DG_HOST_DEVICE bool operator()(T x) const {
    return x == T(0);
  }
};

struct Select {
  template <typename T>
  DG_HOST_DEVICE T operator()(bool c, T x, T y) const {
    return c ? x : y;
  }
};

// condition is kept out of promotion, so it arrives in its own dtype; the
// loops read it as bool, so anything else must be refused.
inline void check_where_condition(const TensorBase& condition) {
  DG_CHECK(condition.dtype() == kBool, "where: expected condition to be a bool tensor, got ", condition.dtype(),
           " (compare first, e.g. x.gt(0), or convert with ne(0))");
}

}  // namespace dg::cmp

// The kernels eq, ne, lt, le, gt, ge (each with its _scalar form),
// logical_and, logical_or, logical_xor and logical_not, each written once, on
// the including file's compare_kernel<T>(op, out, a, b, f) and
// compare_scalar_kernel<T>(op, out, a, f). For the CPU's dtypes the compute
// type opmath_t<T> is T itself.
#define DG_CMP_BINARY_KERNEL(name, F)                                                               \
  template <typename T>                                                                             \
  void name(const TensorBase& out, const TensorBase& self, const TensorBase& other) {                           \
    compare_kernel<T>(#name, out, self, other, ::dg::cmp::F{});                                     \
  }
#define DG_CMP_KERNELS(name, Cmp)                                                                   \
  DG_CMP_BINARY_KERNEL(name, Cmp)                                                                   \
  template <typename T>                                                                             \
  void name##_scalar(const TensorBase& out, const TensorBase& self, const Scalar& other) {                  \
    using C = ::dg::opmath_t<T>;                                                                    \
    const C c = static_cast<C>(other.to<T>());                                                      \
    compare_scalar_kernel<T>(#name, out, self, ::dg::cmp::Against<::dg::cmp::Cmp, C>{c});           \
  }
#define DG_DEFINE_COMPARE_KERNELS()                                                                 \
  DG_CMP_KERNELS(eq, Eq)                                                                            \
  DG_CMP_KERNELS(ne, Ne)                                                                            \
  DG_CMP_KERNELS(lt, Lt)                                                                            \
  DG_CMP_KERNELS(le, Le)                                                                            \
  DG_CMP_KERNELS(gt, Gt)                                                                            \
  DG_CMP_KERNELS(ge, Ge)                                                                            \
  DG_CMP_BINARY_KERNEL(logical_and, LogicalAnd)                                                     \
  DG_CMP_BINARY_KERNEL(logical_or, LogicalOr)                                                       \
  DG_CMP_BINARY_KERNEL(logical_xor, LogicalXor)                                                     \
  template <typename T>                                                                             \
  void logical_not(const TensorBase& out, const TensorBase& self) {                                         \
    compare_scalar_kernel<T>("logical_not", out, self, ::dg::cmp::LogicalNot{});                    \
  }
