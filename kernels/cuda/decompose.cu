// Decompositions on cuSOLVER: symmetric eigendecomposition (syevd), SVD
// (gesvd, on A^T when m < n) and QR (geqrf + orgqr), one matrix of the batch
// at a time on the device's stream. The routines are those LAPACK's CPU path
// uses (divide and conquer, Householder), so factors come with the same sign
// conventions as far as the algorithms allow; the Jacobi ones (syevj,
// gesvdj and their batched forms) are faster for many small matrices but
// choose their own signs. Each matrix is gathered column-major into a
// scratch buffer, factored, and scattered row-major into the packed output
// (ops.yaml says the layouts).
#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "cuda/cuda_common.cuh"
#include "cuda/solver.cuh"
#include "dynagrad/error.h"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

using namespace lapack;

// The per-matrix infos (on the device), copied back once at the end and
// turned into dg::Error.
void check_infos(const char* op, const char* routine, const Buffer& info, int64_t count, int device,
                 const char* failure) {
  const std::vector<int> host = infos(op, info.as<int>(), count, stream(device));
  for (int64_t b = 0; b < count; ++b) {
    DG_CHECK(host[b] >= 0, batch_element(op, b), "cuSOLVER ", routine, " rejected its argument ", -host[b]);
    DG_CHECK(host[b] == 0, batch_element(op, b), failure, " (cuSOLVER ", routine, " error code: ", host[b], ")");
  }
}

// ---- scatters into the packed output --------------------------------------------------

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

}  // namespace

// out (..., n, n + 1): eigenvectors in columns [0, n), eigenvalues in column n.
template <typename T>
void linalg_eigh_packed(const TensorBase& out, const TensorBase& A, std::string_view UPLO) {
  const char* op = "linalg_eigh";
  DeviceGuard guard(A);
  const Geo g = geo_of(op, A);
  const int64_t n = g.cols, count = g.count;
  if (n == 0 || count == 0) return;
  const int dev = A.device().index, ni = narrow(op, n);
  cusolverDnHandle_t h = solver_handle(op, dev);
  Buffer a(count * n * n * sizeof(T), dev), w(count * n * sizeof(T), dev), info(count * sizeof(int), dev);
  gather<T>(op, a.as<T>(), A, g, /*col_major=*/true);
  const cublasFillMode_t uplo = UPLO == "U" ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER;
  int lwork = 0;
  check_cusolver(syevd_size(h, uplo, ni, a.as<T>(), ni, w.as<T>(), &lwork), op, "syevd_bufferSize");
  Buffer work(lwork * sizeof(T), dev);
  for (int64_t b = 0; b < count; ++b)
    check_cusolver(
        syevd(h, uplo, ni, a.as<T>() + b * n * n, ni, w.as<T>() + b * n, work.as<T>(), lwork, info.as<int>() + b), op,
        "syevd");
  check_infos(op, "syevd", info, count, dev,
              "The algorithm failed to converge because the input matrix is ill-conditioned or has too many "
              "repeated eigenvalues");
  // The eigenvectors in columns [0, n) of rows n + 1 long; eigenvalue i (an n x 1 block) in column n of row i.
  launch_scatter<T>(op, out, a.as<T>(), n * n, n, false, n, n, count, n * (n + 1), 0, n + 1);
  launch_scatter<T>(op, out, w.as<T>(), n, n, false, n, 1, count, n * (n + 1), n, n + 1);
}

// out (..., P): U (m x m or m x k), S (k), Vh (n x n or k x n).
template <typename T>
void linalg_svd_packed(const TensorBase& out, const TensorBase& A, bool full_matrices) {
  const char* op = "linalg_svd";
  DeviceGuard guard(A);
  const Geo g = geo_of(op, A);
  const int64_t m = g.rows, n = g.cols, k = std::min(m, n), count = g.count;
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
  cusolverDnHandle_t h = solver_handle(op, dev);
  Buffer a(count * M * N * sizeof(T), dev), s(count * k * sizeof(T), dev), u(count * M * Ucols * sizeof(T), dev),
      vt(count * N * N * sizeof(T), dev), info(count * sizeof(int), dev);
  gather<T>(op, a.as<T>(), A, g, /*col_major=*/true, /*transpose=*/flip);
  int lwork = 0;
  check_cusolver(gesvd_size(h, Mi, Ni, a.as<T>(), &lwork), op, "gesvd_bufferSize");
  Buffer work(lwork * sizeof(T), dev);
  const signed char jobu = full_matrices ? 'A' : 'S';
  for (int64_t b = 0; b < count; ++b)
    check_cusolver(gesvd(h, jobu, 'A', Mi, Ni, a.as<T>() + b * M * N, Mi, s.as<T>() + b * k, u.as<T>() + b * M * Ucols,
                         Mi, vt.as<T>() + b * N * N, Ni, work.as<T>(), lwork, info.as<int>() + b),
                   op, "gesvd");
  check_infos(op, "gesvd", info, count, dev,
              "The algorithm failed to converge because the input matrix is ill-conditioned or has too many "
              "repeated singular values");
  if (!flip) {
    launch_scatter<T>(op, out, u.as<T>(), M * Ucols, M, false, m, ucols, count, packed, 0);
    launch_scatter<T>(op, out, vt.as<T>(), N * N, N, false, vrows, n, count, packed, m * ucols + k);
  } else {
    // U = V'^T^T (m x m, from the N x N V'^T), Vh = U'^T (vrows x n, from the M x Ucols U').
    launch_scatter<T>(op, out, vt.as<T>(), N * N, N, true, m, ucols, count, packed, 0);
    launch_scatter<T>(op, out, u.as<T>(), M * Ucols, M, true, vrows, n, count, packed, m * ucols + k);
  }
  launch_scatter<T>(op, out, s.as<T>(), k, 1, true, 1, k, count, packed, m * ucols);  // S: one row of k
}

// out (..., P): Q (m x k, m x m for complete, nothing for r), then R (k x n, m x n for complete).
template <typename T>
void linalg_qr_packed(const TensorBase& out, const TensorBase& A, std::string_view mode) {
  const char* op = "linalg_qr";
  DeviceGuard guard(A);
  const Geo g = geo_of(op, A);
  const int64_t m = g.rows, n = g.cols, k = std::min(m, n), count = g.count;
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
  cusolverDnHandle_t h = solver_handle(op, dev);
  Buffer a(count * m * cols * sizeof(T), dev), tau(count * k * sizeof(T), dev), info(count * sizeof(int), dev);
  gather<T>(op, a.as<T>(), A, g, /*col_major=*/true, /*transpose=*/false, /*per_matrix=*/m * cols);
  int lwork = 0;
  check_cusolver(geqrf_size(h, mi, ni, a.as<T>(), mi, &lwork), op, "geqrf_bufferSize");
  if (want_q) {
    int lq = 0;
    check_cusolver(orgqr_size(h, mi, narrow(op, qcols), narrow(op, k), a.as<T>(), mi, tau.as<T>(), &lq), op,
                   "orgqr_bufferSize");
    lwork = std::max(lwork, lq);
  }
  Buffer work(lwork * sizeof(T), dev);
  for (int64_t b = 0; b < count; ++b)
    check_cusolver(
        geqrf(h, mi, ni, a.as<T>() + b * m * cols, mi, tau.as<T>() + b * k, work.as<T>(), lwork, info.as<int>() + b),
        op, "geqrf");
  check_infos(op, "geqrf", info, count, dev, "QR factorization failed");
  const int64_t total = count * rrows * n;
  scatter_upper<T><<<grid_for(total), kBlock, 0, stream_of(out)>>>(a.as<T>(), m * cols, m, k, rrows, n,
                                                                   out.data_ptr<T>(), packed, m * qcols, total);
  check_launch(op);
  if (!want_q) return;
  for (int64_t b = 0; b < count; ++b)
    check_cusolver(orgqr(h, mi, narrow(op, qcols), narrow(op, k), a.as<T>() + b * m * cols, mi, tau.as<T>() + b * k,
                         work.as<T>(), lwork, info.as<int>() + b),
                   op, "orgqr");
  check_infos(op, "orgqr", info, count, dev, "forming Q failed");
  launch_scatter<T>(op, out, a.as<T>(), m * cols, m, false, m, qcols, count, packed, 0);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_linalg_eigh_packed;
DG_INSTANTIATE_KERNEL_cuda_linalg_svd_packed;
DG_INSTANTIATE_KERNEL_cuda_linalg_qr_packed;
