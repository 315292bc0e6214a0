#pragma once
// The two 16-bit floating point dtypes: float16 (IEEE binary16: 5 exponent
// bits, 10 mantissa bits) and bfloat16 (float32's 8 exponent bits, 7
// mantissa bits). Storage types only: a value converts to float for any
// arithmetic (kernels compute in float, as PyTorch's do) and back with
// round-to-nearest-even. The conversions are plain bit arithmetic, compiled
// for the host and, in .cu files, for the device.
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__CUDACC__)
#define DG_HOST_DEVICE __host__ __device__
#else
#define DG_HOST_DEVICE
#endif

namespace dg {

namespace detail {

DG_HOST_DEVICE inline uint32_t float_bits(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, sizeof u);
  return u;
}
DG_HOST_DEVICE inline float bits_float(uint32_t u) {
  float f;
  __builtin_memcpy(&f, &u, sizeof f);
  return f;
}

// float -> binary16, rounding to nearest even; overflow gives infinity, NaN
// stays NaN (quiet).
DG_HOST_DEVICE inline uint16_t float_to_half_bits(float f) {
  const uint32_t x = float_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t mant = x & 0x007fffffu;
  const int32_t exp = static_cast<int32_t>((x >> 23) & 0xffu);
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u | (mant >> 13) : 0u));
  const int32_t e = exp - 127 + 15;  // the binary16 exponent field
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);
  if (e <= 0) {  // a binary16 subnormal (or zero): value = m * 2^-24
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x00800000u;
    const uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t m = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (m & 1u))) ++m;
    return static_cast<uint16_t>(sign | m);
  }
  uint32_t h = sign | (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent rounds up correctly
  return static_cast<uint16_t>(h);
}

DG_HOST_DEVICE inline float half_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in float
    const float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

// float -> bfloat16: the top half of the float, rounded to nearest even.
DG_HOST_DEVICE inline uint16_t float_to_bfloat16_bits(float f) {
  const uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // NaN stays quiet NaN
  const uint32_t lsb = (x >> 16) & 1u;
  return static_cast<uint16_t>((x + 0x7fffu + lsb) >> 16);
}

DG_HOST_DEVICE inline float bfloat16_bits_to_float(uint16_t b) { return bits_float(static_cast<uint32_t>(b) << 16); }

// The two formats, as bit conversions.
struct HalfFormat {
  DG_HOST_DEVICE static uint16_t encode(float f) { return float_to_half_bits(f); }
  DG_HOST_DEVICE static float decode(uint16_t b) { return half_bits_to_float(b); }
};
struct BFloat16Format {
  DG_HOST_DEVICE static uint16_t encode(float f) { return float_to_bfloat16_bits(f); }
  DG_HOST_DEVICE static float decode(uint16_t b) { return bfloat16_bits_to_float(b); }
};

}  // namespace detail

// A 16-bit float of `Format`: constructed explicitly from any arithmetic
// value (through float), read implicitly as a float.
template <typename Format>
struct alignas(2) Float16Storage {
  uint16_t bits = 0;
  Float16Storage() = default;
  DG_HOST_DEVICE explicit Float16Storage(float f) : bits(Format::encode(f)) {}
  template <typename T, std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, float>, int> = 0>
  DG_HOST_DEVICE explicit Float16Storage(T v) : Float16Storage(static_cast<float>(v)) {}
  DG_HOST_DEVICE operator float() const { return Format::decode(bits); }  // NOLINT
  DG_HOST_DEVICE static Float16Storage from_bits(uint16_t b) {
    Float16Storage h;
    h.bits = b;
    return h;
  }
};
using Half = Float16Storage<detail::HalfFormat>;
using BFloat16 = Float16Storage<detail::BFloat16Format>;

// The type a kernel computes in for element type T: float for the 16-bit
// floats, T itself otherwise.
template <typename T>
using opmath_t = std::conditional_t<std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>, float, T>;

}  // namespace dg
