// Decompositions and norms of dg::linalg (issue 12): the factors rebuild
// their input and are orthonormal, in float32 and float64, batched and on
// non-contiguous input; values and gradients of fixed inputs against torch
// 1.13 (Debian's python3-torch); the errors. The generated tests check
// gradients of the ops.yaml samples (gradcheck, gradgradcheck) and the golden
// tests their values against PyTorch's.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "dynagrad/dynagrad.h"
#include "dynagrad/linalg.h"
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
using Catch::Matchers::Contains;

namespace {

Tensor mT(const Tensor& t) { return t.transpose(-2, -1); }

// Whether the columns of Q (..., m, c) are orthonormal.
bool orthonormal_columns(const Tensor& Q, double tol) {
  const Tensor QtQ = mT(Q).matmul(Q);
  return close(QtQ, dg::eye(Q.size(-1), Q.options()).expand_as(QtQ), tol);
}

double tol_of(ScalarType dtype) { return dtype == kFloat32 ? 1e-4 : 1e-10; }

// B = [[1, 2], [3, 4], [5, 6]] and the symmetric A = [[4, 1, 2], [1, 3, 0], [2, 0, 5]]: the torch values below.
Tensor B64() { return t64({1, 2, 3, 4, 5, 6}, {3, 2}); }
Tensor A64() { return t64({4, 1, 2, 1, 3, 0, 2, 0, 5}, {3, 3}); }

}  // namespace

TEST_CASE("linalg::qr: Q R rebuilds A, Q orthonormal, R upper triangular, in each mode", "[linalg][decompose]") {
  for (ScalarType dtype : kBothFloats) {
    for (std::vector<int64_t> shape : {std::vector<int64_t>{5, 3}, {3, 5}, {2, 4, 4}, {2, 1, 3, 2}}) {
      const Tensor A = dg::randn(shape, dtype);
      const int64_t m = A.size(-2), n = A.size(-1), k = std::min(m, n);
      INFO("dtype " << dtype << " shape " << A.sizes());
      auto [Q, R] = linalg::qr(A);
      CHECK(Q.size(-1) == k);
      CHECK(R.size(-2) == k);
      CHECK(close(Q.matmul(R), A, tol_of(dtype)));
      CHECK(orthonormal_columns(Q, tol_of(dtype)));
      CHECK(dg::equal(R, R.triu()));
      auto [Qc, Rc] = linalg::qr(A, "complete");
      CHECK(Qc.size(-1) == m);
      CHECK(Rc.size(-2) == m);
      CHECK(close(Qc.matmul(Rc), A, tol_of(dtype)));
      CHECK(orthonormal_columns(Qc, tol_of(dtype)));
      auto [Qr, Rr] = linalg::qr(A, "r");
      CHECK(Qr.numel() == 0);
      CHECK(close(Rr, R, tol_of(dtype)));
    }
  }
}

TEST_CASE("linalg::qr of a transposed (non-contiguous) input, values as torch 1.13", "[linalg][decompose]") {
  const Tensor Bt = mT(t64({1, 3, 5, 2, 4, 6}, {2, 3}));  // B, stored transposed
  REQUIRE_FALSE(Bt.is_contiguous());
  auto [Q, R] = linalg::qr(Bt);
  // torch.linalg.qr(B) with torch 1.13
  check_values(Q,
               {-0.16903085094570325, 0.8970852271450607, -0.50709255283711, 0.27602622373694136, -0.8451542547285166,
                -0.345032779671177},
               1e-12);
  check_values(R, {-5.916079783099616, -7.437357441610946, 0.0, 0.8280786712108248}, 1e-12);
  auto [Qc, Rc] = linalg::qr(B64(), "complete");
  check_shape(Qc, {3, 3});
  check_values(Rc, {-5.916079783099616, -7.437357441610946, 0.0, 0.8280786712108248, 0.0, 0.0}, 1e-12);
}

TEST_CASE("linalg::eigh: V diag(L) V^T rebuilds A, V orthogonal, L ascending", "[linalg][decompose]") {
  for (ScalarType dtype : kBothFloats) {
    const Tensor X = dg::randn({3, 5, 5}, dtype);
    const Tensor A = X + mT(X);
    for (const char* uplo : {"L", "U"}) {
      auto [L, V] = linalg::eigh(A, uplo);
      INFO("dtype " << dtype << " UPLO " << uplo);
      check_shape(L, {3, 5});
      CHECK(close((V * L.unsqueeze(-2)).matmul(mT(V)), A, tol_of(dtype) * 10));
      CHECK(orthonormal_columns(V, tol_of(dtype)));
      const std::vector<double> l = values(L);
      for (size_t i = 0; i + 1 < l.size(); ++i)
        if ((i + 1) % 5 != 0) CHECK(l[i] <= l[i + 1]);
      CHECK(close(linalg::eigvalsh(A, uplo), L, tol_of(dtype)));
    }
  }
  // Only the named triangle is read.
  const Tensor A = A64();
  const Tensor upper_garbage = A + t64({0, 9, 9, 0, 0, 9, 0, 0, 0}, {3, 3});
  CHECK(close(linalg::eigvalsh(upper_garbage, "L"), linalg::eigvalsh(A), 1e-12));
  CHECK(close(linalg::eigvalsh(mT(upper_garbage), "U"), linalg::eigvalsh(A), 1e-12));
}

TEST_CASE("linalg::eigh values and gradient as torch 1.13", "[linalg][decompose]") {
  const Tensor A = A64().requires_grad_();
  auto [L, V] = linalg::eigh(A);
  // torch.linalg.eigh(A) with torch 1.13
  check_values(L, {1.8548973087995761, 3.4760236029181333, 6.669079088282287}, 1e-12);
  check_values(V,
               {-0.6793130619863363, -0.374361954783072, -0.6311789687764832, 0.5932333119173852, -0.7864356987513781,
                -0.1720265367929077, 0.4319814827585529, 0.4912962635115686, -0.7563200248659909},
               1e-12);
  const Tensor w = t64({1, -2, 0.5}), c = t64({0.3, 0.7, -1.1});
  const Tensor loss = (L * w).sum() + (V.select(1, 0).pow(2) * c).sum() + V.select(1, 2).pow(2).sum() * 0.5 +
                      (V.pow(2) * iota({3, 3})).sum();
  loss.backward();
  // A.grad from the same loss in torch 1.13 (PyTorch's linalg_eig_backward)
  check_values(A.grad(),
               {0.4579314458957703, -0.8220906751240292, 0.1443723623642064, -0.8220906751240293, -1.1310064968957283,
                1.124916081439586, 0.1443723623642063, 1.124916081439586, 0.17307505099995787},
               1e-10);
  // A non-symmetric input: only the lower triangle is read; the gradient is PyTorch's (symmetric).
  const Tensor A2 = t64({4, 9, 9, 1, 3, 9, 2, 0, 5}, {3, 3}).requires_grad_();
  (std::get<0>(linalg::eigh(A2)) * w).sum().backward();
  check_values(A2.grad(),
               {0.38036593512011874, -0.9375245825348397, 0.3130812420774699, -0.9375245825348397, -0.8702398894921862,
                1.0940652035735736, 0.3130812420774699, 1.0940652035735736, -0.010126045627932732},
               1e-10);
}

TEST_CASE("linalg::svd: U diag(S) Vh rebuilds A, U and V orthonormal, S descending", "[linalg][decompose]") {
  for (ScalarType dtype : kBothFloats) {
    for (std::vector<int64_t> shape : {std::vector<int64_t>{5, 3}, {3, 5}, {2, 4, 4}}) {
      const Tensor A = dg::randn(shape, dtype);
      const int64_t m = A.size(-2), n = A.size(-1), k = std::min(m, n);
      INFO("dtype " << dtype << " shape " << A.sizes());
      auto [U, S, Vh] = linalg::svd(A, false);
      CHECK(S.size(-1) == k);
      CHECK(close((U * S.unsqueeze(-2)).matmul(Vh), A, tol_of(dtype)));
      CHECK(orthonormal_columns(U, tol_of(dtype)));
      CHECK(orthonormal_columns(mT(Vh), tol_of(dtype)));
      auto [Uf, Sf, Vhf] = linalg::svd(A);  // full_matrices=True
      CHECK(Uf.size(-1) == m);
      CHECK(Vhf.size(-2) == n);
      CHECK(orthonormal_columns(Uf, tol_of(dtype)));
      CHECK(orthonormal_columns(mT(Vhf), tol_of(dtype)));
      CHECK(close(Sf, S, tol_of(dtype)));
      CHECK(close(linalg::svdvals(A), S, tol_of(dtype)));
      auto [U1, S1, V1] = dg::svd(A);  // LibTorch's older form: V, not Vh
      CHECK(close((U1 * S1.unsqueeze(-2)).matmul(mT(V1)), A, tol_of(dtype)));
    }
  }
}

TEST_CASE("linalg::svd values and gradient as torch 1.13", "[linalg][decompose]") {
  const Tensor B = B64().requires_grad_();
  auto [U, S, Vh] = linalg::svd(B, false);
  // torch.linalg.svd(B) with torch 1.13
  check_values(S, {9.52551809156511, 0.5143005806586441}, 1e-12);
  check_values(U,
               {-0.2298476964000714, 0.8834610176985254, -0.5247448187602937, 0.24078249213254635, -0.8196419411205158,
                -0.4018960334334318},
               1e-12);
  check_values(Vh, {-0.6196294838293405, -0.7848944532670524, -0.7848944532670524, 0.6196294838293405}, 1e-12);
  const Tensor loss =
      (S * t64({1, -3})).sum() + (U.pow(2) * iota({3, 2})).sum() + (Vh.pow(2) * t64({1, 2, 3, -4}, {2, 2})).sum();
  loss.backward();
  // B.grad from the same loss in torch 1.13 (PyTorch's svd_backward)
  check_values(B.grad(),
               {3.43243337591146, -2.3144904144625142, -2.10539724607126, 2.239034524644459, 0.356772131946021,
                0.792559463751431},
               1e-10);
  // torch.svd(B, compute_uv=False): zero U (3 x 3) and V (2 x 2)
  auto [U0, S0, V0] = dg::svd(B64(), true, false);
  check_shape(U0, {3, 3});
  check_shape(V0, {2, 2});
  CHECK(values(U0) == std::vector<double>(9, 0.0));
  check_values(S0, {9.52551809156511, 0.5143005806586441}, 1e-12);
}

TEST_CASE("linalg::qr gradient as torch 1.13, tall and wide", "[linalg][decompose]") {
  const Tensor B = B64().requires_grad_();
  auto [Q, R] = linalg::qr(B);
  ((Q * iota({3, 2})).sum() + (R * t64({1, 2, 3, -4}, {2, 2})).sum()).backward();
  // B.grad from the same loss in torch 1.13 (PyTorch's linalg_qr_backward)
  check_values(B.grad(),
               {3.319375289136161, -3.926402610471649, 0.5662631825726933, -2.1182900006219856, -2.186848923990772,
                -0.310177390772325},
               1e-9);
  const Tensor W = mT(B64()).contiguous().requires_grad_();
  auto [Qw, Rw] = linalg::qr(W);
  ((Qw * t64({1, 2, 3, -4}, {2, 2})).sum() + (Rw * iota({2, 3})).sum()).backward();
  check_values(W.grad(),
               {20.39293995479808, -4.024922359499621, -5.3665631459994945, -10.196469977399044, 0.8944271909999166,
                0.447213595499959},
               1e-9);
}

TEST_CASE("linalg::pinv, matrix_rank and cond as torch 1.13", "[linalg][decompose]") {
  // torch.linalg.pinv(B), torch.linalg.matrix_rank(C), torch.linalg.cond(A), cond(B) with torch 1.13
  check_values(linalg::pinv(B64()),
               {-1.333333333333334, -0.3333333333333329, 0.6666666666666666, 1.083333333333334, 0.3333333333333331,
                -0.41666666666666674},
               1e-12);
  const Tensor C = t64({1, 2, 3, 2, 4, 6, 1, 0, 1}, {3, 3});
  CHECK(linalg::matrix_rank(C, std::nullopt, std::nullopt, false).item<int64_t>() == 2);
  CHECK(linalg::matrix_rank(C, std::nullopt, std::nullopt, false).dtype() == kInt64);
  check_values(linalg::cond(A64()), {3.5953899208567384}, 1e-12);
  check_values(linalg::cond(B64()), {18.52130534125814}, 1e-12);
  // The pseudo-inverse's defining identities, batched, and the hermitian path.
  for (ScalarType dtype : kBothFloats) {
    const Tensor A = dg::randn({2, 4, 3}, dtype);
    const Tensor P = linalg::pinv(A);
    check_shape(P, {2, 3, 4});
    CHECK(close(A.matmul(P).matmul(A), A, tol_of(dtype) * 10));
    const Tensor H = A64().to(dtype);
    CHECK(close(linalg::pinv(H, 1e-15, true), linalg::pinv(H), tol_of(dtype) * 10));
  }
}

TEST_CASE("linalg norms as torch 1.13", "[linalg][norms]") {
  const Tensor X = t64({1, -2, 3, -4, 5, -6}, {2, 3});
  const double inf = std::numeric_limits<double>::infinity();
  // torch.linalg.matrix_norm(X, ord) with torch 1.13
  check_values(linalg::matrix_norm(X, "fro"), {9.539392014169456}, 1e-12);
  check_values(linalg::matrix_norm(X, "nuc"), {10.280901636369208}, 1e-12);
  const std::vector<std::pair<double, double>> matrix = {
      {inf, 15.0}, {-inf, 6.0}, {1, 9.0}, {-1, 5.0}, {2, 9.508032000695724}, {-2, 0.7728696356734843}};
  for (auto [ord, want] : matrix) {
    INFO("ord " << ord);
    check_values(linalg::matrix_norm(X, ord), {want}, 1e-12);
  }
  // torch.linalg.vector_norm(X, ord)
  const std::vector<std::pair<double, double>> vector = {
      {2, 9.539392014169456},  {1, 21.0}, {0, 6.0}, {inf, 6.0}, {-inf, 1.0}, {3.5, 7.187954572145564},
      {-1, 0.4081632653061225}};
  for (auto [ord, want] : vector) {
    INFO("ord " << ord);
    check_values(linalg::vector_norm(X, ord), {want}, 1e-12);
  }
  check_values(linalg::vector_norm(X, 2, 1), {3.7416573867739413, 8.774964387392123}, 1e-12);
  check_shape(linalg::vector_norm(X, 2, {0, 1}, true), {1, 1});
  check_shape(linalg::vector_norm(X, 2, std::nullopt, true), {1, 1});
  CHECK(linalg::vector_norm(X, 2, std::nullopt, false, kFloat32).dtype() == kFloat32);
  // torch.linalg.norm(X), norm(X, 'nuc'), norm(X[0], 1)
  check_values(linalg::norm(X), {9.539392014169456}, 1e-12);
  check_values(linalg::norm(X, "nuc"), {10.280901636369208}, 1e-12);
  check_values(linalg::norm(X.select(0, 0), 1), {6.0}, 1e-12);
  check_shape(linalg::matrix_norm(dg::randn({2, 3, 4}), "fro", {0, 2}, true), {1, 3, 1});
  check_shape(linalg::matrix_norm(dg::randn({2, 3, 4}), 2, {2, 0}, true), {1, 3, 1});
}

TEST_CASE("decompositions and norms: errors name the op, what was expected and what was given",
          "[linalg][decompose][errors]") {
  const Tensor ints = dg::ones({3, 3}, kInt64);
  CHECK_THROWS_WITH(linalg::svd(ints), Contains("linalg_svd") && Contains("float32 or float64") && Contains("int64"));
  CHECK_THROWS_WITH(linalg::qr(dg::ones({3})), Contains("linalg_qr") && Contains("at least 2 dimensions"));
  CHECK_THROWS_WITH(linalg::eigh(dg::ones({2, 3})),
                    Contains("linalg_eigh") && Contains("square") && Contains("2 by 3"));
  CHECK_THROWS_WITH(linalg::eigvalsh(dg::ones({3, 3}), "X"), Contains("linalg_eigvalsh") && Contains("'X'"));
  CHECK_THROWS_WITH(linalg::qr(dg::ones({3, 3}), "x"),
                    Contains("linalg_qr") && Contains("'reduced', 'complete' or 'r'") && Contains("'x'"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor with_nan = t64({1, 2, nan, 4}, {2, 2}).expand({3, 2, 2}).contiguous();
  CHECK_THROWS_WITH(linalg::svdvals(with_nan),
                    Contains("linalg_svd") && Contains("Batch element 0") && Contains("finite"));
  CHECK_THROWS_WITH(linalg::eigh(t64({1, 2, 2, 1}, {2, 2}).expand({2, 2, 2}).contiguous() * t64({1, nan}, {2, 1, 1})),
                    Contains("linalg_eigh") && Contains("Batch element 1") && Contains("finite"));
  CHECK_THROWS_WITH(linalg::matrix_norm(dg::ones({3, 3}), 3),
                    Contains("linalg_matrix_norm") && Contains("'fro', 'nuc'") && Contains("got 3"));
  CHECK_THROWS_WITH(linalg::matrix_norm(dg::ones({3, 3}), "abc"), Contains("linalg_matrix_norm") && Contains("'abc'"));
  CHECK_THROWS_WITH(linalg::matrix_norm(dg::ones({3, 3}), "fro", {0}), Contains("dim to have 2 elements, got 1"));
  CHECK_THROWS_WITH(linalg::matrix_norm(dg::ones({3, 3}), "fro", {1, 1}), Contains("dims to be different"));
  CHECK_THROWS_WITH(linalg::norm(dg::ones({2, 3, 4}), 2),
                    Contains("linalg_norm") && Contains("1-D or 2-D") && Contains("3-D"));
  CHECK_THROWS_WITH(linalg::vector_norm(ints), Contains("linalg_vector_norm") && Contains("floating"));
  CHECK_THROWS_WITH(linalg::cond(dg::ones({3, 3}), 1), Contains("linalg_cond") && Contains("2 or -2"));
  // Differentiating through mode 'r' is refused, as in PyTorch.
  const Tensor A = dg::randn({3, 3}, kFloat64).requires_grad_();
  const Tensor R = std::get<1>(linalg::qr(A, "r"));
  CHECK_THROWS_WITH(R.sum().backward(), Contains("mode='r'"));
  const Tensor T = dg::randn({4, 3}, kFloat64).requires_grad_();
  CHECK_THROWS_WITH(std::get<0>(linalg::qr(T, "complete")).sum().backward(),
                    Contains("not differentiable when mode='complete' and nrows > ncols"));
}

TEST_CASE("dg::linalg takes LibTorch 1.13's call forms", "[linalg][decompose]") {
  // The argument lists of torch::linalg:: as LibTorch code spells them (no defaults there).
  const Tensor X = t64({1, -2, 3, -4, 5, -6}, {2, 3});
  const Tensor A = A64();
  auto [U, S, Vh] = linalg::svd(X, false, std::nullopt);
  CHECK(close(linalg::svdvals(X, std::nullopt), S, 1e-12));
  CHECK(close((U * S.unsqueeze(-2)).matmul(Vh), X, 1e-12));
  auto [L, V] = linalg::eigh(A, "L");
  CHECK(close(linalg::eigvalsh(A, "L"), L, 1e-12));
  auto [Q, R] = linalg::qr(X.t(), "reduced");
  CHECK(close(Q.matmul(R), X.t(), 1e-12));
  check_values(linalg::vector_norm(X, 2, std::nullopt, false, std::nullopt), {9.539392014169456}, 1e-12);
  check_values(linalg::vector_norm(X, 2, {1}, false, std::nullopt), {3.7416573867739413, 8.774964387392123}, 1e-12);
  check_values(linalg::matrix_norm(X, "fro", {-2, -1}, false, std::nullopt), {9.539392014169456}, 1e-12);
  CHECK(linalg::matrix_norm(X, 1, {-2, -1}, false, kFloat32).dtype() == kFloat32);
  check_values(linalg::norm(X, std::nullopt, std::nullopt, false, std::nullopt), {9.539392014169456}, 1e-12);
  check_values(linalg::norm(X, "nuc", std::nullopt, false, std::nullopt), {10.280901636369208}, 1e-12);
  CHECK(linalg::matrix_rank(X, std::nullopt, std::nullopt, false).item<int64_t>() == 2);
  CHECK(linalg::matrix_rank(X, 1e-8, false).item<int64_t>() == 2);
  CHECK(linalg::pinv(X).sizes() == IntArrayRef({3, 2}));
  auto [U1, S1, V1] = X.svd();  // Tensor::svd (some=True): V is 3 x 2
  check_shape(V1, {3, 2});
  CHECK(close(S1, S, 1e-12));
}
