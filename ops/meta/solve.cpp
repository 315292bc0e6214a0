// Shape rules of the solving half of linear algebra (inverse, determinants,
// Cholesky, triangular and general solves, LU, least squares). Errors name
// the op as PyTorch does ("linalg.inv"), and every check runs before the
// kernel writes anything.
#include <algorithm>
#include <string>
#include <vector>

#include "ops/meta.h"

namespace dg::meta {

namespace {

// "linalg_inv" -> "linalg.inv", "_linalg_solve" -> "linalg.solve".
std::string display(const char* op) {
  std::string s = op;
  if (!s.empty() && s[0] == '_') s.erase(0, 1);
  if (s.rfind("linalg_", 0) == 0) s[6] = '.';
  return s;
}

void check_floating(const std::string& op, const char* name, const Tensor& t) {
  DG_CHECK(t.dtype() == kFloat32 || t.dtype() == kFloat64, op, ": expected ", name,
           " to be a float32 or float64 tensor, got ", t.dtype());
}

void check_matrices(const std::string& op, const char* name, const Tensor& t) {
  DG_CHECK(t.dim() >= 2, op, ": the input tensor ", name, " must have at least 2 dimensions, got shape ", t.sizes());
  check_floating(op, name, t);
}

void check_square(const std::string& op, const char* name, const Tensor& t) {
  check_matrices(op, name, t);
  DG_CHECK(t.size(-1) == t.size(-2), op, ": ", name, " must be batches of square matrices, but they are ", t.size(-2),
           " by ", t.size(-1), " matrices");
}

// The broadcast of the batch dims of a (..., r, c) and b (..., r', c').
std::vector<int64_t> broadcast_batch(const char* op, const Tensor& a, const Tensor& b) {
  const DimVector s =
      broadcast_shapes(op, IntArrayRef(a.sizes().data(), a.dim() - 2), IntArrayRef(b.sizes().data(), b.dim() - 2));
  return std::vector<int64_t>(s.begin(), s.end());
}

DimVector with_matrix(std::vector<int64_t> batch, int64_t rows, int64_t cols) {
  DimVector out;
  for (int64_t d : batch) out.push_back(d);
  out.push_back(rows);
  out.push_back(cols);
  return out;
}

void check_pair(const std::string& op, const char* an, const Tensor& a, const char* bn, const Tensor& b) {
  check_same_device(op.c_str(), {&a, &b});
  DG_CHECK(a.dtype() == b.dtype(), op, ": expected ", an, " and ", bn, " to have the same dtype, but found ", an,
           " of type ", a.dtype(), " and ", bn, " of type ", b.dtype(), " instead");
}

}  // namespace

TensorMeta linalg_square(const char* op, const Tensor& A) {
  check_square(display(op), "A", A);
  return TensorMeta{A.sizes(), A.dtype(), A.device()};
}

TensorMeta linalg_square(const char* op, const Tensor& self, bool upper) {
  check_square(display(op), "A", self);
  return TensorMeta{self.sizes(), self.dtype(), self.device()};
}

TensorMeta linalg_det(const char* op, const Tensor& A) {
  check_square(display(op), "A", A);
  return TensorMeta{DimVector(IntArrayRef(A.sizes().data(), A.dim() - 2)), A.dtype(), A.device()};
}

TensorMeta linalg_slogdet(const char* op, const Tensor& A) {
  check_square(display(op), "A", A);
  DimVector sizes(IntArrayRef(A.sizes().data(), A.dim() - 2));
  sizes.push_back(2);
  return TensorMeta{sizes, A.dtype(), A.device()};
}

TensorMeta linalg_solve_triangular(const char* op, const Tensor& self, const Tensor& B, bool upper, bool left,
                                   bool unitriangular) {
  const std::string name = display(op);
  check_square(name, "A", self);
  check_matrices(name, "B", B);
  check_pair(name, "A", self, "B", B);
  const int64_t n = self.size(-1);
  const int64_t shared = left ? B.size(-2) : B.size(-1);
  DG_CHECK(shared == n, name, ": Incompatible shapes of A and B for the equation ", left ? "AX = B" : "XA = B", " (", n,
           "x", n, " and ", B.size(-2), "x", B.size(-1), ")");
  return TensorMeta{with_matrix(broadcast_batch(name.c_str(), self, B), B.size(-2), B.size(-1)), B.dtype(), B.device()};
}

TensorMeta linalg_solve(const char* op, const Tensor& A, const Tensor& B) {
  const std::string name = display(op);
  check_square(name, "A", A);
  check_matrices(name, "B", B);
  check_pair(name, "A", A, "B", B);
  DG_CHECK(B.size(-2) == A.size(-1), name, ": Incompatible shapes of A and B for the equation AX = B (", A.size(-2),
           "x", A.size(-1), " and ", B.size(-2), "x", B.size(-1), ")");
  return TensorMeta{with_matrix(broadcast_batch(name.c_str(), A, B), B.size(-2), B.size(-1)), B.dtype(), B.device()};
}

TensorMeta linalg_lu_factor_packed(const char* op, const Tensor& A) {
  check_matrices("linalg.lu_factor", "A", A);
  DimVector sizes = A.sizes();
  sizes[A.dim() - 1] += 1;
  return TensorMeta{sizes, A.dtype(), A.device()};
}

TensorMeta linalg_lstsq(const char* op, const Tensor& self, const Tensor& b, std::optional<double> rcond,
                        std::string_view driver) {
  const std::string name = display(op);
  check_matrices(name, "A", self);
  check_matrices(name, "B", b);
  check_pair(name, "A", self, "B", b);
  DG_CHECK(self.size(-2) == b.size(-2), name, ": A.size(-2) should match B.size(-2), got A of shape ", self.sizes(),
           " and B of shape ", b.sizes());
  DG_CHECK(driver.empty() || driver == "gelsy" || driver == "gels", name,
           ": driver must be \"gelsy\" or \"gels\" (gelsd and gelss are not supported yet), got \"", driver, "\"");
  DG_CHECK(self.device().is_cpu() || driver.empty() || driver == "gels", name,
           ": only the \"gels\" driver is supported on CUDA, got \"", driver, "\"");
  // The solution (n, k) and one more row holding the rank (kernels/cpu/solve.cpp).
  return TensorMeta{
      with_matrix(broadcast_batch(name.c_str(), self, b), self.size(-1) + 1, std::max<int64_t>(b.size(-1), 1)),
      self.dtype(), self.device()};
}

}  // namespace dg::meta
