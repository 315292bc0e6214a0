// Shape rules of the indexing ops: index_select, gather, scatter_add,
// index_add, masked_fill, flip, tril/triu. Index tensors are read here, so an
// out-of-range index never reaches a kernel.
#include <string>

#include "ops/meta.h"

namespace dg::meta {

namespace {

const char* plural(int64_t n) { return n == 1 ? "" : "s"; }

// A 0-dim tensor behaves as one of shape [1] in the indexing ops.
int64_t size_or_one(const Tensor& t, int64_t d) { return t.dim() == 0 ? 1 : t.size(d); }

void check_index_vector(const char* op, const Tensor& index) {
  check_index_dtype(op, "index", index);
  DG_CHECK(index.dim() <= 1, op, ": expected index to be a 1-D (or 0-dim) tensor, got one of shape ", index.sizes());
}

TensorMeta masked(const char* op, const Tensor& self, const Tensor& mask) {
  check_same_device(op, {&self, &mask});
  DG_CHECK(mask.dtype() == kBool, op, ": expected mask of dtype bool, got ", mask.dtype());
  return TensorMeta{broadcast_shapes(op, self.sizes(), mask.sizes()), self.dtype(), self.device()};
}

}  // namespace

TensorMeta index_select(const char* op, const Tensor& self, int64_t dim, const Tensor& index) {
  check_same_device(op, {&self, &index});
  const int64_t d = wrap_dim(op, dim, self.dim());
  check_index_vector(op, index);
  check_index_range(op, index, size_or_one(self, d), d);
  TensorMeta m{DimVector(self.sizes()), self.dtype(), self.device()};
  if (self.dim() > 0) m.sizes[d] = index.numel();
  else DG_CHECK(index.numel() == 1, op, ": a 0-dim self takes one index, got ", index.numel());
  return m;
}

TensorMeta gather(const char* op, const Tensor& self, int64_t dim, const Tensor& index, bool sparse_grad) {
  (void)sparse_grad;  // the gradient is always dense
  check_same_device(op, {&self, &index});
  const int64_t d = wrap_dim(op, dim, self.dim());
  check_index_dtype(op, "index", index);
  DG_CHECK(index.dim() == self.dim() || (self.dim() <= 1 && index.dim() <= 1), op,
           ": expected index to have as many dimensions as self (", self.dim(), "), got index of shape ", index.sizes(),
           " and self of shape ", self.sizes());
  for (int64_t k = 0; k < index.dim(); ++k) {
    if (k == d) continue;
    DG_CHECK(index.size(k) <= size_or_one(self, k), op, ": index of shape ", index.sizes(),
             " is larger than self of shape ", self.sizes(), " in dimension ", k, " (expected at most ",
             size_or_one(self, k), ")");
  }
  check_index_range(op, index, size_or_one(self, d), d);
  return TensorMeta{DimVector(index.sizes()), self.dtype(), self.device()};
}

TensorMeta scatter_add(const char* op, const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  check_same_device(op, {&self, &index, &src});
  const int64_t d = wrap_dim(op, dim, self.dim());
  check_index_dtype(op, "index", index);
  DG_CHECK(src.dtype() == self.dtype(), op, ": expected src of self's dtype ", self.dtype(), ", got ", src.dtype());
  DG_CHECK(index.dim() == self.dim() && src.dim() == self.dim(), op,
           ": expected index and src to have as many dimensions as self (", self.dim(), "), got index of shape ",
           index.sizes(), " and src of shape ", src.sizes());
  for (int64_t k = 0; k < index.dim(); ++k) {
    DG_CHECK(index.size(k) <= src.size(k), op, ": index of shape ", index.sizes(), " is larger than src of shape ",
             src.sizes(), " in dimension ", k);
    if (k == d) continue;
    DG_CHECK(index.size(k) <= self.size(k), op, ": index of shape ", index.sizes(), " is larger than self of shape ",
             self.sizes(), " in dimension ", k);
  }
  check_index_range(op, index, size_or_one(self, d), d);
  return TensorMeta{DimVector(self.sizes()), self.dtype(), self.device()};
}

TensorMeta scatter_value(const char* op, const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value) {
  (void)value;
  check_same_device(op, {&self, &index});
  const int64_t d = wrap_dim(op, dim, self.dim());
  check_index_dtype(op, "index", index);
  DG_CHECK(index.dim() == self.dim(), op, ": expected index to have as many dimensions as self (", self.dim(),
           "), got index of shape ", index.sizes());
  for (int64_t k = 0; k < index.dim(); ++k) {
    if (k == d) continue;
    DG_CHECK(index.size(k) <= self.size(k), op, ": index of shape ", index.sizes(), " is larger than self of shape ",
             self.sizes(), " in dimension ", k);
  }
  check_index_range(op, index, size_or_one(self, d), d);
  return TensorMeta{DimVector(self.sizes()), self.dtype(), self.device()};
}

namespace {
void check_scatter_reduce(const char* op, std::string_view reduce) {
  DG_CHECK(reduce == "add" || reduce == "multiply", op, ": expected reduce 'add' or 'multiply', got '",
           std::string(reduce), "'");
}
}  // namespace

TensorMeta scatter_src_reduce(const char* op, const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                              std::string_view reduce) {
  check_scatter_reduce(op, reduce);
  return scatter_add(op, self, dim, index, src);
}

TensorMeta scatter_value_reduce(const char* op, const Tensor& self, int64_t dim, const Tensor& index,
                                const Scalar& value, std::string_view reduce) {
  check_scatter_reduce(op, reduce);
  return scatter_value(op, self, dim, index, value);
}

TensorMeta index_add(const char* op, const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                     const Scalar& alpha) {
  DG_CHECK(!alpha.is_floating_point() || self.is_floating_point(), op, ": a floating alpha (", alpha,
           ") needs a floating self, got ", self.dtype());
  return index_copy(op, self, dim, index, source);
}

TensorMeta index_copy(const char* op, const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source) {
  check_same_device(op, {&self, &index, &source});
  const int64_t d = wrap_dim(op, dim, self.dim());
  check_index_vector(op, index);
  DG_CHECK(source.dtype() == self.dtype(), op, ": expected source of self's dtype ", self.dtype(), ", got ",
           source.dtype());
  if (self.dim() == 0) {
    DG_CHECK(source.numel() == 1 && index.numel() == 1, op,
             ": a 0-dim self takes one index and a one-element source, got index of shape ", index.sizes(),
             " and source of shape ", source.sizes());
  } else {
    DG_CHECK(source.dim() == self.dim(), op, ": expected source to have as many dimensions as self (", self.dim(),
             "), got source of shape ", source.sizes());
    for (int64_t k = 0; k < self.dim(); ++k) {
      const int64_t want = k == d ? index.numel() : self.size(k);
      DG_CHECK(source.size(k) == want, op, ": expected source of shape ", self.sizes(), " with dimension ", d,
               " of size ", index.numel(), " (the number of indices), got source of shape ", source.sizes());
    }
  }
  check_index_range(op, index, size_or_one(self, d), d);
  return TensorMeta{DimVector(self.sizes()), self.dtype(), self.device()};
}

TensorMeta masked_fill(const char* op, const Tensor& self, const Tensor& mask, const Scalar& value) {
  (void)value;  // converted to self's dtype, as in PyTorch
  return masked(op, self, mask);
}

TensorMeta masked_fill_tensor(const char* op, const Tensor& self, const Tensor& mask, const Tensor& value) {
  DG_CHECK(value.dim() == 0, op, ": expected value to be a 0-dim tensor, got one of shape ", value.sizes());
  check_same_device(op, {&self, &value});
  return masked(op, self, mask);
}

TensorMeta flip(const char* op, const Tensor& self, IntArrayRef dims) {
  std::vector<bool> seen(static_cast<size_t>(std::max<int64_t>(self.dim(), 1)), false);
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(op, d, self.dim());
    DG_CHECK(!seen[w], op, ": dim ", w, " appears more than once in dims ", dims);
    seen[w] = true;
  }
  return TensorMeta{DimVector(self.sizes()), self.dtype(), self.device()};
}

TensorMeta triangle(const char* op, const Tensor& self, int64_t diagonal) {
  (void)diagonal;
  DG_CHECK(self.dim() >= 2, op, ": expected a tensor of at least 2 dimensions, got one of shape ", self.sizes(), " (",
           self.dim(), " dimension", plural(self.dim()), ")");
  return TensorMeta{DimVector(self.sizes()), self.dtype(), self.device()};
}

}  // namespace dg::meta
