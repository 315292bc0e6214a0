// dg::autograd::functional against finite differences in float64 (central,
// computed here without autograd) and against each other's definitions.
#include <catch2/catch.hpp>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
namespace F = dg::autograd::functional;
using Catch::Matchers::Contains;

namespace {
// d f(x) / d x by central differences: shape f(x).sizes() + x.sizes().
Tensor numeric_jacobian(const std::function<Tensor(const Tensor&)>& f, const Tensor& x, double eps = 1e-6) {
  NoGradGuard no_grad;
  Tensor x0 = x.detach().clone();
  Tensor y0 = f(x0);
  const int64_t n = x0.numel(), m = y0.numel();
  Tensor jac = dg::zeros({m, n}, kFloat64);
  for (int64_t k = 0; k < n; ++k) {
    Tensor xp = x0.clone(), xm = x0.clone();
    xp.view({-1})[k].add_(eps);
    xm.view({-1})[k].sub_(eps);
    jac.select(1, k).copy_(((f(xp) - f(xm)) / (2 * eps)).reshape({-1}));
  }
  std::vector<int64_t> shape(y0.sizes().begin(), y0.sizes().end());
  shape.insert(shape.end(), x0.sizes().begin(), x0.sizes().end());
  return jac.view(shape);
}

Tensor mix(const Tensor& x) {  // R^3 -> R^2, nonlinear in every input
  return dg::stack({x[0] * x[1] + dg::sin(x[2]), dg::exp(x[0]) * x[2] * x[2]});
}
Tensor scalar_fn(const Tensor& x) { return (x.pow(3) * dg::cos(x)).sum() + x[0] * x[1]; }
}  // namespace

TEST_CASE("vjp and jvp match the numeric Jacobian", "[functional]") {
  Tensor x = dg::randn({3}, kFloat64);
  Tensor u = dg::randn({2}, kFloat64), v = dg::randn({3}, kFloat64);
  const Tensor J = numeric_jacobian(mix, x);
  auto [out, vjp] = F::vjp(mix, x, u);
  CHECK(close(out, mix(x), 0));
  CHECK_FALSE(out.requires_grad());
  CHECK(close(vjp, dg::matmul(u, J), 1e-7));
  auto [out2, jvp] = F::jvp(mix, x, v);
  CHECK(close(jvp, dg::matmul(J, v), 1e-7));
  CHECK_FALSE(x.grad().defined());  // the user's tensor is not touched
}

TEST_CASE("jacobian, reverse and forward strategies, one tensor and lists", "[functional]") {
  Tensor x = dg::randn({3}, kFloat64);
  const Tensor J = numeric_jacobian(mix, x);
  CHECK(close(F::jacobian(mix, x), J, 1e-7));
  CHECK(close(F::jacobian(mix, x, false, false, true, "forward-mode"), J, 1e-7));

  Tensor a = dg::randn({2, 2}, kFloat64), b = dg::randn({2}, kFloat64);
  auto fn = [](const variable_list& in) { return variable_list{dg::matmul(in[0], in[1]).tanh(), in[1].exp()}; };
  for (const char* strategy : {"reverse-mode", "forward-mode"}) {
    auto j = F::jacobian(fn, {a, b}, false, false, false, strategy);
    REQUIRE(j.size() == 2);
    REQUIRE(j[0].size() == 2);
    check_shape(j[0][0], {2, 2, 2});
    check_shape(j[0][1], {2, 2});
    check_shape(j[1][0], {2, 2, 2});
    CHECK(close(j[0][0], numeric_jacobian([&](const Tensor& t) { return dg::matmul(t, b).tanh(); }, a), 1e-7));
    CHECK(close(j[0][1], numeric_jacobian([&](const Tensor& t) { return dg::matmul(a, t).tanh(); }, b), 1e-7));
    CHECK(close(j[1][0], dg::zeros({2, 2, 2}, kFloat64), 0));  // exp(b) does not depend on a
    CHECK(close(j[1][1], numeric_jacobian([](const Tensor& t) { return t.exp(); }, b), 1e-7));
  }
  CHECK_THROWS_WITH(F::jacobian(fn, {a, b}, false, /*strict=*/true), Contains("independent of input 0"));
  CHECK_THROWS_WITH(F::jacobian(mix, x, false, false, false, "sideways"), Contains("forward-mode"));
}

TEST_CASE("hessian, hvp and vhp match finite differences of the gradient", "[functional]") {
  Tensor x = dg::randn({4}, kFloat64);
  auto grad_fn = [](const Tensor& t) {
    Tensor l = t.detach().requires_grad_();
    EnableGradGuard on;
    return autograd::grad({scalar_fn(l)}, {l})[0].detach();
  };
  const Tensor H = numeric_jacobian(grad_fn, x);
  CHECK(close(F::hessian(scalar_fn, x), H, 1e-6));
  CHECK(close(F::hessian(scalar_fn, x, false, false, false, "forward-mode"), H, 1e-6));
  Tensor v = dg::randn({4}, kFloat64);
  auto [o1, hv] = F::hvp(scalar_fn, x, v);
  auto [o2, vh] = F::vhp(scalar_fn, x, v);
  CHECK(close(o1, scalar_fn(x), 0));
  CHECK(close(hv, dg::matmul(H, v), 1e-6));
  CHECK(close(vh, dg::matmul(v, H), 1e-6));

  // Lists: two inputs, blocks [i][j].
  Tensor a = dg::randn({2}, kFloat64), b = dg::randn({3}, kFloat64);
  auto f2 = [](const variable_list& in) { return (in[0].pow(2).sum() * in[1].sin().sum()); };
  auto h = F::hessian(f2, {a, b});
  check_shape(h[0][1], {2, 3});
  auto g_a_of_b = [&](const Tensor& t) {
    Tensor la = a.detach().requires_grad_();
    EnableGradGuard on;
    return autograd::grad({f2({la, t})}, {la})[0].detach();
  };
  CHECK(close(h[0][1], numeric_jacobian(g_a_of_b, b), 1e-6));
  CHECK(close(h[1][0], h[0][1].t(), 1e-10));
  CHECK_THROWS_WITH(F::hessian(mix, x), Contains("single element"));
}

TEST_CASE("functional: create_graph results can be differentiated again; bad v refused", "[functional]") {
  Tensor x = leaf({3});
  auto [out, g] = F::vjp([](const Tensor& t) { return (t.pow(3)).sum(); }, x, {}, /*create_graph=*/true);
  REQUIRE(g.requires_grad());
  Tensor gg = autograd::grad({g.sum()}, {x})[0];  // d/dx sum(3x^2) = 6x
  CHECK(close(gg, x.detach() * 6, 1e-12));
  CHECK_FALSE(x.grad().defined());

  CHECK_THROWS_WITH(F::vjp(mix, x, dg::ones({3}, kFloat64)), Contains("mismatch in shape"));
  CHECK_THROWS_WITH(F::vjp(mix, x), Contains("can only be omitted"));
  CHECK_THROWS_WITH(
      F::jvp([](const Tensor&) { return dg::ones({2}, kFloat64); }, x, dg::ones({3}, kFloat64), false, true),
      Contains("independent of input 0"));
  // Not strict: an independent output's jvp is zero.
  auto [o, j] = F::jvp([](const Tensor& t) { return dg::ones({2}, kFloat64); }, x, dg::ones({3}, kFloat64));
  CHECK(close(j, dg::zeros({2}, kFloat64), 0));
}
