// LibTorch-style indexing (dg::indexing), the comparison and bitwise
// operators, the logical reductions and predicates, and the node names of the
// ops recorded as one node. Expected values come from PyTorch 1.13
// (python3-torch) running the same expressions; each is written next to it.
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
using namespace dg::indexing;
using Catch::Matchers::Contains;

namespace {
Tensor cube() { return iota({2, 3, 4}); }  // x = torch.arange(24.).view(2, 3, 4)
}  // namespace

TEST_CASE("index: integers, slices, None and Ellipsis make views", "[indexing]") {
  const Tensor x = cube();
  CHECK(x.index({0}).sizes() == IntArrayRef{3, 4});
  CHECK(values(x.index({1, 2})) == values(x[1][2]));
  CHECK(x.index({Slice(), 1}).sizes() == IntArrayRef{2, 4});
  CHECK(x.index({"...", 1}).sizes() == IntArrayRef{2, 3});
  CHECK(x.index({Ellipsis, 1}).sizes() == IntArrayRef{2, 3});
  CHECK(x.index({None, 0}).sizes() == IntArrayRef{1, 3, 4});
  CHECK(x.index({Slice(None, None, 2)}).sizes() == IntArrayRef{1, 3, 4});
  const Tensor v = x.index({Slice(1, None), Ellipsis, Slice(None, -1)});  // x[1:, ..., :-1]
  CHECK(v.sizes() == IntArrayRef{1, 3, 3});
  CHECK(v.is_view());
  CHECK(at(v, 0) == 12.0);
  CHECK(x.index({true}).sizes() == IntArrayRef{1, 2, 3, 4});
  CHECK(x.index({false}).sizes() == IntArrayRef{0, 2, 3, 4});
  CHECK(x.index({-1, -1, -1}).item<double>() == 23.0);
  // A view: writing through it writes x.
  Tensor y = cube();
  y.index({0, Slice(), 1}).fill_(-1.0);
  CHECK(at(y, 1) == -1.0);
  CHECK(at(y, 5) == -1.0);
}

TEST_CASE("index: int64 and bool tensors (advanced indexing)", "[indexing]") {
  const Tensor x = cube();
  // x[[1, 0], :, [3, -1]]: separated tensor indices put their dims in front.
  const Tensor a = x.index({i64({1, 0}), Slice(), i64({3, -1})});
  CHECK(a.sizes() == IntArrayRef{2, 3});
  CHECK(values(a) == std::vector<double>{15, 19, 23, 3, 7, 11});
  // x[:, [[0, 2], [1, 1]]]: the index's shape replaces the dim.
  const Tensor b = x.index({Slice(), i64({0, 2, 1, 1}, {2, 2})});
  CHECK(b.sizes() == IntArrayRef{2, 2, 2, 4});
  CHECK(values(b) == std::vector<double>{0,  1,  2,  3,  8,  9,  10, 11, 4,  5,  6,  7,  4,  5,  6,  7,
                                         12, 13, 14, 15, 20, 21, 22, 23, 16, 17, 18, 19, 16, 17, 18, 19});
  // x[x > 10] and x[0, x[0] > 5]
  CHECK(values(x.index({x > 10})) == std::vector<double>{11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23});
  CHECK(values(x.index({0, x[0] > 5})) == std::vector<double>{6, 7, 8, 9, 10, 11});
  // x[:, 1:, [0, 2]] and adjacent tensor indices x[:, [0, 1], [1, 2]] stay in place.
  const Tensor c = x.index({Slice(), Slice(1, None), i64({0, 2})});
  CHECK(c.sizes() == IntArrayRef{2, 2, 2});
  CHECK(values(c) == std::vector<double>{4, 6, 8, 10, 16, 18, 20, 22});
  const Tensor d = x.index({Slice(), i64({0, 1}), i64({1, 2})});
  CHECK(d.sizes() == IntArrayRef{2, 2});
  CHECK(values(d) == std::vector<double>{1, 6, 13, 18});
  CHECK(x.index({i64({0, 1}), i64({1, 2})}).sizes() == IntArrayRef{2, 4});
  // Index tensors broadcast: [[0], [1]] with [1, 2].
  CHECK(x.index({Slice(), i64({0, 1}, {2, 1}), i64({1, 2})}).sizes() == IntArrayRef{2, 2, 2});
  // A std::vector of indices, built at run time.
  std::vector<TensorIndex> idx{Slice(), 1};
  CHECK(x.index(idx).sizes() == IntArrayRef{2, 4});
}

TEST_CASE("index: gradients through views and gathers", "[indexing][gradcheck]") {
  const Tensor x = cube().requires_grad_();
  const auto fn = [](const variable_list& in) {
    const Tensor& t = in[0];
    return variable_list{t.index({Slice(1, None), i64({0, 2, 2}), Slice(None, None, 2)}) * 2 +
                         t.index({cube() > 20.5}).sum() + t.index({None, -1, Ellipsis, i64({-1, 0})}).sum()};
  };
  CHECK(autograd::gradcheck(fn, {x}));
  CHECK(autograd::gradgradcheck(fn, {x}));
  // Repeated indices add their gradients: x[[0, 0]].sum() counts row 0 twice.
  Tensor w = iota({3, 2}).requires_grad_();
  w.index({i64({0, 0, 2})}).sum().backward();
  CHECK(values(w.grad()) == std::vector<double>{2, 2, 0, 0, 1, 1});
}

TEST_CASE("index_put_: values, numbers, accumulate, masks", "[indexing]") {
  // y[[0, 2], [1, 3]] = [5, 6]
  Tensor y = zeros({3, 4}, kFloat64);
  y.index_put_({i64({0, 2}), i64({1, 3})}, t64({5, 6}));
  CHECK(values(y) == std::vector<double>{0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6});
  // accumulate=True adds repeated rows: row 0 gets 1 twice.
  y.index_put_({i64({0, 0})}, ones({4}, kFloat64), true);
  CHECK(values(y.index({0})) == std::vector<double>{2, 7, 2, 2});
  // Without accumulate a repeated index is written once (by its last value).
  Tensor z = zeros({3}, kFloat64);
  z.index_put_({i64({1, 1})}, t64({4, 9}));
  CHECK(values(z) == std::vector<double>{0, 9, 0});
  // A number under a mask (masked_fill_) and through slices.
  Tensor m = iota({2, 3});
  m.index_put_({m > 2}, -1);
  CHECK(values(m) == std::vector<double>{0, 1, 2, -1, -1, -1});
  m.index_put_({Slice(), 0}, 7.5);
  CHECK(values(m) == std::vector<double>{7.5, 1, 2, 7.5, -1, -1});
  // A broadcast row into a masked set of rows, then values into columns.
  Tensor r = zeros({3, 2}, kFloat64);
  r.index_put_({b8({1, 0, 1})}, t64({3, 4}));
  CHECK(values(r) == std::vector<double>{3, 4, 0, 0, 3, 4});
  r.index_put_({Slice(), i64({1})}, t64({-1, -2, -3}, {3, 1}));
  CHECK(values(r) == std::vector<double>{3, -1, 0, -2, 3, -3});
  // dtype conversion of the values, as copy_.
  Tensor f = zeros({2}, kFloat32);
  f.index_put_({i64({1})}, t64({2.5}));
  CHECK(f.dtype() == kFloat32);
  CHECK(at(f, 1) == 2.5);
}

TEST_CASE("index_put_: gradients to the tensor and the values", "[indexing][gradcheck]") {
  const Tensor x = iota({3, 4}).requires_grad_();
  const Tensor v = t64({1, 2, 3}).requires_grad_();
  const auto fn = [](const variable_list& in) {
    Tensor t = in[0].clone();
    t.index_put_({i64({0, 2, 1}), i64({3, 0, 0})}, in[1]);
    t.index_put_({Slice(1, None), i64({1, 1})}, in[1].index({Slice(None, 2)}).view({2, 1}) * 3, true);
    return variable_list{t * t};
  };
  CHECK(autograd::gradcheck(fn, {x, v}));
  CHECK(autograd::gradgradcheck(fn, {x, v}));
  // The overwritten elements of x get no gradient.
  Tensor t = x.clone();
  t.index_put_({i64({0}), i64({3})}, v.index({0}));
  t.sum().backward();
  CHECK(values(x.grad()) == std::vector<double>{1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1});
  CHECK(values(v.grad()) == std::vector<double>{1, 0, 0});
}

TEST_CASE("index and index_put_: bad input is a dg::Error naming the op", "[indexing][errors]") {
  const Tensor x = cube();
  CHECK_THROWS_WITH(x.index({2}), Contains("index: index 2 is out of bounds for dimension 0 with size 2"));
  CHECK_THROWS_WITH(x.index({0, i64({0, 3})}), Contains("index: index 3 is out of bounds for dimension 1 with size 3"));
  CHECK_THROWS_WITH(x.index({i64({-3})}), Contains("index: index -3 is out of bounds for dimension 0 with size 2"));
  CHECK_THROWS_WITH(x.index({0, 0, 0, 0}), Contains("index: too many indices for a tensor of dimension 3 (got 4)"));
  CHECK_THROWS_WITH(x.index({Ellipsis, 0, Ellipsis}), Contains("index: an index can have only one ellipsis"));
  CHECK_THROWS_WITH(x.index({t64({0})}),
                    Contains("index: tensors used as indices must be int64 or bool tensors, got float64"));
  CHECK_THROWS_WITH(x.index({b8({1, 0, 1})}),
                    Contains("index: the shape of the mask [3] at index 0 does not match the shape of the indexed "
                             "tensor [2, 3, 4] at index 0"));
  CHECK_THROWS_WITH(x.index({Slice(0, 2, -1)}), Contains("index: slice step must be positive, got -1"));
  CHECK_THROWS_WITH(x.index({"x"}), Contains("expected \"...\" (Ellipsis)"));
  Tensor y = zeros({3, 4}, kFloat64);
  CHECK_THROWS_WITH(y.index_put_({i64({0, 1})}, t64({1, 2, 3})),
                    Contains("index_put_: shape mismatch: values of shape [3] cannot be broadcast to the indexing "
                             "result of shape [2, 4]"));
  CHECK_THROWS_WITH(y.index_put_({i64({5})}, 1.0), Contains("index_put_: index 5 is out of bounds for dimension 0"));
  // Nothing was written by the failed calls.
  CHECK(values(y) == std::vector<double>(12, 0.0));
}

TEST_CASE("nonzero, masked_select, take", "[indexing]") {
  const Tensor m = b8({0, 1, 1, 0, 0, 1}).view({2, 3});
  const Tensor nz = dg::nonzero(m);
  CHECK(nz.dtype() == kInt64);
  CHECK(nz.sizes() == IntArrayRef{3, 2});
  CHECK(values(nz) == std::vector<double>{0, 1, 0, 2, 1, 2});
  const Tensor x = iota({2, 3});
  CHECK(values(dg::masked_select(x, m)) == std::vector<double>{1, 2, 5});
  // The mask broadcasts: a [3] mask selects columns of every row.
  CHECK(values(dg::masked_select(x, b8({1, 0, 1}))) == std::vector<double>{0, 2, 3, 5});
  CHECK(values(dg::take(x, i64({-1, 0, 4}))) == std::vector<double>{5, 0, 4});
  CHECK_THROWS_WITH(dg::take(x, i64({6})),
                    Contains("take: index 6 is out of bounds for the flattened input with size 6"));
  CHECK_THROWS_WITH(dg::masked_select(x, x), Contains("masked_select: expected mask of dtype bool, got float64"));
}

TEST_CASE("comparison, bitwise and remainder operators", "[operators]") {
  const Tensor a = t64({1, 2, 3}), b = t64({3, 2, 1});
  CHECK(bools(a < b) == std::vector<bool>{true, false, false});
  CHECK(bools(a <= b) == std::vector<bool>{true, true, false});
  CHECK(bools(a > b) == std::vector<bool>{false, false, true});
  CHECK(bools(a >= 2) == std::vector<bool>{false, true, true});
  CHECK(bools(a == 2.0) == std::vector<bool>{false, true, false});
  CHECK(bools(a != b) == std::vector<bool>{true, false, true});
  CHECK(bools(2 < a) == std::vector<bool>{false, false, true});  // a number first: 2 < a is a > 2
  CHECK(bools(2.0 == a) == std::vector<bool>{false, true, false});
  const Tensor p = b8({1, 1, 0, 0}), q = b8({1, 0, 1, 0});
  CHECK(bools(p & q) == std::vector<bool>{true, false, false, false});
  CHECK(bools(p | q) == std::vector<bool>{true, true, true, false});
  CHECK(bools(p ^ q) == std::vector<bool>{false, true, true, false});
  CHECK(bools(~p) == std::vector<bool>{false, false, true, true});
  CHECK(bools(!q) == std::vector<bool>{false, true, false, true});
  Tensor r = p.clone();
  r &= q;
  CHECK(bools(r) == std::vector<bool>{true, false, false, false});
  CHECK(values(i64({12, 10}) & 6) == std::vector<double>{4, 2});
  CHECK(values(~i64({0, 5})) == std::vector<double>{-1, -6});
  // Python's modulo: the sign of the divisor (torch: [-3., 5.5] % 2 = [1., 1.5]).
  CHECK(values(t64({-3, 5.5}) % 2) == std::vector<double>{1, 1.5});
  CHECK(values(i64({-7, 7}) % 3) == std::vector<double>{2, 1});
  CHECK(values(i64({-7, 7}) % -3) == std::vector<double>{-1, -2});
  CHECK_THROWS_WITH(i64({1}) % 0, Contains("remainder: integer division by zero"));
  CHECK_THROWS(t64({1.0}) & t64({1.0}));
}

TEST_CASE("all, any, isnan, isinf, isfinite, isclose", "[operators]") {
  const Tensor m = b8({1, 1, 0, 1}).view({2, 2});
  CHECK(m.all().item<bool>() == false);
  CHECK(m.any().item<bool>() == true);
  CHECK(bools(m.all(1)) == std::vector<bool>{true, false});
  CHECK(bools(m.any(0)) == std::vector<bool>{true, true});
  CHECK(m.all(1, true).sizes() == IntArrayRef{2, 1});
  CHECK(zeros({0}).all().item<bool>() == true);
  CHECK(zeros({0}).any().item<bool>() == false);
  CHECK(t64({0.5, -1}).all().item<bool>() == true);
  CHECK(dg::count_nonzero(m).item<int64_t>() == 3);
  const Tensor v = t64({kNaN, kInf, -kInf, 1});
  CHECK(bools(v.isnan()) == std::vector<bool>{true, false, false, false});
  CHECK(bools(v.isinf()) == std::vector<bool>{false, true, true, false});
  CHECK(bools(v.isfinite()) == std::vector<bool>{false, false, false, true});
  CHECK(bools(i64({1, 2}).isfinite()) == std::vector<bool>{true, true});
  // torch.isclose([1, nan, inf, 1e-9], [1.00001, nan, inf, 0]) in float32.
  const Tensor c = dg::isclose(dg::tensor({1.0f, NAN, INFINITY, 1e-9f}), dg::tensor({1.00001f, NAN, INFINITY, 0.0f}));
  CHECK(bools(c) == std::vector<bool>{false, false, true, true});
  CHECK(bools(dg::isclose(t64({kNaN}), t64({kNaN}), 1e-5, 1e-8, true)) == std::vector<bool>{true});
  CHECK_THROWS_WITH(dg::isclose(t64({1}), t64({1}), -1.0), Contains("isclose: expected rtol >= 0, got -1"));
}

TEST_CASE("grad_fn names match LibTorch's for ops recorded as one node", "[autograd][names]") {
  const Tensor x = iota({3, 4}).requires_grad_();
  const Tensor y = t64({0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2}).view({3, 4});
  const Tensor t = i64({0, 1, 2});
  // The names torch 1.13 prints for the same calls.
  CHECK(x.mean().grad_fn()->name() == "MeanBackward0");
  CHECK(x.mean({1}).grad_fn()->name() == "MeanBackward1");
  CHECK(x.var({1}).grad_fn()->name() == "VarBackward0");
  CHECK(x.std().grad_fn()->name() == "StdBackward0");
  CHECK(dg::mse_loss(x, y).grad_fn()->name() == "MseLossBackward0");
  CHECK(dg::l1_loss(x, y).grad_fn()->name() == "MeanBackward0");
  CHECK(dg::nll_loss(x, t).grad_fn()->name() == "NllLossBackward0");
  CHECK(dg::cross_entropy_loss(x, t).grad_fn()->name() == "NllLossBackward0");
  CHECK(x.expand_as(dg::zeros({2, 3, 4})).grad_fn()->name() == "ExpandBackward0");
  CHECK(x.movedim(0, 1).grad_fn()->name() == "PermuteBackward0");
  CHECK(x.swapaxes(0, 1).grad_fn()->name() == "TransposeBackward0");
  CHECK(dg::broadcast_to(x, {2, 3, 4}).grad_fn()->name() == "ExpandBackward0");
}

TEST_CASE("mean, var, std and the losses as one node: gradients", "[autograd][gradcheck]") {
  const Tensor x = iota({3, 4}, kFloat64, -5).div(7).requires_grad_();
  const Tensor y = iota({3, 4}, kFloat64, 1).div(5);
  const Tensor t = i64({0, 3, 2});
  const Tensor w = t64({0.5, 1, 2, 1.5});
  const auto fn = [&](const variable_list& in) {
    const Tensor& a = in[0];
    return variable_list{a.mean() + a.mean({0}).sum() + a.var({1}).sum() + a.std().mul(2) +
                         dg::mse_loss(a, y, dg::Reduction::Sum) + dg::nll_loss(a, t, w) +
                         dg::nll_loss(a, t, std::nullopt, dg::Reduction::None, 3).sum() +
                         dg::cross_entropy_loss(a, t, w, dg::Reduction::Mean, -100, 0.2)};
  };
  CHECK(autograd::gradcheck(fn, {x}));
  CHECK(autograd::gradgradcheck(fn, {x}));
}

TEST_CASE("LibTorch's shape helpers and activations: checks", "[ops][errors]") {
  const Tensor x = iota({2, 3, 4});
  CHECK(x.movedim({0, 1}, {2, 0}).sizes() == IntArrayRef{3, 4, 2});
  CHECK(x.unflatten(2, {2, -1}).sizes() == IntArrayRef{2, 3, 2, 2});
  CHECK(dg::atleast_3d(t64({1, 2})).sizes() == IntArrayRef{1, 2, 1});
  CHECK(values(dg::kron(t64({1, 2}), t64({1, 10}))) == std::vector<double>{1, 10, 2, 20});
  CHECK(values(dg::diag(t64({1, 2}), 1)) == std::vector<double>{0, 1, 0, 0, 0, 2, 0, 0, 0});
  CHECK(values(dg::block_diag({t64({1}), t64({2, 3})})) == std::vector<double>{1, 0, 0, 0, 2, 3});
  const auto grids = dg::meshgrid({t64({1, 2}), t64({3, 4, 5})}, "xy");
  CHECK(grids[0].sizes() == IntArrayRef{3, 2});
  CHECK(values(grids[1]) == std::vector<double>{3, 3, 4, 4, 5, 5});
  CHECK(values(dg::pow(2, t64({1, 3}))) == std::vector<double>{2, 8});
  CHECK(dg::pow(2.5, i64({1})).dtype() == kFloat32);  // a float number with integer exponents: the default float
  CHECK(values(dg::constant_pad_nd(t64({1, 2}), {1, 0}, 9)) == std::vector<double>{9, 1, 2});
  CHECK_THROWS_WITH(x.movedim({0}, {1, 2}), Contains("movedim: expected source and destination of the same length"));
  CHECK_THROWS_WITH(x.unflatten(1, {2, 2}), Contains("unflatten"));
  CHECK_THROWS_WITH(dg::glu(t64({1, 2, 3})),
                    Contains("glu: halving dimension must be even, but dimension 0 is size 3"));
  CHECK_THROWS_WITH(dg::prelu(x, t64({1, 2})),
                    Contains("prelu: expected weight of 1 element or 3 (one per channel of dim 1), got shape [2]"));
  CHECK_THROWS_WITH(dg::celu(x, 0), Contains("celu: alpha must not be 0"));
  CHECK_THROWS_WITH(dg::meshgrid({t64({1})}, "ji"), Contains("meshgrid: indexing must be \"ij\" or \"xy\""));
  CHECK_THROWS_WITH(dg::diag(x), Contains("diag: expected a 1-D or 2-D tensor, got shape [2, 3, 4]"));
}

TEST_CASE("nansum, nanmean, aminmax, var_mean, std_mean, dist", "[ops]") {
  const Tensor x = t64({1, kNaN, 3, 4}).view({2, 2});
  CHECK(dg::nansum(x).item<double>() == 8);
  CHECK(values(dg::nanmean(x, {1})) == std::vector<double>{1, 3.5});
  const auto mm = dg::aminmax(t64({3, -1, 2}));
  CHECK(std::get<0>(mm).item<double>() == -1);
  CHECK(std::get<1>(mm).item<double>() == 3);
  CHECK(std::get<0>(dg::aminmax(iota({2, 3}), 1, true)).sizes() == IntArrayRef{2, 1});
  const auto vm = dg::var_mean(t64({1, 2, 3, 4}));
  CHECK(std::get<0>(vm).item<double>() == Approx(5.0 / 3));
  CHECK(std::get<1>(vm).item<double>() == 2.5);
  CHECK(dg::dist(t64({0, 0}), t64({3, 4})).item<double>() == Approx(5));
  CHECK_THROWS_WITH(dg::aminmax(zeros({0})), Contains("aminmax: expected a non-empty tensor"));
  CHECK_THROWS_WITH(dg::nanmean(i64({1})), Contains("nanmean"));
}
