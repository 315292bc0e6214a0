// Bad input raises dg::Error naming the op, what it expected and what it got;
// nothing crashes and no tensor is left half-written.
#include <catch2/catch.hpp>

#include "dynagrad/dynagrad.h"

using namespace dg;
using Catch::Matchers::Contains;

TEST_CASE("shape mismatches name the op and both shapes", "[errors]") {
  Tensor a = dg::ones({2, 3});
  Tensor b = dg::ones({4});
  REQUIRE_THROWS_WITH(a * b, Contains("mul") && Contains("[2, 3]") && Contains("[4]"));
  REQUIRE_THROWS_WITH(a.mm(dg::ones({2, 3})), Contains("mm") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(dg::ones({3}).mm(dg::ones({3, 2})), Contains("mm") && Contains("2-D"));
  REQUIRE_THROWS_WITH(a.view({4, 2}), Contains("view") && Contains("[4, 2]"));
  REQUIRE_THROWS_WITH(a.sum({2}), Contains("sum") && Contains("2"));
  REQUIRE_THROWS_WITH(a.transpose(0, 5), Contains("transpose"));
  REQUIRE_THROWS_WITH(a.expand({3, 3}), Contains("expand"));
  REQUIRE_THROWS_WITH(a.select(0, 7), Contains("select") && Contains("7"));
}

TEST_CASE("dtype mismatches and missing kernels name the op and the dtypes", "[errors]") {
  REQUIRE_THROWS_WITH(dg::ones({2, 2}).mm(dg::ones({2, 2}, dg::kFloat64)),
                      Contains("mm") && Contains("float32") && Contains("float64"));
  REQUIRE_THROWS_WITH(dg::ones({2}, dg::kBool).neg(), Contains("neg") && Contains("bool"));
  Tensor i = dg::ones({2}, dg::kInt64);
  REQUIRE_THROWS_WITH(i.add_(0.5), Contains("add_") && Contains("int64"));
  CHECK(i.sum().item<int64_t>() == 2);
}

TEST_CASE("in-place results that do not fit self are rejected before writing", "[errors]") {
  Tensor a = dg::ones({3});
  REQUIRE_THROWS_WITH(a.add_(dg::ones({2, 3})), Contains("add_") && Contains("[3]") && Contains("[2, 3]"));
  CHECK(dg::allclose(a, dg::ones({3})));
}

TEST_CASE("out= checks dtype and refuses to record", "[errors]") {
  Tensor out = dg::empty({0}, dg::kFloat64);
  REQUIRE_THROWS_WITH(dg::mul_out(out, dg::ones({2}), dg::ones({2})),
                      Contains("mul_out") && Contains("float64") && Contains("float32"));
  Tensor o2 = dg::empty({0});
  dg::mul_out(o2, dg::ones({2}), dg::full({2}, 3.0));
  CHECK(o2.sizes() == IntArrayRef({2}));
  CHECK(dg::allclose(o2, dg::full({2}, 3.0)));
  REQUIRE_THROWS_WITH(dg::mul_out(o2, dg::ones({2}, dg::requires_grad()), dg::ones({2})), Contains("mul_out"));
}

TEST_CASE("misuse of tensors and autograd raises dg::Error", "[errors]") {
  Tensor undefined;
  REQUIRE_THROWS_AS(undefined.sizes(), dg::Error);
  REQUIRE_THROWS_WITH(dg::exp(undefined), Contains("exp") && Contains("self"));
  REQUIRE_THROWS_WITH(dg::ones({2, 3}).item<float>(), Contains("item") && Contains("[2, 3]"));
  REQUIRE_THROWS_WITH(dg::ones({2}).data_ptr<double>(), Contains("data_ptr"));
  REQUIRE_THROWS_WITH(dg::ones({2}).size(3), Contains("size"));
  Tensor x = dg::ones({2}, dg::requires_grad());
  REQUIRE_THROWS_WITH(dg::autograd::grad({x.sum()}, {x}, {dg::ones({3})}), Contains("[3]"));
  REQUIRE_THROWS_AS(dg::arange(0, 5, 0), dg::Error);
}

TEST_CASE("inference tensors cannot be saved for backward later", "[errors]") {
  Tensor t;
  {
    dg::InferenceMode guard;
    t = dg::ones({2});
  }
  Tensor w = dg::ones({2}, dg::requires_grad());
  REQUIRE_THROWS_WITH(w * t, Contains("inference"));
}
