// Special functions (erfinv, lgamma, digamma, polygamma, i0, special_i1,
// logit, sgn, softsign), the losses kl_div, soft_margin_loss,
// hinge_embedding_loss, margin_ranking_loss, cosine_embedding_loss,
// triplet_margin_loss, poisson_nll_loss, multilabel_soft_margin_loss,
// gaussian_nll_loss, and the scatter family (scatter with and without reduce,
// index_fill, masked_scatter, put, one_hot, renorm, addmv_ & co.): values
// against numbers torch 1.13 (Debian's python3-torch) computes, grad_fn
// names, and the errors on bad input. Gradients are checked by the generated
// gradcheck tests of the ops.yaml samples.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
using Catch::Matchers::Contains;

namespace {
// float32 results are compared with float32's precision.
double tol_of(ScalarType dt) { return dt == kFloat32 ? 2e-6 : 1e-12; }
}  // namespace

TEST_CASE("special functions: values from torch 1.13 in float32 and float64", "[extra][special]") {
  for (ScalarType dt : kBothFloats) {
    const double tol = tol_of(dt);
    // From torch 1.13: torch.erfinv(x), x = [-0.9, -0.3, 0, 0.5, 0.99].
    check_values(dg::erfinv(vals({-0.9, -0.3, 0.0, 0.5, 0.99}, {5}, dt)),
                 {-1.1630871536766743, -0.2724627147267544, 0.0, 0.4769362762044699, 1.8213863677184483},
                 dt == kFloat32 ? 4e-6 : 1e-12);
    const Tensor y = vals({0.1, 0.5, 1.0, 2.5, 7.0, -0.5, -2.5}, {7}, dt);
    // From torch 1.13: lgamma, digamma, polygamma(1, .), polygamma(3, .) of y.
    check_values(dg::lgamma(y),
                 {2.252712651734206, 0.5723649429247001, 0.0, 0.2846828704729192, 6.579251212010101, 1.2655121234846454,
                  -0.05624371649767405},
                 tol);
    check_values(dg::digamma(y),
                 {-10.423754940411076, -1.9635100260214229, -0.5772156649015328, 0.7031566406452431, 1.872784335098467,
                  0.03648997397857639, 1.1031566406452433},
                 dt == kFloat32 ? 2e-6 : 1e-12);
    check_values(dg::polygamma(1, y),
                 {101.43329914989455, 4.934802202073678, 1.6449340676383375, 0.4903577562398206, 0.1535451779624394,
                  8.934802200117687, 9.53924664493752},
                 dt == kFloat32 ? 1e-5 : 1e-10);
    check_values(dg::polygamma(3, y),
                 {60004.512876790235, 97.40909103400242, 6.493939402266829, 0.2239058488172521, 0.007198198563125444,
                  193.40909103400242, 194.74787621918756},
                 dt == kFloat32 ? 1e-5 : 1e-10);
    const Tensor z = vals({-9.0, -1.5, 0.0, 0.5, 3.0, 8.5, 20.0}, {7}, dt);
    // From torch 1.13: torch.i0(z), torch.special.i1(z).
    check_values(dg::i0(z),
                 {1093.5883545113745, 1.6467231897728907, 1.0, 1.0634833707413236, 4.880792585865024, 683.1619269901155,
                  43558282.559553534},
                 dt == kFloat32 ? 4e-6 : 1e-12);
    check_values(dg::special_i1(z),
                 {-1030.9147225169565, -0.9816664285779075, 0.0, 0.25789430539089636, 3.9533702174026093,
                  641.6199025400667, 42454973.385127775},
                 dt == kFloat32 ? 4e-6 : 1e-12);
    // From torch 1.13: torch.logit(p), torch.logit(p, 0.1).
    const Tensor p = vals({0.05, 0.25, 0.5, 0.9}, {4}, dt);
    check_values(dg::logit(p), {-2.9444389791664403, -1.0986122886681098, 0.0, 2.1972245773362196}, tol);
    check_values(p.logit(0.1), {-2.197224577336219, -1.0986122886681098, 0.0, 2.1972245773362196}, tol);
    check_values(dg::sgn(vals({-2.0, 0.0, 3.0}, {3}, dt)), {-1.0, 0.0, 1.0});
    // From torch 1.13: F.softsign([-0.9, -0.3, 0, 0.5, 0.99]).
    check_values(dg::softsign(vals({-0.9, -0.3, 0.0, 0.5, 0.99}, {5}, dt)),
                 {-0.4736842105263158, -0.23076923076923075, 0.0, 0.3333333333333333, 0.49748743718592964}, tol);
  }
}

TEST_CASE("special functions: poles, limits and integer inputs as torch 1.13", "[extra][special]") {
  // From torch 1.13: digamma(0) = -inf, digamma(-0) = inf, digamma(-2) = nan;
  // erfinv(+-1) = +-inf, erfinv(1.5) = nan; lgamma(0) = lgamma(-1) = inf.
  check_values(dg::digamma(t64({0.0, -0.0, -2.0})), {-kInf, kInf, kNaN});
  check_values(dg::erfinv(t64({1.0, -1.0, 1.5})), {kInf, -kInf, kNaN});
  check_values(dg::lgamma(t64({0.0, -1.0})), {kInf, kInf});
  // Integer inputs compute in float32, as in PyTorch.
  CHECK(dg::lgamma(i64({1, 2, 3})).dtype() == kFloat32);
  check_values(dg::lgamma(i64({1, 2, 4})), {0.0, 0.0, std::log(6.0)}, 1e-6);
  // In-place and out= forms.
  Tensor a = t64({0.5, 2.0});
  a.digamma_();
  check_values(a, {-1.9635100260214229, 0.42278433509846713}, 1e-12);
  Tensor out = dg::empty({0}, kFloat64);
  dg::polygamma_out(out, 1, t64({1.0}));
  check_values(out, {1.6449340676383375}, 1e-12);
}

TEST_CASE("special functions: gradients and grad_fn names as LibTorch", "[extra][special]") {
  Tensor x = t64({0.3, 1.7}).requires_grad_();
  CHECK(dg::erfinv(x.tanh() * 0.5).grad_fn()->name() == "ErfinvBackward0");
  CHECK(dg::lgamma(x).grad_fn()->name() == "LgammaBackward0");
  CHECK(dg::digamma(x).grad_fn()->name() == "DigammaBackward0");
  CHECK(dg::polygamma(2, x).grad_fn()->name() == "PolygammaBackward0");
  CHECK(dg::i0(x).grad_fn()->name() == "I0Backward0");
  CHECK(dg::special_i1(x).grad_fn()->name() == "SpecialI1Backward0");
  CHECK(dg::logit(x * 0.5).grad_fn()->name() == "LogitBackward0");
  CHECK(dg::sgn(x).grad_fn()->name() == "SgnBackward0");
  CHECK(dg::softsign(x).grad_fn()->name() == "DivBackward0");
  // lgamma' = digamma, digamma' = trigamma (pi^2 / 6 at 1, to 5e-10 in PyTorch's series too).
  Tensor one = t64({1.0}).requires_grad_();
  dg::digamma(one).sum().backward();
  CHECK(at(one.grad(), 0) == Approx(1.6449340676383375).epsilon(1e-12));  // torch 1.13: polygamma(1, 1)
  // logit with eps: zero gradient where the input was clamped (torch 1.13:
  // x = [-0.1, 0, 1, 0.5, 1.2], eps 0.2 gives [0, 0, 0, 4, 0]).
  Tensor p = t64({-0.1, 0.0, 1.0, 0.5, 1.2}).requires_grad_();
  p.logit(0.2).sum().backward();
  check_values(p.grad(), {0.0, 0.0, 0.0, 4.0, 0.0});
  // Without eps: nan outside [0, 1], inf at its ends (torch 1.13).
  Tensor q = t64({-0.1, 0.0, 1.0, 0.5, 1.2}).requires_grad_();
  q.logit().sum().backward();
  check_values(q.grad(), {kNaN, kInf, kInf, 4.0, kNaN});
}

TEST_CASE("special functions: errors", "[extra][special][errors]") {
  CHECK_THROWS_WITH(dg::polygamma(-1, t64({1.0})), Contains("polygamma") && Contains("n >= 0") && Contains("-1"));
}

namespace {
const Tensor& loss_input() {
  static const Tensor t = t64({0.3, -1.2, 2.0, 0.7, 0.1, -0.4}, {2, 3});
  return t;
}
const Tensor& loss_target() {
  static const Tensor t = t64({0.2, 0.5, 0.3, 0.1, 0.0, 0.9}, {2, 3});
  return t;
}
const Tensor& loss_signs() {
  static const Tensor t = t64({1, -1, 1, -1, -1, 1}, {2, 3});
  return t;
}
}  // namespace

TEST_CASE("losses: values from torch 1.13", "[extra][loss]") {
  const Tensor& i = loss_input();
  const Tensor& t = loss_target();
  const Tensor& s = loss_signs();
  // torch.kl_div(i, t, r), r = Mean, Sum; log_target=True, None.
  CHECK(dg::kl_div(i, t).item<double>() == Approx(-0.18745599790933695).epsilon(1e-12));
  CHECK(dg::kl_div(i, t, Reduction::Sum).item<double>() == Approx(-1.1247359874560217).epsilon(1e-12));
  check_values(dg::kl_div(i, t, Reduction::None, true), {-0.12214027581601695, 2.802826160190218, -2.294759972879205,
                                                         -0.6631025508453886, -0.1, 3.197484044504035});
  // torch._C._nn.soft_margin_loss(i, s, r).
  check_values(dg::soft_margin_loss(i, s, Reduction::None), {0.554355244468527, 0.2632824673380313, 0.1269280110429726,
                                                             1.103186048885458, 0.744396660073571, 0.9130152523999526});
  CHECK(dg::soft_margin_loss(i, s).item<double>() == Approx(0.6175272807014187).epsilon(1e-12));
  CHECK(dg::soft_margin_loss(i, s, Reduction::Sum).item<double>() == Approx(3.7051636842085123).epsilon(1e-12));
  // torch.hinge_embedding_loss(i, s, 0.5, r).
  check_values(dg::hinge_embedding_loss(i, s, 0.5, Reduction::None), {0.3, 1.7, 2.0, 0.0, 0.4, -0.4});
  CHECK(dg::hinge_embedding_loss(i, s, 0.5).item<double>() == Approx(0.6666666666666666).epsilon(1e-12));
  // torch.margin_ranking_loss(i.select(0, 0), i.select(0, 1), s.select(0, 0), 0.2, r).
  check_values(dg::margin_ranking_loss(i.select(0, 0), i.select(0, 1), s.select(0, 0), 0.2, Reduction::None),
               {0.6, 0.0, 0.0});
  CHECK(dg::margin_ranking_loss(i.select(0, 0), i.select(0, 1), s.select(0, 0), 0.2).item<double>() ==
        Approx(0.2).epsilon(1e-12));
  // torch.cosine_embedding_loss(i, t, [1, -1], 0.1, None).
  check_values(dg::cosine_embedding_loss(i, t, t64({1, -1}), 0.1, Reduction::None), {0.9586098608538797, 0.0});
  // torch.triplet_margin_loss(a, i, t, 1, 2, 1e-6, False, None) and p=1, swap=True.
  const Tensor a = t64({0, 1, 2, 1, 1, 1}, {2, 3});
  check_values(dg::triplet_margin_loss(a, i, t, 1.0, 2, 1e-6, false, Reduction::None),
               {1.437104615277429, 1.3420797511190592});
  check_values(dg::triplet_margin_loss(a, i, t, 1.0, 1, 1e-6, true, Reduction::None), {1.1000000000000005, 1.600002});
  // torch.poisson_nll_loss(i, tt, True, False, 1e-8, None) and (|i| + 0.1, tt, False, True).
  const Tensor tt = t64({0, 1, 3, 2, 0.5, 4}, {2, 3});
  check_values(dg::poisson_nll_loss(i, tt, true, false, 1e-8, Reduction::None),
               {1.3498588075760032, 1.5011942119122021, 1.3890560989306504, 0.6137527074704767, 1.0551709180756477,
                2.270320046035639});
  check_values(
      dg::poisson_nll_loss(i.abs() + 0.1, tt, false, true, 1e-8, Reduction::None),
      {0.4, 1.0376357278402013, 1.6382694950692107, 1.8980935622329556, 1.0047189312170508, 6.429851800483962});
  // F.multilabel_soft_margin_loss(i, s > 0, reduction='none'), and with weight [1, 2, 0.5].
  const Tensor labels = s.gt(0).to(kFloat64);
  check_values(dg::multilabel_soft_margin_loss(i, labels, std::nullopt, "none"),
               {0.3148552409498436, 0.9201993204529938});
  CHECK(dg::multilabel_soft_margin_loss(i, labels, t64({1, 2, 0.5})).item<double>() ==
        Approx(0.698811863316442).epsilon(1e-12));
  // F.gaussian_nll_loss(i, t, [0.5, 2], reduction='none'); var [[0.5], [0]] (clamped to eps), full, sum.
  check_values(dg::gaussian_nll_loss(i, t, t64({0.5, 2.0}), false, 1e-6, "none"),
               {-0.33657359027997263, 2.543426409720027, 2.543426409720027, 0.43657359027997267, 0.34907359027997265,
                0.7690735902799727});
  CHECK(dg::gaussian_nll_loss(i, t, t64({0.5, 0.0}, {2, 1}), true, 1e-6, "sum").item<double>() ==
        Approx(1029989.5406445913).epsilon(1e-10));
}

TEST_CASE("losses: float32, and grad_fn names as LibTorch's", "[extra][loss]") {
  const Tensor i = loss_input().to(kFloat32).requires_grad_();
  const Tensor t = loss_target().to(kFloat32);
  const Tensor s = loss_signs().to(kFloat32);
  CHECK(dg::kl_div(i, t).item<float>() == Approx(-0.18745599790933695).epsilon(1e-6));
  CHECK(dg::soft_margin_loss(i, s).item<float>() == Approx(0.6175272807014187).epsilon(1e-6));
  CHECK(dg::kl_div(i, t).grad_fn()->name() == "MeanBackward0");
  CHECK(dg::kl_div(i, t, Reduction::None).grad_fn()->name() == "SubBackward0");
  CHECK(dg::soft_margin_loss(i, s).grad_fn()->name() == "SoftMarginLossBackward0");
  CHECK(dg::soft_margin_loss(i, s, Reduction::None).grad_fn()->name() == "SoftMarginLossBackward0");
  CHECK(dg::hinge_embedding_loss(i, s, 1.0, Reduction::None).grad_fn()->name() == "AddBackward0");
  CHECK(dg::margin_ranking_loss(i, t, s, 0.0, Reduction::None).grad_fn()->name() == "ClampMinBackward0");
  CHECK(dg::triplet_margin_loss(i, t, s, 1.0, 2, 1e-6, false, Reduction::None).grad_fn()->name() ==
        "ClampMinBackward0");
  CHECK(dg::poisson_nll_loss(i, t, true, false, 1e-8, Reduction::Mean).grad_fn()->name() == "MeanBackward0");
  // soft_margin_loss's one node: d/dx log(1 + exp(-t x)) = -t sigmoid(-t x) / N for the mean.
  Tensor x = loss_input().clone().requires_grad_();
  dg::soft_margin_loss(x, loss_signs()).backward();
  const Tensor expected = -loss_signs() * (-loss_input() * loss_signs()).sigmoid() / 6.0;
  CHECK(dg::allclose(x.grad(), expected));
}

TEST_CASE("losses: errors name the op, what was expected and what was given", "[extra][loss][errors]") {
  const Tensor& i = loss_input();
  CHECK_THROWS_WITH(dg::kl_div(i, i, 3), Contains("kl_div") && Contains("reduction 3"));
  CHECK_THROWS_WITH(dg::soft_margin_loss(i, t64({1, 1, 1})), Contains("soft_margin_loss") && Contains("[2, 3]"));
  CHECK_THROWS_WITH(dg::cosine_embedding_loss(i, i, t64({1, 1}, {2, 1})),
                    Contains("cosine_embedding_loss") && Contains("0-dim or 1-dim target"));
  CHECK_THROWS_WITH(dg::cosine_embedding_loss(i, i.select(0, 0), t64({1, 1})),
                    Contains("cosine_embedding_loss") && Contains("2-dim inputs") && Contains("[3]"));
  CHECK_THROWS_WITH(dg::triplet_margin_loss(i, i, i.select(0, 0)),
                    Contains("triplet_margin_loss") && Contains("2-dim, 2-dim and 1-dim"));
  CHECK_THROWS_WITH(dg::multilabel_soft_margin_loss(i, i, std::nullopt, "avg"),
                    Contains("multilabel_soft_margin_loss") && Contains("'avg'"));
  CHECK_THROWS_WITH(dg::gaussian_nll_loss(i, i, dg::ones({3}, kFloat64)),
                    Contains("gaussian_nll_loss") && Contains("var") && Contains("[3]"));
  CHECK_THROWS_WITH(dg::gaussian_nll_loss(i, i, -dg::ones({2}, kFloat64)),
                    Contains("gaussian_nll_loss") && Contains("negative"));
  CHECK_THROWS_WITH(dg::hinge_embedding_loss(i64({1, 2}), i64({1, 1})),
                    Contains("hinge_embedding_loss") && Contains("int64"));
}

TEST_CASE("scatter: src, value and reduce forms against torch 1.13", "[extra][scatter]") {
  for (ScalarType dt : {kFloat32, kFloat64, kInt64}) {
    const Tensor x = iota({3, 4}, dt);
    // torch.scatter(x, 0, [[2, 0, 1, 2]], -ones(1, 4)).
    check_values(x.scatter(0, i64({2, 0, 1, 2}, {1, 4}), -dg::ones({1, 4}, dt)),
                 {0, -1, 2, 3, 4, 5, -1, 7, -1, 9, 10, -1});
    // torch.scatter(x, 1, [[0], [3], [1]], 7.0).
    check_values(dg::scatter(x, 1, i64({0, 3, 1}, {3, 1}), 7), {7, 1, 2, 3, 4, 5, 6, 7, 8, 7, 10, 11});
    const Tensor idx = i64({2, 0, 1, 2, 2, 0, 0, 0}, {2, 4});
    // reduce='add' / 'multiply' with src = 2s, and value 3 with 'multiply'.
    check_values(x.scatter(0, idx, dg::full({2, 4}, 2, dt), "add"), {0, 5, 4, 5, 4, 5, 8, 7, 12, 9, 10, 13});
    check_values(x.scatter(0, idx, dg::full({2, 4}, 2, dt), "multiply"), {0, 4, 4, 6, 4, 5, 12, 7, 32, 9, 10, 22});
    check_values(x.scatter(0, idx, 3, "multiply"), {0, 9, 6, 9, 4, 5, 18, 7, 72, 9, 10, 33});
    // In place.
    Tensor y = x.clone();
    y.scatter_(1, i64({0, 3, 1}, {3, 1}), 7);
    check_values(y, {7, 1, 2, 3, 4, 5, 6, 7, 8, 7, 10, 11});
  }
  // bool tensors scatter too (one_hot's masks).
  Tensor m = dg::zeros({4}, kBool).scatter(0, i64({1, 3}), true);
  CHECK(bools(m) == std::vector<bool>{false, true, false, true});
  // grad_fn names: ScatterBackward0 (src), ScatterBackward1 (value).
  Tensor a = iota({3, 4}).requires_grad_();
  CHECK(a.scatter(0, i64({0, 1, 2, 0}, {1, 4}), t64({1, 2, 3, 4}, {1, 4})).grad_fn()->name() == "ScatterBackward0");
  CHECK(a.scatter(0, i64({0, 1, 2, 0}, {1, 4}), 1.5).grad_fn()->name() == "ScatterBackward1");
}

TEST_CASE("scatter: errors, and no out-of-bounds write", "[extra][scatter][errors]") {
  Tensor x = iota({3, 4});
  const Tensor before = x.clone();
  CHECK_THROWS_WITH(x.scatter_(0, i64({3, 0, 0, 0}, {1, 4}), -dg::ones({1, 4}, kFloat64)),
                    Contains("scatter_") && Contains("3"));
  CHECK_THROWS_WITH(x.scatter(0, i64({-4, 0, 0, 0}, {1, 4}), 1.0), Contains("scatter") && Contains("-4"));
  CHECK(dg::equal(x, before));
  CHECK_THROWS_WITH(x.scatter(0, i64({0, 1, 2, 0}, {1, 4}), dg::ones({1, 2}, kFloat64)),
                    Contains("scatter") && Contains("[1, 4]") && Contains("[1, 2]"));
  CHECK_THROWS_WITH(x.scatter(0, t64({0, 1}, {1, 2}), 1.0), Contains("scatter") && Contains("int64"));
  CHECK_THROWS_WITH(x.scatter(0, i64({0, 1}, {1, 2}), dg::ones({1, 2}, kFloat64), "max"),
                    Contains("scatter") && Contains("'add' or 'multiply'") && Contains("'max'"));
  CHECK_THROWS_WITH(x.scatter(0, i64({0, 1}), 1.0), Contains("scatter") && Contains("dimensions"));
}

TEST_CASE("index_fill, masked_scatter, put, one_hot against torch 1.13", "[extra][scatter]") {
  for (ScalarType dt : {kFloat32, kFloat64}) {
    const Tensor x = iota({3, 4}, dt);
    // torch.index_fill(x, 1, [0, -1, 0], -1).
    check_values(x.index_fill(1, i64({0, -1, 0}), -1), {-1, 1, 2, -1, -1, 5, 6, -1, -1, 9, 10, -1});
    check_values(x.index_fill(0, i64({1}), dg::full({}, 5.0, dt)), {0, 1, 2, 3, 5, 5, 5, 5, 8, 9, 10, 11});
    Tensor y = x.clone();
    y.index_fill_(1, i64({2}), 0.5);
    check_values(y, {0, 1, 0.5, 3, 4, 5, 0.5, 7, 8, 9, 0.5, 11});
    // torch.masked_scatter(x, m, arange(100, 110)).
    const Tensor m = b8({1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0}).view({3, 4});
    const Tensor src = iota({10}, dt, 100);
    check_values(x.masked_scatter(m, src), {100, 1, 101, 3, 4, 5, 6, 102, 103, 104, 10, 11});
    // A broadcast mask [4].
    check_values(x.masked_scatter(b8({0, 1, 0, 1}), src), {0, 100, 2, 101, 4, 102, 6, 103, 8, 104, 10, 105});
    Tensor z = x.clone();
    z.masked_scatter_(m, src);
    check_values(z, {100, 1, 101, 3, 4, 5, 6, 102, 103, 104, 10, 11});
    // torch.put(x, [0, -1, 5], [-1, -2, -3]); accumulate with [0, -1, 0].
    check_values(x.put(i64({0, -1, 5}), vals({-1, -2, -3}, {3}, dt)), {-1, 1, 2, 3, 4, -3, 6, 7, 8, 9, 10, -2});
    check_values(x.put(i64({0, -1, 0}), vals({10, 20, 30}, {3}, dt), true), {40, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 31});
    Tensor w = x.clone();
    w.put_(i64({1}), vals({9}, {1}, dt));
    CHECK(at(w, 1) == 9);
  }
  // F.one_hot([[0, 2], [1, 0]]) and F.one_hot([1], 4).
  const Tensor oh = dg::one_hot(i64({0, 2, 1, 0}, {2, 2}));
  CHECK(oh.dtype() == kInt64);
  CHECK(oh.sizes() == IntArrayRef({2, 2, 3}));
  check_values(oh, {1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0});
  check_values(dg::one_hot(i64({1}), 4), {0, 1, 0, 0});
  CHECK(dg::one_hot(i64({}), 3).sizes() == IntArrayRef({0, 3}));
  // grad_fn names: IndexFillBackward0 / 1 as LibTorch (one node each).
  Tensor a = iota({3, 4}).requires_grad_();
  CHECK(a.index_fill(1, i64({0}), 1.0).grad_fn()->name() == "IndexFillBackward0");
  CHECK(a.index_fill(1, i64({0}), dg::full({}, 1.0, kFloat64)).grad_fn()->name() == "IndexFillBackward1");
}

TEST_CASE("index_fill, masked_scatter, put, one_hot: errors", "[extra][scatter][errors]") {
  Tensor x = iota({3, 4});
  const Tensor before = x.clone();
  CHECK_THROWS_WITH(x.index_fill_(1, i64({4}), 1.0), Contains("index_fill_") && Contains("4") && Contains("size 4"));
  CHECK_THROWS_WITH(x.index_fill(1, i64({0}, {1, 1}), 1.0), Contains("index_fill") && Contains("1-D"));
  CHECK_THROWS_WITH(x.index_fill(1, i64({0}), dg::ones({2}, kFloat64)), Contains("index_fill") && Contains("0-dim"));
  CHECK_THROWS_WITH(x.index_fill(1, t64({0}), 1.0), Contains("index_fill") && Contains("int64"));
  CHECK_THROWS_WITH(x.masked_scatter(b8({1, 1, 1, 1}), dg::ones({2}, kFloat64)),
                    Contains("masked_scatter") && Contains("(12)") && Contains("2 elements"));
  CHECK_THROWS_WITH(x.masked_scatter(dg::ones({4}), dg::ones({12}, kFloat64)),
                    Contains("masked_scatter") && Contains("bool"));
  CHECK_THROWS_WITH(x.put_(i64({12}), t64({1})), Contains("put") && Contains("12") && Contains("12 elements"));
  CHECK_THROWS_WITH(x.put_(i64({-13}), t64({1})), Contains("put") && Contains("-13"));
  CHECK_THROWS_WITH(x.put(i64({1, 2}), t64({1})), Contains("put") && Contains("same number of elements"));
  CHECK(dg::equal(x, before));
  CHECK_THROWS_WITH(dg::one_hot(i64({0, 5}), 3), Contains("one_hot") && Contains("num_classes = 3") && Contains("5"));
  CHECK_THROWS_WITH(dg::one_hot(i64({0, -1}), 3), Contains("one_hot") && Contains(">= 0") && Contains("-1"));
  CHECK_THROWS_WITH(dg::one_hot(i64({})), Contains("one_hot") && Contains("empty"));
  CHECK_THROWS_WITH(dg::one_hot(t64({0})), Contains("one_hot") && Contains("int64") && Contains("float64"));
}

TEST_CASE("renorm and the in-place addmv_, addr_, baddbmm_, addbmm_", "[extra][scatter]") {
  // torch.renorm(x, 2, 0, 5) and torch.renorm(x, 1, 1, 10).
  const Tensor x = iota({3, 4});
  check_values(x.renorm(2, 0, 5.0),
               {0.0, 1.0, 2.0, 3.0, 1.7817415968764803, 2.2271769960956003, 2.6726123953147205, 3.1180477945338403,
                2.090833483028305, 2.352187668406843, 2.613541853785381, 2.8748960391639193});
  check_values(dg::renorm(x, 1, 1, 10.0), {0.0, 0.6666666622222223, 1.1111111049382716, 1.4285714217687073,
                                           3.333333305555556, 3.333333311111111, 3.3333333148148148, 3.3333333174603172,
                                           6.666666611111112, 5.99999996, 5.555555524691358, 5.238095213151928});
  CHECK_THROWS_WITH(x.renorm(2, 0, -1.0), Contains("renorm") && Contains("maxnorm >= 0") && Contains("-1"));
  CHECK_THROWS_WITH(x.renorm(0, 0, 1.0), Contains("renorm") && Contains("p > 0"));
  CHECK_THROWS_WITH(dg::ones({3}).renorm(2, 0, 1.0), Contains("renorm") && Contains("2 dims") && Contains("[3]"));

  const Tensor mat = iota({2, 3}), vec = t64({1, -1, 2});
  Tensor v = t64({1, 2});
  dg::addmv_(v, mat, vec, 0.5, 2);
  check_values(v, values(dg::addmv(t64({1, 2}), mat, vec, 0.5, 2)));
  Tensor r = iota({2, 3});
  r.addr_(t64({1, 2}), vec, 2, 0.5);
  check_values(r, values(dg::addr(iota({2, 3}), t64({1, 2}), vec, 2, 0.5)));
  const Tensor b1 = iota({2, 3, 4}), b2 = iota({2, 4, 2}, kFloat64, -3);
  Tensor bb = iota({2, 3, 2});
  bb.baddbmm_(b1, b2, 0.5, 2);
  check_values(bb, values(dg::baddbmm(iota({2, 3, 2}), b1, b2, 0.5, 2)));
  Tensor ab = iota({3, 2});
  ab.addbmm_(b1, b2);
  check_values(ab, values(dg::addbmm(iota({3, 2}), b1, b2)));
  // self cannot be broadcast up in place.
  Tensor small = t64({1});
  CHECK_THROWS_WITH(small.addmv_(mat, vec), Contains("addmv_") && Contains("[2]") && Contains("[1]"));
}
