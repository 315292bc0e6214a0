// dg::ctc_loss and dg::_ctc_loss against PyTorch 1.13: losses, gradients
// and log_alpha of tests/golden/ctc_golden.yaml (tools/golden/
// make_ctc_golden.py) for padded and concatenated targets, each reduction,
// zero_infinity, unbatched input, int32 targets and both length overloads;
// LibTorch's argument errors; no second derivative (as PyTorch).
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "dynagrad/dynagrad.h"

using namespace dg;

namespace {

std::string ctc_golden_path() {
  const std::string ops = DG_GOLDEN_FILE;  // tests/golden/ops_golden.yaml
  return ops.substr(0, ops.find_last_of('/') + 1) + "ctc_golden.yaml";
}

Tensor floats(const YAML::Node& data, const std::vector<int64_t>& shape, ScalarType dtype) {
  Tensor t = dg::empty(shape, kFloat64);
  double* p = t.data_ptr<double>();
  for (size_t i = 0; i < data.size(); ++i) p[i] = data[i].as<double>();
  return t.to(dtype);
}

Tensor ints(const YAML::Node& data, const std::vector<int64_t>& shape, ScalarType dtype) {
  Tensor t = dg::empty(shape, kInt64);
  int64_t* p = t.data_ptr<int64_t>();
  for (size_t i = 0; i < data.size(); ++i) p[i] = data[i].as<int64_t>();
  return t.to(dtype);
}

// Equal within tolerance, infinities and NaNs in the same places.
void check_close(const Tensor& actual, const Tensor& expected, double tol) {
  REQUIRE(actual.sizes() == expected.sizes());
  const Tensor a = actual.to(kFloat64).contiguous(), e = expected.to(kFloat64).contiguous();
  const double* pa = a.data_ptr<double>();
  const double* pe = e.data_ptr<double>();
  for (int64_t i = 0; i < a.numel(); ++i) {
    INFO("element " << i << ": " << pa[i] << " vs PyTorch's " << pe[i]);
    if (std::isnan(pe[i])) {
      CHECK(std::isnan(pa[i]));
    } else if (std::isinf(pe[i])) {
      CHECK(pa[i] == pe[i]);
    } else {
      CHECK(std::fabs(pa[i] - pe[i]) <= tol * (1 + std::fabs(pe[i])));
    }
  }
}

std::vector<int64_t> shape_of(const YAML::Node& n) { return n.as<std::vector<int64_t>>(); }

}  // namespace

TEST_CASE("ctc_loss matches PyTorch's loss, gradient and log_alpha", "[ctc_loss]") {
  const YAML::Node root = YAML::LoadFile(ctc_golden_path());
  const YAML::Node cases = root["cases"];
  REQUIRE(cases.size() >= 20);
  for (const auto& c : cases) {
    const std::string name = c["name"].as<std::string>();
    SECTION(name) {
      const ScalarType dtype = c["dtype"].as<std::string>() == "float32" ? kFloat32 : kFloat64;
      const double tol = dtype == kFloat32 ? 2e-5 : 1e-10;
      Tensor log_probs = floats(c["log_probs"], shape_of(c["shape"]), dtype).requires_grad_();
      const Tensor targets = ints(c["targets"], shape_of(c["targets_shape"]),
                                  c["targets_dtype"].as<std::string>() == "int32" ? kInt32 : kInt64);
      const auto il = c["input_lengths"].as<std::vector<int64_t>>();
      const auto tl = c["target_lengths"].as<std::vector<int64_t>>();
      const int64_t blank = c["blank"].as<int64_t>(), reduction = c["reduction"].as<int64_t>();
      const bool zero_infinity = c["zero_infinity"].as<bool>();
      const Tensor loss = c["tensor_lengths"].as<bool>()
                              ? dg::ctc_loss(log_probs, targets, dg::tensor(il, kInt64),
                                             dg::tensor(tl, kInt64).to(kInt32), blank, reduction, zero_infinity)
                              : dg::ctc_loss(log_probs, targets, il, tl, blank, reduction, zero_infinity);
      CHECK(loss.dtype() == dtype);
      check_close(loss, floats(c["loss"], shape_of(c["loss_shape"]), kFloat64), tol);
      REQUIRE(loss.grad_fn());
      CHECK(loss.grad_fn()->name() == c["grad_fn"].as<std::string>());
      const Tensor grad_output = floats(c["grad_output"], shape_of(c["loss_shape"]), dtype);
      (loss * grad_output).sum().backward();
      check_close(log_probs.grad(), floats(c["grad"], shape_of(c["shape"]), kFloat64), tol);
      if (c["nll"]) {
        auto [nll, log_alpha] = dg::_ctc_loss(log_probs.detach(), targets, il, tl, blank, zero_infinity);
        check_close(nll, floats(c["nll"], {static_cast<int64_t>(il.size())}, kFloat64), tol);
        CHECK_FALSE(log_alpha.requires_grad());
        check_close(log_alpha, floats(c["log_alpha"], shape_of(c["log_alpha_shape"]), kFloat64), tol);
      }
    }
  }
}

TEST_CASE("_ctc_loss records one CtcLossBackward0 node; its log_alpha is not differentiable", "[ctc_loss]") {
  dg::manual_seed(7);
  Tensor lp = dg::randn({5, 2, 4}, kFloat64).log_softmax(2).detach().requires_grad_();
  const Tensor targets = dg::tensor(std::vector<int64_t>{1, 2, 3, 3}, kInt64).view({2, 2});
  auto [nll, log_alpha] = dg::_ctc_loss(lp, targets, {5, 4}, {2, 2});
  REQUIRE(nll.grad_fn());
  CHECK(nll.grad_fn()->name() == "CtcLossBackward0");
  CHECK(nll.sizes() == IntArrayRef({2}));
  CHECK(log_alpha.sizes() == IntArrayRef({2, 5, 5}));
  CHECK_FALSE(log_alpha.requires_grad());
  // _ctc_loss_backward is the gradient of the loss node.
  const Tensor g = dg::ones({2}, kFloat64);
  const Tensor direct = dg::_ctc_loss_backward(g, lp.detach(), targets, {5, 4}, {2, 2}, nll.detach(), log_alpha, 0);
  nll.backward(g);
  CHECK(dg::allclose(lp.grad(), direct, 1e-12, 1e-12));
}

TEST_CASE("ctc_loss has no second derivative, as PyTorch", "[ctc_loss]") {
  dg::manual_seed(8);
  Tensor lp = dg::randn({5, 2, 4}, kFloat64).log_softmax(2).detach().requires_grad_();
  const Tensor targets = dg::tensor(std::vector<int64_t>{1, 2, 3, 3}, kInt64).view({2, 2});
  const Tensor loss = dg::ctc_loss(lp, targets, {5, 4}, {2, 2});
  const variable_list g = dg::autograd::grad({loss}, {lp}, {}, /*retain_graph=*/true, /*create_graph=*/true);
  REQUIRE(g[0].requires_grad());
  CHECK_THROWS_WITH(g[0].sum().backward(), Catch::Contains("derivative for _ctc_loss_backward is not implemented"));
  // The first order stays available.
  CHECK_NOTHROW(loss.backward());
}

TEST_CASE("ctc_loss rejects what LibTorch rejects, naming ctc_loss", "[ctc_loss][errors]") {
  const Tensor lp = dg::randn({5, 2, 4}, kFloat64).log_softmax(2);
  const Tensor padded = dg::tensor(std::vector<int64_t>{1, 2, 3, 3}, kInt64).view({2, 2});
  const std::vector<int64_t> il{5, 4}, tl{2, 1};
  using Catch::Contains;
  CHECK_THROWS_WITH(dg::ctc_loss(lp, padded, {5}, tl), Contains("ctc_loss") &&
                                                           Contains("input_lengths must be of size batch_size") &&
                                                           Contains("expected 2 lengths, got 1"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp, padded, il, {2, 1, 1}),
                    Contains("target_lengths must be of size batch_size") && Contains("got 3"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp, padded, {6, 4}, tl),
                    Contains("ctc_loss") && Contains("input_lengths") && Contains("0..5") && Contains("got value 6"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp, padded, {-1, 4}, tl), Contains("got value -1"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp, padded, il, {3, 1}),
                    Contains("ctc_loss") && Contains("size at least 3") && Contains("[2, 2]"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp, padded, il, {-1, 1}), Contains("target_lengths to be non-negative"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp, padded, il, tl, 4), Contains("blank must be in label range") && Contains("got 4"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp, padded, il, tl, -1), Contains("blank must be in label range"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp.select(1, 0).select(1, 0), padded, il, tl),
                    Contains("ctc_loss") && Contains("(T, N, C) or unbatched (T, C)") && Contains("[5]"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp.unsqueeze(0), padded, il, tl), Contains("(T, N, C) or unbatched (T, C)"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp, padded.view({2, 1, 2}), il, tl),
                    Contains("ctc_loss") && Contains("expected targets of shape (N, S)"));
  // Concatenated targets: exactly sum(target_lengths) of them.
  CHECK_THROWS_WITH(dg::ctc_loss(lp, padded.view({4}), il, tl),
                    Contains("concatenated targets of size 3") && Contains("got size 4"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp, padded.narrow(0, 0, 1), il, tl), Contains("padded targets of size 2"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp, padded, il, tl, 0, 3), Contains("ctc_loss: reduction 3 is not a valid value"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp.to(kInt64), padded, il, tl), Contains("float32 or float64"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp, padded, dg::tensor(std::vector<double>{5, 4}, kFloat64), dg::tensor(tl, kInt64)),
                    Contains("ctc_loss: input_lengths must be integral"));
  // _ctc_loss takes int32/int64 targets only (ctc_loss converts any).
  CHECK_THROWS_WITH(dg::_ctc_loss(lp, padded.to(kFloat64), il, tl),
                    Contains("_ctc_loss: expected targets of dtype int64 or int32"));
  CHECK_NOTHROW(dg::ctc_loss(lp, padded.to(kFloat32), il, tl));
  CHECK_THROWS_WITH(dg::_ctc_loss(lp.select(1, 0), padded, il, tl),
                    Contains("_ctc_loss: expected log_probs of shape (T, N, C)"));
}

TEST_CASE("ctc_loss never reads a class index out of range; padding is not read", "[ctc_loss][errors]") {
  const Tensor lp = dg::randn({5, 2, 4}, kFloat64).log_softmax(2);
  const Tensor bad = dg::tensor(std::vector<int64_t>{1, 7, 2, 0}, kInt64).view({2, 2});
  CHECK_THROWS_WITH(dg::ctc_loss(lp, bad, {5, 4}, {2, 1}),
                    Catch::Contains("ctc_loss: target 7 (batch element 0, position 1) is out of range for log_probs "
                                    "with 4 classes (expected 0..3)"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp, bad.neg(), {5, 4}, {1, 1}), Catch::Contains("target -1"));
  CHECK_THROWS_WITH(dg::ctc_loss(lp, dg::tensor(std::vector<int64_t>{1, 2, 4}, kInt64).to(kInt32), {5, 4}, {2, 1}),
                    Catch::Contains("target 4 (batch element 1, position 0)"));
  // Past each target length, padding may hold anything (it is never read).
  const Tensor padding = dg::tensor(std::vector<int64_t>{1, -5, 2, 99}, kInt64).view({2, 2});
  const Tensor clean = dg::tensor(std::vector<int64_t>{1, 0, 2, 0}, kInt64).view({2, 2});
  CHECK(dg::allclose(dg::ctc_loss(lp, padding, {5, 4}, {1, 1}, 0, 0), dg::ctc_loss(lp, clean, {5, 4}, {1, 1}, 0, 0)));
}

TEST_CASE("ctc_loss on empty inputs and targets", "[ctc_loss]") {
  const Tensor lp = dg::randn({4, 2, 3}, kFloat64).log_softmax(2);
  const Tensor empty = dg::empty({0}, kInt64);
  // An empty target: the loss is minus the log probability of all blanks.
  const Tensor loss = dg::ctc_loss(lp, empty, {4, 2}, {0, 0}, 0, 0);
  const Tensor expected = -lp.select(2, 0).narrow(0, 0, 4).sum(0);
  CHECK(loss.select(0, 0).item<double>() == Approx(expected.select(0, 0).item<double>()).epsilon(1e-12));
  CHECK(loss.select(0, 1).item<double>() ==
        Approx(-lp.select(2, 0).narrow(0, 0, 2).select(1, 1).sum().item<double>()).epsilon(1e-12));
  // No input at all: only the empty target has an alignment.
  const Tensor none = dg::ctc_loss(lp, dg::tensor(std::vector<int64_t>{1}, kInt64), {0, 0}, {0, 1}, 0, 0);
  CHECK(none.select(0, 0).item<double>() == 0.0);
  CHECK(std::isinf(none.select(0, 1).item<double>()));
  // An empty batch.
  CHECK(dg::ctc_loss(dg::empty({4, 0, 3}, kFloat64), empty, std::vector<int64_t>{}, std::vector<int64_t>{}, 0, 2)
            .item<double>() == 0.0);
}

TEST_CASE("ctc_loss on CUDA matches the CPU", "[ctc_loss][cuda]") {
  if (!dg::cuda::is_available()) {
    WARN("CUDA ctc_loss test skipped: " << dg::cuda::unavailable_reason());
    return;
  }
  dg::manual_seed(11);
  for (ScalarType dtype : {kFloat64, kFloat32}) {
    Tensor lp = dg::randn({7, 3, 5}, dtype).log_softmax(2).detach().requires_grad_();
    Tensor lpc = lp.detach().to(Device(kCUDA)).requires_grad_();
    const Tensor targets =
        dg::tensor(std::vector<int64_t>{1, 2, 2, 3, 4, 1, 0, 0, 3, 3, 1, 0}, kInt64).to(kInt32).view({3, 4});
    for (bool zero_infinity : {false, true}) {
      const std::vector<int64_t> il{7, 6, 2}, tl{4, 2, 3};  // the last cannot align
      const Tensor a = dg::ctc_loss(lp, targets, il, tl, 0, 0, zero_infinity);
      const Tensor b = dg::ctc_loss(lpc, targets.to(Device(kCUDA)), il, tl, 0, 0, zero_infinity);
      const Tensor w = dg::rand({3}, dtype);
      (a * w).sum().backward();  // without zero_infinity: an infinite loss, NaN gradients (as PyTorch)
      (b * w.to(Device(kCUDA))).sum().backward();
      const double tol = dtype == kFloat32 ? 1e-4 : 1e-10;
      check_close(b.to(Device(kCPU)), a, tol);
      check_close(lpc.grad().to(Device(kCPU)), lp.grad(), tol);
      lp.grad().zero_();
      lpc.grad().zero_();
    }
  }
}
