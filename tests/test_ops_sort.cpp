// Forward values, tie rules, NaN handling, errors and gradients of the
// sorting and selection family (issue 12). Expected values come from
// torch 1.13 (Debian's python3-torch) unless said otherwise; gradients and
// gradients of gradients of every sample are checked by the generated tests
// (test_ops_generated.cpp), here only what samples cannot express.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
using Catch::Matchers::Contains;

namespace {

// x = [[3, 1, 2, 1], [0.5, nan, -1, 4]], in dtype.
Tensor mixed(ScalarType dtype) { return vals({3, 1, 2, 1, 0.5, kNaN, -1, 4}, {2, 4}, dtype); }

}  // namespace

TEST_CASE("sort: values, stable indices, NaN last, descending", "[ops][sort]") {
  for (ScalarType dt : kBothFloats) {
    auto [v, i] = dg::sort(mixed(dt));
    check_values(v, {1, 1, 2, 3, -1, 0.5, 4, kNaN});
    check_values(i, {1, 3, 2, 0, 2, 0, 3, 1});
    CHECK(i.dtype() == kInt64);
    auto [vd, id] = dg::sort(mixed(dt), 0, true);
    check_values(vd, {3, kNaN, 2, 4, 0.5, 1, -1, 1});
    check_values(id, {0, 1, 0, 1, 1, 0, 1, 0});
    check_values(dg::argsort(mixed(dt), int64_t(1), true), {0, 2, 1, 3, 1, 3, 0, 2});
  }
  // torch.sort(stable=True, descending=True) keeps equal values in order.
  auto [v, i] = dg::sort(t64({2, 1, 2, 1, 2}), /*stable=*/std::optional<bool>(true), 0, true);
  check_values(v, {2, 2, 2, 1, 1});
  check_values(i, {0, 2, 4, 1, 3});
  check_values(dg::argsort(i64({5, -3, 5, 0}), /*stable=*/true), {1, 3, 0, 2});
  // As in LibTorch, `argsort(t, 1)` is ambiguous between dim and stable (an
  // int converts to both int64_t and bool): write the dim as an int64_t.
  check_values(dg::msort(t64({3, 1, 2, 0}, {2, 2})), {2, 0, 3, 1});
  // int64: values keep their dtype, indices as for floats.
  auto [iv, ii] = dg::sort(i64({7, -2, 7, 5}), 0, true);
  check_values(iv, {7, 7, 5, -2});
  check_values(ii, {0, 2, 3, 1});
  CHECK(iv.dtype() == kInt64);
  check_values(std::get<0>(dg::topk(i64({4, 9, 1, 9, 3}), 2)), {9, 9});
  check_values(std::get<1>(dg::cummax(i64({1, 3, 3, 2}), 0)), {0, 1, 2, 2});
  // A transposed input and a 0-dim one.
  check_values(std::get<0>(dg::sort(t64({4, 3, 2, 1}, {2, 2}).t(), 1)), {2, 4, 1, 3});
  check_values(std::get<1>(dg::sort(dg::tensor(5.0, kFloat64))), {0});
}

TEST_CASE("sort and topk of a long line match std::stable_sort", "[ops][sort]") {
  // Long enough for the CPU's split sort; many ties, and NaNs in the second round.
  std::mt19937 gen(7);
  std::uniform_int_distribution<int> pick(0, 999);
  std::vector<double> x(200000);
  for (double& v : x) v = pick(gen);
  for (int round = 0; round < 2; ++round) {
    if (round == 1)
      for (size_t k = 5; k < x.size(); k += 7919) x[k] = kNaN;
    for (bool descending : {false, true}) {
      INFO("round " << round << ", descending " << descending);
      const auto first = [&](int64_t a, int64_t b) {
        const bool na = std::isnan(x[a]), nb = std::isnan(x[b]);
        if (descending) return (na && !nb) || (!na && !nb && x[a] > x[b]);
        return (nb && !na) || (!na && !nb && x[a] < x[b]);
      };
      std::vector<int64_t> order(x.size());
      for (size_t k = 0; k < order.size(); ++k) order[k] = static_cast<int64_t>(k);
      std::stable_sort(order.begin(), order.end(), first);
      const Tensor t = dg::tensor(x, kFloat32);
      const std::vector<double> got = values(dg::argsort(t, int64_t(0), descending));
      bool same = true;
      for (size_t k = 0; k < order.size(); ++k) same = same && got[k] == static_cast<double>(order[k]);
      CHECK(same);
      // topk (few of many: the one-pass path) picks the same first ten.
      const std::vector<double> top = values(std::get<1>(dg::topk(t, 10, 0, descending)));
      for (size_t k = 0; k < top.size(); ++k) CHECK(top[k] == static_cast<double>(order[k]));
    }
  }
}

TEST_CASE("topk and kthvalue", "[ops][sort]") {
  for (ScalarType dt : kBothFloats) {
    auto [v, i] = dg::topk(mixed(dt), 2);
    check_values(v, {3, 2, kNaN, 4});
    check_values(i, {0, 2, 1, 3});
    auto [vs, is] = dg::topk(mixed(dt), 3, -1, /*largest=*/false);
    check_values(vs, {1, 1, 2, -1, 0.5, 4});
    check_values(is, {1, 3, 2, 2, 0, 3});
  }
  check_shape(std::get<0>(dg::topk(dg::zeros({3, 0}), 0, 1)), {3, 0});
  auto [kv, ki] = dg::kthvalue(t64({5, 2, 9, 1, 3, 3, 0, 7}, {2, 4}), 2, 1);
  check_values(kv, {2, 3});
  check_shape(kv, {2});
  CHECK(at(ki, 0) == 1);  // the second row's index (a tie) may differ from PyTorch's
  check_shape(std::get<0>(dg::kthvalue(t64({5, 2, 9, 1}, {2, 2}), 1, 0, true)), {1, 2});
  // Gradient: only the selected elements get one.
  Tensor x = t64({5, 2, 9, 1}).requires_grad_();
  check_values(grad_of(x, std::get<0>(dg::topk(x, 2))), {1, 0, 1, 0});
  CHECK(std::get<0>(dg::topk(x, 2)).grad_fn()->name() == "GatherBackward0");  // LibTorch: TopkBackward0
}

TEST_CASE("median, nanmedian and mode", "[ops][sort]") {
  check_values(dg::median(t64({4, 1, 3, 2})), {2});
  CHECK(dg::median(t64({4, 1, 3, 2})).dim() == 0);
  CHECK(std::isnan(dg::median(t64({1, kNaN, 2})).item<double>()));
  CHECK(std::isnan(dg::median(dg::zeros({0}, kFloat64)).item<double>()));
  // torch 1.13 gives ATen's NaN cast to int64 for no integers.
  CHECK(dg::median(dg::zeros({0}, kInt64)).item<int64_t>() == std::numeric_limits<int64_t>::min());
  check_values(dg::nanmedian(t64({1, kNaN, 2, 5})), {2});
  auto [mv, mi] = dg::median(t64({4, 1, 3, 2, 9, 8, 7, 6}, {2, 4}), 1);
  check_values(mv, {2, 7});
  check_values(mi, {3, 2});
  // A NaN in the line: the median is NaN at the first NaN (PyTorch's rule).
  auto [nv, ni] = dg::median(t64({1, kNaN, 2, kNaN}, {1, 4}), 1, true);
  check_values(nv, {kNaN});
  check_values(ni, {1});
  check_shape(nv, {1, 1});
  auto [nmv, nmi] = dg::nanmedian(t64({kNaN, 1, 3, 2, kNaN, kNaN, kNaN, kNaN}, {2, 4}), 1);
  check_values(nmv, {2, kNaN});
  CHECK(at(nmi, 0) == 3);
  // mode: the smallest most frequent value, at its last occurrence.
  auto [dv, di] = dg::mode(t64({2, 5, 5, 2, 7, 5, 1, 1, 2, 2, 3, 3}, {2, 6}));
  check_values(dv, {5, 1});
  check_values(di, {5, 1});
  auto [iv, ii] = dg::mode(i64({4, 4, 1}), 0, true);
  check_values(iv, {4});
  check_values(ii, {1});
  CHECK(iv.dtype() == kInt64);
}

TEST_CASE("cummax, cummin: ties take the latest index, NaN propagates", "[ops][sort]") {
  Tensor x = t64({1, 3, 2, 3, 5, 2, 1, 1, 0, 0}, {2, 5});
  auto [v, i] = dg::cummax(x, 1);
  check_values(v, {1, 3, 3, 3, 5, 2, 2, 2, 2, 2});
  check_values(i, {0, 1, 1, 3, 4, 0, 0, 0, 0, 0});
  auto [w, j] = dg::cummin(x, 1);
  check_values(w, {1, 1, 1, 1, 1, 2, 1, 1, 0, 0});
  check_values(j, {0, 0, 0, 0, 0, 0, 1, 2, 3, 4});
  auto [nv, ni] = dg::cummax(t64({1, 3, 3, kNaN, 2, kNaN}), 0);
  check_values(nv, {1, 3, 3, kNaN, kNaN, kNaN});
  check_values(ni, {0, 1, 2, 3, 3, 5});
  Tensor g = t64({1, 3, 2, 5}).requires_grad_();
  check_values(grad_of(g, std::get<0>(dg::cummax(g, 0))), {1, 2, 0, 1});
}

TEST_CASE("cumprod and its gradient with zeros", "[ops][sort]") {
  check_values(dg::cumprod(t64({1, 2, 0, 3, 2, 2, 2, 2}, {2, 4}), 1), {1, 2, 0, 0, 2, 4, 8, 16});
  check_values(dg::cumprod(i64({2, 3, 4}), 0), {2, 6, 24});
  // torch 1.13: x = [2, 0, 3, 0, 5], cumprod(x).backward([1, 2, 3, 4, 5]) -> [1, 22, 0, 0, 0].
  Tensor x = t64({2, 0, 3, 0, 5}).requires_grad_();
  Tensor y = dg::cumprod(x, 0);
  CHECK(y.grad_fn()->name() == "CumprodBackward0");
  Tensor g = dg::autograd::grad({y}, {x}, {t64({1, 2, 3, 4, 5})})[0];
  check_values(g, {1, 22, 0, 0, 0});
  // Finite differences (exact for a polynomial) at one zero, two zeros, a
  // zero first and last, to second order.
  for (const std::vector<double>& v :
       {std::vector<double>{0.5, 0, 2, -1.5}, {0, 0.7, -1.2, 0}, {1.1, 0.9, 0.3, 0}, {0, 0, 0, 2}}) {
    Tensor leaf = t64(v, {2, 2}).requires_grad_();
    auto f = [](const variable_list& in) -> variable_list { return {dg::cumprod(in[0].reshape({4}), 0)}; };
    CHECK(dg::autograd::gradcheck(f, {leaf}));
    CHECK(dg::autograd::gradgradcheck(f, {leaf}));
  }
}

TEST_CASE("logcumsumexp is stable at extreme values", "[ops][sort]") {
  check_values(dg::logcumsumexp(t64({-1000, 0, 1000, 1000}), 0), {-1000, 0, 1000, 1000 + std::log(2.0)});
  check_values(dg::logcumsumexp(t64({0, 1, 2, -1, -2, -3}, {2, 3}), 1),
               {0, 1.3132616875182228, 2.4076059644443806, -1, -0.6867383124817772, -0.5923940355556194});
  check_values(dg::logcumsumexp(t64({1, kNaN, 2}), 0), {1, kNaN, kNaN});
  check_values(dg::logcumsumexp(t64({-kInf, -kInf, 1, kInf, kInf, 2}), 0), {-kInf, -kInf, 1, kInf, kInf, kInf});
  Tensor x = t64({-1000, 0, 3}).requires_grad_();
  Tensor y = dg::logcumsumexp(x, 0);
  CHECK(y.grad_fn()->name() == "LogcumsumexpBackward0");
  CHECK(all_finite(grad_of(x, y)));
  auto f = [](const variable_list& in) -> variable_list { return {dg::logcumsumexp(in[0], 1)}; };
  Tensor leaf = t64({0.5, -2, 3, 1, 1, -1}, {2, 3}).requires_grad_();
  CHECK(dg::autograd::gradcheck(f, {leaf}));
  CHECK(dg::autograd::gradgradcheck(f, {leaf}));
}

TEST_CASE("searchsorted and bucketize", "[ops][sort]") {
  Tensor seq = t64({1, 3, 5, 7, 9, 2, 4, 6, 8, 10}, {2, 5});
  Tensor x = t64({3, 6, 9, 3, 6, 9}, {2, 3});
  check_values(dg::searchsorted(seq, x), {1, 3, 4, 1, 2, 4});
  check_values(dg::searchsorted(seq, x, false, true), {2, 3, 5, 1, 3, 4});
  Tensor b = i64({1, 3, 5, 7, 9});
  Tensor xi = i64({3, 6, 9, 3, 6, 9}, {2, 3});
  check_values(dg::bucketize(xi, b), {1, 3, 4, 1, 3, 4});
  check_values(dg::bucketize(xi, b, false, true), {2, 3, 5, 2, 3, 5});
  // Mixed dtypes compare in the wider one (torch gives [0, 1]).
  check_values(dg::searchsorted(t64({1, 2}), i64({1, 2})), {0, 1});
  CHECK(dg::searchsorted(seq, x).dtype() == kInt64);
  // A number: a 0-dim result (torch 1.13: searchsorted([1, 3, 5, 7, 9], 5) = 2, right: 3, 4.5 in ints: 2).
  Tensor one = dg::searchsorted(b, Scalar(5));
  CHECK(one.dim() == 0);
  check_values(one, {2});
  check_values(dg::searchsorted(b, Scalar(5), false, true), {3});
  check_values(dg::searchsorted(b, Scalar(4.5)), {2});
}

TEST_CASE("unique, unique_consecutive, unique_dim", "[ops][sort]") {
  auto [u, inv, cnt] = dg::_unique2(i64({2, 1, 2, 3, 1, 0}, {2, 3}), true, true, true);
  check_values(u, {0, 1, 2, 3});
  check_values(inv, {2, 1, 2, 3, 1, 0});
  check_shape(inv, {2, 3});
  check_values(cnt, {1, 2, 2, 1});
  auto [u0, inv0, cnt0] = dg::unique(t64({3, 1, 3}));
  check_values(u0, {1, 3});
  check_shape(inv0, {0});
  check_shape(cnt0, {0});
  auto [c, cinv, ccnt] = dg::unique_consecutive(i64({1, 1, 2, 2, 3, 1, 1, 2}), true, true);
  check_values(c, {1, 2, 3, 1, 2});
  check_values(cinv, {0, 0, 1, 1, 2, 3, 3, 4});
  check_values(ccnt, {2, 2, 1, 2, 1});
  auto [d, dinv, dcnt] = dg::unique(i64({1, 3, 2, 3, 1, 3, 0, 9}, {4, 2}), true, true, true, 0);
  check_values(d, {0, 9, 1, 3, 2, 3});
  check_values(dinv, {1, 2, 1, 0});
  check_values(dcnt, {1, 2, 1});
  auto [d1, d1inv, d1cnt] = dg::unique_dim(i64({1, 3, 1, 2, 3, 2}, {2, 3}), 1, true, true, true);
  check_values(d1, {1, 3, 2, 3});
  check_values(d1inv, {0, 1, 0});
  check_values(d1cnt, {2, 1});
  auto [e, einv, ecnt] = dg::unique_consecutive(i64({1, 3, 1, 3, 2, 3, 1, 3}, {4, 2}), true, true, 0);
  check_values(e, {1, 3, 2, 3, 1, 3});
  check_values(einv, {0, 0, 1, 2});
  check_values(ecnt, {2, 1, 1});
  check_shape(std::get<0>(dg::_unique2(dg::zeros({0}, kFloat64))), {0});
}

TEST_CASE("sorting and selection: bad input", "[ops][sort][errors]") {
  Tensor x = t64({1, 2, 3, 4}, {2, 2});
  CHECK_THROWS_WITH(dg::sort(x, 2), Contains("sort") && Contains("dim 2 is out of range"));
  CHECK_THROWS_WITH(dg::argsort(x, int64_t(-3)), Contains("argsort") && Contains("out of range"));
  CHECK_THROWS_WITH(dg::topk(x, 3), Contains("topk: selected index k out of range") && Contains("got k = 3"));
  CHECK_THROWS_WITH(dg::topk(x, -1), Contains("topk: selected index k out of range"));
  CHECK_THROWS_WITH(dg::kthvalue(x, 0), Contains("kthvalue: selected number k out of range"));
  CHECK_THROWS_WITH(dg::kthvalue(x, 3, 0), Contains("kthvalue: selected number k out of range for dimension 0"));
  CHECK_THROWS_WITH(dg::median(dg::zeros({2, 0}), 1),
                    Contains("median: expected reduction dim 1 to have non-zero size"));
  CHECK_THROWS_WITH(dg::mode(dg::zeros({0})), Contains("mode: expected reduction dim 0 to have non-zero size"));
  CHECK_THROWS_WITH(dg::bucketize(x, x), Contains("bucketize: expected boundaries to be a 1-D tensor"));
  CHECK_THROWS_WITH(dg::searchsorted(t64({1, 2, 3, 4, 5, 6}, {3, 2}), t64({1, 2}, {2, 1})),
                    Contains("searchsorted") && Contains("sorted_sequence"));
  CHECK_THROWS_WITH(dg::searchsorted(t64({1, 2}), t64({1}), true), Contains("searchsorted: out_int32"));
  CHECK_THROWS_WITH(dg::sort(b8({1, 0})), Contains("_sort_indices") && Contains("got bool"));
  CHECK_THROWS_WITH(dg::logcumsumexp(i64({1, 2}), 0), Contains("logcumsumexp: expected a floating point tensor"));
  CHECK_THROWS_WITH(dg::sort(x, std::nullopt), Contains("sort: expected `stable` to be true or false"));
  CHECK_THROWS_WITH(dg::cummax(x, 5), Contains("cummax") && Contains("out of range"));
}

TEST_CASE("sorting and selection on CUDA match the CPU", "[cuda][ops][sort]") {
  if (!dg::cuda::is_available()) {
    WARN("CUDA sort tests skipped: " << dg::cuda::unavailable_reason());
    return;
  }
  std::mt19937 gen(3);
  std::uniform_int_distribution<int> pick(0, 50);  // ties
  std::vector<double> v(3 * 5000);
  for (double& e : v) e = pick(gen);
  v[17] = kNaN;
  for (ScalarType dt : kBothFloats) {
    const Tensor c = vals(v, {3, 5000}, dt);
    const Tensor g = c.cuda();
    CHECK(close(dg::argsort(g, int64_t(1)).cpu(), dg::argsort(c, int64_t(1)), 0));
    CHECK(close(dg::argsort(g.t(), int64_t(0), true).cpu(), dg::argsort(c.t(), int64_t(0), true), 0));
    CHECK(close(std::get<1>(dg::topk(g, 7, 1)).cpu(), std::get<1>(dg::topk(c, 7, 1)), 0));
    CHECK(close(std::get<1>(dg::median(g, 1)).cpu(), std::get<1>(dg::median(c, 1)), 0));
    CHECK(close(std::get<1>(dg::nanmedian(g, 1)).cpu(), std::get<1>(dg::nanmedian(c, 1)), 0));
    CHECK(close(std::get<1>(dg::mode(g, 1)).cpu(), std::get<1>(dg::mode(c, 1)), 0));
    CHECK(close(std::get<1>(dg::cummax(g, 1)).cpu(), std::get<1>(dg::cummax(c, 1)), 0));
    // Values compared on the rows without the NaN (allclose does not match NaN to NaN).
    const Tensor c1 = c.narrow(0, 1, 2), g1 = c1.cuda();
    CHECK(close(dg::cumprod(g1 / 50 + 0.5, 1).cpu(), dg::cumprod(c1 / 50 + 0.5, 1), 1e-5));
    CHECK(close(dg::logcumsumexp(g1, 1).cpu(), dg::logcumsumexp(c1, 1), 1e-5));
    const Tensor seq = std::get<0>(dg::sort(c.select(0, 1)));
    CHECK(close(dg::searchsorted(seq.cuda(), g).cpu(), dg::searchsorted(seq, c), 0));
    auto [u, inv, cnt] = dg::_unique2(g1, true, true, true);
    auto [uc, invc, cntc] = dg::_unique2(c1, true, true, true);
    CHECK(close(u.cpu(), uc, 0));
    CHECK(close(inv.cpu(), invc, 0));
    CHECK(close(cnt.cpu(), cntc, 0));
  }
}

// Not run by default (`dg_tests "[.sortbench]"`): wall time of the issue's
// bench sizes, for a quick look without tools/bench.
TEST_CASE("sort and topk timings", "[.sortbench]") {
  const Tensor x = dg::randn({1000000}, kFloat32);
  const Tensor m = dg::randn({1000, 1000}, kFloat32);
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    Tensor s = std::get<0>(dg::sort(x));
    const auto t1 = std::chrono::steady_clock::now();
    Tensor k = std::get<0>(dg::topk(m, 10));
    const auto t2 = std::chrono::steady_clock::now();
    const double sort_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    const double topk_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
    WARN("sort 1M float32: " << sort_ms << " ms, topk(10) of 1000x1000: " << topk_ms << " ms");
    CHECK(s.numel() + k.numel() > 0);
  }
}
