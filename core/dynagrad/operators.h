#pragma once
// Number-first subtraction and division (`1 - x`, `2 / x`). The other
// operators, tensor-first and number-first, are generated from ops.yaml
// (`operator:`) into dynagrad/ops.h.
#include "dynagrad/tensor.h"

namespace dg {

inline Tensor operator-(const Scalar& a, const Tensor& b) { return b.neg().add(a); }
inline Tensor operator/(const Scalar& a, const Tensor& b) { return b.reciprocal().mul(a); }

}  // namespace dg
