// Convolution and pooling: forward values against hand-computed ones (float32
// runs oneDNN, float64 the direct loops, so both are checked), oneDNN against
// the loops on awkward geometries, gradients through the float32 path, error
// messages, and large inputs. Gradient correctness in float64 is covered by
// the generated gradcheck/gradgradcheck of every sample in ops.yaml.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "dynagrad/dynagrad.h"
#include "helpers.h"
#include "op_registry.h"

using namespace dg;
using namespace dg::testing;
using Catch::Matchers::Contains;

TEST_CASE("conv2d forward values", "[ops][conv]") {
  for (ScalarType dt : kBothFloats) {
    INFO(dt);
    const Tensor x = iota({1, 1, 3, 3}, dt, 1);
    // 2x2 box filter: sums of each 2x2 block.
    CHECK(close(dg::conv2d(x, dg::ones({1, 1, 2, 2}, dt)), vals({12, 16, 24, 28}, {1, 1, 2, 2}, dt)));
    // With a bias, per output channel.
    const Tensor w2 = vals({1, 1, 1, 1, -1, -1, -1, -1}, {2, 1, 2, 2}, dt);
    CHECK(
        close(dg::conv2d(x, w2, vals({1, 2}, {2}, dt)), vals({13, 17, 25, 29, -10, -14, -22, -26}, {1, 2, 2, 2}, dt)));
    // 3x3 box with padding 1: sums of the 3x3 neighbourhoods; stride 2 keeps the corners.
    const Tensor box = dg::ones({1, 1, 3, 3}, dt);
    CHECK(close(dg::conv2d(x, box, std::nullopt, {1}, {1}),
                vals({12, 21, 16, 27, 45, 33, 24, 39, 28}, {1, 1, 3, 3}, dt)));
    CHECK(close(dg::conv2d(x, box, std::nullopt, {2}, {1}), vals({12, 16, 24, 28}, {1, 1, 2, 2}, dt)));
    CHECK(close(dg::conv2d(x, box, std::nullopt, 2, 1), vals({12, 16, 24, 28}, {1, 1, 2, 2}, dt)));  // ints as int[2]
    // Dilation 2 on a 3x3 input with a 2x2 kernel reads the four corners.
    CHECK(close(dg::conv2d(x, dg::ones({1, 1, 2, 2}, dt), std::nullopt, {1}, {0}, {2}), vals({20}, {1, 1, 1, 1}, dt)));
    // Groups: each channel with its own filter.
    const Tensor xg = vals({1, 1, 1, 1, 2, 2, 2, 2}, {1, 2, 2, 2}, dt);
    CHECK(close(dg::conv2d(xg, vals({3, 5}, {2, 1, 1, 1}, dt), std::nullopt, {1}, {0}, {1}, 2),
                vals({3, 3, 3, 3, 10, 10, 10, 10}, {1, 2, 2, 2}, dt)));
    // Unbatched input gives the batched result without the batch dim.
    CHECK(close(dg::conv2d(x.squeeze(0), box, std::nullopt, {2}, {1}), vals({12, 16, 24, 28}, {1, 2, 2}, dt)));
  }
}

TEST_CASE("conv1d and transposed convolution forward values", "[ops][conv]") {
  for (ScalarType dt : kBothFloats) {
    INFO(dt);
    const Tensor x = iota({1, 1, 5}, dt, 1);
    CHECK(close(dg::conv1d(x, dg::ones({1, 1, 2}, dt), std::nullopt, {1}, {0}, {2}), vals({4, 6, 8}, {1, 1, 3}, dt)));
    CHECK(close(dg::conv1d(x, vals({1, -1}, {1, 1, 2}, dt), vals({0.5}, {1}, dt), {2}),
                vals({-0.5, -0.5}, {1, 1, 2}, dt)));
    // Transposed: each input element stamps the kernel at stride steps.
    const Tensor t = vals({1, 2}, {1, 1, 2}, dt);
    CHECK(close(dg::conv_transpose1d(t, dg::ones({1, 1, 3}, dt), std::nullopt, {2}),
                vals({1, 1, 3, 2, 2}, {1, 1, 5}, dt)));
    CHECK(close(dg::conv_transpose1d(t, dg::ones({1, 1, 3}, dt), std::nullopt, {2}, {0}, {1}),
                vals({1, 1, 3, 2, 2, 0}, {1, 1, 6}, dt)));
    CHECK(close(dg::conv_transpose2d(iota({1, 1, 2, 2}, dt, 1), dg::ones({1, 1, 2, 2}, dt)),
                vals({1, 3, 2, 4, 10, 6, 3, 7, 4}, {1, 1, 3, 3}, dt)));
    // Padding crops the full transposed output.
    CHECK(close(dg::conv_transpose2d(iota({1, 1, 2, 2}, dt, 1), dg::ones({1, 1, 2, 2}, dt), std::nullopt, {1}, {1}),
                vals({10}, {1, 1, 1, 1}, dt)));
    // torch.convolution: the general entry point.
    CHECK(close(dg::convolution(t, dg::ones({1, 1, 3}, dt), vals({1}, {1}, dt), {2}, {0}, {1}, true, {0}, 1),
                vals({2, 2, 4, 3, 3}, {1, 1, 5}, dt)));
  }
}

TEST_CASE("conv float32 (oneDNN) matches float64 (loops), forward and backward", "[ops][conv]") {
  dg::manual_seed(7);
  struct Case {
    std::vector<int64_t> x, w, stride, padding, dilation, output_padding;
    bool transposed;
    int64_t groups;
  };
  const std::vector<Case> cases = {
      {{2, 3, 9, 8}, {4, 3, 3, 3}, {1}, {0}, {1}, {0}, false, 1},
      {{2, 4, 9, 10}, {6, 2, 3, 2}, {2, 3}, {1, 2}, {2, 1}, {0}, false, 2},
      {{1, 3, 5, 5}, {2, 3, 2, 2}, {2}, {0}, {1}, {0}, false, 1},  // stride skips the last row and column
      {{3, 2, 11}, {4, 2, 3}, {2}, {1}, {3}, {0}, false, 1},
      {{2, 4, 4, 5}, {4, 3, 3, 3}, {2}, {1}, {1}, {1}, true, 1},
      {{1, 4, 3, 4}, {4, 1, 2, 3}, {1, 2}, {0}, {2, 1}, {0, 1}, true, 2},
      {{1, 2, 3, 3}, {2, 2, 2, 2}, {1}, {0}, {2}, {1}, true, 1},  // output_padding >= stride
      {{2, 3, 6}, {3, 2, 3}, {3}, {1}, {1}, {2}, true, 1},
      {{4, 8, 7, 7}, {16, 8, 3, 3}, {1}, {1}, {1}, {0}, false, 1},  // a layer of the benchmark CNN, smaller
      {{4, 1, 10, 10}, {8, 1, 3, 3}, {1}, {1}, {1}, {0}, false, 1},
  };
  // oneDNN runs each shape on plain NCHW memory or in its blocked layouts
  // with reorders, whichever it measures faster; force each in turn.
  const char* layout = GENERATE("plain", "blocked", "measured");
  if (std::string(layout) == "measured") {
    unsetenv("DG_CONV_LAYOUT");
  } else {
    setenv("DG_CONV_LAYOUT", layout, 1);
  }
  for (const Case& c : cases) {
    INFO("layout " << layout << " input " << IntArrayRef(c.x) << " weight " << IntArrayRef(c.w) << " transposed "
                   << c.transposed);
    const Tensor x64 = dg::randn(c.x, kFloat64), w64 = dg::randn(c.w, kFloat64);
    const Tensor x32 = x64.to(kFloat32).detach().requires_grad_(), w32 = w64.to(kFloat32).detach().requires_grad_();
    const Tensor xr = x64.detach().requires_grad_(), wr = w64.detach().requires_grad_();
    const Tensor y32 = dg::convolution(x32, w32, std::nullopt, c.stride, c.padding, c.dilation, c.transposed,
                                       c.output_padding, c.groups);
    const Tensor y64 = dg::convolution(xr, wr, std::nullopt, c.stride, c.padding, c.dilation, c.transposed,
                                       c.output_padding, c.groups);
    REQUIRE(y32.sizes() == y64.sizes());
    CHECK(close(y32, y64, 1e-4));
    const Tensor g = dg::randn(y64.sizes(), kFloat64);
    y32.backward(g.to(kFloat32));
    y64.backward(g);
    CHECK(close(x32.grad(), xr.grad(), 1e-4));
    CHECK(close(w32.grad(), wr.grad(), 1e-4));
  }
  unsetenv("DG_CONV_LAYOUT");
}

TEST_CASE("conv on non-contiguous inputs and empty batches", "[ops][conv]") {
  for (ScalarType dt : kBothFloats) {
    const Tensor x = dg::randn({2, 3, 6, 5}, dt);
    const Tensor w = dg::randn({4, 3, 3, 3}, dt);
    const Tensor xt = x.transpose(2, 3).contiguous().transpose(2, 3);  // same values, other strides
    REQUIRE_FALSE(xt.is_contiguous());
    CHECK(close(dg::conv2d(xt, w, std::nullopt, {1}, {1}), dg::conv2d(x, w, std::nullopt, {1}, {1}), 1e-6));
    const Tensor e = dg::conv2d(dg::ones({0, 3, 6, 5}, dt), w);
    CHECK(e.sizes() == IntArrayRef({0, 4, 4, 3}));
  }
}

TEST_CASE("max_pool2d forward values and indices", "[ops][pool]") {
  for (ScalarType dt : kBothFloats) {
    INFO(dt);
    const Tensor x = iota({1, 1, 4, 4}, dt, 0);
    CHECK(close(dg::max_pool2d(x, {2}), vals({5, 7, 13, 15}, {1, 1, 2, 2}, dt)));
    auto [v, i] = dg::max_pool2d_with_indices(x, {2});
    CHECK(close(v, vals({5, 7, 13, 15}, {1, 1, 2, 2}, dt)));
    REQUIRE(i.dtype() == kInt64);
    CHECK(dg::equal(i, dg::tensor(std::vector<int64_t>{5, 7, 13, 15}).view({1, 1, 2, 2})));
    // Padding never wins (it is -inf), even over negative inputs.
    const Tensor neg = -iota({1, 3, 3}, dt, 1);
    CHECK(close(dg::max_pool2d(neg, {3}, {2}, {1}), vals({-1, -2, -4, -5}, {1, 2, 2}, dt)));
    // ceil_mode keeps the partial last window.
    const Tensor x5 = iota({1, 5, 5}, dt, 0);
    CHECK(close(dg::max_pool2d(x5, {2}, {2}, {0}, {1}, true), vals({6, 8, 9, 16, 18, 19, 21, 23, 24}, {1, 3, 3}, dt)));
    CHECK(dg::max_pool2d(x5, {2}).sizes() == IntArrayRef({1, 2, 2}));
    // Dilation 2, kernel 2: the corners of each 3x3 block.
    CHECK(close(dg::max_pool2d(x5, {2}, {1}, {0}, {2}).select(1, 0), vals({12, 13, 14}, {1, 3}, dt)));
    // NaN propagates.
    const Tensor nanv = vals({1, std::numeric_limits<double>::quiet_NaN(), 3, 4}, {1, 2, 2}, dt);
    CHECK(std::isnan(dg::max_pool2d(nanv, {2}).item<double>()));
  }
}

TEST_CASE("max_pool2d backward routes the gradient to each maximum", "[ops][pool]") {
  for (ScalarType dt : kBothFloats) {
    // Overlapping windows (stride 1) that share a maximum add up there.
    const Tensor x = vals({1, 2, 3, 4, 9, 5, 6, 7, 8}, {1, 1, 3, 3}, dt).detach().requires_grad_();
    dg::max_pool2d(x, {2}, {1}).sum().backward();
    CHECK(close(x.grad(), vals({0, 0, 0, 0, 4, 0, 0, 0, 0}, {1, 1, 3, 3}, dt)));
    // Double backward: the gradient of the gradient w.r.t. grad_output selects again.
    const Tensor y = vals({1, 5, 2, 3}, {1, 2, 2}, dt).detach().requires_grad_();
    const Tensor go = dg::ones({1, 1, 1}, dt).requires_grad_();
    auto gx = dg::autograd::grad({dg::max_pool2d(y, {2})}, {y}, {go}, std::nullopt, true);
    auto ggo = dg::autograd::grad({(gx[0] * vals({10, 20, 30, 40}, {1, 2, 2}, dt)).sum()}, {go});
    CHECK(close(ggo[0], vals({20}, {1, 1, 1}, dt)));
  }
}

TEST_CASE("avg_pool2d forward values", "[ops][pool]") {
  for (ScalarType dt : kBothFloats) {
    INFO(dt);
    CHECK(close(dg::avg_pool2d(iota({1, 1, 4, 4}, dt, 0), {2}), vals({2.5, 4.5, 10.5, 12.5}, {1, 1, 2, 2}, dt)));
    const Tensor ones = dg::ones({1, 2, 2}, dt);
    // Padding counts in the divisor by default, not with count_include_pad=false.
    CHECK(close(dg::avg_pool2d(ones, {2}, {1}, {1}), vals({.25, .5, .25, .5, 1, .5, .25, .5, .25}, {1, 3, 3}, dt)));
    CHECK(close(dg::avg_pool2d(ones, {2}, {1}, {1}, false, false), dg::ones({1, 3, 3}, dt)));
    CHECK(close(dg::avg_pool2d(ones, {2}, {1}, {1}, false, true, 2),
                vals({.5, 1, .5, 1, 2, 1, .5, 1, .5}, {1, 3, 3}, dt)));
    // ceil_mode: the partial window divides by the elements it covers.
    CHECK(close(dg::avg_pool2d(iota({1, 1, 3}, dt, 0), {1, 2}, {1, 2}, {0}, true), vals({0.5, 2}, {1, 1, 2}, dt)));
    // Backward: each input gets its windows' share.
    const Tensor x = dg::ones({1, 1, 3, 3}, dt).requires_grad_();
    dg::avg_pool2d(x, {2}, {1}).sum().backward();
    CHECK(close(x.grad(), vals({.25, .5, .25, .5, 1, .5, .25, .5, .25}, {1, 1, 3, 3}, dt)));
  }
}

TEST_CASE("adaptive_avg_pool2d forward values", "[ops][pool]") {
  for (ScalarType dt : kBothFloats) {
    INFO(dt);
    const Tensor x = iota({1, 3, 3}, dt, 1);
    // Windows [0, 2) and [1, 3) in each dim overlap.
    CHECK(close(dg::adaptive_avg_pool2d(x, {2}), vals({3, 4, 6, 7}, {1, 2, 2}, dt)));
    CHECK(close(dg::adaptive_avg_pool2d(x.unsqueeze(0), {1, 1}), vals({5}, {1, 1, 1, 1}, dt)));
    CHECK(close(dg::adaptive_avg_pool2d(x, {3, 1}), vals({2, 5, 8}, {1, 3, 1}, dt)));
    // Output larger than the input repeats elements.
    CHECK(close(dg::adaptive_avg_pool2d(vals({1, 2}, {1, 1, 2}, dt), {1, 4}), vals({1, 1, 2, 2}, {1, 1, 4}, dt)));
    const Tensor xg = x.detach().requires_grad_();
    dg::adaptive_avg_pool2d(xg, {2}).sum().backward();
    CHECK(close(xg.grad(), vals({.25, .5, .25, .5, 1, .5, .25, .5, .25}, {1, 3, 3}, dt)));
  }
}

TEST_CASE("conv and pool errors name the op, the argument and the shapes", "[ops][conv][errors]") {
  const Tensor x = dg::ones({1, 3, 5, 5});
  CHECK_THROWS_WITH(dg::conv2d(x, dg::ones({3, 3})), Contains("conv2d: expected weight of 4 dimensions, got [3, 3]"));
  CHECK_THROWS_WITH(dg::conv2d(x, dg::ones({4, 2, 3, 3})),
                    Contains("conv2d: input has 3 channels but weight expects 2 (groups=1)"));
  CHECK_THROWS_WITH(dg::conv2d(dg::ones({1, 4, 5, 5}), dg::ones({3, 2, 3, 3}), std::nullopt, {1}, {0}, {1}, 2),
                    Contains("conv2d") && Contains("3 output channels") && Contains("groups=2"));
  CHECK_THROWS_WITH(dg::conv2d(dg::ones({5, 5}), dg::ones({4, 3, 3, 3})),
                    Contains("conv2d: expected input of 3 (unbatched) or 4 (batched) dimensions, got [5, 5]"));
  CHECK_THROWS_WITH(dg::conv2d(x, dg::ones({4, 3, 3, 3}), dg::ones({3})),
                    Contains("conv2d: expected bias of shape [4]") && Contains("[3]"));
  CHECK_THROWS_WITH(dg::conv2d(x, dg::ones({4, 3, 7, 7})),
                    Contains("conv2d") && Contains("smaller than the dilated kernel"));
  CHECK_THROWS_WITH(dg::conv2d(x, dg::ones({4, 3, 3, 3}), std::nullopt, {0}),
                    Contains("conv2d: stride must be positive, got [0, 0]"));
  CHECK_THROWS_WITH(dg::conv2d(x, dg::ones({4, 3, 3, 3}), std::nullopt, {1, 1, 1}),
                    Contains("conv2d: expected stride to have 1 or 2 values") && Contains("[1, 1, 1]"));
  CHECK_THROWS_WITH(dg::conv2d(x, dg::ones({4, 3, 3, 3}, kFloat64)),
                    Contains("conv2d") && Contains("float32") && Contains("float64"));
  CHECK_THROWS_WITH(dg::conv1d(x, dg::ones({4, 3, 3})), Contains("conv1d: expected input of 2 (unbatched) or 3"));
  CHECK_THROWS_WITH(dg::conv_transpose2d(x, dg::ones({2, 3, 3, 3})),
                    Contains("conv_transpose2d: input has 3 channels but weight expects 2"));
  CHECK_THROWS_WITH(dg::conv_transpose2d(x, dg::ones({3, 3, 3, 3}), std::nullopt, {1}, {0}, {1}),
                    Contains("conv_transpose2d: output_padding must be smaller than either stride or dilation"));

  CHECK_THROWS_WITH(dg::max_pool2d(dg::ones({4, 4}), {2}),
                    Contains("max_pool2d: expected a 3-D (unbatched) or 4-D (batched) input") && Contains("[4, 4]"));
  CHECK_THROWS_WITH(dg::max_pool2d(x, {3}, {1}, {2}),
                    Contains("max_pool2d: padding should be at most half of the (dilated) kernel size"));
  CHECK_THROWS_WITH(dg::max_pool2d(x, {7}), Contains("max_pool2d") && Contains("too small for kernel_size [7, 7]"));
  CHECK_THROWS_WITH(dg::max_pool2d(x, {0}), Contains("max_pool2d: kernel_size must be positive, got [0, 0]"));
  CHECK_THROWS_WITH(dg::max_pool2d_with_indices(x, {7}), Contains("max_pool2d_with_indices"));
  CHECK_THROWS_WITH(dg::avg_pool2d(x, {2}, {}, {0}, false, true, 0),
                    Contains("avg_pool2d: divisor_override must not be zero"));
  CHECK_THROWS_WITH(dg::adaptive_avg_pool2d(x, {-1}),
                    Contains("adaptive_avg_pool2d: output_size must be non-negative"));
  CHECK_THROWS_WITH(dg::adaptive_avg_pool2d(dg::ones({1, 3, 0, 4}), {2}),
                    Contains("adaptive_avg_pool2d") && Contains("non-zero height and width"));
  CHECK_THROWS_WITH(dg::max_pool2d_backward(dg::ones({1, 3, 3, 3}), x, {2}, {}, {0}, {1}, false),
                    Contains("max_pool2d_backward: expected grad_output of shape [1, 3, 2, 2]"));
}

TEST_CASE("conv and pool stay finite for inputs of magnitude 1e4", "[ops][conv][stability]") {
  for (ScalarType dt : kBothFloats) {
    const Tensor x = (dg::randn({2, 3, 8, 8}, dt) * 1e4).detach().requires_grad_();
    const Tensor w = (dg::randn({4, 3, 3, 3}, dt) * 1e4).detach().requires_grad_();
    Tensor y = dg::conv2d(x, w, std::nullopt, {1}, {1});
    y = dg::max_pool2d(y, {2}) + dg::avg_pool2d(y, {2}) + dg::adaptive_avg_pool2d(y, {4});
    y.sum().backward();
    CHECK(std::isfinite(y.sum().item<double>()));
    CHECK(std::isfinite(x.grad().abs().sum().item<double>()));
    CHECK(std::isfinite(w.grad().abs().sum().item<double>()));
  }
}

// The generated checks of the samples in ops.yaml, restricted to this group's
// ops, so `dg_tests "[conv]"` covers them without running every op.
TEST_CASE("conv and pool samples pass gradcheck and gradgradcheck", "[ops][conv][gradcheck]") {
  dg::manual_seed(2024);
  int checked = 0;
  for (const auto& s : all_samples()) {
    if (!s.check_grad || !of_ops(s, {"convolution", "conv1d", "conv2d", "conv_transpose", "max_pool2d", "avg_pool2d",
                                     "adaptive_avg_pool2d"}))
      continue;
    INFO(label(s));
    const variable_list in = make_inputs(s);
    CHECK_NOTHROW(dg::autograd::gradcheck(s.fn, in));
    CHECK_NOTHROW(dg::autograd::gradgradcheck(s.fn, in));
    ++checked;
  }
  CHECK(checked >= 40);
}
