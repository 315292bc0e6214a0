// cuda::gemm on cuBLAS: one handle per device, bound to the device's stream.
// Float32 products keep full float32 precision (no TF32), as PyTorch does by
// default for matmul.
#include <cublas_v2.h>

#include <array>
#include <mutex>
#include <type_traits>

#include "cuda/blas.cuh"
#include "dynagrad/error.h"

namespace dg::cuda {

namespace {

const char* status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "a cuBLAS error";
  }
}

void check_blas(cublasStatus_t s, const char* op, const char* what) {
  DG_CHECK(s == CUBLAS_STATUS_SUCCESS, op, ": ", what, " failed: ", status_name(s));
}

int narrow(const char* op, int64_t v) {
  DG_CHECK(v >= 0 && v <= INT32_MAX, op, ": a matrix dimension or leading dimension of ", v,
           " is beyond cuBLAS's 32-bit limit");
  return static_cast<int>(v);
}

cublasStatus_t strided_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                               const float* alpha, const float* a, int lda, long long sa, const float* b, int ldb,
                               long long sb, const float* beta, float* c, int ldc, long long sc, int batch) {
  return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
}
cublasStatus_t strided_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                               const double* alpha, const double* a, int lda, long long sa, const double* b, int ldb,
                               long long sb, const double* beta, double* c, int ldc, long long sc, int batch) {
  return cublasDgemmStridedBatched(h, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
}

// The 16-bit floats: float accumulation (CUBLAS_COMPUTE_32F), float alpha
// and beta, 16-bit operands and result.
template <typename T>
cublasStatus_t strided_batched_16(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                  float alpha, const T* a, int lda, long long sa, const T* b, int ldb, long long sb,
                                  float beta, T* c, int ldc, long long sc, int batch) {
  const cudaDataType_t type = std::is_same_v<T, Half> ? CUDA_R_16F : CUDA_R_16BF;
  return cublasGemmStridedBatchedEx(h, ta, tb, m, n, k, &alpha, a, type, lda, sa, b, type, ldb, sb, &beta, c, type, ldc,
                                    sc, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}
cublasStatus_t strided_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                               const Half* alpha, const Half* a, int lda, long long sa, const Half* b, int ldb,
                               long long sb, const Half* beta, Half* c, int ldc, long long sc, int batch) {
  return strided_batched_16(h, ta, tb, m, n, k, float(*alpha), a, lda, sa, b, ldb, sb, float(*beta), c, ldc, sc, batch);
}
cublasStatus_t strided_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                               const BFloat16* alpha, const BFloat16* a, int lda, long long sa, const BFloat16* b,
                               int ldb, long long sb, const BFloat16* beta, BFloat16* c, int ldc, long long sc,
                               int batch) {
  return strided_batched_16(h, ta, tb, m, n, k, float(*alpha), a, lda, sa, b, ldb, sb, float(*beta), c, ldc, sc, batch);
}

}  // namespace

cublasHandle_t blas_handle(const char* op, int device) {
  constexpr int kMax = 64;
  static std::array<cublasHandle_t, kMax> handles{};
  static std::array<std::once_flag, kMax> made;
  DG_CHECK(device >= 0 && device < kMax, op, ": device index ", device, " is out of range");
  std::call_once(made[device], [&] {
    DeviceGuard g(device);
    check_blas(cublasCreate(&handles[device]), op, "cublasCreate");
    // Default math: float products stay float (TF32 only with CUBLAS_TF32_TENSOR_OP_MATH),
    // 16-bit products use tensor cores with float accumulation.
    check_blas(cublasSetMathMode(handles[device], CUBLAS_DEFAULT_MATH), op, "cublasSetMathMode");
  });
  check_blas(cublasSetStream(handles[device], stream(device)), op, "cublasSetStream");
  return handles[device];
}

template <typename T>
void gemm(const char* op, int device, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b, T beta, T* c, int64_t ldc,
          int64_t stride_c, int64_t batch) {
  if (m == 0 || n == 0 || batch == 0) return;
  DeviceGuard g(device);
  cublasHandle_t h = blas_handle(op, g.device());
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: the same
  // memory, with the operands swapped.
  const cublasOperation_t ob = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t oa = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  check_blas(
      strided_batched(h, ob, oa, narrow(op, n), narrow(op, m), narrow(op, k), &alpha, b, narrow(op, ldb), stride_b, a,
                      narrow(op, lda), stride_a, &beta, c, narrow(op, ldc), stride_c, narrow(op, batch)),
      op, "cuBLAS gemm");
}

template void gemm<float>(const char*, int, bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          int64_t, const float*, int64_t, int64_t, float, float*, int64_t, int64_t, int64_t);
template void gemm<double>(const char*, int, bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           int64_t, const double*, int64_t, int64_t, double, double*, int64_t, int64_t, int64_t);
template void gemm<Half>(const char*, int, bool, bool, int64_t, int64_t, int64_t, Half, const Half*, int64_t, int64_t,
                         const Half*, int64_t, int64_t, Half, Half*, int64_t, int64_t, int64_t);
template void gemm<BFloat16>(const char*, int, bool, bool, int64_t, int64_t, int64_t, BFloat16, const BFloat16*,
                             int64_t, int64_t, const BFloat16*, int64_t, int64_t, BFloat16, BFloat16*, int64_t, int64_t,
                             int64_t);

}  // namespace dg::cuda
