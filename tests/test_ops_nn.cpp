// Neural-network functions: forward values against hand-computed ones, the
// error messages, and stability for inputs of magnitude 1e4.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
using Catch::Matchers::Contains;

TEST_CASE("softmax and log_softmax: values, any dim, 0-dim", "[nn]") {
  Tensor x = t64({0.0, std::log(2.0), std::log(5.0)});
  Tensor s = dg::softmax(x, 0);
  CHECK(at(s, 0) == Approx(1.0 / 8));
  CHECK(at(s, 1) == Approx(2.0 / 8));
  CHECK(at(s, 2) == Approx(5.0 / 8));
  Tensor ls = x.log_softmax(-1);
  CHECK(at(ls, 2) == Approx(std::log(5.0 / 8)));
  // dim 0 of a [2, 2]: columns sum to one.
  Tensor m = dg::tensor({{1.0, 2.0}, {3.0, 2.0}}, TensorOptions().dtype(kFloat64));
  Tensor sm = dg::softmax(m, 0);
  CHECK(at(sm, 0) == Approx(1.0 / (1.0 + std::exp(2.0))));
  CHECK(at(sm, 1) == Approx(0.5));
  CHECK(dg::softmax(dg::tensor(3.0), 0).item<double>() == 1.0);
  CHECK_THROWS_WITH(dg::softmax(m, 2), Contains("softmax: dim 2 is out of range"));
  CHECK_THROWS_WITH(dg::softmax(i64({1, 2}), 0), Contains("softmax: expected self to be a floating point tensor"));
}

TEST_CASE("softmax, log_softmax and cross_entropy are finite for inputs of magnitude 1e4", "[nn]") {
  for (ScalarType dt : {kFloat32, kFloat64}) {
    Tensor x = dg::tensor({1e4, -1e4, 0.0, 1e4 - 1.0}, TensorOptions().dtype(dt)).view({1, 4}).requires_grad_();
    Tensor ls = dg::log_softmax(x, 1);
    CHECK(all_finite(ls));
    CHECK(at(ls, 1) == Approx(-2e4 - std::log1p(std::exp(-1.0))).epsilon(1e-6));
    CHECK(at(ls, 0) == Approx(-std::log1p(std::exp(-1.0))).epsilon(1e-5));
    Tensor s = dg::softmax(x, 1);
    CHECK(all_finite(s));
    Tensor loss = dg::cross_entropy(x, i64({1}), std::nullopt, -100, "mean");
    CHECK(loss.item<double>() == Approx(2e4 + std::log1p(std::exp(-1.0))).epsilon(1e-6));
    loss.backward();
    CHECK(all_finite(x.grad()));
    CHECK(at(x.grad(), 1) == Approx(-1.0));
  }
}

TEST_CASE("nll_loss: reductions, weights, ignore_index, errors", "[nn]") {
  Tensor lp = dg::tensor({{-1.0, -2.0, -3.0}, {-4.0, -5.0, -6.0}}, TensorOptions().dtype(kFloat64));
  Tensor t = i64({2, 0});
  CHECK(dg::nll_loss(lp, t, std::nullopt, dg::Reduction::Mean, -100).item<double>() == Approx(3.5));
  CHECK(dg::nll_loss(lp, t, std::nullopt, dg::Reduction::Sum, -100).item<double>() == Approx(7.0));
  Tensor none = dg::nll_loss(lp, t, std::nullopt, dg::Reduction::None, -100);
  CHECK(none.sizes() == IntArrayRef{2});
  CHECK(at(none, 0) == 3.0);
  // Weighted mean: (3 * 0.5 + 4 * 2) / (0.5 + 2).
  Tensor w = t64({2.0, 1.0, 0.5});
  CHECK(dg::nll_loss(lp, t, w, dg::Reduction::Mean, -100).item<double>() == Approx((1.5 + 8.0) / 2.5));
  // Ignored targets count neither in the sum nor in the mean's denominator.
  CHECK(dg::nll_loss(lp, i64({2, 7}), std::nullopt, dg::Reduction::Mean, 7).item<double>() == Approx(3.0));
  // [C] input with a 0-dim target.
  Tensor one = dg::nll_loss(t64({-1.0, -2.0}), i64({1}).view({}), std::nullopt, dg::Reduction::None, -100);
  CHECK(one.dim() == 0);
  CHECK(one.item<double>() == 2.0);
  CHECK_THROWS_WITH(dg::nll_loss(lp, i64({3, 0}), std::nullopt, dg::Reduction::Mean, -100),
                    Contains("nll_loss: target 3 is out of range for input with 3 classes"));
  CHECK_THROWS_WITH(dg::nll_loss(lp, i64({-1, 0}), std::nullopt, dg::Reduction::Mean, -100),
                    Contains("target -1 is out of range"));
  CHECK_THROWS_WITH(
      dg::nll_loss(lp, t, std::nullopt, 5),
      Contains("nll_loss: reduction 5 is not a valid value (expected Reduction::None (0), Reduction::Mean "
               "(1) or Reduction::Sum (2))"));
  CHECK_THROWS_WITH(dg::nll_loss(lp, i64({1, 2, 0}), std::nullopt, dg::Reduction::Mean, -100),
                    Contains("nll_loss: expected target of shape [2]"));
  CHECK_THROWS_WITH(dg::nll_loss(lp, lp, std::nullopt, dg::Reduction::Mean, -100),
                    Contains("nll_loss: expected target of dtype int64 (class indices), got float64"));
  CHECK_THROWS_WITH(dg::nll_loss(lp, t, t64({1.0}), dg::Reduction::Mean, -100),
                    Contains("nll_loss: expected weight of shape [3]"));
}

TEST_CASE("cross_entropy: class indices, probabilities, label smoothing", "[nn]") {
  Tensor x = dg::tensor({{1.0, 2.0, 3.0}, {1.0, 1.0, 1.0}}, TensorOptions().dtype(kFloat64));
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double lse1 = 1.0 + std::log(3.0);
  Tensor t = i64({0, 2});
  CHECK(dg::cross_entropy(x, t, std::nullopt, -100, "mean").item<double>() ==
        Approx(((lse0 - 1.0) + (lse1 - 1.0)) / 2));
  // Probability targets: -sum(p * log_softmax).
  Tensor p = dg::tensor({{0.5, 0.5, 0.0}, {0.0, 0.0, 1.0}}, TensorOptions().dtype(kFloat64));
  CHECK(dg::cross_entropy(x, p, std::nullopt, -100, "sum").item<double>() ==
        Approx(0.5 * (lse0 - 1.0) + 0.5 * (lse0 - 2.0) + (lse1 - 1.0)));
  // Smoothing eps: (1 - eps) * nll + eps / C * sum_c(-log_softmax).
  const double eps = 0.3;
  Tensor r = dg::cross_entropy(x, t, std::nullopt, -100, "none", eps);
  const double smooth0 = (3 * lse0 - 6.0) / 3;
  CHECK(at(r, 0) == Approx((1 - eps) * (lse0 - 1.0) + eps * smooth0));
  // Smoothing of probability targets mixes in the uniform distribution.
  Tensor rp = dg::cross_entropy(x, p, std::nullopt, -100, "none", eps);
  CHECK(at(rp, 1) == Approx((1 - eps) * (lse1 - 1.0) + eps * (lse1 - 1.0)));
  CHECK_THROWS_WITH(dg::cross_entropy(x, t, std::nullopt, -100, "mean", 1.5),
                    Contains("cross_entropy: label_smoothing must be between 0.0 and 1.0, got 1.5"));
  CHECK_THROWS_WITH(dg::cross_entropy(x, p.view({3, 2}), std::nullopt, -100, "mean"),
                    Contains("cross_entropy: expected probability target of the input's shape [2, 3]"));
}

TEST_CASE("mse, l1, smooth_l1 losses", "[nn]") {
  Tensor a = t64({1.0, 2.0, -3.0}), b = t64({0.0, 4.0, -3.5});
  CHECK(dg::mse_loss(a, b, dg::Reduction::Mean).item<double>() == Approx((1.0 + 4.0 + 0.25) / 3));
  CHECK(dg::l1_loss(a, b, dg::Reduction::Sum).item<double>() == Approx(3.5));
  Tensor s = dg::smooth_l1_loss(a, b, dg::Reduction::None, 1.0);
  CHECK(at(s, 0) == Approx(0.5));    // |d| = 1: the two pieces meet
  CHECK(at(s, 1) == Approx(1.5));    // 2 - 0.5
  CHECK(at(s, 2) == Approx(0.125));  // 0.5 * 0.25
  CHECK(dg::smooth_l1_loss(a, b, dg::Reduction::Sum, 0.0).item<double>() == Approx(3.5));
  CHECK_THROWS_WITH(dg::mse_loss(a, b, 3), Contains("mse_loss: reduction 3 is not a valid value"));
  CHECK_THROWS_WITH(dg::cross_entropy(a.view({1, 3}), i64({0}), std::nullopt, -100, "Mean"),
                    Contains("cross_entropy: reduction 'Mean' is not a valid value"));
}

TEST_CASE("binary_cross_entropy and the stable with_logits form", "[nn]") {
  Tensor x = t64({0.25, 0.5}), y = t64({1.0, 0.0});
  CHECK(dg::binary_cross_entropy(x, y, std::nullopt, dg::Reduction::Mean).item<double>() ==
        Approx((-std::log(0.25) - std::log(0.5)) / 2));
  // p == 0 with target 1: the log is clamped at -100, as PyTorch does.
  CHECK(dg::binary_cross_entropy(t64({0.0}), t64({1.0}), std::nullopt, dg::Reduction::Sum).item<double>() ==
        Approx(100.0));
  CHECK_THROWS_WITH(dg::binary_cross_entropy(t64({1.5}), t64({1.0}), std::nullopt, dg::Reduction::Sum),
                    Contains("binary_cross_entropy: expected every element of input in [0, 1], got 1.5"));
  Tensor z = t64({0.0, 2.0});
  const double s2 = 1.0 / (1.0 + std::exp(-2.0));
  Tensor l = dg::binary_cross_entropy_with_logits(z, y, std::nullopt, std::nullopt, dg::Reduction::None);
  CHECK(at(l, 0) == Approx(std::log(2.0)));
  CHECK(at(l, 1) == Approx(-std::log(1 - s2)));
  Tensor lp = dg::binary_cross_entropy_with_logits(z, y, std::nullopt, t64({3.0}), dg::Reduction::None);
  CHECK(at(lp, 0) == Approx(3 * std::log(2.0)));
  // Logits of magnitude 1e4: finite loss and gradient in both dtypes.
  for (ScalarType dt : {kFloat32, kFloat64}) {
    Tensor big = dg::tensor({1e4, -1e4, 1e4, -1e4}, TensorOptions().dtype(dt)).requires_grad_();
    Tensor tgt = dg::tensor({1.0, 0.0, 0.0, 1.0}, TensorOptions().dtype(dt));
    Tensor loss = dg::binary_cross_entropy_with_logits(big, tgt, std::nullopt, std::nullopt, dg::Reduction::None);
    CHECK(all_finite(loss));
    CHECK(at(loss, 0) == Approx(0.0).margin(1e-6));
    CHECK(at(loss, 2) == Approx(1e4));
    loss.sum().backward();
    CHECK(all_finite(big.grad()));
    CHECK(at(big.grad(), 2) == Approx(1.0));
    CHECK(at(big.grad(), 3) == Approx(-1.0));
    CHECK(all_finite(dg::log_sigmoid(big)));
  }
}

TEST_CASE("dropout: statistics, same mask in backward, eval identity, p checked", "[nn]") {
  dg::manual_seed(7);
  Tensor x = dg::ones({20000}, TensorOptions().dtype(kFloat64)).requires_grad_();
  Tensor y = dg::dropout(x, 0.25, true);
  const double kept = at(y.ne(0.0).to(kFloat64).sum(), 0) / 20000.0;
  CHECK(kept == Approx(0.75).margin(0.015));
  CHECK(y.mean().item<double>() == Approx(1.0).margin(0.03));
  y.sum().backward();
  // Gradient 1 / (1 - p) exactly at the kept units, 0 at the dropped ones.
  CHECK(dg::equal(x.grad(), y.detach()));
  CHECK(dg::dropout(x, 0.25, false).is_same(x));
  CHECK(at(dg::dropout(x, 1.0, true).abs().sum(), 0) == 0.0);
  CHECK_THROWS_WITH(dg::dropout(x, 1.5), Contains("dropout: probability p has to be between 0 and 1, got 1.5"));
  // The same seed draws the same mask.
  dg::manual_seed(3);
  Tensor a = dg::dropout(x.detach(), 0.5);
  dg::manual_seed(3);
  CHECK(dg::equal(a, dg::dropout(x.detach(), 0.5)));
}

TEST_CASE("embedding: lookup, padding_idx gets no gradient, errors", "[nn]") {
  Tensor w = dg::tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, TensorOptions().dtype(kFloat64)).requires_grad_();
  Tensor idx = i64({2, 0, 2, 1}).view({2, 2});
  Tensor e = dg::embedding(w, idx, /*padding_idx=*/1);
  CHECK(e.sizes() == IntArrayRef{2, 2, 2});
  CHECK(at(e, 0) == 5.0);
  CHECK(at(e, 7) == 4.0);  // the padding row is still looked up
  e.sum().backward();
  CHECK(dg::equal(w.grad(), dg::tensor({{1.0, 1.0}, {0.0, 0.0}, {2.0, 2.0}}, TensorOptions().dtype(kFloat64))));
  Tensor w2 = w.detach().clone().requires_grad_();
  dg::embedding(w2, idx, -1, /*scale_grad_by_freq=*/true).sum().backward();
  CHECK(at(w2.grad(), 4) == Approx(1.0));  // row 2 seen twice, each gradient halved
  CHECK_THROWS_WITH(dg::embedding(w, i64({0, 3})),
                    Contains("embedding: index 3 is out of range for weight with 3 rows (expected 0..2)"));
  CHECK_THROWS_WITH(dg::embedding(w, t64({0.0})), Contains("embedding: expected indices of dtype int64, got float64"));
  CHECK_THROWS_WITH(dg::embedding(w, idx, -1, false, true), Contains("embedding: sparse=True"));
}

TEST_CASE("layer_norm, group_norm, batch_norm: values and running statistics", "[nn]") {
  Tensor x = dg::tensor({{1.0, 2.0, 3.0, 4.0}, {2.0, 2.0, 2.0, 6.0}}, TensorOptions().dtype(kFloat64));
  Tensor y = dg::layer_norm(x, {4}, std::nullopt, std::nullopt, 0.0);
  // Row 0: mean 2.5, biased var 1.25.
  CHECK(at(y, 0) == Approx(-1.5 / std::sqrt(1.25)));
  CHECK(at(y, 7) == Approx(3.0 / std::sqrt(3.0)));  // row 1: mean 3, var 3
  Tensor yw = dg::layer_norm(x, {4}, t64({2.0, 2.0, 2.0, 2.0}), t64({1.0, 1.0, 1.0, 1.0}), 0.0);
  CHECK(at(yw, 0) == Approx(1.0 - 3.0 / std::sqrt(1.25)));
  CHECK_THROWS_WITH(dg::layer_norm(x, {3}), Contains("layer_norm: expected input with trailing dimensions"));

  // group_norm with one group per pair of channels equals layer_norm over them.
  Tensor g = dg::group_norm(x.view({2, 2, 2}), 2, std::nullopt, std::nullopt, 0.0);
  CHECK(at(g, 0) == Approx(-1.0));
  CHECK(at(g, 1) == Approx(1.0));
  CHECK_THROWS_WITH(dg::group_norm(x.view({2, 4, 1}), 3),
                    Contains("group_norm: expected num_groups to divide the 4 channels, got num_groups 3"));

  // batch_norm over the batch: channel 0 sees {1, 2}.
  Tensor rm = dg::zeros({4}, TensorOptions().dtype(kFloat64));
  Tensor rv = dg::ones({4}, TensorOptions().dtype(kFloat64));
  Tensor b = dg::batch_norm(x, rm, rv, std::nullopt, std::nullopt, true, 0.1, 0.0);
  CHECK(at(b, 0) == Approx(-1.0));
  CHECK(at(b, 4) == Approx(1.0));
  CHECK(at(rm, 0) == Approx(0.1 * 1.5));
  CHECK(at(rv, 0) == Approx(0.9 + 0.1 * 0.5));  // unbiased var of {1, 2} is 0.5
  CHECK(at(rv, 1) == Approx(0.9));              // channel 1 sees {2, 2}
  Tensor ev = dg::batch_norm(x, rm, rv, std::nullopt, std::nullopt, false, 0.1, 0.0);
  CHECK(at(ev, 0) == Approx((1.0 - 0.15) / std::sqrt(0.95)));
  CHECK_THROWS_WITH(dg::batch_norm(x.narrow(0, 0, 1), rm, rv, std::nullopt, std::nullopt, true),
                    Contains("batch_norm: expected more than 1 value per channel when training"));
  CHECK_THROWS_WITH(dg::batch_norm(x, std::nullopt, std::nullopt),
                    Contains("batch_norm: running_mean and running_var are required when training=False"));
}

TEST_CASE("scaled_dot_product_attention: uniform scores, causal and bool masks", "[nn]") {
  Tensor q = dg::zeros({2, 3}, TensorOptions().dtype(kFloat64));
  Tensor k = dg::zeros({2, 3}, TensorOptions().dtype(kFloat64));
  Tensor v = dg::tensor({{1.0, 2.0}, {3.0, 4.0}}, TensorOptions().dtype(kFloat64));
  Tensor o = dg::scaled_dot_product_attention(q, k, v);
  CHECK(at(o, 0) == Approx(2.0));  // equal scores average the values
  Tensor c = dg::scaled_dot_product_attention(q, k, v, std::nullopt, 0.0, true);
  CHECK(at(c, 0) == Approx(1.0));  // query 0 sees key 0 only
  CHECK(at(c, 2) == Approx(2.0));
  Tensor keep = dg::tensor({{0.0, 1.0}, {1.0, 1.0}}, TensorOptions().dtype(kFloat64)).ne(0.0);
  Tensor m = dg::scaled_dot_product_attention(q, k, v, keep);
  CHECK(at(m, 0) == Approx(3.0));
  CHECK_THROWS_WITH(dg::scaled_dot_product_attention(q, k, v, keep, 0.0, true),
                    Contains("attn_mask must not be given when is_causal=True"));
  CHECK_THROWS_WITH(dg::scaled_dot_product_attention(q, k.view({3, 2}), v),
                    Contains("expected query and key with the same embedding size"));
}

TEST_CASE("losses take PyTorch's defaults (reduction=\"mean\", weight=None, ignore_index=-100)", "[nn]") {
  Tensor a = dg::tensor({1.0, 2.0, 4.0});
  Tensor b = dg::tensor({0.0, 2.0, 1.0});
  CHECK(dg::mse_loss(a, b).item<double>() == Approx((1.0 + 0.0 + 9.0) / 3));
  CHECK(dg::l1_loss(a, b).item<double>() == Approx((1.0 + 0.0 + 3.0) / 3));
  Tensor logits = dg::tensor({{2.0, 0.0}, {0.0, 1.0}});
  Tensor target = dg::tensor(std::vector<int64_t>{0, 1});
  Tensor expected = dg::cross_entropy(logits, target, std::nullopt, -100, "mean");
  CHECK(dg::cross_entropy(logits, target).item<double>() == Approx(expected.item<double>()));
  CHECK(dg::pad(dg::ones({2}), {1, 1}).sizes() == IntArrayRef({4}));
}
