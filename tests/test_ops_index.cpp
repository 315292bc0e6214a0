// Forward values, errors and numerical stability of the index group's ops
// (reductions, linear algebra, shape and indexing; issue 4). Gradients and
// gradients of gradients are checked from the ops.yaml samples
// (test_ops_generated.cpp); here only what samples cannot express: exact
// values, zeros in prod, ties, huge inputs, bad indices.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
using Catch::Matchers::Contains;

// ---- reductions ------------------------------------------------------------------

TEST_CASE("prod values and its gradient with zeros", "[ops][index]") {
  check_values(dg::prod(t64({1, 2, 3, 4}, {2, 2})), {24});
  check_values(dg::prod(t64({1, 2, 3, 4}, {2, 2}), 1), {2, 12});
  check_shape(dg::prod(t64({1, 2, 3, 4}, {2, 2}), 0, true), {1, 2});
  check_values(dg::prod(dg::zeros({0, 3}, kFloat64)), {1});
  check_values(dg::prod(i64({2, 3, 4})), {24});

  Tensor x = t64({2, 3, 4}).requires_grad_();
  check_values(grad_of(x, x.prod()), {12, 8, 6});
  Tensor one_zero = t64({2, 0, 3}).requires_grad_();
  check_values(grad_of(one_zero, one_zero.prod()), {0, 6, 0});
  Tensor two_zeros = t64({0, 5, 0}).requires_grad_();
  check_values(grad_of(two_zeros, two_zeros.prod()), {0, 0, 0});
  // Per row: no zero, one zero, two zeros.
  Tensor m = t64({1, 2, 3, 0, 2, 3, 0, 0, 3}, {3, 3}).requires_grad_();
  check_values(grad_of(m, m.prod(1)), {6, 3, 2, 6, 0, 0, 0, 0, 0});
  // The second derivative through the single zero: d/dx0 of (x0 * x2) at x = (0, 2, 3).
  Tensor z = t64({0, 2, 3}).requires_grad_();
  Tensor g = dg::autograd::grad({z.prod()}, {z}, {}, std::nullopt, /*create_graph=*/true)[0];
  Tensor gg = dg::autograd::grad({g.select(0, 1)}, {z})[0];  // d(x0 * x2)/dx = (x2, 0, x0)
  check_values(gg, {3, 0, 0});
}

TEST_CASE("var and std", "[ops][index]") {
  Tensor x = t64({1, 2, 3, 4});
  check_values(dg::var(x), {5.0 / 3});
  check_values(dg::var(x, {}, 0), {1.25});
  check_values(dg::var(x, {}, true), {5.0 / 3});  // a bool correction reads as `unbiased`
  check_values(dg::std(x, {}, 0), {std::sqrt(1.25)});
  Tensor m = t64({1, 2, 3, 4, 6, 8}, {2, 3});
  check_values(m.var(1), {1, 4});
  check_shape(m.var(0, std::nullopt, true), {1, 3});
  check_values(m.std(1, Scalar(2)), {std::sqrt(2.0), std::sqrt(8.0)});
  // A large mean does not cancel the variance away.
  check_values(dg::var(t64({1e9 + 1, 1e9 + 2, 1e9 + 3})), {1}, 1e-9);
  CHECK_THROWS_WITH(dg::var(i64({1, 2})), Contains("var: expected a floating point tensor, got int64"));
}

TEST_CASE("amax, amin, max, min, argmax, argmin", "[ops][index]") {
  Tensor m = t64({1, 5, 3, 7, 2, 7}, {2, 3});
  check_values(dg::amax(m), {7});
  check_values(dg::amax(m, 1), {5, 7});
  check_values(dg::amin(m, {0, 1}), {1});
  check_shape(dg::amax(m, 0, true), {1, 3});
  auto [v, i] = dg::max(m, 1);
  check_values(v, {5, 7});
  check_values(i, {1, 0});  // the first of the tied 7s
  CHECK(i.dtype() == kInt64);
  auto [vmin, imin] = m.min(0, true);
  check_values(vmin, {1, 2, 3});
  check_values(imin, {0, 1, 0});
  check_values(dg::argmax(m), {3});
  check_values(dg::argmin(m), {0});
  check_shape(dg::argmax(m, std::nullopt, true), {1, 1});
  check_values(dg::argmax(m, -1), {1, 0});
  check_values(dg::max(i64({3, 9, 2})), {9});
  check_values(dg::amax(t64({1, std::nan(""), 3})), {std::nan("")}, 0);  // NaN propagates

  // Ties share the gradient evenly, as PyTorch's amax/amin.
  Tensor x = t64({1, 3, 3}).requires_grad_();
  check_values(grad_of(x, x.amax()), {0, 0.5, 0.5});
  check_values(grad_of(x, x.max()), {0, 0.5, 0.5});
  Tensor y = t64({2, 2, 1, 4}, {2, 2}).requires_grad_();
  check_values(grad_of(y, std::get<0>(y.min(1))), {0.5, 0.5, 1, 0});

  CHECK_THROWS_WITH(dg::amax(dg::zeros({0, 2})), Contains("amax: expected reduction dim 0 to have non-zero size"));
  CHECK_THROWS_WITH(dg::max(dg::zeros({0})), Contains("max: expected a non-empty tensor"));
  CHECK_THROWS_WITH(dg::argmax(m, 2), Contains("argmax: dim 2 is out of range"));
}

TEST_CASE("logsumexp is stable for large inputs", "[ops][index]") {
  check_values(dg::logsumexp(t64({0, 0}), 0), {std::log(2.0)});
  Tensor x = t64({1e4, 1e4, -1e4, 1e4}, {2, 2}).requires_grad_();
  Tensor r = dg::logsumexp(x, 1);
  check_values(r, {1e4 + std::log(2.0), 1e4});
  Tensor g = grad_of(x, r);
  CHECK(all_finite(g));
  check_values(g, {0.5, 0.5, 0, 1});
  check_shape(dg::logsumexp(x, {0, 1}, true), {1, 1});
  check_values(dg::logsumexp(t64({-kInf, -kInf}), 0), {-kInf});
  check_values(dg::logsumexp(t64({kInf, 1}), 0), {kInf});
}

TEST_CASE("norm: p = 2, 1, inf and the gradient at zero", "[ops][index]") {
  Tensor x = t64({3, -4});
  check_values(dg::norm(x), {5});
  check_values(dg::norm(x, 1), {7});
  check_values(dg::norm(x, kInf), {4});
  check_values(dg::norm(x, -kInf), {3});
  check_values(dg::norm(x, 0), {2});
  check_values(dg::norm(t64({3, 4, 6, 8}, {2, 2}), 2, 1), {5, 10});
  check_values(dg::norm(t64({3, 4, 6, 8}, {2, 2}), std::nullopt, 0, true), {std::sqrt(45.0), std::sqrt(80.0)});
  Tensor z = dg::zeros({3}, kFloat64).requires_grad_();
  Tensor g = grad_of(z, dg::norm(z));
  check_values(g, {0, 0, 0});
  Tensor w = t64({3, 4}).requires_grad_();
  check_values(grad_of(w, dg::norm(w)), {0.6, 0.8});
  check_values(grad_of(w, dg::norm(w, kInf)), {0, 1});
}

TEST_CASE("cumsum", "[ops][index]") {
  check_values(dg::cumsum(t64({1, 2, 3}), 0), {1, 3, 6});
  check_values(dg::cumsum(t64({1, 2, 3, 4}, {2, 2}), 0), {1, 2, 4, 6});
  check_values(dg::cumsum(t64({1, 2, 3, 4}, {2, 2}).t(), -1), {1, 4, 2, 6});
  check_values(dg::cumsum(i64({1, 2, 3}), 0), {1, 3, 6});
  Tensor x = t64({1, 2, 3}).requires_grad_();
  check_values(grad_of(x, x.cumsum(0)), {3, 2, 1});
}

// ---- linear algebra ------------------------------------------------------------------

TEST_CASE("addmm, linear, dot, outer; matmul broadcasting", "[ops][index]") {
  Tensor a = t64({1, 2, 3, 4}, {2, 2}), b = t64({5, 6, 7, 8}, {2, 2});
  check_values(dg::addmm(t64({1, 1}), a, b), {20, 23, 44, 51});
  check_values(dg::addmm(t64({1, 1}), a, b, 0.5, 2), {38.5, 44.5, 86.5, 100.5});
  check_values(dg::addmm(t64({std::nan(""), 0}), a, b, 0), {19, 22, 43, 50});  // beta 0 ignores self
  check_values(dg::linear(t64({1, 2}), t64({1, 0, 0, 1, 1, 1}, {3, 2}), t64({0, 0, 10})), {1, 2, 13});
  check_shape(dg::linear(dg::ones({4, 5, 2}, kFloat64), dg::ones({3, 2}, kFloat64)), {4, 5, 3});
  check_values(dg::dot(t64({1, 2, 3}), t64({4, 5, 6})), {32});
  check_values(dg::outer(t64({1, 2}), t64({3, 4, 5})), {3, 4, 5, 6, 8, 10});
  check_shape(dg::matmul(dg::ones({2, 1, 3, 4}), dg::ones({5, 4, 2})), {2, 5, 3, 2});
  check_shape(dg::matmul(dg::ones({4}), dg::ones({2, 4, 3})), {2, 3});
  check_shape(dg::matmul(dg::ones({2, 3, 4}), dg::ones({4})), {2, 3});
  check_shape(dg::matmul(dg::ones({3, 4}), dg::ones({2, 1, 4, 5})), {2, 1, 3, 5});
  check_values(dg::matmul(dg::ones({2, 1, 3, 4}), dg::ones({5, 4, 2})).sum(), {2 * 5 * 3 * 2 * 4});

  CHECK_THROWS_WITH(dg::dot(t64({1, 2}), t64({1, 2, 3})), Contains("dot: expected self and tensor of the same size"));
  CHECK_THROWS_WITH(dg::addmm(dg::ones({3}), dg::ones({2, 2}), dg::ones({2, 2})),
                    Contains("addmm: self of shape [3] cannot be broadcast"));
  CHECK_THROWS_WITH(dg::linear(dg::ones({2, 3}), dg::ones({4, 2})), Contains("linear: input's last dimension (3)"));
}

// ---- indexing ----------------------------------------------------------------------

TEST_CASE("index_select, gather, scatter_add, index_add", "[ops][index]") {
  Tensor m = t64({1, 2, 3, 4, 5, 6}, {2, 3});
  check_values(m.index_select(1, i64({2, 0, 2})), {3, 1, 3, 6, 4, 6});
  check_values(m.index_select(0, i64({1})), {4, 5, 6});
  check_shape(m.index_select(0, i64({}, {0})), {0, 3});
  check_values(m.gather(1, i64({2, 0, 1, 1}, {2, 2})), {3, 1, 5, 5});
  check_values(m.t().gather(0, i64({1, 0}, {1, 2})), {2, 4});
  check_values(dg::zeros({2, 3}, kFloat64).scatter_add(1, i64({0, 0, 2, 1}, {2, 2}), t64({1, 2, 3, 4}, {2, 2})),
               {3, 0, 0, 0, 4, 3});
  check_values(dg::zeros({3}, kFloat64).index_add(0, i64({2, 2, 0}), t64({1, 2, 3})), {3, 0, 3});
  check_values(dg::zeros({2, 2}, kFloat64).index_add(1, i64({1}), t64({1, 2}, {2, 1}), 2), {0, 2, 0, 4});

  Tensor s = dg::zeros({3}, kFloat64);
  s.index_add_(0, i64({1, 1}), t64({1, 2}));
  check_values(s, {0, 3, 0});
  s.scatter_add_(0, i64({0}), t64({5}));
  check_values(s, {5, 3, 0});
  CHECK(s._version() == 2);
}

TEST_CASE("index errors name the op and the argument, and write nothing", "[ops][index][errors]") {
  Tensor m = dg::zeros({3, 4}, kFloat64);
  CHECK_THROWS_WITH(m.gather(1, t64({0}, {1, 1})), Contains("gather: expected index of dtype int64, got float64"));
  CHECK_THROWS_WITH(m.gather(1, i64({7}, {1, 1})),
                    Contains("gather: index 7 is out of range for dimension 1 of size 4"));
  CHECK_THROWS_WITH(m.gather(1, i64({-1}, {1, 1})), Contains("gather: index -1 is out of range"));
  CHECK_THROWS_WITH(m.gather(0, i64({0, 0, 0, 0, 0}, {1, 5})), Contains("gather: index of shape [1, 5] is larger"));
  CHECK_THROWS_WITH(m.index_select(0, i64({3})),
                    Contains("index_select: index 3 is out of range for dimension 0 of size 3"));
  CHECK_THROWS_WITH(m.index_select(0, i64({0}, {1, 1})), Contains("index_select: expected index to be a 1-D"));
  CHECK_THROWS_WITH(m.index_select(2, i64({0})), Contains("index_select: dim 2 is out of range"));

  Tensor before = m.clone();
  CHECK_THROWS_WITH(m.scatter_add_(0, i64({0, 5}, {1, 2}), dg::ones({1, 2}, kFloat64)),
                    Contains("scatter_add_: index 5 is out of range for dimension 0 of size 3"));
  CHECK_THROWS_WITH(m.index_add_(1, i64({0, 9}), dg::ones({3, 2}, kFloat64)),
                    Contains("index_add_: index 9 is out of range for dimension 1 of size 4"));
  CHECK_THROWS_WITH(m.index_add(1, i64({0}), dg::ones({3, 2}, kFloat64)),
                    Contains("index_add: expected source of shape [3, 4] with dimension 1 of size 1"));
  CHECK_THROWS_WITH(m.scatter_add(0, i64({0}, {1, 1}), dg::ones({1, 1}, kFloat32)),
                    Contains("scatter_add: expected src of self's dtype float64, got float32"));
  CHECK(dg::equal(m, before));
  CHECK(m._version() == 0);
}

TEST_CASE("masked_fill", "[ops][index]") {
  Tensor x = t64({1, 2, 3, 4}, {2, 2});
  check_values(x.masked_fill(b8({1, 0}), -1.5), {-1.5, 2, -1.5, 4});
  check_values(x.masked_fill(b8({0, 1}), dg::tensor(9.0, kFloat64)), {1, 9, 3, 9});
  check_shape(t64({1, 2}).masked_fill(b8({1, 0, 0, 1}).reshape({2, 2}), 0), {2, 2});
  check_values(i64({1, 2}).masked_fill(b8({0, 1}), 7), {1, 7});
  CHECK(i64({1, 2}).masked_fill(b8({0, 1}), 7).dtype() == kInt64);
  Tensor y = x.clone();
  y.masked_fill_(b8({1, 1, 0, 0}).reshape({2, 2}), 0);
  check_values(y, {0, 0, 3, 4});
  // value's gradient is the sum of grad where the mask holds.
  Tensor v = dg::tensor(2.0, kFloat64).requires_grad_();
  check_values(grad_of(v, x.masked_fill(b8({1, 0}), v)), {2});

  CHECK_THROWS_WITH(x.masked_fill(t64({1, 0}), 0), Contains("masked_fill: expected mask of dtype bool, got float64"));
  CHECK_THROWS_WITH(x.masked_fill(b8({1, 0}), t64({1, 2})),
                    Contains("masked_fill: expected value to be a 0-dim tensor"));
  CHECK_THROWS_WITH(t64({1, 2}).masked_fill_(b8({1, 0, 0, 1}).reshape({2, 2}), 0), Contains("masked_fill_:"));
}

// ---- shape -------------------------------------------------------------------------

TEST_CASE("cat and stack", "[ops][index]") {
  Tensor a = t64({1, 2, 3, 4}, {2, 2}), b = t64({5, 6}, {1, 2});
  check_values(dg::cat({a, b}), {1, 2, 3, 4, 5, 6});
  check_values(dg::cat({a, b.t()}, 1), {1, 2, 5, 3, 4, 6});
  check_values(dg::cat({a, dg::zeros({0}, kFloat64), b}), {1, 2, 3, 4, 5, 6});  // legacy: 1-D empty skipped
  CHECK(dg::cat({i64({1}), t64({2})}).dtype() == kFloat64);
  check_values(dg::stack({t64({1, 2}), t64({3, 4})}), {1, 2, 3, 4});
  check_values(dg::stack({t64({1, 2}), t64({3, 4})}, 1), {1, 3, 2, 4});
  check_shape(dg::stack({t64({1, 2}), t64({3, 4})}, -1), {2, 2});
  Tensor x = t64({1, 2}).requires_grad_();
  Tensor y = t64({3}).requires_grad_();
  auto g = dg::autograd::grad({(dg::cat({x, y}) * t64({1, 2, 3})).sum()}, {x, y});
  check_values(g[0], {1, 2});
  check_values(g[1], {3});
  CHECK_THROWS_WITH(dg::cat({a, t64({1, 2, 3}, {1, 3})}),
                    Contains("cat: sizes of tensors must match except in dimension 0"));
  CHECK_THROWS_WITH(dg::cat({}), Contains("cat: expected a non-empty list"));
  CHECK_THROWS_WITH(dg::stack({t64({1, 2}), t64({1})}), Contains("stack: expected each tensor to be of equal size"));
}

TEST_CASE("repeat, flip, roll, tril, triu, pad", "[ops][index]") {
  Tensor a = t64({1, 2, 3, 4}, {2, 2});
  check_values(t64({1, 2}).repeat({2, 2}), {1, 2, 1, 2, 1, 2, 1, 2});
  check_shape(a.repeat({1, 2, 3}), {1, 4, 6});
  check_values(a.repeat({2, 1}), {1, 2, 3, 4, 1, 2, 3, 4});
  CHECK_THROWS_WITH(a.repeat({2}), Contains("repeat: the number of repeats (1) can not be smaller"));

  check_values(a.flip(0), {3, 4, 1, 2});
  check_values(a.flip({0, 1}), {4, 3, 2, 1});
  check_values(a.t().flip(1), {3, 1, 4, 2});
  CHECK_THROWS_WITH(a.flip({0, 0}), Contains("flip: dim 0 appears more than once"));

  check_values(dg::roll(t64({1, 2, 3, 4}), 1), {4, 1, 2, 3});
  check_values(dg::roll(a, -1), {2, 3, 4, 1});
  check_values(dg::roll(a, 1, 1), {2, 1, 4, 3});
  check_values(dg::roll(a, {1, 1}, {0, 1}), {4, 3, 2, 1});
  CHECK_THROWS_WITH(dg::roll(a, {1, 2}, {0}), Contains("roll: expected shifts and dims of the same length"));

  Tensor s = t64({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3});
  check_values(s.tril(), {1, 0, 0, 4, 5, 0, 7, 8, 9});
  check_values(s.triu(1), {0, 2, 3, 0, 0, 6, 0, 0, 0});
  check_values(s.tril(-1), {0, 0, 0, 4, 0, 0, 7, 8, 0});
  Tensor u = s.clone();
  u.triu_();
  check_values(u, {1, 2, 3, 0, 5, 6, 0, 0, 9});
  CHECK_THROWS_WITH(t64({1, 2}).tril(), Contains("tril: expected a tensor of at least 2 dimensions"));

  check_values(dg::pad(t64({1, 2}), {1, 2}), {0, 1, 2, 0, 0});
  check_values(dg::pad(a, {0, 1, 1, 0}, "constant", 9.0), {9, 9, 9, 1, 2, 9, 3, 4, 9});
  check_values(dg::pad(t64({1, 2, 3, 4}), {-1, -2}, "constant"), {2});
  CHECK_THROWS_WITH(dg::pad(a, {1, 1}, "reflect"), Contains("pad: mode 'reflect' is not supported"));
  CHECK_THROWS_WITH(dg::pad(a, {1}, "constant"), Contains("pad: expected an even number of padding values"));
  Tensor x = t64({1, 2, 3}).requires_grad_();
  check_values(grad_of(x, dg::pad(x, {1, -1}, "constant") * t64({5, 6, 7})), {6, 7, 0});
}
