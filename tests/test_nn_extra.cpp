// Issue 12's neural-network functions: upsampling, pixel_shuffle, cdist,
// im2col / col2im, 1-D / 3-D / adaptive pooling, conv3d, instance_norm and
// the dropout variants. Values against numbers torch 1.13 computes (quoted
// from it, rounded to the digits shown), or against an independent
// computation; gradients come from the generated gradcheck tests.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
using Catch::Matchers::Contains;

namespace {
// [[1, 2, 3], [4, 5, 6]] as [1, 1, 2, 3].
Tensor img23(ScalarType dt) { return iota({1, 1, 2, 3}, dt, 1); }
}  // namespace

TEST_CASE("upsample 2-D: bilinear, bicubic and nearest match torch 1.13", "[nn_extra]") {
  for (ScalarType dt : kBothFloats) {
    const double tol = dt == kFloat32 ? 1e-6 : 1e-12;
    const Tensor x = img23(dt);
    // torch.ops.aten.upsample_bilinear2d(x, [3, 4], False / True)
    check_values(dg::upsample_bilinear2d(x, {3, 4}, false),
                 {1.0, 1.625, 2.375, 3.0, 2.5, 3.125, 3.875, 4.5, 4.0, 4.625, 5.375, 6.0}, tol);
    check_values(dg::upsample_bilinear2d(x, {3, 4}, true),
                 {1.0, 5.0 / 3, 7.0 / 3, 3.0, 2.5, 19.0 / 6, 23.0 / 6, 4.5, 4.0, 14.0 / 3, 16.0 / 3, 6.0}, tol);
    // torch.ops.aten.upsample_bicubic2d(x, [3, 4], False / True)
    check_values(
        dg::upsample_bicubic2d(x, {3, 4}, false),
        {0.6678059895833343, 1.2693684895833344, 2.2097981770833344, 2.8113606770833344, 2.42822265625, 3.02978515625,
         3.97021484375, 4.57177734375, 4.188639322916669, 4.790201822916668, 5.730631510416668, 6.332194010416668},
        tol);
    check_values(dg::upsample_bicubic2d(x, {3, 4}, true),
                 {1.0, 1.5740740740740737, 2.4259259259259265, 3.0, 2.5, 3.074074074074074, 3.925925925925927, 4.5, 4.0,
                  4.5740740740740735, 5.425925925925927, 6.0},
                 tol);
    // torch.ops.aten.upsample_nearest2d(x, [3, 5]) and with scales (1.3, 0.6)
    check_values(dg::upsample_nearest2d(x, {3, 5}), {1, 1, 2, 2, 3, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6});
    check_values(dg::upsample_nearest2d(x, {3, 5}, 1.3, 0.6), {1, 2, 3, 3, 3, 1, 2, 3, 3, 3, 4, 5, 6, 6, 6});
  }
}

TEST_CASE("upsample 1-D: linear (with align_corners and scales) and nearest match torch 1.13", "[nn_extra]") {
  for (ScalarType dt : kBothFloats) {
    const double tol = dt == kFloat32 ? 1e-6 : 1e-12;
    const Tensor y = vals({1, 2, 4}, {1, 1, 3}, dt);
    check_values(dg::upsample_linear1d(y, {5}, false), {1.0, 1.4, 2.0, 3.2, 4.0}, tol);
    check_values(dg::upsample_linear1d(y, {5}, true), {1.0, 1.5, 2.0, 3.0, 4.0}, tol);
    check_values(dg::upsample_linear1d(y, {5}, false, 2.0), {1.0, 1.25, 1.75, 2.5, 3.5}, tol);
    check_values(dg::upsample_nearest1d(y, {7}), {1, 1, 1, 2, 2, 4, 4});
    CHECK(dg::upsample_linear1d(y, {5}, false).dtype() == dt);
  }
}

TEST_CASE("upsample backwards match torch 1.13 and record their grad_fn", "[nn_extra]") {
  const Tensor g = iota({1, 1, 3, 4}, kFloat64, 1);
  // torch.ops.aten.upsample_bilinear2d_backward(g, [3, 4], [1, 1, 2, 3], False)
  check_values(dg::upsample_bilinear2d_backward(g, {3, 4}, {1, 1, 2, 3}, false),
               {5.375, 7.1875, 10.4375, 16.375, 17.1875, 21.4375});
  // torch.ops.aten.upsample_bicubic2d_backward(g, [3, 4], [1, 1, 2, 3], True)
  check_values(dg::upsample_bicubic2d_backward(g, {3, 4}, {1, 1, 2, 3}, true),
               {4.351851851851849, 9.157407407407408, 9.490740740740742, 13.981481481481472, 21.89814814814815,
                19.120370370370374},
               1e-12);
  Tensor x = img23(kFloat64).requires_grad_();
  Tensor y = dg::upsample_bilinear2d(x, {4, 5}, false);
  CHECK(y.grad_fn()->name() == "UpsampleBilinear2dBackward0");
  y.sum().backward();
  // Each output distributes weight 1 over its taps: the gradient sums to the output count.
  CHECK(x.grad().sum().item<double>() == Approx(20.0));
  CHECK(dg::upsample_nearest1d(iota({1, 2, 3}).requires_grad_(), {6}).grad_fn()->name() ==
        "UpsampleNearest1dBackward0");
}

TEST_CASE("upsample: a batch of zero samples and non-contiguous inputs", "[nn_extra]") {
  check_shape(dg::upsample_bilinear2d(dg::zeros({0, 2, 3, 3}), {5, 5}, false), {0, 2, 5, 5});
  const Tensor x = dg::randn({2, 3, 4, 5}, kFloat64);
  const Tensor xt = x.transpose(2, 3).contiguous().transpose(2, 3);
  CHECK(close(dg::upsample_bicubic2d(xt, {7, 3}, false), dg::upsample_bicubic2d(x, {7, 3}, false), 1e-12));
}

TEST_CASE("upsample: errors name the op, what is expected and what was given", "[nn_extra]") {
  CHECK_THROWS_WITH(dg::upsample_bilinear2d(dg::ones({2, 3, 4}), {5, 5}, false),
                    Contains("upsample_bilinear2d") && Contains("4 dims") && Contains("[2, 3, 4]"));
  CHECK_THROWS_WITH(dg::upsample_nearest2d(dg::ones({1, 1, 2, 2}), {3}),
                    Contains("upsample_nearest2d") && Contains("output_size to have 2 values") && Contains("[3]"));
  CHECK_THROWS_WITH(dg::upsample_linear1d(dg::ones({1, 1, 2}), {0}, false),
                    Contains("upsample_linear1d") && Contains("positive output_size"));
  CHECK_THROWS_WITH(dg::upsample_bicubic2d_backward(dg::ones({1, 1, 3, 3}), {3, 4}, {1, 1, 2, 2}, false),
                    Contains("upsample_bicubic2d_backward") && Contains("[1, 1, 3, 4]") && Contains("[1, 1, 3, 3]"));
}

TEST_CASE("pixel_shuffle and pixel_unshuffle: torch 1.13's layout, inverse of each other", "[nn_extra]") {
  // torch.pixel_shuffle(torch.arange(8.).view(1, 8, 1, 1), 2) is [1, 2, 2, 2] of 0..7.
  const Tensor ps = dg::pixel_shuffle(iota({1, 8, 1, 1}), 2);
  check_shape(ps, {1, 2, 2, 2});
  check_values(ps, {0, 1, 2, 3, 4, 5, 6, 7});
  // torch.pixel_unshuffle(torch.arange(16.).view(1, 1, 4, 4), 2)
  check_values(dg::pixel_unshuffle(iota({1, 1, 4, 4}), 2), {0, 2, 8, 10, 1, 3, 9, 11, 4, 6, 12, 14, 5, 7, 13, 15});
  const Tensor x = dg::randn({2, 3, 18, 4, 5}, kFloat64);
  CHECK(dg::equal(dg::pixel_unshuffle(dg::pixel_shuffle(x, 3), 3), x));
  CHECK_THROWS_WITH(dg::pixel_shuffle(dg::ones({1, 5, 2, 2}), 2),
                    Contains("pixel_shuffle") && Contains("5") && Contains("divisible"));
  CHECK_THROWS_WITH(dg::pixel_shuffle(dg::ones({4, 2}), 2), Contains("pixel_shuffle") && Contains("at least 3"));
  CHECK_THROWS_WITH(dg::pixel_unshuffle(dg::ones({1, 1, 3, 4}), 2),
                    Contains("pixel_unshuffle") && Contains("divisible") && Contains("[1, 1, 3, 4]"));
}

TEST_CASE("cdist: every p matches torch 1.13; the matmul path equals the direct one", "[nn_extra]") {
  const Tensor x1 = t64({0, 0, 1, 2}, {2, 2}), x2 = t64({3, 4, 1, 0, 1, 2}, {3, 2});
  check_values(dg::cdist(x1, x2, 0), {2, 1, 2, 2, 1, 0});
  check_values(dg::cdist(x1, x2, 1), {7, 1, 3, 4, 2, 0});
  check_values(dg::cdist(x1, x2), {5, 1, std::sqrt(5.0), std::sqrt(8.0), 2, 0}, 1e-12);
  check_values(dg::cdist(x1, x2, 3), {4.497941445275415, 1, 2.080083823051904, 2.5198420997897464, 2, 0}, 1e-12);
  check_values(dg::cdist(x1, x2, std::numeric_limits<double>::infinity()), {4, 1, 2, 2, 2, 0});
  const Tensor a = dg::randn({2, 30, 4}, kFloat64), b = dg::randn({2, 7, 4}, kFloat64);
  CHECK(close(dg::cdist(a, b, 2, 1), dg::cdist(a, b, 2, 2), 1e-10));
  CHECK(close(dg::cdist(a, b), dg::cdist(a, b, 2, 2), 1e-10));
  check_shape(dg::cdist(dg::randn({3, 1, 5, 2}), dg::randn({4, 6, 2})), {3, 4, 5, 6});
  CHECK_THROWS_WITH(dg::cdist(dg::ones({2, 3}), dg::ones({2, 4})),
                    Contains("cdist") && Contains("same number of columns") && Contains("3 and 4"));
  CHECK_THROWS_WITH(dg::cdist(dg::ones({3}), dg::ones({2, 3})), Contains("cdist") && Contains("at least 2"));
  CHECK_THROWS_WITH(dg::cdist(dg::ones({2, 3}), dg::ones({2, 3}), -1), Contains("cdist") && Contains("non-negative p"));
}

TEST_CASE("im2col and col2im match torch 1.13; col2im is im2col's adjoint", "[nn_extra]") {
  const Tensor im = iota({1, 1, 3, 4}, kFloat64, 1);
  check_values(dg::im2col(im, {2, 2}, {1, 1}, {0, 0}, {1, 1}),
               {1, 2, 3, 5, 6, 7, 2, 3, 4, 6, 7, 8, 5, 6, 7, 9, 10, 11, 6, 7, 8, 10, 11, 12});
  const Tensor padded = dg::im2col(im, {2, 2}, {1, 1}, {1, 1}, {2, 2});
  check_shape(padded, {1, 4, 6});
  check_values(padded, {0, 0, 0, 0, 6, 8, 0, 0, 0, 5, 7, 0, 0, 2, 4, 0, 10, 12, 1, 3, 0, 9, 11, 0});
  // torch.ops.aten.col2im(torch.ones(1, 4, 6), [3, 4], [2, 2], [1, 1], [0, 0], [1, 1]): block counts.
  check_values(dg::col2im(dg::ones({1, 4, 6}, kFloat64), {3, 4}, {2, 2}, {1, 1}, {0, 0}, {1, 1}),
               {1, 2, 2, 1, 2, 4, 4, 2, 1, 2, 2, 1});
  // <im2col(x), c> == <x, col2im(c)> for strides, dilation and padding.
  const Tensor x = dg::randn({2, 3, 7, 6}, kFloat64);
  const Tensor cols = dg::im2col(x, {3, 2}, {2, 1}, {1, 2}, {2, 3});
  const Tensor c = dg::randn(cols.sizes(), kFloat64);
  const double lhs = (cols * c).sum().item<double>();
  const double rhs = (x * dg::col2im(c, {7, 6}, {3, 2}, {2, 1}, {1, 2}, {2, 3})).sum().item<double>();
  CHECK(lhs == Approx(rhs).epsilon(1e-10));
  CHECK_THROWS_WITH(dg::col2im(dg::ones({1, 5, 6}), {3, 4}, {2, 2}, {1, 1}, {0, 0}, {1, 1}),
                    Contains("col2im") && Contains("divisible") && Contains("5"));
  CHECK_THROWS_WITH(dg::col2im(dg::ones({1, 4, 5}), {3, 4}, {2, 2}, {1, 1}, {0, 0}, {1, 1}),
                    Contains("col2im") && Contains("number of blocks") && Contains("got 5"));
  CHECK_THROWS_WITH(dg::im2col(dg::ones({1, 1, 2, 2}), {3, 3}, {1, 1}, {0, 0}, {1, 1}),
                    Contains("im2col") && Contains("padded image"));
}

TEST_CASE("1-D, 3-D and adaptive pooling match torch 1.13", "[nn_extra]") {
  // torch.ops.aten.adaptive_max_pool1d(t([[[1, 5, 2, 8, 3, 3, 9]]]), [3])
  auto [v1, i1] = dg::adaptive_max_pool1d(vals({1, 5, 2, 8, 3, 3, 9}, {1, 1, 7}, kFloat32), {3});
  check_values(v1, {5, 8, 9});
  check_values(i1, {1, 3, 6});
  CHECK(i1.dtype() == kInt64);
  // torch.ops.aten.adaptive_max_pool2d(t([[[[1, 3, 2], [7, 0, 7], [4, 4, 5]]]]), [2, 2]): first maximum wins.
  auto [v2, i2] = dg::adaptive_max_pool2d(vals({1, 3, 2, 7, 0, 7, 4, 4, 5}, {1, 1, 3, 3}, kFloat64), {2, 2});
  check_values(v2, {7, 7, 7, 7});
  check_values(i2, {3, 5, 3, 5});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto [vn, in] = dg::adaptive_max_pool2d(vals({1, nan, 2, 3}, {1, 2, 2}, kFloat64), {1, 1});
  CHECK(std::isnan(at(vn, 0)));
  CHECK(at(in, 0) == 1);
  // max_pool1d / avg_pool1d agree with max_pool2d / avg_pool2d over a height-1 plane.
  const Tensor s = dg::randn({2, 3, 11}, kFloat64);
  CHECK(dg::equal(dg::max_pool1d(s, {3}, {2}, {1}, {2}, true),
                  dg::max_pool2d(s.unsqueeze(2), {1, 3}, {1, 2}, {0, 1}, {1, 2}, true).squeeze(2)));
  CHECK(dg::allclose(dg::avg_pool1d(s, {4}, {3}, {2}, false, false),
                     dg::avg_pool2d(s.unsqueeze(2), {1, 4}, {1, 3}, {0, 2}, false, false).squeeze(2)));
  // 3-D: against a direct loop over a box (independent computation).
  const Tensor v = dg::randn({1, 2, 5, 4, 6}, kFloat64);
  const Tensor mp = dg::max_pool3d(v, {2, 3, 2}, {2, 1, 2}, {1, 1, 0});
  const Tensor ap = dg::avg_pool3d(v, {2, 3, 2}, {2, 1, 2}, {1, 1, 0}, false, false);
  const Tensor ai = dg::avg_pool3d(v, {2, 3, 2}, {2, 1, 2}, {1, 1, 0}, false, true);
  check_shape(mp, {1, 2, 3, 4, 3});
  const std::vector<double> xv = values(v);
  std::vector<double> mx, av, avi;
  for (int c = 0; c < 2; ++c)
    for (int od = 0; od < 3; ++od)
      for (int oh = 0; oh < 4; ++oh)
        for (int ow = 0; ow < 3; ++ow) {
          double m = -INFINITY, sum = 0;
          int n = 0;
          for (int kd = 0; kd < 2; ++kd)
            for (int kh = 0; kh < 3; ++kh)
              for (int kw = 0; kw < 2; ++kw) {
                const int d = od * 2 - 1 + kd, h = oh - 1 + kh, w = ow * 2 + kw;
                if (d < 0 || d >= 5 || h < 0 || h >= 4 || w < 0 || w >= 6) continue;
                const double e = xv[((c * 5 + d) * 4 + h) * 6 + w];
                m = std::max(m, e), sum += e, ++n;
              }
          mx.push_back(m), av.push_back(sum / n), avi.push_back(sum / 12);
        }
  check_values(mp, mx);
  check_values(ap, av, 1e-12);
  check_values(ai, avi, 1e-12);
  check_values(
      dg::avg_pool3d(v, {2, 3, 2}, {2, 1, 2}, {1, 1, 0}, false, true, 5),
      [&] {
        std::vector<double> r;
        for (double a : avi) r.push_back(a * 12 / 5);
        return r;
      }(),
      1e-12);
  // adaptive_avg_pool3d to [1, 1, 1] is the mean; adaptive_avg_pool1d of equal windows is a reshape mean.
  CHECK(at(dg::adaptive_avg_pool3d(v, {1, 1, 1}), 0) == Approx(values(v.select(1, 0).mean())[0]));
  CHECK(dg::allclose(dg::adaptive_avg_pool1d(s.narrow(2, 0, 9), {3}),
                     s.narrow(2, 0, 9).reshape({2, 3, 3, 3}).mean({-1})));
  CHECK_THROWS_WITH(dg::max_pool1d(dg::ones({2, 3, 4, 5}), {2}),
                    Contains("max_pool1d") && Contains("2-D") && Contains("[2, 3, 4, 5]"));
  CHECK_THROWS_WITH(dg::avg_pool3d(dg::ones({2, 3, 4}), {2}), Contains("avg_pool3d") && Contains("4-D"));
  CHECK_THROWS_WITH(dg::max_pool3d(dg::ones({1, 4, 4, 4}), {2}, {}, {2}),
                    Contains("max_pool3d") && Contains("padding should be at most half"));
  CHECK_THROWS_WITH(dg::adaptive_max_pool2d(dg::ones({3, 4}), {2}), Contains("adaptive_max_pool2d") && Contains("3-D"));
}

TEST_CASE("conv3d equals a direct 3-D correlation; errors name conv3d", "[nn_extra]") {
  const Tensor x = dg::randn({2, 4, 5, 4, 5}, kFloat64), w = dg::randn({6, 2, 2, 3, 2}, kFloat64),
               b = dg::randn({6}, kFloat64);
  const Tensor y = dg::conv3d(x, w, b, {2, 1, 2}, {1, 1, 0}, {1, 1, 2}, 2);
  // od = (5 + 2 - 2) / 2 + 1 = 3, oh = (4 + 2 - 3) + 1 = 4, ow = (5 - 3) / 2 + 1 = 2
  check_shape(y, {2, 6, 3, 4, 2});
  const std::vector<double> xv = values(x), wv = values(w), bv = values(b), yv = values(y);
  double worst = 0;
  for (int n = 0; n < 2; ++n)
    for (int o = 0; o < 6; ++o)
      for (int od = 0; od < 3; ++od)
        for (int oh = 0; oh < 4; ++oh)
          for (int ow = 0; ow < 2; ++ow) {
            double s = bv[o];
            const int g = o / 3;
            for (int ci = 0; ci < 2; ++ci)
              for (int kd = 0; kd < 2; ++kd)
                for (int kh = 0; kh < 3; ++kh)
                  for (int kw = 0; kw < 2; ++kw) {
                    const int d = od * 2 - 1 + kd, h = oh - 1 + kh, ww = ow * 2 + kw * 2;
                    if (d < 0 || d >= 5 || h < 0 || h >= 4 || ww < 0 || ww >= 5) continue;
                    s += xv[(((n * 4 + g * 2 + ci) * 5 + d) * 4 + h) * 5 + ww] *
                         wv[(((o * 2 + ci) * 2 + kd) * 3 + kh) * 2 + kw];
                  }
            worst = std::max(worst, std::fabs(s - yv[(((n * 6 + o) * 3 + od) * 4 + oh) * 2 + ow]));
          }
  CHECK(worst < 1e-12);
  check_shape(dg::conv3d(x.select(0, 0), w, b, {2, 1, 2}, {1, 1, 0}, {1, 1, 2}, 2), {6, 3, 4, 2});
  CHECK_THROWS_WITH(dg::conv3d(x, dg::ones({6, 3, 2, 2, 2}, kFloat64)),
                    Contains("conv3d") && Contains("4 channels") && Contains("expects 3"));
  CHECK_THROWS_WITH(dg::conv3d(x, dg::ones({6, 4, 2, 2}, kFloat64)), Contains("conv3d") && Contains("5 dimensions"));
}

TEST_CASE("instance_norm: torch 1.13's outputs and running-stat updates", "[nn_extra]") {
  // torch.instance_norm(torch.arange(12.).view(2, 2, 3) ** 1.5, None, None, rm, rv, True, 0.1, 1e-5, False)
  const Tensor x = iota({2, 2, 3}).pow(1.5);
  Tensor rm = dg::zeros({2}, kFloat64), rv = dg::ones({2}, kFloat64);
  const Tensor y = dg::instance_norm(x, std::nullopt, std::nullopt, rm, rv, true, 0.1, 1e-5, false);
  check_values(y,
               {-1.0896972944909962, -0.23579782691533568, 1.325495121406332, -1.1982688761759854,
                -0.051335596100658076, 1.249604472276644, -1.2098745417105679, -0.029216704602687067,
                1.2390912463132546, -1.2144008385016662, -0.020431600294841906, 1.234832438796506},
               1e-9);
  check_values(rm, {0.9945506959477819, 1.991369026763313}, 1e-12);
  check_values(rv, {1.7893513528369638, 2.472517455951021}, 1e-12);
  // use_input_stats=false normalises with the running stats.
  const Tensor e = dg::instance_norm(x, std::nullopt, std::nullopt, rm, rv, false, 0.1, 1e-5, false);
  CHECK(close(e.select(1, 1), (x.select(1, 1) - at(rm, 1)) / std::sqrt(at(rv, 1) + 1e-5), 1e-12));
  CHECK_THROWS_WITH(
      dg::instance_norm(x, std::nullopt, std::nullopt, std::nullopt, std::nullopt, false, 0.1, 1e-5, false),
      Contains("instance_norm") && Contains("running_mean and running_var"));
  CHECK_THROWS_WITH(dg::instance_norm(dg::ones({2, 3, 1}), std::nullopt, std::nullopt, std::nullopt, std::nullopt, true,
                                      0.1, 1e-5, false),
                    Contains("instance_norm") && Contains("more than 1 spatial element"));
}

TEST_CASE("feature and alpha dropout: whole channels, SELU statistics, p = 0 / 1 / eval", "[nn_extra]") {
  dg::manual_seed(7);
  const Tensor x = dg::ones({4, 16, 3, 3}, kFloat64);
  const Tensor y = dg::feature_dropout(x, 0.5, true);
  // Each channel is all 0 or all 2.
  const Tensor per = y.sum({2, 3});
  for (double v : values(per)) CHECK((v == 0.0 || v == 18.0));
  CHECK(dg::equal(dg::feature_dropout(x, 0.5, false), x));
  CHECK(values(dg::alpha_dropout(x, 1.0, true).abs().sum())[0] == 0.0);
  // alpha_dropout keeps mean 0 and variance 1 of a standard normal input.
  const Tensor z = dg::randn({200000}, kFloat64);
  const Tensor a = dg::alpha_dropout(z, 0.3, true);
  CHECK(a.mean().item<double>() == Approx(0.0).margin(0.02));
  CHECK(a.var().item<double>() == Approx(1.0).margin(0.03));
  const Tensor fa = dg::feature_alpha_dropout(dg::randn({2, 8, 5}, kFloat64), 0.4, true);
  check_shape(fa, {2, 8, 5});
  CHECK_THROWS_WITH(dg::alpha_dropout(x, 1.5, true),
                    Contains("alpha_dropout") && Contains("between 0 and 1") && Contains("1.5"));
  CHECK_THROWS_WITH(dg::feature_dropout(dg::ones({5}), 0.5, true),
                    Contains("feature_dropout") && Contains("at least 2 dimensions"));
}

TEST_CASE("embedding_bag: sum, mean and max bags and ATen's 4-tuple match torch 1.13", "[nn_extra]") {
  const Tensor w = iota({5, 2}), idx = i64({0, 2, 4, 1, 3}), off = i64({0, 2, 2});
  // torch.ops.aten.embedding_bag(arange(10.).view(5, 2), [0, 2, 4, 1, 3], [0, 2, 2], False, mode)
  auto [s, s_o2b, s_size, s_max] = dg::embedding_bag(w, idx, off, false, 0);
  check_values(s, {4, 6, 0, 0, 16, 19});
  check_values(s_o2b, {0, 0, 2, 2, 2});
  check_values(s_size, {0, 0, 0});
  check_values(s_max, {0, 0, 0});
  auto [m, m_o2b, m_size, m_max] = dg::embedding_bag(w, idx, off, false, 1);
  check_values(m, {2, 3, 0, 0, 16.0 / 3, 19.0 / 3}, 1e-12);
  check_values(m_size, {2, 0, 3});
  check_values(m_max, {2, 0, 3});
  auto [x, x_o2b, x_size, x_max] = dg::embedding_bag(w, idx, off, false, 2);
  check_values(x, {4, 5, 0, 0, 8, 9});
  check_values(x_max, {2, 2, 0, 0, 4, 4});
  // per_sample_weights [1, 2, 3, 4, 5] (sum only), and include_last_offset.
  check_values(std::get<0>(dg::embedding_bag(w, idx, off, false, 0, false, t64({1, 2, 3, 4, 5}))),
               {8, 11, 0, 0, 62, 74});
  auto [l, l_o2b, l_size, l_max] = dg::embedding_bag(w, idx, i64({0, 2, 5}), false, 1, false, std::nullopt, true);
  check_values(l, {2, 3, 16.0 / 3, 19.0 / 3}, 1e-12);
  check_values(l_size, {2, 3});
  // The gradient of a mean bag spreads 1 / count over its rows.
  Tensor wg = iota({5, 2}).requires_grad_();
  std::get<0>(dg::embedding_bag(wg, idx, off, false, 1)).sum().backward();
  check_values(wg.grad(), {0.5, 0.5, 1.0 / 3, 1.0 / 3, 0.5, 0.5, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-12);
  CHECK_THROWS_WITH(dg::embedding_bag(w, idx, off, false, 1, false, t64({1, 2, 3, 4, 5})),
                    Contains("embedding_bag") && Contains("per_sample_weights") && Contains("mode 1"));
  CHECK_THROWS_WITH(dg::embedding_bag(w, idx, i64({1, 2})), Contains("embedding_bag") && Contains("start at 0"));
  CHECK_THROWS_WITH(dg::embedding_bag(w, idx, i64({0, 7})), Contains("embedding_bag") && Contains("offsets[1] = 7"));
  CHECK_THROWS_WITH(dg::embedding_bag(w, idx.view({1, 5}), off), Contains("embedding_bag") && Contains("1-D"));
  CHECK_THROWS_WITH(dg::embedding_bag(w, i64({0, 9}), i64({0})), Contains("9"));
}

TEST_CASE("Tensor::unfold is a view of sliding windows; its gradient adds the windows back", "[nn_extra]") {
  const Tensor x = iota({7});
  const Tensor u = x.unfold(0, 3, 2);
  check_shape(u, {3, 3});
  check_values(u, {0, 1, 2, 2, 3, 4, 4, 5, 6});
  CHECK(u.is_view());
  CHECK(u.strides() == IntArrayRef({2, 1}));
  const Tensor m = iota({2, 5});
  check_values(m.unfold(1, 2, 2), {0, 1, 2, 3, 5, 6, 7, 8});
  check_shape(dg::tensor(3.0).unfold(0, 1, 1), {1});
  Tensor xg = iota({7}).requires_grad_();
  xg.unfold(0, 3, 2).sum().backward();
  check_values(xg.grad(), {1, 1, 2, 1, 2, 1, 1});
  CHECK_THROWS_WITH(x.unfold(0, 8, 1), Contains("unfold") && Contains("size=8"));
  CHECK_THROWS_WITH(x.unfold(0, 2, 0), Contains("unfold") && Contains("positive step"));
  CHECK_THROWS_WITH(x.unfold(1, 2, 1), Contains("unfold") && Contains("out of range"));
}
