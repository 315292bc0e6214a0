// The CPU fast paths added for speed (issue 5), each checked against a slower
// path that computes the same thing another way: the small float32 matmul
// kernel against float64 products, the 2x2 max-pool loop against the general
// window loop (by its PyTorch semantics: first maximum wins a tie, NaN wins),
// the caching allocator's accounting and reuse, and the OpenMP-split
// pointwise loops against single-element ground truth on sizes that straddle
// the parallel grain.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "dynagrad/dynagrad.h"

using namespace dg;

namespace {

// max |a - b| relative to the largest |b|.
double rel_err(const Tensor& a, const Tensor& b) {
  const double scale = b.abs().max().item<double>() + 1e-30;
  return (a.to(kFloat64) - b.to(kFloat64)).abs().max().item<double>() / scale;
}

// Element `at` of t as a double.
double elem(const Tensor& t, std::initializer_list<int64_t> at) {
  Tensor e = t;
  for (int64_t i : at) e = e.select(0, i);
  return e.item<double>();
}

}  // namespace

TEST_CASE("small float32 matmuls agree with float64 on every layout and edge", "[ops][cpu][matmul]") {
  manual_seed(7);
  // M, N, K around the 4-row and 16/8-column tiles, up to the size where
  // oneDNN takes over, plus empty inner dims.
  const int64_t shapes[][3] = {{1, 1, 1},  {3, 5, 7},    {4, 16, 3},   {5, 17, 9}, {8, 32, 32},
                               {9, 24, 1}, {13, 40, 31}, {64, 64, 64}, {2, 3, 0},  {7, 8, 65}};
  for (const auto& s : shapes) {
    const int64_t M = s[0], N = s[1], K = s[2];
    CAPTURE(M, N, K);
    const Tensor a64 = randn({M, K}, TensorOptions().dtype(kFloat64));
    const Tensor b64 = randn({K, N}, TensorOptions().dtype(kFloat64));
    const Tensor want = a64.mm(b64);
    const Tensor a = a64.to(kFloat32), b = b64.to(kFloat32);
    const double tol = 1e-5 * std::sqrt(static_cast<double>(K) + 1);
    // Row-major operands, a transposed B (packed), a transposed A (strided reads).
    CHECK(rel_err(a.mm(b), want) < tol);
    CHECK(rel_err(a.mm(b.t().contiguous().t()), want) < tol);
    CHECK(rel_err(a.t().contiguous().t().mm(b), want) < tol);
    // Batched with a broadcast (stride-0) right operand.
    const Tensor a3 = randn({3, M, K}, TensorOptions().dtype(kFloat64));
    const Tensor want3 = a3.matmul(b64);
    CHECK(rel_err(a3.to(kFloat32).matmul(b), want3) < tol);
    CHECK(rel_err(a3.to(kFloat32).bmm(b.unsqueeze(0).expand({3, K, N})), want3) < tol);
  }
}

TEST_CASE("small float32 matmul gradients match float64 ones", "[ops][cpu][matmul][autograd]") {
  manual_seed(8);
  const Tensor a64 = randn({8, 32}, TensorOptions().dtype(kFloat64)).requires_grad_();
  const Tensor b64 = randn({32, 32}, TensorOptions().dtype(kFloat64)).requires_grad_();
  const Tensor a = a64.detach().to(kFloat32).requires_grad_(), b = b64.detach().to(kFloat32).requires_grad_();
  a64.mm(b64).tanh().sum().backward();
  a.mm(b).tanh().sum().backward();
  CHECK(rel_err(a.grad(), a64.grad()) < 1e-5);
  CHECK(rel_err(b.grad(), b64.grad()) < 1e-5);
}

TEST_CASE("2x2 max pooling keeps PyTorch's tie and NaN rules", "[ops][cpu][pool]") {
  for (ScalarType dt : {kFloat32, kFloat64}) {
    // Plane 0: a tie (the first in row-major window order wins), plane 1: a
    // NaN that must win over larger numbers, odd sizes leave a row and a
    // column outside every window.
    std::vector<double> v(2 * 5 * 5, 0.0);
    v[0] = 3, v[1] = 3, v[5] = 1, v[6] = 3;  // window (0,0) of plane 0: tie of three 3s
    v[25 + 2] = 9, v[25 + 3] = std::numeric_limits<double>::quiet_NaN(), v[25 + 7] = 9;
    v[24] = 100;  // last row and column: in no 2x2 window
    const Tensor x = dg::tensor(v, TensorOptions().dtype(kFloat64)).view({1, 2, 5, 5}).to(dt);
    auto [y, idx] = max_pool2d_with_indices(x, {2, 2});
    REQUIRE(y.sizes() == IntArrayRef{1, 2, 2, 2});
    CHECK(elem(idx, {0, 0, 0, 0}) == 0);
    CHECK(elem(y, {0, 0, 0, 0}) == 3);
    CHECK(std::isnan(elem(y, {0, 1, 0, 1})));
    CHECK(elem(idx, {0, 1, 0, 1}) == 3);
    CHECK(y.max().item<double>() != 100);  // the outside element never shows up
    // The gradient lands on the argmax only, and nothing on the outside row/column.
    const Tensor xr = x.detach().requires_grad_();
    max_pool2d(xr, {2, 2}).sum().backward();
    CHECK(elem(xr.grad(), {0, 0, 0, 0}) == 1);
    CHECK(elem(xr.grad(), {0, 0, 0, 1}) == 0);
    CHECK(elem(xr.grad(), {0, 0, 4, 4}) == 0);
    CHECK(xr.grad().sum().item<double>() == 8);
  }
  // Against an independent formulation on random data: the max over each
  // 2x2 block as a reshape + amax.
  manual_seed(9);
  const Tensor x = randn({3, 4, 8, 6});
  const Tensor blocks = x.view({3, 4, 4, 2, 3, 2}).amax({3, 5});
  CHECK(dg::equal(max_pool2d(x, {2, 2}), blocks));
}

TEST_CASE("the CPU caching allocator reuses blocks and accounts for them", "[cpu][memory]") {
  const size_t before = cpu::memory_allocated();
  {
    Tensor t = empty({1000}, TensorOptions().dtype(kFloat32));  // 4000 bytes -> a 4096-byte class
    CHECK(cpu::memory_allocated() >= before + 4000);
    CHECK(cpu::memory_allocated() <= before + 4000 + 1024);
  }
  CHECK(cpu::memory_allocated() == before);
  if (cpu::caching_enabled()) {
    // Caching is on: a block of the same class comes back.
    void* first = nullptr;
    {
      Tensor t = empty({1000});
      first = t.data_ptr();
    }
    Tensor u = empty({990});  // same size class
    CHECK(u.data_ptr() == first);
    const size_t cached = cpu::memory_cached();
    CHECK(cached <= cpu::cache_limit());
  }
  cpu::empty_cache();
  CHECK(cpu::memory_cached() == 0);
  // Memory still works after emptying, and every size class round-trips.
  for (int64_t n : {0, 1, 16, 17, 128, 129, 1000, 4097, 1 << 20, (1 << 20) + 3}) {
    Tensor t = full({n}, 2.0);
    CHECK(t.sum().item<double>() == 2.0 * static_cast<double>(n));
  }
}

TEST_CASE("pointwise loops split across threads give every element", "[ops][cpu][parallel]") {
  // Sizes below, at and above the parallel grain, odd ones included, on a
  // strided input too: every element must be computed exactly once.
  for (int64_t n : {int64_t(1000), int64_t(65536), int64_t(65537), int64_t(300001)}) {
    CAPTURE(n);
    const Tensor x = arange(n, TensorOptions().dtype(kFloat64));
    const Tensor y = x * 2 + 1;
    CHECK(y.sum().item<double>() == static_cast<double>(n) * static_cast<double>(n));  // sum of 2i+1
    const Tensor s = x.view({n, 1}).expand({n, 2}).t() * 1.0;                          // strided reads, both rows
    CHECK(s.sum().item<double>() == static_cast<double>(n) * static_cast<double>(n - 1));
  }
}
