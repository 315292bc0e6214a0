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

// ---------------------------------------------------------------- special functions
// erfinv, digamma, trigamma, polygamma, i0, i1 as PyTorch 1.13 computes them
// (aten/src/ATen/native/Math.h). The digamma, zeta, i0 and i1 functions are
// derived from the implementations in the Cephes Math Library (Copyright (c)
// 2018, Steven Moshier, 3-clause BSD licence, as PyTorch's Math.h quotes it).
// Coefficient tables are locals (no static storage, so they work in device
// code); float and double share the double tables and round once at the end.

// Evaluates the Chebyshev series of `len` coefficients at x (Cephes chbevl).
template <typename T>
DG_HOST_DEVICE T chbevl(T x, const double* a, int len) {
  T b0 = static_cast<T>(a[0]), b1 = T(0), b2 = T(0);
  for (int i = 1; i < len; ++i) {
    b2 = b1;
    b1 = b0;
    b0 = x * b1 - b2 + static_cast<T>(a[i]);
  }
  return T(0.5) * (b0 - b2);
}

// The inverse error function: a rational first guess refined by two Newton
// steps; +-inf at +-1, NaN outside [-1, 1].
template <typename T>
DG_HOST_DEVICE T erfinv(T y) {
  const T a[4] = {T(0.886226899), T(-1.645349621), T(0.914624893), T(-0.140543331)};
  const T b[4] = {T(-2.118377725), T(1.442710462), T(-0.329097515), T(0.012229801)};
  const T c[4] = {T(-1.970840454), T(-1.624906493), T(3.429567803), T(1.641345311)};
  const T d[2] = {T(3.543889200), T(1.637067800)};
  const T y_abs = std::fabs(y);
  if (y_abs > T(1)) return static_cast<T>(NAN);
  if (y_abs == T(1)) return std::copysign(static_cast<T>(INFINITY), y);
  T x;
  if (y_abs <= T(0.7)) {
    const T z = y * y;
    const T num = ((a[3] * z + a[2]) * z + a[1]) * z + a[0];
    const T dem = (((b[3] * z + b[2]) * z + b[1]) * z + b[0]) * z + T(1);
    x = y * num / dem;
  } else {
    const T z = std::sqrt(-std::log((T(1) - y_abs) / T(2)));
    const T num = ((c[3] * z + c[2]) * z + c[1]) * z + c[0];
    const T dem = (d[1] * z + d[0]) * z + T(1);
    x = std::copysign(num, y) / dem;
  }
  x = x - (std::erf(x) - y) / (T(k2OverSqrtPi) * std::exp(-x * x));
  x = x - (std::erf(x) - y) / (T(k2OverSqrtPi) * std::exp(-x * x));
  return x;
}

// digamma (psi), the derivative of lgamma: -+inf at +-0, NaN at the negative
// integers; negative x by reflection, then the recurrence up to x >= 10 and
// the asymptotic series.
template <typename T>
DG_HOST_DEVICE T digamma(T x) {
  if (x == T(0)) return std::copysign(static_cast<T>(INFINITY), -x);
  T result = T(0);
  if (x < T(0)) {
    if (x == std::trunc(x)) return static_cast<T>(NAN);
    // tan(pi r) of the fractional part r: more accurate than tan(pi x).
    const double r = static_cast<double>(x) - std::trunc(static_cast<double>(x));
    result = -static_cast<T>(kPi / std::tan(kPi * r));
    x = T(1) - x;
  }
  while (x < T(10)) {
    result -= T(1) / x;
    x += T(1);
  }
  if (x == T(10)) return result + T(2.25175258906672110764);
  const double A[7] = {8.33333333333333333333E-2,  -2.10927960927960927961E-2, 7.57575757575757575758E-3,
                       -4.16666666666666666667E-3, 3.96825396825396825397E-3,  -8.33333333333333333333E-3,
                       8.33333333333333333333E-2};
  T y = T(0);
  if (x < T(1.0e17)) {
    const T z = T(1) / (x * x);
    T p = T(0);
    for (int i = 0; i < 7; ++i) p = p * z + static_cast<T>(A[i]);
    y = z * p;
  }
  return result + std::log(x) - T(0.5) / x - y;
}

// trigamma, the derivative of digamma.
template <typename T>
DG_HOST_DEVICE T trigamma(T x) {
  T sign = T(1), result = T(0);
  if (x < T(0.5)) {
    sign = T(-1);
    const T s = std::sin(T(kPi) * x);
    result -= T(kPi * kPi) / (s * s);
    x = T(1) - x;
  }
  for (int i = 0; i < 6; ++i) {
    result += T(1) / (x * x);
    x += T(1);
  }
  const T ixx = T(1) / (x * x);
  result += (T(1) + T(1) / (T(2) * x) + ixx * (T(1) / T(6) - ixx * (T(1) / T(30) - ixx * (T(1) / T(42))))) / x;
  return sign * result;
}

// The Hurwitz zeta function sum_k (k + q)^-x, in double (Cephes zeta).
DG_HOST_DEVICE inline double zeta(double x, double q) {
  const double machep = 1.11022302462515654042E-16;
  const double A[12] = {12.0,
                        -720.0,
                        30240.0,
                        -1209600.0,
                        47900160.0,
                        -1.8924375803183791606e9,
                        7.47242496e10,
                        -2.950130727918164224e12,
                        1.1646782814350067249e14,
                        -4.5979787224074726105e15,
                        1.8152105401943546773e17,
                        -7.1661652561756670113e18};
  if (x == 1.0) return INFINITY;
  if (x < 1.0) return NAN;
  if (q <= 0.0) {
    if (q == std::floor(q)) return INFINITY;
    if (x != std::floor(x)) return NAN;
  }
  double s = std::pow(q, -x), a = q, b = 0.0;
  int i = 0;
  while (i < 9 || a <= 9.0) {
    i += 1;
    a += 1.0;
    b = std::pow(a, -x);
    s += b;
    if (-machep * s < b && b < machep * s) return s;
  }
  const double w = a;
  s += b * w / (x - 1.0);
  s -= 0.5 * b;
  a = 1.0;
  double k = 0.0;
  for (int j = 0; j < 12; ++j) {
    a *= x + k;
    b /= w;
    double t = a * b / A[j];
    s = s + t;
    t = std::fabs(t / s);
    if (t < machep) return s;
    k += 1.0;
    a *= x + k;
    b /= w;
    k += 1.0;
  }
  return s;
}

// The n-th derivative of digamma: (-1)^(n+1) n! zeta(n + 1, x).
template <typename T>
DG_HOST_DEVICE T polygamma(int64_t n, T x) {
  if (n == 0) return digamma(x);
  if (n == 1) return trigamma(x);
  const double nd = static_cast<double>(n);
  return static_cast<T>(((n % 2) ? 1.0 : -1.0) * std::exp(std::lgamma(nd + 1.0)) *
                        zeta(nd + 1.0, static_cast<double>(x)));
}

// The modified Bessel function of the first kind, order 0: Chebyshev series
// of exp(-x) I0(x) on [0, 8] and of exp(-x) sqrt(x) I0(x) beyond.
template <typename T>
DG_HOST_DEVICE T bessel_i0(T x_in) {
  const T x = std::fabs(x_in);
  if (x <= T(8)) {
    const double A[30] = {-4.41534164647933937950E-18, 3.33079451882223809783E-17,  -2.43127984654795469359E-16,
                          1.71539128555513303061E-15,  -1.16853328779934516808E-14, 7.67618549860493561688E-14,
                          -4.85644678311192946090E-13, 2.95505266312963983461E-12,  -1.72682629144155570723E-11,
                          9.67580903537323691224E-11,  -5.18979560163526290666E-10, 2.65982372468238665035E-9,
                          -1.30002500998624804212E-8,  6.04699502254191894932E-8,   -2.67079385394061173391E-7,
                          1.11738753912010371815E-6,   -4.41673835845875056359E-6,  1.64484480707288970893E-5,
                          -5.75419501008210370398E-5,  1.88502885095841655729E-4,   -5.76375574538582365885E-4,
                          1.63947561694133579842E-3,   -4.32430999505057594430E-3,  1.05464603945949983183E-2,
                          -2.37374148058994688156E-2,  4.93052842396707084878E-2,   -9.49010970480476444210E-2,
                          1.71620901522208775349E-1,   -3.04682672343198398683E-1,  6.76795274409476084995E-1};
    return std::exp(x) * chbevl(x / T(2) - T(2), A, 30);
  }
  const double B[25] = {-7.23318048787475395456E-18, -4.83050448594418207126E-18, 4.46562142029675999901E-17,
                        3.46122286769746109310E-17,  -2.82762398051658348494E-16, -3.42548561967721913462E-16,
                        1.77256013305652638360E-15,  3.81168066935262242075E-15,  -9.55484669882830764870E-15,
                        -4.15056934728722208663E-14, 1.54008621752140982691E-14,  3.85277838274214270114E-13,
                        7.18012445138366623367E-13,  -1.79417853150680611778E-12, -1.32158118404477131188E-11,
                        -3.14991652796324136454E-11, 1.18891471078464383424E-11,  4.94060238822496958910E-10,
                        3.39623202570838634515E-9,   2.26666899049817806459E-8,   2.04891858946906374183E-7,
                        2.89137052083475648297E-6,   6.88975834691682398426E-5,   3.36911647825569408990E-3,
                        8.04490411014108831608E-1};
  return std::exp(x) * chbevl(T(32) / x - T(2), B, 25) / std::sqrt(x);
}

// The modified Bessel function of the first kind, order 1 (odd in x).
template <typename T>
DG_HOST_DEVICE T bessel_i1(T x_in) {
  const T x = std::fabs(x_in);
  T out;
  if (x <= T(8)) {
    const double A[29] = {2.77791411276104639959E-18,  -2.11142121435816608115E-17, 1.55363195773620046921E-16,
                          -1.10559694773538630805E-15, 7.60068429473540693410E-15,  -5.04218550472791168711E-14,
                          3.22379336594557470981E-13,  -1.98397439776494371520E-12, 1.17361862988909016308E-11,
                          -6.66348972350202774223E-11, 3.62559028155211703701E-10,  -1.88724975172282928790E-9,
                          9.38153738649577178388E-9,   -4.44505912879632808065E-8,  2.00329475355213526229E-7,
                          -8.56872026469545474066E-7,  3.47025130813767847674E-6,   -1.32731636560394358279E-5,
                          4.78156510755005422638E-5,   -1.61760815825896745588E-4,  5.12285956168575772895E-4,
                          -1.51357245063125314899E-3,  4.15642294431288815669E-3,   -1.05640848946261981558E-2,
                          2.47264490306265168283E-2,   -5.29459812080949914269E-2,  1.02643658689847095384E-1,
                          -1.76416518357834055153E-1,  2.52587186443633654823E-1};
    out = std::exp(x) * x * chbevl(x / T(2) - T(2), A, 29);
  } else {
    const double B[25] = {7.51729631084210481353E-18,  4.41434832307170791151E-18,  -4.65030536848935832153E-17,
                          -3.20952592199342395980E-17, 2.96262899764595013876E-16,  3.30820231092092828324E-16,
                          -1.88035477551078244854E-15, -3.81440307243700780478E-15, 1.04202769841288027642E-14,
                          4.27244001671195135429E-14,  -2.10154184277266431302E-14, -4.08355111109219731823E-13,
                          -7.19855177624590851209E-13, 2.03562854414708950722E-12,  1.41258074366137813316E-11,
                          3.25260358301548823856E-11,  -1.89749581235054123450E-11, -5.58974346219658380687E-10,
                          -3.83538038596423702205E-9,  -2.63146884688951950684E-8,  -2.51223623787020892529E-7,
                          -3.88256480887769039346E-6,  -1.10588938762623716291E-4,  -9.76109749136146840777E-3,
                          7.78576235018280120474E-1};
    out = std::exp(x) * chbevl(T(32) / x - T(2), B, 25) / std::sqrt(x);
  }
  return x_in < T(0) ? -out : out;
}

// polygamma(n, x) for a fixed order n >= 0.
template <typename T, typename Math = StdMath>
struct Polygamma {
  using C = opmath_t<T>;
  int64_t n;
  explicit Polygamma(int64_t n_) : n(n_) { DG_CHECK(n_ >= 0, "polygamma: expected n >= 0, got n = ", n_); }
  DG_HOST_DEVICE C operator()(C x) const { return polygamma(n, x); }
};

// log(x / (1 - x)), x first clamped to [eps, 1 - eps] when eps is given (and
// not negative, as PyTorch treats it).
template <typename T, typename Math = StdMath>
struct Logit {
  using C = opmath_t<T>;
  C lo, hi;
  bool clamp;
  explicit Logit(const std::optional<double>& eps)
      : lo(static_cast<C>(eps ? *eps : 0.0)), hi(static_cast<C>(eps ? 1.0 - *eps : 1.0)), clamp(eps && *eps >= 0) {}
  DG_HOST_DEVICE C operator()(C x) const {
    if (clamp) x = x < lo ? lo : (x > hi ? hi : x);
    return std::log(x / (C(1) - x));
  }
};

// logit's gradient: grad / (x (1 - x)), 0 outside [eps, 1 - eps] when eps is
// given, NaN outside [0, 1] when it is not (PyTorch's logit_backward).
template <typename T, typename Math = StdMath>
struct LogitBackward {
  using C = opmath_t<T>;
  C lo, hi;
  bool clamp;
  explicit LogitBackward(const std::optional<double>& eps)
      : lo(static_cast<C>(eps ? *eps : 0.0)), hi(static_cast<C>(eps ? 1.0 - *eps : 1.0)), clamp(eps && *eps >= 0) {}
  DG_HOST_DEVICE C operator()(C g, C x) const {
    if (clamp) return (x < lo || x > hi) ? C(0) : g / (x * (C(1) - x));
    return (x < C(0) || x > C(1)) ? static_cast<C>(NAN) : g / (x * (C(1) - x));
  }
};

}  // namespace dg::pwmath
