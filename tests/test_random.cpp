// Generators and the random ops: reproducibility from a seed, distinct
// streams, offsets that advance by the values drawn, the distributions'
// moments over 1M draws (loose bounds: about 6 standard errors), the autograd
// rules of in-place ops, CPU-vs-CUDA equality (skipped without a device) and
// the argument errors (messages as PyTorch 1.13's).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using Catch::Matchers::Contains;
using dg::testing::values;

namespace {
struct Moments {
  double mean = 0, var = 0;
};
Moments moments(const Tensor& t) {
  const std::vector<double> v = values(t);
  Moments m;
  for (double x : v) m.mean += x;
  m.mean /= static_cast<double>(v.size());
  for (double x : v) m.var += (x - m.mean) * (x - m.mean);
  m.var /= static_cast<double>(v.size() - 1);
  return m;
}
constexpr int64_t kN = 1000000;
}  // namespace

TEST_CASE("a generator's seed and offset: LibTorch's methods", "[random]") {
  Generator g = dg::make_generator(42);
  CHECK(g.current_seed() == 42);
  CHECK(g.get_offset() == 0);
  Tensor a = dg::rand({10}, g);
  CHECK(g.get_offset() == 10);  // one Philox counter per value drawn
  dg::empty({3, 4}).normal_(0, 1, g);
  CHECK(g.get_offset() == 22);
  g.set_current_seed(42);  // reseeding rewinds
  CHECK(g.get_offset() == 0);
  CHECK(dg::equal(dg::rand({10}, g), a));
  // LibTorch's spellings make the same generator.
  Generator h = dg::detail::createCPUGenerator(42);
  Generator k = dg::make_generator<dg::CPUGeneratorImpl>(42);
  CHECK(dg::equal(dg::rand({10}, h), a));
  CHECK(dg::equal(dg::rand({10}, k), a));
  CHECK(dg::detail::createCPUGenerator().current_seed() == dg::default_rng_seed_val);
  // Copies share the state (a handle, as at::Generator).
  Generator copy = g;
  dg::rand({5}, copy);
  CHECK(g.get_offset() == 15);
}

TEST_CASE("element i of a draw depends only on (seed, offset + i)", "[random]") {
  Generator g = dg::make_generator(7);
  Tensor whole = dg::rand({100}, g, kFloat64);
  Generator h = dg::make_generator(7);
  Tensor first = dg::rand({40}, h, kFloat64);
  Tensor rest = dg::rand({60}, h, kFloat64);
  CHECK(dg::equal(dg::cat({first, rest}), whole));
  // set_offset jumps into the stream.
  Generator j = dg::make_generator(7);
  j.set_offset(40);
  CHECK(dg::equal(dg::rand({60}, j, kFloat64), rest));
  // A non-contiguous target is numbered in its logical order.
  Generator a = dg::make_generator(3), b = dg::make_generator(3);
  Tensor t = dg::zeros({4, 5}, kFloat64).t();  // [5, 4], transposed strides
  t.uniform_(0, 1, a);
  CHECK(dg::equal(t, dg::rand({5, 4}, b, kFloat64)));
}

TEST_CASE("the same seed gives the same values, another seed others", "[random]") {
  dg::manual_seed(123);
  Tensor a = dg::randn({1000});
  dg::manual_seed(123);
  Tensor b = dg::randn({1000});
  dg::manual_seed(124);
  Tensor c = dg::randn({1000});
  CHECK(dg::equal(a, b));
  CHECK_FALSE(dg::allclose(a, c));
  // Two draws in a row from the default generator differ.
  CHECK_FALSE(dg::allclose(dg::rand({100}), dg::rand({100})));
  // float32 and float64 draws of one seed agree to float32's precision.
  Tensor f = dg::rand({100}, dg::make_generator(5), kFloat32);
  Tensor d = dg::rand({100}, dg::make_generator(5), kFloat64);
  CHECK(dg::allclose(f.to(kFloat64), d, 0, 1e-6));
}

TEST_CASE("uniform_, normal_ and rand/randn have the right moments", "[random][stats]") {
  for (ScalarType dt : dg::testing::kBothFloats) {
    INFO(dt);
    Generator g = dg::make_generator(1);
    Tensor u = dg::empty({kN}, dt).uniform_(-2, 3, g);
    const Moments mu = moments(u);
    CHECK(mu.mean == Approx(0.5).margin(0.01));        // (a + b) / 2
    CHECK(mu.var == Approx(25.0 / 12).epsilon(0.01));  // (b - a)^2 / 12
    const std::vector<double> uv = values(u);
    CHECK(*std::min_element(uv.begin(), uv.end()) >= -2);
    CHECK(*std::max_element(uv.begin(), uv.end()) < 3);
    const Moments mn = moments(dg::empty({kN}, dt).normal_(1, 2, g));
    CHECK(mn.mean == Approx(1).margin(0.015));
    CHECK(mn.var == Approx(4).epsilon(0.01));
    const Moments mr = moments(dg::randn({kN}, g, dt));
    CHECK(mr.mean == Approx(0).margin(0.01));
    CHECK(mr.var == Approx(1).epsilon(0.01));
  }
}

TEST_CASE("bernoulli_, exponential_, geometric_, log_normal_, cauchy_ have the right moments", "[random][stats]") {
  Generator g = dg::make_generator(2);
  const Moments b = moments(dg::empty({kN}, kFloat64).bernoulli_(0.3, g));
  CHECK(b.mean == Approx(0.3).margin(0.003));
  CHECK(b.var == Approx(0.21).epsilon(0.01));
  const Moments e = moments(dg::empty({kN}, kFloat64).exponential_(2.0, g));
  CHECK(e.mean == Approx(0.5).margin(0.005));
  CHECK(e.var == Approx(0.25).epsilon(0.02));
  Tensor geo = dg::empty({kN}, kFloat64).geometric_(0.25, g);
  const Moments ge = moments(geo);
  CHECK(ge.mean == Approx(4).margin(0.05));   // 1 / p
  CHECK(ge.var == Approx(12).epsilon(0.03));  // (1 - p) / p^2
  const std::vector<double> gv = values(geo);
  CHECK(*std::min_element(gv.begin(), gv.end()) == 1);  // trials, not failures
  const Moments ln = moments(dg::empty({kN}, kFloat64).log_normal_(0.5, 0.25, g));
  CHECK(ln.mean == Approx(std::exp(0.5 + 0.25 * 0.25 / 2)).epsilon(0.003));
  // Cauchy has no mean: check its median and quartiles (median +- sigma).
  std::vector<double> cv = values(dg::empty({kN}, kFloat64).cauchy_(1.0, 0.5, g));
  std::sort(cv.begin(), cv.end());
  CHECK(cv[kN / 2] == Approx(1.0).margin(0.01));
  CHECK(cv[kN / 4] == Approx(0.5).margin(0.01));
  CHECK(cv[3 * kN / 4] == Approx(1.5).margin(0.01));
  // bernoulli_ with a tensor of probabilities broadcast over rows.
  Tensor p = dg::tensor({0.0, 0.2, 0.9, 1.0}, kFloat64);
  Tensor m = dg::empty({kN / 4, 4}, kFloat32).bernoulli_(p, g);
  const Tensor col = m.mean(0);
  const std::vector<double> cm = values(col);
  CHECK(cm[0] == 0.0);
  CHECK(cm[1] == Approx(0.2).margin(0.006));
  CHECK(cm[2] == Approx(0.9).margin(0.006));
  CHECK(cm[3] == 1.0);
}

TEST_CASE("random_, randint and randperm draw integers in range, uniformly", "[random][stats]") {
  Generator g = dg::make_generator(3);
  Tensor r = dg::empty({kN}, kInt64).random_(-3, 5, g);
  std::vector<double> counts(8, 0);
  for (double v : values(r)) {
    REQUIRE(v >= -3);
    REQUIRE(v < 5);
    counts[static_cast<size_t>(v + 3)] += 1;
  }
  for (double c : counts) CHECK(c / kN == Approx(0.125).margin(0.003));
  CHECK(moments(dg::empty({kN}, kFloat32).random_(10, g)).mean == Approx(4.5).margin(0.03));
  // random_() reaches up to 2^24 for float32.
  std::vector<double> big = values(dg::empty({1000}, kFloat32).random_(g));
  CHECK(*std::max_element(big.begin(), big.end()) > (1 << 23));
  CHECK(*std::max_element(big.begin(), big.end()) <= (1 << 24));
  // randint: int64 as LibTorch (torch::randint's options default to kLong).
  Tensor ri = dg::randint(10, {3, 4});
  CHECK(ri.dtype() == kInt64);
  CHECK(dg::randint(2, 7, {5}, kFloat64).dtype() == kFloat64);
  for (double v : values(dg::randint(2, 7, {1000}, g))) CHECK((v >= 2 && v < 7));
  CHECK(dg::randint_like(dg::zeros({2, 3}, kFloat64), 5).dtype() == kFloat64);
  CHECK(dg::randint_like(dg::zeros({2, 3}), 1, 5).sizes() == IntArrayRef({2, 3}));
  Tensor perm = dg::randperm(1000, g);
  CHECK(perm.dtype() == kInt64);
  std::vector<double> pv = values(perm);
  std::set<double> seen(pv.begin(), pv.end());
  CHECK(seen.size() == 1000);
  CHECK(*seen.begin() == 0);
  CHECK(*seen.rbegin() == 999);
  CHECK_FALSE(dg::equal(perm, dg::arange(1000)));
  CHECK(dg::randperm(0).numel() == 0);
  CHECK(dg::equal(dg::randperm(50, dg::make_generator(9)), dg::randperm(50, dg::make_generator(9))));
}

TEST_CASE("multinomial, bernoulli(p) and normal(mean, std)", "[random][stats]") {
  Generator g = dg::make_generator(4);
  // With replacement: frequencies follow the weights (unnormalised).
  Tensor w = dg::tensor({1.0, 0.0, 3.0, 4.0}, kFloat64);
  Tensor s = dg::multinomial(w, 200000, true, g);
  CHECK(s.dtype() == kInt64);
  std::vector<double> counts(4, 0);
  for (double v : values(s)) counts[static_cast<size_t>(v)] += 1;
  CHECK(counts[1] == 0);
  CHECK(counts[0] / 200000 == Approx(0.125).margin(0.004));
  CHECK(counts[3] / 200000 == Approx(0.5).margin(0.004));
  // Without replacement: distinct categories, none of zero weight.
  Tensor rows = dg::tensor({{1.0, 2.0, 0.0, 1.0}, {0.0, 1.0, 1.0, 1.0}}, kFloat64);
  for (int rep = 0; rep < 50; ++rep) {
    Tensor d = rows.multinomial(3, false, g);
    REQUIRE(d.sizes() == IntArrayRef({2, 3}));
    const std::vector<double> dv = values(d);
    for (int r = 0; r < 2; ++r) {
      std::set<double> row(dv.begin() + 3 * r, dv.begin() + 3 * r + 3);
      CHECK(row.size() == 3);
      CHECK(row.count(r == 0 ? 2.0 : 0.0) == 0);
    }
  }
  // bernoulli(p): p's shape and dtype.
  Tensor p = dg::full({kN}, 0.25, kFloat64);
  Tensor b = dg::bernoulli(p, g);
  CHECK(b.dtype() == kFloat64);
  CHECK(moments(b).mean == Approx(0.25).margin(0.003));
  CHECK(moments(p.bernoulli(0.75, g)).mean == Approx(0.75).margin(0.003));
  // normal with tensor parameters (broadcast) and with sizes.
  Tensor mean = dg::tensor({-5.0, 5.0}, kFloat64).view({1, 2});
  Tensor nt = dg::normal(mean.expand({kN / 2, 2}).contiguous(), 0.5, g);
  const std::vector<double> col = values(nt.mean(0));
  CHECK(col[0] == Approx(-5).margin(0.01));
  CHECK(col[1] == Approx(5).margin(0.01));
  CHECK(moments(dg::normal(2.0, dg::full({kN}, 3.0, kFloat64), g)).var == Approx(9).epsilon(0.01));
  Tensor ntt = dg::normal(mean, dg::full({kN / 2, 1}, 1.0, kFloat64), g);
  CHECK(ntt.sizes() == IntArrayRef({kN / 2, 2}));
  Tensor ns = dg::normal(3.0, 0.1, {kN}, g);
  CHECK(ns.dtype() == kFloat32);
  CHECK(moments(ns).mean == Approx(3).margin(0.001));
  // They record no history (PyTorch gives them zero gradients).
  Tensor lm = dg::zeros({3}, kFloat64).requires_grad_();
  CHECK_FALSE(dg::normal(lm, 1.0, g).requires_grad());
}

TEST_CASE("in-place random ops follow the autograd rules of in-place ops", "[random][autograd]") {
  Tensor leaf = dg::zeros({3}, dg::requires_grad());
  REQUIRE_THROWS_WITH(leaf.uniform_(), Contains("leaf") && Contains("in-place"));
  REQUIRE_THROWS_WITH(leaf.normal_(), Contains("leaf") && Contains("in-place"));
  Tensor y = leaf * 2;
  const auto v0 = y._version();
  y.uniform_();
  CHECK(y._version() == v0 + 1);
  REQUIRE(y.grad_fn());
  CHECK(y.grad_fn()->name() == "UniformBackward0");  // torch 1.13: UniformBackward0
  y.sum().backward();
  CHECK(dg::equal(leaf.grad(), dg::zeros({3})));  // overwritten: zero gradient
  Tensor z = dg::zeros({3});
  z.random_(5);
  z.bernoulli_(0.5);
  CHECK(z._version() == 2);
  // Under no_grad a leaf that requires grad can be initialised (torch::nn::init does this).
  {
    dg::NoGradGuard no_grad;
    leaf.normal_(0, 0.02);
  }
  CHECK(leaf.requires_grad());
}

TEST_CASE("random ops check their arguments", "[random][errors]") {
  Tensor t = dg::zeros({3});
  REQUIRE_THROWS_WITH(t.uniform_(2, 1), Contains("uniform_") && Contains("from=2 > to=1"));
  REQUIRE_THROWS_WITH(t.normal_(0, -1), Contains("normal_") && Contains("std >= 0.0") && Contains("-1"));
  REQUIRE_THROWS_WITH(t.bernoulli_(1.5), Contains("bernoulli_") && Contains("1.5"));
  REQUIRE_THROWS_WITH(t.random_(5, 2), Contains("random_") && Contains("from=5 >= to=2"));
  REQUIRE_THROWS_WITH(t.geometric_(0), Contains("geometric_") && Contains("(0, 1)"));
  REQUIRE_THROWS_WITH(t.exponential_(-1), Contains("exponential_") && Contains("lambda"));
  REQUIRE_THROWS_WITH(t.cauchy_(0, 0), Contains("cauchy_") && Contains("sigma"));
  REQUIRE_THROWS_WITH(t.log_normal_(0, 0), Contains("log_normal_") && Contains("std"));
  REQUIRE_THROWS_WITH(t.bernoulli_(dg::full({2}, 0.5)), Contains("bernoulli_") && Contains("[2]"));
  REQUIRE_THROWS_WITH(t.random_(0, int64_t(1) << 30), Contains("random_") && Contains("float32"));
  REQUIRE_THROWS_WITH(dg::zeros({3}, kInt64).uniform_(), Contains("uniform_") && Contains("int64"));
  REQUIRE_THROWS_WITH(dg::rand({3}, kInt64), Contains("rand") && Contains("floating"));
  REQUIRE_THROWS_WITH(dg::randint(5, 2, {3}), Contains("random_") && Contains("from=5 >= to=2"));
  REQUIRE_THROWS_WITH(dg::randperm(-1), Contains("randperm") && Contains("-1"));
  REQUIRE_THROWS_WITH(dg::rand({3}, Generator()), Contains("undefined"));
  Tensor w = dg::ones({4});
  REQUIRE_THROWS_WITH(dg::multinomial(w, 5), Contains("multinomial") && Contains("without replacement"));
  REQUIRE_THROWS_WITH(dg::multinomial(dg::tensor({1.0, -1.0}), 1), Contains("element < 0"));
  REQUIRE_THROWS_WITH(dg::multinomial(dg::zeros({3}), 1), Contains("sum of probabilities <= 0"));
  REQUIRE_THROWS_WITH(dg::multinomial(dg::ones({2, 2, 2}), 1), Contains("1 or 2 dim"));
  REQUIRE_THROWS_WITH(dg::multinomial(dg::tensor({1.0, 0.0, 0.0}), 2), Contains("not enough"));
  REQUIRE_THROWS_WITH(dg::multinomial(w, 0), Contains("n_sample <= 0"));
  REQUIRE_THROWS_WITH(dg::bernoulli(dg::full({2}, 1.5)), Contains("bernoulli") && Contains("1.5"));
  REQUIRE_THROWS_WITH(dg::normal(dg::zeros({2}), -1.0), Contains("normal") && Contains("std >= 0.0"));
  REQUIRE_THROWS_WITH(dg::normal(0.0, dg::full({2}, -1.0)), Contains("normal") && Contains("std >= 0.0"));
}

TEST_CASE("one seed gives the same values on CPU and CUDA", "[random][cuda]") {
  if (!dg::cuda::is_available()) {
    WARN("CUDA random tests skipped: " << dg::cuda::unavailable_reason());
    return;
  }
  const Device cuda(kCUDA, 0);
  for (ScalarType dt : dg::testing::kBothFloats) {
    INFO(dt);
    auto both = [&](const std::function<void(const Tensor&, Generator&)>& fill) {
      Generator a = dg::make_generator(11), b = dg::make_generator(11);
      Tensor c = dg::empty({1000}, dt), d = dg::empty({1000}, TensorOptions(dt).device(cuda));
      fill(c, a);
      fill(d, b);
      CHECK(a.get_offset() == b.get_offset());
      return dg::allclose(c, d.cpu(), 1e-6, 1e-12);
    };
    CHECK(both([](const Tensor& t, Generator& g) { t.uniform_(-1, 2, g); }));
    CHECK(both([](const Tensor& t, Generator& g) { t.normal_(1, 3, g); }));
    CHECK(both([](const Tensor& t, Generator& g) { t.bernoulli_(0.4, g); }));
    CHECK(both([](const Tensor& t, Generator& g) { t.random_(-10, 10, g); }));
    CHECK(both([](const Tensor& t, Generator& g) { t.exponential_(1.5, g); }));
    CHECK(both([](const Tensor& t, Generator& g) { t.geometric_(0.3, g); }));
    CHECK(both([](const Tensor& t, Generator& g) { t.cauchy_(0, 1, g); }));
    CHECK(both([](const Tensor& t, Generator& g) { t.log_normal_(0, 0.5, g); }));
    CHECK(both([](const Tensor& t, Generator& g) { t.bernoulli_(dg::full({1000}, 0.3).to(t.device()), g); }));
  }
  Tensor ci = dg::empty({1000}, kInt64).random_(dg::make_generator(3));
  Tensor gi = dg::empty({1000}, TensorOptions(kInt64).device(cuda)).random_(dg::make_generator(3));
  CHECK(dg::equal(ci, gi.cpu()));
  CHECK(dg::equal(dg::randperm(100, dg::make_generator(1)),
                  dg::randperm(100, dg::make_generator(1), TensorOptions(kInt64).device(cuda)).cpu()));
  CHECK(dg::equal(dg::multinomial(dg::ones({5}), 3, false, dg::make_generator(1)),
                  dg::multinomial(dg::ones({5}).cuda(), 3, false, dg::make_generator(1)).cpu()));
  // Non-contiguous CUDA target: logical numbering as on the CPU.
  Tensor tc = dg::zeros({4, 5}, kFloat64).t();
  Tensor tg = dg::zeros({4, 5}, TensorOptions(kFloat64).device(cuda)).t();
  tc.uniform_(0, 1, dg::make_generator(8));
  tg.uniform_(0, 1, dg::make_generator(8));
  CHECK(dg::allclose(tc, tg.cpu(), 0, 1e-15));
}
