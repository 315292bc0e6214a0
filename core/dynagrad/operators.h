#pragma once
// Number-first arithmetic (`2 * x`, `1 - x`); the tensor-first operators are
// generated from ops.yaml (`operator:`).
#include "dynagrad/tensor.h"

namespace dg {

inline Tensor operator+(const Scalar& a, const Tensor& b) { return b.add(a); }
inline Tensor operator*(const Scalar& a, const Tensor& b) { return b.mul(a); }
inline Tensor operator-(const Scalar& a, const Tensor& b) { return b.neg().add(a); }
inline Tensor operator/(const Scalar& a, const Tensor& b) { return b.reciprocal().mul(a); }

}  // namespace dg
