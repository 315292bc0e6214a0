// The view ops permute, slice, narrow, diagonal, as_strided, flatten, unbind,
// split and chunk: forward values, aliasing (same storage, is_view, _base)
// and their error messages. Gradients are checked by the generated tests.
#include <catch2/catch.hpp>

#include <vector>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
using Catch::Matchers::Contains;

namespace {

using V = std::vector<double>;

void check_aliases(const Tensor& view, const Tensor& base) {
  CHECK(view.is_view());
  CHECK(view._base().is_same(base));
  CHECK(view.unsafeGetTensorImpl()->storage().get() == base.unsafeGetTensorImpl()->storage().get());
}

}  // namespace

TEST_CASE("permute reorders dims without copying", "[views][permute]") {
  Tensor x = iota({2, 3, 4});
  Tensor p = x.permute({2, 0, 1});
  CHECK(p.sizes() == IntArrayRef({4, 2, 3}));
  CHECK(p.strides() == IntArrayRef({1, 12, 4}));
  CHECK(p.data_ptr() == x.data_ptr());
  check_aliases(p, x);
  CHECK(p[1][0][2].item<double>() == x[0][2][1].item<double>());
  CHECK(dg::equal(dg::permute(x, {-1, -3, -2}), p));
  CHECK(dg::equal(x.permute({0, 1, 2}), x));
  // Writes through the view reach the base.
  p[3][1][2].fill_(-1.0);
  CHECK(x[1][2][3].item<double>() == -1.0);
  Tensor s = dg::tensor(2.0);
  CHECK(s.permute({}).dim() == 0);
  CHECK(dg::equal(dg::permute_backward(p, {2, 0, 1}), x));

  CHECK_THROWS_WITH(x.permute({0, 1}), Contains("permute") && Contains("[0, 1]") && Contains("3 dimensions"));
  CHECK_THROWS_WITH(x.permute({0, 1, 1}),
                    Contains("permute") && Contains("permutation") && Contains("appears more than once"));
  CHECK_THROWS_WITH(x.permute({0, 1, 3}), Contains("permute") && Contains("out of range") && Contains("-3..2"));
}

TEST_CASE("slice follows Python's start:end:step rules", "[views][slice]") {
  Tensor x = iota({10});
  CHECK(values(x.slice(0, 2, 8, 3)) == V{2, 5});
  CHECK(values(x.slice(0, std::nullopt, std::nullopt, 2)) == V{0, 2, 4, 6, 8});
  CHECK(values(x.slice(0, -3)) == V{7, 8, 9});
  CHECK(values(x.slice(0, std::nullopt, -8)) == V{0, 1});
  CHECK(values(x.slice(0, 5, 100)) == V{5, 6, 7, 8, 9});  // end clamped
  CHECK(values(x.slice(0, -100, 3)) == V{0, 1, 2});       // start clamped
  CHECK(x.slice(0, 8, 2).numel() == 0);                   // end before start: empty
  CHECK(x.slice(0, 20).numel() == 0);
  CHECK(x.slice(0, 7, 10, 5).sizes() == IntArrayRef({1}));
  CHECK(dg::equal(dg::slice(x), x));

  Tensor m = iota({3, 4});
  Tensor s = m.slice(1, 1, 3);
  CHECK(s.sizes() == IntArrayRef({3, 2}));
  CHECK(s.strides() == IntArrayRef({4, 1}));
  CHECK(s.storage_offset() == 1);
  CHECK(s.data_ptr() == static_cast<void*>(m.data_ptr<double>() + 1));
  check_aliases(s, m);
  CHECK(values(s) == V{1, 2, 5, 6, 9, 10});
  Tensor r = m.slice(0, 1, std::nullopt, 2);  // rows 1 only
  CHECK(r.sizes() == IntArrayRef({1, 4}));
  CHECK(r.strides() == IntArrayRef({8, 1}));
  CHECK(values(r) == V{4, 5, 6, 7});
  // A slice of a transposed tensor.
  Tensor t = m.t().slice(-1, 1);
  CHECK(t.sizes() == IntArrayRef({4, 2}));
  CHECK(values(t) == V{4, 8, 5, 9, 6, 10, 7, 11});
  // Slice of a slice keeps pointing at the root.
  Tensor ss = s.slice(0, 1);
  check_aliases(ss, m);
  CHECK(values(ss) == V{5, 6, 9, 10});
  CHECK(values(dg::slice_backward(dg::ones({3, 2}, kFloat64), {3, 4}, 1, 1, 3, 1)) ==
        V{0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0});

  CHECK_THROWS_WITH(x.slice(0, 0, 5, 0), Contains("slice") && Contains("step to be positive") && Contains("step=0"));
  CHECK_THROWS_WITH(x.slice(0, 0, 5, -1), Contains("slice") && Contains("step=-1"));
  CHECK_THROWS_WITH(dg::tensor(1.0).slice(0, 0, 1), Contains("slice") && Contains("0-dim"));
  CHECK_THROWS_WITH(m.slice(2, 0, 1), Contains("slice") && Contains("dim 2 is out of range"));
}

TEST_CASE("narrow is a slice of a given length", "[views][narrow]") {
  Tensor m = iota({4, 3});
  Tensor n = m.narrow(0, 1, 2);
  CHECK(n.sizes() == IntArrayRef({2, 3}));
  CHECK(n.storage_offset() == 3);
  check_aliases(n, m);
  CHECK(values(n) == V{3, 4, 5, 6, 7, 8});
  CHECK(values(dg::narrow(m, -1, -2, 1)) == V{1, 4, 7, 10});
  CHECK(m.narrow(0, 4, 0).numel() == 0);

  CHECK_THROWS_WITH(m.narrow(0, 5, 0), Contains("narrow") && Contains("start 5 is out of range") && Contains("-4..4"));
  CHECK_THROWS_WITH(m.narrow(0, 3, 2),
                    Contains("narrow") && Contains("start (3) + length (2) exceeds") && Contains("size 4"));
  CHECK_THROWS_WITH(m.narrow(1, 0, -1), Contains("narrow") && Contains("non-negative length"));
  CHECK_THROWS_WITH(dg::tensor(1.0).narrow(0, 0, 1), Contains("narrow") && Contains("0-dim"));
}

TEST_CASE("diagonal views the diagonal of a plane", "[views][diagonal]") {
  Tensor m = iota({3, 4});
  Tensor d = m.diagonal();
  CHECK(d.sizes() == IntArrayRef({3}));
  CHECK(d.strides() == IntArrayRef({5}));
  check_aliases(d, m);
  CHECK(values(d) == V{0, 5, 10});
  CHECK(values(m.diagonal(1)) == V{1, 6, 11});
  CHECK(values(m.diagonal(2)) == V{2, 7});
  CHECK(values(m.diagonal(-1)) == V{4, 9});
  CHECK(values(m.diagonal(-2)) == V{8});
  CHECK(m.diagonal(5).sizes() == IntArrayRef({0}));
  CHECK(m.diagonal(-3).sizes() == IntArrayRef({0}));
  CHECK(values(m.diagonal(0, 1, 0)) == V{0, 5, 10});
  CHECK(values(m.t().diagonal(1)) == V{4, 9});

  Tensor x = iota({2, 3, 4});
  Tensor e = x.diagonal(0, -1, 0);  // e[j][k] = x[k][j][k]
  CHECK(e.sizes() == IntArrayRef({3, 2}));
  CHECK(values(e) == V{0, 13, 4, 17, 8, 21});
  CHECK(values(dg::diagonal_backward(dg::ones({2}, kFloat64), {2, 3}, 1, 0, 1)) == V{0, 1, 0, 0, 0, 1});

  CHECK_THROWS_WITH(m.diagonal(0, 1, -1), Contains("diagonal") && Contains("two different dimensions") &&
                                              Contains("dim1=1") && Contains("dim2=-1"));
  CHECK_THROWS_WITH(iota({3}).diagonal(), Contains("diagonal") && Contains("at least 2 dimensions") && Contains("[3]"));
  CHECK_THROWS_WITH(m.diagonal(0, 0, 2), Contains("diagonal") && Contains("dim 2 is out of range"));
}

TEST_CASE("as_strided views the storage with any geometry", "[views][as_strided]") {
  Tensor m = iota({3, 4});
  Tensor a = m.as_strided({2, 2}, {1, 2}, 1);
  CHECK(a.sizes() == IntArrayRef({2, 2}));
  CHECK(a.strides() == IntArrayRef({1, 2}));
  CHECK(a.storage_offset() == 1);
  check_aliases(a, m);
  CHECK(values(a) == V{1, 3, 2, 4});
  CHECK(values(m.as_strided({3, 2}, {0, 1})) == V{0, 1, 0, 1, 0, 1});  // overlapping
  CHECK(m.as_strided({}, {}, 11).item<double>() == 11.0);
  CHECK(m.as_strided({0, 5}, {100, 100}, 12).numel() == 0);  // empty: any strides, offset up to the end

  // The offset is absolute; by default it is self's own.
  Tensor row = m[1];
  CHECK(values(row.as_strided({2}, {1})) == V{4, 5});
  CHECK(values(row.as_strided({2}, {1}, 0)) == V{0, 1});
  check_aliases(row.as_strided({2}, {1}), m);

  // It reproduces every view of a contiguous base exactly.
  std::vector<Tensor> views = {m.t(),
                               m.slice(1, 1, std::nullopt, 2),
                               m.diagonal(1),
                               m[2],
                               m.expand({2, 3, 4}),
                               m.unsqueeze(1).narrow(2, 1, 3),
                               m.permute({1, 0}).slice(0, 3),
                               m.view({2, 6})};
  for (const Tensor& v : views) {
    Tensor r = m.as_strided(v.sizes(), v.strides(), v.storage_offset());
    CHECK(r.sizes() == v.sizes());
    CHECK(r.strides() == v.strides());
    CHECK(r.data_ptr() == v.data_ptr());
    CHECK(dg::equal(r, v));
  }

  CHECK_THROWS_WITH(m.as_strided({2, 2}, {4, 8}), Contains("as_strided") && Contains("reaches storage element 12") &&
                                                      Contains("storage of 12 elements"));
  CHECK_THROWS_WITH(m.as_strided({2}, {1}, 11), Contains("as_strided") && Contains("storage element 12"));
  CHECK_THROWS_WITH(m.as_strided({2, 2}, {1}),
                    Contains("as_strided") && Contains("same length") && Contains("[2, 2]") && Contains("[1]"));
  CHECK_THROWS_WITH(m.as_strided({2}, {-1}, 3), Contains("as_strided") && Contains("non-negative view strides"));
  CHECK_THROWS_WITH(m.as_strided({-2}, {1}), Contains("as_strided") && Contains("non-negative view sizes"));
  CHECK_THROWS_WITH(m.as_strided({2}, {1}, -1), Contains("as_strided") && Contains("storage offset, got -1"));
  CHECK_THROWS_WITH(m.as_strided({2}, {1}, 13), Contains("as_strided") && Contains("outside a storage of 12"));
  CHECK_THROWS_WITH(m.as_strided({INT64_C(1) << 62, 4}, {4, INT64_C(1) << 62}),
                    Contains("as_strided") && Contains("2^63"));
}

TEST_CASE("as_strided's gradient sums overlapping reads and shares aliased inputs", "[views][as_strided]") {
  // Output overlaps (stride 0): every read of a storage element adds up.
  Tensor x = dg::arange(0.0, 4.0, 1.0, kFloat64).requires_grad_();
  x.as_strided({3, 2}, {0, 1}).sum().backward();
  CHECK(values(x.grad()) == V{3, 3, 0, 0});

  // Input overlaps (an expanded tensor): its aliases share the gradient, so
  // expand's backward sums it back to exactly one.
  Tensor y = dg::tensor({1.0, 2.0, 3.0}).requires_grad_();
  y.expand({2, 3}).as_strided({3}, {1}, 0).sum().backward();
  CHECK(values(y.grad()) == V{1, 1, 1});

  Tensor g = dg::ones({3, 2}, kFloat64);
  CHECK(values(dg::as_strided_backward(g, {2, 3}, {3, 1}, 0, {3, 2}, {0, 1}, 1)) == V{0, 3, 3, 0, 0, 0});
  CHECK(values(dg::as_strided_backward(dg::ones({3}, kFloat64), {2, 3}, {0, 1}, 0, {3}, {1}, 0)) ==
        V{0.5, 0.5, 0.5, 0.5, 0.5, 0.5});

  // as_strided_backward_adjoint is the transpose: <B g, h> == <g, B* h>.
  dg::manual_seed(3);
  struct Case {
    std::vector<int64_t> in_sizes, in_strides;
    int64_t in_off;
    std::vector<int64_t> size, stride;
    int64_t off;
  };
  for (const Case& c : {Case{{3, 4}, {4, 1}, 0, {3, 2}, {0, 1}, 2}, Case{{2, 3}, {0, 1}, 1, {2, 2}, {1, 1}, 0},
                        Case{{4, 3}, {1, 4}, 0, {5}, {2}, 1}, Case{{2, 2}, {2, 0}, 3, {3, 3}, {1, 2}, 0}}) {
    Tensor gv = dg::randn(c.size, kFloat64), h = dg::randn(c.in_sizes, kFloat64);
    Tensor bg = dg::as_strided_backward(gv, c.in_sizes, c.in_strides, c.in_off, c.size, c.stride, c.off);
    Tensor bh = dg::as_strided_backward_adjoint(h, c.in_sizes, c.in_strides, c.in_off, c.size, c.stride, c.off);
    CHECK(bg.sizes() == IntArrayRef(c.in_sizes));
    CHECK(bh.sizes() == IntArrayRef(c.size));
    CHECK((bg * h).sum().item<double>() == Approx((gv * bh).sum().item<double>()).epsilon(1e-12));
  }
  // Non-contiguous grads are read by their own strides.
  Tensor gt = iota({2, 3}).t();  // [3, 2]
  CHECK(dg::equal(dg::as_strided_backward(gt, {6}, {1}, 0, {3, 2}, {1, 3}, 0),
                  dg::as_strided_backward(gt.contiguous(), {6}, {1}, 0, {3, 2}, {1, 3}, 0)));

  CHECK_THROWS_WITH(dg::as_strided_backward(dg::ones({2}, kFloat64), {3}, {1}, 0, {3}, {1}, 0),
                    Contains("as_strided_backward") && Contains("view's shape [3]") && Contains("got [2]"));
  CHECK_THROWS_WITH(dg::as_strided_backward(dg::ones({3}, kFloat64), {3}, {-1}, 2, {3}, {1}, 0),
                    Contains("as_strided_backward") && Contains("non-negative input strides"));
  CHECK_THROWS_WITH(dg::as_strided_backward_adjoint(dg::ones({2}, kFloat64), {3}, {1}, 0, {3}, {1}, 0),
                    Contains("as_strided_backward_adjoint") && Contains("input's shape [3]"));
}

TEST_CASE("flatten merges a range of dims", "[views][flatten]") {
  Tensor x = iota({2, 3, 4});
  Tensor f = x.flatten();
  CHECK(f.sizes() == IntArrayRef({24}));
  check_aliases(f, x);
  CHECK(x.flatten(1).sizes() == IntArrayRef({2, 12}));
  CHECK(dg::flatten(x, 0, 1).sizes() == IntArrayRef({6, 4}));
  CHECK(x.flatten(-2, -1).sizes() == IntArrayRef({2, 12}));
  CHECK(x.flatten(1, 1).is_same(x));
  CHECK(dg::tensor(5.0).flatten().sizes() == IntArrayRef({1}));
  // Not viewable: a copy with the right values.
  Tensor t = iota({3, 4}).t();
  Tensor ft = t.flatten();
  CHECK(ft.data_ptr() != t.data_ptr());
  CHECK(values(ft) == V{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});

  CHECK_THROWS_WITH(x.flatten(2, 1), Contains("flatten") && Contains("start_dim <= end_dim"));
  CHECK_THROWS_WITH(x.flatten(3), Contains("flatten") && Contains("dim 3 is out of range"));
}

TEST_CASE("unbind, split and chunk return views of their input", "[views][split]") {
  Tensor m = iota({5, 2});
  std::vector<Tensor> u = m.unbind();
  REQUIRE(u.size() == 5);
  for (size_t i = 0; i < u.size(); ++i) {
    check_aliases(u[i], m);
    CHECK(u[i].sizes() == IntArrayRef({2}));
    CHECK(values(u[i]) == V{2.0 * i, 2.0 * i + 1});
  }
  std::vector<Tensor> uc = m.unbind(-1);
  REQUIRE(uc.size() == 2);
  CHECK(values(uc[1]) == V{1, 3, 5, 7, 9});

  std::vector<Tensor> s = m.split(2);
  REQUIRE(s.size() == 3);
  CHECK(s[0].sizes() == IntArrayRef({2, 2}));
  CHECK(s[2].sizes() == IntArrayRef({1, 2}));
  CHECK(values(s[1]) == V{4, 5, 6, 7});
  CHECK(s[2].storage_offset() == 8);
  for (const Tensor& p : s) check_aliases(p, m);
  CHECK(m.split(5).size() == 1);
  CHECK(m.split(7).size() == 1);
  CHECK(m.split(1, 1).size() == 2);
  CHECK(iota({0, 2}).split(0).size() == 1);

  std::vector<Tensor> c = m.chunk(3);
  REQUIRE(c.size() == 3);
  CHECK(c[0].size(0) == 2);
  CHECK(c[2].size(0) == 1);
  CHECK(m.chunk(4).size() == 3);  // pieces of ceil(5/4) = 2, as in PyTorch
  CHECK(m.chunk(5).size() == 5);
  CHECK(m.chunk(9).size() == 5);
  CHECK(iota({0, 2}).chunk(3).size() == 3);
  CHECK(values(m.chunk(2, -1)[1]) == V{1, 3, 5, 7, 9});

  // Each piece has its own history back to the input.
  Tensor x = iota({4, 3}).requires_grad_();
  std::vector<Tensor> parts = x.chunk(2, 0);
  (parts[0].sum() + parts[1].sum() * 2).backward();
  CHECK(values(x.grad()) == V{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2});

  CHECK_THROWS_WITH(dg::tensor(1.0).unbind(), Contains("unbind") && Contains("0-dim"));
  CHECK_THROWS_WITH(m.unbind(2), Contains("unbind") && Contains("dim 2 is out of range"));
  CHECK_THROWS_WITH(m.split(-1), Contains("split") && Contains("non-negative split_size") && Contains("-1"));
  CHECK_THROWS_WITH(m.split(0), Contains("split") && Contains("split_size can be 0 only") && Contains("size 5"));
  CHECK_THROWS_WITH(m.chunk(0), Contains("chunk") && Contains("positive number of chunks") && Contains("got 0"));
  CHECK_THROWS_WITH(dg::tensor(1.0).chunk(2), Contains("chunk") && Contains("0-dim"));
}
