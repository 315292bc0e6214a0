#pragma once
// Ops implemented from other ops (ops.yaml `composite:`). They record no node
// of their own: their gradient is that of the ops they call.
#include "dynagrad/tensor.h"

namespace dg::composite {

Tensor maybe_multiply(const Tensor& self, const Scalar& other);
Tensor pow_backward(const Tensor& grad, const Tensor& self, const Scalar& exponent);
Tensor sum_backward(const Tensor& grad, IntArrayRef sizes, IntArrayRef dim, bool keepdim);
Tensor sum_to(const Tensor& self, IntArrayRef size);
Tensor mean(const Tensor& self);
Tensor mean_dim(const Tensor& self, IntArrayRef dim, bool keepdim);
Tensor matmul(const Tensor& self, const Tensor& other);
Tensor reshape(const Tensor& self, IntArrayRef shape);
Tensor t(const Tensor& self);
Tensor contiguous(const Tensor& self);

}  // namespace dg::composite
