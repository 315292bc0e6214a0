// Tensor basics: factories, metadata, dtypes and promotion, printing, views.
#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

#include "dynagrad/dynagrad.h"

using namespace dg;

TEST_CASE("factories give the sizes, dtypes and values asked for", "[tensor]") {
  Tensor z = dg::zeros({2, 3});
  CHECK(z.dtype() == kFloat32);
  CHECK(z.sizes() == IntArrayRef({2, 3}));
  CHECK(z.numel() == 6);
  CHECK(z.sum().item<float>() == 0.0f);
  CHECK(dg::ones({4}, kFloat64).sum().item<double>() == 4.0);
  CHECK(dg::full({2, 2}, 2.5).sum().item<double>() == 10.0);
  Tensor r = dg::arange(5);
  CHECK(r.dtype() == kInt64);
  CHECK(r.sum().item<int64_t>() == 10);
  CHECK(dg::arange(0.0, 1.0, 0.25).numel() == 4);
  Tensor m = dg::tensor({{1.0, 2.0}, {3.0, 4.0}});
  CHECK(m.sizes() == IntArrayRef({2, 2}));
  CHECK(m[1][0].item<double>() == 3.0);
  CHECK(dg::zeros_like(m).dtype() == m.dtype());
}

TEST_CASE("manual_seed makes rand and randn repeatable", "[tensor]") {
  dg::manual_seed(7);
  Tensor a = dg::randn({100});
  dg::manual_seed(7);
  Tensor b = dg::randn({100});
  CHECK(dg::equal(a, b));
  Tensor u = dg::rand({1000}, kFloat64);
  double mean = u.mean().item<double>();
  CHECK(mean > 0.4);
  CHECK(mean < 0.6);
}

TEST_CASE("type promotion follows PyTorch", "[tensor]") {
  Tensor i = dg::ones({2}, kInt64);
  Tensor f = dg::ones({2});
  Tensor d = dg::ones({2}, kFloat64);
  CHECK((i + i).dtype() == kInt64);
  CHECK((i + f).dtype() == kFloat32);
  CHECK((f + d).dtype() == kFloat64);
  CHECK((i * 2.5).dtype() == kFloat32);
  CHECK((i * 2).dtype() == kInt64);
  CHECK((i / i).dtype() == kFloat32);
  CHECK((i / i).sum().item<double>() == 2.0);
}

TEST_CASE("views share storage and the version counter", "[tensor][views]") {
  Tensor base = dg::arange(0.0, 6.0, 1.0, kFloat64);
  Tensor v = base.view({2, 3});
  Tensor t = v.t();
  CHECK(v.data_ptr() == base.data_ptr());
  CHECK(v.is_view());
  CHECK(t._base().is_same(base));
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.sizes() == IntArrayRef({3, 2}));
  CHECK(t[2][1].item<double>() == 5.0);
  uint32_t before = base._version();
  v.mul_(2.0);
  CHECK(base._version() == before + 1);
  CHECK(base[5].item<double>() == 10.0);
  Tensor c = t.contiguous();
  CHECK(c.is_contiguous());
  CHECK(dg::equal(c, t));
  CHECK(t.reshape({6}).sizes() == IntArrayRef({6}));  // needs a copy
  CHECK(dg::ones({2, 1, 3}).squeeze().sizes() == IntArrayRef({2, 3}));
  CHECK(dg::ones({2, 3}).unsqueeze(-1).sizes() == IntArrayRef({2, 3, 1}));
  CHECK(dg::ones({3, 1}).expand({2, 3, 4}).sizes() == IntArrayRef({2, 3, 4}));
}

TEST_CASE("matmul follows NumPy semantics", "[tensor][matmul]") {
  Tensor a = dg::arange(0.0, 6.0, 1.0, kFloat64).view({2, 3});
  Tensor b = dg::arange(0.0, 6.0, 1.0, kFloat64).view({3, 2});
  Tensor c = a.matmul(b);  // [[10, 13], [28, 40]]
  CHECK(dg::allclose(c, dg::tensor({{10.0, 13.0}, {28.0, 40.0}})));
  CHECK(dg::allclose(a.mm(b).to(kFloat32), a.to(kFloat32).mm(b.to(kFloat32))));
  CHECK(dg::matmul(dg::ones({4, 2, 3}), dg::ones({3, 5})).sizes() == IntArrayRef({4, 2, 5}));
  CHECK(dg::matmul(dg::ones({3}), dg::ones({3})).dim() == 0);
  CHECK(dg::matmul(dg::ones({2, 1, 2, 3}), dg::ones({3, 3, 4})).sizes() == IntArrayRef({2, 3, 2, 4}));
}

TEST_CASE("printing looks like PyTorch", "[tensor][print]") {
  std::ostringstream os;
  os << dg::tensor({1.0f, 2.5f});
  CHECK(os.str() == "tensor([1.0000, 2.5000])");
  std::ostringstream os2;
  Tensor x = dg::tensor({1.0, -2.0}, dg::dtype(dg::kFloat64).requires_grad(true));
  os2 << x;
  CHECK(os2.str() == "tensor([ 1., -2.], dtype=torch.float64, requires_grad=True)");
  std::ostringstream os3;
  os3 << (x * 2);
  CHECK(os3.str().find("grad_fn=<MulBackward1>") != std::string::npos);
  std::ostringstream os4;
  os4 << dg::arange(3);
  CHECK(os4.str() == "tensor([0, 1, 2])");
}

TEST_CASE("sinh (the README's worked example) computes sinh", "[tensor][readme]") {
  Tensor x = dg::tensor({-1.5, 0.0, 0.25, 2.0});
  Tensor y = dg::sinh(x);
  for (int64_t i = 0; i < 4; ++i) CHECK(y[i].item<double>() == Approx(std::sinh(x[i].item<double>())));
  CHECK(dg::sinh(dg::ones({2}, kInt64)).dtype() == kFloat32);
}

TEST_CASE("to() takes LibTorch's (dtype, non_blocking, copy) and another tensor's options", "[tensor]") {
  const Tensor x = dg::tensor({1.5, 2.5}, kFloat64);
  CHECK(x.to(kFloat64).is_same(x));                // nothing changes: x itself
  CHECK(!x.to(kFloat64, false, true).is_same(x));  // copy=true: a new tensor
  CHECK(x.to(kFloat64, /*non_blocking=*/true).is_same(x));
  const Tensor y = x.to(dg::zeros({1}, kInt64));
  CHECK(y.dtype() == kInt64);
  CHECK(y.to(x).dtype() == kFloat64);
}
