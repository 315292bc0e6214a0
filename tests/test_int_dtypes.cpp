// The narrow integer dtypes (int32, int16, int8, uint8), LibTorch's promotion
// rules (dimensionless tensors and scalars), dtype= on the accumulating
// reductions and in-place comparisons. Expected values and dtypes were printed
// by libtorch-dev 1.13 running the same expressions.
#include <catch2/catch.hpp>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using Catch::Matchers::Contains;
using dg::testing::check_values;

namespace {
Tensor i32() { return dg::tensor({1, 2, 3}, kInt32); }
Tensor u8() { return dg::tensor({100, 200, 250}, kUInt8); }
Tensor i8() { return dg::tensor({-100, 50, 127}, kInt8); }
}  // namespace

TEST_CASE("narrow integer dtypes: names, sizes, promotion", "[dtype]") {
  CHECK(element_size(kInt32) == 4);
  CHECK(element_size(kInt16) == 2);
  CHECK(element_size(kUInt8) == 1);
  CHECK(std::string(scalar_type_name(kInt8)) == "int8");
  CHECK(kInt == kInt32);
  CHECK(kShort == kInt16);
  CHECK(kChar == kInt8);
  CHECK(kByte == kUInt8);
  // libtorch 1.13: int32+uint8 int, uint8+int8 short, int32+2 int, int32+2.5
  // float, uint8+tensor(3) (0-dim int64) uint8.
  CHECK((i32() + u8()).dtype() == kInt32);
  CHECK((u8() + i8()).dtype() == kInt16);
  CHECK((i32() + 2).dtype() == kInt32);
  CHECK((i32() + 2.5).dtype() == kFloat32);
  CHECK((u8() + dg::tensor(3)).dtype() == kUInt8);
  CHECK(promote_types(kInt16, kInt64) == kInt64);
  CHECK(promote_types(kUInt8, kFloat16) == kFloat16);
}

TEST_CASE("dimensionless tensors promote only across categories", "[dtype]") {
  const Tensor f = dg::ones({2}, kFloat32);
  // libtorch 1.13: float32 * tensor(2.0, f64) float, int32 * tensor(2.0, f64)
  // double, float32 * tensor({2.0}, f64) double.
  CHECK((f * dg::tensor(2.0, kFloat64)).dtype() == kFloat32);
  CHECK((i32() * dg::tensor(2.0, kFloat64)).dtype() == kFloat64);
  CHECK((f * dg::tensor({2.0}, kFloat64)).dtype() == kFloat64);
  CHECK((dg::tensor(2.0, kFloat64) * dg::tensor(3.0, kFloat32)).dtype() == kFloat64);
  CHECK((dg::tensor({true, false}) + dg::tensor(1, kInt32)).dtype() == kInt32);
}

TEST_CASE("narrow integers wrap around as LibTorch's", "[dtype]") {
  // libtorch 1.13: uint8 {100,200,250}*2 wraps to {200,144,244}; int8
  // {-100,50,127} squared {16,-60,1}; ~uint8 {155,55,5}; -int8 {100,-50,-127}.
  Tensor b = u8() + u8();
  CHECK(b.dtype() == kUInt8);
  check_values(b, {200, 144, 244});
  Tensor c = i8() * i8();
  CHECK(c.dtype() == kInt8);
  check_values(c, {16, -60, 1});
  check_values(~u8(), {155, 55, 5});
  check_values(-i8(), {100, -50, -127});
  check_values(u8().abs(), {100, 200, 250});
  check_values(u8() - 251, {105, 205, 255});
  // Division and its relatives: div is float32, floor_divide and remainder stay int8.
  Tensor d = i8().div(2);
  CHECK(d.dtype() == kFloat32);
  check_values(d, {-50, 25, 63.5});
  Tensor fd = dg::floor_divide(i8(), 3);
  CHECK(fd.dtype() == kInt8);
  check_values(fd, {-34, 16, 42});
  check_values(dg::remainder(i8(), 3), {2, 2, 1});
  CHECK((i32() < 2).dtype() == kBool);
  check_values(i32() < 2, {1, 0, 0});
  check_values(i32().max(), {3});
  CHECK(i32().max().dtype() == kInt32);
  check_values(i32().argmax(), {2});
}

TEST_CASE("narrow integers through copies, indexing and sorting", "[dtype]") {
  Tensor a = i32();
  CHECK(a.to(kInt8).dtype() == kInt8);
  check_values(a.to(kInt8), {1, 2, 3});
  check_values(dg::arange(5, kInt32), {0, 1, 2, 3, 4});
  CHECK(dg::arange(5, kInt32).dtype() == kInt32);
  Tensor s = std::get<0>(u8().sort(0, true));
  CHECK(s.dtype() == kUInt8);
  check_values(s, {250, 200, 100});
  Tensor idx = dg::tensor({2, 0});
  check_values(a.index_select(0, idx), {3, 1});
  check_values(a.index({idx}), {3, 1});
  Tensor w = a.clone();
  w.index_put_({idx}, 7);
  check_values(w, {7, 2, 7});
  check_values(dg::cat({a, a.to(kInt64)}), {1, 2, 3, 1, 2, 3});
  CHECK(dg::cat({a, a}).dtype() == kInt32);
  check_values(dg::where(a > 1, a, dg::zeros_like(a)), {0, 2, 3});
  CHECK(a[2].item<int32_t>() == 3);
  CHECK(a.data_ptr<int32_t>()[1] == 2);
  CHECK(a.accessor<int32_t, 1>()[2] == 3);
  CHECK_THROWS_WITH(a.data_ptr<int64_t>(), Contains("int32"));
  std::ostringstream os;
  os << a;
  CHECK_THAT(os.str(), Contains("dtype=torch.int32"));
}

TEST_CASE("accumulating reductions: integers give int64, dtype= casts first", "[dtype][reduce]") {
  // libtorch 1.13: int32 sum/cumsum/prod are long; sum(a, kFloat64) 6 double;
  // a.sum(0, false, kInt16) short; mean(a, kFloat32) 2; cumsum(a, 0, kFloat64) {1,3,6}.
  Tensor a = i32();
  CHECK(a.sum().dtype() == kInt64);
  CHECK(a.cumsum(0).dtype() == kInt64);
  CHECK(a.prod().dtype() == kInt64);
  check_values(a.prod(), {6});
  CHECK(dg::tensor({true, true, false}).prod().dtype() == kInt64);
  Tensor s = dg::sum(a, kFloat64);
  CHECK(s.dtype() == kFloat64);
  check_values(s, {6});
  CHECK(a.sum(0, false, kInt16).dtype() == kInt16);
  Tensor m = dg::mean(a, kFloat32);
  CHECK(m.dtype() == kFloat32);
  check_values(m, {2});
  Tensor c = dg::cumsum(a, 0, kFloat64);
  CHECK(c.dtype() == kFloat64);
  check_values(c, {1, 3, 6});
  CHECK(dg::prod(a, 0, false, kFloat64).dtype() == kFloat64);
  // mean needs a floating dtype, given or inferred.
  CHECK_THROWS_WITH(a.mean(), Contains("mean"));
  // dtype= on a float tensor: the gradient comes back in the input's dtype.
  Tensor x = dg::tensor({1.0, 2.0, 3.0}).requires_grad_();
  Tensor y = x.sum(kFloat64);
  CHECK(y.dtype() == kFloat64);
  CHECK(std::string(y.grad_fn()->name()) == "SumBackward0");
  y.backward();
  CHECK(x.grad().dtype() == kFloat32);
  check_values(x.grad(), {1, 1, 1});
  Tensor p = x.prod(0, false, kFloat64);
  CHECK(std::string(p.grad_fn()->name()) == "ProdBackward1");
  CHECK(std::string(x.cumsum(0).grad_fn()->name()) == "CumsumBackward0");
}

TEST_CASE("in-place comparisons keep self's dtype", "[dtype][compare]") {
  // libtorch 1.13: x = {1.,2.,3.}; x.lt_(2) -> {1,0,0} float; y = {1,5,3};
  // y.ge_({2,2,2}) -> {0,1,1} long.
  Tensor x = dg::tensor({1.0, 2.0, 3.0});
  x.lt_(2);
  CHECK(x.dtype() == kFloat32);
  check_values(x, {1, 0, 0});
  Tensor y = dg::tensor({1, 5, 3});
  y.ge_(dg::tensor({2, 2, 2}));
  CHECK(y.dtype() == kInt64);
  check_values(y, {0, 1, 1});
  Tensor z = dg::tensor({1, 5, 3}, kInt8);
  z.eq_(5);
  check_values(z, {0, 1, 0});
  Tensor bad = dg::tensor({1.0, 2.0});
  CHECK_THROWS_WITH(bad.lt_(dg::ones({3})), Contains("lt_"));
  // Without a gradient of its own, an in-place comparison on a tensor with
  // history is refused (its old history would no longer fit its values).
  Tensor leaf = dg::tensor({1.0, 2.0}).requires_grad_();
  Tensor h = leaf * 2;
  CHECK_THROWS_WITH(h.lt_(3), Contains("lt_: self requires grad and lt_ has no gradient"));
  {
    NoGradGuard no_grad;
    h.lt_(3);
  }
  check_values(h, {1, 0});
}

TEST_CASE("random fills and randint on narrow integers stay in range", "[dtype][random]") {
  Tensor r = dg::randint(0, 10, {100}, kInt16);
  CHECK(r.dtype() == kInt16);
  CHECK(r.min().item<int64_t>() >= 0);
  CHECK(r.max().item<int64_t>() < 10);
  Tensor q = dg::empty({1000}, kInt8);
  q.random_();
  CHECK(q.min().item<int64_t>() >= 0);  // [0, 127], as LibTorch's random_() of int8
  CHECK(q.max().item<int64_t>() <= 127);
  CHECK(q.max().item<int64_t>() > 64);
  Tensor u = dg::empty({1000}, kUInt8);
  u.random_();
  CHECK(u.max().item<int64_t>() > 128);  // [0, 255]
}

TEST_CASE("narrow integer errors name the op and the dtypes", "[dtype][errors]") {
  Tensor a = i32();
  CHECK_THROWS_WITH(a.add_(dg::ones({3})), Contains("add_") && Contains("float32") && Contains("int32"));
  CHECK_THROWS_WITH(a.exp_(), Contains("exp_"));
}
