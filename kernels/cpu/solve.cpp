// CPU kernels of the solving half of linear algebra on LAPACK (lapack.h):
// inverse, determinant, Cholesky, triangular and general solves, LU,
// least squares. Every kernel loops over the batch; a matrix is copied into
// a dense scratch that LAPACK overwrites.
//
// A row-major square matrix read as column-major is its transpose, and
// inv(Aᵀ) = inv(A)ᵀ, det(Aᵀ) = det(A), Aᵀ = Uᵀ U for A = L Lᵀ: those kernels
// hand LAPACK the row-major copy as is (a plain copy, no transposition).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/lapack.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

using lapack::Matrices;

// The matrix at src (strides sr, sc) as a dense row-major n x m copy at dst.
template <typename T>
void to_row_major(T* dst, const T* src, int64_t rows, int64_t cols, int64_t sr, int64_t sc) {
  lapack::to_col_major(dst, cols, src, rows, cols, sr, sc, /*transpose=*/true);
}

// out's matrix (strides osr, osc) <- the dense row-major src.
template <typename T>
void from_row_major(T* dst, int64_t rows, int64_t cols, int64_t osr, int64_t osc, const T* src) {
  lapack::from_col_major(dst, cols, rows, osc, osr, src, cols);
}

// LU of the row-major copy of every matrix of A (a column-major LU of Aᵀ):
// calls f(i, lu, ipiv, info) per batch element.
template <typename T, typename F>
void for_each_lu_of_transpose(const TensorBase& A, const F& f) {
  const Matrices a(A, lapack::batch_shape(A));
  const int64_t n = a.rows;
  std::vector<T> lu(std::max<int64_t>(n * n, 1));
  std::vector<lapack_int> ipiv(std::max<int64_t>(n, 1));
  const T* src = A.data_ptr<T>();
  for (int64_t i = 0; i < a.count(); ++i) {
    to_row_major(lu.data(), src + a.offset(i), n, n, a.sr, a.sc);
    const lapack_int info = n == 0 ? 0 : lapack::getrf(n, n, lu.data(), std::max<int64_t>(n, 1), ipiv.data());
    lapack::check_arguments("linalg", "getrf", info);
    f(i, a.count(), lu.data(), ipiv.data(), info);
  }
}

}  // namespace

template <typename T>
void linalg_inv(const TensorBase& out, const TensorBase& A) {
  const Matrices a(A, lapack::batch_shape(A)), o(out, lapack::batch_shape(out));
  const int64_t n = a.rows;
  if (n == 0) return;
  std::vector<T> work(std::max<int64_t>(n * 64, 1));
  for_each_lu_of_transpose<T>(A, [&](int64_t i, int64_t count, T* lu, const lapack_int* ipiv, lapack_int info) {
    DG_CHECK(info == 0, lapack::where("linalg.inv", count, i), "The diagonal element ", info,
             " is zero, the inversion could not be completed because the input matrix is singular.");
    lapack::check_arguments("linalg.inv", "getri",
                            lapack::getri(n, lu, n, ipiv, work.data(), static_cast<lapack_int>(work.size())));
    from_row_major(out.data_ptr<T>() + o.offset(i), n, n, o.sr, o.sc, lu);
  });
}

template <typename T>
void linalg_det(const TensorBase& out, const TensorBase& A) {
  const int64_t n = A.size(-1);
  T* dst = out.data_ptr<T>();
  const lapack::Batch o(out, out.dim(), lapack::batch_shape(A));  // out has A's batch shape
  for_each_lu_of_transpose<T>(A, [&](int64_t i, int64_t, T* lu, const lapack_int* ipiv, lapack_int) {
    T det = 1;
    for (int64_t k = 0; k < n; ++k) {
      det *= lu[k * n + k];
      if (ipiv[k] != k + 1) det = -det;
    }
    dst[o.offset(i)] = det;
  });
}

template <typename T>
void linalg_slogdet(const TensorBase& out, const TensorBase& A) {
  const int64_t n = A.size(-1);
  T* dst = out.data_ptr<T>();
  const int64_t last = out.stride(-1);
  const lapack::Batch o(out, out.dim() - 1, lapack::batch_shape(A));  // out (..., 2)
  for_each_lu_of_transpose<T>(A, [&](int64_t i, int64_t, T* lu, const lapack_int* ipiv, lapack_int) {
    T sign = 1, logabs = 0;
    for (int64_t k = 0; k < n; ++k) {
      const T u = lu[k * n + k];
      if (u < 0) sign = -sign;
      if (ipiv[k] != k + 1) sign = -sign;
      logabs += std::log(std::abs(u));
    }
    if (std::isinf(logabs) && logabs < 0) sign = 0;
    dst[o.offset(i)] = sign;
    dst[o.offset(i) + last] = logabs;
  });
}

template <typename T>
void linalg_cholesky(const TensorBase& out, const TensorBase& self, bool upper) {
  const Matrices a(self, lapack::batch_shape(self)), o(out, lapack::batch_shape(out));
  const int64_t n = a.rows;
  if (n == 0) return;
  // potrf with uplo 'L' on A's column-major copy (it reads A's lower
  // triangle, as PyTorch; OpenBLAS's lower potrf is the faster one), L
  // written back with its upper triangle zeroed, or Lᵀ when upper.
  std::vector<T> l(n * n);
  const T* src = self.data_ptr<T>();
  for (int64_t i = 0; i < a.count(); ++i) {
    lapack::to_col_major(l.data(), n, src + a.offset(i), n, n, a.sr, a.sc);
    const lapack_int info = lapack::potrf('L', n, l.data(), n);
    lapack::check_arguments("linalg.cholesky", "potrf", info);
    DG_CHECK(info == 0, lapack::where("linalg.cholesky", a.count(), i),
             "The factorization could not be completed because the input is not positive-definite (the leading "
             "minor of order ",
             info, " is not positive-definite).");
    for (int64_t c = 1; c < n; ++c) std::fill(l.data() + c * n, l.data() + c * n + c, T(0));  // strict upper
    T* dst = out.data_ptr<T>() + o.offset(i);
    if (upper) {
      lapack::from_col_major(dst, n, n, o.sc, o.sr, l.data(), n);  // Lᵀ
    } else {
      lapack::from_col_major(dst, n, n, o.sr, o.sc, l.data(), n);
    }
  }
}

template <typename T>
void linalg_solve_triangular(const TensorBase& out, const TensorBase& self, const TensorBase& B, bool upper, bool left,
                             bool unitriangular) {
  const std::vector<int64_t> batch = lapack::batch_shape(out);
  const Matrices a(self, batch), b(B, batch), o(out, batch);
  const int64_t n = a.rows;
  // left: A X = B with B (n, k); right: X A = B, i.e. Aᵀ Xᵀ = Bᵀ with Bᵀ (n, k).
  const int64_t k = left ? b.cols : b.rows;
  if (n == 0 || k == 0) return;
  std::vector<T> as(n * n), xs(n * k);
  const char uplo = upper ? 'U' : 'L', trans = left ? 'N' : 'T', diag = unitriangular ? 'U' : 'N';
  for (int64_t i = 0; i < o.count(); ++i) {
    lapack::to_col_major(as.data(), n, self.data_ptr<T>() + a.offset(i), n, n, a.sr, a.sc);
    lapack::to_col_major(xs.data(), n, B.data_ptr<T>() + b.offset(i), b.rows, b.cols, b.sr, b.sc, !left);
    const lapack_int info = lapack::trtrs(uplo, trans, diag, n, k, as.data(), n, xs.data(), n);
    lapack::check_arguments("linalg.solve_triangular", "trtrs", info);
    DG_CHECK(info == 0, lapack::where("linalg.solve_triangular", o.count(), i), "The diagonal element ", info,
             " is zero, the solve could not be completed because the input matrix is singular.");
    T* dst = out.data_ptr<T>() + o.offset(i);
    if (left) {
      lapack::from_col_major(dst, n, k, o.sr, o.sc, xs.data(), n);
    } else {
      lapack::from_col_major(dst, n, k, o.sc, o.sr, xs.data(), n);  // Xᵀ (n, k) into X (k, n)
    }
  }
}

template <typename T>
void linalg_solve(const TensorBase& out, const TensorBase& A, const TensorBase& B) {
  const std::vector<int64_t> batch = lapack::batch_shape(out);
  const Matrices a(A, batch), b(B, batch), o(out, batch);
  const int64_t n = a.rows, k = b.cols;
  if (n == 0 || k == 0) return;
  std::vector<T> lu(n * n), xs(n * k);
  std::vector<lapack_int> ipiv(n);
  // A factor shared by the whole batch (A broadcast) is computed once.
  bool shared = true;
  for (int64_t s : a.bstride) shared = shared && s == 0;
  for (int64_t i = 0; i < o.count(); ++i) {
    if (i == 0 || !shared) {
      // The row-major copy is Aᵀ in column-major: solve with its transpose.
      to_row_major(lu.data(), A.data_ptr<T>() + a.offset(i), n, n, a.sr, a.sc);
      const lapack_int info = lapack::getrf(n, n, lu.data(), n, ipiv.data());
      lapack::check_arguments("linalg.solve", "getrf", info);
      DG_CHECK(info == 0, lapack::where("linalg.solve", shared ? 1 : o.count(), i),
               "The solver failed because the input matrix is singular.");
    }
    T* dst = out.data_ptr<T>() + o.offset(i);
    const bool direct = k == 1 && o.sr == 1;  // a dense column: solve in place
    T* x = direct ? dst : xs.data();
    lapack::to_col_major(x, n, B.data_ptr<T>() + b.offset(i), n, k, b.sr, b.sc);
    lapack::check_arguments("linalg.solve", "getrs", lapack::getrs('T', n, k, lu.data(), n, ipiv.data(), x, n));
    if (!direct) lapack::from_col_major(dst, n, k, o.sr, o.sc, xs.data(), n);
  }
}

template <typename T>
void linalg_lu_factor_packed(const TensorBase& out, const TensorBase& A) {
  const Matrices a(A, lapack::batch_shape(A)), o(out, lapack::batch_shape(out));
  const int64_t m = a.rows, n = a.cols, mn = std::min(m, n);
  const int64_t ld = std::max<int64_t>(m, 1);
  std::vector<T> lu(std::max<int64_t>(m * n, 1));
  std::vector<lapack_int> ipiv(std::max<int64_t>(mn, 1));
  for (int64_t i = 0; i < a.count(); ++i) {
    lapack::to_col_major(lu.data(), ld, A.data_ptr<T>() + a.offset(i), m, n, a.sr, a.sc);
    const lapack_int info = mn == 0 ? 0 : lapack::getrf(m, n, lu.data(), ld, ipiv.data());
    lapack::check_arguments("linalg.lu_factor", "getrf", info);
    DG_CHECK(info == 0, lapack::where("linalg.lu_factor", a.count(), i), "U[", info, ",", info,
             "] is zero and using it on lu_solve would result in a division by zero.");
    T* dst = out.data_ptr<T>() + o.offset(i);
    lapack::from_col_major(dst, m, n, o.sr, o.sc, lu.data(), ld);
    for (int64_t r = 0; r < m; ++r) dst[r * o.sr + n * o.sc] = r < mn ? static_cast<T>(ipiv[r]) : T(0);
  }
}

template <typename T>
void linalg_lstsq(const TensorBase& out, const TensorBase& self, const TensorBase& b, std::optional<double> rcond,
                  std::string_view driver) {
  const std::vector<int64_t> batch = lapack::batch_shape(out);
  const Matrices a(self, batch), bm(b, batch), o(out, batch);
  const int64_t m = a.rows, n = a.cols, k = bm.cols;
  const int64_t lda = std::max<int64_t>(m, 1), ldb = std::max<int64_t>({m, n, int64_t(1)});
  const bool gels = driver == "gels";
  const T cond = rcond ? static_cast<T>(*rcond) : std::numeric_limits<T>::epsilon() * static_cast<T>(std::max(m, n));
  std::vector<T> as(std::max<int64_t>(m * n, 1)), xs(std::max<int64_t>(ldb * k, 1));
  std::vector<lapack_int> jpvt(std::max<int64_t>(n, 1));
  // The workspace size LAPACK asks for.
  T query = 0;
  lapack_int rank = 0;
  if (gels) {
    lapack::gels('N', m, n, k, as.data(), lda, xs.data(), ldb, &query, -1);
  } else {
    lapack::gelsy(m, n, k, as.data(), lda, xs.data(), ldb, jpvt.data(), cond, &rank, &query, -1);
  }
  std::vector<T> work(std::max<int64_t>(static_cast<int64_t>(query), 1));
  for (int64_t i = 0; i < o.count(); ++i) {
    T* dst = out.data_ptr<T>() + o.offset(i);
    lapack::to_col_major(as.data(), lda, self.data_ptr<T>() + a.offset(i), m, n, a.sr, a.sc);
    std::fill(xs.begin(), xs.end(), T(0));
    lapack::to_col_major(xs.data(), ldb, b.data_ptr<T>() + bm.offset(i), m, k, bm.sr, bm.sc);
    if (m == 0 || n == 0) {
      rank = 0;
    } else if (gels) {
      const lapack_int info =
          lapack::gels('N', m, n, k, as.data(), lda, xs.data(), ldb, work.data(), static_cast<lapack_int>(work.size()));
      lapack::check_arguments("linalg.lstsq", "gels", info);
      DG_CHECK(info == 0, lapack::where("linalg.lstsq", o.count(), i),
               "The least squares solution could not be computed because the input matrix does not have full rank "
               "(error code: ",
               info, ").");
      rank = static_cast<lapack_int>(std::min(m, n));
    } else {
      std::fill(jpvt.begin(), jpvt.end(), 0);
      const lapack_int info = lapack::gelsy(m, n, k, as.data(), lda, xs.data(), ldb, jpvt.data(), cond, &rank,
                                            work.data(), static_cast<lapack_int>(work.size()));
      lapack::check_arguments("linalg.lstsq", "gelsy", info);
    }
    if (n > 0) lapack::from_col_major(dst, n, k, o.sr, o.sc, xs.data(), ldb);
    for (int64_t c = 0; c < o.cols; ++c) dst[n * o.sr + c * o.sc] = c == 0 ? static_cast<T>(rank) : T(0);
  }
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_linalg_inv;
DG_INSTANTIATE_KERNEL_cpu_linalg_det;
DG_INSTANTIATE_KERNEL_cpu_linalg_slogdet;
DG_INSTANTIATE_KERNEL_cpu_linalg_cholesky;
DG_INSTANTIATE_KERNEL_cpu_linalg_solve_triangular;
DG_INSTANTIATE_KERNEL_cpu_linalg_solve;
DG_INSTANTIATE_KERNEL_cpu_linalg_lu_factor_packed;
DG_INSTANTIATE_KERNEL_cpu_linalg_lstsq;
