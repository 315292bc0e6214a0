// Generic per-op checks over the generated registry: every differentiable op
// and each of its samples passes gradcheck and gradgradcheck (float64 central
// differences against the analytic gradient autograd computes), in-place
// variants included (an op declared once_differentiable must instead raise
// its error in gradgradcheck); out= variants match the function form.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <string>

#include "op_registry.h"

using namespace dg;
using dg::testing::all_ops;
using dg::testing::all_samples;
using dg::testing::label;
using dg::testing::make_inputs;
using dg::testing::TensorSpec;

TEST_CASE("every differentiable op has samples", "[ops][registry]") {
  for (const auto& op : all_ops()) {
    INFO(op.name);
    if (op.differentiable) CHECK(op.num_samples > 0);
  }
  CHECK(all_ops().size() >= 40);
}

TEST_CASE("generated gradcheck of every op sample", "[ops][gradcheck]") {
  dg::manual_seed(1234);
  int checked = 0;
  for (const auto& s : all_samples()) {
    if (!s.check_grad) continue;
    INFO(label(s));
    variable_list in = make_inputs(s);
    for (size_t k = 0; k < in.size(); ++k) REQUIRE(in[k].requires_grad() == (s.inputs[k].dtype == kFloat64));
    if (s.inputs.size() && s.inputs[0].transposed) REQUIRE_FALSE(in[0].is_contiguous());
    CHECK_NOTHROW(dg::autograd::gradcheck(s.fn, in));
    ++checked;
  }
  CHECK(checked > 50);
}

TEST_CASE("generated gradgradcheck of every op sample", "[ops][gradgradcheck]") {
  dg::manual_seed(4321);
  for (const auto& s : all_samples()) {
    if (!s.check_grad) continue;
    INFO(label(s));
    variable_list in = make_inputs(s);
    if (s.gradgrad_error) {
      // Once differentiable (ops.yaml once_differentiable): a second order
      // through the op raises, as in PyTorch, rather than giving zeros.
      CHECK_THROWS_WITH(dg::autograd::gradgradcheck(s.fn, in), Catch::Contains(s.gradgrad_error));
    } else {
      CHECK_NOTHROW(dg::autograd::gradgradcheck(s.fn, in));
    }
  }
}

TEST_CASE("out= variants match the function form", "[ops][out]") {
  dg::manual_seed(99);
  int checked = 0;
  for (const auto& s : all_samples()) {
    if (std::string(s.variant) != "out") continue;
    INFO(label(s));
    variable_list in = make_inputs(s);
    dg::NoGradGuard no_grad;  // out= does not record
    variable_list r = s.fn(in);
    REQUIRE(r.size() == 2);
    CHECK(r[0].sizes() == r[1].sizes());
    CHECK(dg::allclose(r[0], r[1], 1e-12, 1e-12));
    ++checked;
  }
  CHECK(checked > 10);
}

TEST_CASE("gradcheck catches a wrong gradient", "[gradcheck]") {
  // A custom function whose backward is deliberately off by a factor: the
  // checker must reject it, or the per-op checks above prove nothing.
  struct WrongSquare : dg::autograd::Function<WrongSquare> {
    static Tensor forward(dg::autograd::AutogradContext* ctx, const Tensor& x) {
      ctx->save_for_backward({x});
      return x * x;
    }
    static variable_list backward(dg::autograd::AutogradContext* ctx, variable_list g) {
      return {g[0] * 3 * ctx->get_saved_variables()[0]};
    }
  };
  Tensor x = dg::rand({4}, dg::kFloat64).requires_grad_();
  auto fn = [](const variable_list& in) -> variable_list { return {WrongSquare::apply(in[0])}; };
  CHECK_THROWS_AS(dg::autograd::gradcheck(fn, {x}), dg::Error);
  dg::autograd::GradcheckOptions quiet;
  quiet.raise_exception = false;
  CHECK_FALSE(dg::autograd::gradcheck(fn, {x}, quiet));
}
