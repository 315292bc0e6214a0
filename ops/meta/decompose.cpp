// Shape rules of the decompositions: the packed outputs of eigh, svd and qr
// (one tensor holding every factor, laid out as ops.yaml says).
#include <algorithm>
#include <string_view>

#include "ops/meta.h"

namespace dg::meta {

void check_linalg_input(const char* op, const Tensor& A, bool square) {
  DG_CHECK(A.dtype() == kFloat32 || A.dtype() == kFloat64, op,
           ": expected a float32 or float64 tensor (LAPACK/cuSOLVER precisions), got ", A.dtype());
  DG_CHECK(A.dim() >= 2, op, ": expected A to have at least 2 dimensions (a batch of matrices), got shape ", A.sizes());
  DG_CHECK(!square || A.size(-1) == A.size(-2), op, ": expected A to be a batch of square matrices, got ", A.size(-2),
           " by ", A.size(-1), " matrices (shape ", A.sizes(), ")");
}

int64_t svd_packed_size(int64_t m, int64_t n, bool full_matrices) {
  const int64_t k = std::min(m, n);
  return m * (full_matrices ? m : k) + k + (full_matrices ? n : k) * n;
}

int64_t qr_packed_size(int64_t m, int64_t n, std::string_view mode) {
  const int64_t k = std::min(m, n);
  if (mode == "r") return k * n;
  if (mode == "complete") return m * m + m * n;
  return m * k + k * n;
}

namespace {
// A's batch dims followed by `tail`.
DimVector batch_with(const Tensor& A, std::initializer_list<int64_t> tail) {
  DimVector s;
  for (int64_t d = 0; d + 2 < A.dim(); ++d) s.push_back(A.size(d));
  for (int64_t t : tail) s.push_back(t);
  return s;
}
}  // namespace

TensorMeta linalg_eigh_packed(const char* op, const Tensor& A, std::string_view UPLO) {
  check_linalg_input(op, A, true);
  DG_CHECK(UPLO == "L" || UPLO == "U", op, ": expected UPLO to be 'L' or 'U', got '", UPLO, "'");
  const int64_t n = A.size(-1);
  return TensorMeta{batch_with(A, {n, n + 1}), A.dtype(), A.device()};
}

TensorMeta linalg_svd_packed(const char* op, const Tensor& A, bool full_matrices) {
  check_linalg_input(op, A, false);
  return TensorMeta{batch_with(A, {svd_packed_size(A.size(-2), A.size(-1), full_matrices)}), A.dtype(), A.device()};
}

TensorMeta linalg_qr_packed(const char* op, const Tensor& A, std::string_view mode) {
  check_linalg_input(op, A, false);
  DG_CHECK(mode == "reduced" || mode == "complete" || mode == "r", op,
           ": expected mode to be 'reduced', 'complete' or 'r', got '", mode, "'");
  return TensorMeta{batch_with(A, {qr_packed_size(A.size(-2), A.size(-1), mode)}), A.dtype(), A.device()};
}

}  // namespace dg::meta
