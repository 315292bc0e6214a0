#pragma once
// Transcendentals written so that GCC vectorises them inside the elementwise
// loops: no calls, no branches, SSE2-only operations (the build targets
// baseline x86-64). A libm call per element is the bottleneck otherwise
// (about 3 ns per expf against 0.3 ns here).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace dg::cpu::vec {

// expf with at most 2 ulp error on the normal range (Cody-Waite reduction by
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
  // floor(xc * log2e + 0.5) with truncation (cvttps2dq) corrected for negatives.
  const float v = xc * kLog2e + 0.5f;
  int32_t n = static_cast<int32_t>(v);
  n -= static_cast<int32_t>(__builtin_isgreater(static_cast<float>(n), v));
  const float fn = static_cast<float>(n);
  const float r = (xc - fn * kLn2Hi) - fn * kLn2Lo;
  const float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
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

}  // namespace dg::cpu::vec
