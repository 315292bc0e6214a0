// CUDA kernels of the solving half of linear algebra on cuBLAS's batched LU
// (getrfBatched, getrsBatched, getriBatched, trsmBatched) and cuSOLVER
// (potrfBatched, getrf, geqrf + ormqr for least squares). The batch of
// (possibly strided, broadcast) matrices is first gathered into one dense
// buffer; LAPACK-style info codes are copied back to the host and become a
// dg::Error naming the op and the batch element, as on the CPU.
//
// As on the CPU (kernels/cpu/solve.cpp), a row-major square matrix read as
// column-major is its transpose: inv, det, Cholesky and solve hand cuBLAS /
// cuSOLVER the row-major copy and use inv(Aᵀ) = inv(A)ᵀ, det(Aᵀ) = det(A),
// Aᵀ = Uᵀ U, and Aᵀᵀ X = B (getrs with op T).
#include <cublas_v2.h>
#include <cusolverDn.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "cuda/cuda_common.cuh"
#include "dynagrad/error.h"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

constexpr int kMaxBatchDims = 16;

void check_cublas(cublasStatus_t s, const char* op, const char* what) {
  DG_CHECK(s == CUBLAS_STATUS_SUCCESS, op, ": ", what, " failed (cuBLAS status ", static_cast<int>(s), ")");
}
void check_cusolver(cusolverStatus_t s, const char* op, const char* what) {
  DG_CHECK(s == CUSOLVER_STATUS_SUCCESS, op, ": ", what, " failed (cuSOLVER status ", static_cast<int>(s), ")");
}

constexpr int kMaxDevices = 64;

cublasHandle_t blas_handle(const char* op, int device) {
  static std::array<cublasHandle_t, kMaxDevices> handles{};
  DG_CHECK(device >= 0 && device < kMaxDevices, op, ": device index ", device, " out of range");
  if (!handles[device]) check_cublas(cublasCreate(&handles[device]), op, "cublasCreate");
  check_cublas(cublasSetStream(handles[device], stream(device)), op, "cublasSetStream");
  return handles[device];
}

cusolverDnHandle_t solver_handle(const char* op, int device) {
  static std::array<cusolverDnHandle_t, kMaxDevices> handles{};
  DG_CHECK(device >= 0 && device < kMaxDevices, op, ": device index ", device, " out of range");
  if (!handles[device]) check_cusolver(cusolverDnCreate(&handles[device]), op, "cusolverDnCreate");
  check_cusolver(cusolverDnSetStream(handles[device], stream(device)), op, "cusolverDnSetStream");
  return handles[device];
}

// Device memory for the scratch buffers, freed on scope exit.
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

 public:
};

// The geometry of a tensor's matrices (..., rows, cols) over a batch shape
// its batch dims broadcast to, passed by value to the gather/scatter kernels.
struct Geo {
  int nb = 0;
  int64_t bsize[kMaxBatchDims] = {};
  int64_t bstride[kMaxBatchDims] = {};
  int64_t rows = 0, cols = 0, sr = 0, sc = 0;
  int64_t count = 1;
};

Geo geo_of(const char* op, const TensorBase& t, const std::vector<int64_t>& batch) {
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

std::vector<int64_t> batch_shape(const TensorBase& t) {
  return std::vector<int64_t>(t.sizes().begin(), t.sizes().end() - 2);
}

__device__ int64_t batch_offset(const Geo& g, int64_t b) {
  int64_t off = 0;
  for (int k = g.nb - 1; k >= 0; --k) {
    off += (b % g.bsize[k]) * g.bstride[k];
    b /= g.bsize[k];
  }
  return off;
}

// dense[b] (rows x cols, column-major when col_major, else row-major) <- the
// strided matrix b of src; transpose gathers its transpose (cols x rows).
template <typename T>
__global__ void gather_kernel(T* dense, const T* src, Geo g, bool col_major, bool transpose) {
  const int64_t per = g.rows * g.cols;
  DG_GRID_STRIDE(idx, g.count * per) {
    const int64_t b = idx / per, e = idx % per;
    // (r, c) of the dense matrix, whose shape is (R, C).
    const int64_t R = transpose ? g.cols : g.rows, C = transpose ? g.rows : g.cols;
    const int64_t r = col_major ? e % R : e / C, c = col_major ? e / R : e % C;
    const int64_t sr = transpose ? g.sc : g.sr, sc = transpose ? g.sr : g.sc;
    dense[idx] = src[batch_offset(g, b) + r * sr + c * sc];
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

template <typename T>
void gather(const char* op, T* dense, const TensorBase& src, const Geo& g, bool col_major, bool transpose = false) {
  const int64_t n = g.count * g.rows * g.cols;
  if (n == 0) return;
  gather_kernel<T><<<grid_for(n), kBlock, 0, stream_of(src)>>>(dense, src.data_ptr<T>(), g, col_major, transpose);
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

// The device array of pointers base + i * stride, i in [0, count).
template <typename T>
void pointer_array(const char* op, T** dptrs, T* base, int64_t stride, int64_t count, cudaStream_t s) {
  std::vector<T*> host(count);
  for (int64_t i = 0; i < count; ++i) host[i] = base + i * stride;
  check(cudaMemcpyAsync(dptrs, host.data(), count * sizeof(T*), cudaMemcpyHostToDevice, s), op, "cudaMemcpyAsync");
  check(cudaStreamSynchronize(s), op, "cudaStreamSynchronize");
}

// The info codes back on the host.
std::vector<int> infos(const char* op, const int* dinfo, int64_t count, cudaStream_t s) {
  std::vector<int> host(count);
  check(cudaMemcpyAsync(host.data(), dinfo, count * sizeof(int), cudaMemcpyDeviceToHost, s), op, "cudaMemcpyAsync");
  check(cudaStreamSynchronize(s), op, "cudaStreamSynchronize");
  return host;
}

std::string where(const char* op, int64_t count, int64_t i) {
  std::string s = std::string(op) + ": ";
  if (count > 1) s += "(Batch element " + std::to_string(i) + "): ";
  return s;
}

// ---- cuBLAS / cuSOLVER for float and double ----
cublasStatus_t getrf_batched(cublasHandle_t h, int n, float* const a[], int lda, int* p, int* info, int batch) {
  return cublasSgetrfBatched(h, n, a, lda, p, info, batch);
}
cublasStatus_t getrf_batched(cublasHandle_t h, int n, double* const a[], int lda, int* p, int* info, int batch) {
  return cublasDgetrfBatched(h, n, a, lda, p, info, batch);
}
cublasStatus_t getri_batched(cublasHandle_t h, int n, const float* const a[], int lda, const int* p, float* const c[],
                             int ldc, int* info, int batch) {
  return cublasSgetriBatched(h, n, a, lda, p, c, ldc, info, batch);
}
cublasStatus_t getri_batched(cublasHandle_t h, int n, const double* const a[], int lda, const int* p, double* const c[],
                             int ldc, int* info, int batch) {
  return cublasDgetriBatched(h, n, a, lda, p, c, ldc, info, batch);
}
cublasStatus_t getrs_batched(cublasHandle_t h, cublasOperation_t t, int n, int nrhs, const float* const a[], int lda,
                             const int* p, float* const b[], int ldb, int* info, int batch) {
  return cublasSgetrsBatched(h, t, n, nrhs, a, lda, p, b, ldb, info, batch);
}
cublasStatus_t getrs_batched(cublasHandle_t h, cublasOperation_t t, int n, int nrhs, const double* const a[], int lda,
                             const int* p, double* const b[], int ldb, int* info, int batch) {
  return cublasDgetrsBatched(h, t, n, nrhs, a, lda, p, b, ldb, info, batch);
}
cublasStatus_t trsm_batched(cublasHandle_t h, cublasSideMode_t side, cublasFillMode_t uplo, cublasOperation_t t,
                            cublasDiagType_t diag, int m, int n, const float* alpha, const float* const a[], int lda,
                            float* const b[], int ldb, int batch) {
  return cublasStrsmBatched(h, side, uplo, t, diag, m, n, alpha, a, lda, b, ldb, batch);
}
cublasStatus_t trsm_batched(cublasHandle_t h, cublasSideMode_t side, cublasFillMode_t uplo, cublasOperation_t t,
                            cublasDiagType_t diag, int m, int n, const double* alpha, const double* const a[], int lda,
                            double* const b[], int ldb, int batch) {
  return cublasDtrsmBatched(h, side, uplo, t, diag, m, n, alpha, a, lda, b, ldb, batch);
}
cusolverStatus_t potrf_batched(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, float* a[], int lda, int* info,
                               int batch) {
  return cusolverDnSpotrfBatched(h, uplo, n, a, lda, info, batch);
}
cusolverStatus_t potrf_batched(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, double* a[], int lda, int* info,
                               int batch) {
  return cusolverDnDpotrfBatched(h, uplo, n, a, lda, info, batch);
}
cusolverStatus_t getrf_size(cusolverDnHandle_t h, int m, int n, float* a, int lda, int* lwork) {
  return cusolverDnSgetrf_bufferSize(h, m, n, a, lda, lwork);
}
cusolverStatus_t getrf_size(cusolverDnHandle_t h, int m, int n, double* a, int lda, int* lwork) {
  return cusolverDnDgetrf_bufferSize(h, m, n, a, lda, lwork);
}
cusolverStatus_t getrf(cusolverDnHandle_t h, int m, int n, float* a, int lda, float* work, int* ipiv, int* info) {
  return cusolverDnSgetrf(h, m, n, a, lda, work, ipiv, info);
}
cusolverStatus_t getrf(cusolverDnHandle_t h, int m, int n, double* a, int lda, double* work, int* ipiv, int* info) {
  return cusolverDnDgetrf(h, m, n, a, lda, work, ipiv, info);
}
cusolverStatus_t geqrf_size(cusolverDnHandle_t h, int m, int n, float* a, int lda, int* lwork) {
  return cusolverDnSgeqrf_bufferSize(h, m, n, a, lda, lwork);
}
cusolverStatus_t geqrf_size(cusolverDnHandle_t h, int m, int n, double* a, int lda, int* lwork) {
  return cusolverDnDgeqrf_bufferSize(h, m, n, a, lda, lwork);
}
cusolverStatus_t geqrf(cusolverDnHandle_t h, int m, int n, float* a, int lda, float* tau, float* work, int lwork,
                       int* info) {
  return cusolverDnSgeqrf(h, m, n, a, lda, tau, work, lwork, info);
}
cusolverStatus_t geqrf(cusolverDnHandle_t h, int m, int n, double* a, int lda, double* tau, double* work, int lwork,
                       int* info) {
  return cusolverDnDgeqrf(h, m, n, a, lda, tau, work, lwork, info);
}
cusolverStatus_t ormqr_size(cusolverDnHandle_t h, int m, int n, int k, const float* a, int lda, const float* tau,
                            const float* c, int ldc, int* lwork) {
  return cusolverDnSormqr_bufferSize(h, CUBLAS_SIDE_LEFT, CUBLAS_OP_T, m, n, k, a, lda, tau, c, ldc, lwork);
}
cusolverStatus_t ormqr_size(cusolverDnHandle_t h, int m, int n, int k, const double* a, int lda, const double* tau,
                            const double* c, int ldc, int* lwork) {
  return cusolverDnDormqr_bufferSize(h, CUBLAS_SIDE_LEFT, CUBLAS_OP_T, m, n, k, a, lda, tau, c, ldc, lwork);
}
cusolverStatus_t ormqr(cusolverDnHandle_t h, int m, int n, int k, const float* a, int lda, const float* tau, float* c,
                       int ldc, float* work, int lwork, int* info) {
  return cusolverDnSormqr(h, CUBLAS_SIDE_LEFT, CUBLAS_OP_T, m, n, k, a, lda, tau, c, ldc, work, lwork, info);
}
cusolverStatus_t ormqr(cusolverDnHandle_t h, int m, int n, int k, const double* a, int lda, const double* tau,
                       double* c, int ldc, double* work, int lwork, int* info) {
  return cusolverDnDormqr(h, CUBLAS_SIDE_LEFT, CUBLAS_OP_T, m, n, k, a, lda, tau, c, ldc, work, lwork, info);
}
cublasStatus_t trsm(cublasHandle_t h, int m, int n, const float* alpha, const float* a, int lda, float* b, int ldb) {
  return cublasStrsm(h, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, CUBLAS_DIAG_NON_UNIT, m, n, alpha, a,
                     lda, b, ldb);
}
cublasStatus_t trsm(cublasHandle_t h, int m, int n, const double* alpha, const double* a, int lda, double* b, int ldb) {
  return cublasDtrsm(h, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, CUBLAS_DIAG_NON_UNIT, m, n, alpha, a,
                     lda, b, ldb);
}

// Batched LU (cuBLAS) of the row-major copies of A's n x n matrices (the LU of
// their transposes) into lu; pivots (count x n) and infos (count) on the device.
template <typename T>
void lu_of_transposes(const char* op, const TensorBase& A, const Geo& g, T* lu, T** dptrs, int* pivots, int* info) {
  const int64_t n = g.rows;
  gather<T>(op, lu, A, g, /*col_major=*/false);
  const cudaStream_t s = stream_of(A);
  pointer_array<T>(op, dptrs, lu, n * n, g.count, s);
  check_cublas(getrf_batched(blas_handle(op, A.device().index), n, dptrs, n, pivots, info, g.count), op,
               "getrfBatched");
}

// det / slogdet from the batched LU: out[b] = det, or (sign, log|det|) at
// out[2b], out[2b + 1].
template <typename T>
__global__ void det_kernel(T* out, const T* lu, const int* pivots, int64_t n, int64_t count, bool log_form) {
  DG_GRID_STRIDE(b, count) {
    const T* m = lu + b * n * n;
    T sign = 1, value = 1, logabs = 0;
    for (int64_t k = 0; k < n; ++k) {
      const T u = m[k * n + k];
      if (pivots[b * n + k] != k + 1) sign = -sign;
      if (log_form) {
        if (u < 0) sign = -sign;
        logabs += log(fabs(u));
      } else {
        value *= u;
      }
    }
    if (log_form) {
      if (isinf(logabs) && logabs < 0) sign = 0;
      out[2 * b] = sign;
      out[2 * b + 1] = logabs;
    } else {
      out[b] = sign * value;
    }
  }
}

// out (rows x cols, strided) <- the row-major dense n x n factor with its
// strict upper triangle zeroed, or its transpose when upper.
template <typename T>
__global__ void cholesky_out_kernel(T* dst, const T* dense, Geo g, bool upper) {
  const int64_t n = g.rows, per = n * n;
  DG_GRID_STRIDE(idx, g.count * per) {
    const int64_t b = idx / per, e = idx % per;
    const int64_t r = e / n, c = e % n;
    const int64_t rr = upper ? c : r, cc = upper ? r : c;  // L(rr, cc)
    dst[batch_offset(g, b) + r * g.sr + c * g.sc] = cc <= rr ? dense[b * per + rr * n + cc] : T(0);
  }
}

// The packed LU output: LU (m x n, column-major dense) then the pivots.
template <typename T>
__global__ void lu_packed_kernel(T* dst, const T* dense, const int* pivots, Geo g, int64_t m, int64_t n) {
  const int64_t per = m * (n + 1), mn = m < n ? m : n;
  DG_GRID_STRIDE(idx, g.count * per) {
    const int64_t b = idx / per, e = idx % per;
    const int64_t r = e / (n + 1), c = e % (n + 1);
    T v;
    if (c < n) {
      v = dense[b * m * n + c * m + r];
    } else {
      v = r < mn ? T(pivots[b * mn + r]) : T(0);
    }
    dst[batch_offset(g, b) + r * g.sr + c * g.sc] = v;
  }
}

}  // namespace

template <typename T>
void linalg_inv(const TensorBase& out, const TensorBase& A) {
  const char* op = "linalg.inv";
  DeviceGuard guard(A);
  const Geo g = geo_of(op, A, batch_shape(A)), o = geo_of(op, out, batch_shape(out));
  const int64_t n = g.rows, count = g.count;
  if (n == 0 || count == 0) return;
  const int dev = A.device().index;
  const cudaStream_t s = stream_of(A);
  Buffer lu(count * n * n * sizeof(T), dev), inv(count * n * n * sizeof(T), dev);
  Buffer ptrs(2 * count * sizeof(T*), dev), piv(count * n * sizeof(int), dev), info(count * sizeof(int), dev);
  T** dptrs = ptrs.as<T*>();
  lu_of_transposes<T>(op, A, g, lu.as<T>(), dptrs, piv.as<int>(), info.as<int>());
  const std::vector<int> codes = infos(op, info.as<int>(), count, s);
  for (int64_t i = 0; i < count; ++i)
    DG_CHECK(codes[i] == 0, where(op, count, i), "The diagonal element ", codes[i],
             " is zero, the inversion could not be completed because the input matrix is singular.");
  pointer_array<T>(op, dptrs + count, inv.as<T>(), n * n, count, s);
  check_cublas(getri_batched(blas_handle(op, dev), n, dptrs, n, piv.as<int>(), dptrs + count, n, info.as<int>(), count),
               op, "getriBatched");
  // inv(Aᵀ) in column-major is inv(A) in row-major.
  scatter<T>(op, out, inv.as<T>(), o, /*col_major=*/false, /*transpose=*/false, n, n * n);
  check(cudaStreamSynchronize(s), op, "cudaStreamSynchronize");
}

template <typename T>
void det_impl(const char* op, const TensorBase& out, const TensorBase& A, bool log_form) {
  DeviceGuard guard(A);
  const Geo g = geo_of(op, A, batch_shape(A));
  const int64_t n = g.rows, count = g.count;
  if (count == 0) return;
  const int dev = A.device().index;
  const cudaStream_t s = stream_of(A);
  Buffer lu(std::max<int64_t>(count * n * n, 1) * sizeof(T), dev), ptrs(count * sizeof(T*), dev);
  Buffer piv(std::max<int64_t>(count * n, 1) * sizeof(int), dev), info(count * sizeof(int), dev);
  if (n > 0) lu_of_transposes<T>(op, A, g, lu.as<T>(), ptrs.as<T*>(), piv.as<int>(), info.as<int>());
  // out is the freshly allocated (contiguous) output of the op.
  det_kernel<T><<<grid_for(count), kBlock, 0, s>>>(out.data_ptr<T>(), lu.as<T>(), piv.as<int>(), n, count, log_form);
  check_launch(op);
  check(cudaStreamSynchronize(s), op, "cudaStreamSynchronize");
}

template <typename T>
void linalg_det(const TensorBase& out, const TensorBase& A) {
  det_impl<T>("linalg.det", out, A, false);
}

template <typename T>
void linalg_slogdet(const TensorBase& out, const TensorBase& A) {
  det_impl<T>("linalg.slogdet", out, A, true);
}

template <typename T>
void linalg_cholesky(const TensorBase& out, const TensorBase& self, bool upper) {
  const char* op = "linalg.cholesky";
  DeviceGuard guard(self);
  const Geo g = geo_of(op, self, batch_shape(self)), o = geo_of(op, out, batch_shape(out));
  const int64_t n = g.rows, count = g.count;
  if (n == 0 || count == 0) return;
  const int dev = self.device().index;
  const cudaStream_t s = stream_of(self);
  Buffer dense(count * n * n * sizeof(T), dev), ptrs(count * sizeof(T*), dev), info(count * sizeof(int), dev);
  gather<T>(op, dense.as<T>(), self, g, /*col_major=*/false);
  pointer_array<T>(op, ptrs.as<T*>(), dense.as<T>(), n * n, count, s);
  // Aᵀ (the row-major copy) = Uᵀ U; U read back as row-major is L.
  check_cusolver(
      potrf_batched(solver_handle(op, dev), CUBLAS_FILL_MODE_UPPER, n, ptrs.as<T*>(), n, info.as<int>(), count), op,
      "potrfBatched");
  const std::vector<int> codes = infos(op, info.as<int>(), count, s);
  for (int64_t i = 0; i < count; ++i)
    DG_CHECK(codes[i] == 0, where(op, count, i),
             "The factorization could not be completed because the input is not positive-definite (the leading "
             "minor of order ",
             codes[i], " is not positive-definite).");
  cholesky_out_kernel<T><<<grid_for(count * n * n), kBlock, 0, s>>>(out.data_ptr<T>(), dense.as<T>(), o, upper);
  check_launch(op);
  check(cudaStreamSynchronize(s), op, "cudaStreamSynchronize");
}

template <typename T>
void linalg_solve_triangular(const TensorBase& out, const TensorBase& self, const TensorBase& B, bool upper, bool left,
                             bool unitriangular) {
  const char* op = "linalg.solve_triangular";
  DeviceGuard guard(out);
  const std::vector<int64_t> batch = batch_shape(out);
  const Geo ga = geo_of(op, self, batch), gb = geo_of(op, B, batch), o = geo_of(op, out, batch);
  const int64_t n = ga.rows, rows = gb.rows, cols = gb.cols, count = o.count;
  if (n == 0 || rows == 0 || cols == 0 || count == 0) return;
  const int dev = out.device().index;
  const cudaStream_t s = stream_of(out);
  Buffer a(count * n * n * sizeof(T), dev), x(count * rows * cols * sizeof(T), dev), ptrs(2 * count * sizeof(T*), dev);
  gather<T>(op, a.as<T>(), self, ga, /*col_major=*/true);
  gather<T>(op, x.as<T>(), B, gb, /*col_major=*/true);
  pointer_array<T>(op, ptrs.as<T*>(), a.as<T>(), n * n, count, s);
  pointer_array<T>(op, ptrs.as<T*>() + count, x.as<T>(), rows * cols, count, s);
  const T one = 1;
  // (A singular gives infinities, as PyTorch's CUDA trsm.)
  check_cublas(trsm_batched(blas_handle(op, dev), left ? CUBLAS_SIDE_LEFT : CUBLAS_SIDE_RIGHT,
                            upper ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N,
                            unitriangular ? CUBLAS_DIAG_UNIT : CUBLAS_DIAG_NON_UNIT, rows, cols, &one, ptrs.as<T*>(), n,
                            ptrs.as<T*>() + count, rows, count),
               op, "trsmBatched");
  scatter<T>(op, out, x.as<T>(), o, /*col_major=*/true, /*transpose=*/false, rows, rows * cols);
  check(cudaStreamSynchronize(s), op, "cudaStreamSynchronize");
}

template <typename T>
void linalg_solve(const TensorBase& out, const TensorBase& A, const TensorBase& B) {
  const char* op = "linalg.solve";
  DeviceGuard guard(out);
  const std::vector<int64_t> batch = batch_shape(out);
  const Geo ga = geo_of(op, A, batch), gb = geo_of(op, B, batch), o = geo_of(op, out, batch);
  const int64_t n = ga.rows, k = gb.cols, count = o.count;
  if (n == 0 || k == 0 || count == 0) return;
  const int dev = out.device().index;
  const cudaStream_t s = stream_of(out);
  Buffer lu(count * n * n * sizeof(T), dev), x(count * n * k * sizeof(T), dev), ptrs(2 * count * sizeof(T*), dev);
  Buffer piv(count * n * sizeof(int), dev), info(count * sizeof(int), dev);
  lu_of_transposes<T>(op, A, ga, lu.as<T>(), ptrs.as<T*>(), piv.as<int>(), info.as<int>());
  const std::vector<int> codes = infos(op, info.as<int>(), count, s);
  for (int64_t i = 0; i < count; ++i)
    DG_CHECK(codes[i] == 0, where(op, count, i), "The solver failed because the input matrix is singular.");
  gather<T>(op, x.as<T>(), B, gb, /*col_major=*/true);
  pointer_array<T>(op, ptrs.as<T*>() + count, x.as<T>(), n * k, count, s);
  int host_info = 0;
  check_cublas(getrs_batched(blas_handle(op, dev), CUBLAS_OP_T, n, k, ptrs.as<T*>(), n, piv.as<int>(),
                             ptrs.as<T*>() + count, n, &host_info, count),
               op, "getrsBatched");
  scatter<T>(op, out, x.as<T>(), o, /*col_major=*/true, /*transpose=*/false, n, n * k);
  check(cudaStreamSynchronize(s), op, "cudaStreamSynchronize");
}

template <typename T>
void linalg_lu_factor_packed(const TensorBase& out, const TensorBase& A) {
  const char* op = "linalg.lu_factor";
  DeviceGuard guard(A);
  const Geo g = geo_of(op, A, batch_shape(A)), o = geo_of(op, out, batch_shape(out));
  const int64_t m = g.rows, n = g.cols, mn = std::min(m, n), count = g.count;
  if (count == 0 || m == 0) return;
  const int dev = A.device().index;
  const cudaStream_t s = stream_of(A);
  Buffer dense(std::max<int64_t>(count * m * n, 1) * sizeof(T), dev);
  Buffer piv(std::max<int64_t>(count * mn, 1) * sizeof(int), dev), info(count * sizeof(int), dev);
  gather<T>(op, dense.as<T>(), A, g, /*col_major=*/true);
  if (mn > 0) {
    cusolverDnHandle_t h = solver_handle(op, dev);
    int lwork = 0;
    check_cusolver(getrf_size(h, m, n, dense.as<T>(), m, &lwork), op, "getrf_bufferSize");
    Buffer work(std::max(lwork, 1) * sizeof(T), dev);
    for (int64_t i = 0; i < count; ++i)
      check_cusolver(
          getrf(h, m, n, dense.as<T>() + i * m * n, m, work.as<T>(), piv.as<int>() + i * mn, info.as<int>() + i), op,
          "getrf");
    const std::vector<int> codes = infos(op, info.as<int>(), count, s);
    for (int64_t i = 0; i < count; ++i)
      DG_CHECK(codes[i] == 0, where(op, count, i), "U[", codes[i], ",", codes[i],
               "] is zero and using it on lu_solve would result in a division by zero.");
  }
  const int64_t total = count * m * (n + 1);
  lu_packed_kernel<T><<<grid_for(total), kBlock, 0, s>>>(out.data_ptr<T>(), dense.as<T>(), piv.as<int>(), o, m, n);
  check_launch(op);
  check(cudaStreamSynchronize(s), op, "cudaStreamSynchronize");
}

template <typename T>
void linalg_lstsq(const TensorBase& out, const TensorBase& self, const TensorBase& b, std::optional<double> rcond,
                  std::string_view driver) {
  const char* op = "linalg.lstsq";
  DeviceGuard guard(out);
  const std::vector<int64_t> batch = batch_shape(out);
  const Geo ga = geo_of(op, self, batch), gb = geo_of(op, b, batch);
  const int64_t m = ga.rows, n = ga.cols, k = gb.cols, count = ga.count;
  DG_CHECK(m >= n, op, ": only overdetermined systems (m >= n) are supported on CUDA (the gels driver), got A of ", m,
           "x", n, " matrices");
  const int dev = out.device().index;
  const cudaStream_t s = stream_of(out);
  // The output (n + 1, max(k, 1)): the solution, then a row of zeros (gels reports no rank).
  check(cudaMemsetAsync(out.data_ptr<T>(), 0, out.numel() * sizeof(T), s), op, "cudaMemsetAsync");
  if (count == 0 || n == 0 || k == 0) {
    check(cudaStreamSynchronize(s), op, "cudaStreamSynchronize");
    return;
  }
  Buffer a(count * m * n * sizeof(T), dev), x(count * m * k * sizeof(T), dev), tau(n * sizeof(T), dev);
  Buffer info(sizeof(int), dev);
  gather<T>(op, a.as<T>(), self, ga, /*col_major=*/true);
  gather<T>(op, x.as<T>(), b, gb, /*col_major=*/true);
  cusolverDnHandle_t h = solver_handle(op, dev);
  cublasHandle_t bh = blas_handle(op, dev);
  int lq = 0, lo = 0;
  check_cusolver(geqrf_size(h, m, n, a.as<T>(), m, &lq), op, "geqrf_bufferSize");
  check_cusolver(ormqr_size(h, m, k, n, a.as<T>(), m, tau.as<T>(), x.as<T>(), m, &lo), op, "ormqr_bufferSize");
  Buffer work(std::max({lq, lo, 1}) * sizeof(T), dev);
  const int lwork = std::max({lq, lo, 1});
  const T one = 1;
  for (int64_t i = 0; i < count; ++i) {
    T* ai = a.as<T>() + i * m * n;
    T* xi = x.as<T>() + i * m * k;
    // A = Q R; X = R⁻¹ (Qᵀ B)[:n].
    check_cusolver(geqrf(h, m, n, ai, m, tau.as<T>(), work.as<T>(), lwork, info.as<int>()), op, "geqrf");
    check_cusolver(ormqr(h, m, k, n, ai, m, tau.as<T>(), xi, m, work.as<T>(), lwork, info.as<int>()), op, "ormqr");
    check_cublas(trsm(bh, n, k, &one, ai, m, xi, m), op, "trsm");
  }
  // out's rows [0, n) <- the first n rows of every column-major m x k solution.
  Geo o = geo_of(op, out, batch);
  o.rows = n;
  o.cols = k;
  scatter<T>(op, out, x.as<T>(), o, /*col_major=*/true, /*transpose=*/false, m, m * k);
  check(cudaStreamSynchronize(s), op, "cudaStreamSynchronize");
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_linalg_inv;
DG_INSTANTIATE_KERNEL_cuda_linalg_det;
DG_INSTANTIATE_KERNEL_cuda_linalg_slogdet;
DG_INSTANTIATE_KERNEL_cuda_linalg_cholesky;
DG_INSTANTIATE_KERNEL_cuda_linalg_solve_triangular;
DG_INSTANTIATE_KERNEL_cuda_linalg_solve;
DG_INSTANTIATE_KERNEL_cuda_linalg_lu_factor_packed;
DG_INSTANTIATE_KERNEL_cuda_linalg_lstsq;
