// CUDA pointwise math and activation kernels: unary math, rounding,
// activations with their backward helpers, clamping and the arithmetic
// binary ops. The counterparts of kernels/cpu/pointwise2.cpp (and of
// log_sigmoid in kernels/cpu/nn.cpp), with the same scalar functions; where
// the CPU computes float32 through vec_math.h's fast forms, the GPU uses
// CUDA's own float functions of the formula the CPU's float64 path spells out.
//
// Math calls are written `::exp(x)`: inside dg::cuda an unqualified `exp`
// would find the kernel templates of the same names. CUDA overloads the
// global functions for float and double, so float stays float.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include "kernel_decls.h"
#include "loops.cuh"

namespace dg::cuda {

namespace {

constexpr double kSqrt1_2 = 0.70710678118654752440;      // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1 / sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2 / pi)
constexpr double kGeluCubic = 0.044715;

enum class Gelu { Exact, Tanh };

Gelu gelu_mode(const char* op, std::string_view approximate) {
  if (approximate == "none") return Gelu::Exact;
  if (approximate == "tanh") return Gelu::Tanh;
  ::dg::detail::fail(::dg::detail::str(op, ": approximate must be 'none' or 'tanh', got '", approximate, "'"));
}

// Integer kernels fed a floating bound would silently truncate it, where
// PyTorch would have produced a float tensor; refuse instead.
template <typename T>
void check_integral_bound(const char* op, const char* name, const Scalar& bound) {
  if constexpr (std::is_integral_v<T>) {
    DG_CHECK(!bound.is_floating_point(), op, ": ", name, " ", bound,
             " is a floating-point number but self is an integer tensor (int64); convert self to a floating "
             "dtype first");
  }
}

// The tanh form of gelu and its derivative, evaluated in double for both
// dtypes: in float32, 1 + tanh(u) and 1 - tanh(u)^2 cancel for large |u|
// (the CPU's float32 path avoids that cancellation too, through sigmoid(2u)).
__device__ inline double gelu_tanh_value(double x) {
  const double u = kSqrt2OverPi * (x + kGeluCubic * x * x * x);
  return 0.5 * x * (1.0 + ::tanh(u));
}
__device__ inline double gelu_tanh_derivative(double x) {
  const double u = kSqrt2OverPi * (x + kGeluCubic * x * x * x);
  const double du = kSqrt2OverPi * (1.0 + 3 * kGeluCubic * x * x);
  const double t = ::tanh(u);
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du;
}

// Integer remainder: % truncates towards zero like fmod; INT64_MIN % -1 is 0
// mathematically but overflows. A zero divisor cannot be reported from the
// device without a synchronisation (the CPU kernel refuses it up front);
// it gives 0 rather than whatever the hardware's remainder does.
template <typename T>
__device__ inline T int_fmod(T x, T y) {
  return (y == T(-1) || y == T(0)) ? T(0) : static_cast<T>(x % y);
}

}  // namespace

// ---------------------------------------------------------------- unary math

template <typename T>
void expm1(const Tensor& out, const Tensor& self) {
  gpu_unary<T>("expm1", out, self, [] __device__(T x) { return ::expm1(x); });
}

template <typename T>
void log1p(const Tensor& out, const Tensor& self) {
  gpu_unary<T>("log1p", out, self, [] __device__(T x) { return ::log1p(x); });
}

template <typename T>
void log2(const Tensor& out, const Tensor& self) {
  gpu_unary<T>("log2", out, self, [] __device__(T x) { return ::log2(x); });
}

template <typename T>
void rsqrt(const Tensor& out, const Tensor& self) {
  gpu_unary<T>("rsqrt", out, self, [] __device__(T x) { return T(1) / ::sqrt(x); });
}

template <typename T>
void tan(const Tensor& out, const Tensor& self) {
  gpu_unary<T>("tan", out, self, [] __device__(T x) { return ::tan(x); });
}

template <typename T>
void asin(const Tensor& out, const Tensor& self) {
  gpu_unary<T>("asin", out, self, [] __device__(T x) { return ::asin(x); });
}

template <typename T>
void acos(const Tensor& out, const Tensor& self) {
  gpu_unary<T>("acos", out, self, [] __device__(T x) { return ::acos(x); });
}

template <typename T>
void atan(const Tensor& out, const Tensor& self) {
  gpu_unary<T>("atan", out, self, [] __device__(T x) { return ::atan(x); });
}

template <typename T>
void cosh(const Tensor& out, const Tensor& self) {
  gpu_unary<T>("cosh", out, self, [] __device__(T x) { return ::cosh(x); });
}

template <typename T>
void square(const Tensor& out, const Tensor& self) {
  if constexpr (std::is_integral_v<T>) {
    // Unsigned arithmetic: wraps on overflow like PyTorch instead of being UB.
    gpu_unary<T>("square", out, self, [] __device__(T x) {
      const auto u = static_cast<uint64_t>(x);
      return static_cast<T>(u * u);
    });
  } else {
    gpu_unary<T>("square", out, self, [] __device__(T x) { return x * x; });
  }
}

template <typename T>
void erf(const Tensor& out, const Tensor& self) {
  gpu_unary<T>("erf", out, self, [] __device__(T x) { return ::erf(x); });
}

// ---------------------------------------------------------------- rounding
// Integers are already whole: the integer kernels copy.

template <typename T>
void floor(const Tensor& out, const Tensor& self) {
  if constexpr (std::is_integral_v<T>) gpu_unary<T>("floor", out, self, [] __device__(T x) { return x; });
  else gpu_unary<T>("floor", out, self, [] __device__(T x) { return ::floor(x); });
}

template <typename T>
void ceil(const Tensor& out, const Tensor& self) {
  if constexpr (std::is_integral_v<T>) gpu_unary<T>("ceil", out, self, [] __device__(T x) { return x; });
  else gpu_unary<T>("ceil", out, self, [] __device__(T x) { return ::ceil(x); });
}

template <typename T>
void round(const Tensor& out, const Tensor& self) {
  // nearbyint sends halves to the even neighbour (2.5 -> 2), as PyTorch
  // does; ::round would give 3.
  if constexpr (std::is_integral_v<T>) gpu_unary<T>("round", out, self, [] __device__(T x) { return x; });
  else gpu_unary<T>("round", out, self, [] __device__(T x) { return ::nearbyint(x); });
}

template <typename T>
void trunc(const Tensor& out, const Tensor& self) {
  if constexpr (std::is_integral_v<T>) gpu_unary<T>("trunc", out, self, [] __device__(T x) { return x; });
  else gpu_unary<T>("trunc", out, self, [] __device__(T x) { return ::trunc(x); });
}

// ---------------------------------------------------------------- activations

template <typename T>
void leaky_relu(const Tensor& out, const Tensor& self, const Scalar& negative_slope) {
  const T a = negative_slope.to<T>();
  // `x > 0 ? ...` sends NaN down the scaled branch, where it stays NaN.
  gpu_unary<T>("leaky_relu", out, self, [a] __device__(T x) { return x > T(0) ? x : x * a; });
}

template <typename T>
void leaky_relu_backward(const Tensor& out, const Tensor& grad_output, const Tensor& self,
                         const Scalar& negative_slope, bool self_is_result) {
  // From the output, the sign test only recovers the input's sign when the
  // slope is non-negative.
  DG_CHECK(!self_is_result || negative_slope.toDouble() >= 0, "leaky_relu_backward: self_is_result=True needs a ",
           "non-negative negative_slope (the input's sign cannot be recovered from the output), got ",
           negative_slope);
  const T a = negative_slope.to<T>();
  gpu_binary<T>("leaky_relu_backward", out, grad_output, self,
                [a] __device__(T g, T x) { return x > T(0) ? g : g * a; });
}

template <typename T>
void elu(const Tensor& out, const Tensor& self, const Scalar& alpha, const Scalar& scale,
         const Scalar& input_scale) {
  const T neg = static_cast<T>(alpha.toDouble() * scale.toDouble());
  const T pos = scale.to<T>(), in = input_scale.to<T>();
  // expm1, not exp - 1: keeps the relative accuracy for inputs near 0.
  gpu_unary<T>("elu", out, self,
               [=] __device__(T x) { return x > T(0) ? pos * x : neg * ::expm1(x * in); });
}

template <typename T>
void elu_backward(const Tensor& out, const Tensor& grad_output, const Scalar& alpha, const Scalar& scale,
                  const Scalar& input_scale, bool is_result, const Tensor& self_or_result) {
  const T neg = static_cast<T>(alpha.toDouble() * scale.toDouble());
  const T pos = scale.to<T>(), in = input_scale.to<T>();
  if (is_result) {
    // y = neg * (e^(x in) - 1) on the negative side, so e^(x in) = y / neg + 1.
    DG_CHECK(alpha.toDouble() >= 0, "elu_backward: is_result=True needs a non-negative alpha (the input's sign ",
             "cannot be recovered from the output), got ", alpha);
    gpu_binary<T>("elu_backward", out, grad_output, self_or_result,
                  [=] __device__(T g, T y) { return y <= T(0) ? g * in * (y + neg) : g * pos; });
  } else {
    gpu_binary<T>("elu_backward", out, grad_output, self_or_result,
                  [=] __device__(T g, T x) { return x <= T(0) ? g * in * neg * ::exp(x * in) : g * pos; });
  }
}

template <typename T>
void gelu(const Tensor& out, const Tensor& self, std::string_view approximate) {
  if (gelu_mode("gelu", approximate) == Gelu::Exact) {
    // erfc(-x / sqrt 2) / 2 = Phi(x) without the cancellation of 1 + erf
    // for very negative x.
    gpu_unary<T>("gelu", out, self, [] __device__(T x) { return T(0.5) * x * ::erfc(-x * T(kSqrt1_2)); });
  } else {
    gpu_unary<T>("gelu", out, self, [] __device__(T x) { return static_cast<T>(gelu_tanh_value(x)); });
  }
}

template <typename T>
void gelu_backward(const Tensor& out, const Tensor& grad_output, const Tensor& self,
                   std::string_view approximate) {
  if (gelu_mode("gelu_backward", approximate) == Gelu::Exact) {
    gpu_binary<T>("gelu_backward", out, grad_output, self, [] __device__(T g, T x) {
      const T cdf = T(0.5) * ::erfc(-x * T(kSqrt1_2));
      const T pdf = T(kInvSqrt2Pi) * ::exp(T(-0.5) * x * x);
      return g * (cdf + x * pdf);
    });
  } else {
    gpu_binary<T>("gelu_backward", out, grad_output, self,
                  [] __device__(T g, T x) { return g * static_cast<T>(gelu_tanh_derivative(x)); });
  }
}

template <typename T>
void silu(const Tensor& out, const Tensor& self) {
  // For very negative x, e^-x overflows to inf and x / inf = -0: the limit.
  gpu_unary<T>("silu", out, self, [] __device__(T x) { return x / (T(1) + ::exp(-x)); });
}

template <typename T>
void silu_backward(const Tensor& out, const Tensor& grad_output, const Tensor& self) {
  gpu_binary<T>("silu_backward", out, grad_output, self, [] __device__(T g, T x) {
    const T s = T(1) / (T(1) + ::exp(-x));
    return g * s * (T(1) + x * (T(1) - s));
  });
}

template <typename T>
void softplus(const Tensor& out, const Tensor& self, const Scalar& beta, const Scalar& threshold) {
  const T b = beta.to<T>(), th = threshold.to<T>();
  // log(1 + e^z) = max(z, 0) + log1p(e^-|z|): never overflows, so the
  // result stays finite even when a large threshold lets |z| reach 1e4.
  gpu_unary<T>("softplus", out, self, [b, th] __device__(T x) {
    const T z = x * b;
    if (z > th) return x;
    return (::fmax(z, T(0)) + ::log1p(::exp(-::fabs(z)))) / b;
  });
}

template <typename T>
void softplus_backward(const Tensor& out, const Tensor& grad_output, const Tensor& self, const Scalar& beta,
                       const Scalar& threshold) {
  const T b = beta.to<T>(), th = threshold.to<T>();
  // sigmoid(z) as 1 / (1 + e^-z): e^-z = inf for very negative z gives 0.
  gpu_binary<T>("softplus_backward", out, grad_output, self, [b, th] __device__(T g, T x) {
    const T z = x * b;
    return z > th ? g : g / (T(1) + ::exp(-z));
  });
}

template <typename T>
void log_sigmoid(const Tensor& out, const Tensor& self) {
  // min(x, 0) - log1p(exp(-|x|)): exp never overflows, and for large |x| the
  // log1p term underflows to 0 instead of cancelling. The min is spelled as
  // std::min does it, so a NaN x stays NaN.
  gpu_unary<T>("log_sigmoid", out, self,
               [] __device__(T x) { return (T(0) < x ? T(0) : x) - ::log1p(::exp(-::fabs(x))); });
}

// ---------------------------------------------------------------- clamping
// Compare-and-select keeps NaN inputs NaN (every comparison with NaN fails).

template <typename T>
void clamp(const Tensor& out, const Tensor& self, const std::optional<Scalar>& min,
           const std::optional<Scalar>& max) {
  DG_CHECK(min || max, "clamp: at least one of 'min' or 'max' must not be None");
  if (min) check_integral_bound<T>("clamp", "min", *min);
  if (max) check_integral_bound<T>("clamp", "max", *max);
  if (min && max) {
    // min first, then max: with min > max every element becomes max, as in PyTorch.
    const T lo = min->to<T>(), hi = max->to<T>();
    gpu_unary<T>("clamp", out, self, [lo, hi] __device__(T x) {
      const T y = x < lo ? lo : x;
      return y > hi ? hi : y;
    });
  } else if (min) {
    const T lo = min->to<T>();
    gpu_unary<T>("clamp", out, self, [lo] __device__(T x) { return x < lo ? lo : x; });
  } else {
    const T hi = max->to<T>();
    gpu_unary<T>("clamp", out, self, [hi] __device__(T x) { return x > hi ? hi : x; });
  }
}

template <typename T>
void clamp_min(const Tensor& out, const Tensor& self, const Scalar& min) {
  const T lo = min.to<T>();
  gpu_unary<T>("clamp_min", out, self, [lo] __device__(T x) { return x < lo ? lo : x; });
}

template <typename T>
void clamp_max(const Tensor& out, const Tensor& self, const Scalar& max) {
  const T hi = max.to<T>();
  gpu_unary<T>("clamp_max", out, self, [hi] __device__(T x) { return x > hi ? hi : x; });
}

// ---------------------------------------------------------------- binary

template <typename T>
void atan2(const Tensor& out, const Tensor& self, const Tensor& other) {
  gpu_binary<T>("atan2", out, self, other, [] __device__(T y, T x) { return ::atan2(y, x); });
}

template <typename T>
void maximum(const Tensor& out, const Tensor& self, const Tensor& other) {
  // `x != x` is NaN: either operand's NaN wins (y's through the false branch).
  gpu_binary<T>("maximum", out, self, other, [] __device__(T x, T y) { return (x > y || x != x) ? x : y; });
}

template <typename T>
void minimum(const Tensor& out, const Tensor& self, const Tensor& other) {
  gpu_binary<T>("minimum", out, self, other, [] __device__(T x, T y) { return (x < y || x != x) ? x : y; });
}

template <typename T>
void fmod(const Tensor& out, const Tensor& self, const Tensor& other) {
  if constexpr (std::is_integral_v<T>) {
    gpu_binary<T>("fmod", out, self, other, [] __device__(T x, T y) { return int_fmod(x, y); });
  } else {
    gpu_binary<T>("fmod", out, self, other, [] __device__(T x, T y) { return ::fmod(x, y); });
  }
}

template <typename T>
void fmod_scalar(const Tensor& out, const Tensor& self, const Scalar& other) {
  const T c = other.to<T>();
  if constexpr (std::is_integral_v<T>) {
    DG_CHECK(c != T(0), "fmod: integer division by zero (other is ", other, ")");
    gpu_unary<T>("fmod", out, self, [c] __device__(T x) { return int_fmod(x, c); });
  } else {
    gpu_unary<T>("fmod", out, self, [c] __device__(T x) { return ::fmod(x, c); });
  }
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_expm1
DG_INSTANTIATE_KERNEL_cuda_log1p
DG_INSTANTIATE_KERNEL_cuda_log2
DG_INSTANTIATE_KERNEL_cuda_rsqrt
DG_INSTANTIATE_KERNEL_cuda_tan
DG_INSTANTIATE_KERNEL_cuda_asin
DG_INSTANTIATE_KERNEL_cuda_acos
DG_INSTANTIATE_KERNEL_cuda_atan
DG_INSTANTIATE_KERNEL_cuda_cosh
DG_INSTANTIATE_KERNEL_cuda_square
DG_INSTANTIATE_KERNEL_cuda_erf
DG_INSTANTIATE_KERNEL_cuda_floor
DG_INSTANTIATE_KERNEL_cuda_ceil
DG_INSTANTIATE_KERNEL_cuda_round
DG_INSTANTIATE_KERNEL_cuda_trunc
DG_INSTANTIATE_KERNEL_cuda_leaky_relu
DG_INSTANTIATE_KERNEL_cuda_leaky_relu_backward
DG_INSTANTIATE_KERNEL_cuda_elu
DG_INSTANTIATE_KERNEL_cuda_elu_backward
DG_INSTANTIATE_KERNEL_cuda_gelu
DG_INSTANTIATE_KERNEL_cuda_gelu_backward
DG_INSTANTIATE_KERNEL_cuda_silu
DG_INSTANTIATE_KERNEL_cuda_silu_backward
DG_INSTANTIATE_KERNEL_cuda_softplus
DG_INSTANTIATE_KERNEL_cuda_softplus_backward
DG_INSTANTIATE_KERNEL_cuda_log_sigmoid
DG_INSTANTIATE_KERNEL_cuda_clamp
DG_INSTANTIATE_KERNEL_cuda_clamp_min
DG_INSTANTIATE_KERNEL_cuda_clamp_max
DG_INSTANTIATE_KERNEL_cuda_atan2
DG_INSTANTIATE_KERNEL_cuda_maximum
DG_INSTANTIATE_KERNEL_cuda_minimum
DG_INSTANTIATE_KERNEL_cuda_fmod
DG_INSTANTIATE_KERNEL_cuda_fmod_scalar
