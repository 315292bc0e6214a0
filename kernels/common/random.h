#pragma once
// The random kernels' arithmetic, shared by the CPU and CUDA kernels: the
// Philox4x32-10 counter-based generator (Salmon et al., "Parallel random
// numbers: as easy as 1, 2, 3", SC'11) and the transforms from its bits to
// each distribution.
//
// Element i of a draw that starts at (seed, offset) takes the four 32-bit
// words of one Philox block, counter offset + i and key seed, whatever the
// device, the thread split or the tensor's strides (elements are numbered in
// the tensor's logical row-major order). A draw of n elements therefore
// advances its generator by n. Only the first words a transform needs are
// used; the rest of the block is dropped.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>

#include "dynagrad/error.h"
#include "dynagrad/generator.h"
#include "dynagrad/tensor_base.h"
#include "offset_calc.h"  // DG_HOST_DEVICE

namespace dg::random {

struct Bits {
  uint32_t w[4];
};

DG_HOST_DEVICE inline void mulhilo32(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// Philox4x32 with 10 rounds, counter (lo, hi of `counter`, 0, 0), key seed.
DG_HOST_DEVICE inline Bits philox(uint64_t seed, uint64_t counter) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo32(kM0, c0, hi0, lo0);
    mulhilo32(kM1, c2, hi1, lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += kW0;
    k1 += kW1;
  }
  return Bits{{c0, c1, c2, c3}};
}

DG_HOST_DEVICE inline uint64_t bits64(uint32_t hi, uint32_t lo) { return (static_cast<uint64_t>(hi) << 32) | lo; }
// Uniform in [0, 1) with 53 random bits (words a, b).
DG_HOST_DEVICE inline double uniform53(uint32_t a, uint32_t b) {
  return static_cast<double>(bits64(a, b) >> 11) * (1.0 / 9007199254740992.0);
}
// Uniform in (0, 1): a log of it is finite.
DG_HOST_DEVICE inline double uniform_open(uint32_t a, uint32_t b) {
  return (static_cast<double>(bits64(a, b) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
// Uniform in [0, 1) with the precision of T (24 bits for float: every value exact).
template <typename T>
DG_HOST_DEVICE inline T uniform01(const Bits& b) {
  if constexpr (std::is_same_v<T, float>) {
    return static_cast<float>(b.w[0] >> 8) * (1.0f / 16777216.0f);
  } else {
    return static_cast<T>(uniform53(b.w[0], b.w[1]));
  }
}

constexpr double kPi = 3.14159265358979323846;

// Standard normal by Box-Muller, in double for both float widths.
DG_HOST_DEVICE inline double standard_normal(const Bits& b) {
  const double u1 = uniform_open(b.w[0], b.w[1]), u2 = uniform53(b.w[2], b.w[3]);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
}

// The distributions. Each maps one Philox block to one element of type T.
template <typename T>
struct Uniform {
  double from, to;
  DG_HOST_DEVICE T operator()(const Bits& b) const {
    const T r = static_cast<T>(uniform01<T>(b) * static_cast<T>(to - from) + static_cast<T>(from));
    // Rounding in T may reach `to`; the interval is half-open.
    return (r >= static_cast<T>(to) && to > from) ? static_cast<T>(from) : r;
  }
};
template <typename T>
struct Normal {
  double mean, std;
  DG_HOST_DEVICE T operator()(const Bits& b) const { return static_cast<T>(standard_normal(b) * std + mean); }
};
template <typename T>
struct LogNormal {
  double mean, std;
  DG_HOST_DEVICE T operator()(const Bits& b) const { return static_cast<T>(std::exp(standard_normal(b) * std + mean)); }
};
template <typename T>
struct Exponential {
  double lambd;
  DG_HOST_DEVICE T operator()(const Bits& b) const {
    return static_cast<T>(-std::log(uniform_open(b.w[0], b.w[1])) / lambd);
  }
};
template <typename T>
struct Geometric {
  double p;
  // The number of Bernoulli(p) trials up to the first success: 1, 2, ...
  DG_HOST_DEVICE T operator()(const Bits& b) const {
    if (p >= 1) return T(1);
    return static_cast<T>(std::ceil(std::log(uniform_open(b.w[0], b.w[1])) / std::log1p(-p)));
  }
};
template <typename T>
struct Cauchy {
  double median, sigma;
  DG_HOST_DEVICE T operator()(const Bits& b) const {
    return static_cast<T>(median + sigma * std::tan(kPi * (uniform_open(b.w[0], b.w[1]) - 0.5)));
  }
};
template <typename T>
struct BernoulliScalar {
  double p;
  DG_HOST_DEVICE T operator()(const Bits& b) const { return static_cast<T>(uniform53(b.w[0], b.w[1]) < p ? 1 : 0); }
};
// The uniform draws that bernoulli_(Tensor p) compares with p.
struct Uniform53 {
  DG_HOST_DEVICE double operator()(const Bits& b) const { return uniform53(b.w[0], b.w[1]); }
};
// Integers in [from, from + range) (range > 0), as T, from 64 random bits
// (the modulo bias is below 2^-32 for ranges that fit 32 bits).
template <typename T>
struct RandomRange {
  int64_t from;
  uint64_t range;
  DG_HOST_DEVICE T operator()(const Bits& b) const {
    const uint64_t r = bits64(b.w[0], b.w[1]) % range;
    return static_cast<T>(static_cast<int64_t>(static_cast<uint64_t>(from) + r));
  }
};

// ---- argument checks, run on the host before anything is written (the
// messages follow PyTorch's).
inline void check_uniform(double from, double to) {
  DG_CHECK(from <= to, "uniform_: expects to return a [from, to) range, but found from=", from, " > to=", to);
}
inline void check_normal(const char* op, double std) {
  DG_CHECK(std >= 0.0, op, ": expects std >= 0.0, but found std ", std);
}
inline void check_positive(const char* op, const char* name, double v) {
  DG_CHECK(v > 0.0, op, ": expects ", name, " > 0.0, but found ", name, "=", v);
}
inline void check_probability(const char* op, double p) {
  DG_CHECK(p >= 0.0 && p <= 1.0, op, ": expects 0 <= p <= 1, but found p=", p);
}

// random_'s bounds for dtype T: [from, to) with to = nullopt meaning "up to
// the largest integer T holds exactly" (2^24 for float32, 2^53 for float64,
// 2^63 - 1 for int64; PyTorch's rule). Returns the range size.
template <typename T>
uint64_t random_range(const char* op, int64_t from, std::optional<int64_t> to) {
  int64_t hi;
  if (to) {
    hi = *to;
    DG_CHECK(from < hi, op, ": expects 'from' to be less than 'to', but got from=", from, " >= to=", hi);
  } else {
    if constexpr (std::is_same_v<T, float>) {
      hi = (int64_t(1) << 24) + 1;
    } else if constexpr (std::is_same_v<T, double>) {
      hi = (int64_t(1) << 53) + 1;
    } else if constexpr (std::is_same_v<T, bool>) {
      hi = 2;
    } else if constexpr (sizeof(T) < sizeof(int64_t)) {
      hi = int64_t(std::numeric_limits<T>::max()) + 1;  // int32 ... uint8: [0, max]
    } else {
      hi = std::numeric_limits<int64_t>::max();
    }
    DG_CHECK(from < hi, op, ": expects 'from' to be less than the largest value of the dtype, but got from=", from);
  }
  if constexpr (std::is_same_v<T, float>) {
    DG_CHECK(from >= -(int64_t(1) << 24) && hi <= (int64_t(1) << 24) + 1, op, ": from=", from, " and to=", hi,
             " are out of the range float32 holds exactly [-2^24, 2^24]");
  } else if constexpr (std::is_same_v<T, double>) {
    DG_CHECK(from >= -(int64_t(1) << 53) && hi <= (int64_t(1) << 53) + 1, op, ": from=", from, " and to=", hi,
             " are out of the range float64 holds exactly [-2^53, 2^53]");
  }
  return static_cast<uint64_t>(hi) - static_cast<uint64_t>(from);
}

// Where a fill of `self` draws from and writes to: numel values reserved from
// the generator, written to self or, when self is not contiguous, to a
// contiguous temporary (so the numbering does not depend on strides) that the
// device then copies into self.
struct FillTarget {
  PhiloxSeedOffset start;
  TensorBase dst;
  int64_t n;
  bool temporary = false;
};
inline FillTarget fill_target(const TensorBase& self, const std::optional<Generator>& generator, const char* op) {
  const int64_t n = self.numel();
  FillTarget t{dg::detail::reserve_random(generator, op, static_cast<uint64_t>(n)), self, n};
  if (n > 0 && !self.is_contiguous()) {
    t.dst = make_empty(self.sizes(), self.dtype(), self.device());
    t.temporary = true;
  }
  return t;
}

// ---- the random kernels, written once for both devices. `Device` supplies
//   template <typename T, typename Dist> static void fill(self, generator, op, dist)
//     element i (logical row-major order) of self = dist(philox(seed, offset + i)),
//     after reserving numel values of the generator's stream;
//   template <typename T> static void bernoulli_compare(self, u, p)
//     self = u < p (p broadcast), u float64 of self's shape.
// Each checks its arguments on the host before anything is written.
template <typename T, typename Device>
struct Kernels {
  using Gen = std::optional<Generator>;
  static void uniform_(const TensorBase& self, double from, double to, const Gen& g) {
    check_uniform(from, to);
    Device::template fill<T>(self, g, "uniform_", Uniform<T>{from, to});
  }
  static void normal_(const TensorBase& self, double mean, double std, const Gen& g) {
    check_normal("normal_", std);
    Device::template fill<T>(self, g, "normal_", Normal<T>{mean, std});
  }
  static void log_normal_(const TensorBase& self, double mean, double std, const Gen& g) {
    check_positive("log_normal_", "std", std);
    Device::template fill<T>(self, g, "log_normal_", LogNormal<T>{mean, std});
  }
  static void exponential_(const TensorBase& self, double lambd, const Gen& g) {
    check_positive("exponential_", "lambda", lambd);
    Device::template fill<T>(self, g, "exponential_", Exponential<T>{lambd});
  }
  static void geometric_(const TensorBase& self, double p, const Gen& g) {
    DG_CHECK(p > 0.0 && p < 1.0, "geometric_: expects p to be in (0, 1), but got p=", p);
    Device::template fill<T>(self, g, "geometric_", Geometric<T>{p});
  }
  static void cauchy_(const TensorBase& self, double median, double sigma, const Gen& g) {
    check_positive("cauchy_", "sigma", sigma);
    Device::template fill<T>(self, g, "cauchy_", Cauchy<T>{median, sigma});
  }
  static void bernoulli_scalar_(const TensorBase& self, double p, const Gen& g) {
    check_probability("bernoulli_", p);
    Device::template fill<T>(self, g, "bernoulli_", BernoulliScalar<T>{p});
  }
  static void bernoulli_tensor_(const TensorBase& self, const TensorBase& p, const Gen& g) {
    // meta::bernoulli_tensor checked p's shape and device.
    DG_CHECK(p.dtype() != kFloat16 && p.dtype() != kBFloat16, "bernoulli_: expected p of dtype float32, float64, ",
             "int64 or bool, got ", p.dtype());
    // Uniform draws first (numbered like every other fill), then compared with p.
    const TensorBase u = make_empty(self.sizes(), kFloat64, self.device());
    Device::template fill<double>(u, g, "bernoulli_", Uniform53{});
    Device::template bernoulli_compare<T>(self, u, p);
  }
  static void random_from_(const TensorBase& self, int64_t from, std::optional<int64_t> to, const Gen& g) {
    const uint64_t range = random_range<T>("random_", from, to);
    Device::template fill<T>(self, g, "random_", RandomRange<T>{from, range});
  }
};

}  // namespace dg::random

// Defines a device's random kernels (the declarations of kernel_decls.h) over
// dg::random::Kernels<T, Device>, in the namespace where it is expanded.
#define DG_DEFINE_RANDOM_KERNELS(Device)                                                                           \
  template <typename T>                                                                                            \
  void uniform_(const TensorBase& self, double from, double to, std::optional<Generator> g) {                      \
    random::Kernels<T, Device>::uniform_(self, from, to, g);                                                       \
  }                                                                                                                \
  template <typename T>                                                                                            \
  void normal_(const TensorBase& self, double mean, double std, std::optional<Generator> g) {                      \
    random::Kernels<T, Device>::normal_(self, mean, std, g);                                                       \
  }                                                                                                                \
  template <typename T>                                                                                            \
  void log_normal_(const TensorBase& self, double mean, double std, std::optional<Generator> g) {                  \
    random::Kernels<T, Device>::log_normal_(self, mean, std, g);                                                   \
  }                                                                                                                \
  template <typename T>                                                                                            \
  void exponential_(const TensorBase& self, double lambd, std::optional<Generator> g) {                            \
    random::Kernels<T, Device>::exponential_(self, lambd, g);                                                      \
  }                                                                                                                \
  template <typename T>                                                                                            \
  void geometric_(const TensorBase& self, double p, std::optional<Generator> g) {                                  \
    random::Kernels<T, Device>::geometric_(self, p, g);                                                            \
  }                                                                                                                \
  template <typename T>                                                                                            \
  void cauchy_(const TensorBase& self, double median, double sigma, std::optional<Generator> g) {                  \
    random::Kernels<T, Device>::cauchy_(self, median, sigma, g);                                                   \
  }                                                                                                                \
  template <typename T>                                                                                            \
  void bernoulli_scalar_(const TensorBase& self, double p, std::optional<Generator> g) {                           \
    random::Kernels<T, Device>::bernoulli_scalar_(self, p, g);                                                     \
  }                                                                                                                \
  template <typename T>                                                                                            \
  void bernoulli_tensor_(const TensorBase& self, const TensorBase& p, std::optional<Generator> g) {                \
    random::Kernels<T, Device>::bernoulli_tensor_(self, p, g);                                                     \
  }                                                                                                                \
  template <typename T>                                                                                            \
  void random_from_(const TensorBase& self, int64_t from, std::optional<int64_t> to, std::optional<Generator> g) { \
    random::Kernels<T, Device>::random_from_(self, from, to, g);                                                   \
  }                                                                                                                \
  template <typename T>                                                                                            \
  void random_to_(const TensorBase& self, int64_t to, std::optional<Generator> g) {                                \
    random::Kernels<T, Device>::random_from_(self, 0, to, g);                                                      \
  }                                                                                                                \
  template <typename T>                                                                                            \
  void random_(const TensorBase& self, std::optional<Generator> g) {                                               \
    random::Kernels<T, Device>::random_from_(self, 0, std::nullopt, g);                                            \
  }
