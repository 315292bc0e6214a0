// Forward values, errors and numerical stability of the pointwise group's
// ops (issue 4). Gradients are checked generically from the ops.yaml samples
// (test_ops_generated.cpp); here only the cases samples cannot express:
// ties, bounds, huge inputs.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
using Catch::Matchers::Contains;

TEST_CASE("pointwise unary math: values", "[ops][pointwise]") {
  const double pi = 3.14159265358979323846;
  check_values(dg::log2(t64({8.0, 0.5, 1.0})), {3.0, -1.0, 0.0});
  check_values(dg::rsqrt(t64({4.0, 0.25})), {0.5, 2.0});
  check_values(dg::tan(t64({0.0, pi / 4})), {0.0, 1.0});
  check_values(dg::asin(t64({0.5, -1.0})), {pi / 6, -pi / 2});
  check_values(dg::acos(t64({0.5, 1.0})), {pi / 3, 0.0});
  check_values(dg::atan(t64({1.0, -1.0})), {pi / 4, -pi / 4});
  check_values(dg::cosh(t64({0.0, 1.0})), {1.0, 1.5430806348152437});
  check_values(dg::erf(t64({0.0, 0.5, -0.5})), {0.0, 0.5204998778130465, -0.5204998778130465});
  check_values(dg::expm1(t64({0.0, 1.0})), {0.0, 1.718281828459045});
  check_values(dg::log1p(t64({0.0, 1.718281828459045})), {0.0, 1.0});

  Tensor sq = dg::square(dg::tensor({-3, 4}, dg::kInt64));
  CHECK(sq.dtype() == dg::kInt64);
  check_values(sq, {9.0, 16.0});
  check_values(t64({-1.5}).square(), {2.25});

  // Integer inputs compute in float32, like PyTorch.
  Tensor l = dg::log2(dg::tensor({1, 4}, dg::kInt64));
  CHECK(l.dtype() == dg::kFloat32);
  check_values(l, {0.0, 2.0});

  // In place and out= variants.
  Tensor x = t64({0.25, 4.0});
  x.rsqrt_();
  check_values(x, {2.0, 0.5});
  Tensor out = dg::empty({0}, dg::kFloat64);
  dg::atan_out(out, t64({1.0}));
  check_values(out, {pi / 4});
}

TEST_CASE("log1p and expm1 keep their accuracy near zero", "[ops][pointwise][stability]") {
  // log(1 + 1e-10) in double keeps only 7 significant digits; log1p keeps all.
  auto rel = [](double got, double want) { return std::fabs(got - want) / std::fabs(want); };
  const std::vector<double> l = values(dg::log1p(t64({1e-10, -1e-12})));
  CHECK(rel(l[0], 9.9999999995e-11) < 1e-14);
  CHECK(rel(l[1], -1.0000000000005e-12) < 1e-14);
  const std::vector<double> e = values(dg::expm1(t64({1e-10, -1e-12})));
  CHECK(rel(e[0], 1.00000000005e-10) < 1e-14);
  CHECK(rel(e[1], -9.999999999995e-13) < 1e-14);
  Tensor f = dg::tensor({1e-7f}, dg::kFloat32);
  CHECK(std::fabs(dg::expm1(f).item<float>() - 1.00000005e-7f) <= 1e-13f);
  CHECK(std::fabs(dg::log1p(f).item<float>() - 9.9999995e-8f) <= 1e-13f);
}

TEST_CASE("rounding ops: halves to even, integers unchanged, zero gradient", "[ops][pointwise]") {
  Tensor x = t64({-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 1.7, -1.7});
  check_values(dg::floor(x), {-3, -2, -1, 0, 1, 2, 1, -2});
  check_values(dg::ceil(x), {-2, -1, -0.0, 1, 2, 3, 2, -1});
  check_values(dg::round(x), {-2, -2, -0.0, 0, 2, 2, 2, -2});
  check_values(dg::trunc(x), {-2, -1, -0.0, 0, 1, 2, 1, -1});
  Tensor i = dg::tensor({-3, 7}, dg::kInt64);
  CHECK(dg::round(i).dtype() == dg::kInt64);
  check_values(dg::floor(i), {-3, 7});
  check_values(grad_of(x, [](const Tensor& v) { return v.round() * 3; }), {0, 0, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("activations: values", "[ops][pointwise]") {
  Tensor x = t64({-2.0, -0.5, 0.0, 1.0});
  check_values(dg::leaky_relu(x), {-0.02, -0.005, 0.0, 1.0});
  check_values(dg::leaky_relu(x, 0.2), {-0.4, -0.1, 0.0, 1.0});

  // elu: scale * x for x > 0, scale * alpha * (exp(input_scale * x) - 1) else.
  check_values(dg::elu(x), {std::exp(-2.0) - 1, std::exp(-0.5) - 1, 0.0, 1.0});
  check_values(dg::elu(x, 1.5, 2.0, 0.5), {3.0 * (std::exp(-1.0) - 1), 3.0 * (std::exp(-0.25) - 1), 0.0, 2.0});

  check_values(dg::gelu(t64({1.0, -1.0, 0.0})), {0.8413447460685429, -0.15865525393145707, 0.0});
  check_values(dg::gelu(t64({1.0, -1.0, 0.0}), "none"), {0.8413447460685429, -0.15865525393145707, 0.0});
  const double u = 0.7978845608028654 * (1 + 0.044715);
  check_values(dg::gelu(t64({1.0, -1.0}), "tanh"), {0.5 * (1 + std::tanh(u)), -0.5 * (1 - std::tanh(u))});
  // Far in the negative tail gelu is tiny but not a cancelled 0.
  CHECK(dg::gelu(t64({-10.0})).item<double>() < 0);
  CHECK(dg::gelu(t64({-10.0})).item<double>() > -1e-20);

  check_values(dg::silu(t64({1.0, 0.0, -1.0})), {0.7310585786300049, 0.0, -0.2689414213699951});
  check_values(dg::softplus(t64({1.0, 0.0})), {1.3132616875182228, 0.6931471805599453});
  check_values(dg::softplus(t64({1.0}), 2.0), {std::log1p(std::exp(2.0)) / 2});
  // Above threshold (beta * x > threshold) softplus is the identity.
  check_values(dg::softplus(t64({0.75, 0.25}), 2.0, 1.0), {0.75, std::log1p(std::exp(0.5)) / 2});

  Tensor y = t64({-1.0, 2.0});
  y.leaky_relu_(0.5);
  check_values(y, {-0.5, 2.0});
  y.elu_();
  check_values(y, {std::exp(-0.5) - 1, 2.0});
  Tensor z = t64({1.0});
  z.gelu_("tanh");
  check_values(z, {0.5 * (1 + std::tanh(u))});
  z.silu_();
  CHECK(z.item<double>() > 0);

  // The backward helpers match finite differences of the forward.
  Tensor g = t64({1.0, 1.0});
  Tensor p = t64({0.3, -0.7});
  check_values(dg::gelu_backward(g, p, "none"), values((dg::gelu(p + 1e-6) - dg::gelu(p - 1e-6)) / 2e-6), 1e-8);
  check_values(dg::gelu_backward(g, p, "tanh"),
               values((dg::gelu(p + 1e-6, "tanh") - dg::gelu(p - 1e-6, "tanh")) / 2e-6), 1e-8);
  check_values(dg::silu_backward(g, p), values((dg::silu(p + 1e-6) - dg::silu(p - 1e-6)) / 2e-6), 1e-8);
  check_values(dg::softplus_backward(g, p, 2, 20),
               values((dg::softplus(p + 1e-6, 2) - dg::softplus(p - 1e-6, 2)) / 2e-6), 1e-8);
  check_values(dg::elu_backward(g, 1.5, 2.0, 0.5, false, p),
               values((dg::elu(p + 1e-6, 1.5, 2.0, 0.5) - dg::elu(p - 1e-6, 1.5, 2.0, 0.5)) / 2e-6), 1e-8);
  check_values(dg::elu_backward(g, 1.5, 2.0, 0.5, true, dg::elu(p, 1.5, 2.0, 0.5)),
               values(dg::elu_backward(g, 1.5, 2.0, 0.5, false, p)), 1e-12);
  check_values(dg::leaky_relu_backward(g, p, 0.1, false), {1.0, 0.1});
}

TEST_CASE("softplus is finite for inputs of magnitude 1e4", "[ops][pointwise][stability]") {
  for (ScalarType dt : {dg::kFloat64, dg::kFloat32}) {
    INFO(dt);
    Tensor x = dg::tensor({1e4, -1e4, 30.0, -30.0}, dg::kFloat64).to(dt).requires_grad_();
    // Default threshold 20 and a threshold that lets the log-exp branch see 1e4.
    for (double threshold : {20.0, 1e6}) {
      Tensor y = dg::softplus(x, 1, threshold);
      const std::vector<double> v = values(y);
      CHECK(v[0] == Approx(1e4));
      CHECK(v[1] >= 0.0);
      CHECK(v[1] < 1e-30);
      CHECK(v[2] == Approx(30.0));
      CHECK(v[3] == Approx(std::exp(-30.0)).epsilon(1e-4));
      Tensor g = dg::autograd::grad({y.sum()}, {x})[0];
      check_values(g, {1.0, 0.0, 1.0, std::exp(-30.0)}, 1e-5);
    }
  }
  // silu and gelu stay finite too.
  Tensor x = t64({1e4, -1e4}).requires_grad_();
  Tensor s = dg::silu(x) + dg::gelu(x) + dg::gelu(x, "tanh") + dg::elu(x);
  check_values(s, {4e4, -1.0});
  Tensor g = dg::autograd::grad({s.sum()}, {x})[0];
  check_values(g, {4.0, 0.0});
}

TEST_CASE("clamp: values, NaN, bounds and tensor bounds", "[ops][pointwise]") {
  Tensor x = t64({-2.0, -0.5, 0.5, 2.0, kNaN});
  check_values(dg::clamp(x, -1.0, 1.0), {-1.0, -0.5, 0.5, 1.0, kNaN});
  check_values(dg::clamp(x, -1.0), {-1.0, -0.5, 0.5, 2.0, kNaN});
  check_values(dg::clamp(x, std::nullopt, 0.0), {-2.0, -0.5, 0.0, 0.0, kNaN});
  check_values(x.clamp(1.0, -1.0), {-1.0, -1.0, -1.0, -1.0, kNaN});  // min > max: everything is max
  check_values(dg::clamp_min(x, 0.0), {0.0, 0.0, 0.5, 2.0, kNaN});
  check_values(dg::clamp_max(x, 0.0), {-2.0, -0.5, 0.0, 0.0, kNaN});

  Tensor i = dg::tensor({-5, 0, 5}, dg::kInt64);
  Tensor ci = dg::clamp(i, -1, 1);
  CHECK(ci.dtype() == dg::kInt64);
  check_values(ci, {-1, 0, 1});
  i.clamp_(0);
  check_values(i, {0, 0, 5});
  CHECK(dg::clamp_min(dg::tensor({-5, 5}, dg::kInt64), 0.5).dtype() == dg::kFloat32);

  // The gradient passes at a bound (inclusive), like PyTorch.
  check_values(grad_of(t64({-1.0, 0.0, 1.0, 2.0}), [](const Tensor& v) { return v.clamp(-1.0, 1.0); }),
               {1.0, 1.0, 1.0, 0.0});
  check_values(grad_of(t64({-1.0, 0.0}), [](const Tensor& v) { return v.clamp_min(0.0); }), {0.0, 1.0});

  // Tensor bounds broadcast; min applies first, then max.
  Tensor lo = t64({-1.0, 0.0});
  Tensor hi = t64({0.5, 2.0}).view({2, 1});
  Tensor r = dg::clamp(t64({-3.0, 3.0}), lo, hi);
  CHECK(r.sizes() == IntArrayRef({2, 2}));
  check_values(r, {-1.0, 0.5, -1.0, 2.0});
  check_values(dg::clamp(t64({-3.0, 3.0}), std::optional<Tensor>(), std::optional<Tensor>(t64({1.0}))), {-3.0, 1.0});
  check_values(dg::clamp(t64({1.0}), std::optional<Tensor>(t64({kNaN}))), {kNaN});
}

TEST_CASE("maximum and minimum: NaN propagates, ties split the gradient", "[ops][pointwise]") {
  Tensor a = t64({1.0, 5.0, kNaN, 2.0});
  Tensor b = t64({3.0, 4.0, 0.0, kNaN});
  check_values(dg::maximum(a, b), {3.0, 5.0, kNaN, kNaN});
  check_values(dg::minimum(a, b), {1.0, 4.0, kNaN, kNaN});
  check_values(a.maximum(t64({2.0})), {2.0, 5.0, kNaN, 2.0});
  Tensor bi = dg::maximum(dg::tensor({1, 7}, dg::kInt64), dg::tensor({3, 2}, dg::kInt64));
  CHECK(bi.dtype() == dg::kInt64);
  check_values(bi, {3, 7});
  CHECK(dg::maximum(dg::tensor({1, 7}, dg::kInt64), t64({2.5})).dtype() == dg::kFloat64);

  Tensor x = t64({1.0, 2.0, 3.0}).requires_grad_();
  Tensor y = t64({2.0, 2.0, 1.0}).requires_grad_();
  auto g = dg::autograd::grad({dg::maximum(x, y).sum()}, {x, y});
  check_values(g[0], {0.0, 0.5, 1.0});
  check_values(g[1], {1.0, 0.5, 0.0});
  g = dg::autograd::grad({dg::minimum(x, y).sum()}, {x, y});
  check_values(g[0], {1.0, 0.5, 0.0});
  check_values(g[1], {0.0, 0.5, 1.0});
}

TEST_CASE("atan2 and fmod: values and errors", "[ops][pointwise]") {
  const double pi = 3.14159265358979323846;
  check_values(dg::atan2(t64({1.0, 1.0, -1.0, 0.0}), t64({1.0, -1.0, -1.0, -1.0})),
               {pi / 4, 3 * pi / 4, -3 * pi / 4, pi});

  check_values(dg::fmod(t64({5.5, -5.5, 3.0}), 2.0), {1.5, -1.5, 1.0});
  check_values(dg::fmod(t64({5.5, -5.5}), t64({-2.0, 2.0})), {1.5, -1.5});
  Tensor i = dg::tensor(std::vector<int64_t>{7, -7, std::numeric_limits<int64_t>::min()}, dg::kInt64);
  Tensor fi = dg::fmod(i, dg::tensor({3, 3, -1}, dg::kInt64));
  CHECK(fi.dtype() == dg::kInt64);
  check_values(fi, {1, -1, 0});
  check_values(dg::fmod(i, 3), {1, -1, -2});
  CHECK(dg::fmod(dg::tensor({7}, dg::kInt64), 2.5).dtype() == dg::kFloat32);

  REQUIRE_THROWS_WITH(dg::fmod(i, 0), Contains("fmod") && Contains("division by zero"));
  Tensor j = dg::tensor({7, 8}, dg::kInt64);
  REQUIRE_THROWS_WITH(j.fmod_(dg::tensor({2, 0}, dg::kInt64)), Contains("fmod") && Contains("zero"));
  check_values(j, {7, 8});  // untouched
  // A float divisor of zero is NaN, not an error.
  check_values(dg::fmod(t64({1.0}), 0.0), {kNaN});
}

TEST_CASE("comparisons give bool and never require grad", "[ops][pointwise]") {
  Tensor a = t64({1.0, 2.0, 3.0, kNaN}).requires_grad_();
  Tensor b = t64({3.0, 2.0, 1.0, kNaN});
  CHECK(bools(dg::eq(a, b)) == std::vector<bool>{false, true, false, false});
  CHECK(bools(a.ne(b)) == std::vector<bool>{true, false, true, true});
  CHECK(bools(a.lt(b)) == std::vector<bool>{true, false, false, false});
  CHECK(bools(a.le(b)) == std::vector<bool>{true, true, false, false});
  CHECK(bools(a.gt(b)) == std::vector<bool>{false, false, true, false});
  CHECK(bools(a.ge(b)) == std::vector<bool>{false, true, true, false});
  CHECK_FALSE(a.gt(b).requires_grad());
  CHECK(bools(a.ge(2)) == std::vector<bool>{false, true, true, false});
  CHECK(bools(a.eq(2.0)) == std::vector<bool>{false, true, false, false});
  // Mixed dtypes compare in the promoted dtype; numbers too.
  Tensor i = dg::tensor({1, 2, 3}, dg::kInt64);
  CHECK(bools(i.lt(t64({1.5}))) == std::vector<bool>{true, false, false});
  CHECK(bools(i.gt(1.5)) == std::vector<bool>{false, true, true});
  CHECK(bools(i.eq(2)) == std::vector<bool>{false, true, false});
  Tensor m = i.gt(1);
  CHECK(bools(m.eq(dg::tensor({0, 1, 1}, dg::kInt64).gt(0))) == std::vector<bool>{true, true, true});
  // Broadcasting and out=.
  Tensor c = dg::lt(t64({1.0, 3.0}).view({2, 1}), t64({2.0, 4.0}));
  CHECK(c.sizes() == IntArrayRef({2, 2}));
  CHECK(bools(c) == std::vector<bool>{true, true, false, true});
  Tensor out = dg::empty({0}, dg::kBool);
  dg::ge_out(out, t64({1.0, 3.0}), 2.0);
  CHECK(bools(out) == std::vector<bool>{false, true});
  REQUIRE_THROWS_WITH(dg::eq(dg::ones({2}), dg::ones({3})), Contains("eq") && Contains("[2]") && Contains("[3]"));
}

TEST_CASE("logical ops treat nonzero (and NaN) as true", "[ops][pointwise]") {
  Tensor a = t64({0.0, 0.0, 2.0, kNaN});
  Tensor b = dg::tensor({0, 1, 0, 1}, dg::kInt64);
  CHECK(bools(dg::logical_and(a, b)) == std::vector<bool>{false, false, false, true});
  CHECK(bools(dg::logical_or(a, b)) == std::vector<bool>{false, true, true, true});
  CHECK(bools(dg::logical_xor(a, b)) == std::vector<bool>{false, true, true, false});
  CHECK(bools(dg::logical_not(a)) == std::vector<bool>{true, true, false, false});
  CHECK(bools(a.gt(0).logical_not()) == std::vector<bool>{true, true, false, true});
}

TEST_CASE("where: selection, broadcasting, promotion, gradients and errors", "[ops][pointwise]") {
  Tensor cond = t64({1.0, -1.0, 2.0}).gt(0);
  check_values(dg::where(cond, t64({1.0, 2.0, 3.0}), t64({-1.0, -2.0, -3.0})), {1.0, -2.0, 3.0});
  // 0-dim other, int64 self: promoted to float64.
  Tensor w = dg::where(cond, dg::tensor({1, 2, 3}, dg::kInt64), dg::tensor(0.5, dg::kFloat64));
  CHECK(w.dtype() == dg::kFloat64);
  check_values(w, {1.0, 0.5, 3.0});
  Tensor c2 = t64({1.0, -1.0}).view({2, 1}).gt(0);
  Tensor w2 = dg::where(c2, t64({1.0, 2.0}), t64({0.0}));
  CHECK(w2.sizes() == IntArrayRef({2, 2}));
  check_values(w2, {1.0, 2.0, 0.0, 0.0});

  Tensor x = t64({1.0, 2.0}).requires_grad_();
  Tensor y = t64({3.0}).requires_grad_();
  auto g = dg::autograd::grad({dg::where(c2, x, y).sum()}, {x, y});
  check_values(g[0], {1.0, 1.0});
  check_values(g[1], {2.0});

  REQUIRE_THROWS_WITH(dg::where(t64({1.0}), t64({1.0}), t64({2.0})),
                      Contains("where") && Contains("condition") && Contains("bool") && Contains("float64"));
  REQUIRE_THROWS_WITH(dg::where(cond, t64({1.0, 2.0}), t64({2.0})),
                      Contains("where") && Contains("[3]") && Contains("[2]"));
}

TEST_CASE("pointwise group errors name the op and the argument", "[ops][pointwise][errors]") {
  Tensor x = t64({1.0});
  REQUIRE_THROWS_WITH(dg::gelu(x, "exact"), Contains("gelu") && Contains("approximate") && Contains("'exact'"));
  REQUIRE_THROWS_WITH(dg::gelu_backward(x, x, "fast"), Contains("gelu_backward") && Contains("'fast'"));
  REQUIRE_THROWS_WITH(dg::clamp(x, std::optional<Scalar>(), std::optional<Scalar>()),
                      Contains("clamp") && Contains("min") && Contains("max"));
  REQUIRE_THROWS_WITH(dg::clamp(x, std::optional<Tensor>(), std::optional<Tensor>()),
                      Contains("clamp") && Contains("min") && Contains("max"));
  Tensor i = dg::tensor({1, 2}, dg::kInt64);
  REQUIRE_THROWS_WITH(dg::clamp(i, 0.5, 3), Contains("clamp") && Contains("min") && Contains("0.5"));
  REQUIRE_THROWS_WITH(dg::leaky_relu(dg::tensor({1, 2}, dg::kInt64), 1), Contains("leaky_relu") && Contains("int64"));
  REQUIRE_THROWS_WITH(dg::maximum(dg::ones({2}), dg::ones({3})), Contains("maximum") && Contains("[3]"));
  REQUIRE_THROWS_WITH(dg::elu_backward(x, -1.0, 1, 1, true, x), Contains("elu_backward") && Contains("alpha"));
}
