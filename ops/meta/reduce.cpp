// Shape rules of the reductions (sum, prod, amax/amin, argmax/argmin,
// cumsum): reduced sizes, the dtype a reduction keeps or widens to.
#include <algorithm>

#include "ops/meta.h"

namespace dg::meta {

namespace {

ScalarType reduced_dtype(ScalarType t) {
  // As in PyTorch, multiplying up integers or bools gives int64 (sum, prod
  // and cumsum cast their input before their kernels; cumprod is a kernel).
  return is_integral(t, /*include_bool=*/true) ? kInt64 : t;
}

}  // namespace

// ---- named rules --------------------------------------------------------------

TensorMeta reduce_all(const char* op, const Tensor& self) {
  (void)op;
  return TensorMeta{DimVector(), self.dtype(), self.device()};
}

TensorMeta reduce_dims(const char* op, const Tensor& self, IntArrayRef dim, bool keepdim) {
  const int64_t nd = self.dim();
  std::vector<bool> reduced(static_cast<size_t>(std::max<int64_t>(nd, 1)), dim.empty());
  for (int64_t d : dim) {
    const int64_t w = wrap_dim(op, d, nd);
    DG_CHECK(!reduced[w], op, ": dim ", w, " appears more than once in the list of dims ", dim);
    reduced[w] = true;
  }
  TensorMeta m{DimVector(), self.dtype(), self.device()};
  for (int64_t d = 0; d < nd; ++d) {
    if (!reduced[d]) m.sizes.push_back(self.size(d));
    else if (keepdim) m.sizes.push_back(1);
  }
  return m;
}

TensorMeta reduce_one_dim(const char* op, const Tensor& self, int64_t dim, bool keepdim) {
  return reduce_dims(op, self, IntArrayRef(dim), keepdim);
}

TensorMeta reduce_minmax(const char* op, const Tensor& self, IntArrayRef dim, bool keepdim) {
  const std::vector<bool> reduced = reduced_mask(op, dim, self.dim());
  TensorMeta m{DimVector(), self.dtype(), self.device()};
  for (int64_t d = 0; d < self.dim(); ++d) {
    if (!reduced[d]) {
      m.sizes.push_back(self.size(d));
      continue;
    }
    DG_CHECK(self.size(d) > 0, op, ": expected reduction dim ", d, " to have non-zero size (the ", op,
             " of no elements is undefined), got self of shape ", self.sizes());
    if (keepdim) m.sizes.push_back(1);
  }
  return m;
}

TensorMeta arg_reduce(const char* op, const Tensor& self, std::optional<int64_t> dim, bool keepdim) {
  TensorMeta m{DimVector(), kInt64, self.device()};
  if (!dim) {
    DG_CHECK(self.numel() > 0, op, ": expected a non-empty tensor (the ", op,
             " of no elements is undefined), got self of shape ", self.sizes());
    if (keepdim) m.sizes = DimVector(static_cast<size_t>(self.dim()), 1);
    return m;
  }
  const int64_t d = wrap_dim(op, *dim, self.dim());
  for (int64_t k = 0; k < self.dim(); ++k) {
    if (k != d) {
      m.sizes.push_back(self.size(k));
      continue;
    }
    DG_CHECK(self.size(k) > 0, op, ": expected reduction dim ", k, " to have non-zero size, got self of shape ",
             self.sizes());
    if (keepdim) m.sizes.push_back(1);
  }
  return m;
}

TensorMeta scan(const char* op, const Tensor& self, int64_t dim) {
  wrap_dim(op, dim, self.dim());
  return TensorMeta{DimVector(self.sizes()), self.dtype(), self.device()};
}

TensorMeta cumprod(const char* op, const Tensor& self, int64_t dim) {
  TensorMeta m = scan(op, self, dim);
  m.dtype = reduced_dtype(self.dtype());
  return m;
}

}  // namespace dg::meta
