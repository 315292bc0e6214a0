#pragma once
// cuSOLVER / cuBLAS plumbing of the CUDA linear-algebra kernels
// (kernels/cuda/solve.cu, kernels/cuda/decompose.cu): status checks, one
// cuSOLVER handle per device bound to its stream (cuBLAS's: blas_handle,
// blas.cuh), scratch device memory, the batch
// geometry of a tensor's matrices (broadcast to a batch shape) with the
// kernels that gather them into a dense buffer and scatter them back, the
// info codes copied to the host, and the float/double routines under one
// name. Nothing here is specific to one op.
#include <cublas_v2.h>
#include <cusolverDn.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <vector>

#include "common/linalg_errors.h"
#include "cuda/blas.cuh"
#include "cuda/cuda_common.cuh"
#include "dynagrad/error.h"

namespace dg::cuda::lapack {

using linalg_errors::batch_element;
using linalg_errors::where;

inline void check_cublas(cublasStatus_t s, const char* op, const char* what) {
  DG_CHECK(s == CUBLAS_STATUS_SUCCESS, op, ": ", what, " failed (cuBLAS status ", static_cast<int>(s), ")");
}
inline void check_cusolver(cusolverStatus_t s, const char* op, const char* what) {
  DG_CHECK(s == CUSOLVER_STATUS_SUCCESS, op, ": ", what, " failed (cuSOLVER status ", static_cast<int>(s), ")");
}

// A matrix dimension as the int cuSOLVER takes.
inline int narrow(const char* op, int64_t v) {
  DG_CHECK(v >= 0 && v <= INT32_MAX, op, ": a matrix dimension of ", v, " is beyond cuSOLVER's 32-bit limit");
  return static_cast<int>(v);
}

constexpr int kMaxDevices = 64;

// One cuSOLVER handle per device (made once), bound to the device's stream.
inline cusolverDnHandle_t solver_handle(const char* op, int device) {
  static std::array<cusolverDnHandle_t, kMaxDevices> handles{};
  static std::array<std::once_flag, kMaxDevices> made;
  DG_CHECK(device >= 0 && device < kMaxDevices, op, ": device index ", device, " out of range");
  std::call_once(made[device], [&] {
    DeviceGuard g(device);
    check_cusolver(cusolverDnCreate(&handles[device]), op, "cusolverDnCreate");
  });
  check_cusolver(cusolverDnSetStream(handles[device], stream(device)), op, "cusolverDnSetStream");
  return handles[device];
}

// Device memory for the scratch buffers (dynagrad's caching allocator),
// freed on scope exit. Work queued on the device's one stream before the
// free still sees it: the cache hands a block out again only on that stream.
class Buffer {
 public:
  Buffer(size_t nbytes, int device) : n_(std::max<size_t>(nbytes, 16)), device_(device) {
    p_ = dg::cuda::allocate(n_, device_);
  }
  ~Buffer() { dg::cuda::deallocate(p_, n_, device_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  template <typename T>
  T* as() const {
    return static_cast<T*>(p_);
  }

 private:
  void* p_;
  size_t n_;
  int device_;
};

// The info codes back on the host.
inline std::vector<int> infos(const char* op, const int* dinfo, int64_t count, cudaStream_t s) {
  std::vector<int> host(count);
  check(cudaMemcpyAsync(host.data(), dinfo, count * sizeof(int), cudaMemcpyDeviceToHost, s), op, "cudaMemcpyAsync");
  check(cudaStreamSynchronize(s), op, "cudaStreamSynchronize");
  return host;
}

// ---- the batch of matrices: geometry, gathers and scatters ---------------------------

constexpr int kMaxBatchDims = 16;

// The geometry of a tensor's matrices (..., rows, cols) over a batch shape
// its batch dims broadcast to, passed by value to the gather/scatter kernels.
struct Geo {
  int nb = 0;
  int64_t bsize[kMaxBatchDims] = {};
  int64_t bstride[kMaxBatchDims] = {};
  int64_t rows = 0, cols = 0, sr = 0, sc = 0;
  int64_t count = 1;
};

inline Geo geo_of(const char* op, const TensorBase& t, const std::vector<int64_t>& batch) {
  Geo g;
  DG_CHECK(batch.size() <= static_cast<size_t>(kMaxBatchDims), op, ": at most ", kMaxBatchDims,
           " batch dims are supported on CUDA, got ", batch.size());
  g.nb = static_cast<int>(batch.size());
  const int64_t d = t.dim();
  for (int k = 0; k < g.nb; ++k) {
    g.bsize[k] = batch[k];
    g.count *= batch[k];
  }
  for (int64_t k = 0; k < d - 2; ++k) {
    const int64_t j = g.nb - (d - 2) + k;
    if (t.size(k) != 1) g.bstride[j] = t.stride(k);
  }
  g.rows = t.size(d - 2);
  g.cols = t.size(d - 1);
  g.sr = t.stride(d - 2);
  g.sc = t.stride(d - 1);
  return g;
}

// The batch dims of a tensor (..., r, c).
inline std::vector<int64_t> batch_shape(const TensorBase& t) {
  return std::vector<int64_t>(t.sizes().begin(), t.sizes().end() - 2);
}

// The geometry of A's own batch (no broadcasting).
inline Geo geo_of(const char* op, const TensorBase& t) { return geo_of(op, t, batch_shape(t)); }

__device__ inline int64_t batch_offset(const Geo& g, int64_t b) {
  int64_t off = 0;
  for (int k = g.nb - 1; k >= 0; --k) {
    off += (b % g.bsize[k]) * g.bstride[k];
    b /= g.bsize[k];
  }
  return off;
}

// dense[b * per_matrix + ...] (rows x cols, column-major when col_major, else
// row-major) <- the strided matrix b of src; transpose gathers its transpose
// (cols x rows).
template <typename T>
__global__ void gather_kernel(T* dense, const T* src, Geo g, bool col_major, bool transpose, int64_t per_matrix) {
  const int64_t per = g.rows * g.cols;
  DG_GRID_STRIDE(idx, g.count * per) {
    const int64_t b = idx / per, e = idx % per;
    // (r, c) of the dense matrix, whose shape is (R, C).
    const int64_t R = transpose ? g.cols : g.rows, C = transpose ? g.rows : g.cols;
    const int64_t r = col_major ? e % R : e / C, c = col_major ? e / R : e % C;
    const int64_t sr = transpose ? g.sc : g.sr, sc = transpose ? g.sr : g.sc;
    dense[b * per_matrix + e] = src[batch_offset(g, b) + r * sr + c * sc];
  }
}

// The strided matrix b of dst (rows x cols) <- dense[b] (column-major with
// leading dimension ld and ld * cols per matrix, or row-major rows x cols);
// transpose reads dense as the transpose.
template <typename T>
__global__ void scatter_kernel(T* dst, const T* dense, Geo g, bool col_major, bool transpose, int64_t ld,
                               int64_t per_matrix) {
  const int64_t per = g.rows * g.cols;
  DG_GRID_STRIDE(idx, g.count * per) {
    const int64_t b = idx / per, e = idx % per;
    const int64_t r = e / g.cols, c = e % g.cols;
    const int64_t rr = transpose ? c : r, cc = transpose ? r : c;
    const int64_t src = col_major ? cc * ld + rr : rr * ld + cc;
    dst[batch_offset(g, b) + r * g.sr + c * g.sc] = dense[b * per_matrix + src];
  }
}

// The matrices of src (geometry g) into dense, per_matrix elements apart (0:
// packed, rows * cols apart).
template <typename T>
void gather(const char* op, T* dense, const TensorBase& src, const Geo& g, bool col_major, bool transpose = false,
            int64_t per_matrix = 0) {
  const int64_t n = g.count * g.rows * g.cols;
  if (n == 0) return;
  gather_kernel<T><<<grid_for(n), kBlock, 0, stream_of(src)>>>(dense, src.data_ptr<T>(), g, col_major, transpose,
                                                               per_matrix ? per_matrix : g.rows * g.cols);
  check_launch(op);
}

template <typename T>
void scatter(const char* op, const TensorBase& dst, const T* dense, const Geo& g, bool col_major, bool transpose,
             int64_t ld, int64_t per_matrix) {
  const int64_t n = g.count * g.rows * g.cols;
  if (n == 0) return;
  scatter_kernel<T>
      <<<grid_for(n), kBlock, 0, stream_of(dst)>>>(dst.data_ptr<T>(), dense, g, col_major, transpose, ld, per_matrix);
  check_launch(op);
}

// ---- cuBLAS / cuSOLVER for float and double ------------------------------------------

inline cublasStatus_t getrf_batched(cublasHandle_t h, int n, float* const a[], int lda, int* p, int* info, int batch) {
  return cublasSgetrfBatched(h, n, a, lda, p, info, batch);
}
inline cublasStatus_t getrf_batched(cublasHandle_t h, int n, double* const a[], int lda, int* p, int* info, int batch) {
  return cublasDgetrfBatched(h, n, a, lda, p, info, batch);
}
inline cublasStatus_t getri_batched(cublasHandle_t h, int n, const float* const a[], int lda, const int* p,
                                    float* const c[], int ldc, int* info, int batch) {
  return cublasSgetriBatched(h, n, a, lda, p, c, ldc, info, batch);
}
inline cublasStatus_t getri_batched(cublasHandle_t h, int n, const double* const a[], int lda, const int* p,
                                    double* const c[], int ldc, int* info, int batch) {
  return cublasDgetriBatched(h, n, a, lda, p, c, ldc, info, batch);
}
inline cublasStatus_t getrs_batched(cublasHandle_t h, cublasOperation_t t, int n, int nrhs, const float* const a[],
                                    int lda, const int* p, float* const b[], int ldb, int* info, int batch) {
  return cublasSgetrsBatched(h, t, n, nrhs, a, lda, p, b, ldb, info, batch);
}
inline cublasStatus_t getrs_batched(cublasHandle_t h, cublasOperation_t t, int n, int nrhs, const double* const a[],
                                    int lda, const int* p, double* const b[], int ldb, int* info, int batch) {
  return cublasDgetrsBatched(h, t, n, nrhs, a, lda, p, b, ldb, info, batch);
}
inline cublasStatus_t trsm_batched(cublasHandle_t h, cublasSideMode_t side, cublasFillMode_t uplo, cublasOperation_t t,
                                   cublasDiagType_t diag, int m, int n, const float* alpha, const float* const a[],
                                   int lda, float* const b[], int ldb, int batch) {
  return cublasStrsmBatched(h, side, uplo, t, diag, m, n, alpha, a, lda, b, ldb, batch);
}
inline cublasStatus_t trsm_batched(cublasHandle_t h, cublasSideMode_t side, cublasFillMode_t uplo, cublasOperation_t t,
                                   cublasDiagType_t diag, int m, int n, const double* alpha, const double* const a[],
                                   int lda, double* const b[], int ldb, int batch) {
  return cublasDtrsmBatched(h, side, uplo, t, diag, m, n, alpha, a, lda, b, ldb, batch);
}
// Left, upper, no transpose, non-unit: B <- A⁻¹ B.
inline cublasStatus_t trsm(cublasHandle_t h, int m, int n, const float* alpha, const float* a, int lda, float* b,
                           int ldb) {
  return cublasStrsm(h, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, CUBLAS_DIAG_NON_UNIT, m, n, alpha, a,
                     lda, b, ldb);
}
inline cublasStatus_t trsm(cublasHandle_t h, int m, int n, const double* alpha, const double* a, int lda, double* b,
                           int ldb) {
  return cublasDtrsm(h, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, CUBLAS_DIAG_NON_UNIT, m, n, alpha, a,
                     lda, b, ldb);
}
inline cusolverStatus_t potrf_batched(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, float* a[], int lda,
                                      int* info, int batch) {
  return cusolverDnSpotrfBatched(h, uplo, n, a, lda, info, batch);
}
inline cusolverStatus_t potrf_batched(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, double* a[], int lda,
                                      int* info, int batch) {
  return cusolverDnDpotrfBatched(h, uplo, n, a, lda, info, batch);
}
inline cusolverStatus_t getrf_size(cusolverDnHandle_t h, int m, int n, float* a, int lda, int* lwork) {
  return cusolverDnSgetrf_bufferSize(h, m, n, a, lda, lwork);
}
inline cusolverStatus_t getrf_size(cusolverDnHandle_t h, int m, int n, double* a, int lda, int* lwork) {
  return cusolverDnDgetrf_bufferSize(h, m, n, a, lda, lwork);
}
inline cusolverStatus_t getrf(cusolverDnHandle_t h, int m, int n, float* a, int lda, float* work, int* ipiv,
                              int* info) {
  return cusolverDnSgetrf(h, m, n, a, lda, work, ipiv, info);
}
inline cusolverStatus_t getrf(cusolverDnHandle_t h, int m, int n, double* a, int lda, double* work, int* ipiv,
                              int* info) {
  return cusolverDnDgetrf(h, m, n, a, lda, work, ipiv, info);
}
inline cusolverStatus_t geqrf_size(cusolverDnHandle_t h, int m, int n, float* a, int lda, int* lwork) {
  return cusolverDnSgeqrf_bufferSize(h, m, n, a, lda, lwork);
}
inline cusolverStatus_t geqrf_size(cusolverDnHandle_t h, int m, int n, double* a, int lda, int* lwork) {
  return cusolverDnDgeqrf_bufferSize(h, m, n, a, lda, lwork);
}
inline cusolverStatus_t geqrf(cusolverDnHandle_t h, int m, int n, float* a, int lda, float* tau, float* work, int lwork,
                              int* info) {
  return cusolverDnSgeqrf(h, m, n, a, lda, tau, work, lwork, info);
}
inline cusolverStatus_t geqrf(cusolverDnHandle_t h, int m, int n, double* a, int lda, double* tau, double* work,
                              int lwork, int* info) {
  return cusolverDnDgeqrf(h, m, n, a, lda, tau, work, lwork, info);
}
// Left, transposed: C <- Qᵀ C.
inline cusolverStatus_t ormqr_size(cusolverDnHandle_t h, int m, int n, int k, const float* a, int lda, const float* tau,
                                   const float* c, int ldc, int* lwork) {
  return cusolverDnSormqr_bufferSize(h, CUBLAS_SIDE_LEFT, CUBLAS_OP_T, m, n, k, a, lda, tau, c, ldc, lwork);
}
inline cusolverStatus_t ormqr_size(cusolverDnHandle_t h, int m, int n, int k, const double* a, int lda,
                                   const double* tau, const double* c, int ldc, int* lwork) {
  return cusolverDnDormqr_bufferSize(h, CUBLAS_SIDE_LEFT, CUBLAS_OP_T, m, n, k, a, lda, tau, c, ldc, lwork);
}
inline cusolverStatus_t ormqr(cusolverDnHandle_t h, int m, int n, int k, const float* a, int lda, const float* tau,
                              float* c, int ldc, float* work, int lwork, int* info) {
  return cusolverDnSormqr(h, CUBLAS_SIDE_LEFT, CUBLAS_OP_T, m, n, k, a, lda, tau, c, ldc, work, lwork, info);
}
inline cusolverStatus_t ormqr(cusolverDnHandle_t h, int m, int n, int k, const double* a, int lda, const double* tau,
                              double* c, int ldc, double* work, int lwork, int* info) {
  return cusolverDnDormqr(h, CUBLAS_SIDE_LEFT, CUBLAS_OP_T, m, n, k, a, lda, tau, c, ldc, work, lwork, info);
}
inline cusolverStatus_t orgqr_size(cusolverDnHandle_t h, int m, int n, int k, const float* a, int lda, const float* tau,
                                   int* lwork) {
  return cusolverDnSorgqr_bufferSize(h, m, n, k, a, lda, tau, lwork);
}
inline cusolverStatus_t orgqr_size(cusolverDnHandle_t h, int m, int n, int k, const double* a, int lda,
                                   const double* tau, int* lwork) {
  return cusolverDnDorgqr_bufferSize(h, m, n, k, a, lda, tau, lwork);
}
inline cusolverStatus_t orgqr(cusolverDnHandle_t h, int m, int n, int k, float* a, int lda, const float* tau,
                              float* work, int lwork, int* info) {
  return cusolverDnSorgqr(h, m, n, k, a, lda, tau, work, lwork, info);
}
inline cusolverStatus_t orgqr(cusolverDnHandle_t h, int m, int n, int k, double* a, int lda, const double* tau,
                              double* work, int lwork, int* info) {
  return cusolverDnDorgqr(h, m, n, k, a, lda, tau, work, lwork, info);
}
// Eigenvalues and eigenvectors (CUSOLVER_EIG_MODE_VECTOR).
inline cusolverStatus_t syevd_size(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, const float* a, int lda,
                                   const float* w, int* lwork) {
  return cusolverDnSsyevd_bufferSize(h, CUSOLVER_EIG_MODE_VECTOR, uplo, n, a, lda, w, lwork);
}
inline cusolverStatus_t syevd_size(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, const double* a, int lda,
                                   const double* w, int* lwork) {
  return cusolverDnDsyevd_bufferSize(h, CUSOLVER_EIG_MODE_VECTOR, uplo, n, a, lda, w, lwork);
}
inline cusolverStatus_t syevd(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, float* a, int lda, float* w,
                              float* work, int lwork, int* info) {
  return cusolverDnSsyevd(h, CUSOLVER_EIG_MODE_VECTOR, uplo, n, a, lda, w, work, lwork, info);
}
inline cusolverStatus_t syevd(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, double* a, int lda, double* w,
                              double* work, int lwork, int* info) {
  return cusolverDnDsyevd(h, CUSOLVER_EIG_MODE_VECTOR, uplo, n, a, lda, w, work, lwork, info);
}
// The SVD (needs m >= n); the float*/double* argument picks the type.
inline cusolverStatus_t gesvd_size(cusolverDnHandle_t h, int m, int n, float*, int* lwork) {
  return cusolverDnSgesvd_bufferSize(h, m, n, lwork);
}
inline cusolverStatus_t gesvd_size(cusolverDnHandle_t h, int m, int n, double*, int* lwork) {
  return cusolverDnDgesvd_bufferSize(h, m, n, lwork);
}
inline cusolverStatus_t gesvd(cusolverDnHandle_t h, signed char jobu, signed char jobvt, int m, int n, float* a,
                              int lda, float* s, float* u, int ldu, float* vt, int ldvt, float* work, int lwork,
                              int* info) {
  return cusolverDnSgesvd(h, jobu, jobvt, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, nullptr, info);
}
inline cusolverStatus_t gesvd(cusolverDnHandle_t h, signed char jobu, signed char jobvt, int m, int n, double* a,
                              int lda, double* s, double* u, int ldu, double* vt, int ldvt, double* work, int lwork,
                              int* info) {
  return cusolverDnDgesvd(h, jobu, jobvt, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, nullptr, info);
}

}  // namespace dg::cuda::lapack
