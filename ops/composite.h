#pragma once
// Ops implemented from other ops (ops.yaml `composite:`). They record no node
// of their own: their gradient is that of the ops they call.
#include <optional>
#include <vector>

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

// ---- views built from other views, and the gradients of views ----------------
Tensor permute_backward(const Tensor& grad, IntArrayRef dims);
Tensor slice_backward(const Tensor& grad_output, IntArrayRef input_sizes, int64_t dim, std::optional<int64_t> start,
                      std::optional<int64_t> end, int64_t step);
Tensor narrow(const Tensor& self, int64_t dim, int64_t start, int64_t length);
Tensor diagonal_backward(const Tensor& grad_output, IntArrayRef input_sizes, int64_t offset, int64_t dim1,
                         int64_t dim2);
Tensor flatten(const Tensor& self, int64_t start_dim, int64_t end_dim);
std::vector<Tensor> unbind(const Tensor& self, int64_t dim);
std::vector<Tensor> split(const Tensor& self, int64_t split_size, int64_t dim);
std::vector<Tensor> chunk(const Tensor& self, int64_t chunks, int64_t dim);

}  // namespace dg::composite

// Composites of the operator groups, one header each.
#include "ops/composite/index.h"
#include "ops/composite/nn.h"
#include "ops/composite/pointwise.h"
#include "ops/composite/conv.h"
