#pragma once
// The scalar functions of the pointwise ops that are more than an expression
// (ops.yaml `scalar: pwmath::Name`), and the checks and helpers around them,
// shared by the CPU and CUDA kernels: the generated ones
// (generated/kernels/pointwise_*) and the hand-written overrides
// (kernels/*/pointwise.*). Functions are DG_HOST_DEVICE; std:: math calls
// work in device code too (CUDA declares float and double overloads of them
// for the device), so float stays float on both.
//
// Every functor has the shape the generator instantiates:
//   template <typename T, typename Math> struct Name {
//     using C = opmath_t<T>;             // the compute type: T, or float for 16-bit floats
//     Name(<the op's non-Tensor arguments>);   // host: converts and checks them once
//     DG_HOST_DEVICE C operator()(C <each Tensor argument>) const;
//   };
// Math is the device's exp/log/tanh/... (StdMath below; the CPU passes its
// vectorisable float32 forms, kernels/cpu/vec_math.h's VecMath).
#include <cmath>
#include <cstdint>
#include <limits>
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
constexpr double kPi = 3.14159265358979323846;
constexpr double k2OverSqrtPi = 1.12837916709551257390;  // 2 / sqrt(pi)

// The transcendentals as the standard library (or CUDA's math library, on
// the device) has them: the Math policy of the GPU, and of the CPU's float64.
struct StdMath {
  template <typename T>
  DG_HOST_DEVICE static T exp(T x) {
    return std::exp(x);
  }
  template <typename T>
  DG_HOST_DEVICE static T expm1(T x) {
    return std::expm1(x);
  }
  template <typename T>
  DG_HOST_DEVICE static T log(T x) {
    return std::log(x);
  }
  template <typename T>
  DG_HOST_DEVICE static T log1p(T x) {
    return std::log1p(x);
  }
  template <typename T>
  DG_HOST_DEVICE static T tanh(T x) {
    return std::tanh(x);
  }
  // For very negative x, exp(-x) overflows to inf and 1 / inf = 0, the right
  // limit, so no branch is needed.
  template <typename T>
  DG_HOST_DEVICE static T sigmoid(T x) {
    return T(1) / (T(1) + std::exp(-x));
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

// From the output, the sign test only recovers the input's sign when the
// slope is non-negative.
inline void check_leaky_relu_backward(const Scalar& negative_slope, bool self_is_result) {
  DG_CHECK(!self_is_result || negative_slope.toDouble() >= 0, "leaky_relu_backward: self_is_result=True needs a ",
           "non-negative negative_slope (the input's sign cannot be recovered from the output), got ", negative_slope);
}

// An integer fmod by a zero scalar has no value; refused before anything is
// written.
template <typename T>
void check_fmod_divisor(T c, const Scalar& other, const char* op = "fmod") {
  if constexpr (std::is_integral_v<T>) {
    DG_CHECK(c != T(0), op, ": integer division by zero (other is ", other, ")");
  }
}

// ---------------------------------------------------------------- helpers

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

// Python's modulo: the remainder has the divisor's sign (x - floor(x / y) * y,
// computed as fmod plus one correction so it stays exact).
template <typename T>
DG_HOST_DEVICE T remainder(T x, T y) {
  const T r = fmod(x, y);
  return (r != T(0) && ((r < T(0)) != (y < T(0)))) ? static_cast<T>(r + y) : r;
}

// Classification that is false for every integer (PyTorch's isnan, isinf,
// isfinite on integer tensors). x - x is NaN exactly for NaN and the infinities.
template <typename T>
DG_HOST_DEVICE bool is_nan(T x) {
  if constexpr (std::is_floating_point_v<T>) return x != x;
  else return false;
}
template <typename T>
DG_HOST_DEVICE bool is_finite(T x) {
  if constexpr (std::is_floating_point_v<T>) return x - x == x - x;
  else return true;
}
template <typename T>
DG_HOST_DEVICE bool is_inf(T x) {
  return !is_finite(x) && !is_nan(x);
}

// Python's floor division: floor(x / y) for floats; for integers the
// quotient rounded towards minus infinity (a zero divisor gives 0, as int_fmod).
template <typename T>
DG_HOST_DEVICE T floor_divide(T x, T y) {
  if constexpr (std::is_integral_v<T>) {
    if (y == T(0)) return T(0);
    if (y == T(-1)) return static_cast<T>(T(0) - x);  // no overflow trap for INT64_MIN / -1
    const T q = static_cast<T>(x / y);
    return (x % y != T(0) && ((x < T(0)) != (y < T(0)))) ? static_cast<T>(q - 1) : q;
  } else {
    return std::floor(x / y);
  }
}

// log(e^a + e^b) without overflow; equal infinities give themselves.
template <typename T>
DG_HOST_DEVICE T logaddexp(T a, T b) {
  if (a == b && !is_finite(a)) return a;
  const T m = a > b ? a : b, d = a > b ? b - a : a - b;
  return m + std::log1p(std::exp(d));
}

// x log y, 0 where x is 0 (unless y is NaN).
template <typename T>
DG_HOST_DEVICE T xlogy(T x, T y) {
  if (is_nan(y)) return y;
  return x == T(0) ? T(0) : x * std::log(y);
}

// sin(pi x) / (pi x), 1 at 0.
template <typename T>
DG_HOST_DEVICE T sinc(T x) {
  if (x == T(0)) return T(1);
  const T px = static_cast<T>(kPi) * x;
  return std::sin(px) / px;
}

// ~x: the complement of an integer, the negation of a bool.
template <typename T>
DG_HOST_DEVICE T bitwise_not(T x) {
  if constexpr (std::is_same_v<T, bool>) return !x;
  else return static_cast<T>(~x);
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

// min(x, 0) - log1p(exp(-|x|)): exp never overflows, and for large |x| the
// log1p term underflows to 0 instead of cancelling. The min is spelled as
// std::min does it, so a NaN x stays NaN.
template <typename T>
DG_HOST_DEVICE T log_sigmoid(T x) {
  return (T(0) < x ? T(0) : x) - std::log1p(std::exp(-std::fabs(x)));
}

// ---------------------------------------------------------------- arithmetic with a number

// The .Scalar overloads (x + 2.5): the number stands for a tensor operand, so
// it is rounded to T first (operand_scalar), as a tensor of it would be.
template <typename T, typename Math = StdMath>
struct AddScalar {
  using C = opmath_t<T>;
  C c;
  AddScalar(const Scalar& other, const Scalar& alpha) : c(static_cast<C>(operand_scalar<T>(other) * alpha.to<C>())) {}
  DG_HOST_DEVICE C operator()(C x) const { return static_cast<C>(x + c); }
};
template <typename T, typename Math = StdMath>
struct SubScalar {
  using C = opmath_t<T>;
  C c;
  SubScalar(const Scalar& other, const Scalar& alpha) : c(static_cast<C>(operand_scalar<T>(other) * alpha.to<C>())) {}
  DG_HOST_DEVICE C operator()(C x) const { return static_cast<C>(x - c); }
};
template <typename T, typename Math = StdMath>
struct MulScalar {
  using C = opmath_t<T>;
  C c;
  explicit MulScalar(const Scalar& other) : c(operand_scalar<T>(other)) {}
  DG_HOST_DEVICE C operator()(C x) const { return static_cast<C>(x * c); }
};
// Divides rather than multiplies by the reciprocal: x / 3 equals x / 3
// computed against a tensor of threes, bit for bit.
template <typename T, typename Math = StdMath>
struct DivScalar {
  using C = opmath_t<T>;
  C c;
  explicit DivScalar(const Scalar& other) : c(operand_scalar<T>(other)) {}
  DG_HOST_DEVICE C operator()(C x) const { return x / c; }
};
// x against a divisor fixed for the whole kernel; an integer zero divisor is
// refused before anything is written.
template <typename T, typename Math = StdMath>
struct FmodScalar {
  using C = opmath_t<T>;
  C c;
  explicit FmodScalar(const Scalar& other) : c(operand_scalar<T>(other)) { check_fmod_divisor(c, other); }
  DG_HOST_DEVICE C operator()(C x) const { return fmod(x, c); }
};

template <typename T, typename Math = StdMath>
struct RemainderScalar {
  using C = opmath_t<T>;
  C c;
  explicit RemainderScalar(const Scalar& other) : c(operand_scalar<T>(other)) {
    check_fmod_divisor(c, other, "remainder");
  }
  DG_HOST_DEVICE C operator()(C x) const { return remainder(x, c); }
};

// x & c, x | c, x ^ c for a number c (integer and bool tensors).
#define DG_BITWISE_SCALAR_FUNCTOR(Name, op)                                   \
  template <typename T, typename Math = StdMath>                              \
  struct Name {                                                               \
    using C = opmath_t<T>;                                                    \
    C c;                                                                      \
    explicit Name(const Scalar& other) : c(operand_scalar<T>(other)) {}       \
    DG_HOST_DEVICE C operator()(C x) const { return static_cast<C>(x op c); } \
  };
DG_BITWISE_SCALAR_FUNCTOR(BitwiseAndScalar, &)
DG_BITWISE_SCALAR_FUNCTOR(BitwiseOrScalar, |)
DG_BITWISE_SCALAR_FUNCTOR(BitwiseXorScalar, ^)
#undef DG_BITWISE_SCALAR_FUNCTOR

// |a - b| <= atol + rtol |b| (in the compute type; double for integers), or
// a == b (equal infinities), or both NaN when equal_nan.
template <typename T, typename Math = StdMath>
struct IsClose {
  using C = opmath_t<T>;
  using F = std::conditional_t<std::is_floating_point_v<C>, C, double>;
  F rtol, atol;
  bool equal_nan;
  IsClose(double rtol_, double atol_, bool equal_nan_)
      : rtol(static_cast<F>(rtol_)), atol(static_cast<F>(atol_)), equal_nan(equal_nan_) {
    DG_CHECK(rtol_ >= 0, "isclose: expected rtol >= 0, got ", rtol_);
    DG_CHECK(atol_ >= 0, "isclose: expected atol >= 0, got ", atol_);
  }
  DG_HOST_DEVICE bool operator()(C a, C b) const {
    if (a == b) return true;
    if (is_nan(a) || is_nan(b)) return equal_nan && is_nan(a) && is_nan(b);
    const F x = static_cast<F>(a), y = static_cast<F>(b);
    const F d = x > y ? x - y : y - x;
    return is_finite(d) && d <= atol + rtol * (y < F(0) ? -y : y);
  }
};

// ---------------------------------------------------------------- unary

template <typename T, typename Math = StdMath>
struct Abs {
  using C = opmath_t<T>;
  DG_HOST_DEVICE C operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>) return std::fabs(x);
    else return x < C(0) ? static_cast<C>(-x) : x;
  }
};
template <typename T, typename Math = StdMath>
struct Square {
  using C = opmath_t<T>;
  DG_HOST_DEVICE C operator()(C x) const { return square(x); }
};

// Rounding; integers are already whole and come back unchanged.
enum class Round { Floor, Ceil, Nearest, Trunc };
template <Round R, typename T>
struct Rounder {
  using C = opmath_t<T>;
  DG_HOST_DEVICE C operator()(C x) const {
    if constexpr (std::is_integral_v<C>) return x;
    else if constexpr (R == Round::Floor) return std::floor(x);
    else if constexpr (R == Round::Ceil) return std::ceil(x);
    // nearbyint in the default rounding mode sends halves to the even
    // neighbour (2.5 -> 2), as PyTorch does; std::round would give 3.
    else if constexpr (R == Round::Nearest) return std::nearbyint(x);
    else return std::trunc(x);
  }
};
template <typename T, typename Math = StdMath>
using Floor = Rounder<Round::Floor, T>;
template <typename T, typename Math = StdMath>
using Ceil = Rounder<Round::Ceil, T>;
template <typename T, typename Math = StdMath>
using RoundHalfEven = Rounder<Round::Nearest, T>;
template <typename T, typename Math = StdMath>
using Trunc = Rounder<Round::Trunc, T>;

// Compare-and-select keeps NaN inputs NaN (every comparison with NaN fails).
// Min first, then max, so with min > max every element becomes max, as in
// PyTorch. A missing bound is the type's extreme, which no value passes.
template <typename T, typename Math = StdMath>
struct Clamp {
  using C = opmath_t<T>;
  C lo, hi;
  Clamp(const std::optional<Scalar>& min, const std::optional<Scalar>& max)
      : lo(min ? min->to<C>() : lowest()), hi(max ? max->to<C>() : highest()) {
    DG_CHECK(min || max, "clamp: at least one of 'min' or 'max' must not be None");
    if (min) check_integral_bound<T>("clamp", "min", *min);
    if (max) check_integral_bound<T>("clamp", "max", *max);
  }
  DG_HOST_DEVICE C operator()(C x) const {
    const C y = x < lo ? lo : x;
    return y > hi ? hi : y;
  }

 private:
  static C lowest() {
    if constexpr (std::is_floating_point_v<C>) return -std::numeric_limits<C>::infinity();
    else return std::numeric_limits<C>::lowest();
  }
  static C highest() {
    if constexpr (std::is_floating_point_v<C>) return std::numeric_limits<C>::infinity();
    else return std::numeric_limits<C>::max();
  }
};

// ---------------------------------------------------------------- backward helpers

template <typename T, typename Math = StdMath>
struct ThresholdBackward {
  using C = opmath_t<T>;
  C th;
  explicit ThresholdBackward(const Scalar& threshold) : th(operand_scalar<T>(threshold)) {}
  DG_HOST_DEVICE C operator()(C g, C x) const { return x > th ? g : C(0); }
};

// ---------------------------------------------------------------- activations

// `x > 0 ? ...` sends NaN down the scaled branch, where it stays NaN.
template <typename T, typename Math = StdMath>
struct LeakyReluBackward {
  using C = opmath_t<T>;
  C a;
  LeakyReluBackward(const Scalar& negative_slope, bool self_is_result) : a(negative_slope.to<C>()) {
    check_leaky_relu_backward(negative_slope, self_is_result);
  }
  DG_HOST_DEVICE C operator()(C g, C x) const { return x > C(0) ? g : g * a; }
};

// elu with PyTorch's three parameters: scale * x for x > 0, else
// alpha * scale * (e^(x * input_scale) - 1).
template <typename T, typename Math = StdMath>
struct Elu {
  using C = opmath_t<T>;
  C neg, pos, in;  // alpha * scale, scale, input_scale

  Elu(const Scalar& alpha, const Scalar& scale, const Scalar& input_scale)
      : neg(static_cast<C>(alpha.toDouble() * scale.toDouble())), pos(scale.to<C>()), in(input_scale.to<C>()) {}

  // expm1, not exp - 1: keeps the relative accuracy for inputs near 0.
  DG_HOST_DEVICE C operator()(C x) const { return x > C(0) ? pos * x : neg * Math::expm1(x * in); }
};

// elu's gradient from the input x, or (is_result) from the output y: there
// y = neg * (e^(x in) - 1) on the negative side, so e^(x in) = y / neg + 1.
// The output's sign only tells the input's when alpha is non-negative.
template <typename T, typename Math = StdMath>
struct EluBackward {
  using C = opmath_t<T>;
  Elu<T, Math> e;
  bool is_result;

  EluBackward(const Scalar& alpha, const Scalar& scale, const Scalar& input_scale, bool is_result_)
      : e(alpha, scale, input_scale), is_result(is_result_) {
    DG_CHECK(!is_result || alpha.toDouble() >= 0, "elu_backward: is_result=True needs a non-negative alpha (the ",
             "input's sign cannot be recovered from the output), got ", alpha);
  }
  DG_HOST_DEVICE C operator()(C g, C v) const {
    if (is_result) return v <= C(0) ? g * e.in * (v + e.neg) : g * e.pos;
    return v <= C(0) ? g * e.in * e.neg * Math::exp(v * e.in) : g * e.pos;
  }
};

template <typename T, typename Math = StdMath>
struct SiluBackward {
  using C = opmath_t<T>;
  DG_HOST_DEVICE C operator()(C g, C x) const {
    const C s = C(1) / (C(1) + Math::exp(-x));
    return g * s * (C(1) + x * (C(1) - s));
  }
};

// softplus with beta and threshold: x itself where x * beta > threshold.
template <typename T, typename Math = StdMath>
struct Softplus {
  using C = opmath_t<T>;
  C b, th;

  Softplus(const Scalar& beta, const Scalar& threshold) : b(beta.to<C>()), th(threshold.to<C>()) {}

  // log(1 + e^z) = max(z, 0) + log1p(e^-|z|): never overflows, so the result
  // stays finite even when a large threshold lets |z| reach 1e4.
  DG_HOST_DEVICE C operator()(C x) const {
    const C z = x * b;
    if (z > th) return x;
    return (std::fmax(z, C(0)) + std::log1p(std::exp(-std::fabs(z)))) / b;
  }
};

// sigmoid(z) as 1 / (1 + e^-z): e^-z = inf for very negative z gives 0.
template <typename T, typename Math = StdMath>
struct SoftplusBackward {
  using C = opmath_t<T>;
  C b, th;

  SoftplusBackward(const Scalar& beta, const Scalar& threshold) : b(beta.to<C>()), th(threshold.to<C>()) {}
  DG_HOST_DEVICE C operator()(C g, C x) const {
    const C z = x * b;
    return z > th ? g : g / (C(1) + Math::exp(-z));
  }
};

}  // namespace dg::pwmath
