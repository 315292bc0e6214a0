// The solving half of dg::linalg (LAPACK on the CPU): values against numbers
// torch 1.13 printed for the same inputs, identities (A inv(A) = I, L Lᵀ =
// A), batches, float32, and the errors (singular matrices naming the batch
// element, shapes, dtypes). Gradients: the generated gradcheck/gradgradcheck
// of every op's samples.
#include <catch2/catch.hpp>

#include <cmath>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using Catch::Matchers::Contains;
using dg::testing::t64;

namespace {

// A symmetric positive-definite 3x3 and a right-hand side (the values below
// come from torch 1.13 with these inputs).
dg::Tensor spd() { return t64({4, 1, 2, 1, 5, 3, 2, 3, 6}, {3, 3}); }
dg::Tensor rhs() { return t64({1, 2, 0, 1, -1, 3}, {3, 2}); }

bool close(const dg::Tensor& a, const dg::Tensor& b, double tol = 1e-9) {
  return a.sizes() == b.sizes() && dg::allclose(a.to(dg::kFloat64), b.to(dg::kFloat64), tol, tol);
}

}  // namespace

TEST_CASE("linalg::inv, det, slogdet match torch 1.13", "[linalg_solve]") {
  const dg::Tensor A = spd();
  CHECK(close(dg::linalg::inv(A), t64({0.3, 0.0, -0.1, 0.0, 0.2857142857142857, -0.14285714285714285, -0.1,
                                       -0.14285714285714285, 0.2714285714285714},
                                      {3, 3})));
  CHECK(close(dg::inverse(A), dg::linalg::inv(A)));
  CHECK(dg::linalg::det(A).item<double>() == Approx(70.0));
  CHECK(dg::det(-A).item<double>() == Approx(-70.0));
  auto [sign, logabsdet] = dg::linalg::slogdet(-A);
  CHECK(sign.item<double>() == -1.0);
  CHECK(logabsdet.item<double>() == Approx(4.2484952420));
  CHECK(std::isnan(dg::logdet(-A).item<double>()));
  CHECK(dg::logdet(A).item<double>() == Approx(std::log(70.0)));
  // A singular matrix: det 0, slogdet (0, -inf), logdet -inf.
  const dg::Tensor S = t64({1, 2, 2, 4}, {2, 2});
  CHECK(dg::linalg::det(S).item<double>() == 0.0);
  auto [s0, l0] = dg::linalg::slogdet(S);
  CHECK(s0.item<double>() == 0.0);
  CHECK(std::isinf(l0.item<double>()));
}

TEST_CASE("linalg::inv of a batch, strided and float32", "[linalg_solve]") {
  dg::manual_seed(3);
  const dg::Tensor A = dg::rand({4, 5, 5}, dg::kFloat64) + 5 * dg::eye(5, dg::kFloat64);
  const dg::Tensor At = A.transpose(-2, -1);  // not contiguous
  const dg::Tensor I = dg::eye(5, dg::kFloat64).expand({4, 5, 5});
  CHECK(close(dg::matmul(A, dg::linalg::inv(A)), I));
  CHECK(close(dg::matmul(At, dg::linalg::inv(At)), I));
  const dg::Tensor Af = A.to(dg::kFloat32);
  const dg::Tensor If = dg::linalg::inv(Af);
  CHECK(If.dtype() == dg::kFloat32);
  CHECK(close(dg::matmul(Af, If), I, 1e-5));
  // det of a batch is the product of the eigen-free identity det(A) det(inv(A)) = 1.
  CHECK(close(dg::linalg::det(A) * dg::linalg::det(dg::linalg::inv(A)), dg::ones({4}, dg::kFloat64)));
  // Negative matrix powers go through the inverse.
  CHECK(close(dg::linalg::matrix_power(A, -2), dg::matmul(dg::linalg::inv(A), dg::linalg::inv(A))));
}

TEST_CASE("linalg::cholesky and the solves match torch 1.13", "[linalg_solve]") {
  const dg::Tensor A = spd(), B = rhs();
  const dg::Tensor L = dg::linalg::cholesky(A);
  CHECK(close(L, t64({2, 0, 0, 0.5, 2.1794494717703370, 0, 1, 1.1470786693528088, 1.9194297398724683}, {3, 3})));
  CHECK(close(dg::linalg::cholesky(A, /*upper=*/true), L.transpose(0, 1)));
  CHECK(close(dg::cholesky(A, true), L.transpose(0, 1)));
  const dg::Tensor X =
      t64({0.4, 0.3, 0.14285714285714285, -0.14285714285714285, -0.37142857142857144, 0.4714285714285714}, {3, 2});
  CHECK(close(dg::linalg::solve(A, B), X));
  CHECK(close(dg::cholesky_solve(B, L), X));
  CHECK(close(dg::cholesky_solve(B, L.transpose(0, 1).contiguous(), /*upper=*/true), X));
  CHECK(close(dg::cholesky_inverse(L), dg::linalg::inv(A)));
  // A vector right-hand side, a batch of vectors, and X A = B.
  CHECK(close(dg::linalg::solve(A, B.select(1, 0)), X.select(1, 0)));
  const dg::Tensor A2 = dg::stack({A, 2 * A});
  CHECK(close(dg::linalg::solve(A2, dg::stack({B.select(1, 0), B.select(1, 0)})),
              dg::stack({X.select(1, 0), X.select(1, 0) / 2})));
  CHECK(close(dg::matmul(dg::linalg::solve(A, B.transpose(0, 1), /*left=*/false), A), B.transpose(0, 1)));
  // Triangular solves: torch 1.13's numbers for the upper triangle of A.
  CHECK(close(dg::linalg::solve_triangular(A, B, /*upper=*/true),
              t64({0.30833333333333335, 0.275, 0.1, -0.1, -0.16666666666666666, 0.5}, {3, 2})));
  auto [sol, coeff] = dg::triangular_solve(B, A);
  CHECK(close(sol, dg::linalg::solve_triangular(A, B, true)));
  CHECK(close(coeff, A));
  const dg::Tensor Lt = L.transpose(0, 1);
  CHECK(close(dg::matmul(dg::linalg::solve_triangular(L, B.transpose(0, 1), false, /*left=*/false), L),
              B.transpose(0, 1)));
  CHECK(close(dg::matmul(Lt, dg::linalg::solve_triangular(Lt, B, true)), B));
}

TEST_CASE("linalg::lstsq and lu_factor match torch 1.13", "[linalg_solve]") {
  const dg::Tensor M = t64({1, 1, 1, 2, 1, 3, 1, 4}, {4, 2});
  const dg::Tensor y = t64({6, 5, 7, 10}, {4, 1});
  auto [solution, residuals, rank, sv] = dg::linalg::lstsq(M, y);
  CHECK(close(solution, t64({3.5, 1.4}, {2, 1})));
  CHECK(residuals.numel() == 0);
  CHECK(rank.dtype() == dg::kInt64);
  CHECK(rank.item<int64_t>() == 2);
  CHECK(sv.numel() == 0);
  auto [s2, r2, k2, v2] = dg::linalg::lstsq(M, y, std::nullopt, "gels");
  CHECK(close(s2, solution));
  CHECK(r2.item<double>() == Approx(4.2));  // 1.1² + 1.3² + 0.7² + 0.9²
  CHECK(k2.numel() == 0);
  auto [LU, piv] = dg::linalg::lu_factor(spd());
  CHECK(close(LU, t64({4, 1, 2, 0.25, 4.75, 2.5, 0.5, 0.5263157894736842, 3.6842105263157894}, {3, 3})));
  CHECK(piv.dtype() == dg::kInt32);  // torch 1.13: int32
  CHECK(close(piv.to(dg::kFloat64), t64({1, 2, 3}, {3})));
}

TEST_CASE("linalg solves refuse bad input before writing", "[linalg_solve]") {
  const dg::Tensor S = t64({1, 2, 2, 4}, {2, 2});
  REQUIRE_THROWS_WITH(dg::linalg::inv(S), Contains("linalg.inv: The diagonal element") && Contains("singular"));
  const dg::Tensor batch = dg::stack({dg::eye(2, dg::kFloat64), S});
  REQUIRE_THROWS_WITH(dg::linalg::inv(batch), Contains("linalg.inv: (Batch element 1): The diagonal element"));
  REQUIRE_THROWS_WITH(
      dg::linalg::solve(batch, dg::ones({2, 2, 1}, dg::kFloat64)),
      Contains("linalg.solve: (Batch element 1): The solver failed because the input matrix is singular"));
  REQUIRE_THROWS_WITH(dg::linalg::cholesky(-dg::eye(3, dg::kFloat64).expand({2, 3, 3})),
                      Contains("linalg.cholesky: (Batch element 0): The factorization could not be completed") &&
                          Contains("leading minor of order 1"));
  REQUIRE_THROWS_WITH(dg::linalg::inv(dg::zeros({2, 3}, dg::kFloat64)),
                      Contains("linalg.inv") && Contains("square") && Contains("2 by 3"));
  REQUIRE_THROWS_WITH(dg::linalg::inv(dg::zeros({3}, dg::kFloat64)),
                      Contains("linalg.inv") && Contains("at least 2 dimensions"));
  REQUIRE_THROWS_WITH(dg::linalg::inv(dg::zeros({3, 3}, dg::kInt64)), Contains("linalg.inv") && Contains("int64"));
  REQUIRE_THROWS_WITH(dg::linalg::solve(dg::eye(3, dg::kFloat64), dg::zeros({4}, dg::kFloat64)),
                      Contains("linalg.solve: Incompatible shapes of A and B"));
  REQUIRE_THROWS_WITH(dg::linalg::solve(dg::eye(3, dg::kFloat64), dg::zeros({3, 3}, dg::kFloat32)),
                      Contains("linalg.solve") && Contains("same dtype"));
  REQUIRE_THROWS_WITH(dg::linalg::solve_triangular(dg::eye(3, dg::kFloat64), dg::zeros({4, 2}, dg::kFloat64), true),
                      Contains("linalg.solve_triangular: Incompatible shapes"));
  REQUIRE_THROWS_WITH(dg::linalg::lstsq(dg::eye(3, dg::kFloat64), dg::zeros({4, 2}, dg::kFloat64)),
                      Contains("linalg.lstsq") && Contains("should match"));
  REQUIRE_THROWS_WITH(
      dg::linalg::lstsq(dg::eye(3, dg::kFloat64), dg::zeros({3, 2}, dg::kFloat64), std::nullopt, "gelsd"),
      Contains("linalg.lstsq") && Contains("gelsd"));
  REQUIRE_THROWS_WITH(dg::linalg::lu_factor(S), Contains("linalg.lu_factor: U[2,2] is zero"));
}

TEST_CASE("linalg solve gradients: grad_fn names and a known gradient", "[linalg_solve]") {
  const dg::Tensor A = spd().requires_grad_();
  dg::linalg::det(A).backward();
  // d det(A) / dA = det(A) inv(A)ᵀ.
  CHECK(close(A.grad(), 70.0 * dg::linalg::inv(spd()).transpose(0, 1)));
  CHECK(dg::linalg::inv(A).grad_fn()->name() == "LinalgInvBackward0");
  CHECK(dg::linalg::det(A).grad_fn()->name() == "LinalgDetBackward0");
  CHECK(dg::linalg::cholesky(A).grad_fn()->name() == "LinalgCholeskyBackward0");
  CHECK(dg::linalg::solve_triangular(A, rhs(), true).grad_fn()->name() == "LinalgSolveTriangularBackward0");
}
