// The factories' values and dtypes against LibTorch 1.13 (the expected values
// below were printed by torch 1.13 / libtorch-dev), the default dtype, and
// dg::tensor's dtype for each literal form.
#include <catch2/catch.hpp>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using Catch::Matchers::Contains;
using dg::testing::check_values;
using dg::testing::values;

TEST_CASE("dg::tensor gives torch::tensor's dtypes", "[factory]") {
  // libtorch 1.13: tensor(2.0) float, tensor(2.0f) float, tensor(3) long,
  // tensor(true) bool, tensor({1.5, 2.5}) float, tensor({1, 2}) long,
  // tensor({true, false}) bool, tensor({{1.0, 2.0}, {3.0, 4.0}}) float [2, 2],
  // tensor(std::vector<double>) float, tensor(std::vector<int>) long.
  CHECK(dg::tensor(2.0).dtype() == kFloat32);
  CHECK(dg::tensor(2.0).dim() == 0);
  CHECK(dg::tensor(2.0f).dtype() == kFloat32);
  CHECK(dg::tensor(3).dtype() == kInt64);
  CHECK(dg::tensor(int64_t(3)).dtype() == kInt64);
  CHECK(dg::tensor(true).dtype() == kBool);
  CHECK(dg::tensor({1.5, 2.5}).dtype() == kFloat32);
  CHECK(dg::tensor({1, 2}).dtype() == kInt64);
  CHECK(dg::tensor({true, false}).dtype() == kBool);
  check_values(dg::tensor({true, false}), {1, 0});
  Tensor m = dg::tensor({{1.0, 2.0}, {3.0, 4.0}});
  CHECK(m.dtype() == kFloat32);
  CHECK(m.sizes() == IntArrayRef({2, 2}));
  Tensor mi = dg::tensor({{1, 2}, {3, 4}});
  CHECK(mi.dtype() == kInt64);
  check_values(mi, {1, 2, 3, 4});
  CHECK(dg::tensor(std::vector<double>{1.0, 2.0}).dtype() == kFloat32);
  CHECK(dg::tensor(std::vector<float>{1.0f, 2.0f}).dtype() == kFloat32);
  CHECK(dg::tensor(std::vector<int>{1, 2}).dtype() == kInt64);
  CHECK(dg::tensor(std::vector<int64_t>{1, 2}).dtype() == kInt64);
  // An explicit dtype converts.
  CHECK(dg::tensor({1.5, 2.5}, kFloat64).dtype() == kFloat64);
  CHECK(dg::tensor(2.0, dg::dtype(kFloat64).requires_grad(true)).requires_grad());
}

TEST_CASE("set_default_dtype changes what floating factories give", "[factory]") {
  CHECK(dg::get_default_dtype() == kFloat32);
  dg::set_default_dtype(kFloat64);
  // libtorch 1.13 with default double: tensor(2.0) double, tensor(2.0f)
  // double, zeros double, arange(0.5, 3) double, linspace double.
  CHECK(dg::tensor(2.0).dtype() == kFloat64);
  CHECK(dg::tensor(2.0f).dtype() == kFloat64);
  CHECK(dg::zeros({2}).dtype() == kFloat64);
  CHECK(dg::rand({2}).dtype() == kFloat64);
  CHECK(dg::arange(0.5, 3).dtype() == kFloat64);
  CHECK(dg::linspace(0, 1, 5).dtype() == kFloat64);
  CHECK(dg::eye(2).dtype() == kFloat64);
  CHECK(dg::arange(5).dtype() == kInt64);
  CHECK(dg::tensor({1, 2}).dtype() == kInt64);
  CHECK(dg::get_default_dtype_as_scalartype() == kFloat64);
  dg::set_default_dtype(kFloat32);
  CHECK(dg::zeros({2}).dtype() == kFloat32);
  REQUIRE_THROWS_WITH(dg::set_default_dtype(kInt64), Contains("set_default_dtype") && Contains("int64"));
}

TEST_CASE("full takes its dtype from the value, as LibTorch 1.13", "[factory]") {
  // libtorch 1.13: full({2}, 1) long, full({2}, 1.5) float.
  CHECK(dg::full({2}, 1).dtype() == kInt64);
  CHECK(dg::full({2}, 1.5).dtype() == kFloat32);
  CHECK(dg::full({2}, true).dtype() == kBool);
  CHECK(dg::full({2}, 1, kFloat64).dtype() == kFloat64);
  CHECK(dg::ones({2}).dtype() == kFloat32);
  CHECK(dg::scalar_tensor(3).dtype() == kFloat32);
}

TEST_CASE("arange, linspace, logspace, eye as LibTorch", "[factory]") {
  // torch.arange(0, 1, 0.3): float32 [0, 0.3, 0.6, 0.9] (ceil((end - start) / step) values).
  Tensor a = dg::arange(0, 1, 0.3);
  CHECK(a.dtype() == kFloat32);
  check_values(a, {0, 0.3, 0.6, 0.9}, 1e-6);
  CHECK(dg::arange(5).dtype() == kInt64);
  CHECK(dg::arange(0.5, 3).numel() == 3);
  CHECK(dg::arange(1, 0, -0.25).numel() == 4);
  // torch.linspace(0, 1, 5) = [0, 0.25, 0.5, 0.75, 1]; linspace(-1, 1, 1) = [-1]; steps=0: empty.
  Tensor l = dg::linspace(0, 1, 5);
  CHECK(l.dtype() == kFloat32);
  check_values(l, {0, 0.25, 0.5, 0.75, 1});
  check_values(dg::linspace(-1, 1, 1), {-1});
  CHECK(dg::linspace(0, 1, 0).numel() == 0);
  check_values(dg::linspace(3, -3, 4, kFloat64), {3, 1, -1, -3}, 1e-15);
  // torch.logspace(0, 2, 3) = [1, 10, 100]; logspace(0, 2, 3, base=2) = [1, 2, 4].
  check_values(dg::logspace(0, 2, 3), {1, 10, 100}, 1e-5);
  check_values(dg::logspace(0, 2, 3, 2), {1, 2, 4});
  Tensor e = dg::eye(3);
  CHECK(e.dtype() == kFloat32);
  check_values(e, {1, 0, 0, 0, 1, 0, 0, 0, 1});
  check_values(dg::eye(2, 3, kInt64), {1, 0, 0, 0, 1, 0});
  CHECK(dg::eye(2, 3, kInt64).dtype() == kInt64);
  CHECK(dg::eye(0).sizes() == IntArrayRef({0, 0}));
  REQUIRE_THROWS_WITH(dg::eye(-1), Contains("eye") && Contains("-1"));
  REQUIRE_THROWS_WITH(dg::linspace(0, 1, -1), Contains("linspace") && Contains("non-negative"));
}

TEST_CASE("tril_indices and triu_indices as LibTorch", "[factory]") {
  // torch.tril_indices(3, 4, 1):
  // [[0, 0, 1, 1, 1, 2, 2, 2, 2], [0, 1, 0, 1, 2, 0, 1, 2, 3]]
  Tensor t = dg::tril_indices(3, 4, 1);
  CHECK(t.dtype() == kInt64);
  CHECK(t.sizes() == IntArrayRef({2, 9}));
  check_values(t, {0, 0, 1, 1, 1, 2, 2, 2, 2, 0, 1, 0, 1, 2, 0, 1, 2, 3});
  // torch.triu_indices(3, 4, -1):
  // [[0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2], [0, 1, 2, 3, 0, 1, 2, 3, 1, 2, 3]]
  check_values(dg::triu_indices(3, 4, -1), {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 0, 1, 2, 3, 0, 1, 2, 3, 1, 2, 3});
  // torch.tril_indices(4, 3, -1): [[1, 2, 2, 3, 3, 3], [0, 0, 1, 0, 1, 2]]
  check_values(dg::tril_indices(4, 3, -1), {1, 2, 2, 3, 3, 3, 0, 0, 1, 0, 1, 2});
  // torch.triu_indices(4, 3, 2): [[0], [2]]
  check_values(dg::triu_indices(4, 3, 2), {0, 2});
  CHECK(dg::tril_indices(0, 3).sizes() == IntArrayRef({2, 0}));
  REQUIRE_THROWS_WITH(dg::tril_indices(-1, 3), Contains("tril_indices") && Contains("row"));
}

TEST_CASE("the *_like factories keep size, dtype and device", "[factory]") {
  Tensor src = dg::zeros({2, 3}, kFloat64);
  for (const Tensor& t : {dg::empty_like(src), dg::zeros_like(src), dg::ones_like(src), dg::full_like(src, 2.5),
                          dg::rand_like(src), dg::randn_like(src), dg::randint_like(src, 4)}) {
    CHECK(t.sizes() == IntArrayRef({2, 3}));
    CHECK(t.dtype() == kFloat64);
  }
  check_values(dg::full_like(src, 2.5), {2.5, 2.5, 2.5, 2.5, 2.5, 2.5});
  CHECK(dg::full_like(src, 1, kInt64).dtype() == kInt64);
  for (double v : values(dg::randint_like(src, 3, 4))) CHECK(v == 3);
}

TEST_CASE("from_blob wraps memory without copying; a deleter runs when the last tensor goes", "[factory]") {
  float buf[6] = {1, 2, 3, 4, 5, 6};
  Tensor t = dg::from_blob(buf, {2, 3});
  CHECK(t.dtype() == kFloat32);
  CHECK(t.data_ptr<float>() == buf);
  check_values(t, {1, 2, 3, 4, 5, 6});
  t.mul_(2);  // writes through to the caller's memory
  CHECK(buf[5] == 12);
  // Strided: a column-major view of the same memory.
  Tensor c = dg::from_blob(buf, {3, 2}, {1, 3});
  check_values(c, {2, 8, 4, 10, 6, 12});
  double d[2] = {0.5, 1.5};
  CHECK(dg::from_blob(d, {2}, kFloat64).sum().item<double>() == 2.0);
  int deleted = 0;
  {
    Tensor owned = dg::from_blob(
        d, {2}, [&](void* p) { deleted += p == d; }, kFloat64);
    Tensor view = owned.view({1, 2});
    owned.reset();
    CHECK(deleted == 0);  // the view still holds the storage
  }
  CHECK(deleted == 1);
  // A from_blob tensor cannot grow (out= resizing would reallocate).
  Tensor small = dg::from_blob(d, {1}, kFloat64);
  REQUIRE_THROWS_WITH(dg::add_out(small, dg::ones({4}, kFloat64), dg::ones({4}, kFloat64)), Contains("not resizable"));
  REQUIRE_THROWS_WITH(dg::from_blob(d, {2, 1}, {1}, kFloat64), Contains("from_blob") && Contains("strides"));
  CHECK(dg::from_blob(buf, {2}, dg::dtype(kFloat32).requires_grad(true)).requires_grad());
}

TEST_CASE("empty_strided, accessor and data_ptr's dtype check", "[factory]") {
  Tensor e = dg::empty_strided({2, 3}, {1, 2});
  CHECK(e.strides() == IntArrayRef({1, 2}));
  CHECK_FALSE(e.is_contiguous());
  e.fill_(1);
  CHECK(e.sum().item<double>() == 6);
  Tensor t = dg::arange(6, kFloat32).view({2, 3});
  auto a = t.accessor<float, 2>();
  CHECK(a.size(0) == 2);
  CHECK(a.size(1) == 3);
  CHECK(a[1][0] == 3);
  a[1][2] = 50;
  CHECK(t.select(0, 1).select(0, 2).item<double>() == 50);
  // Through strides: the transpose's [i][j] is the original's [j][i].
  const Tensor tt = t.t();  // the accessor reads tt's sizes and strides: tt must outlive it
  auto at = tt.accessor<float, 2>();
  CHECK(at[2][1] == 50);
  CHECK(at.stride(0) == 1);
  const Tensor z = dg::zeros({2, 2, 2}, kInt64);
  auto a3 = z.accessor<int64_t, 3>();
  CHECK(a3[1][1][1] == 0);
  REQUIRE_THROWS_WITH((t.accessor<float, 3>()), Contains("accessor") && Contains("3 dims") && Contains("2"));
  REQUIRE_THROWS_WITH((t.accessor<double, 2>()), Contains("data_ptr") && Contains("float64") && Contains("float32"));
  REQUIRE_THROWS_WITH(t.data_ptr<int64_t>(),
                      Contains("data_ptr<int64>") && Contains("expected scalar type int64 but found float32"));
}
