// In-place ops through views (PyTorch's view rebasing), version counters and
// saved-tensor memory. Expected gradients come from central finite differences
// (autograd::gradcheck re-runs each scenario from its leaves).
#include <catch2/catch.hpp>

#include <cmath>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
using Catch::Matchers::Contains;
using dg::autograd::gradcheck;
using dg::autograd::gradgradcheck;

namespace {

using Fn = dg::autograd::GradcheckFn;

}  // namespace

TEST_CASE("in-place op on a slice of a non-leaf: the base's gradient covers written and unwritten elements",
          "[views][inplace]") {
  Fn fn = [](const variable_list& in) -> variable_list {
    Tensor y = in[0] * 1;           // non-leaf [4, 3]
    y.narrow(0, 1, 2).mul_(in[1]);  // rows 1..2 scaled by w [3]
    return {(y * y).sum()};
  };
  variable_list in{leaf({4, 3}), leaf({3})};
  CHECK(gradcheck(fn, in));
  CHECK(gradgradcheck(fn, in));
  Tensor y = in[0] * 1;
  y.narrow(0, 1, 2).mul_(in[1]);
  CHECK(y.grad_fn()->name() == "CopySlices");
}

TEST_CASE("x[0] = y style copies into a slice: select(...).copy_()", "[views][inplace]") {
  Fn fn = [](const variable_list& in) -> variable_list {
    Tensor z = dg::zeros({3, 4}, dg::kFloat64);  // does not require grad
    z.select(0, 0).copy_(in[0]);                 // z[0] = a
    z.select(0, 2).copy_(in[1] * 2);             // z[2] = 2b
    return {(z * z.sum(std::vector<int64_t>{0}, true)).sum()};
  };
  variable_list in{leaf({4}), leaf({4})};
  CHECK(gradcheck(fn, in));
  CHECK(gradgradcheck(fn, in));
  Tensor z = dg::zeros({3, 4}, dg::kFloat64);
  z.select(0, 1).copy_(in[0]);
  CHECK(z.requires_grad());
  CHECK(z[1].requires_grad());
  z.sum().backward();
  CHECK(dg::allclose(in[0].grad(), dg::ones({4}, dg::kFloat64)));
}

TEST_CASE("in-place ops whose backward needs their input or output, on views", "[views][inplace]") {
  Fn needs_input = [](const variable_list& in) -> variable_list {
    Tensor y = in[0] * 1;
    y.select(1, 0).mul_(in[1]);  // MulBackward0 needs the view's old value
    return {y.exp().sum()};
  };
  // ExpBackward0 / SigmoidBackward0 save their output, the view itself. (One
  // op each: a second in-place write anywhere in the same memory would
  // invalidate the saved output, as in PyTorch.)
  Fn needs_output = [](const variable_list& in) -> variable_list {
    Tensor y = in[0] * 1;
    y.narrow(1, 1, 2).exp_();
    return {(y * in[0]).sum()};
  };
  Fn needs_output2 = [](const variable_list& in) -> variable_list {
    Tensor y = in[0] * 1;
    y.select(0, 1).sigmoid_();
    return {(y * in[0]).sum()};
  };
  variable_list in{leaf({3, 4}), leaf({3})};
  CHECK(gradcheck(needs_input, in));
  CHECK(gradgradcheck(needs_input, in));
  variable_list in2{leaf({3, 4})};
  CHECK(gradcheck(needs_output, in2));
  CHECK(gradgradcheck(needs_output, in2));
  CHECK(gradcheck(needs_output2, in2));
  CHECK(gradgradcheck(needs_output2, in2));
}

TEST_CASE("chains of views, and other views of the base, see the right gradients", "[views][inplace]") {
  Fn fn = [](const variable_list& in) -> variable_list {
    Tensor y = in[0] * 1;                                       // [2, 6]
    Tensor other = y.select(0, 1);                              // made before the in-place op
    Tensor v = y.view({2, 3, 2}).select(1, 1).narrow(1, 0, 1);  // a view of a view of a view
    v.mul_(in[1]);                                              // in[1]: [1]
    return {(other * 3).sum() + (y * y).sum() + v.sum()};
  };
  variable_list in{leaf({2, 6}), leaf({1})};
  CHECK(gradcheck(fn, in));
  CHECK(gradgradcheck(fn, in));
}

TEST_CASE("in-place ReLU after a saved activation, and relu_ saving its own output", "[views][inplace]") {
  Tensor x = leaf({5});
  Tensor a = x.sigmoid();  // SigmoidBackward0 saves its output a
  a.relu_();               // changes a: the saved output is stale
  REQUIRE_THROWS_WITH(a.sum().backward(), Contains("SigmoidBackward0") && Contains("relu_") && Contains("version 1") &&
                                              Contains("version 0"));
  // relu_ on a fresh result is fine: ReluBackward0 saves the output relu_ made.
  Fn fn = [](const variable_list& in) -> variable_list {
    Tensor h = in[0] * in[1];
    h.relu_();
    return {h.sum() * 2};
  };
  CHECK(gradcheck(fn, {leaf({6}), leaf({6})}));
}

TEST_CASE("views created under NoGradGuard and modified later", "[views][inplace]") {
  // The base does not require grad: the change is recorded on the base.
  Fn fn = [](const variable_list& in) -> variable_list {
    Tensor base = dg::ones({3, 2}, dg::kFloat64);
    Tensor v;
    {
      dg::NoGradGuard no_grad;
      v = base.select(0, 1);
    }
    v.mul_(in[0]);
    return {(base * base).sum()};
  };
  CHECK(gradcheck(fn, {leaf({2})}));
  // The base requires grad: ambiguous, refused before anything is written.
  Tensor x = leaf({3, 2});
  Tensor y = x * 1;
  Tensor v;
  {
    dg::NoGradGuard no_grad;
    v = y.select(0, 1);
  }
  Tensor before = y.detach().clone();
  REQUIRE_THROWS_WITH(v.mul_(2.0), Contains("mul_") && Contains("NoGradGuard"));
  CHECK(dg::equal(y.detach(), before));
  {
    dg::NoGradGuard no_grad;
    v.mul_(2.0);  // both under no-grad: allowed, not recorded
  }
}

TEST_CASE("in-place on a leaf, a view of a leaf, and an expanded tensor", "[views][inplace][errors]") {
  Tensor x = leaf({3, 2});
  REQUIRE_THROWS_WITH(x.select(0, 1).mul_(2.0), Contains("mul_") && Contains("view of a leaf"));
  {
    dg::NoGradGuard no_grad;
    x.select(0, 1).mul_(2.0);  // the optimizer's path
  }
  Tensor y = dg::ones({3}, dg::kFloat64);
  Tensor e = y.expand({4, 3});
  REQUIRE_THROWS_WITH(e.add_(1.0), Contains("add_") && Contains("single memory location"));
  CHECK(dg::equal(y, dg::ones({3}, dg::kFloat64)));
  REQUIRE_THROWS_WITH(e.zero_(), Contains("zero_"));
  REQUIRE_THROWS_WITH(e.copy_(dg::zeros({4, 3}, dg::kFloat64)), Contains("copy_"));
}

TEST_CASE("a view of a base that gains history in place follows it", "[views][inplace]") {
  Tensor w = leaf({3});
  Tensor base = dg::zeros({2, 3}, dg::kFloat64);
  Tensor row = base.select(0, 0);
  CHECK_FALSE(row.requires_grad());
  base.add_(w);  // base (and so row) now depends on w
  CHECK(base.requires_grad());
  CHECK(row.requires_grad());
  (row * 5).sum().backward();
  CHECK(dg::allclose(w.grad(), dg::full({3}, 5.0, dg::kFloat64)));
}

TEST_CASE("every in-place op bumps the version exactly once", "[inplace][version]") {
  Tensor t = dg::zeros({4}, dg::kFloat64);
  Tensor v = t.narrow(0, 0, 2);
  uint32_t n = t._version();
  t.add_(1.0);
  CHECK(t._version() == ++n);
  t.mul_(dg::ones({4}, dg::kFloat64));
  CHECK(t._version() == ++n);
  v.fill_(3.0);
  CHECK(t._version() == ++n);
  CHECK(v._version() == n);
  t.zero_();
  CHECK(t._version() == ++n);
  t.copy_(dg::ones({4}));
  CHECK(t._version() == ++n);
  t.relu_();
  CHECK(t._version() == ++n);
  Tensor d = t.detach();
  d.add_(1.0);  // through a detached alias: same memory, same counter
  CHECK(t._version() == ++n);
  {
    dg::InferenceMode guard;
    t.add_(1.0);  // a normal tensor changed inside InferenceMode still counts
  }
  CHECK(t._version() == ++n);
}

TEST_CASE("a saved tensor changed through a detached alias is caught", "[inplace][version]") {
  Tensor x = leaf({3});
  Tensor y = x.exp();  // saves its output
  y.detach().zero_();
  REQUIRE_THROWS_WITH(y.sum().backward(), Contains("ExpBackward0") && Contains("zero_") && Contains("[float64 [3]]"));
}

TEST_CASE("the version-mismatch error names shape, dtype, both ops, both versions and a fix", "[inplace][version]") {
  Tensor x = leaf({2, 2});
  Tensor a = x * 1;
  Tensor b = a * a;  // MulBackward0 saves a at version 0
  a.add_(1.0);
  a.add_(1.0);
  try {
    b.sum().backward();
    FAIL("expected an error");
  } catch (const dg::Error& e) {
    const std::string m = e.what();
    CHECK_THAT(m, Contains("[float64 [2, 2]]") && Contains("MulBackward0") && Contains("add_") &&
                      Contains("version 2") && Contains("version 0") && Contains("clone()"));
  }
}

TEST_CASE("a chain of 10,000 recorded in-place ops backwards correctly", "[inplace][deep]") {
  Tensor x = dg::tensor({1.0, 2.0}, dg::dtype(dg::kFloat64).requires_grad(true));
  Tensor y = x * 1;
  for (int i = 0; i < 10000; ++i) y.mul_(1.0001);
  y.sum().backward();
  const double expected = std::pow(1.0001, 10000);
  CHECK(x.grad()[0].item<double>() == Approx(expected).epsilon(1e-9));
  CHECK(y._version() == 10000);
}

TEST_CASE("custom Function: mark_dirty on a view rewrites the base's history", "[views][function]") {
  struct AddOneInPlace : dg::autograd::Function<AddOneInPlace> {
    static Tensor forward(dg::autograd::AutogradContext* ctx, Tensor x) {
      x.add_(1.0);
      ctx->mark_dirty({x});
      return x;
    }
    static variable_list backward(dg::autograd::AutogradContext*, variable_list g) { return {g[0]}; }
  };
  Fn fn = [](const variable_list& in) -> variable_list {
    Tensor y = in[0] * 1;
    AddOneInPlace::apply(y.select(0, 1));
    return {(y * y).sum()};
  };
  CHECK(gradcheck(fn, {leaf({3, 2})}));
}
