// Pointwise composites: maybe_multiply and pow's gradient, the second
// derivatives of the activation kernels, clamp's gradient mask, and clamp
// with tensor bounds.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/operators.h"
#include "ops/composite.h"
#include "ops/meta.h"

namespace dg::composite {

namespace {

Scalar minus_one(const Scalar& s) {
  // Keep an integral exponent integral so int64 pow stays exact.
  return s.is_floating_point() ? Scalar(s.toDouble() - 1.0) : Scalar(s.toLong() - 1);
}

constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1 / sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2 / pi)
constexpr double kGeluCubic = 0.044715;

Tensor masked(const Tensor& mask, const Tensor& value) { return where(mask, value, zeros_like(value)); }

}  // namespace

Tensor maybe_multiply(const Tensor& self, const Scalar& other) {
  if (other == Scalar(1)) return self;
  return self * other;
}

Tensor pow_scalar_base(const Scalar& self, const Tensor& exponent) {
  // A floating number with an integer exponent computes in the default float
  // dtype; otherwise the exponent's dtype, as for any (number, tensor) pair.
  const ScalarType dtype = self.is_floating_point() && !exponent.is_floating_point() ? kFloat32 : exponent.dtype();
  return full_like(exponent, self, TensorOptions().dtype(dtype)).pow(exponent);
}

Tensor pow_backward(const Tensor& grad, const Tensor& self, const Scalar& exponent) {
  // Exactly zero, not 0 * x^-1 (which would be NaN at x == 0).
  if (exponent == Scalar(0)) return zeros_like(self);
  return grad * (self.pow(minus_one(exponent)) * exponent);
}

Tensor elu_double_backward(const Tensor& grad, const Tensor& grad_output, const Scalar& alpha, const Scalar& scale,
                           const Scalar& input_scale, bool is_result, const Tensor& self_or_result) {
  const double neg = alpha.toDouble() * scale.toDouble(), in = input_scale.toDouble();
  const Tensor gg = grad * grad_output;
  // From the output y the negative branch of elu_backward is g * in * (y + neg),
  // linear in y; from the input x it is g * in * neg * e^(x in).
  if (is_result) return masked(self_or_result.le(0), gg * in);
  return masked(self_or_result.le(0), gg * (self_or_result * in).exp() * (in * in * neg));
}

Tensor gelu_double_backward(const Tensor& grad, const Tensor& grad_output, const Tensor& self,
                            std::string_view approximate) {
  const Tensor gg = grad * grad_output;
  const Tensor& x = self;
  if (approximate == "none") {
    // gelu'' = pdf(x) (2 - x^2)
    const Tensor pdf = (x * x * -0.5).exp() * kInvSqrt2Pi;
    return gg * pdf * (2 - x * x);
  }
  DG_CHECK(approximate == "tanh", "gelu_double_backward: approximate must be 'none' or 'tanh', got '", approximate,
           "'");
  // gelu = x (1 + tanh u) / 2 with u = k (x + c x^3):
  // gelu'' = (1 - t^2) (u' - x t u'^2 + x u'' / 2).
  const Tensor x2 = x * x;
  const Tensor t = ((x + x2 * x * kGeluCubic) * kSqrt2OverPi).tanh();
  const Tensor du = (x2 * (3 * kGeluCubic) + 1) * kSqrt2OverPi;
  const Tensor d2u_half = x * (3 * kGeluCubic * kSqrt2OverPi);
  return gg * (1 - t * t) * (du - x * t * du * du + x * d2u_half);
}

Tensor silu_double_backward(const Tensor& grad, const Tensor& grad_output, const Tensor& self) {
  // silu'' = s (1 - s) (2 + x (1 - 2 s)) with s = sigmoid(x).
  const Tensor s = self.sigmoid();
  return grad * grad_output * s * (1 - s) * (2 + self * (1 - 2 * s));
}

Tensor softplus_double_backward(const Tensor& grad, const Tensor& self, const Scalar& beta, const Scalar& threshold) {
  // softplus' = sigmoid(beta x) below the threshold, 1 above it (constant).
  const Tensor z = self * beta;
  const Tensor s = z.sigmoid();
  return masked(z.le(threshold), grad * s * (1 - s) * beta);
}

Tensor clamp_backward(const Tensor& grad, const Tensor& self, const std::optional<Scalar>& min,
                      const std::optional<Scalar>& max) {
  DG_CHECK(min || max, "clamp_backward: at least one of 'min' or 'max' must not be None");
  // Inclusive bounds: an element sitting exactly on a bound passes its gradient.
  Tensor mask;
  if (min && max) mask = self.ge(*min).logical_and(self.le(*max));
  else if (min) mask = self.ge(*min);
  else mask = self.le(*max);
  return masked(mask, grad);
}

Tensor clamp_tensor(const Tensor& self, const std::optional<Tensor>& min, const std::optional<Tensor>& max) {
  const bool has_min = min && min->defined(), has_max = max && max->defined();
  DG_CHECK(has_min || has_max, "clamp: at least one of 'min' or 'max' must not be None");
  // where, not maximum/minimum: the gradient goes wholly to self on a tie with
  // a bound (like clamp with numbers), and a NaN bound yields NaN.
  Tensor r = self;
  if (has_min) r = where(r.lt(*min).logical_or(min->ne(*min)), *min, r);
  if (has_max) r = where(r.gt(*max).logical_or(max->ne(*max)), *max, r);
  return r;
}

}  // namespace dg::composite

// ---- activations built from other ops -----------------------------------------------

namespace dg::composite {

Tensor relu6(const Tensor& self) { return dg::hardtanh(self, 0, 6); }
Tensor mish(const Tensor& self) { return self * dg::tanh(dg::softplus(self)); }
Tensor selu(const Tensor& self) {
  constexpr double alpha = 1.6732632423543772848170429916717;
  constexpr double scale = 1.0507009873554804934193349852946;
  return dg::elu(self, alpha, scale);
}
Tensor celu(const Tensor& self, const Scalar& alpha) {
  DG_CHECK(alpha.toDouble() != 0, "celu: alpha must not be 0, got ", alpha);
  return dg::elu(self, alpha, 1, 1.0 / alpha.toDouble());
}
Tensor tanhshrink(const Tensor& self) { return self - dg::tanh(self); }
Tensor softsign(const Tensor& self) { return self / (self.abs() + 1); }

Tensor glu(const Tensor& self, int64_t dim) {
  DG_CHECK(self.dim() > 0, "glu: expected a tensor of at least 1 dim, got a 0-dim tensor");
  const int64_t d = meta::wrap_dim("glu", dim, self.dim());
  const int64_t n = self.size(d);
  DG_CHECK(n % 2 == 0, "glu: halving dimension must be even, but dimension ", d, " is size ", n);
  return self.narrow(d, 0, n / 2) * dg::sigmoid(self.narrow(d, n / 2, n / 2));
}

Tensor prelu(const Tensor& self, const Tensor& weight) {
  const int64_t channels = self.dim() >= 2 ? self.size(1) : 1;
  DG_CHECK(weight.dim() <= 1 && (weight.numel() == 1 || weight.numel() == channels),
           "prelu: expected weight of 1 element or ", channels, " (one per channel of dim 1), got shape ",
           weight.sizes());
  const Tensor w = weight.numel() == 1 || self.dim() < 2 ? weight.reshape({}) : channel_view(weight, self.dim());
  return dg::where(self.gt(0), self, self * w);
}

}  // namespace dg::composite
