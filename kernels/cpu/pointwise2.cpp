// Pointwise math and activation kernels of the pointwise group (issue 4):
// unary math, rounding, activations with their backward helpers, clamping
// and the arithmetic binary ops. Like pointwise.cpp, each kernel only names
// its scalar function; the dispatch layer has broadcast, promoted and
// allocated already.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include "kernel_decls.h"
#include "loops.h"
#include "vec_math.h"

namespace dg::cpu {

namespace {

// The vectorisable exp and expm1 for float32 (pointwise.cpp does the same),
// libm's for float64.
template <typename T>
__attribute__((always_inline)) inline T fast_exp(T x) {
  if constexpr (std::is_same_v<T, float>) return vec::exp(x);
  else return std::exp(x);
}
template <typename T>
__attribute__((always_inline)) inline T fast_expm1(T x) {
  if constexpr (std::is_same_v<T, float>) return vec::expm1(x);
  else return std::expm1(x);
}

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

}  // namespace

// ---------------------------------------------------------------- unary math

template <typename T>
void expm1(const Tensor& out, const Tensor& self) {
  if constexpr (std::is_same_v<T, float>) {
    unary_kernel<T>(out, self, [](T x) { return vec::expm1(x); });
  } else {
    unary_kernel<T>(out, self, [](T x) { return std::expm1(x); });
  }
}

template <typename T>
void log1p(const Tensor& out, const Tensor& self) {
  if constexpr (std::is_same_v<T, float>) {
    unary_kernel<T>(out, self, [](T x) { return vec::log1p(x); });
  } else {
    unary_kernel<T>(out, self, [](T x) { return std::log1p(x); });
  }
}

template <typename T>
void log2(const Tensor& out, const Tensor& self) {
  unary_kernel<T>(out, self, [](T x) { return std::log2(x); });
}

template <typename T>
void rsqrt(const Tensor& out, const Tensor& self) {
  unary_kernel<T>(out, self, [](T x) { return T(1) / std::sqrt(x); });
}

template <typename T>
void tan(const Tensor& out, const Tensor& self) {
  unary_kernel<T>(out, self, [](T x) { return std::tan(x); });
}

template <typename T>
void asin(const Tensor& out, const Tensor& self) {
  unary_kernel<T>(out, self, [](T x) { return std::asin(x); });
}

template <typename T>
void acos(const Tensor& out, const Tensor& self) {
  unary_kernel<T>(out, self, [](T x) { return std::acos(x); });
}

template <typename T>
void atan(const Tensor& out, const Tensor& self) {
  unary_kernel<T>(out, self, [](T x) { return std::atan(x); });
}

template <typename T>
void cosh(const Tensor& out, const Tensor& self) {
  unary_kernel<T>(out, self, [](T x) { return std::cosh(x); });
}

template <typename T>
void square(const Tensor& out, const Tensor& self) {
  if constexpr (std::is_integral_v<T>) {
    // Unsigned arithmetic: wraps on overflow like PyTorch instead of being UB.
    unary_kernel<T>(out, self, [](T x) {
      const auto u = static_cast<uint64_t>(x);
      return static_cast<T>(u * u);
    });
  } else {
    unary_kernel<T>(out, self, [](T x) { return x * x; });
  }
}

template <typename T>
void erf(const Tensor& out, const Tensor& self) {
  unary_kernel<T>(out, self, [](T x) { return std::erf(x); });
}

// ---------------------------------------------------------------- rounding
// Integers are already whole: the integer kernels copy.

template <typename T>
void floor(const Tensor& out, const Tensor& self) {
  if constexpr (std::is_integral_v<T>) unary_kernel<T>(out, self, [](T x) { return x; });
  else unary_kernel<T>(out, self, [](T x) { return std::floor(x); });
}

template <typename T>
void ceil(const Tensor& out, const Tensor& self) {
  if constexpr (std::is_integral_v<T>) unary_kernel<T>(out, self, [](T x) { return x; });
  else unary_kernel<T>(out, self, [](T x) { return std::ceil(x); });
}

template <typename T>
void round(const Tensor& out, const Tensor& self) {
  // nearbyint in the default rounding mode sends halves to the even
  // neighbour (2.5 -> 2), as PyTorch does; std::round would give 3.
  if constexpr (std::is_integral_v<T>) unary_kernel<T>(out, self, [](T x) { return x; });
  else unary_kernel<T>(out, self, [](T x) { return std::nearbyint(x); });
}

template <typename T>
void trunc(const Tensor& out, const Tensor& self) {
  if constexpr (std::is_integral_v<T>) unary_kernel<T>(out, self, [](T x) { return x; });
  else unary_kernel<T>(out, self, [](T x) { return std::trunc(x); });
}

// ---------------------------------------------------------------- activations

template <typename T>
void leaky_relu(const Tensor& out, const Tensor& self, const Scalar& negative_slope) {
  const T a = negative_slope.to<T>();
  // `x > 0 ? ...` sends NaN down the scaled branch, where it stays NaN.
  unary_kernel<T>(out, self, [a](T x) { return x > T(0) ? x : x * a; });
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
  binary_kernel<T>(out, grad_output, self, [a](T g, T x) { return x > T(0) ? g : g * a; });
}

template <typename T>
void elu(const Tensor& out, const Tensor& self, const Scalar& alpha, const Scalar& scale,
         const Scalar& input_scale) {
  const T neg = static_cast<T>(alpha.toDouble() * scale.toDouble());
  const T pos = scale.to<T>(), in = input_scale.to<T>();
  // expm1, not exp - 1: keeps the relative accuracy for inputs near 0.
  unary_kernel<T>(out, self, [=](T x) { return x > T(0) ? pos * x : neg * fast_expm1(x * in); });
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
    binary_kernel<T>(out, grad_output, self_or_result,
                     [=](T g, T y) { return y <= T(0) ? g * in * (y + neg) : g * pos; });
  } else {
    binary_kernel<T>(out, grad_output, self_or_result,
                     [=](T g, T x) { return x <= T(0) ? g * in * neg * fast_exp(x * in) : g * pos; });
  }
}

template <typename T>
void gelu(const Tensor& out, const Tensor& self, std::string_view approximate) {
  if (gelu_mode("gelu", approximate) == Gelu::Exact) {
    if constexpr (std::is_same_v<T, float>) {
      unary_kernel<T>(out, self, [](T x) { return vec::gelu(x); });
    } else {
      // erfc(-x / sqrt 2) / 2 = Phi(x) without the cancellation of 1 + erf
      // for very negative x.
      unary_kernel<T>(out, self, [](T x) { return T(0.5) * x * std::erfc(-x * T(kSqrt1_2)); });
    }
  } else if constexpr (std::is_same_v<T, float>) {
    unary_kernel<T>(out, self, [](T x) { return vec::gelu_tanh(x); });
  } else {
    unary_kernel<T>(out, self, [](T x) {
      const T u = T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x);
      return T(0.5) * x * (T(1) + std::tanh(u));
    });
  }
}

template <typename T>
void gelu_backward(const Tensor& out, const Tensor& grad_output, const Tensor& self,
                   std::string_view approximate) {
  if (gelu_mode("gelu_backward", approximate) == Gelu::Exact) {
    if constexpr (std::is_same_v<T, float>) {
      binary_kernel<T>(out, grad_output, self, [](T g, T x) { return vec::gelu_backward(g, x); });
    } else {
      binary_kernel<T>(out, grad_output, self, [](T g, T x) {
        const T cdf = T(0.5) * std::erfc(-x * T(kSqrt1_2));
        const T pdf = T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
        return g * (cdf + x * pdf);
      });
    }
  } else if constexpr (std::is_same_v<T, float>) {
    binary_kernel<T>(out, grad_output, self, [](T g, T x) { return vec::gelu_tanh_backward(g, x); });
  } else {
    binary_kernel<T>(out, grad_output, self, [](T g, T x) {
      const T u = T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x);
      const T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCubic) * x * x);
      const T t = std::tanh(u);
      return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du);
    });
  }
}

template <typename T>
void silu(const Tensor& out, const Tensor& self) {
  // For very negative x, e^-x overflows to inf and x / inf = -0: the limit.
  unary_kernel<T>(out, self, [](T x) { return x / (T(1) + fast_exp(-x)); });
}

template <typename T>
void silu_backward(const Tensor& out, const Tensor& grad_output, const Tensor& self) {
  binary_kernel<T>(out, grad_output, self, [](T g, T x) {
    const T s = T(1) / (T(1) + fast_exp(-x));
    return g * s * (T(1) + x * (T(1) - s));
  });
}

template <typename T>
void softplus(const Tensor& out, const Tensor& self, const Scalar& beta, const Scalar& threshold) {
  const T b = beta.to<T>(), th = threshold.to<T>();
  // log(1 + e^z) = max(z, 0) + log1p(e^-|z|): never overflows, so the
  // result stays finite even when a large threshold lets |z| reach 1e4.
  if constexpr (std::is_same_v<T, float>) {
    // Both sides computed and selected, max as a compare: no branch or call
    // left in the loop, so it vectorises.
    unary_kernel<T>(out, self, [b, th](T x) {
      const T z = x * b;
      const T soft = ((z > T(0) ? z : T(0)) + vec::log1p(vec::exp(-std::fabs(z)))) / b;
      return z > th ? x : soft;
    });
  } else {
    unary_kernel<T>(out, self, [b, th](T x) {
      const T z = x * b;
      if (z > th) return x;
      return (std::fmax(z, T(0)) + std::log1p(std::exp(-std::fabs(z)))) / b;
    });
  }
}

template <typename T>
void softplus_backward(const Tensor& out, const Tensor& grad_output, const Tensor& self, const Scalar& beta,
                       const Scalar& threshold) {
  const T b = beta.to<T>(), th = threshold.to<T>();
  // sigmoid(z) as 1 / (1 + e^-z): e^-z = inf for very negative z gives 0.
  binary_kernel<T>(out, grad_output, self, [b, th](T g, T x) {
    const T z = x * b;
    return z > th ? g : g / (T(1) + fast_exp(-z));
  });
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
    unary_kernel<T>(out, self, [lo, hi](T x) {
      const T y = x < lo ? lo : x;
      return y > hi ? hi : y;
    });
  } else if (min) {
    const T lo = min->to<T>();
    unary_kernel<T>(out, self, [lo](T x) { return x < lo ? lo : x; });
  } else {
    const T hi = max->to<T>();
    unary_kernel<T>(out, self, [hi](T x) { return x > hi ? hi : x; });
  }
}

template <typename T>
void clamp_min(const Tensor& out, const Tensor& self, const Scalar& min) {
  const T lo = min.to<T>();
  unary_kernel<T>(out, self, [lo](T x) { return x < lo ? lo : x; });
}

template <typename T>
void clamp_max(const Tensor& out, const Tensor& self, const Scalar& max) {
  const T hi = max.to<T>();
  unary_kernel<T>(out, self, [hi](T x) { return x > hi ? hi : x; });
}

// ---------------------------------------------------------------- binary

template <typename T>
void atan2(const Tensor& out, const Tensor& self, const Tensor& other) {
  binary_kernel<T>(out, self, other, [](T y, T x) { return std::atan2(y, x); });
}

template <typename T>
void maximum(const Tensor& out, const Tensor& self, const Tensor& other) {
  // `x != x` is NaN: either operand's NaN wins (y's through the false branch).
  binary_kernel<T>(out, self, other, [](T x, T y) { return (x > y || x != x) ? x : y; });
}

template <typename T>
void minimum(const Tensor& out, const Tensor& self, const Tensor& other) {
  binary_kernel<T>(out, self, other, [](T x, T y) { return (x < y || x != x) ? x : y; });
}

namespace {

// Integer remainder: C++'s % truncates towards zero like fmod; the one
// overflowing case, INT64_MIN % -1, is 0 mathematically but UB in C++.
template <typename T>
inline T int_fmod(T x, T y) {
  return y == T(-1) ? T(0) : static_cast<T>(x % y);
}

// Whether any element of t (int64) is zero. Runs before anything is
// written, so a bad divisor leaves the output (or self, in place) intact.
bool any_zero(const Tensor& t) {
  if (t.numel() == 0) return false;
  LoopGeometry<1> g = make_geometry<1>(t, {});
  bool found = false;
  for_each_row(g, 0, g.numel, [&](const std::array<char*, 1>& p, int64_t n) {
    const int64_t s = g.inner_stride(0);
    for (int64_t i = 0; i < n; ++i) found |= *reinterpret_cast<const int64_t*>(p[0] + i * s) == 0;
  });
  return found;
}

}  // namespace

template <typename T>
void fmod(const Tensor& out, const Tensor& self, const Tensor& other) {
  if constexpr (std::is_integral_v<T>) {
    DG_CHECK(out.numel() == 0 || !any_zero(other), "fmod: integer division by zero (other has a zero element)");
    binary_kernel<T>(out, self, other, [](T x, T y) { return int_fmod(x, y); });
  } else {
    binary_kernel<T>(out, self, other, [](T x, T y) { return std::fmod(x, y); });
  }
}

template <typename T>
void fmod_scalar(const Tensor& out, const Tensor& self, const Scalar& other) {
  const T c = other.to<T>();
  if constexpr (std::is_integral_v<T>) {
    DG_CHECK(c != T(0), "fmod: integer division by zero (other is ", other, ")");
    unary_kernel<T>(out, self, [c](T x) { return int_fmod(x, c); });
  } else {
    unary_kernel<T>(out, self, [c](T x) { return std::fmod(x, c); });
  }
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_expm1
DG_INSTANTIATE_KERNEL_cpu_log1p
DG_INSTANTIATE_KERNEL_cpu_log2
DG_INSTANTIATE_KERNEL_cpu_rsqrt
DG_INSTANTIATE_KERNEL_cpu_tan
DG_INSTANTIATE_KERNEL_cpu_asin
DG_INSTANTIATE_KERNEL_cpu_acos
DG_INSTANTIATE_KERNEL_cpu_atan
DG_INSTANTIATE_KERNEL_cpu_cosh
DG_INSTANTIATE_KERNEL_cpu_square
DG_INSTANTIATE_KERNEL_cpu_erf
DG_INSTANTIATE_KERNEL_cpu_floor
DG_INSTANTIATE_KERNEL_cpu_ceil
DG_INSTANTIATE_KERNEL_cpu_round
DG_INSTANTIATE_KERNEL_cpu_trunc
DG_INSTANTIATE_KERNEL_cpu_leaky_relu
DG_INSTANTIATE_KERNEL_cpu_leaky_relu_backward
DG_INSTANTIATE_KERNEL_cpu_elu
DG_INSTANTIATE_KERNEL_cpu_elu_backward
DG_INSTANTIATE_KERNEL_cpu_gelu
DG_INSTANTIATE_KERNEL_cpu_gelu_backward
DG_INSTANTIATE_KERNEL_cpu_silu
DG_INSTANTIATE_KERNEL_cpu_silu_backward
DG_INSTANTIATE_KERNEL_cpu_softplus
DG_INSTANTIATE_KERNEL_cpu_softplus_backward
DG_INSTANTIATE_KERNEL_cpu_clamp
DG_INSTANTIATE_KERNEL_cpu_clamp_min
DG_INSTANTIATE_KERNEL_cpu_clamp_max
DG_INSTANTIATE_KERNEL_cpu_atan2
DG_INSTANTIATE_KERNEL_cpu_maximum
DG_INSTANTIATE_KERNEL_cpu_minimum
DG_INSTANTIATE_KERNEL_cpu_fmod
DG_INSTANTIATE_KERNEL_cpu_fmod_scalar
