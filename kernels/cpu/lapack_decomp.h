#pragma once
// LAPACK plumbing of the decomposition kernels (decompose.cpp): the batch
// loop over matrices (..., m, n) of any strides, the copies between
// dynagrad's row-major matrices and LAPACK's column-major scratch buffers,
// LAPACK's `info` turned into dg::Error, and the float/double entry points
// of LAPACKE. Nothing here is specific to one decomposition.
#include <lapacke.h>

#include <cmath>
#include <cstdint>

#include "dynagrad/error.h"
#include "dynagrad/tensor_base.h"

namespace dg::cpu::lapack {

// The number of matrices in a batch (..., m, n).
inline int64_t batch_count(const TensorBase& t) {
  int64_t count = 1;
  for (int64_t d = 0; d + 2 < t.dim(); ++d) count *= t.size(d);
  return count;
}

// The element offset (from data_ptr) of matrix b of the batch.
inline int64_t matrix_offset(const TensorBase& t, int64_t b) {
  int64_t off = 0;
  for (int64_t d = t.dim() - 3; d >= 0; --d) {
    off += (b % t.size(d)) * t.stride(d);
    b /= t.size(d);
  }
  return off;
}

// Matrix b of t (m x n, any strides) into dst, column-major with leading
// dimension ld >= m. Returns whether every element is finite.
template <typename T>
bool to_col_major(const TensorBase& t, int64_t b, T* dst, int64_t ld) {
  const int64_t m = t.size(-2), n = t.size(-1), sm = t.stride(-2), sn = t.stride(-1);
  const T* src = t.data_ptr<T>() + matrix_offset(t, b);
  bool finite = true;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < m; ++i) {
      const T v = src[i * sm + j * sn];
      finite = finite && std::isfinite(v);
      dst[i + j * ld] = v;
    }
  return finite;
}

// A column-major m x n matrix (leading dimension ld) into dense row-major dst.
template <typename T>
void from_col_major(const T* src, int64_t ld, int64_t m, int64_t n, T* dst) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) dst[i * n + j] = src[i + j * ld];
}

// LAPACK's info as dg::Error: a negative info is a rejected argument (LAPACKE
// rejects NaN in its input matrix this way), a positive one the routine's own
// failure, described by `failure`.
inline void check_info(const char* op, const char* routine, lapack_int info, int64_t batch, const char* failure) {
  DG_CHECK(info >= 0, op, ": (Batch element ", batch, "): LAPACK ", routine, " rejected its argument ", -info,
           " (expected finite values in the input matrix)");
  DG_CHECK(info == 0, op, ": (Batch element ", batch, "): ", failure, " (LAPACK ", routine, " error code: ", info, ")");
}

// The float and double routines under one name (column-major layout).
template <typename T>
struct Lapack;

template <>
struct Lapack<float> {
  static lapack_int syevd(char jobz, char uplo, lapack_int n, float* a, lapack_int lda, float* w) {
    return LAPACKE_ssyevd(LAPACK_COL_MAJOR, jobz, uplo, n, a, lda, w);
  }
  static lapack_int gesdd(char jobz, lapack_int m, lapack_int n, float* a, lapack_int lda, float* s, float* u,
                          lapack_int ldu, float* vt, lapack_int ldvt) {
    return LAPACKE_sgesdd(LAPACK_COL_MAJOR, jobz, m, n, a, lda, s, u, ldu, vt, ldvt);
  }
  static lapack_int geqrf(lapack_int m, lapack_int n, float* a, lapack_int lda, float* tau) {
    return LAPACKE_sgeqrf(LAPACK_COL_MAJOR, m, n, a, lda, tau);
  }
  static lapack_int orgqr(lapack_int m, lapack_int n, lapack_int k, float* a, lapack_int lda, const float* tau) {
    return LAPACKE_sorgqr(LAPACK_COL_MAJOR, m, n, k, a, lda, tau);
  }
};

template <>
struct Lapack<double> {
  static lapack_int syevd(char jobz, char uplo, lapack_int n, double* a, lapack_int lda, double* w) {
    return LAPACKE_dsyevd(LAPACK_COL_MAJOR, jobz, uplo, n, a, lda, w);
  }
  static lapack_int gesdd(char jobz, lapack_int m, lapack_int n, double* a, lapack_int lda, double* s, double* u,
                          lapack_int ldu, double* vt, lapack_int ldvt) {
    return LAPACKE_dgesdd(LAPACK_COL_MAJOR, jobz, m, n, a, lda, s, u, ldu, vt, ldvt);
  }
  static lapack_int geqrf(lapack_int m, lapack_int n, double* a, lapack_int lda, double* tau) {
    return LAPACKE_dgeqrf(LAPACK_COL_MAJOR, m, n, a, lda, tau);
  }
  static lapack_int orgqr(lapack_int m, lapack_int n, lapack_int k, double* a, lapack_int lda, const double* tau) {
    return LAPACKE_dorgqr(LAPACK_COL_MAJOR, m, n, k, a, lda, tau);
  }
};

}  // namespace dg::cpu::lapack
