// Composite ops of the solving half of linear algebra: LibTorch's names and
// argument conventions (vectors as right-hand sides, left=false, upper
// factors, tuples) over the kernel ops linalg_inv, linalg_det,
// _linalg_slogdet, linalg_cholesky, linalg_solve_triangular, _linalg_solve,
// _linalg_lu_factor_packed and _linalg_lstsq, and the gradient helpers their
// derivatives.yaml formulas call.
#include <algorithm>
#include <limits>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "dynagrad/factory.h"
#include "dynagrad/operators.h"
#include "ops/composite.h"

namespace dg::composite {

namespace {

Tensor mT(const Tensor& t) { return t.transpose(-2, -1); }

// PyTorch's rule (linalg_solve_is_vector_rhs): B is a (batch of) vectors
// when it is 1-D, or when A is (..., n, n) and B is (...,  n).
bool is_vector_rhs(const Tensor& A, const Tensor& B) {
  if (B.dim() == 1) return true;
  if (B.dim() != A.dim() - 1) return false;
  for (int64_t d = 0; d < B.dim(); ++d)
    if (B.size(d) != A.size(d)) return false;
  return true;
}

}  // namespace

Tensor inverse(const Tensor& self) { return dg::linalg_inv(self); }

Tensor det(const Tensor& self) { return dg::linalg_det(self); }

std::tuple<Tensor, Tensor> linalg_slogdet(const Tensor& A) {
  const Tensor packed = dg::_linalg_slogdet(A);
  return {packed.select(-1, 0), packed.select(-1, 1)};
}

std::tuple<Tensor, Tensor> slogdet(const Tensor& self) { return composite::linalg_slogdet(self); }

Tensor logdet(const Tensor& self) {
  auto [sign, logabsdet] = composite::linalg_slogdet(self);
  // log(det) is NaN for a negative determinant (and -inf for a zero one, logabsdet already).
  return logabsdet.masked_fill(sign < 0, std::numeric_limits<double>::quiet_NaN());
}

Tensor cholesky(const Tensor& self, bool upper) { return dg::linalg_cholesky(self, upper); }

Tensor cholesky_backward(const Tensor& grad, const Tensor& L_in, bool upper) {
  // PyTorch's formula (Iain Murray, arXiv 1602.07527): with A = L Lᵀ,
  // gA = L⁻ᵀ Φ(Lᵀ gL) L⁻¹, Φ(X) = X.tril() with the diagonal halved,
  // then symmetrized.
  const Tensor L = upper ? mT(L_in) : L_in;
  const Tensor gL = upper ? mT(grad) : grad;
  const Tensor P = dg::matmul(mT(L), gL);
  const Tensor phi = P.tril() - 0.5 * dg::diag_embed(P.diagonal(0, -2, -1));
  const Tensor left = dg::linalg_solve_triangular(mT(L), phi, /*upper=*/true);              // L⁻ᵀ Φ
  const Tensor gA = dg::linalg_solve_triangular(L, left, /*upper=*/false, /*left=*/false);  // (L⁻ᵀ Φ) L⁻¹
  return (gA + mT(gA)) * 0.5;
}

Tensor linalg_solve_triangular_backward(const Tensor& grad, const Tensor& self, const Tensor& result, bool upper,
                                        bool left, bool unitriangular) {
  // PyTorch's formula: gB = A⁻ᵀ grad (grad A⁻ᵀ when not left), gA = -gB Xᵀ
  // (-Xᵀ gB), restricted to the triangle A is read from.
  const Tensor gB = dg::linalg_solve_triangular(mT(self), grad, !upper, left, unitriangular);
  const Tensor gA = left ? -dg::matmul(gB, mT(result)) : -dg::matmul(mT(result), gB);
  return upper ? gA.triu(unitriangular ? 1 : 0) : gA.tril(unitriangular ? -1 : 0);
}

std::tuple<Tensor, Tensor> triangular_solve(const Tensor& self, const Tensor& A, bool upper, bool transpose,
                                            bool unitriangular) {
  DG_CHECK(self.dim() >= 2 && A.dim() >= 2, "triangular_solve: expected self and A to have at least 2 dimensions, got ",
           "self of shape ", self.sizes(), " and A of shape ", A.sizes());
  const Tensor X = dg::linalg_solve_triangular(transpose ? mT(A) : A, self, upper != transpose, true, unitriangular);
  // The coefficient comes back broadcast to the solution's batch, as in PyTorch.
  std::vector<int64_t> shape(X.sizes().begin(), X.sizes().end() - 2);
  shape.push_back(A.size(-2));
  shape.push_back(A.size(-1));
  return {X, A.expand(shape).clone()};
}

Tensor linalg_solve(const Tensor& A, const Tensor& B, bool left) {
  DG_CHECK(A.dim() >= 2, "linalg.solve: the input tensor A must have at least 2 dimensions, got shape ", A.sizes());
  DG_CHECK(B.dim() >= 1, "linalg.solve: the input tensor B must have at least 1 dimension, got shape ", B.sizes());
  const bool vector = is_vector_rhs(A, B);
  // X A = B is Aᵀ Xᵀ = Bᵀ.
  const Tensor a = left ? A : mT(A);
  const Tensor b = vector ? B.unsqueeze(-1) : (left ? B : mT(B));
  const Tensor X = dg::_linalg_solve(a, b);
  return vector ? X.squeeze(-1) : (left ? X : mT(X));
}

Tensor cholesky_solve(const Tensor& self, const Tensor& input2, bool upper) {
  DG_CHECK(self.dim() >= 2 && input2.dim() >= 2,
           "cholesky_solve: expected self and input2 to have at least 2 dimensions, got self of shape ", self.sizes(),
           " and input2 of shape ", input2.sizes());
  // A = L Lᵀ (or Uᵀ U): two triangular solves.
  const Tensor L = upper ? mT(input2) : input2;
  const Tensor Y = dg::linalg_solve_triangular(L, self, /*upper=*/false);
  return dg::linalg_solve_triangular(mT(L), Y, /*upper=*/true);
}

Tensor cholesky_inverse(const Tensor& self, bool upper) {
  DG_CHECK(self.dim() >= 2 && self.size(-1) == self.size(-2),
           "cholesky_inverse: expected (a batch of) square matrices, got shape ", self.sizes());
  return composite::cholesky_solve(dg::eye(self.size(-1), self.options()), self, upper);
}

std::tuple<Tensor, Tensor> linalg_lu_factor(const Tensor& A, bool pivot) {
  DG_CHECK(pivot, "linalg.lu_factor: LU without pivoting is not implemented on the CPU");
  const Tensor packed = dg::_linalg_lu_factor_packed(A);
  const int64_t m = A.size(-2), n = A.size(-1);
  const Tensor LU = packed.narrow(-1, 0, n).contiguous();
  const Tensor pivots = packed.select(-1, n).narrow(-1, 0, std::min(m, n)).to(kInt32);  // int32, as LibTorch
  return {LU, pivots};
}

std::tuple<Tensor, Tensor, Tensor, Tensor> linalg_lstsq(const Tensor& self, const Tensor& b,
                                                        std::optional<double> rcond, std::string_view driver) {
  DG_CHECK(self.dim() >= 2, "linalg.lstsq: the input tensor A must have at least 2 dimensions, got shape ",
           self.sizes());
  DG_CHECK(b.dim() >= 1, "linalg.lstsq: the input tensor B must have at least 1 dimension, got shape ", b.sizes());
  const bool vector = is_vector_rhs(self, b);
  const Tensor B = vector ? b.unsqueeze(-1) : b;
  // PyTorch's default driver: gelsy on the CPU, gels (the only one) on CUDA.
  const std::string drv = driver.empty() ? (self.device().is_cpu() ? "gelsy" : "gels") : std::string(driver);
  const Tensor packed = dg::_linalg_lstsq(self, B, rcond, drv);
  const int64_t m = self.size(-2), n = self.size(-1), k = B.size(-1);
  Tensor X = packed.narrow(-2, 0, n).narrow(-1, 0, k);
  const Tensor rank = drv == "gelsy" ? packed.select(-2, n).select(-1, 0).detach().to(kInt64)
                                     : dg::empty({0}, self.options().dtype(kInt64));
  Tensor residuals = dg::empty({0}, self.options());
  if (drv != "gelsy" && m > n) {
    const Tensor r = dg::matmul(self, X) - B;
    residuals = (r * r).sum(std::vector<int64_t>{-2});
    if (vector) residuals = residuals.squeeze(-1);
  }
  if (vector) X = X.squeeze(-1);
  return {X, residuals, rank, dg::empty({0}, self.options())};
}

Tensor linalg_lstsq_backward(const Tensor& grad, const Tensor& self, const Tensor& b, const Tensor& solution,
                             bool wrt_self) {
  // The gradient of X = pinv(A) B for a full-rank A (PyTorch goes through
  // pinv; these are the same formulas from normal-equation solves):
  //   m >= n: Y = (AᵀA)⁻¹ gX, gB = A Y, gA = (B - A X) Yᵀ - A Y Xᵀ;
  //   m < n (X = Aᵀ (AAᵀ)⁻¹ B): W = (AAᵀ)⁻¹ A gX, Z = (AAᵀ)⁻¹ B,
  //          gB = W, gA = Z gXᵀ - W Xᵀ - Z Wᵀ A.
  const Tensor& A = self;
  const int64_t m = A.size(-2), n = A.size(-1), k = b.size(-1);
  const Tensor gX = grad.narrow(-2, 0, n).narrow(-1, 0, k);
  const Tensor X = solution.narrow(-2, 0, n).narrow(-1, 0, k);
  if (m >= n) {
    const Tensor Y = dg::_linalg_solve(dg::matmul(mT(A), A), gX);
    const Tensor AY = dg::matmul(A, Y);
    if (!wrt_self) return AY;
    return dg::matmul(b - dg::matmul(A, X), mT(Y)) - dg::matmul(AY, mT(X));
  }
  const Tensor AAt = dg::matmul(A, mT(A));
  const Tensor W = dg::_linalg_solve(AAt, dg::matmul(A, gX));
  if (!wrt_self) return W;
  const Tensor Z = dg::_linalg_solve(AAt, b);
  return dg::matmul(Z, mT(gX)) - dg::matmul(W, mT(X)) - dg::matmul(dg::matmul(Z, mT(W)), A);
}

}  // namespace dg::composite
