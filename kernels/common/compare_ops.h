#pragma once
// The comparisons against a number (ops.yaml `scalar: cmp::EqScalar`, ...)
// and where's selection, shared by the CPU and CUDA kernels; each functor is
// DG_HOST_DEVICE, so both devices run the same code. (The comparisons of two
// tensors and the logical ops are expressions in ops.yaml.)
#include "dynagrad/half.h"  // opmath_t, DG_HOST_DEVICE
#include "dynagrad/scalar.h"
#include "dynagrad/tensor_base.h"

namespace dg::cmp {

#define DG_CMP_FUNCTOR(Name, op)                     \
  struct Name {                                      \
    template <typename T>                            \
    DG_HOST_DEVICE bool operator()(T x, T y) const { \
      return x op y;                                 \
    }                                                \
  };
DG_CMP_FUNCTOR(Eq, ==)
DG_CMP_FUNCTOR(Ne, !=)
DG_CMP_FUNCTOR(Lt, <)
DG_CMP_FUNCTOR(Le, <=)
DG_CMP_FUNCTOR(Gt, >)
DG_CMP_FUNCTOR(Ge, >=)
#undef DG_CMP_FUNCTOR

// x against a number fixed for the whole kernel, converted to the tensor's
// dtype first (so a float32 tensor compares with float32(0.1)); C is the
// compute type (float for the 16-bit floats, after rounding the number to
// the 16-bit type).
#define DG_CMP_SCALAR_FUNCTOR(Name, Cmp)                                     \
  template <typename T, typename Math>                                       \
  struct Name {                                                              \
    using C = opmath_t<T>;                                                   \
    C c;                                                                     \
    explicit Name(const Scalar& other) : c(static_cast<C>(other.to<T>())) {} \
    DG_HOST_DEVICE bool operator()(C x) const { return Cmp{}(x, c); }        \
  };
DG_CMP_SCALAR_FUNCTOR(EqScalar, Eq)
DG_CMP_SCALAR_FUNCTOR(NeScalar, Ne)
DG_CMP_SCALAR_FUNCTOR(LtScalar, Lt)
DG_CMP_SCALAR_FUNCTOR(LeScalar, Le)
DG_CMP_SCALAR_FUNCTOR(GtScalar, Gt)
DG_CMP_SCALAR_FUNCTOR(GeScalar, Ge)
#undef DG_CMP_SCALAR_FUNCTOR

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
