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
#include <algorithm>
#include <vector>

#include "cuda/cuda_common.cuh"
#include "cuda/solver.cuh"
#include "dynagrad/error.h"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

using namespace lapack;

// The device array of pointers base + i * stride, i in [0, count).
template <typename T>
void pointer_array(const char* op, T** dptrs, T* base, int64_t stride, int64_t count, cudaStream_t s) {
  std::vector<T*> host(count);
  for (int64_t i = 0; i < count; ++i) host[i] = base + i * stride;
  check(cudaMemcpyAsync(dptrs, host.data(), count * sizeof(T*), cudaMemcpyHostToDevice, s), op, "cudaMemcpyAsync");
  check(cudaStreamSynchronize(s), op, "cudaStreamSynchronize");
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
