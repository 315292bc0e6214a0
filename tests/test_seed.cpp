// The seed document's semantics (shared/seed), one case each.
#include <catch2/catch.hpp>

#include <cmath>

#include "dynagrad/dynagrad.h"

using namespace dg;
using Catch::Matchers::Contains;

TEST_CASE("x*x + sin(x) at 2.0 gives 4 + cos(2)", "[seed]") {
  Tensor x = dg::tensor(2.0, dg::requires_grad());
  Tensor y = x * x + dg::sin(x);
  y.backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().item<double>() == Approx(4.0 + std::cos(2.0)).epsilon(1e-6));
}

TEST_CASE("w*2 + b summed: grads 2 and 1, the intermediate keeps no .grad", "[seed]") {
  Tensor w = dg::randn({10}, dg::requires_grad());
  Tensor b = dg::zeros({10}, dg::requires_grad());
  Tensor y = w * 2 + b;
  Tensor loss = y.sum();
  loss.backward();
  CHECK(dg::allclose(w.grad(), dg::full({10}, 2.0)));
  CHECK(dg::allclose(b.grad(), dg::ones({10})));
  CHECK(w.is_leaf());
  CHECK_FALSE(y.is_leaf());
  CHECK_FALSE(y.grad().defined());
}

TEST_CASE("two backward calls accumulate into .grad", "[seed]") {
  Tensor x = dg::tensor({1.0, 2.0, 3.0}, dg::requires_grad());
  Tensor loss = (x * x).sum();
  loss.backward({}, /*retain_graph=*/true);
  loss.backward();
  CHECK(dg::allclose(x.grad(), dg::tensor({4.0, 8.0, 12.0})));
  // zero_grad as optimizers do it, then one more pass gives one contribution.
  x.mutable_grad().zero_();
  (x * x).sum().backward();
  CHECK(dg::allclose(x.grad(), dg::tensor({2.0, 4.0, 6.0})));
}

TEST_CASE("a second backward without retain_graph is a clear error", "[seed]") {
  Tensor x = dg::tensor(3.0, dg::requires_grad());
  Tensor y = x * x;
  y.backward();
  REQUIRE_THROWS_WITH(y.backward(), Contains("second time") && Contains("retain_graph"));
}

TEST_CASE("NoGradGuard and InferenceMode results have no grad_fn", "[seed]") {
  Tensor x = dg::ones({3}, dg::requires_grad());
  {
    dg::NoGradGuard guard;
    Tensor y = x * 2;
    CHECK_FALSE(y.grad_fn());
    CHECK_FALSE(y.requires_grad());
    {
      dg::EnableGradGuard enable;
      CHECK((x * 2).grad_fn());
    }
  }
  {
    dg::InferenceMode guard;
    Tensor y = x * 2;
    CHECK_FALSE(y.grad_fn());
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_inference());
  }
  CHECK((x * 2).grad_fn());
}

TEST_CASE("x.pow(3): first and second derivatives 12 and 12 at 2.0", "[seed]") {
  Tensor x = dg::tensor(2.0, dg::requires_grad());
  Tensor y = x.pow(3);
  Tensor dy = dg::autograd::grad({y}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  CHECK(dy.item<double>() == Approx(12.0));
  CHECK(dy.requires_grad());
  Tensor d2y = dg::autograd::grad({dy}, {x})[0];
  CHECK(d2y.item<double>() == Approx(12.0));
}

namespace {
struct Square : dg::autograd::Function<Square> {
  static Tensor forward(dg::autograd::AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x * x;
  }
  static variable_list backward(dg::autograd::AutogradContext* ctx, variable_list grad_out) {
    Tensor x = ctx->get_saved_variables()[0];
    return {grad_out[0] * 2 * x};
  }
};
}  // namespace

TEST_CASE("a custom Square function gives 2x", "[seed]") {
  Tensor x = dg::tensor({1.5, -2.0, 3.0}, dg::requires_grad());
  Tensor y = Square::apply(x);
  CHECK(dg::allclose(y, dg::tensor({2.25, 4.0, 9.0})));
  REQUIRE(y.grad_fn());
  y.sum().backward();
  CHECK(dg::allclose(x.grad(), dg::tensor({3.0, -4.0, 6.0})));
}

TEST_CASE("modifying a saved tensor in place, then backward, names the op and both versions", "[seed]") {
  Tensor x = dg::tensor({1.0, 2.0}, dg::requires_grad());
  Tensor a = x * 1;  // non-leaf, version 0
  Tensor y = a * a;  // MulBackward0 saves a at version 0
  a.add_(1.0);       // version 1
  REQUIRE(a._version() == 1);
  REQUIRE_THROWS_WITH(y.sum().backward(), Contains("MulBackward0") && Contains("version 1") && Contains("version 0") &&
                                              Contains("inplace"));
}

TEST_CASE("an in-place op on a leaf that requires grad throws", "[seed]") {
  Tensor w = dg::ones({3}, dg::requires_grad());
  REQUIRE_THROWS_WITH(w.add_(1.0), Contains("add_") && Contains("leaf"));
  CHECK(w.sum().item<double>() == 3.0);  // not half-written
  {
    dg::NoGradGuard guard;  // the optimizer's path
    w.add_(1.0);
  }
  CHECK(w.sum().item<double>() == 6.0);
}

TEST_CASE("backward() on a non-scalar without a gradient throws", "[seed]") {
  Tensor x = dg::ones({2, 3}, dg::requires_grad());
  Tensor y = x * 2;
  REQUIRE_THROWS_WITH(y.backward(), Contains("scalar") && Contains("[2, 3]"));
  y.backward(dg::ones({2, 3}));
  CHECK(dg::allclose(x.grad(), dg::full({2, 3}, 2.0)));
}

TEST_CASE("autograd::grad leaves .grad untouched", "[seed]") {
  Tensor x = dg::tensor({1.0, 2.0}, dg::requires_grad());
  Tensor y = (x * x).sum();
  variable_list g = dg::autograd::grad({y}, {x});
  CHECK(dg::allclose(g[0], dg::tensor({2.0, 4.0})));
  CHECK_FALSE(x.grad().defined());
}
