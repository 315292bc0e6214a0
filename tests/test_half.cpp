// The 16-bit float dtypes on the host: the conversions (IEEE binary16 and
// bfloat16, round to nearest even), dtype rules, and what a CPU tensor of
// them can do (convert, copy, print; arithmetic runs on CUDA only).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "dynagrad/dynagrad.h"

using Catch::Matchers::Contains;
using dg::BFloat16;
using dg::Half;

namespace {
uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
}  // namespace

TEST_CASE("float16 conversions follow IEEE binary16 with round to nearest even", "[half]") {
  CHECK(Half(1.0f).bits == 0x3c00);
  CHECK(Half(-2.0f).bits == 0xc000);
  CHECK(Half(0.0f).bits == 0x0000);
  CHECK(Half(-0.0f).bits == 0x8000);
  CHECK(Half(65504.0f).bits == 0x7bff);  // the largest finite
  CHECK(Half(65519.0f).bits == 0x7bff);  // below the rounding midpoint
  CHECK(Half(65520.0f).bits == 0x7c00);  // the midpoint rounds to even: infinity
  CHECK(Half(std::numeric_limits<float>::infinity()).bits == 0x7c00);
  CHECK(Half(std::ldexp(1.0f, -24)).bits == 0x0001);         // the smallest subnormal
  CHECK(Half(std::ldexp(1.0f, -25)).bits == 0x0000);         // half of it: a tie, to even (zero)
  CHECK(Half(std::ldexp(3.0f, -25)).bits == 0x0002);         // 1.5 ulp: a tie, to even (2)
  CHECK(Half(std::ldexp(1.0f, -14)).bits == 0x0400);         // the smallest normal
  CHECK(Half(1.0f + std::ldexp(1.0f, -11)).bits == 0x3c00);  // tie between 1 and 1+2^-10: even
  CHECK(Half(1.0f + std::ldexp(3.0f, -11)).bits == 0x3c02);  // tie between 1+2^-10 and 1+2^-9: even
  CHECK(std::isnan(static_cast<float>(Half(std::nanf("")))));
  // Every finite and infinite half survives float and back exactly, and
  // float's value is the one the bits spell.
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const Half h = Half::from_bits(static_cast<uint16_t>(b));
    const float f = h;
    const uint32_t e = (b >> 10) & 0x1f, m = b & 0x3ff;
    if (e == 0x1f && m != 0) {
      CHECK(std::isnan(f));
      continue;
    }
    const double want = (b & 0x8000 ? -1.0 : 1.0) * (e == 0x1f ? INFINITY
                                                     : e == 0  ? std::ldexp(double(m), -24)
                                                               : std::ldexp(1024.0 + m, int(e) - 25));
    if (double(f) != want || Half(f).bits != b) {
      FAIL_CHECK("float16 bits " << b << " -> " << f << " (want " << want << ") -> bits " << Half(f).bits);
    }
  }
}

TEST_CASE("bfloat16 conversions keep float's exponent and round the mantissa to nearest even", "[half]") {
  CHECK(BFloat16(1.0f).bits == 0x3f80);
  CHECK(BFloat16(-1.0f).bits == 0xbf80);
  CHECK(BFloat16(1.0f + std::ldexp(1.0f, -8)).bits == 0x3f80);                          // tie: to even
  CHECK(BFloat16(1.0f + std::ldexp(3.0f, -8)).bits == 0x3f82);                          // tie: to even (up)
  CHECK(BFloat16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)).bits == 0x3f81);  // above the tie
  CHECK(BFloat16(3.0e38f).bits == 0x7f62);
  CHECK(BFloat16(3.4e38f).bits == 0x7f80);  // rounds past the largest: infinity
  CHECK(std::isnan(static_cast<float>(BFloat16(std::nanf("")))));
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const BFloat16 h = BFloat16::from_bits(static_cast<uint16_t>(b));
    const float f = h;
    if (std::isnan(f)) continue;
    if (bits_of(f) != b << 16 || BFloat16(f).bits != b) FAIL_CHECK("bfloat16 bits " << b << " do not round-trip");
  }
}

TEST_CASE("16-bit float dtypes: names, sizes, promotion", "[half]") {
  CHECK(dg::element_size(dg::kFloat16) == 2);
  CHECK(dg::element_size(dg::kBFloat16) == 2);
  CHECK(dg::is_floating_point(dg::kHalf));
  CHECK(dg::scalar_type_from_name("bfloat16") == dg::kBFloat16);
  CHECK_THROWS_WITH(dg::scalar_type_from_name("float8"), Contains("float8"));
  CHECK(dg::promote_types(dg::kFloat16, dg::kFloat32) == dg::kFloat32);
  CHECK(dg::promote_types(dg::kInt64, dg::kBFloat16) == dg::kBFloat16);
  CHECK(dg::promote_types(dg::kFloat16, dg::kBFloat16) == dg::kFloat32);  // neither holds the other
  CHECK(dg::promote_types(dg::kBool, dg::kFloat16) == dg::kFloat16);
}

TEST_CASE("CPU tensors of 16-bit floats convert, copy, print and refuse arithmetic clearly", "[half]") {
  dg::Tensor x = dg::tensor({1.0, 0.1, -65519.0, 1e-8});
  dg::Tensor h = x.to(dg::kFloat16);
  CHECK(h.dtype() == dg::kFloat16);
  CHECK(h.element_size() == 2);
  CHECK(h[0].item<double>() == 1.0);
  CHECK(h[1].item<double>() == Approx(0.0999755859375).epsilon(0));  // 0.1 rounded to binary16
  CHECK(h[2].item<double>() == -65504.0);
  CHECK(h[3].item<double>() == Approx(std::ldexp(1.0, -24) * 0).margin(std::ldexp(1.0, -24)));
  CHECK(dg::equal(h.to(dg::kFloat64).to(dg::kFloat16), h));
  dg::Tensor b = x.to(dg::kBFloat16);
  CHECK(b[1].item<double>() == Approx(0.10009765625).epsilon(0));
  CHECK(h.clone().dtype() == dg::kFloat16);
  CHECK(dg::equal(dg::full({2}, 0.5, dg::kBFloat16).to(dg::kFloat32), dg::full({2}, 0.5)));
  CHECK(dg::equal(dg::zeros({2}, dg::kFloat16).to(dg::kFloat32), dg::zeros({2})));
  dg::Tensor r = dg::rand({1000}, dg::kFloat16).to(dg::kFloat64);
  CHECK(r.amin().item<double>() >= 0.0);
  CHECK(r.amax().item<double>() < 1.0);
  std::ostringstream os;
  os << h.slice(0, 0, 2);
  CHECK_THAT(os.str(), Contains("dtype=torch.float16") && Contains("1.0000"));
  CHECK(dg::randn({2}, dg::TensorOptions().dtype(dg::kHalf).requires_grad(true)).requires_grad());
  // Arithmetic on 16-bit floats runs on CUDA; the CPU says so.
  CHECK_THROWS_WITH(h + h, Contains("add") && Contains("float16") && Contains("cpu"));
  CHECK_THROWS_WITH(b.reshape({2, 2}).mm(b.reshape({2, 2})), Contains("mm") && Contains("bfloat16"));
}
