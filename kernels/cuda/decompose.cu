// Decompositions on cuSOLVER: symmetric eigendecomposition (syevd), SVD
// (gesvd, on A^T when m < n) and QR (geqrf + orgqr), one matrix of the batch
// at a time on the device's stream. The routines are those LAPACK's CPU path
// uses (divide and conquer, Householder), so factors come with the same sign
// conventions as far as the algorithms allow; the Jacobi ones (syevj,
// gesvdj and their batched forms) are faster for many small matrices but
// choose their own signs. Each matrix is gathered column-major into a
// scratch buffer, factored, and scattered row-major into the packed output
// (ops.yaml says the layouts).
#include <cusolverDn.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

#include "cuda/cuda_common.cuh"
#include "dynagrad/error.h"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

// ---- cuSOLVER plumbing ----------------------------------------------------------------

void check_solver(cusolverStatus_t s, const char* op, const char* what) {
  DG_CHECK(s == CUSOLVER_STATUS_SUCCESS, op, ": cuSOLVER ", what, " failed (status ", static_cast<int>(s), ")");
}

// One handle per device, bound to the device's stream.
cusolverDnHandle_t solver(const char* op, int device) {
  constexpr int kMax = 64;
  static std::array<cusolverDnHandle_t, kMax> handles{};
  static std::array<std::once_flag, kMax> made;
  DG_CHECK(device >= 0 && device < kMax, op, ": device index ", device, " is out of range");
  std::call_once(made[device], [&] {
    DeviceGuard g(device);
    check_solver(cusolverDnCreate(&handles[device]), op, "cusolverDnCreate");
  });
  check_solver(cusolverDnSetStream(handles[device], stream(device)), op, "cusolverDnSetStream");
  return handles[device];
}

int narrow(const char* op, int64_t v) {
  DG_CHECK(v >= 0 && v <= INT32_MAX, op, ": a matrix dimension of ", v, " is beyond cuSOLVER's 32-bit limit");
  return static_cast<int>(v);
}

// The float and double routines under one name.
struct Solver {
  static cusolverStatus_t syevd_size(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, const float* a, int lda,
                                     const float* w, int* lwork) {
    return cusolverDnSsyevd_bufferSize(h, CUSOLVER_EIG_MODE_VECTOR, uplo, n, a, lda, w, lwork);
  }
  static cusolverStatus_t syevd_size(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, const double* a, int lda,
                                     const double* w, int* lwork) {
    return cusolverDnDsyevd_bufferSize(h, CUSOLVER_EIG_MODE_VECTOR, uplo, n, a, lda, w, lwork);
  }
  static cusolverStatus_t syevd(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, float* a, int lda, float* w,
                                float* work, int lwork, int* info) {
    return cusolverDnSsyevd(h, CUSOLVER_EIG_MODE_VECTOR, uplo, n, a, lda, w, work, lwork, info);
  }
  static cusolverStatus_t syevd(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, double* a, int lda, double* w,
                                double* work, int lwork, int* info) {
    return cusolverDnDsyevd(h, CUSOLVER_EIG_MODE_VECTOR, uplo, n, a, lda, w, work, lwork, info);
  }
  static cusolverStatus_t gesvd_size(cusolverDnHandle_t h, int m, int n, float*, int* lwork) {
    return cusolverDnSgesvd_bufferSize(h, m, n, lwork);
  }
  static cusolverStatus_t gesvd_size(cusolverDnHandle_t h, int m, int n, double*, int* lwork) {
    return cusolverDnDgesvd_bufferSize(h, m, n, lwork);
  }
  static cusolverStatus_t gesvd(cusolverDnHandle_t h, signed char jobu, signed char jobvt, int m, int n, float* a,
                                int lda, float* s, float* u, int ldu, float* vt, int ldvt, float* work, int lwork,
                                int* info) {
    return cusolverDnSgesvd(h, jobu, jobvt, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, nullptr, info);
  }
  static cusolverStatus_t gesvd(cusolverDnHandle_t h, signed char jobu, signed char jobvt, int m, int n, double* a,
                                int lda, double* s, double* u, int ldu, double* vt, int ldvt, double* work, int lwork,
                                int* info) {
    return cusolverDnDgesvd(h, jobu, jobvt, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, nullptr, info);
  }
  static cusolverStatus_t geqrf_size(cusolverDnHandle_t h, int m, int n, float* a, int lda, int* lwork) {
    return cusolverDnSgeqrf_bufferSize(h, m, n, a, lda, lwork);
  }
  static cusolverStatus_t geqrf_size(cusolverDnHandle_t h, int m, int n, double* a, int lda, int* lwork) {
    return cusolverDnDgeqrf_bufferSize(h, m, n, a, lda, lwork);
  }
  static cusolverStatus_t geqrf(cusolverDnHandle_t h, int m, int n, float* a, int lda, float* tau, float* work,
                                int lwork, int* info) {
    return cusolverDnSgeqrf(h, m, n, a, lda, tau, work, lwork, info);
  }
  static cusolverStatus_t geqrf(cusolverDnHandle_t h, int m, int n, double* a, int lda, double* tau, double* work,
                                int lwork, int* info) {
    return cusolverDnDgeqrf(h, m, n, a, lda, tau, work, lwork, info);
  }
  static cusolverStatus_t orgqr_size(cusolverDnHandle_t h, int m, int n, int k, const float* a, int lda,
                                     const float* tau, int* lwork) {
    return cusolverDnSorgqr_bufferSize(h, m, n, k, a, lda, tau, lwork);
  }
  static cusolverStatus_t orgqr_size(cusolverDnHandle_t h, int m, int n, int k, const double* a, int lda,
                                     const double* tau, int* lwork) {
    return cusolverDnDorgqr_bufferSize(h, m, n, k, a, lda, tau, lwork);
  }
  static cusolverStatus_t orgqr(cusolverDnHandle_t h, int m, int n, int k, float* a, int lda, const float* tau,
                                float* work, int lwork, int* info) {
    return cusolverDnSorgqr(h, m, n, k, a, lda, tau, work, lwork, info);
  }
  static cusolverStatus_t orgqr(cusolverDnHandle_t h, int m, int n, int k, double* a, int lda, const double* tau,
                                double* work, int lwork, int* info) {
    return cusolverDnDorgqr(h, m, n, k, a, lda, tau, work, lwork, info);
  }
};

// A device buffer of `count` elements of T (from dynagrad's allocator).
template <typename T>
struct Scratch {
  TensorBase t;
  Scratch(int64_t count, const TensorBase& like)
      : t(make_empty({std::max<int64_t>(count, 1) * int64_t(sizeof(T)) / 8 + 1}, kInt64, like.device())) {}
  T* data() const { return reinterpret_cast<T*>(t.data_ptr()); }
};

// The per-matrix infos, copied back once at the end and turned into dg::Error.
void check_infos(const char* op, const char* routine, const Scratch<int>& infos, int64_t count, int device,
                 const char* failure) {
  std::vector<int> host(static_cast<size_t>(count));
  check(cudaMemcpyAsync(host.data(), infos.data(), sizeof(int) * count, cudaMemcpyDeviceToHost, stream(device)), op,
        "copying cuSOLVER's info");
  check(cudaStreamSynchronize(stream(device)), op, "synchronizing");
  for (int64_t b = 0; b < count; ++b) {
    DG_CHECK(host[b] >= 0, op, ": (Batch element ", b, "): cuSOLVER ", routine, " rejected its argument ", -host[b]);
    DG_CHECK(host[b] == 0, op, ": (Batch element ", b, "): ", failure, " (cuSOLVER ", routine, " error code: ", host[b],
             ")");
  }
}

// ---- gathers and scatters -------------------------------------------------------------

// The batch geometry of an input (..., m, n) of any strides.
struct Geometry {
  static constexpr int kMaxBatchDims = 12;
  int64_t sizes[kMaxBatchDims];
  int64_t strides[kMaxBatchDims];
  int nbatch = 0;
  int64_t m = 0, n = 0, sm = 0, sn = 0;  // the matrix (transposed when asked)
};

Geometry geometry_of(const char* op, const TensorBase& A, bool transposed) {
  Geometry g;
  DG_CHECK(A.dim() - 2 <= Geometry::kMaxBatchDims, op, ": expected at most ", Geometry::kMaxBatchDims,
           " batch dimensions on CUDA, got ", A.dim() - 2);
  g.nbatch = static_cast<int>(A.dim() - 2);
  for (int d = 0; d < g.nbatch; ++d) g.sizes[d] = A.size(d), g.strides[d] = A.stride(d);
  g.m = A.size(-2), g.n = A.size(-1), g.sm = A.stride(-2), g.sn = A.stride(-1);
  if (transposed) std::swap(g.m, g.n), std::swap(g.sm, g.sn);
  return g;
}

// dst[b * mat_stride + i + j * m] = matrix b of src (column-major, ld = m).
template <typename T>
__global__ void gather_col_major(const T* src, Geometry g, T* dst, int64_t mat_stride, int64_t total) {
  DG_GRID_STRIDE(idx, total) {
    const int64_t per = g.m * g.n, b = idx / per, r = idx % per, j = r / g.m, i = r % g.m;
    int64_t off = 0, rest = b;
    for (int d = g.nbatch - 1; d >= 0; --d) {
      off += (rest % g.sizes[d]) * g.strides[d];
      rest /= g.sizes[d];
    }
    dst[b * mat_stride + i + j * g.m] = src[off + i * g.sm + j * g.sn];
  }
}

// A rows x cols block of each column-major source matrix (leading dimension
// ld; read transposed when asked) written row-major, rows dst_ld apart, at
// `offset` of each packed output row.
template <typename T>
__global__ void scatter_row_major(const T* src, int64_t src_stride, int64_t ld, bool transposed, int64_t rows,
                                  int64_t cols, T* dst, int64_t dst_stride, int64_t offset, int64_t dst_ld,
                                  int64_t total) {
  DG_GRID_STRIDE(idx, total) {
    const int64_t per = rows * cols, b = idx / per, r = idx % per, i = r / cols, j = r % cols;
    const T* s = src + b * src_stride;
    dst[b * dst_stride + offset + i * dst_ld + j] = transposed ? s[j + i * ld] : s[i + j * ld];
  }
}

// The upper triangle of the first k rows of each column-major factor (ld),
// zeros elsewhere, as a rows x cols row-major block.
template <typename T>
__global__ void scatter_upper(const T* src, int64_t src_stride, int64_t ld, int64_t k, int64_t rows, int64_t cols,
                              T* dst, int64_t dst_stride, int64_t offset, int64_t total) {
  DG_GRID_STRIDE(idx, total) {
    const int64_t per = rows * cols, b = idx / per, r = idx % per, i = r / cols, j = r % cols;
    dst[b * dst_stride + offset + i * cols + j] = (i < k && j >= i) ? src[b * src_stride + i + j * ld] : T(0);
  }
}

// Identity blocks (rows x cols) at `offset` of each packed row, for empty matrices.
template <typename T>
__global__ void fill_identity(T* dst, int64_t dst_stride, int64_t offset, int64_t rows, int64_t cols, int64_t total) {
  DG_GRID_STRIDE(idx, total) {
    const int64_t per = rows * cols, b = idx / per, r = idx % per, i = r / cols, j = r % cols;
    dst[b * dst_stride + offset + i * cols + j] = i == j ? T(1) : T(0);
  }
}

// scatter_row_major over the batch; dst_ld 0 means dense rows (cols apart).
template <typename T>
void launch_scatter(const char* op, const TensorBase& out, const T* src, int64_t src_stride, int64_t ld,
                    bool transposed, int64_t rows, int64_t cols, int64_t count, int64_t dst_stride, int64_t offset,
                    int64_t dst_ld = 0) {
  const int64_t total = count * rows * cols;
  if (total == 0) return;
  scatter_row_major<T><<<grid_for(total), kBlock, 0, stream_of(out)>>>(src, src_stride, ld, transposed, rows, cols,
                                                                       out.data_ptr<T>(), dst_stride, offset,
                                                                       dst_ld ? dst_ld : cols, total);
  check_launch(op);
}

template <typename T>
void gather(const char* op, const TensorBase& A, bool transposed, T* dst, int64_t mat_stride, int64_t count) {
  const Geometry g = geometry_of(op, A, transposed);
  const int64_t total = count * g.m * g.n;
  if (total == 0) return;
  gather_col_major<T><<<grid_for(total), kBlock, 0, stream_of(A)>>>(A.data_ptr<T>(), g, dst, mat_stride, total);
  check_launch(op);
}

int64_t batch_count(const TensorBase& t) {
  int64_t count = 1;
  for (int64_t d = 0; d + 2 < t.dim(); ++d) count *= t.size(d);
  return count;
}

}  // namespace

// out (..., n, n + 1): eigenvectors in columns [0, n), eigenvalues in column n.
template <typename T>
void linalg_eigh_packed(const TensorBase& out, const TensorBase& A, std::string_view UPLO) {
  const char* op = "linalg_eigh";
  DeviceGuard guard(A);
  const int64_t n = A.size(-1), count = batch_count(A);
  if (n == 0 || count == 0) return;
  const int dev = A.device().index, ni = narrow(op, n);
  cusolverDnHandle_t h = solver(op, dev);
  Scratch<T> a(count * n * n, A), w(count * n, A);
  Scratch<int> infos(count, A);
  gather<T>(op, A, false, a.data(), n * n, count);
  const cublasFillMode_t uplo = UPLO == "U" ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER;
  int lwork = 0;
  check_solver(Solver::syevd_size(h, uplo, ni, a.data(), ni, w.data(), &lwork), op, "syevd_bufferSize");
  Scratch<T> work(lwork, A);
  for (int64_t b = 0; b < count; ++b)
    check_solver(
        Solver::syevd(h, uplo, ni, a.data() + b * n * n, ni, w.data() + b * n, work.data(), lwork, infos.data() + b),
        op, "syevd");
  check_infos(op, "syevd", infos, count, dev,
              "The algorithm failed to converge because the input matrix is ill-conditioned or has too many "
              "repeated eigenvalues");
  // The eigenvectors in columns [0, n) of rows n + 1 long; eigenvalue i (an n x 1 block) in column n of row i.
  launch_scatter<T>(op, out, a.data(), n * n, n, false, n, n, count, n * (n + 1), 0, n + 1);
  launch_scatter<T>(op, out, w.data(), n, n, false, n, 1, count, n * (n + 1), n, n + 1);
}

// out (..., P): U (m x m or m x k), S (k), Vh (n x n or k x n).
template <typename T>
void linalg_svd_packed(const TensorBase& out, const TensorBase& A, bool full_matrices) {
  const char* op = "linalg_svd";
  DeviceGuard guard(A);
  const int64_t m = A.size(-2), n = A.size(-1), k = std::min(m, n), count = batch_count(A);
  const int64_t ucols = full_matrices ? m : k, vrows = full_matrices ? n : k;
  const int64_t packed = m * ucols + k + vrows * n;
  if (count == 0) return;
  if (k == 0) {
    check(cudaMemsetAsync(out.data_ptr(), 0, out.nbytes(), stream_of(out)), op, "zeroing the output");
    const int64_t mu = std::min(m, ucols), nv = std::min(vrows, n);
    if (mu > 0)
      fill_identity<T><<<grid_for(count * m * ucols), kBlock, 0, stream_of(out)>>>(out.data_ptr<T>(), packed, 0, m,
                                                                                   ucols, count * m * ucols);
    if (nv > 0)
      fill_identity<T><<<grid_for(count * vrows * n), kBlock, 0, stream_of(out)>>>(
          out.data_ptr<T>(), packed, m * ucols + k, vrows, n, count * vrows * n);
    check_launch(op);
    return;
  }
  // gesvd needs rows >= cols: factor A^T = U' S V'^T when m < n, so A = V' S U'^T.
  const bool flip = m < n;
  const int64_t M = flip ? n : m, N = flip ? m : n;  // the factored matrix, M >= N = k
  const int64_t Ucols = full_matrices ? M : N;       // U' is M x Ucols, V'^T is N x N
  const int Mi = narrow(op, M), Ni = narrow(op, N);
  const int dev = A.device().index;
  cusolverDnHandle_t h = solver(op, dev);
  Scratch<T> a(count * M * N, A), s(count * k, A), u(count * M * Ucols, A), vt(count * N * N, A);
  Scratch<int> infos(count, A);
  gather<T>(op, A, flip, a.data(), M * N, count);
  int lwork = 0;
  check_solver(Solver::gesvd_size(h, Mi, Ni, a.data(), &lwork), op, "gesvd_bufferSize");
  Scratch<T> work(lwork, A);
  const signed char jobu = full_matrices ? 'A' : 'S';
  for (int64_t b = 0; b < count; ++b)
    check_solver(
        Solver::gesvd(h, jobu, 'A', Mi, Ni, a.data() + b * M * N, Mi, s.data() + b * k, u.data() + b * M * Ucols, Mi,
                      vt.data() + b * N * N, Ni, work.data(), lwork, infos.data() + b),
        op, "gesvd");
  check_infos(op, "gesvd", infos, count, dev,
              "The algorithm failed to converge because the input matrix is ill-conditioned or has too many "
              "repeated singular values");
  if (!flip) {
    launch_scatter<T>(op, out, u.data(), M * Ucols, M, false, m, ucols, count, packed, 0);
    launch_scatter<T>(op, out, vt.data(), N * N, N, false, vrows, n, count, packed, m * ucols + k);
  } else {
    // U = V'^T^T (m x m, from the N x N V'^T), Vh = U'^T (vrows x n, from the M x Ucols U').
    launch_scatter<T>(op, out, vt.data(), N * N, N, true, m, ucols, count, packed, 0);
    launch_scatter<T>(op, out, u.data(), M * Ucols, M, true, vrows, n, count, packed, m * ucols + k);
  }
  launch_scatter<T>(op, out, s.data(), k, 1, true, 1, k, count, packed, m * ucols);  // S: one row of k
}

// out (..., P): Q (m x k, m x m for complete, nothing for r), then R (k x n, m x n for complete).
template <typename T>
void linalg_qr_packed(const TensorBase& out, const TensorBase& A, std::string_view mode) {
  const char* op = "linalg_qr";
  DeviceGuard guard(A);
  const int64_t m = A.size(-2), n = A.size(-1), k = std::min(m, n), count = batch_count(A);
  const bool complete = mode == "complete", want_q = mode != "r";
  const int64_t qcols = want_q ? (complete ? m : k) : 0, rrows = complete ? m : k;
  const int64_t packed = m * qcols + rrows * n;
  if (count == 0 || packed == 0) return;
  if (m == 0 || n == 0) {
    check(cudaMemsetAsync(out.data_ptr(), 0, out.nbytes(), stream_of(out)), op, "zeroing the output");
    if (m > 0 && qcols > 0) {
      fill_identity<T><<<grid_for(count * m * qcols), kBlock, 0, stream_of(out)>>>(out.data_ptr<T>(), packed, 0, m,
                                                                                   qcols, count * m * qcols);
      check_launch(op);
    }
    return;
  }
  const int64_t cols = std::max(n, qcols);  // room for Q's columns after the reflectors
  const int mi = narrow(op, m), ni = narrow(op, n);
  const int dev = A.device().index;
  cusolverDnHandle_t h = solver(op, dev);
  Scratch<T> a(count * m * cols, A), tau(count * k, A);
  Scratch<int> infos(count, A);
  gather<T>(op, A, false, a.data(), m * cols, count);
  int lwork = 0;
  check_solver(Solver::geqrf_size(h, mi, ni, a.data(), mi, &lwork), op, "geqrf_bufferSize");
  if (want_q) {
    int lq = 0;
    check_solver(Solver::orgqr_size(h, mi, narrow(op, qcols), narrow(op, k), a.data(), mi, tau.data(), &lq), op,
                 "orgqr_bufferSize");
    lwork = std::max(lwork, lq);
  }
  Scratch<T> work(lwork, A);
  for (int64_t b = 0; b < count; ++b)
    check_solver(
        Solver::geqrf(h, mi, ni, a.data() + b * m * cols, mi, tau.data() + b * k, work.data(), lwork, infos.data() + b),
        op, "geqrf");
  check_infos(op, "geqrf", infos, count, dev, "QR factorization failed");
  const int64_t total = count * rrows * n;
  scatter_upper<T><<<grid_for(total), kBlock, 0, stream_of(out)>>>(a.data(), m * cols, m, k, rrows, n,
                                                                   out.data_ptr<T>(), packed, m * qcols, total);
  check_launch(op);
  if (!want_q) return;
  for (int64_t b = 0; b < count; ++b)
    check_solver(Solver::orgqr(h, mi, narrow(op, qcols), narrow(op, k), a.data() + b * m * cols, mi, tau.data() + b * k,
                               work.data(), lwork, infos.data() + b),
                 op, "orgqr");
  check_infos(op, "orgqr", infos, count, dev, "forming Q failed");
  launch_scatter<T>(op, out, a.data(), m * cols, m, false, m, qcols, count, packed, 0);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_linalg_eigh_packed;
DG_INSTANTIATE_KERNEL_cuda_linalg_svd_packed;
DG_INSTANTIATE_KERNEL_cuda_linalg_qr_packed;
