#pragma once
// LibTorch's `torch::linalg::` spellings: `dg::linalg::multi_dot(...)` is the
// generated `dg::linalg_multi_dot(...)`. The generator emits one namespace,
// so the ops are declared in ops.yaml under their ATen names (linalg_*) and
// these inline functions only forward, with LibTorch's defaults.
#include <optional>
#include <string_view>
#include <tuple>
#include <vector>

#include "dynagrad/tensor.h"

namespace dg::linalg {

inline Tensor multi_dot(const std::vector<Tensor>& tensors) { return dg::linalg_multi_dot(tensors); }

inline Tensor cross(const Tensor& self, const Tensor& other, int64_t dim = -1) {
  return dg::linalg_cross(self, other, dim);
}

inline Tensor matrix_power(const Tensor& self, int64_t n) { return dg::matrix_power(self, n); }

// ---- solving (LAPACK on the CPU, cuSOLVER on CUDA) ----
inline Tensor inv(const Tensor& A) { return dg::linalg_inv(A); }

inline Tensor det(const Tensor& A) { return dg::linalg_det(A); }

inline std::tuple<Tensor, Tensor> slogdet(const Tensor& A) { return dg::linalg_slogdet(A); }

// LibTorch's torch::linalg::cholesky takes A only; `upper` is linalg_cholesky's keyword.
inline Tensor cholesky(const Tensor& A, bool upper = false) { return dg::linalg_cholesky(A, upper); }

// LibTorch spells `left` (no default there); true solves A X = B, false X A = B.
inline Tensor solve(const Tensor& A, const Tensor& B, bool left = true) { return dg::linalg_solve(A, B, left); }

inline Tensor solve_triangular(const Tensor& A, const Tensor& B, bool upper, bool left = true,
                               bool unitriangular = false) {
  return dg::linalg_solve_triangular(A, B, upper, left, unitriangular);
}

// pivots are int64 (int32 in LibTorch: dynagrad has no int32 dtype yet).
inline std::tuple<Tensor, Tensor> lu_factor(const Tensor& A, bool pivot = true) {
  return dg::linalg_lu_factor(A, pivot);
}

// (solution, residuals, rank, singular_values); driver "gelsy" (the CPU's
// default) or "gels" (CUDA's only one).
inline std::tuple<Tensor, Tensor, Tensor, Tensor> lstsq(const Tensor& A, const Tensor& B,
                                                        std::optional<double> rcond = std::nullopt,
                                                        std::optional<std::string_view> driver = std::nullopt) {
  return dg::linalg_lstsq(A, B, rcond, driver ? *driver : std::string_view());
}

}  // namespace dg::linalg
