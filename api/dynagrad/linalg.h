#pragma once
// LibTorch's `torch::linalg::` spellings: `dg::linalg::multi_dot(...)` is the
// generated `dg::linalg_multi_dot(...)`. The generator emits one namespace,
// so the ops are declared in ops.yaml under their ATen names (linalg_*) and
// these inline functions only forward, with LibTorch's defaults.
#include <initializer_list>
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

// LibTorch's OptionalIntArrayRef: no dims (c10::nullopt, meaning all) or a
// list of them, `{0, 1}` included.
class OptionalIntArrayRef {
 public:
  OptionalIntArrayRef() = default;
  OptionalIntArrayRef(std::nullopt_t) {}                                      // NOLINT
  OptionalIntArrayRef(IntArrayRef dims) : dims_(dims.begin(), dims.end()) {}  // NOLINT
  OptionalIntArrayRef(std::initializer_list<int64_t> dims) : dims_(dims) {}   // NOLINT
  OptionalIntArrayRef(const std::vector<int64_t>& dims) : dims_(dims) {}      // NOLINT
  OptionalIntArrayRef(int64_t dim) : dims_{dim} {}                            // NOLINT
  // The dims, empty for none (dynagrad's ops read an empty dim list as all).
  IntArrayRef value_or_empty() const { return dims_; }

 private:
  std::vector<int64_t> dims_;
};

namespace detail {
inline Tensor with_dtype(const Tensor& t, std::optional<ScalarType> dtype) { return dtype ? t.to(*dtype) : t; }
}  // namespace detail

inline std::tuple<Tensor, Tensor> eigh(const Tensor& self, std::string_view uplo = "L") {
  return dg::linalg_eigh(self, uplo);
}

inline Tensor eigvalsh(const Tensor& self, std::string_view uplo = "L") { return dg::linalg_eigvalsh(self, uplo); }

// `driver` chooses cuSOLVER's algorithm in LibTorch; dynagrad has one per device and ignores it.
inline std::tuple<Tensor, Tensor, Tensor> svd(const Tensor& input, bool full_matrices = true,
                                              std::optional<std::string_view> driver = std::nullopt) {
  (void)driver;
  return dg::linalg_svd(input, full_matrices);
}

inline Tensor svdvals(const Tensor& input, std::optional<std::string_view> driver = std::nullopt) {
  (void)driver;
  return dg::linalg_svdvals(input);
}

inline std::tuple<Tensor, Tensor> qr(const Tensor& input, std::string_view mode = "reduced") {
  return dg::linalg_qr(input, mode);
}

inline Tensor pinv(const Tensor& input, double rcond = 1e-15, bool hermitian = false) {
  return dg::linalg_pinv(input, rcond, hermitian);
}

inline Tensor pinv(const Tensor& input, std::optional<double> atol, std::optional<double> rtol, bool hermitian) {
  return dg::linalg_pinv(input, atol, rtol, hermitian);
}

inline Tensor matrix_rank(const Tensor& input, std::optional<double> atol, std::optional<double> rtol, bool hermitian) {
  return dg::linalg_matrix_rank(input, atol, rtol, hermitian);
}

// LibTorch's older form: singular values above tol count.
inline Tensor matrix_rank(const Tensor& input, double tol, bool hermitian) {
  return dg::linalg_matrix_rank(input, tol, 0.0, hermitian);
}

inline Tensor vector_norm(const Tensor& self, const Scalar& ord = 2, OptionalIntArrayRef dim = std::nullopt,
                          bool keepdim = false, std::optional<ScalarType> dtype = std::nullopt) {
  return dg::linalg_vector_norm(detail::with_dtype(self, dtype), ord, dim.value_or_empty(), keepdim);
}

inline Tensor matrix_norm(const Tensor& self, const Scalar& ord, IntArrayRef dim = {-2, -1}, bool keepdim = false,
                          std::optional<ScalarType> dtype = std::nullopt) {
  return dg::linalg_matrix_norm(detail::with_dtype(self, dtype), ord, dim, keepdim);
}

inline Tensor matrix_norm(const Tensor& self, std::string_view ord = "fro", IntArrayRef dim = {-2, -1},
                          bool keepdim = false, std::optional<ScalarType> dtype = std::nullopt) {
  return dg::linalg_matrix_norm(detail::with_dtype(self, dtype), ord, dim, keepdim);
}

inline Tensor matrix_norm(const Tensor& self, const char* ord, IntArrayRef dim = {-2, -1}, bool keepdim = false,
                          std::optional<ScalarType> dtype = std::nullopt) {
  return matrix_norm(self, std::string_view(ord), dim, keepdim, dtype);
}

inline Tensor norm(const Tensor& self, const std::optional<Scalar>& ord = std::nullopt,
                   OptionalIntArrayRef dim = std::nullopt, bool keepdim = false,
                   std::optional<ScalarType> dtype = std::nullopt) {
  return dg::linalg_norm(detail::with_dtype(self, dtype), ord, dim.value_or_empty(), keepdim);
}

inline Tensor norm(const Tensor& self, std::string_view ord, OptionalIntArrayRef dim = std::nullopt,
                   bool keepdim = false, std::optional<ScalarType> dtype = std::nullopt) {
  return dg::linalg_norm(detail::with_dtype(self, dtype), ord, dim.value_or_empty(), keepdim);
}

inline Tensor norm(const Tensor& self, const char* ord, OptionalIntArrayRef dim = std::nullopt, bool keepdim = false,
                   std::optional<ScalarType> dtype = std::nullopt) {
  return norm(self, std::string_view(ord), std::move(dim), keepdim, dtype);
}

inline Tensor cond(const Tensor& self, const std::optional<Scalar>& p = std::nullopt) {
  return dg::linalg_cond(self, p);
}

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
