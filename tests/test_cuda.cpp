// The CUDA device queries. They must answer in every build: a build without
// CUDA support and a CUDA build on a machine without a GPU (like CI's) both
// report no device, say why, and refuse device work with a dg::Error. The
// GPU checks proper run from tools/gpu-check.sh on a machine with a GPU.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <sstream>
#include <string>
#include <vector>

#include "common/offset_calc.h"
#include "dynagrad/dynagrad.h"

using Catch::Matchers::Contains;

TEST_CASE("CUDA availability is reported consistently, with a reason when there is no device", "[cuda]") {
  const int n = dg::cuda::device_count();
  CHECK(n >= 0);
  CHECK(dg::cuda::is_available() == (n > 0));
  CHECK(dg::cuda::device_count() == n);  // asked twice, same answer
  if (!dg::cuda::is_built()) CHECK(n == 0);
  if (!dg::cuda::is_available()) {
    const std::string why = dg::cuda::unavailable_reason();
    CHECK_FALSE(why.empty());
    WARN("CUDA device tests skipped: " << why);
    CHECK_THROWS_WITH(dg::cuda::synchronize(),
                      Contains("cuda::synchronize") && Contains("no CUDA device") && Contains(why));
  } else {
    CHECK(std::string(dg::cuda::unavailable_reason()).empty());
    CHECK_NOTHROW(dg::cuda::synchronize());
  }
}

// ---- host-side: the index math the CUDA loops use --------------------------

namespace {

// Byte offsets of every element of `out`'s loop, walked the CPU way
// (odometer over out's logical shape), for each operand.
std::vector<std::vector<int64_t>> walk(const dg::Tensor& out, const std::vector<dg::Tensor>& ins) {
  std::vector<const dg::Tensor*> all{&out};
  for (const auto& t : ins) all.push_back(&t);
  std::vector<std::vector<int64_t>> offs(all.size());
  const auto shape = out.sizes();
  for (int64_t i = 0; i < out.numel(); ++i) {
    int64_t rem = i;
    std::vector<int64_t> idx(shape.size());
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      idx[d] = rem % shape[d];
      rem /= shape[d];
    }
    for (size_t k = 0; k < all.size(); ++k) {
      const dg::DimVector st = dg::loop::broadcast_byte_strides(*all[k], shape);
      int64_t o = 0;
      for (size_t d = 0; d < shape.size(); ++d) o += idx[d] * st[d];
      offs[k].push_back(o);
    }
  }
  return offs;
}

}  // namespace

TEST_CASE("the CUDA loops' offset calculator visits what the CPU loop visits", "[cuda][host]") {
  using dg::loop::make_geometry;
  using dg::loop::make_offset_calc;
  auto check_case = [](const dg::Tensor& out, const dg::Tensor& a, const dg::Tensor& b) {
    const auto g = make_geometry<3>(out, {&a, &b});
    const auto calc = make_offset_calc(g, "test");
    const auto expected = walk(out, {a, b});
    // The calculator runs over the coalesced loop, which keeps out's memory
    // order; compare the sets of (out, a, b) offset triples.
    std::vector<std::array<int64_t, 3>> got, want;
    for (int64_t i = 0; i < g.numel; ++i) {
      int64_t off[3];
      calc.offsets(i, off);
      got.push_back({off[0], off[1], off[2]});
      want.push_back({expected[0][i], expected[1][i], expected[2][i]});
    }
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    CHECK(got == want);
  };
  SECTION("contiguous, merged to one dim") {
    check_case(dg::empty({4, 5, 6}), dg::empty({4, 5, 6}), dg::empty({4, 5, 6}));
  }
  SECTION("broadcast inputs") { check_case(dg::empty({4, 5, 6}), dg::empty({5, 1}), dg::empty({4, 1, 6})); }
  SECTION("transposed and sliced operands, a transposed out") {
    dg::Tensor out = dg::empty({6, 4}).t();
    dg::Tensor a = dg::empty({8, 6}).slice(0, 1, 8, 2).t();
    dg::Tensor b = dg::empty({4, 1});
    check_case(out, a, b);
  }
  SECTION("a 0-dim tensor and size-1 dims") {
    check_case(dg::empty({1, 3, 1, 2}), dg::empty({}), dg::empty({3, 1, 2}));
  }
}

TEST_CASE("loop::Strided maps linear indices to a tensor's storage offsets", "[cuda][host]") {
  dg::Tensor t = dg::empty({5, 7, 3}).permute({2, 0, 1}).slice(2, 1, 7, 3);  // sizes 3,5,2
  const dg::loop::Strided s = dg::loop::make_strided(t.sizes(), t.strides(), "test");
  int64_t i = 0;
  for (int64_t a = 0; a < t.size(0); ++a)
    for (int64_t b = 0; b < t.size(1); ++b)
      for (int64_t c = 0; c < t.size(2); ++c, ++i)
        CHECK(s.offset(i) == a * t.stride(0) + b * t.stride(1) + c * t.stride(2));
  CHECK_THROWS_WITH(dg::loop::make_strided(std::vector<int64_t>(17, 1), std::vector<int64_t>(17, 1), "someop"),
                    Contains("someop") && Contains("at most 16"));
}

// ---- without a device: clear errors, no crash -----------------------------

TEST_CASE("asking for CUDA tensors without a device is a clear error", "[cuda]") {
  if (dg::cuda::is_available()) return;  // the GPU tests below cover it
  dg::Tensor x = dg::ones({2, 3});
  CHECK_THROWS_WITH(x.cuda(), Contains("no CUDA device") && Contains(dg::cuda::unavailable_reason()));
  CHECK_THROWS_WITH(x.to(dg::kCUDA), Contains("no CUDA device"));
  CHECK_THROWS_WITH(dg::zeros({2}, dg::device(dg::kCUDA)), Contains("no CUDA device"));
  CHECK_THROWS_WITH(dg::randn({2}, dg::device(dg::kCUDA)), Contains("no CUDA device"));
  // Staying on the CPU costs nothing.
  CHECK(x.cpu().is_same(x));
  CHECK(x.to(dg::kCPU).is_same(x));
  CHECK(x.to(dg::Device(dg::kCPU), dg::kFloat64).dtype() == dg::kFloat64);
}

// ---- on a GPU ---------------------------------------------------------------

TEST_CASE("CUDA tensors: devices, copies, backward across devices, errors", "[cuda][gpu]") {
  if (!dg::cuda::is_available()) {
    WARN("CUDA device tests skipped: " << dg::cuda::unavailable_reason());
    return;
  }
  dg::manual_seed(7);
  dg::Tensor h = dg::randn({3, 4}, dg::kFloat64);
  dg::Tensor g = h.cuda();
  CHECK(g.is_cuda());
  CHECK(g.device().index == dg::cuda::current_device());
  CHECK(dg::equal(g.cpu(), h));
  CHECK(g.sum().item<double>() == Approx(h.sum().item<double>()));
  std::ostringstream os;
  os << g;
  CHECK_THAT(os.str(), Contains("device='cuda:0'"));

  SECTION("factories on the device give the CPU's values for one seed") {
    dg::manual_seed(11);
    dg::Tensor a = dg::randn({5}, dg::device(dg::kCUDA));
    dg::manual_seed(11);
    dg::Tensor b = dg::randn({5});
    CHECK(a.is_cuda());
    CHECK(dg::equal(a.cpu(), b));
    CHECK(dg::equal(dg::zeros({4}, dg::device(dg::kCUDA)).cpu(), dg::zeros({4})));
    CHECK(dg::equal(dg::full({2, 2}, 3.5, dg::device(dg::kCUDA)).cpu(), dg::full({2, 2}, 3.5)));
  }
  SECTION("backward of a CUDA graph leaves gradients on the device") {
    dg::Tensor x = h.cuda().requires_grad_();
    (x * x).sum().backward();
    REQUIRE(x.grad().defined());
    CHECK(x.grad().is_cuda());
    CHECK(dg::allclose(x.grad().cpu(), 2 * h));
  }
  SECTION("the gradient flows back across devices through to()") {
    dg::Tensor x = h.clone().requires_grad_();
    dg::Tensor y = x.cuda();
    CHECK(y.grad_fn() != nullptr);
    (y.exp() * 2).sum().backward();
    REQUIRE(x.grad().defined());
    CHECK(x.grad().is_cpu());
    CHECK(dg::allclose(x.grad(), 2 * h.exp()));
    // And back again, with a dtype change on the way.
    dg::Tensor z = h.cuda().requires_grad_();
    (z.to(dg::kCPU, dg::kFloat32) * 3).sum().backward();
    CHECK(z.grad().is_cuda());
    CHECK(z.grad().dtype() == dg::kFloat64);
    CHECK(dg::allclose(z.grad().cpu(), dg::full({3, 4}, 3.0, dg::kFloat64)));
  }
  SECTION("mixing devices in one op is an error naming both") {
    CHECK_THROWS_WITH(dg::add(h, g), Contains("add") && Contains("same device") && Contains("cuda"));
    CHECK_THROWS_WITH(h.mm(g.t()), Contains("mm") && Contains("same device"));
  }
  SECTION("the caching allocator keeps freed blocks and gives them back") {
    dg::cuda::synchronize();
    const size_t before = dg::cuda::memory_allocated();
    {
      dg::Tensor big = dg::empty({1 << 20}, dg::device(dg::kCUDA));
      CHECK(dg::cuda::memory_allocated() >= before + (size_t(4) << 20));
      CHECK(dg::cuda::max_memory_allocated() >= before + (size_t(4) << 20));
    }
    CHECK(dg::cuda::memory_allocated() == before);
    CHECK(dg::cuda::memory_cached() >= size_t(4) << 20);
    dg::cuda::empty_cache();
    CHECK(dg::cuda::memory_cached() == 0);
  }
  SECTION("16-bit floats: arithmetic and matmul on the device, training-style backward") {
    const dg::Tensor a32 = dg::randn({64, 32}, dg::kFloat32), b32 = dg::randn({32, 16}, dg::kFloat32);
    for (dg::ScalarType t : {dg::kFloat16, dg::kBFloat16}) {
      INFO(t);
      const dg::Tensor a = a32.to(t), b = b32.to(t);  // rounded on the host
      const dg::Tensor want = a.to(dg::kFloat32).mm(b.to(dg::kFloat32));
      dg::Tensor ga = a.cuda().requires_grad_(), gb = b.cuda();
      dg::Tensor y = ga.mm(gb);
      CHECK(y.dtype() == t);
      const double tol = t == dg::kFloat16 ? 2e-2 : 1.5e-1;  // one rounding of |y| up to ~20
      CHECK(dg::allclose(y.to(dg::kFloat32).cpu(), want, tol, tol));
      (y.relu() * 2).sum().backward();
      CHECK(ga.grad().dtype() == t);
      // The mask from the GPU's own forward: a y within rounding of 0 may flip sign.
      const dg::Tensor mask = y.detach().to(dg::kFloat32).cpu().gt(0).to(dg::kFloat32);
      const dg::Tensor g_want = (mask * 2.0).mm(b.to(dg::kFloat32).t());
      CHECK(dg::allclose(ga.grad().to(dg::kFloat32).cpu(), g_want, tol, tol));
    }
  }
  SECTION("in-place ops and views on the device bump versions like on the CPU") {
    dg::Tensor x = h.cuda().requires_grad_();
    dg::Tensor y = x.exp();
    dg::Tensor w = y.sin();  // saves y
    y.add_(1);
    CHECK_THROWS_WITH(w.sum().backward(), Contains("modified by an inplace operation"));
  }
}
