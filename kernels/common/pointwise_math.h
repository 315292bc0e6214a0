#pragma once
// The scalar formulas of the pointwise math and activation kernels, and the
// checks and parameter unpacking around them, shared by the CPU kernels
// (kernels/cpu/pointwise2.cpp, nn.cpp) and the CUDA ones
// (kernels/cuda/pointwise2.cu). Functions are DG_HOST_DEVICE; std:: math
// calls work in device code too (CUDA declares float and double overloads of
// them for the device), so float stays float on both.
//
// Where the CPU computes float32 through vec_math.h's vectorised forms, it
// keeps its own loops (kernels/cpu/pointwise2.cpp); the formulas here are the
// ones the CPU's float64 path and the GPU share. Formulas built on exp take
// the exp they use as a policy (`Math`): the CPU passes vec::exp for float32,
// the GPU StdMath.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include "dynagrad/error.h"
#include "dynagrad/half.h"  // opmath_t
#include "dynagrad/scalar.h"
#include "offset_calc.h"  // DG_HOST_DEVICE

namespace dg::pwmath {

constexpr double kSqrt1_2 = 0.70710678118654752440;      // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1 / sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2 / pi)
constexpr double kGeluCubic = 0.044715;

// exp and expm1 as the standard library has them.
struct StdMath {
  template <typename T>
  DG_HOST_DEVICE static T exp(T x) {
    return std::exp(x);
  }
  template <typename T>
  DG_HOST_DEVICE static T expm1(T x) {
    return std::expm1(x);
  }
};

// A number that stands for a tensor operand (x + 2.5, fmod(x, 0.1)): rounded
// to T as a tensor of it would be, then widened to the compute type
// opmath_t<T> (float for the 16-bit floats; T itself for every other dtype,
// where this is just other.to<T>()).
template <typename T>
opmath_t<T> operand_scalar(const Scalar& other) {
  return static_cast<opmath_t<T>>(other.to<T>());
}

// ---------------------------------------------------------------- host checks

enum class Gelu { Exact, Tanh };

inline Gelu gelu_mode(const char* op, std::string_view approximate) {
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

template <typename T>
void check_clamp_bounds(const std::optional<Scalar>& min, const std::optional<Scalar>& max) {
  DG_CHECK(min || max, "clamp: at least one of 'min' or 'max' must not be None");
  if (min) check_integral_bound<T>("clamp", "min", *min);
  if (max) check_integral_bound<T>("clamp", "max", *max);
}

// From the output, the sign test only recovers the input's sign when the
// slope is non-negative.
inline void check_leaky_relu_backward(const Scalar& negative_slope, bool self_is_result) {
  DG_CHECK(!self_is_result || negative_slope.toDouble() >= 0, "leaky_relu_backward: self_is_result=True needs a ",
           "non-negative negative_slope (the input's sign cannot be recovered from the output), got ",
           negative_slope);
}

// An integer fmod by a zero scalar has no value; refused before anything is
// written.
template <typename T>
void check_fmod_divisor(T c, const Scalar& other) {
  if constexpr (std::is_integral_v<T>) {
    DG_CHECK(c != T(0), "fmod: integer division by zero (other is ", other, ")");
  }
}

// ---------------------------------------------------------------- rounding

enum class Round { Floor, Ceil, Nearest, Trunc };

// Integers are already whole: they come back unchanged.
template <Round R>
struct Rounder {
  template <typename T>
  DG_HOST_DEVICE T operator()(T x) const {
    if constexpr (std::is_integral_v<T>) return x;
    else if constexpr (R == Round::Floor) return std::floor(x);
    else if constexpr (R == Round::Ceil) return std::ceil(x);
    // nearbyint in the default rounding mode sends halves to the even
    // neighbour (2.5 -> 2), as PyTorch does; std::round would give 3.
    else if constexpr (R == Round::Nearest) return std::nearbyint(x);
    else return std::trunc(x);
  }
};

// ---------------------------------------------------------------- simple formulas

template <typename T>
DG_HOST_DEVICE T square(T x) {
  if constexpr (std::is_integral_v<T>) {
    // Unsigned arithmetic: wraps on overflow like PyTorch instead of being UB.
    const auto u = static_cast<uint64_t>(x);
    return static_cast<T>(u * u);
  } else {
    return x * x;
  }
}

// Integer remainder: % truncates towards zero like fmod; INT64_MIN % -1 is 0
// mathematically but overflows. A zero divisor gives 0 (the CPU refuses it up
// front; the GPU cannot report it without a synchronisation).
template <typename T>
DG_HOST_DEVICE T int_fmod(T x, T y) {
  return (y == T(-1) || y == T(0)) ? T(0) : static_cast<T>(x % y);
}

template <typename T>
DG_HOST_DEVICE T fmod(T x, T y) {
  if constexpr (std::is_integral_v<T>) return int_fmod(x, y);
  else return std::fmod(x, y);
}

// x against a divisor fixed for the whole kernel (fmod_scalar).
template <typename T>
struct FmodBy {
  T c;
  DG_HOST_DEVICE T operator()(T x) const { return fmod(x, c); }
};

// `x != x` is NaN: either operand's NaN wins (y's through the false branch).
struct Maximum {
  template <typename T>
  DG_HOST_DEVICE T operator()(T x, T y) const {
    return (x > y || x != x) ? x : y;
  }
};
struct Minimum {
  template <typename T>
  DG_HOST_DEVICE T operator()(T x, T y) const {
    return (x < y || x != x) ? x : y;
  }
};

// Compare-and-select keeps NaN inputs NaN (every comparison with NaN fails).
// Both bounds: min first, then max, so with min > max every element becomes
// max, as in PyTorch.
template <typename T>
struct ClampMin {
  T lo;
  DG_HOST_DEVICE T operator()(T x) const { return x < lo ? lo : x; }
};
template <typename T>
struct ClampMax {
  T hi;
  DG_HOST_DEVICE T operator()(T x) const { return x > hi ? hi : x; }
};
template <typename T>
struct Clamp {
  T lo, hi;
  DG_HOST_DEVICE T operator()(T x) const { return ClampMax<T>{hi}(ClampMin<T>{lo}(x)); }
};

// ---------------------------------------------------------------- activations

// `x > 0 ? ...` sends NaN down the scaled branch, where it stays NaN.
template <typename T>
struct LeakyRelu {
  T a;
  DG_HOST_DEVICE T operator()(T x) const { return x > T(0) ? x : x * a; }
};
template <typename T>
struct LeakyReluBackward {
  T a;
  DG_HOST_DEVICE T operator()(T g, T x) const { return x > T(0) ? g : g * a; }
};

// elu with PyTorch's three parameters: scale * x for x > 0, else
// alpha * scale * (e^(x * input_scale) - 1).
template <typename T, typename Math = StdMath>
struct Elu {
  T neg, pos, in;  // alpha * scale, scale, input_scale

  Elu(const Scalar& alpha, const Scalar& scale, const Scalar& input_scale)
      : neg(static_cast<T>(alpha.toDouble() * scale.toDouble())), pos(scale.to<T>()), in(input_scale.to<T>()) {}

  // expm1, not exp - 1: keeps the relative accuracy for inputs near 0.
  DG_HOST_DEVICE T operator()(T x) const { return x > T(0) ? pos * x : neg * Math::expm1(x * in); }
  // The gradient from the input x.
  DG_HOST_DEVICE T backward(T g, T x) const { return x <= T(0) ? g * in * neg * Math::exp(x * in) : g * pos; }
  // The gradient from the output y: y = neg * (e^(x in) - 1) on the negative
  // side, so e^(x in) = y / neg + 1.
  DG_HOST_DEVICE T backward_from_result(T g, T y) const { return y <= T(0) ? g * in * (y + neg) : g * pos; }
};

// The output's sign only tells the input's when alpha is non-negative.
inline void check_elu_backward(const Scalar& alpha, bool is_result) {
  DG_CHECK(!is_result || alpha.toDouble() >= 0, "elu_backward: is_result=True needs a non-negative alpha (the ",
           "input's sign cannot be recovered from the output), got ", alpha);
}

// The exact gelu, x * Phi(x): erfc(-x / sqrt 2) / 2 = Phi(x) without the
// cancellation of 1 + erf for very negative x.
template <typename T>
DG_HOST_DEVICE T gelu_exact(T x) {
  return T(0.5) * x * std::erfc(-x * T(kSqrt1_2));
}
template <typename T>
DG_HOST_DEVICE T gelu_exact_backward(T g, T x) {
  const T cdf = T(0.5) * std::erfc(-x * T(kSqrt1_2));
  const T pdf = T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
  return g * (cdf + x * pdf);
}

// The tanh form of gelu and its derivative. The GPU evaluates these in
// double for float32 too: in float32, 1 + tanh(u) and 1 - tanh(u)^2 cancel
// for large |u| (the CPU's float32 path avoids that through sigmoid(2u)).
template <typename T>
DG_HOST_DEVICE T gelu_tanh(T x) {
  const T u = T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x);
  return T(0.5) * x * (T(1) + std::tanh(u));
}
template <typename T>
DG_HOST_DEVICE T gelu_tanh_derivative(T x) {
  const T u = T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x);
  const T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCubic) * x * x);
  const T t = std::tanh(u);
  return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du;
}

// For very negative x, e^-x overflows to inf and x / inf = -0: the limit.
template <typename Math = StdMath>
struct Silu {
  template <typename T>
  DG_HOST_DEVICE T operator()(T x) const {
    return x / (T(1) + Math::exp(-x));
  }
};
template <typename Math = StdMath>
struct SiluBackward {
  template <typename T>
  DG_HOST_DEVICE T operator()(T g, T x) const {
    const T s = T(1) / (T(1) + Math::exp(-x));
    return g * s * (T(1) + x * (T(1) - s));
  }
};

// softplus with beta and threshold: x itself where x * beta > threshold.
template <typename T, typename Math = StdMath>
struct Softplus {
  T b, th;

  Softplus(const Scalar& beta, const Scalar& threshold) : b(beta.to<T>()), th(threshold.to<T>()) {}

  // log(1 + e^z) = max(z, 0) + log1p(e^-|z|): never overflows, so the result
  // stays finite even when a large threshold lets |z| reach 1e4.
  DG_HOST_DEVICE T operator()(T x) const {
    const T z = x * b;
    if (z > th) return x;
    return (std::fmax(z, T(0)) + std::log1p(std::exp(-std::fabs(z)))) / b;
  }
  // sigmoid(z) as 1 / (1 + e^-z): e^-z = inf for very negative z gives 0.
  DG_HOST_DEVICE T backward(T g, T x) const {
    const T z = x * b;
    return z > th ? g : g / (T(1) + Math::exp(-z));
  }
};

// min(x, 0) - log1p(exp(-|x|)): exp never overflows, and for large |x| the
// log1p term underflows to 0 instead of cancelling. The min is spelled as
// std::min does it, so a NaN x stays NaN.
template <typename T>
DG_HOST_DEVICE T log_sigmoid(T x) {
  return (T(0) < x ? T(0) : x) - std::log1p(std::exp(-std::fabs(x)));
}

}  // namespace dg::pwmath
