// Decompositions on LAPACK (through LAPACKE): symmetric eigendecomposition
// (syevd), SVD (gesdd) and QR (geqrf + orgqr), the routines PyTorch's CPU
// backend calls, so the factors' signs agree with its. Each matrix of the
// batch is copied into a column-major scratch buffer, factored, and its
// factors written row-major into the packed output the shape rule sized
// (ops/meta/linalg.cpp; ops.yaml says the layouts).
#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "cpu/lapack.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

// Matrix b of `a` (from A's data) into the dense column-major scratch dst
// (leading dimension a.rows).
template <typename T>
void to_scratch(T* dst, const TensorBase& A, const lapack::Matrices& a, int64_t b) {
  lapack::to_col_major(dst, a.rows, A.data_ptr<T>() + a.offset(b), a.rows, a.cols, a.sr, a.sc);
}

// to_scratch, and a dg::Error when the matrix holds a NaN or inf.
template <typename T>
void to_scratch_finite(const char* op, T* dst, const TensorBase& A, const lapack::Matrices& a, int64_t b) {
  to_scratch(dst, A, a, b);
  DG_CHECK(lapack::all_finite(dst, a.rows, a.cols, a.rows), lapack::batch_element(op, b),
           "expected finite values, got a NaN or inf in the input matrix");
}

}  // namespace

// out (..., n, n + 1): eigenvectors in columns [0, n), eigenvalues in column n.
template <typename T>
void linalg_eigh_packed(const TensorBase& out, const TensorBase& A, std::string_view UPLO) {
  DG_CHECK(out.is_contiguous(), "linalg_eigh: internal error: expected a contiguous output");
  const lapack::Matrices mats(A, lapack::batch_shape(A));
  const int64_t n = mats.cols, count = mats.count();
  if (n == 0) return;
  std::vector<T> a(n * n), w(n);
  T* dst = out.data_ptr<T>();
  for (int64_t b = 0; b < count; ++b, dst += n * (n + 1)) {
    to_scratch_finite("linalg_eigh", a.data(), A, mats, b);
    const lapack_int info = lapack::syevd('V', UPLO == "U" ? 'U' : 'L', n, a.data(), n, w.data());
    lapack::check_info("linalg_eigh", "syevd", info, b,
                       "The algorithm failed to converge because the input matrix is ill-conditioned or has too "
                       "many repeated eigenvalues");
    lapack::from_col_major(dst, n, n, n + 1, 1, a.data(), n);
    for (int64_t i = 0; i < n; ++i) dst[i * (n + 1) + n] = w[i];
  }
}

// out (..., P): U (m x m or m x k), S (k), Vh (n x n or k x n).
template <typename T>
void linalg_svd_packed(const TensorBase& out, const TensorBase& A, bool full_matrices) {
  DG_CHECK(out.is_contiguous(), "linalg_svd: internal error: expected a contiguous output");
  const lapack::Matrices mats(A, lapack::batch_shape(A));
  const int64_t m = mats.rows, n = mats.cols, k = std::min(m, n), count = mats.count();
  const int64_t ucols = full_matrices ? m : k, vrows = full_matrices ? n : k;
  const int64_t packed = m * ucols + k + vrows * n;
  T* dst = out.data_ptr<T>();
  if (k == 0) {
    // No singular values: U and Vh are identities (empty unless full_matrices).
    std::fill(dst, dst + count * packed, T(0));
    for (int64_t b = 0; b < count; ++b, dst += packed) {
      for (int64_t i = 0; i < std::min(m, ucols); ++i) dst[i * ucols + i] = T(1);
      for (int64_t i = 0; i < std::min(vrows, n); ++i) dst[m * ucols + k + i * n + i] = T(1);
    }
    return;
  }
  std::vector<T> a(m * n), s(k), u(m * ucols), vt(vrows * n);
  for (int64_t b = 0; b < count; ++b, dst += packed) {
    to_scratch_finite("linalg_svd", a.data(), A, mats, b);
    const lapack_int info =
        lapack::gesdd(full_matrices ? 'A' : 'S', m, n, a.data(), m, s.data(), u.data(), m, vt.data(), vrows);
    lapack::check_info("linalg_svd", "gesdd", info, b,
                       "The algorithm failed to converge because the input matrix is ill-conditioned or has too "
                       "many repeated singular values");
    lapack::from_col_major(dst, m, ucols, ucols, 1, u.data(), m);
    std::copy(s.begin(), s.end(), dst + m * ucols);
    lapack::from_col_major(dst + m * ucols + k, vrows, n, n, 1, vt.data(), vrows);
  }
}

// out (..., P): Q (m x k, m x m for complete, nothing for r), then R (k x n,
// m x n for complete).
template <typename T>
void linalg_qr_packed(const TensorBase& out, const TensorBase& A, std::string_view mode) {
  DG_CHECK(out.is_contiguous(), "linalg_qr: internal error: expected a contiguous output");
  const lapack::Matrices mats(A, lapack::batch_shape(A));
  const int64_t m = mats.rows, n = mats.cols, k = std::min(m, n), count = mats.count();
  const bool complete = mode == "complete", want_q = mode != "r";
  const int64_t qcols = want_q ? (complete ? m : k) : 0, rrows = complete ? m : k;
  const int64_t packed = m * qcols + rrows * n;
  T* dst = out.data_ptr<T>();
  std::fill(dst, dst + count * packed, T(0));
  if (m == 0 || n == 0) {
    // Q is the identity (m x m when complete), R empty or zeros.
    for (int64_t b = 0; b < count; ++b, dst += packed)
      for (int64_t i = 0; i < std::min(m, qcols); ++i) dst[i * qcols + i] = T(1);
    return;
  }
  // geqrf factors in place; orgqr then builds Q's qcols columns from the
  // reflectors in a buffer with room for them (m x max(n, qcols)).
  const int64_t cols = std::max(n, qcols);
  std::vector<T> a(m * cols), tau(k);
  for (int64_t b = 0; b < count; ++b, dst += packed) {
    to_scratch(a.data(), A, mats, b);
    lapack::check_info("linalg_qr", "geqrf", lapack::geqrf(m, n, a.data(), m, tau.data()), b,
                       "QR factorization failed");
    T* r = dst + m * qcols;
    for (int64_t i = 0; i < std::min(rrows, k); ++i)
      for (int64_t j = i; j < n; ++j) r[i * n + j] = a[i + j * m];
    if (!want_q) continue;
    lapack::check_info("linalg_qr", "orgqr", lapack::orgqr(m, qcols, k, a.data(), m, tau.data()), b,
                       "forming Q failed");
    lapack::from_col_major(dst, m, qcols, qcols, 1, a.data(), m);
  }
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_linalg_eigh_packed;
DG_INSTANTIATE_KERNEL_cpu_linalg_svd_packed;
DG_INSTANTIATE_KERNEL_cpu_linalg_qr_packed;
