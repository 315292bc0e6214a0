// The vectorised float32 transcendentals (kernels/cpu/vec_math.h), checked
// through the real kernels against the float64 kernels (libm) on the same
// inputs: a dense sweep of each function's useful range, random bit patterns
// (denormals, NaNs and infinities among them) and the special values. The
// bounds are those vec_math.h documents, measured there over every float.
// Then the two instruction-set paths of loops.h must give the same bits.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cpu/loops.h"
#include "dynagrad/dynagrad.h"

using namespace dg;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kFltMin = std::numeric_limits<float>::min();

float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
uint32_t to_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// Error of `got` against the exact-ish `want` in units of the last place of
// float at want's magnitude. Results under FLT_MIN may flush to 0 where
// `flushes` says so (vec_math.h documents which functions do).
double ulp_error(float got, double want, bool flushes) {
  if (std::isnan(want)) return std::isnan(got) ? 0 : 1e30;
  if (std::isnan(got)) return 1e30;
  if (std::isinf(want) || std::fabs(want) > std::numeric_limits<float>::max()) {
    return got == static_cast<float>(want) ? 0 : 1e30;
  }
  if (std::fabs(want) < kFltMin) {
    if (flushes && std::fabs(got) <= kFltMin) return 0;
    return std::fabs(got - want) / 0x1p-149;  // denormals: ulp is the smallest step
  }
  int e = 0;
  std::frexp(want, &e);  // want = m 2^e, m in [0.5, 1)
  return std::fabs(static_cast<double>(got) - want) / std::ldexp(1.0, e - 24);
}

// Every float between lo and hi (both positive) stepping `count` times
// through the bit patterns, with both signs.
void sweep(std::vector<float>& v, float lo, float hi, uint32_t count) {
  const uint32_t a = to_bits(lo), b = to_bits(hi);
  const uint32_t step = std::max<uint32_t>(1, (b - a) / count);
  for (uint32_t k = a; k <= b && k >= a; k += step) {
    v.push_back(from_bits(k));
    v.push_back(-from_bits(k));
  }
}

std::vector<float> inputs(float lo, float hi) {
  std::vector<float> v = {0.0f,
                          -0.0f,
                          kInf,
                          -kInf,
                          std::numeric_limits<float>::quiet_NaN(),
                          kFltMin,
                          -kFltMin,
                          0x1p-149f,
                          -0x1p-149f,
                          std::numeric_limits<float>::max(),
                          -std::numeric_limits<float>::max(),
                          1.0f,
                          -1.0f,
                          0.5f,
                          88.7228317f,
                          88.7228394f,
                          -87.3365479f,
                          -103.97f,
                          8192.0f,
                          8192.0005f,
                          -8192.0005f,
                          1e4f,
                          3.4e38f,
                          0x1p-25f,
                          0x1p-24f,
                          -0x1p-24f,
                          0.55f,
                          0.8f,
                          -0.8f,
                          9.01f,
                          13.2f,
                          -13.5f,
                          -14.0f,
                          -14.1f};
  sweep(v, 0x1p-30f, 1.0f, 60000);
  sweep(v, lo, hi, 200000);
  std::mt19937 rng(12345);
  for (int i = 0; i < 100000; ++i) v.push_back(from_bits(static_cast<uint32_t>(rng())));
  return v;
}

struct Case {
  std::string name;
  std::function<Tensor(const Tensor&)> op;
  double bound;  // ulp
  bool flushes;  // results under FLT_MIN may be 0
  float lo, hi;  // the dense sweep's |x| range
  // The reference when the float64 kernel is not one (it cancels).
  std::function<double(double)> ref = nullptr;
};

std::vector<Case> cases() {
  return {
      {"exp", [](const Tensor& t) { return t.exp(); }, 1, true, 1e-3f, 104.0f},
      {"expm1", [](const Tensor& t) { return dg::expm1(t); }, 1.5, false, 1e-3f, 90.0f},
      {"log", [](const Tensor& t) { return t.log(); }, 1, false, 1e-3f, 1e38f},
      {"log1p", [](const Tensor& t) { return dg::log1p(t); }, 1.5, false, 1e-3f, 1e38f},
      {"tanh", [](const Tensor& t) { return t.tanh(); }, 1.5, false, 1e-3f, 12.0f},
      {"sigmoid", [](const Tensor& t) { return t.sigmoid(); }, 2.5, true, 1e-3f, 110.0f},
      {"sin", [](const Tensor& t) { return t.sin(); }, 1.3, false, 1e-3f, 3e4f},
      {"cos", [](const Tensor& t) { return t.cos(); }, 1.3, false, 1e-3f, 3e4f},
      {"gelu", [](const Tensor& t) { return dg::gelu(t); }, 6, true, 1e-3f, 16.0f},
      {"gelu tanh", [](const Tensor& t) { return dg::gelu(t, "tanh"); }, 3.5, true, 1e-3f, 16.0f,
       // x (1 + tanh u) / 2 as x sigmoid(2u): the float64 kernel's 1 + tanh u
       // is 0 below x = -7 where the float32 result is still ~1e-16.
       [](double x) {
         const double u = 0.79788456080286535588 * (x + 0.044715 * x * x * x);
         return x / (1 + std::exp(-2 * u));
       }},
  };
}

// f32 kernel's values and the f64 kernel's on the same inputs.
void run(const Case& c, const std::vector<float>& x, std::vector<float>& got, std::vector<double>& want) {
  const Tensor t32 = dg::tensor(x);
  const Tensor t64 = t32.to(kFloat64);
  const Tensor y32 = c.op(t32).contiguous(), y64 = c.op(t64).contiguous();
  got.assign(y32.data_ptr<float>(), y32.data_ptr<float>() + y32.numel());
  want.assign(y64.data_ptr<double>(), y64.data_ptr<double>() + y64.numel());
}

// Runs f with the row loops capped at `level` (0 baseline, 1 AVX2, 2 AVX-512;
// what the CPU lacks is not used).
template <typename F>
void with_level(int level, F&& f) {
  const int was = cpu::simd::set_max_level(level);
  f();
  cpu::simd::set_max_level(was);
}

}  // namespace

TEST_CASE("float32 transcendentals are within their ulp bounds of float64", "[ops][cpu][vec_math]") {
  for (const Case& c : cases()) {
    CAPTURE(c.name);
    const std::vector<float> x = inputs(c.lo, c.hi);
    std::vector<float> got;
    std::vector<double> want;
    run(c, x, got, want);
    REQUIRE(got.size() == x.size());
    if (c.ref) {
      for (size_t i = 0; i < x.size(); ++i) want[i] = c.ref(x[i]);
    }
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double e = ulp_error(got[i], want[i], c.flushes);
      if (e > worst) worst = e, at = i;
    }
    CAPTURE(x[at], got[at], want[at], worst);
    CHECK(worst <= c.bound);
  }
}

TEST_CASE("sin and cos beyond the vector range, in place and strided, match libm", "[ops][cpu][vec_math]") {
  // Blocks with a few huge or non-finite arguments among ordinary ones take
  // the scalar path; the in-place op must still read its inputs before
  // overwriting them, and the strided loop has its own fall-back.
  std::vector<float> x(10000);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> small(-10.0f, 10.0f);
  for (float& v : x) v = small(rng);
  x[17] = 3.0e38f, x[2100] = -1.0e6f, x[4500] = kInf, x[4501] = std::numeric_limits<float>::quiet_NaN();
  x[9999] = 8192.5f;
  for (bool cos : {false, true}) {
    CAPTURE(cos);
    auto ref = [&](float v) { return cos ? std::cos(static_cast<double>(v)) : std::sin(static_cast<double>(v)); };
    Tensor t = dg::tensor(x);
    {
      NoGradGuard ng;
      cos ? t.cos_() : t.sin_();
    }
    const float* y = t.data_ptr<float>();
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, ulp_error(y[i], ref(x[i]), false));
    CHECK(worst <= 2);
    // A transposed view: the strided row loop.
    const Tensor m = dg::tensor(x).view({100, 100}).t();
    const Tensor ym = (cos ? m.cos() : m.sin()).contiguous();
    const Tensor xm = m.contiguous();
    worst = 0;
    for (int64_t i = 0; i < xm.numel(); ++i) {
      worst = std::max(worst, ulp_error(ym.data_ptr<float>()[i], ref(xm.data_ptr<float>()[i]), false));
    }
    CHECK(worst <= 2);
  }
}

TEST_CASE("the AVX-512, AVX2 and baseline loops give the same bits", "[ops][cpu][vec_math]") {
  // The switch itself: each cap is honoured, and never beyond what the CPU has.
  const int cpu_level = cpu::simd::cpu_level();
  for (int l = 0; l <= 2; ++l) with_level(l, [&] { CHECK(cpu::simd::level() == std::min(l, cpu_level)); });
  if (cpu_level < 2) WARN("this CPU has no AVX-512: only the AVX2 and baseline loops are compared");

  std::vector<Case> all = cases();
  all.push_back({"silu", [](const Tensor& t) { return dg::silu(t); }, 0, true, 1e-3f, 100.0f});
  all.push_back({"softplus", [](const Tensor& t) { return dg::softplus(t, 2.0, 15.0); }, 0, true, 1e-3f, 100.0f});
  all.push_back({"elu", [](const Tensor& t) { return dg::elu(t); }, 0, true, 1e-3f, 100.0f});
  all.push_back(
      {"gelu_backward", [](const Tensor& t) { return dg::gelu_backward(t.cos(), t); }, 0, true, 1e-3f, 16.0f});
  all.push_back({"gelu_backward_tanh", [](const Tensor& t) { return dg::gelu_backward(t.cos(), t, "tanh"); }, 0, true,
                 1e-3f, 16.0f});
  all.push_back({"int64 add, mul",
                 [](const Tensor& t) {
                   const Tensor f = t.to(kFloat32).contiguous();
                   std::vector<int64_t> bits(static_cast<size_t>(f.numel()));
                   for (size_t k = 0; k < bits.size(); ++k) bits[k] = to_bits(f.data_ptr<float>()[k]);
                   const Tensor i = dg::tensor(bits);
                   return (i + i * 3).to(t.dtype());
                 },
                 0, true, 1e-3f, 1e6f});
  for (const Case& c : all) {
    CAPTURE(c.name);
    // Odd lengths: vector bodies and scalar tails both.
    std::vector<float> x = inputs(c.lo, c.hi);
    x.resize(x.size() - 3);
    std::vector<float> base;
    std::vector<double> unused;
    with_level(0, [&] { run(c, x, base, unused); });
    for (int l = 1; l <= std::min(2, cpu_level); ++l) {
      CAPTURE(l);
      std::vector<float> wide;
      with_level(l, [&] { run(c, x, wide, unused); });
      REQUIRE(base.size() == wide.size());
      size_t mismatches = 0, first = 0;
      for (size_t i = 0; i < base.size(); ++i) {
        if (to_bits(base[i]) != to_bits(wide[i]) && !(std::isnan(base[i]) && std::isnan(wide[i]))) {
          if (mismatches++ == 0) first = i;
        }
      }
      CAPTURE(x[first], base[first], wide[first]);
      CHECK(mismatches == 0);
    }
  }
}
