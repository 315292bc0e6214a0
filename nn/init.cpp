// dg::nn::init: the initialisers (dynagrad/nn/init.h), PyTorch's formulas.
#include "dynagrad/nn/init.h"

#include <cmath>

#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/linalg.h"

namespace dg::nn::init {
namespace {

double fan(const Tensor& tensor, const FanModeType& mode) {
  auto [fan_in, fan_out] = _calculate_fan_in_and_fan_out(tensor);
  return static_cast<double>(std::holds_alternative<enumtype::kFanIn>(mode) ? fan_in : fan_out);
}

double kaiming_std(const Tensor& tensor, double a, const FanModeType& mode, const NonlinearityType& nonlinearity) {
  const double f = fan(tensor, mode);
  DG_CHECK(f > 0, "kaiming init: the tensor has no elements to compute a fan from (shape ", tensor.sizes(), ")");
  return calculate_gain(nonlinearity, a) / std::sqrt(f);
}

}  // namespace

double calculate_gain(NonlinearityType nonlinearity, double param) {
  if (std::holds_alternative<enumtype::kTanh>(nonlinearity)) return 5.0 / 3.0;
  if (std::holds_alternative<enumtype::kReLU>(nonlinearity)) return std::sqrt(2.0);
  if (std::holds_alternative<enumtype::kLeakyReLU>(nonlinearity)) return std::sqrt(2.0 / (1 + param * param));
  if (std::holds_alternative<enumtype::kSELU>(nonlinearity)) return 3.0 / 4.0;
  return 1.0;  // linear, conv, sigmoid
}

std::tuple<int64_t, int64_t> _calculate_fan_in_and_fan_out(const Tensor& tensor) {
  DG_CHECK(tensor.dim() >= 2, "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (got ",
           tensor.dim(), ")");
  int64_t receptive = 1;
  for (int64_t d = 2; d < tensor.dim(); ++d) receptive *= tensor.size(d);
  return {tensor.size(1) * receptive, tensor.size(0) * receptive};
}

Tensor constant_(Tensor tensor, Scalar value) {
  NoGradGuard no_grad;
  tensor.fill_(value);
  return tensor;
}

Tensor ones_(Tensor tensor) { return constant_(tensor, 1); }
Tensor zeros_(Tensor tensor) {
  NoGradGuard no_grad;
  tensor.zero_();
  return tensor;
}

Tensor eye_(Tensor matrix) {
  DG_CHECK(matrix.dim() == 2, "eye_: only tensors with 2 dimensions are supported, got ", matrix.dim());
  NoGradGuard no_grad;
  matrix.copy_(dg::eye(matrix.size(0), matrix.size(1), TensorOptions(matrix.scalar_type()).device(matrix.device())));
  return matrix;
}

Tensor dirac_(Tensor tensor) {
  const int64_t d = tensor.dim();
  DG_CHECK(d >= 3 && d <= 5, "dirac_: only tensors with 3, 4, or 5 dimensions are supported, got ", d);
  NoGradGuard no_grad;
  tensor.zero_();
  const int64_t n = std::min(tensor.size(0), tensor.size(1));
  for (int64_t i = 0; i < n; ++i) {
    Tensor t = tensor.select(0, i).select(0, i);
    for (int64_t k = 2; k < d; ++k) t = t.select(0, tensor.size(k) / 2);
    t.fill_(1);
  }
  return tensor;
}

Tensor normal_(Tensor tensor, double mean, double std) {
  NoGradGuard no_grad;
  tensor.normal_(mean, std);
  return tensor;
}

Tensor uniform_(Tensor tensor, double low, double high) {
  NoGradGuard no_grad;
  tensor.uniform_(low, high);
  return tensor;
}

Tensor orthogonal_(Tensor tensor, double gain) {
  DG_CHECK(tensor.dim() >= 2, "orthogonal_: only tensors with 2 or more dimensions are supported, got ", tensor.dim());
  NoGradGuard no_grad;
  const int64_t rows = tensor.size(0), cols = tensor.numel() / rows;
  Tensor flat = dg::randn({rows, cols}, TensorOptions(tensor.scalar_type()));
  if (rows < cols) flat = flat.t();
  auto [q, r] = dg::linalg::qr(flat);
  // Make Q unique: the signs of R's diagonal.
  q = q * r.diagonal(0, -2, -1).sign();
  if (rows < cols) q = q.t();
  tensor.view_as(q).copy_(q * gain);
  return tensor;
}

Tensor sparse_(Tensor tensor, double sparsity, double std) {
  DG_CHECK(tensor.dim() == 2, "sparse_: only tensors with 2 dimensions are supported, got ", tensor.dim());
  NoGradGuard no_grad;
  const int64_t rows = tensor.size(0), cols = tensor.size(1);
  const auto zeros = static_cast<int64_t>(std::ceil(sparsity * static_cast<double>(rows)));
  tensor.normal_(0, std);
  for (int64_t c = 0; c < cols; ++c) {
    Tensor rows_to_zero = dg::randperm(rows).slice(0, 0, zeros);
    tensor.select(1, c).index_fill_(0, rows_to_zero.to(tensor.device()), 0);
  }
  return tensor;
}

Tensor kaiming_uniform_(Tensor tensor, double a, FanModeType mode, NonlinearityType nonlinearity) {
  const double bound = std::sqrt(3.0) * kaiming_std(tensor, a, mode, nonlinearity);
  return uniform_(tensor, -bound, bound);
}

Tensor kaiming_normal_(Tensor tensor, double a, FanModeType mode, NonlinearityType nonlinearity) {
  return normal_(tensor, 0, kaiming_std(tensor, a, mode, nonlinearity));
}

Tensor xavier_uniform_(Tensor tensor, double gain) {
  auto [fan_in, fan_out] = _calculate_fan_in_and_fan_out(tensor);
  const double a = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)) * std::sqrt(3.0);
  return uniform_(tensor, -a, a);
}

Tensor xavier_normal_(Tensor tensor, double gain) {
  auto [fan_in, fan_out] = _calculate_fan_in_and_fan_out(tensor);
  return normal_(tensor, 0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

Tensor trunc_normal_(Tensor tensor, double mean, double std, double a, double b) {
  DG_CHECK(a < b, "trunc_normal_: expected a < b, got a = ", a, ", b = ", b);
  NoGradGuard no_grad;
  // Uniform in [cdf(a), cdf(b)], mapped back through the inverse CDF.
  auto cdf = [](double x) { return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))); };
  const double lo = cdf((a - mean) / std), hi = cdf((b - mean) / std);
  tensor.uniform_(2 * lo - 1, 2 * hi - 1);
  tensor.erfinv_();
  tensor.mul_(std * std::sqrt(2.0)).add_(mean);
  tensor.clamp_(a, b);
  return tensor;
}

}  // namespace dg::nn::init
