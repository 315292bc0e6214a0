#pragma once
// float32 transcendentals written so that GCC vectorises them inside the
// elementwise loops: no calls, no branches (selects instead), operations
// that baseline x86-64 has (loops.h also compiles every contiguous loop for
// AVX2 and picks one at run time). A libm call per element is the bottleneck
// otherwise (about 3 ns per expf against 0.3 ns here).
//
// Error bounds below are the largest error seen against the float64 libm
// result (unrounded), in units in the last place of float at that result,
// over every float (tanh, gelu and its tanh form) or every third float bit
// pattern (the others), both signs; the final rounding to float is part of
// them. tests/test_vec_math.cpp checks a sampled sweep of each through the
// kernels. None uses FMA, so both code paths of loops.h give the same bits.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace dg::cpu::vec {

namespace detail {

__attribute__((always_inline)) inline float from_bits(int32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
__attribute__((always_inline)) inline int32_t to_bits(float f) {
  int32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}
// e^r for a reduced argument |r| <= ln2 / 2 (the degree-6 polynomial all
// the exp-based functions share): 1 + r + r^2 P(r).
__attribute__((always_inline)) inline float exp_reduced(float r) {
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * (r * r) + r + 1.0f;
}
// 2^n for n in [-126, 127], from the exponent field.
__attribute__((always_inline)) inline float pow2i(int32_t n) { return from_bits((n + 127) << 23); }
// v rounded to the nearest integer (ties to even) for |v| < 2^22: adding
// 1.5 * 2^23 leaves no fraction bits. (No -ffast-math, so it is not folded.)
__attribute__((always_inline)) inline float round_int(float v) {
  constexpr float kShift = 12582912.0f;
  return (v + kShift) - kShift;
}
// |x| with the sign of s.
__attribute__((always_inline)) inline float copysign(float x, float s) {
  return from_bits((to_bits(x) & 0x7fffffff) | (to_bits(s) & int32_t(0x80000000u)));
}

}  // namespace detail

// expf, within 1 ulp (0.98) on the normal range (Cody-Waite reduction by
// ln 2, degree-6 polynomial). Results that would be denormal flush to 0;
// overflow gives +inf and NaN stays NaN, as with std::exp.
// always_inline: a call left in a loop body blocks vectorisation, and GCC's
// inlining budget runs out across the many kernel instantiations.
__attribute__((always_inline)) inline float exp(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kMax = 88.7228393f, kMin = -87.3365448f;  // ln(FLT_MAX), ln(FLT_MIN)
  // Every comparison is evaluated unconditionally: with -ftrapping-math GCC
  // will not speculate a comparison hidden behind another one, and then it
  // does not vectorise the loop at all.
  const bool below = __builtin_isless(x, kMin), above = __builtin_isgreater(x, kMax);
  const bool nan = __builtin_isunordered(x, x);
  float xc = below ? kMin : x;
  xc = above ? kMax : xc;
  xc = nan ? 0.0f : xc;
  // n = round(xc / ln2) by the shift trick of detail::round_int.
  // Truncation corrected for negatives, which this once was, keeps
  // a branch in GCC 12's AVX2 loops and they do not vectorise.
  const float fn = detail::round_int(xc * kLog2e);
  const int32_t n = static_cast<int32_t>(fn);
  const float r = (xc - fn * kLn2Hi) - fn * kLn2Lo;
  const float p = detail::exp_reduced(r);
  // 2^n from exponent fields; n reaches 128 near kMax, past float's largest
  // power of two, so scale in two halves.
  const int32_t n1 = n >> 1, n2 = n - n1;
  const int32_t b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, sizeof s1);
  std::memcpy(&s2, &b2, sizeof s2);
  float y = p * s1 * s2;
  y = above ? std::numeric_limits<float>::infinity() : y;
  y = below ? 0.0f : y;
  y = nan ? x : y;
  return y;
}

// expm1f, within 1.5 ulp (1.46). -0 stays -0, overflow gives +inf, results
// round to -1 below -20.
__attribute__((always_inline)) inline float expm1(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  const bool nan = __builtin_isunordered(x, x);
  const bool tiny = __builtin_isless(std::fabs(x), 0x1p-25f);  // expm1(x) rounds to x
  const bool above = __builtin_isgreater(x, 88.8f);
  float xc = __builtin_isless(x, -20.0f) ? -20.0f : x;
  xc = above ? 88.8f : xc;
  xc = nan ? 0.0f : xc;
  // x = n ln2 + r, |r| <= ln2 / 2; expm1(x) = 2^n expm1(r) + (2^n - 1).
  const float fn = detail::round_int(xc * kLog2e);
  const float r = (xc - fn * kLn2Hi) - fn * kLn2Lo;
  float q = 1.984589326e-04f;
  q = q * r + 1.394082326e-03f;
  q = q * r + 8.333389647e-03f;
  q = q * r + 4.166635871e-02f;
  q = q * r + 1.666666567e-01f;
  q = q * r + 5.000000000e-01f;
  float p = r + (r * r) * q;
  // n = 128 (x within 0.35 of the overflow bound) has no float 2^n:
  // 2^128 p + 2^128 - 1 = 2^127 (2p + 1) + 2^127 - 1.
  int32_t n = static_cast<int32_t>(fn);
  const bool top = n > 127;
  n -= static_cast<int32_t>(top);
  p = top ? (p + p) + 1.0f : p;
  const float s = detail::pow2i(n);
  float y = p * s + (s - 1.0f);
  y = above ? std::numeric_limits<float>::infinity() : y;
  y = tiny ? x : y;
  y = nan ? x : y;
  return y;
}

// logf, within 1 ulp (0.95) over all positive floats (denormals included);
// log(0) = -inf, log(x < 0) = NaN, log(inf) = inf.
__attribute__((always_inline)) inline float log(float x) {
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  const bool den = __builtin_isless(x, 0x1p-126f);
  const float xs = den ? x * 0x1p23f : x;
  // x = 2^e m with m in [sqrt(1/2), sqrt(2)).
  // Unsigned arithmetic: negative x (its NaN result chosen below) would
  // overflow a signed subtraction.
  const uint32_t ix = static_cast<uint32_t>(detail::to_bits(xs));
  const int32_t e = static_cast<int32_t>(ix - 0x3f3504f3u) >> 23;
  const float m = detail::from_bits(static_cast<int32_t>(ix - (static_cast<uint32_t>(e) << 23)));
  // log(1 + f) = 2 atanh(s) with s = f / (2 + f); 2s = f - s f, so
  // log(1 + f) = f - s (f - T), T = 2 s^2 / 3 + 2 s^4 / 5 + ...
  const float f = m - 1.0f;
  const float s = f / (2.0f + f);
  const float w = s * s;
  float t = 2.987362742e-01f;
  t = t * w + 3.997748196e-01f;
  t = t * w + 6.666677594e-01f;
  t = t * w;
  const float fe = static_cast<float>(e - (den ? 23 : 0));
  float y = fe * kLn2Hi + (f - (s * (f - t) - fe * kLn2Lo));
  y = x == std::numeric_limits<float>::infinity() ? x : y;
  y = x == 0.0f ? -std::numeric_limits<float>::infinity() : y;
  y = __builtin_isless(x, 0.0f) ? std::numeric_limits<float>::quiet_NaN() : y;
  y = __builtin_isunordered(x, x) ? x : y;
  return y;
}

// log1pf, within 1.5 ulp (1.44): log(1 + x) corrected for the rounding of
// 1 + x.
__attribute__((always_inline)) inline float log1p(float x) {
  const float v = 1.0f + x;
  float y = vec::log(v) + (x - (v - 1.0f)) / v;
  y = v == std::numeric_limits<float>::infinity() ? v : y;  // x = inf (the correction is NaN)
  y = v == 0.0f ? -std::numeric_limits<float>::infinity() : y;
  y = __builtin_isless(std::fabs(x), 0x1p-24f) ? x : y;  // keeps -0 and denormals exact
  y = __builtin_isunordered(x, x) ? x : y;
  return y;
}

// tanhf, within 1.5 ulp (1.46): an odd minimax polynomial below |x| = 0.55,
// and 1 - 2 / (e^2|x| + 1) above, where the quotient is under 0.5 so that
// exp's error reaches the result halved. |x| is clamped to 9.5 (tanh rounds
// to 1 from 9.01 on), so exp needs none of its range checks.
__attribute__((always_inline)) inline float tanh(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  float ax = std::fabs(x);
  ax = __builtin_isgreater(ax, 9.5f) ? 9.5f : ax;
  // e = e^(2 ax) as in vec::exp: 2 ax <= 19, so 2^n is one float.
  const float v = ax + ax;
  const float fn = detail::round_int(v * kLog2e);
  const float r = (v - fn * kLn2Hi) - fn * kLn2Lo;
  const float e = detail::exp_reduced(r) * detail::pow2i(static_cast<int32_t>(fn));
  const float big = 1.0f - 2.0f / (e + 1.0f);
  const float w = ax * ax;
  float p = -6.274239626e-03f;
  p = p * w + 2.107167989e-02f;
  p = p * w + -5.385230854e-02f;
  p = p * w + 1.333258599e-01f;
  p = p * w + -3.333331645e-01f;
  const float small = ax + ax * (w * p);
  float y = detail::copysign(__builtin_isless(ax, 0.55f) ? small : big, x);
  y = __builtin_isunordered(x, x) ? x : y;
  return y;
}

// 1 / (1 + e^-x), within 2.5 ulp (2.40), from e = e^-|x| <= 1 so that nothing
// overflows: 1 / (1 + e) for x >= 0, e / (1 + e) below. Results under
// FLT_MIN (x < -87.3) flush to 0 as in exp.
__attribute__((always_inline)) inline float sigmoid(float x) {
  const float e = vec::exp(-std::fabs(x));
  const float d = 1.0f + e;
  return (__builtin_isless(x, 0.0f) ? e : 1.0f) / d;
}

// Largest |x| that sin/cos below reduce correctly; callers send larger and
// non-finite arguments to std::sin / std::cos (loops.h's guarded kernels).
inline constexpr float kTrigMaxArg = 8192.0f;

namespace detail {
// sin (cos = false) or cos of x for |x| <= kTrigMaxArg, within 1.3 ulp
// (sin 1.29, cos 1.27).
// Cody-Waite reduction x = k pi/2 + r with pi/2 split in three 11-bit parts
// (k < 2^13, so k times each is exact) and a float remainder; minimax
// polynomials on |r| <= pi/4.
__attribute__((always_inline)) inline float sincos_reduced(float x, bool cos) {
  constexpr float k2OverPi = 0.636619747f;
  constexpr float kP1 = 0x1.92p+0f, kP2 = 0x1.fb4p-12f, kP3 = 0x1.444p-24f, kP4 = 0x1.68c234p-39f;
  // k from an integer conversion: +0 for small |x|, so r = x - 0 keeps -0.
  const int32_t k = static_cast<int32_t>(round_int(x * k2OverPi));
  const float fk = static_cast<float>(k);
  // r = r2 - k P3 - k P4 = r + rl: r2 and k P3 are exact, the rounding of
  // r2 - k P3 is recovered exactly (2Sum) and carried with k P4 in rl, which
  // enters the polynomials to first order (sin(r + rl) = sin r + rl,
  // cos(r + rl) = cos r - r rl within the float result's rounding).
  const float r2 = (x - fk * kP1) - fk * kP2;
  const float p3 = fk * kP3;
  const float r = r2 - p3;
  const float bv = r - r2;
  const float rl = ((r2 - (r - bv)) - (p3 + bv)) - fk * kP4;
  const float w = r * r;
  float ps = -1.951332670e-04f;
  ps = ps * w + 8.332146332e-03f;
  ps = ps * w + -1.666665375e-01f;
  const float sr = r + (r * (w * ps) + rl);
  float pc = 2.443092308e-05f;
  pc = pc * w + -1.388729666e-03f;
  pc = pc * w + 4.166664556e-02f;
  const float cr = (1.0f - 0.5f * w) + ((w * w) * pc - r * rl);
  // Quadrant q: sin(q pi/2 + r) is sr, cr, -sr, -cr; cos(x) = sin(x + pi/2).
  const int32_t q = k + static_cast<int32_t>(cos);
  float y = (q & 1) ? cr : sr;
  y = (q & 2) ? -y : y;
  return x == 0.0f && !cos ? x : y;  // sin(-0) = -0 (rl may be +0)
}
}  // namespace detail

__attribute__((always_inline)) inline float sin_reduced(float x) { return detail::sincos_reduced(x, false); }
__attribute__((always_inline)) inline float cos_reduced(float x) { return detail::sincos_reduced(x, true); }
// Whether sin_reduced / cos_reduced do not apply (|x| > kTrigMaxArg, inf,
// NaN).
__attribute__((always_inline)) inline bool trig_needs_libm(float x) {
  return !__builtin_islessequal(std::fabs(x), kTrigMaxArg);
}

namespace detail {
// 2^24 e^(a + b) for a + b in [-103, 0] and |b| small, 0 below; about
// 1 ulp. The reduction a - n ln2_hi is exact (Sterbenz; n ln2_hi has at most
// 17 bits), so a may carry more of the argument than one float rounding
// allows and b the rest. The factor 2^24 keeps results normal that callers
// multiply back into normal results.
__attribute__((always_inline)) inline float exp_split_scaled(float a, float b) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  const bool below = __builtin_isless(a, -103.0f);
  a = below ? -103.0f : a;
  const float fn = round_int((a + b) * kLog2e);
  const float r = ((a - fn * kLn2Hi) + b) - fn * kLn2Lo;
  const float p = exp_reduced(r);
  const float y = p * pow2i(static_cast<int32_t>(fn) + 24);  // n + 24 >= -125
  return below ? 0.0f : y;
}
}  // namespace detail

// 2^24 e^(-x^2 / 2), within 1.1 ulp (1.08), for |x| <= 14, and 0 beyond.
// x^2 is carried exactly: x = xh + xl with a 12-bit xh, so xh^2 is a float
// and the rounding of x^2 (its ulp is 1e-5 near 170) does not reach the
// result.
__attribute__((always_inline)) inline float exp_neg_half_square_scaled(float x) {
  const bool nan = __builtin_isunordered(x, x);
  float ax = std::fabs(x);
  const bool beyond = __builtin_isgreater(ax, 14.0f);
  ax = beyond ? 14.0f : ax;
  ax = nan ? 0.0f : ax;
  const float xh = detail::from_bits(detail::to_bits(ax) & int32_t(0xfffff000u));
  const float xl = ax - xh;
  float y = detail::exp_split_scaled(-0.5f * (xh * xh), -0.5f * (xl * (xh + ax)));
  y = beyond ? 0.0f : y;
  y = nan ? x : y;
  return y;
}

// 2^24 Phi(-a) = 2^24 P(N(0, 1) > a) for a >= 0, given
// e = exp_neg_half_square_scaled(a). Relative accuracy, because gelu needs
// the lower tail of the normal CDF. Below a = 0.8, 1/2 - a R(a^2) with R a
// minimax polynomial of erf(a / sqrt 2) / (2a); above, e t h(t) with
// t = 1 / (1 + a / 2) and h a minimax polynomial (relative error 4.9e-9) of
// the smooth function Phi(-a) e^(a^2 / 2) / t on a in [0.8, 13.5]. Float
// rounding in t and in h's evaluation leaves up to 4 ulp; doing those steps
// in double gets 1 ulp but costs three times as much.
__attribute__((always_inline)) inline float normal_upper_tail_scaled(float a, float e) {
  const float w = a * a;
  float r = 9.959020099e-05f;
  r = r * w + -1.177041209e-03f;
  r = r * w + 9.970553219e-03f;
  r = r * w + -6.649000943e-02f;
  r = r * w + 3.989422619e-01f;
  const float near = (0.5f - a * r) * 0x1p24f;
  const float t = 1.0f / (1.0f + 0.5f * a);
  const float u = t - 0.421658986f;
  float h = 7.936596125e-02f;
  h = h * u + 7.679799199e-02f;
  h = h * u + -1.265334785e-01f;
  h = h * u + -1.247894578e-02f;
  h = h * u + 1.275937855e-01f;
  h = h * u + -5.059164762e-02f;
  h = h * u + -1.385801286e-01f;
  h = h * u + 9.142708033e-02f;
  h = h * u + 3.197046816e-01f;
  h = h * u + 3.106650710e-01f;
  const float far = e * (t * h);
  return __builtin_isless(a, 0.8f) ? near : far;
}

// gelu(x) = x Phi(x) (approximate = "none"), within 6 ulp (5.85); results
// under FLT_MIN (x < -13.2) lose bits or flush to -0. Phi(x) is 2^-24 tail for
// x < 0 and 1 - 2^-24 tail above, tail = 2^24 Phi(-|x|): no cancellation on
// either side.
__attribute__((always_inline)) inline float gelu(float x) {
  const float tail = normal_upper_tail_scaled(std::fabs(x), exp_neg_half_square_scaled(x));
  return __builtin_isless(x, 0.0f) ? (x * tail) * 0x1p-24f : x * (1.0f - tail * 0x1p-24f);
}

// g times d gelu / dx = Phi(x) + x phi(x), phi the normal density.
__attribute__((always_inline)) inline float gelu_backward(float g, float x) {
  constexpr float kInvSqrt2Pi = 0.398942280401432677940f;
  const float e = exp_neg_half_square_scaled(x);
  const float tail = normal_upper_tail_scaled(std::fabs(x), e);
  const float xpdf = x * (e * kInvSqrt2Pi);
  const float d = __builtin_isless(x, 0.0f) ? (tail + xpdf) * 0x1p-24f : 1.0f - (tail - xpdf) * 0x1p-24f;
  return g * d;
}

// The tanh form of gelu, x (1 + tanh u) / 2 = x sigmoid(2u) with
// u = sqrt(2/pi) (x + 0.044715 x^3): no cancellation for negative x. u is
// formed in double and handed to exp as two floats, because the result's
// relative error is |2u| times u's (|2u| reaches 88 where results are
// still normal). Within 3.5 ulp (3.35) of the float64 formula evaluated
// without its cancellation; results under FLT_MIN (x < -10.1) lose bits or
// flush to -0.
// With sigmoid_out, s = sigmoid(2u) itself (scaled by 2^24) for the backward.
__attribute__((always_inline)) inline float gelu_tanh(float x, float* sigmoid_out = nullptr) {
  constexpr double kSqrt2OverPi = 0.79788456080286535588, kCubic = 0.044715;
  const double xd = x;
  const double z = 2.0 * kSqrt2OverPi * (xd + kCubic * xd * xd * xd);
  double nz = -std::fabs(z);
  nz = __builtin_isless(nz, -110.0) ? -110.0 : nz;  // also keeps -inf from the split
  const float hi = static_cast<float>(nz);
  const float lo = static_cast<float>(nz - static_cast<double>(hi));
  const float e = detail::exp_split_scaled(hi, lo);  // 2^24 e^-|z|
  const float s = (__builtin_isless(z, 0.0) ? e : 0x1p24f) / (1.0f + e * 0x1p-24f);
  if (sigmoid_out) *sigmoid_out = s;
  // Scale back after the product where s is small, before it where x may be huge.
  return __builtin_isless(z, 0.0) ? (x * s) * 0x1p-24f : x * (s * 0x1p-24f);
}

// g times d/dx of gelu_tanh: with s = sigmoid(2u), (1 + tanh u) / 2 = s and
// (1 - tanh^2 u) / 2 = 2 s (1 - s).
__attribute__((always_inline)) inline float gelu_tanh_backward(float g, float x) {
  constexpr float kSqrt2OverPi = 0.79788456080286535588f, kCubic3 = 3 * 0.044715f;
  float s24;
  (void)gelu_tanh(x, &s24);
  const float s = s24 * 0x1p-24f;
  const float du = kSqrt2OverPi * (1.0f + kCubic3 * (x * x));
  return g * (s + 2.0f * x * (s * (1.0f - s)) * du);
}

}  // namespace dg::cpu::vec

namespace dg::cpu {

// The Math policy of the pointwise functors on the CPU (kernels/common/
// pointwise_math.h): float32 through the vectorisable forms above, every
// other type through libm, as pwmath::StdMath has it.
struct VecMath {
#define DG_VEC_OR_STD(name, std_form)                            \
  template <typename T>                                          \
  __attribute__((always_inline)) static T name(T x) {            \
    if constexpr (std::is_same_v<T, float>) return vec::name(x); \
    else return std_form;                                        \
  }
  DG_VEC_OR_STD(exp, std::exp(x))
  DG_VEC_OR_STD(expm1, std::expm1(x))
  DG_VEC_OR_STD(log, std::log(x))
  DG_VEC_OR_STD(log1p, std::log1p(x))
  DG_VEC_OR_STD(tanh, std::tanh(x))
  // float64: exp(-x) overflows to inf for very negative x, giving 1 / inf = 0,
  // the right limit, so no branch is needed.
  DG_VEC_OR_STD(sigmoid, T(1) / (T(1) + std::exp(-x)))
#undef DG_VEC_OR_STD
};

}  // namespace dg::cpu
