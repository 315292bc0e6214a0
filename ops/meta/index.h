#pragma once
// Shape rules of the reductions, linear algebra, shape and indexing (see meta.h).
#include <optional>
#include <vector>

#include "dynagrad/tensor.h"
#include "ops/meta.h"
namespace dg::meta {

// ---- helpers shared with the index group's composites ----------------------------
// `index` must be int64; `what` names the argument ("index").
void check_index_dtype(const char* op, const char* what, const Tensor& index);
// Every value of `index` lies in [0, size) (negative values are refused, as in
// PyTorch's gather/scatter/index_select); reads the values, so it runs before
// anything is written.
void check_index_range(const char* op, const Tensor& index, int64_t size, int64_t dim);
// The first value of `index` (int64, row-major order) outside [0, size) that
// is not `allowed`, if any: the reading behind check_index_range, for checks
// with their own message. A CUDA index is read on the host.
std::optional<int64_t> find_index_out_of_range(const Tensor& index, int64_t size,
                                               std::optional<int64_t> allowed = std::nullopt);
// Flags of the dims a reduction over `dim` (empty: all dims) covers, each
// wrapped and checked for repeats.
std::vector<bool> reduced_mask(const char* op, IntArrayRef dim, int64_t ndim);

// ---- named rules -----------------------------------------------------------------
TensorMeta reduce_one_dim(const char* op, const Tensor& self, int64_t dim, bool keepdim);
// amax/amin: like reduce_dims, keeps self's dtype and refuses empty reductions.
TensorMeta reduce_minmax(const char* op, const Tensor& self, IntArrayRef dim, bool keepdim);
TensorMeta arg_reduce(const char* op, const Tensor& self, std::optional<int64_t> dim, bool keepdim);
TensorMeta cumsum(const char* op, const Tensor& self, int64_t dim);
TensorMeta index_select(const char* op, const Tensor& self, int64_t dim, const Tensor& index);
TensorMeta gather(const char* op, const Tensor& self, int64_t dim, const Tensor& index, bool sparse_grad);
TensorMeta scatter_add(const char* op, const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
TensorMeta index_add(const char* op, const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                     const Scalar& alpha);
TensorMeta masked_fill(const char* op, const Tensor& self, const Tensor& mask, const Scalar& value);
TensorMeta masked_fill_tensor(const char* op, const Tensor& self, const Tensor& mask, const Tensor& value);
TensorMeta flip(const char* op, const Tensor& self, IntArrayRef dims);
TensorMeta triangle(const char* op, const Tensor& self, int64_t diagonal);

}  // namespace dg::meta
