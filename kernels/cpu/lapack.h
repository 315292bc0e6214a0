#pragma once
// LAPACK plumbing of the CPU linear-algebra kernels (kernels/cpu/solve.cpp,
// kernels/cpu/decompose.cpp): the batch walk over a tensor's leading dims
// (broadcast to a batch shape where asked), copies between a strided matrix
// and a dense column-major scratch (what LAPACK reads), a finiteness check of
// that scratch, the "(Batch element i)" prefix of PyTorch's linear-algebra
// errors, LAPACK info codes turned into dg::Error, and LAPACKE's routines
// overloaded on float/double. Nothing here is specific to one op.
//
// LAPACKE is Debian's liblapacke: it calls whatever liblapack.so.3 the
// alternatives system selects, OpenBLAS's optimized LAPACK when
// libopenblas0-pthread is installed (the one LibTorch uses), the reference
// LAPACK otherwise.
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "common/linalg_errors.h"
#include "dynagrad/error.h"
#include "dynagrad/tensor_base.h"

namespace dg::cpu::lapack {

// The batch of a tensor whose first `lead` dims are batch dims, seen through
// a batch shape (`batch`, which those dims broadcast to): the number of batch
// elements and the element offset of batch element i.
struct Batch {
  std::vector<int64_t> batch;    // the batch shape iterated
  std::vector<int64_t> bstride;  // the tensor's stride per batch dim (0 where broadcast)

  Batch(const TensorBase& t, int64_t lead, const std::vector<int64_t>& batch_shape) : batch(batch_shape) {
    const int64_t nb = static_cast<int64_t>(batch.size());
    bstride.assign(nb, 0);
    for (int64_t k = 0; k < lead; ++k) {
      const int64_t j = nb - lead + k;
      if (t.size(k) != 1) bstride[j] = t.stride(k);
    }
  }
  int64_t count() const {
    int64_t n = 1;
    for (int64_t b : batch) n *= b;
    return n;
  }
  int64_t offset(int64_t i) const {
    int64_t off = 0;
    for (int64_t k = static_cast<int64_t>(batch.size()) - 1; k >= 0; --k) {
      off += (i % batch[k]) * bstride[k];
      i /= batch[k];
    }
    return off;
  }
};

// The matrices of a tensor (..., rows, cols) over a batch shape: the batch
// walk, and each matrix's row and column strides.
struct Matrices : Batch {
  int64_t rows = 0, cols = 0, sr = 0, sc = 0;

  Matrices(const TensorBase& t, const std::vector<int64_t>& batch_shape) : Batch(t, t.dim() - 2, batch_shape) {
    const int64_t d = t.dim();
    rows = t.size(d - 2);
    cols = t.size(d - 1);
    sr = t.stride(d - 2);
    sc = t.stride(d - 1);
  }
};

// The batch dims of a tensor (..., r, c).
inline std::vector<int64_t> batch_shape(const TensorBase& t) {
  return std::vector<int64_t>(t.sizes().begin(), t.sizes().end() - 2);
}

// dst (column-major, leading dimension ld) <- the rows x cols matrix at src
// with strides (sr, sc); `transpose` copies its transpose instead (then dst
// holds cols x rows).
template <typename T>
void to_col_major(T* dst, int64_t ld, const T* src, int64_t rows, int64_t cols, int64_t sr, int64_t sc,
                  bool transpose = false) {
  if (transpose) {
    std::swap(rows, cols);
    std::swap(sr, sc);
  }
  // In tiles, so that a transposing copy stays in cache on both sides.
  constexpr int64_t kTile = 32;
  for (int64_t j0 = 0; j0 < cols; j0 += kTile)
    for (int64_t i0 = 0; i0 < rows; i0 += kTile)
      for (int64_t j = j0; j < std::min(j0 + kTile, cols); ++j)
        for (int64_t i = i0; i < std::min(i0 + kTile, rows); ++i) dst[j * ld + i] = src[i * sr + j * sc];
}

// The strided rows x cols matrix at dst <- the column-major src (leading
// dimension ld).
template <typename T>
void from_col_major(T* dst, int64_t rows, int64_t cols, int64_t sr, int64_t sc, const T* src, int64_t ld) {
  constexpr int64_t kTile = 32;
  for (int64_t i0 = 0; i0 < rows; i0 += kTile)
    for (int64_t j0 = 0; j0 < cols; j0 += kTile)
      for (int64_t i = i0; i < std::min(i0 + kTile, rows); ++i)
        for (int64_t j = j0; j < std::min(j0 + kTile, cols); ++j) dst[i * sr + j * sc] = src[j * ld + i];
}

// Whether every element of the column-major rows x cols matrix at a (leading
// dimension ld) is finite.
template <typename T>
bool all_finite(const T* a, int64_t rows, int64_t cols, int64_t ld) {
  for (int64_t j = 0; j < cols; ++j)
    for (int64_t i = 0; i < rows; ++i)
      if (!std::isfinite(a[j * ld + i])) return false;
  return true;
}

// The "(Batch element i)" prefixes of the errors (kernels/common/linalg_errors.h).
using linalg_errors::batch_element;
using linalg_errors::where;

// A negative LAPACK info is a bad argument: a bug here, not the user's input
// (for the *_work routines, which do not look at the values).
inline void check_arguments(const char* op, const char* routine, lapack_int info) {
  DG_CHECK(info >= 0, op, ": LAPACK's ", routine, " rejected its argument ", -info, " (an internal error)");
}

// LAPACK's info of batch element `batch` as dg::Error, for the high-level
// LAPACKE routines: a negative info is a rejected argument (LAPACKE rejects
// NaN in its input matrix this way), a positive one the routine's own
// failure, described by `failure`.
inline void check_info(const char* op, const char* routine, lapack_int info, int64_t batch, const char* failure) {
  DG_CHECK(info >= 0, batch_element(op, batch), "LAPACK ", routine, " rejected its argument ", -info,
           " (expected finite values in the input matrix)");
  DG_CHECK(info == 0, batch_element(op, batch), failure, " (LAPACK ", routine, " error code: ", info, ")");
}

// ---- LAPACKE's column-major routines for float and double ----------------------------
// The solvers call the *_work forms (workspace passed in, no NaN scan); the
// decompositions the high-level forms, which allocate their workspace and
// reject a NaN in the input matrix with a negative info (check_info).

inline lapack_int getrf(lapack_int m, lapack_int n, float* a, lapack_int lda, lapack_int* ipiv) {
  return LAPACKE_sgetrf_work(LAPACK_COL_MAJOR, m, n, a, lda, ipiv);
}
inline lapack_int getrf(lapack_int m, lapack_int n, double* a, lapack_int lda, lapack_int* ipiv) {
  return LAPACKE_dgetrf_work(LAPACK_COL_MAJOR, m, n, a, lda, ipiv);
}
inline lapack_int getrs(char trans, lapack_int n, lapack_int nrhs, const float* a, lapack_int lda,
                        const lapack_int* ipiv, float* b, lapack_int ldb) {
  return LAPACKE_sgetrs_work(LAPACK_COL_MAJOR, trans, n, nrhs, a, lda, ipiv, b, ldb);
}
inline lapack_int getrs(char trans, lapack_int n, lapack_int nrhs, const double* a, lapack_int lda,
                        const lapack_int* ipiv, double* b, lapack_int ldb) {
  return LAPACKE_dgetrs_work(LAPACK_COL_MAJOR, trans, n, nrhs, a, lda, ipiv, b, ldb);
}
inline lapack_int getri(lapack_int n, float* a, lapack_int lda, const lapack_int* ipiv, float* work, lapack_int lwork) {
  return LAPACKE_sgetri_work(LAPACK_COL_MAJOR, n, a, lda, ipiv, work, lwork);
}
inline lapack_int getri(lapack_int n, double* a, lapack_int lda, const lapack_int* ipiv, double* work,
                        lapack_int lwork) {
  return LAPACKE_dgetri_work(LAPACK_COL_MAJOR, n, a, lda, ipiv, work, lwork);
}
inline lapack_int potrf(char uplo, lapack_int n, float* a, lapack_int lda) {
  return LAPACKE_spotrf_work(LAPACK_COL_MAJOR, uplo, n, a, lda);
}
inline lapack_int potrf(char uplo, lapack_int n, double* a, lapack_int lda) {
  return LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, uplo, n, a, lda);
}
inline lapack_int trtrs(char uplo, char trans, char diag, lapack_int n, lapack_int nrhs, const float* a, lapack_int lda,
                        float* b, lapack_int ldb) {
  return LAPACKE_strtrs_work(LAPACK_COL_MAJOR, uplo, trans, diag, n, nrhs, a, lda, b, ldb);
}
inline lapack_int trtrs(char uplo, char trans, char diag, lapack_int n, lapack_int nrhs, const double* a,
                        lapack_int lda, double* b, lapack_int ldb) {
  return LAPACKE_dtrtrs_work(LAPACK_COL_MAJOR, uplo, trans, diag, n, nrhs, a, lda, b, ldb);
}
inline lapack_int gelsy(lapack_int m, lapack_int n, lapack_int nrhs, float* a, lapack_int lda, float* b, lapack_int ldb,
                        lapack_int* jpvt, float rcond, lapack_int* rank, float* work, lapack_int lwork) {
  return LAPACKE_sgelsy_work(LAPACK_COL_MAJOR, m, n, nrhs, a, lda, b, ldb, jpvt, rcond, rank, work, lwork);
}
inline lapack_int gelsy(lapack_int m, lapack_int n, lapack_int nrhs, double* a, lapack_int lda, double* b,
                        lapack_int ldb, lapack_int* jpvt, double rcond, lapack_int* rank, double* work,
                        lapack_int lwork) {
  return LAPACKE_dgelsy_work(LAPACK_COL_MAJOR, m, n, nrhs, a, lda, b, ldb, jpvt, rcond, rank, work, lwork);
}
inline lapack_int gels(char trans, lapack_int m, lapack_int n, lapack_int nrhs, float* a, lapack_int lda, float* b,
                       lapack_int ldb, float* work, lapack_int lwork) {
  return LAPACKE_sgels_work(LAPACK_COL_MAJOR, trans, m, n, nrhs, a, lda, b, ldb, work, lwork);
}
inline lapack_int gels(char trans, lapack_int m, lapack_int n, lapack_int nrhs, double* a, lapack_int lda, double* b,
                       lapack_int ldb, double* work, lapack_int lwork) {
  return LAPACKE_dgels_work(LAPACK_COL_MAJOR, trans, m, n, nrhs, a, lda, b, ldb, work, lwork);
}
inline lapack_int syevd(char jobz, char uplo, lapack_int n, float* a, lapack_int lda, float* w) {
  return LAPACKE_ssyevd(LAPACK_COL_MAJOR, jobz, uplo, n, a, lda, w);
}
inline lapack_int syevd(char jobz, char uplo, lapack_int n, double* a, lapack_int lda, double* w) {
  return LAPACKE_dsyevd(LAPACK_COL_MAJOR, jobz, uplo, n, a, lda, w);
}
inline lapack_int gesdd(char jobz, lapack_int m, lapack_int n, float* a, lapack_int lda, float* s, float* u,
                        lapack_int ldu, float* vt, lapack_int ldvt) {
  return LAPACKE_sgesdd(LAPACK_COL_MAJOR, jobz, m, n, a, lda, s, u, ldu, vt, ldvt);
}
inline lapack_int gesdd(char jobz, lapack_int m, lapack_int n, double* a, lapack_int lda, double* s, double* u,
                        lapack_int ldu, double* vt, lapack_int ldvt) {
  return LAPACKE_dgesdd(LAPACK_COL_MAJOR, jobz, m, n, a, lda, s, u, ldu, vt, ldvt);
}
inline lapack_int geqrf(lapack_int m, lapack_int n, float* a, lapack_int lda, float* tau) {
  return LAPACKE_sgeqrf(LAPACK_COL_MAJOR, m, n, a, lda, tau);
}
inline lapack_int geqrf(lapack_int m, lapack_int n, double* a, lapack_int lda, double* tau) {
  return LAPACKE_dgeqrf(LAPACK_COL_MAJOR, m, n, a, lda, tau);
}
inline lapack_int orgqr(lapack_int m, lapack_int n, lapack_int k, float* a, lapack_int lda, const float* tau) {
  return LAPACKE_sorgqr(LAPACK_COL_MAJOR, m, n, k, a, lda, tau);
}
inline lapack_int orgqr(lapack_int m, lapack_int n, lapack_int k, double* a, lapack_int lda, const double* tau) {
  return LAPACKE_dorgqr(LAPACK_COL_MAJOR, m, n, k, a, lda, tau);
}

}  // namespace dg::cpu::lapack
