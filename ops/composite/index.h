#pragma once
// Composite ops of the reductions, linear algebra, shape and indexing (see composite.h).
#include <optional>
#include <string_view>
#include <tuple>
#include <vector>

#include "dynagrad/tensor.h"

namespace dg::composite {

// ---- reductions ---------------------------------------------------------------
Tensor prod_backward(const Tensor& grad, const Tensor& self, std::optional<int64_t> dim, bool keepdim);
Tensor var(const Tensor& self, IntArrayRef dim, const std::optional<Scalar>& correction, bool keepdim);
Tensor std(const Tensor& self, IntArrayRef dim, const std::optional<Scalar>& correction, bool keepdim);
Tensor minmax_backward(const Tensor& grad, const Tensor& self, const Tensor& result, IntArrayRef dim, bool keepdim);
Tensor max(const Tensor& self);
std::tuple<Tensor, Tensor> max_dim(const Tensor& self, int64_t dim, bool keepdim);
Tensor min(const Tensor& self);
std::tuple<Tensor, Tensor> min_dim(const Tensor& self, int64_t dim, bool keepdim);
Tensor logsumexp(const Tensor& self, IntArrayRef dim, bool keepdim);
Tensor norm(const Tensor& self, const Scalar& p);
Tensor norm_dim(const Tensor& self, const std::optional<Scalar>& p, IntArrayRef dim, bool keepdim);
Tensor cumsum_backward(const Tensor& grad, int64_t dim);

// ---- linear algebra -------------------------------------------------------------
Tensor addmm(const Tensor& self, const Tensor& mat1, const Tensor& mat2, const Scalar& beta, const Scalar& alpha);
Tensor linear(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias);
Tensor dot(const Tensor& self, const Tensor& tensor);
Tensor outer(const Tensor& self, const Tensor& vec2);

// ---- shape and indexing -----------------------------------------------------------
Tensor scatter_src_backward(const Tensor& grad, int64_t dim, const Tensor& index, IntArrayRef src_sizes);
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);
Tensor repeat(const Tensor& self, IntArrayRef repeats);
Tensor roll(const Tensor& self, IntArrayRef shifts, IntArrayRef dims);
Tensor pad(const Tensor& self, IntArrayRef pad, std::string_view mode, std::optional<double> value);

}  // namespace dg::composite
