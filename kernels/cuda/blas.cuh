#pragma once
// Matrix products on cuBLAS for the CUDA kernels (mm, bmm, convolution).
// Operands are row-major as dynagrad stores them; the calls map them onto
// cuBLAS's column-major convention (C^T = B^T A^T), so no operand is copied.
#include <cublas_v2.h>

#include <cstdint>

#include "cuda/cuda_common.cuh"

namespace dg::cuda {

// The cuBLAS handle of `device` (made on first use, default math: float
// products stay float), bound to the device's stream. Throws a dg::Error
// naming `op` if cuBLAS fails.
cublasHandle_t blas_handle(const char* op, int device);

// For b in [0, batch):
//   C_b[m x n] = alpha * op(A_b) * op(B_b) + beta * C_b
// where A_b = a + b * stride_a is row-major m x k (trans_a: k x m) with
// leading dimension lda (elements between rows), likewise B_b (k x n, or
// n x k when trans_b) and C_b (m x n, ldc). Runs on `device`'s stream;
// float, double, and the 16-bit floats (accumulating in float). Throws a
// dg::Error naming `op` if cuBLAS fails.
template <typename T>
void gemm(const char* op, int device, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b, T beta, T* c, int64_t ldc,
          int64_t stride_c, int64_t batch = 1);

}  // namespace dg::cuda
