// Decompositions and norms (dg::linalg::): eigh, svd and qr slice the packed
// output of their kernel op (_linalg_*_packed), whose gradients are PyTorch's
// formulas (FunctionsManual.cpp: linalg_eig_backward for hermitian input,
// svd_backward, linalg_qr_backward) written with public ops, so they are
// differentiable again; pinv, matrix_rank, cond and the matrix norms are
// formulas of the decompositions, as in PyTorch.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>
#include <tuple>
#include <vector>

#include "dynagrad/factory.h"
#include "dynagrad/operators.h"
#include "ops/composite.h"
#include "ops/meta.h"

namespace dg::composite {

namespace {

// The slice [offset, offset + rows * cols) of the packed last dim as
// matrices (..., rows, cols).
Tensor unpack(const Tensor& packed, int64_t offset, int64_t rows, int64_t cols) {
  std::vector<int64_t> shape(packed.sizes().begin(), packed.sizes().end() - 1);
  shape.push_back(rows);
  shape.push_back(cols);
  return packed.narrow(-1, offset, rows * cols).reshape(shape);
}

Tensor mT(const Tensor& t) { return t.transpose(-2, -1); }

// Ones on the diagonal of (..., n, n) shaped like the vector v (..., n).
Tensor identity_like(const Tensor& v) { return dg::diag_embed(dg::ones_like(v)); }

// U (..., m, ucols), S (..., k), Vh (..., vrows, n) of a packed SVD.
struct Svd {
  Tensor U, S, Vh;
};
Svd unpack_svd(const Tensor& packed, int64_t m, int64_t n, bool full_matrices) {
  const int64_t k = std::min(m, n), ucols = full_matrices ? m : k, vrows = full_matrices ? n : k;
  return {unpack(packed, 0, m, ucols), packed.narrow(-1, m * ucols, k), unpack(packed, m * ucols + k, vrows, n)};
}

// Q (..., m, qcols) and R (..., rrows, n) of a packed QR.
std::tuple<Tensor, Tensor> unpack_qr(const Tensor& packed, int64_t m, int64_t n, std::string_view mode) {
  const int64_t k = std::min(m, n);
  const int64_t qcols = mode == "r" ? 0 : (mode == "complete" ? m : k), rrows = mode == "complete" ? m : k;
  return {unpack(packed, 0, m, qcols), unpack(packed, m * qcols, rrows, n)};
}

}  // namespace

// ---- backward formulas ------------------------------------------------------------------

Tensor linalg_eigh_packed_backward(const Tensor& grad, const Tensor& packed) {
  const int64_t n = packed.size(-2);
  const Tensor V = packed.narrow(-1, 0, n), L = packed.select(-1, n);
  const Tensor gV = grad.narrow(-1, 0, n), gL = grad.select(-1, n);
  // The skew-symmetric part of V^T gV over E_ij = L_j - L_i (1 on the
  // diagonal, where the skew part is 0), then gL on the diagonal, conjugated
  // back by V.
  const Tensor VhgV = mT(V).matmul(gV);
  const Tensor skew = (VhgV - mT(VhgV)) * 0.5;
  const Tensor E = L.unsqueeze(-2) - L.unsqueeze(-1) + identity_like(L);
  const Tensor gA = skew / E + dg::diag_embed(gL);
  return V.matmul(gA.matmul(mT(V)));
}

Tensor linalg_svd_packed_backward(const Tensor& grad, const Tensor& packed, IntArrayRef A_sizes, bool full_matrices) {
  const int64_t m = A_sizes[A_sizes.size() - 2], n = A_sizes[A_sizes.size() - 1], k = std::min(m, n);
  if (k == 0) return dg::zeros(A_sizes, packed.options());
  Svd f = unpack_svd(packed, m, n, full_matrices), g = unpack_svd(grad, m, n, full_matrices);
  if (full_matrices) {
    // The columns of U and rows of Vh past k are arbitrary: only the first k carry a gradient.
    f.U = f.U.narrow(-1, 0, k), g.U = g.U.narrow(-1, 0, k);
    f.Vh = f.Vh.narrow(-2, 0, k), g.Vh = g.Vh.narrow(-2, 0, k);
  }
  const Tensor &U = f.U, &S = f.S, &Vh = f.Vh, &gU = g.U, &gS = g.S, &gVh = g.Vh;
  const auto skew = [](const Tensor& X) { return X - mT(X); };
  const Tensor UhgU = skew(mT(U).matmul(gU)), VhgV = skew(Vh.matmul(mT(gVh)));
  // gA = (UhgU S + S VhgV) / E + diag(gS), E_jk = S_k^2 - S_j^2 (1 on the diagonal).
  const Tensor S2 = S * S;
  const Tensor E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + identity_like(S);
  Tensor gA = (UhgU * S.unsqueeze(-2) + S.unsqueeze(-1) * VhgV) / E + dg::diag_embed(gS);
  if (m > n) {
    // gA = [U gA + (I_m - U U^T) gU S^{-1}] Vh
    const Tensor gUSinv = gU / S.unsqueeze(-2);
    gA = U.matmul(gA) + gUSinv - U.matmul(mT(U).matmul(gUSinv));
    return gA.matmul(Vh);
  }
  if (m < n) {
    // gA = U [gA Vh + S^{-1} gVh (I_n - V Vh)]
    const Tensor SinvgVh = gVh / S.unsqueeze(-1);
    gA = gA.matmul(Vh) + SinvgVh - SinvgVh.matmul(mT(Vh)).matmul(Vh);
    return U.matmul(gA);
  }
  return U.matmul(gA.matmul(Vh));
}

namespace {
// gA of A = QR for square R (m >= n, reduced): [gQ + Q copyltu(M)] R^{-T},
// M = R gR^T - gQ^T Q, copyltu(M) the symmetric matrix of M's lower triangle;
// X R^{-T} is the Y of the triangular system Y R^T = X.
Tensor qr_backward_square_r(const Tensor& gQ, const Tensor& gR, const Tensor& Q, const Tensor& R) {
  const Tensor M = R.matmul(mT(gR)) - mT(gQ).matmul(Q);
  const Tensor copyltu = M.tril() + mT(M.tril(-1));
  return dg::linalg_solve_triangular(mT(R), gQ + Q.matmul(copyltu), /*upper=*/false, /*left=*/false);
}
}  // namespace

Tensor linalg_qr_packed_backward(const Tensor& grad, const Tensor& packed, IntArrayRef A_sizes, std::string_view mode) {
  const int64_t m = A_sizes[A_sizes.size() - 2], n = A_sizes[A_sizes.size() - 1];
  DG_CHECK(mode != "r",
           "linalg_qr_backward: the derivative of linalg_qr depends on Q, which is not computed when "
           "mode='r'; use mode='reduced' to differentiate through linalg_qr");
  DG_CHECK(mode == "reduced" || m <= n,
           "linalg_qr_backward: the QR decomposition is not differentiable when mode='complete' and nrows > ncols "
           "(got ",
           m, " by ", n, " matrices)");
  if (m == 0 || n == 0) return dg::zeros(A_sizes, packed.options());
  const auto [Q, R] = unpack_qr(packed, m, n, mode);
  const auto [gQ, gR] = unpack_qr(grad, m, n, mode);
  if (m >= n) return qr_backward_square_r(gQ, gR, Q, R);
  // Wide A = [X | Y] with X = Q R1 square: Y = Q R2 passes gQ + Y gR2^T to X.
  const Tensor R1 = R.narrow(-1, 0, m), R2 = R.narrow(-1, m, n - m);
  const Tensor gR1 = gR.narrow(-1, 0, m), gR2 = gR.narrow(-1, m, n - m);
  const Tensor gX = qr_backward_square_r(gQ + Q.matmul(R2).matmul(mT(gR2)), gR1, Q, R1);
  return dg::cat({gX, Q.matmul(gR2)}, -1);
}

// ---- decompositions ---------------------------------------------------------------------

std::tuple<Tensor, Tensor> linalg_eigh(const Tensor& self, std::string_view UPLO) {
  meta::check_linalg_input("linalg_eigh", self, true);
  DG_CHECK(UPLO == "L" || UPLO == "U", "linalg_eigh: expected UPLO to be 'L' or 'U', got '", UPLO, "'");
  const int64_t n = self.size(-1);
  const Tensor packed = dg::_linalg_eigh_packed(self, UPLO);
  return {packed.select(-1, n), packed.narrow(-1, 0, n)};
}

Tensor linalg_eigvalsh(const Tensor& self, std::string_view UPLO) {
  meta::check_linalg_input("linalg_eigvalsh", self, true);
  DG_CHECK(UPLO == "L" || UPLO == "U", "linalg_eigvalsh: expected UPLO to be 'L' or 'U', got '", UPLO, "'");
  return dg::_linalg_eigh_packed(self, UPLO).select(-1, self.size(-1));
}

std::tuple<Tensor, Tensor, Tensor> linalg_svd(const Tensor& A, bool full_matrices) {
  meta::check_linalg_input("linalg_svd", A, false);
  Svd f = unpack_svd(dg::_linalg_svd_packed(A, full_matrices), A.size(-2), A.size(-1), full_matrices);
  return {f.U, f.S, f.Vh};
}

std::tuple<Tensor, Tensor, Tensor> svd(const Tensor& self, bool some, bool compute_uv) {
  meta::check_linalg_input("svd", self, false);
  if (!compute_uv) {
    // LibTorch: U and V zero-filled (m x m, n x n); `some` has no effect.
    std::vector<int64_t> batch(self.sizes().begin(), self.sizes().end() - 2), u = batch, v = batch;
    const int64_t m = self.size(-2), n = self.size(-1);
    u.insert(u.end(), {m, m});
    v.insert(v.end(), {n, n});
    return {dg::zeros(u, self.options()), dg::linalg_svdvals(self), dg::zeros(v, self.options())};
  }
  auto [U, S, Vh] = dg::linalg_svd(self, !some);
  return {U, S, mT(Vh)};
}

Tensor linalg_svdvals(const Tensor& A) {
  meta::check_linalg_input("linalg_svdvals", A, false);
  // The factors are computed too: the gradient needs them.
  return unpack_svd(dg::_linalg_svd_packed(A, false), A.size(-2), A.size(-1), false).S;
}

std::tuple<Tensor, Tensor> linalg_qr(const Tensor& A, std::string_view mode) {
  meta::check_linalg_input("linalg_qr", A, false);
  DG_CHECK(mode == "reduced" || mode == "complete" || mode == "r",
           "linalg_qr: expected mode to be 'reduced', 'complete' or 'r', got '", mode, "'");
  return unpack_qr(dg::_linalg_qr_packed(A, mode), A.size(-2), A.size(-1), mode);
}

// ---- formulas of the decompositions -----------------------------------------------------

namespace {
// LibTorch's default tolerances: rtol = eps * max(m, n) unless atol > 0 is given.
std::tuple<double, double> tolerances(const Tensor& A, std::optional<double> atol, std::optional<double> rtol) {
  const double eps =
      A.dtype() == kFloat32 ? std::numeric_limits<float>::epsilon() : std::numeric_limits<double>::epsilon();
  const double a = atol.value_or(0.0);
  const double r = rtol ? *rtol : (a > 0 ? 0.0 : eps * static_cast<double>(std::max(A.size(-2), A.size(-1))));
  return {a, r};
}

// The singular values (|eigenvalues|, descending order not needed) compared
// with max(atol, rtol * largest): a mask (..., k).
Tensor above_tolerance(const Tensor& S, double atol, double rtol) {
  const Tensor tol = dg::clamp_min(S.amax({-1}, true) * rtol, atol);
  return S.gt(tol);
}
}  // namespace

Tensor linalg_pinv(const Tensor& self, std::optional<double> atol, std::optional<double> rtol, bool hermitian) {
  meta::check_linalg_input("linalg_pinv", self, hermitian);
  DG_CHECK(atol.value_or(0.0) >= 0 && rtol.value_or(0.0) >= 0,
           "linalg_pinv: expected non-negative atol and rtol, got atol = ", atol.value_or(0.0),
           " and rtol = ", rtol.value_or(0.0));
  if (self.numel() == 0) {
    std::vector<int64_t> shape(self.sizes().begin(), self.sizes().end() - 2);
    shape.insert(shape.end(), {self.size(-1), self.size(-2)});
    return dg::zeros(shape, self.options());
  }
  const auto [a, r] = tolerances(self, atol, rtol);
  if (hermitian) {
    const auto [L, V] = dg::linalg_eigh(self, "L");
    const Tensor keep = above_tolerance(L.abs(), a, r);
    const Tensor Linv = dg::where(keep, L.reciprocal(), dg::zeros_like(L));
    return (V * Linv.unsqueeze(-2)).matmul(mT(V));
  }
  const auto [U, S, Vh] = dg::linalg_svd(self, false);
  const Tensor Sinv = dg::where(above_tolerance(S, a, r), S.reciprocal(), dg::zeros_like(S));
  return (mT(Vh) * Sinv.unsqueeze(-2)).matmul(mT(U));
}

Tensor linalg_pinv_rcond(const Tensor& self, double rcond, bool hermitian) {
  return dg::linalg_pinv(self, 0.0, rcond, hermitian);
}

Tensor linalg_matrix_rank(const Tensor& self, std::optional<double> atol, std::optional<double> rtol, bool hermitian) {
  meta::check_linalg_input("linalg_matrix_rank", self, hermitian);
  std::vector<int64_t> batch(self.sizes().begin(), self.sizes().end() - 2);
  if (self.numel() == 0) return dg::zeros(batch, self.options().dtype(kInt64));
  const auto [a, r] = tolerances(self, atol, rtol);
  const Tensor S = hermitian ? dg::linalg_eigvalsh(self, "L").abs() : dg::linalg_svdvals(self);
  return above_tolerance(S, a, r).sum({-1});
}

Tensor linalg_cond(const Tensor& self, const std::optional<Scalar>& p) {
  meta::check_linalg_input("linalg_cond", self, false);
  const double ord = p ? p->toDouble() : 2.0;
  DG_CHECK(ord == 2.0 || ord == -2.0, "linalg_cond: expected p to be None, 2 or -2 (the norms that need no inverse; ",
           "the others are not supported yet), got ", ord);
  const Tensor S = dg::linalg_svdvals(self);
  const Tensor largest = S.narrow(-1, 0, 1).squeeze(-1), smallest = S.narrow(-1, S.size(-1) - 1, 1).squeeze(-1);
  return ord > 0 ? largest / smallest : smallest / largest;
}

// ---- norms ------------------------------------------------------------------------------

Tensor linalg_vector_norm(const Tensor& self, const Scalar& ord, IntArrayRef dim, bool keepdim) {
  DG_CHECK(self.is_floating_point(), "linalg_vector_norm: expected a floating point input, got ", self.dtype());
  if (!dim.empty()) {
    for (int64_t d : dim) meta::wrap_dim("linalg_vector_norm", d, self.dim());
  }
  return dg::norm(self, ord, dim, keepdim);
}

namespace {
// The two wrapped, distinct dims of a matrix norm.
std::tuple<int64_t, int64_t> matrix_dims(const char* op, const Tensor& self, IntArrayRef dim) {
  DG_CHECK(self.is_floating_point(), op, ": expected a floating point input, got ", self.dtype());
  DG_CHECK(dim.size() == 2, op, ": expected dim to have 2 elements, got ", dim.size());
  DG_CHECK(self.dim() >= 2, op, ": expected a tensor with 2 or more dimensions, got shape ", self.sizes());
  const int64_t d0 = meta::wrap_dim(op, dim[0], self.dim()), d1 = meta::wrap_dim(op, dim[1], self.dim());
  DG_CHECK(d0 != d1, op, ": expected dims to be different, got (", dim[0], ", ", dim[1], ")");
  return {d0, d1};
}

// The singular values of self's matrices over (d0, d1), reduced by `reduce`,
// the two dims kept (size 1) when keepdim.
template <typename F>
Tensor over_singular_values(const Tensor& self, int64_t d0, int64_t d1, bool keepdim, F reduce) {
  Tensor r = reduce(dg::linalg_svdvals(dg::movedim(self, IntArrayRef{d0, d1}, IntArrayRef{-2, -1})));
  if (keepdim) r = r.unsqueeze(std::min(d0, d1)).unsqueeze(std::max(d0, d1));
  return r;
}
}  // namespace

Tensor linalg_matrix_norm(const Tensor& self, const Scalar& ord, IntArrayRef dim, bool keepdim) {
  const auto [d0, d1] = matrix_dims("linalg_matrix_norm", self, dim);
  const double o = ord.toDouble();
  if (o == 2.0 || o == -2.0)
    return over_singular_values(self, d0, d1, keepdim,
                                [o](const Tensor& S) { return o > 0 ? S.amax({-1}) : S.amin({-1}); });
  DG_CHECK(o == 1.0 || o == -1.0 || std::isinf(o), "linalg_matrix_norm: expected ord to be 'fro', 'nuc', inf, -inf, ",
           "1, -1, 2 or -2, got ", o);
  // 1/-1: the largest/smallest column sum (over d0, then across d1); inf/-inf: row sums.
  const int64_t sum_dim = std::isinf(o) ? d1 : d0, across = std::isinf(o) ? d0 : d1;
  const Tensor sums = self.abs().sum({sum_dim}, true);
  Tensor r = o > 0 ? sums.amax({across}, true) : sums.amin({across}, true);
  if (!keepdim) r = r.squeeze(std::max(d0, d1)).squeeze(std::min(d0, d1));
  return r;
}

Tensor linalg_matrix_norm_str(const Tensor& self, std::string_view ord, IntArrayRef dim, bool keepdim) {
  const auto [d0, d1] = matrix_dims("linalg_matrix_norm", self, dim);
  DG_CHECK(ord == "fro" || ord == "nuc", "linalg_matrix_norm: expected ord to be 'fro' or 'nuc', got '", ord, "'");
  if (ord == "fro") return dg::linalg_vector_norm(self, 2, {d0, d1}, keepdim);
  return over_singular_values(self, d0, d1, keepdim, [](const Tensor& S) { return S.sum({-1}); });
}

Tensor linalg_norm(const Tensor& self, const std::optional<Scalar>& ord, IntArrayRef dim, bool keepdim) {
  if (dim.empty()) {
    if (!ord) return dg::linalg_vector_norm(self, 2, {}, keepdim);
    DG_CHECK(self.dim() == 1 || self.dim() == 2,
             "linalg_norm: if dim is not given but ord is, expected a 1-D or 2-D input, got ", self.dim(), "-D");
    if (self.dim() == 1) return dg::linalg_vector_norm(self, *ord, {0}, keepdim);
    return dg::linalg_matrix_norm(self, *ord, {0, 1}, keepdim);
  }
  DG_CHECK(dim.size() == 1 || dim.size() == 2, "linalg_norm: expected dim to have 1 or 2 elements, got ", dim.size());
  if (dim.size() == 1) return dg::linalg_vector_norm(self, ord.value_or(Scalar(2)), dim, keepdim);
  if (!ord) return dg::linalg_matrix_norm(self, std::string_view("fro"), dim, keepdim);
  return dg::linalg_matrix_norm(self, *ord, dim, keepdim);
}

Tensor linalg_norm_str(const Tensor& self, std::string_view ord, IntArrayRef dim, bool keepdim) {
  if (dim.empty()) {
    DG_CHECK(self.dim() == 2, "linalg_norm: expected a 2-D input for ord '", ord, "' without dim, got ", self.dim(),
             "-D");
    return dg::linalg_matrix_norm(self, ord, {0, 1}, keepdim);
  }
  return dg::linalg_matrix_norm(self, ord, dim, keepdim);
}

}  // namespace dg::composite
