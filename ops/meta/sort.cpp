// Shape rules of the sorting and selection family: permutations and picked
// indices (int64) along one dim, scans, and searchsorted's two inputs.
#include "ops/meta.h"

namespace dg::meta {

namespace {

// The length of self along the (wrapped) dim d: 1 for a 0-dim tensor.
int64_t line_length(const Tensor& self, int64_t d) { return self.dim() == 0 ? 1 : self.size(d); }

// self's sizes with dim d set to n (a 0-dim tensor stays 0-dim).
DimVector with_size(const Tensor& self, int64_t d, int64_t n) {
  DimVector s(self.sizes());
  if (self.dim() > 0) s[static_cast<size_t>(d)] = n;
  return s;
}

void check_not_bool(const char* op, const Tensor& self) {
  DG_CHECK(self.dtype() != kBool, op, ": expected a float32, float64 or int64 tensor, got ", self.dtype());
}

}  // namespace

TensorMeta sort_indices(const char* op, const Tensor& self, int64_t dim, bool descending, bool stable) {
  (void)descending;
  (void)stable;
  check_not_bool(op, self);
  wrap_dim(op, dim, self.dim());
  return TensorMeta{DimVector(self.sizes()), kInt64, self.device()};
}

TensorMeta topk_indices(const char* op, const Tensor& self, int64_t k, int64_t dim, bool largest, bool sorted) {
  (void)largest;
  (void)sorted;
  check_not_bool(op, self);
  const int64_t d = wrap_dim(op, dim, self.dim());
  const int64_t n = line_length(self, d);
  DG_CHECK(k >= 0 && k <= n, op, ": selected index k out of range: expected 0 <= k <= ", n, " (the size of dim ", d,
           "), got k = ", k);
  return TensorMeta{with_size(self, d, k), kInt64, self.device()};
}

TensorMeta median_indices(const char* op, const Tensor& self, int64_t dim, bool ignore_nan) {
  (void)ignore_nan;
  return mode_indices(op, self, dim);
}

TensorMeta mode_indices(const char* op, const Tensor& self, int64_t dim) {
  check_not_bool(op, self);
  const int64_t d = wrap_dim(op, dim, self.dim());
  DG_CHECK(line_length(self, d) > 0, op, ": expected reduction dim ", d, " to have non-zero size, got self of shape ",
           self.sizes());
  return TensorMeta{with_size(self, d, 1), kInt64, self.device()};
}

TensorMeta searchsorted(const char* op, const Tensor& sorted_sequence, const Tensor& self, bool right) {
  (void)right;
  check_same_device(op, {&sorted_sequence, &self});
  check_not_bool(op, self);
  check_same_dtype(op, "sorted_sequence", sorted_sequence, "self", self);
  const Tensor& seq = sorted_sequence;
  bool leading_match = seq.dim() == 1;
  if (seq.dim() > 1 && seq.dim() == self.dim()) {
    leading_match = true;
    for (int64_t k = 0; k + 1 < seq.dim(); ++k) leading_match = leading_match && seq.size(k) == self.size(k);
  }
  DG_CHECK(leading_match, op,
           ": expected sorted_sequence to be 1-D, or to have self's number of dims with the same sizes in all but "
           "the last, got sorted_sequence of shape ",
           seq.sizes(), " and self of shape ", self.sizes());
  return TensorMeta{DimVector(self.sizes()), kInt64, self.device()};
}

TensorMeta cummaxmin_indices(const char* op, const Tensor& self, int64_t dim, bool max) {
  (void)max;
  check_not_bool(op, self);
  wrap_dim(op, dim, self.dim());
  return TensorMeta{DimVector(self.sizes()), kInt64, self.device()};
}

TensorMeta logcumsumexp(const char* op, const Tensor& self, int64_t dim) {
  DG_CHECK(self.is_floating_point(), op, ": expected a floating point tensor, got ", self.dtype());
  wrap_dim(op, dim, self.dim());
  return TensorMeta{DimVector(self.sizes()), self.dtype(), self.device()};
}

}  // namespace dg::meta
