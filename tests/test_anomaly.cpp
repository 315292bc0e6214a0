// Anomaly detection (PyTorch's detect_anomaly), saved values by name
// (grad_fn._saved_<name>), node metadata and the determinism switch.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <string>

#include "common/determinism.h"
#include "dynagrad/backward_nodes.h"
#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
using Catch::Matchers::Contains;

// Named, non-inline functions: the forward trace must show them.
__attribute__((noinline)) Tensor anomaly_test_make_sqrt_of_negative(const Tensor& x) {
  Tensor y = (-x).sqrt();
  asm volatile("");
  return y;
}

namespace {
// A custom function whose backward fails.
struct FailingBackward : public autograd::Function<FailingBackward> {
  static Tensor forward(autograd::AutogradContext*, const Tensor& x) { return x * 2; }
  static autograd::variable_list backward(autograd::AutogradContext*, autograd::variable_list) {
    throw Error("FailingBackward: on purpose");
  }
};

__attribute__((noinline)) Tensor anomaly_test_make_failing(const Tensor& x) {
  Tensor y = FailingBackward::apply(x);
  asm volatile("");
  return y;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("anomaly mode: a NaN gradient names the node and the forward call", "[anomaly]") {
  Tensor x = dg::tensor({1.0, 4.0}, dg::requires_grad());
  // Off: the NaN passes silently (as in PyTorch).
  anomaly_test_make_sqrt_of_negative(x).sum().backward();
  CHECK(std::isnan(values(x.grad())[0]));
  x.mutable_grad() = Tensor();

  autograd::DetectAnomalyGuard guard;
  CHECK(autograd::AnomalyMode::is_enabled());
  Tensor y = anomaly_test_make_sqrt_of_negative(x).sum();
  REQUIRE(y.grad_fn()->next_edges()[0].function->has_metadata());
  const std::string msg = error_of([&] { y.backward(); });
  CHECK_THAT(msg, Contains("Function 'SqrtBackward0' returned nan values in its 0th output."));
  CHECK_THAT(msg, Contains("Traceback of forward call that caused the error"));
  CHECK_THAT(msg, Contains("anomaly_test_make_sqrt_of_negative"));
  CHECK_THAT(msg, Contains("dg::sqrt"));
}

TEST_CASE("anomaly mode: check_nan=false lets NaN through, the guard restores the mode", "[anomaly]") {
  Tensor x = dg::tensor({1.0, 4.0}, dg::requires_grad());
  {
    autograd::DetectAnomalyGuard guard(/*check_nan=*/false);
    CHECK_FALSE(autograd::AnomalyMode::should_check_nan());
    anomaly_test_make_sqrt_of_negative(x).sum().backward();
    CHECK(std::isnan(values(x.grad())[0]));
  }
  CHECK_FALSE(autograd::AnomalyMode::is_enabled());
  CHECK(autograd::AnomalyMode::should_check_nan());
  autograd::set_detect_anomaly(true);
  CHECK(autograd::is_anomaly_enabled());
  autograd::set_detect_anomaly(false);
  CHECK_FALSE(autograd::is_anomaly_enabled());
  // Nodes made while it is off record nothing.
  Tensor z = x * 2;
  CHECK_FALSE(z.grad_fn()->has_metadata());
}

TEST_CASE("anomaly mode: an error in backward carries the forward trace", "[anomaly]") {
  Tensor x = dg::ones({3}, dg::requires_grad());
  {
    const std::string plain = error_of([&] { anomaly_test_make_failing(x).sum().backward(); });
    CHECK(plain == "FailingBackward: on purpose");
  }
  autograd::DetectAnomalyGuard guard;
  const std::string msg = error_of([&] { anomaly_test_make_failing(x).sum().backward(); });
  CHECK_THAT(msg, Contains("FailingBackward: on purpose"));
  CHECK_THAT(msg, Contains("Error detected in FailingBackward"));
  CHECK_THAT(msg, Contains("anomaly_test_make_failing"));
}

TEST_CASE("anomaly mode: a version error in backward is annotated too", "[anomaly]") {
  autograd::DetectAnomalyGuard guard;
  Tensor x = dg::tensor({1.0, 2.0}, dg::requires_grad());
  Tensor y = (x * 1).exp();  // ExpBackward0 saves its result
  y.mul_(2);                 // which this changes
  const std::string msg = error_of([&] { y.sum().backward(); });
  CHECK_THAT(msg, Contains("modified by an inplace operation"));
  CHECK_THAT(msg, Contains("Error detected in ExpBackward0."));
}

TEST_CASE("anomaly mode: nodes made in a create_graph backward know their parent", "[anomaly]") {
  autograd::DetectAnomalyGuard guard;
  Tensor x = dg::tensor({1.0, 2.0}, dg::requires_grad());
  Tensor y = x.exp().sum();
  // ExpBackward0's formula (grad * result) records a MulBackward0 while it runs.
  Tensor g = autograd::grad({y}, {x}, {}, true, true)[0];
  REQUIRE(g.grad_fn());
  CHECK(g.grad_fn()->name() == "MulBackward0");
  REQUIRE(g.grad_fn()->has_metadata());
  const NodePtr& parent = g.grad_fn()->metadata()->parent();
  REQUIRE(parent);
  CHECK(parent->name() == "ExpBackward0");
  CHECK_THAT(g.grad_fn()->metadata()->traceback(), Contains("created in the backward of ExpBackward0"));
}

TEST_CASE("node metadata is a free key -> value store", "[anomaly]") {
  Tensor x = dg::ones({2}, dg::requires_grad());
  Tensor y = x * 3;
  CHECK_FALSE(y.grad_fn()->has_metadata());
  y.grad_fn()->metadata()->dict()["layer"] = std::string("fc1");
  y.grad_fn()->metadata()->dict()["step"] = 7;
  CHECK(std::any_cast<std::string>(y.grad_fn()->metadata()->dict().at("layer")) == "fc1");
  CHECK(std::any_cast<int>(y.grad_fn()->metadata()->dict().at("step")) == 7);
  CHECK(y.grad_fn()->has_metadata());
}

TEST_CASE("generated nodes expose their saved values by PyTorch's names", "[saved_values]") {
  Tensor x = dg::tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, dg::kFloat64).reshape({2, 3}).requires_grad_();
  Tensor w = dg::tensor({0.5, -1.0, 2.0, 1.5, 0.0, -2.0}, dg::kFloat64).reshape({2, 3}).requires_grad_();
  Tensor m = x * w;
  auto* mul = dynamic_cast<generated::MulBackward0*>(m.grad_fn().get());
  REQUIRE(mul);
  // PyTorch 1.13: MulBackward0 has _saved_self and _saved_other, the inputs.
  saved_value_list saved = mul->saved_values();
  REQUIRE(saved.size() == 2);
  CHECK(saved[0].first == "other");
  CHECK(saved[1].first == "self");
  CHECK(close(saved[0].second.toTensor(), w, 0));
  CHECK(close(saved[1].second.toTensor(), x, 0));
  CHECK(saved[1].second.str() == "float64[2, 3]");

  // SumBackward1: _saved_dim (1,), _saved_keepdim True, self's sizes (2, 3).
  Tensor s = x.sum({1}, true);
  REQUIRE(s.grad_fn()->name() == "SumBackward1");
  std::map<std::string, SavedValue> by_name;
  for (auto& [k, v] : s.grad_fn()->saved_values()) by_name[k] = v;
  CHECK(by_name.at("dim").toIntList() == std::vector<int64_t>{1});
  CHECK(by_name.at("keepdim").toBool());
  CHECK(by_name.at("self_sizes").toIntList() == std::vector<int64_t>{2, 3});
  CHECK_THAT(error_of([&] { by_name.at("dim").toTensor(); }), Contains("toTensor: the value is a int[]"));

  // ExpBackward0 saves its result (_saved_result).
  Tensor e = x.exp();
  auto ev = e.grad_fn()->saved_values();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].first == "result");
  CHECK(close(ev[0].second.toTensor(), e, 0));

  // After backward frees them, reading saved tensors raises (as PyTorch).
  e.sum().backward();
  CHECK_THAT(error_of([&] { e.grad_fn()->saved_values(); }), Contains("backward through the graph a second time"));
  // Leaves' AccumulateGrad nodes save nothing.
  CHECK(m.grad_fn()->next_edges()[0].function->saved_values().empty());
}

namespace {
struct SavesTwo : public autograd::Function<SavesTwo> {
  static Tensor forward(autograd::AutogradContext* ctx, const Tensor& a, const Tensor& b) {
    ctx->save_for_backward({a, b});
    return a * b;
  }
  static autograd::variable_list backward(autograd::AutogradContext* ctx, autograd::variable_list g) {
    auto s = ctx->get_saved_variables();
    return {g[0] * s[1], g[0] * s[0]};
  }
};
}  // namespace

TEST_CASE("custom function nodes list their saved variables", "[saved_values]") {
  Tensor a = dg::ones({2}, dg::requires_grad());
  Tensor b = dg::full({2}, 3.0, dg::requires_grad());
  Tensor y = SavesTwo::apply(a, b);
  auto saved = y.grad_fn()->saved_values();
  REQUIRE(saved.size() == 1);
  CHECK(saved[0].first == "saved_variables");
  const auto& list = saved[0].second.toTensorList();
  REQUIRE(list.size() == 2);
  CHECK(close(list[1], b, 0));
}

TEST_CASE("determinism switch: flag, warn_only, and the kernels' alert", "[determinism]") {
  CHECK_FALSE(dg::are_deterministic_algorithms_enabled());
  // Off: nothing happens whatever the kernel.
  dg::kernels::alert_atomic_accumulation<float>("scatter_add_cuda_kernel");
  dg::use_deterministic_algorithms(true);
  CHECK(dg::are_deterministic_algorithms_enabled());
  CHECK(dg::globalContext().deterministicAlgorithms());
  // Floating atomics: PyTorch's message naming the kernel.
  CHECK_THAT(error_of([] { dg::kernels::alert_atomic_accumulation<float>("scatter_add_cuda_kernel"); }),
             Contains("scatter_add_cuda_kernel does not have a deterministic implementation, but you set "
                      "'dg::use_deterministic_algorithms(true)'"));
  CHECK_THROWS_AS(dg::kernels::alert_atomic_accumulation<double>("index_add_cuda_"), Error);
  CHECK_THROWS_AS(dg::globalContext().alertNotDeterministic("embedding_backward_cuda_kernel"), Error);
  // Integer sums do not depend on the order: no alert.
  CHECK_NOTHROW(dg::kernels::alert_atomic_accumulation<int64_t>("scatter_add_cuda_kernel"));
  CHECK_NOTHROW(dg::kernels::alert_atomic_accumulation<int32_t>("index_add_cuda_"));
  // CPU kernels are deterministic: scatter_add and index_add run and agree run to run.
  Tensor idx = dg::tensor(std::vector<int64_t>{0, 1, 0, 1, 0});
  Tensor src = dg::tensor({0.1, 0.2, 0.3, 0.4, 0.5}, dg::kFloat32);
  Tensor a = dg::zeros({2}).index_add(0, idx, src);
  Tensor b = dg::zeros({2}).index_add(0, idx, src);
  CHECK(values(a) == values(b));
  // warn_only: a warning, no error.
  dg::use_deterministic_algorithms(true, /*warn_only=*/true);
  CHECK(dg::is_deterministic_algorithms_warn_only_enabled());
  CHECK_NOTHROW(dg::kernels::alert_atomic_accumulation<float>("scatter_add_cuda_kernel"));
  dg::globalContext().setDeterministicAlgorithms(false);
  CHECK_FALSE(dg::are_deterministic_algorithms_enabled());
  CHECK_FALSE(dg::is_deterministic_algorithms_warn_only_enabled());
}

TEST_CASE("determinism switch on the GPU: atomic-add kernels raise or run deterministically", "[cuda][determinism]") {
  if (!dg::cuda::is_available()) {
    WARN("no CUDA device: skipped (tools/gpu-check.sh runs it where one is lent)");
    return;
  }
  struct Reset {
    ~Reset() { dg::use_deterministic_algorithms(false); }
  } reset;
  const Device gpu(kCUDA, 0);
  Tensor idx = dg::tensor(std::vector<int64_t>{0, 1, 0}).to(gpu);
  Tensor src = dg::ones({3}, TensorOptions().device(gpu));
  dg::use_deterministic_algorithms(true);
  // scatter_add has a deterministic path too: checked against the CPU below.
  {
    Tensor base = dg::rand({4, 6}, dg::kFloat64);
    Tensor where = dg::tensor(std::vector<int64_t>{3, 0, 3, 3, 1, 0, 2, 3, 0, 1, 1, 3}).reshape({3, 4});
    Tensor vals = dg::randn({3, 5}, dg::kFloat64);
    Tensor want = base.scatter_add(0, where, vals);
    Tensor g1 = base.to(gpu).scatter_add(0, where.to(gpu), vals.to(gpu)).cpu();
    Tensor g2 = base.to(gpu).scatter_add(0, where.to(gpu), vals.to(gpu)).cpu();
    CHECK(close(g1, want, 1e-12));
    CHECK(values(g1) == values(g2));
  }
  // index_add has a deterministic path: the CPU's sums, the same bits on every run.
  {
    Tensor base = dg::rand({5, 3, 4}, dg::kFloat64);
    Tensor many = dg::tensor(std::vector<int64_t>{1, 4, 1, 0, 4, 4, 2, 1});
    Tensor vals = dg::randn({5, 8, 4}, dg::kFloat64);
    Tensor want = base.index_add(1, many.remainder(3), vals, 0.5);
    Tensor g1 = base.to(gpu).index_add(1, many.remainder(3).to(gpu), vals.to(gpu), 0.5).cpu();
    Tensor g2 = base.to(gpu).index_add(1, many.remainder(3).to(gpu), vals.to(gpu), 0.5).cpu();
    CHECK(close(g1, want, 1e-12));
    CHECK(values(g1) == values(g2));
  }
  // Embedding backward (contiguous indices and grad): deterministic, as the CPU's.
  {
    Tensor ids = dg::tensor(std::vector<int64_t>{2, 0, 2, 5, 2, 1, 0, 5}).reshape({2, 4});
    Tensor up = dg::randn({2, 4, 3}, dg::kFloat64);
    Tensor want = dg::embedding_backward(up, ids, 6, -1, true, false);
    Tensor g1 = dg::embedding_backward(up.to(gpu), ids.to(gpu), 6, -1, true, false).cpu();
    Tensor g2 = dg::embedding_backward(up.to(gpu), ids.to(gpu), 6, -1, true, false).cpu();
    CHECK(close(g1, want, 1e-12));
    CHECK(values(g1) == values(g2));
    // A non-contiguous grad has no deterministic path: PyTorch's error.
    Tensor up_t = dg::randn({3, 4, 2}, dg::kFloat64).to(gpu).permute({2, 1, 0});
    CHECK_THAT(error_of([&] { dg::embedding_backward(up_t, ids.to(gpu), 6, -1, false, false); }),
               Contains("embedding_backward_cuda_kernel does not have a deterministic implementation"));
  }
  // Upsampling backward has none either.
  Tensor img = dg::rand({1, 1, 4, 4}, TensorOptions().device(gpu)).requires_grad_();
  Tensor up2 = dg::upsample_bilinear2d(img, {8, 8}, false).sum();
  CHECK_THAT(error_of([&] { up2.backward(); }), Contains("does not have a deterministic implementation"));
  // Integer accumulation is order-independent: allowed.
  Tensor isrc = dg::ones({3}, TensorOptions().device(gpu).dtype(kInt64));
  Tensor r = dg::zeros({2}, TensorOptions().device(gpu).dtype(kInt64)).scatter_add(0, idx, isrc);
  CHECK(values(r.cpu()) == std::vector<double>{2, 1});
  dg::use_deterministic_algorithms(false);
  CHECK_NOTHROW(dg::zeros({2}, TensorOptions().device(gpu)).scatter_add(0, idx, src));
}
