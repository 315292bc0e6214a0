// einsum and the matrix-product family (issue 12): values of einsum against
// torch 1.13 (Debian's python3-torch) for each kind of equation, which node
// the contraction leaves, gradients of a few equations through gradcheck,
// and the errors. The other ops' values are compared with PyTorch by the
// golden tests and their gradients by the generated tests (ops.yaml samples);
// here only what the samples cannot express.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
using Catch::Matchers::Contains;

namespace {

// start, start + step, ... in `shape`, float64: the inputs the torch values below were computed from
// (torch.arange(n, dtype=torch.float64) * step + start).
Tensor seq(std::vector<int64_t> shape, double start, double step) { return iota(IntArrayRef(shape)) * step + start; }

struct EinsumCase {
  std::string equation;
  std::vector<Tensor> operands;
  std::vector<int64_t> shape;
  std::vector<double> expected;
};

}  // namespace

TEST_CASE("einsum: values of each kind of equation, as torch 1.13", "[ops][einsum]") {
  // Printed by torch.einsum(equation, *operands) with torch 1.13.
  const std::vector<EinsumCase> cases = {
      {"bij,bjk->bik",
       {seq({2, 2, 3}, -1, 0.25), seq({2, 3, 2}, 0.5, -0.125)},
       {2, 2, 2},
       {-0.6875, -0.40625, -0.125, -0.125, -1.25, -1.53125, -2.375, -2.9375}},
      {"ii", {seq({3, 3}, -2, 0.5)}, {}, {0.0}},
      {"ii->i", {seq({3, 3}, -2, 0.5)}, {3}, {-2.0, 0.0, 2.0}},
      {"i,j->ij", {seq({3}, 1, 1), seq({2}, -1, 0.5)}, {3, 2}, {-1.0, -0.5, -2.0, -1.0, -3.0, -1.5}},
      {"ij->ji", {seq({2, 3}, 0, 1)}, {3, 2}, {0.0, 3.0, 1.0, 4.0, 2.0, 5.0}},
      {"ij->", {seq({2, 3}, -1, 0.75)}, {}, {5.25}},
      {"...ij,...jk->...ik",
       {seq({2, 1, 2, 3}, -1, 0.25), seq({3, 3, 2}, 0.5, -0.125)},
       {2, 3, 2, 2},
       {-0.6875, -0.40625, -0.125, -0.125, 1.0,   1.28125,  -0.125, -0.125,  2.6875,  2.96875,  -0.125, -0.125,
        0.4375,  0.15625,  1.0,    0.4375, -1.25, -1.53125, -2.375, -2.9375, -2.9375, -3.21875, -5.75,  -6.3125}},
      {"ij,jk,kl->il",
       {seq({2, 3}, -1, 0.25), seq({3, 4}, 0.5, -0.125), seq({4, 2}, 1, -0.3)},
       {2, 2},
       {-0.775, -0.98125, -0.1, 0.2}},
      // A letter of size 1 in one operand broadcasts against the other's.
      {"i,i->", {seq({1}, 2, 1), seq({4}, -1, 0.5)}, {}, {-2.0}},
      {"bi,bi->b", {seq({1, 3}, 1, 0.5), seq({2, 3}, -1, 0.25)}, {2}, {-3.125, 0.25}},
      // Implicit outputs: the letters seen once, A-Z before a-z.
      {"ij,jk",
       {seq({2, 3}, -1, 0.25), seq({3, 4}, 0.5, -0.125)},
       {2, 4},
       {-0.25, 0.03125, 0.3125, 0.59375, -0.25, -0.25, -0.25, -0.25}},
      {"bA", {seq({2, 3}, 0, 1)}, {3, 2}, {0.0, 3.0, 1.0, 4.0, 2.0, 5.0}},
      {"bn,anm,bm->ba",
       {seq({2, 3}, -1, 0.25), seq({4, 3, 5}, 0.5, -0.0625), seq({2, 5}, 1, -0.2)},
       {2, 4},
       {-1.171875, 5.15625, 11.484375, 17.8125, 0.3125, 0.3125, 0.3125, 0.3125}},
      {"iij->ji", {seq({2, 2, 3}, -1, 0.5)}, {3, 2}, {-1.0, 3.5, -0.5, 4.0, 0.0, 4.5}},
      {"i...,i...", {seq({2, 3}, -1, 0.5), seq({2, 3}, 1, -0.25)}, {3}, {-0.875, -0.375, -0.375}},
      {" i j -> j i ", {seq({2, 3}, 0, 1)}, {3, 2}, {0.0, 3.0, 1.0, 4.0, 2.0, 5.0}},
      // Elementwise, contractions on the last dims, more operands and ellipsis placements.
      {"ij,ij->ij", {seq({2, 3}, -1, 0.5), seq({2, 3}, 1, -0.25)}, {2, 3}, {-1.0, -0.375, 0.0, 0.125, 0.0, -0.375}},
      {"bij,bkj->bik",
       {seq({2, 2, 3}, -1, 0.25), seq({2, 2, 3}, 0.5, -0.125)},
       {2, 2, 2},
       {-0.90625, -0.0625, -0.0625, -0.0625, -0.90625, -1.75, -1.75, -3.4375}},
      {"ij,j", {seq({2, 3}, -1, 0.5), seq({3}, 1, -0.25)}, {2}, {-1.375, 2.0}},
      {"i,i", {seq({3}, -1, 0.5), seq({3}, 1, -0.25)}, {}, {-1.375}},
      {"ijk,ikj->", {seq({2, 3, 3}, -1, 0.125), seq({2, 3, 3}, 1, -0.0625)}, {}, {-2.8828125}},
      {"...j,j...->...", {seq({2, 3}, -1, 0.5), seq({3, 2}, 1, -0.25)}, {2}, {-1.25, 0.25}},
      {"ab,cd->dcba", {seq({1, 2}, -1, 0.5), seq({2, 1}, 1, -0.25)}, {1, 2, 2, 1}, {-1.0, -0.5, -0.75, -0.375}},
      {"i,j,k->", {seq({2}, -1, 0.5), seq({3}, 1, -0.25), seq({2}, 0.5, 1)}, {}, {-6.75}},
  };
  for (const EinsumCase& c : cases) {
    INFO(c.equation);
    const Tensor r = dg::einsum(c.equation, c.operands);
    CHECK(r.sizes() == IntArrayRef(c.shape));
    check_values(r, c.expected);
    // float32 computes the same (the contraction is dtype-generic).
    std::vector<Tensor> f32;
    for (const Tensor& t : c.operands) f32.push_back(t.to(kFloat32));
    const Tensor r32 = dg::einsum(c.equation, f32);
    CHECK(r32.dtype() == kFloat32);
    check_values(r32, c.expected, 1e-5);
  }
}

TEST_CASE("einsum: a contraction order from path gives the same values", "[ops][einsum]") {
  const std::vector<Tensor> ops = {seq({2, 3}, -1, 0.25), seq({3, 4}, 0.5, -0.125), seq({4, 2}, 1, -0.3)};
  // (1, 2) first, then the result with operand 0.
  check_values(dg::einsum("ij,jk,kl->il", ops, {1, 2, 0, 1}), {-0.775, -0.98125, -0.1, 0.2});
  check_values(dg::einsum("ij,jk,kl->il", ops, {0, 2, 0, 1}), {-0.775, -0.98125, -0.1, 0.2});
}

TEST_CASE("einsum: a batched matrix product is one bmm", "[ops][einsum]") {
  const Tensor a = dg::randn({2, 3, 4}, kFloat64).requires_grad_();
  const Tensor b = dg::randn({2, 4, 5}, kFloat64).requires_grad_();
  const Tensor r = dg::einsum("bij,bjk->bik", {a, b});
  // torch 1.13 gives ViewBackward0 here (it views bmm's result back); the
  // contraction is the same single bmm.
  REQUIRE(r.grad_fn());
  CHECK(r.grad_fn()->name() == "BmmBackward0");
  CHECK(dg::allclose(r, dg::bmm(a, b)));
  // A matrix product is one mm.
  const Tensor m = dg::einsum("ij,jk->ik", {a.select(0, 0), b.select(0, 1)});
  CHECK(m.grad_fn()->name() == "MmBackward0");
}

TEST_CASE("einsum: gradients and gradients of gradients", "[ops][einsum][autograd]") {
  const std::vector<std::pair<std::string, std::vector<std::vector<int64_t>>>> cases = {
      {"bij,bjk->bik", {{2, 3, 4}, {2, 4, 2}}},       {"ii->i", {{3, 3}}},
      {"...ij,...jk", {{2, 1, 2, 3}, {3, 3, 2}}},     {"i,i->", {{1}, {4}}},
      {"bn,anm,bm->ba", {{2, 3}, {4, 3, 5}, {2, 5}}}, {"ijj,jk->ki", {{2, 3, 3}, {3, 2}}},
  };
  for (const auto& [eq, shapes] : cases) {
    INFO(eq);
    autograd::variable_list leaves;
    for (const auto& s : shapes) leaves.push_back(dg::randn(IntArrayRef(s), kFloat64).requires_grad_());
    const std::string equation = eq;
    const auto f = [equation](const autograd::variable_list& x) {
      return autograd::variable_list{dg::einsum(equation, std::vector<Tensor>(x.begin(), x.end()))};
    };
    CHECK(autograd::gradcheck(f, leaves));
    CHECK(autograd::gradgradcheck(f, leaves));
  }
}

TEST_CASE("einsum: errors name einsum and say what is wrong", "[ops][einsum][errors]") {
  const Tensor m = dg::ones({2, 3}), n = dg::ones({4, 3});
  REQUIRE_THROWS_WITH(dg::einsum("ij,jk", {m}), Contains("einsum") && Contains("2 operands") && Contains("1 tensor"));
  REQUIRE_THROWS_WITH(dg::einsum("ij", {m, m}), Contains("einsum") && Contains("1 operand"));
  REQUIRE_THROWS_WITH(dg::einsum("ij", {}), Contains("einsum") && Contains("at least one operand"));
  REQUIRE_THROWS_WITH(dg::einsum("ijk", {m}),
                      Contains("einsum") && Contains("3 subscripts") && Contains("2 dimensions"));
  REQUIRE_THROWS_WITH(dg::einsum("i...jk", {dg::ones({2})}), Contains("einsum") && Contains("only 1 dimension"));
  REQUIRE_THROWS_WITH(dg::einsum("ij,jk", {m, n}),
                      Contains("einsum") && Contains("subscript j") && Contains("size 4") && Contains("size 3"));
  REQUIRE_THROWS_WITH(dg::einsum("i1", {m}), Contains("einsum") && Contains("invalid subscript '1' at index 1"));
  REQUIRE_THROWS_WITH(dg::einsum("ij->i->j", {m}), Contains("invalid subscript '-' at index 5"));
  REQUIRE_THROWS_WITH(dg::einsum("ij->k", {m}),
                      Contains("einsum") && Contains("output subscript k") && Contains("does not appear"));
  REQUIRE_THROWS_WITH(dg::einsum("ij->ii", {m}), Contains("output subscript i appears more than once"));
  REQUIRE_THROWS_WITH(dg::einsum("ii", {m}), Contains("subscript i is repeated in operand 0") && Contains("2 and 3"));
  REQUIRE_THROWS_WITH(dg::einsum("i..j", {m}), Contains("einsum") && Contains("not part of an ellipsis"));
  REQUIRE_THROWS_WITH(dg::einsum("......", {m}), Contains("more than one ellipsis"));
  REQUIRE_THROWS_WITH(dg::einsum("...i,...i", {dg::ones({2, 3}), n}),
                      Contains("einsum") && Contains("'...'") && Contains("size 4") && Contains("size 2"));
  REQUIRE_THROWS_WITH(dg::einsum("ij,jk", {m, dg::ones({3, 2}, kFloat64)}),
                      Contains("einsum") && Contains("float32") && Contains("float64"));
  REQUIRE_THROWS_WITH(dg::einsum("ij,jk,kl", {m, dg::ones({3, 2}), dg::ones({2, 2})}, {0, 1}),
                      Contains("einsum") && Contains("path"));
  REQUIRE_THROWS_WITH(dg::einsum("ij,jk", {m, dg::ones({3, 2})}, {0, 0}),
                      Contains("einsum") && Contains("path pair 0"));
}

TEST_CASE("tensordot, inner, mv, addbmm: values and errors", "[ops][einsum]") {
  // torch.tensordot(a, b, ([1, 2], [1, 0])) with torch 1.13.
  const Tensor a = seq({2, 3, 4}, -1, 0.125), b = seq({4, 3, 2}, 0.5, -0.0625);
  const Tensor td = dg::tensordot(a, b, {1, 2}, {1, 0});
  CHECK(td.sizes() == IntArrayRef({2, 2}));
  CHECK(dg::allclose(td, dg::einsum("ijk,kjl->il", {a, b})));
  // A size-1 contracted dim broadcasts (as PyTorch).
  CHECK(dg::allclose(dg::tensordot(seq({2, 1}, 1, 1), seq({3, 2}, 0, 1), {1}, {0}),
                     dg::einsum("ij,kl->il", {seq({2, 1}, 1, 1), seq({3, 2}, 0, 1)})));
  REQUIRE_THROWS_WITH(dg::tensordot(a, b, {1, 2}, {1}), Contains("tensordot") && Contains("same length"));
  REQUIRE_THROWS_WITH(dg::tensordot(a, b, {1, 2}, {0, 1}),
                      Contains("tensordot") && Contains("size 3 in dim 1") && Contains("size 4 in dim 0"));
  REQUIRE_THROWS_WITH(dg::tensordot(a, b, {1, 1}, {1, 0}), Contains("tensordot") && Contains("more than once"));
  REQUIRE_THROWS_WITH(dg::tensordot(a, b, {3}, {0}), Contains("tensordot") && Contains("out of range"));

  CHECK(dg::allclose(dg::inner(seq({2, 3}, 0, 1), seq({4, 3}, 1, -0.5)),
                     dg::mm(seq({2, 3}, 0, 1), seq({4, 3}, 1, -0.5).t())));
  CHECK(dg::inner(dg::ones({}), dg::ones({2, 3})).sizes() == IntArrayRef({2, 3}));
  REQUIRE_THROWS_WITH(dg::inner(dg::ones({2, 3}), dg::ones({3, 2})), Contains("inner") && Contains("last dimension"));

  check_values(dg::mv(seq({2, 3}, 0, 1), seq({3}, 1, 1)), {8, 26});
  REQUIRE_THROWS_WITH(dg::mv(dg::ones({2, 3}), dg::ones({4})), Contains("mv") && Contains("[2, 3]") && Contains("[4]"));
  REQUIRE_THROWS_WITH(dg::vdot(dg::ones({3}), dg::ones({4})), Contains("vdot") && Contains("3 and 4"));

  // addbmm: beta * self + alpha * sum_b batch1[b] @ batch2[b].
  const Tensor b1 = seq({3, 2, 4}, -1, 0.125), b2 = seq({3, 4, 2}, 0.5, -0.0625), s = seq({2}, 1, 1);
  CHECK(dg::allclose(dg::addbmm(s, b1, b2, 0.5, 2), 0.5 * s + 2 * dg::bmm(b1, b2).sum({0})));
  REQUIRE_THROWS_WITH(dg::addbmm(s, b1, seq({3, 3, 2}, 0, 1)), Contains("addbmm") && Contains("[3, 4, *]"));
  REQUIRE_THROWS_WITH(dg::baddbmm(dg::ones({3, 3}), b1, b2), Contains("baddbmm") && Contains("broadcast"));
  REQUIRE_THROWS_WITH(dg::addr(dg::ones({3, 3}), dg::ones({2}), dg::ones({3})),
                      Contains("addr") && Contains("broadcast"));
  REQUIRE_THROWS_WITH(dg::addmv(dg::ones({3}), dg::ones({2, 3}), dg::ones({3})), Contains("addmv"));
}

TEST_CASE("chain_matmul, linalg::multi_dot, matrix_power", "[ops][einsum]") {
  const Tensor a = seq({5, 2}, -1, 0.25), b = seq({2, 4}, 0.5, -0.125), c = seq({4, 3}, 1, -0.1), d = seq({3, 1}, 0, 1);
  const Tensor abcd = dg::mm(dg::mm(dg::mm(a, b), c), d);
  CHECK(dg::allclose(dg::linalg::multi_dot({a, b, c, d}), abcd));
  CHECK(dg::allclose(dg::chain_matmul({a, b, c, d}), abcd));
  CHECK(dg::linalg::multi_dot({seq({2}, 0, 1), seq({2, 4}, 0, 1), seq({4}, 1, 0)}).dim() == 0);
  REQUIRE_THROWS_WITH(dg::linalg::multi_dot({a}), Contains("linalg_multi_dot") && Contains("at least 2"));
  REQUIRE_THROWS_WITH(dg::linalg::multi_dot({a, c}), Contains("tensors 0 and 1") && Contains("cannot be multiplied"));
  REQUIRE_THROWS_WITH(dg::linalg::multi_dot({a, dg::ones({2}), c}), Contains("tensor 1 must be 2-D"));
  REQUIRE_THROWS_WITH(dg::chain_matmul({}), Contains("chain_matmul") && Contains("one or more"));
  REQUIRE_THROWS_WITH(dg::chain_matmul({a, dg::ones({2})}), Contains("chain_matmul") && Contains("matrix 1"));

  const Tensor m = seq({2, 3, 3}, -1, 0.125);
  CHECK(dg::allclose(dg::matrix_power(m, 5), dg::bmm(dg::bmm(dg::bmm(dg::bmm(m, m), m), m), m)));
  CHECK(dg::allclose(dg::linalg::matrix_power(m, 2), dg::bmm(m, m)));
  // n == 0: the identity, still recording from self (zero gradient), as torch.
  const Tensor leaf = m.clone().requires_grad_();
  const Tensor id = dg::matrix_power(leaf, 0);
  CHECK(id.requires_grad());
  check_values(id.select(0, 1), {1, 0, 0, 0, 1, 0, 0, 0, 1});
  // A negative power inverts first: a singular matrix is linalg.inv's error.
  REQUIRE_THROWS_WITH(dg::matrix_power(dg::ones({3, 3}), -1), Contains("linalg.inv") && Contains("singular"));
  REQUIRE_THROWS_WITH(dg::matrix_power(dg::ones({3, 2}), 2), Contains("matrix_power") && Contains("square"));
}

TEST_CASE("cross: LibTorch's default dim, linalg::cross, broadcasting, errors", "[ops][einsum]") {
  const Tensor x = seq({2, 3}, -1, 0.5), y = seq({2, 3}, 2, -0.25);
  // torch.linalg.cross(x, y) with torch 1.13.
  const std::vector<double> xy = {-0.75, 1.5, -0.75, -0.75, 1.5, -0.75};
  check_values(dg::linalg::cross(x, y), xy);
  check_values(dg::linalg_cross(x, y), xy);
  check_values(dg::cross(x, y), xy);  // the first dim of size 3 is dim 1
  // Without dim the first dimension of size 3 is used: here dim 0.
  const Tensor x3 = seq({3, 3}, -1, 0.5), y3 = seq({3, 3}, 2, -0.25);
  CHECK(dg::allclose(dg::cross(x3, y3), dg::linalg_cross(x3, y3, 0)));
  CHECK(!dg::allclose(dg::cross(x3, y3), dg::linalg_cross(x3, y3)));
  // Other dims broadcast.
  CHECK(dg::allclose(dg::linalg_cross(x.narrow(0, 0, 1), y), dg::linalg_cross(x.narrow(0, 0, 1).expand({2, 3}), y)));
  REQUIRE_THROWS_WITH(dg::cross(dg::ones({2, 4}), dg::ones({2, 4})),
                      Contains("cross") && Contains("no dimension of size 3"));
  REQUIRE_THROWS_WITH(dg::linalg_cross(dg::ones({2, 4}), dg::ones({2, 4})),
                      Contains("linalg_cross") && Contains("size 3") && Contains("4 and 4"));
  REQUIRE_THROWS_WITH(dg::linalg_cross(dg::ones({4, 3}), dg::ones({3})),
                      Contains("linalg_cross") && Contains("same number of dimensions"));
}

TEST_CASE("mv, addmv, addr, baddbmm, addbmm, vdot, cross are one node each, as in LibTorch",
          "[ops][einsum][autograd]") {
  const auto leaf = [](std::vector<int64_t> shape) { return dg::randn(IntArrayRef(shape), kFloat64).requires_grad_(); };
  const Tensor m = leaf({2, 3}), v = leaf({3}), w = leaf({2}), b1 = leaf({2, 2, 3}), b2 = leaf({2, 3, 2});
  // The grad_fn names torch 1.13 gives for the same calls.
  CHECK(dg::mv(m, v).grad_fn()->name() == "MvBackward0");
  CHECK(dg::addmv(w, m, v).grad_fn()->name() == "AddmvBackward0");
  CHECK(dg::addr(m, w, v).grad_fn()->name() == "AddrBackward0");
  CHECK(dg::baddbmm(w, b1, b2).grad_fn()->name() == "BaddbmmBackward0");
  CHECK(dg::addbmm(w, b1, b2).grad_fn()->name() == "AddbmmBackward0");
  CHECK(dg::vdot(v, v).grad_fn()->name() == "VdotBackward0");
  const Tensor x = leaf({4, 3}), y = leaf({1, 3});
  CHECK(dg::cross(x, y).grad_fn()->name() == "LinalgCrossBackward0");
  CHECK(dg::linalg::cross(x, y).grad_fn()->name() == "LinalgCrossBackward0");
  // Their gradients (the samples' gradcheck covers the rest): a broadcast self
  // and a broadcast cross operand are summed back to their shapes.
  const auto f = [](const autograd::variable_list& t) {
    return autograd::variable_list{dg::addmv(t[0], t[1], t[2], 0.5, 2) + dg::linalg_cross(t[3], t[4]).sum()};
  };
  const autograd::variable_list in = {leaf({1}), leaf({2, 3}), leaf({3}), leaf({4, 3}), leaf({1, 3})};
  CHECK(autograd::gradcheck(f, in));
  CHECK(autograd::gradgradcheck(f, in));
}
