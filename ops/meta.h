#pragma once
// Shape rules ("meta functions"): given an op's arguments, check them and say
// what the output looks like, before anything is allocated or written. The
// generated dispatch layer calls them; ops.yaml names them (`meta:`), and the
// generator declares each from its op's signature (generated/ops/
// meta_decls.h, included at the end). ops/meta/*.cpp hold the bodies, one
// file per family. Every error names the op (first argument) and the
// offending argument.
#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

#include "dynagrad/tensor.h"

namespace dg::meta {

// What a kernel op's shape rule answers: the output to allocate.
struct TensorMeta {
  DimVector sizes;
  ScalarType dtype = kFloat32;
  Device device;
};

// What a view op's shape rule answers: the geometry of the alias.
struct ViewMeta {
  DimVector sizes;
  DimVector strides;
  int64_t offset = 0;
};

// ---- decompositions (decompose.cpp) ---------------------------------------------
// A decomposition's input: float32/float64 matrices (..., m, n), square when
// asked (decompose.cpp); and the length of the packed outputs of svd and qr.
void check_linalg_input(const char* op, const Tensor& A, bool square);
int64_t svd_packed_size(int64_t m, int64_t n, bool full_matrices);
int64_t qr_packed_size(int64_t m, int64_t n, std::string_view mode);

// ---- shared helpers (common.cpp) ----------------------------------------------
// Wraps a possibly negative dim into [0, ndim) (ndim 0 accepts -1 and 0).
int64_t wrap_dim(const char* op, int64_t dim, int64_t ndim);
// NumPy broadcasting of two shapes.
DimVector broadcast_shapes(const char* op, IntArrayRef a, IntArrayRef b);
// Whether `from` broadcasts to `to` without changing `to` (copy_'s src, bernoulli_'s p).
bool broadcasts_to(IntArrayRef from, IntArrayRef to);
// Replaces one -1 in `shape` so it holds `numel` elements.
DimVector infer_size(const char* op, IntArrayRef shape, int64_t numel);
// Strides that let a tensor of (sizes, strides) be viewed as new_sizes without
// a copy, or nullopt when no such strides exist.
std::optional<DimVector> view_strides(IntArrayRef sizes, IntArrayRef strides, IntArrayRef new_sizes);
// All tensors on one device, or an error naming the op.
void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors);
// a and b of one dtype, or an error naming the op and both arguments.
void check_same_dtype(const char* op, const char* a_name, const Tensor& a, const char* b_name, const Tensor& b);
// Flags of the dims a reduction over `dim` (empty: all dims) covers, each
// wrapped and checked for repeats.
std::vector<bool> reduced_mask(const char* op, IntArrayRef dim, int64_t ndim);
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

// ---- pointwise (category: pointwise; pointwise.cpp) ---------------------------
// A tensor argument with its name, so messages can say which one is wrong.
struct NamedTensor {
  const char* name;
  const Tensor* tensor;
  bool promote = true;  // false: broadcast, but keep out of type promotion (masks, conditions)
};
// Broadcast shape of the tensors, promoted dtype (a floating Scalar makes an
// integer result float32; int_to_float does so for any integer result).
TensorMeta pointwise(const char* op, std::initializer_list<NamedTensor> tensors,
                     std::initializer_list<const Scalar*> scalars, bool int_to_float);

// ---- views (shape.cpp) ----------------------------------------------------------
// Python's rule for self[start:end:step] along a dim of `size` elements: a
// missing start is 0, a missing end is `size`, negative ones count from the
// end, both are then clamped into [0, size] and end to at least start.
struct SliceBounds {
  int64_t start = 0;
  int64_t end = 0;
  int64_t length = 0;  // elements in the slice: ceil((end - start) / step)
};
SliceBounds slice_bounds(const char* op, int64_t size, std::optional<int64_t> start, std::optional<int64_t> end,
                         int64_t step);
// dims wrapped into [0, ndim), checked to be a permutation of 0..ndim-1.
DimVector permutation(const char* op, IntArrayRef dims, int64_t ndim);
// Sizes of diagonal(offset, dim1, dim2) of a tensor of `sizes`, after checking
// the dims (wrapped into d1, d2).
struct DiagonalShape {
  int64_t dim1 = 0, dim2 = 1;
  int64_t length = 0;  // elements on the diagonal
};
DiagonalShape diagonal_shape(const char* op, IntArrayRef sizes, int64_t offset, int64_t dim1, int64_t dim2);
// Checks one as_strided geometry (sizes and strides of equal length, none
// negative, storage offset not negative); `what` names it in messages.
void check_geometry(const char* op, const char* what, IntArrayRef size, IntArrayRef stride, int64_t storage_offset);

// ---- convolution and pooling (conv.cpp, pool.cpp) -------------------------------
// Checks a batched convolution (input [N, C, *spatial] with `spatial` = 1 or
// 2 spatial dims) and returns the output sizes. transposed: weight is
// [C_in, C_out / groups, *kernel] and the output is the input's adjoint shape
// (plus output_padding). The composites (conv2d, ...) call it with their own
// name before anything runs.
DimVector conv_output_sizes(const char* op, int64_t spatial, IntArrayRef input, IntArrayRef weight, IntArrayRef stride,
                            IntArrayRef padding, IntArrayRef dilation, bool transposed, IntArrayRef output_padding,
                            int64_t groups);
// Input sizes with the last two dims replaced by (oh, ow).
DimVector pooled_sizes(IntArrayRef input, int64_t oh, int64_t ow);
// output_size: [oh, ow] (one value means a square).
DimVector adaptive_pool_output(const char* op, IntArrayRef input, IntArrayRef output_size);

}  // namespace dg::meta

// The rules ops.yaml names, declared from the ops' signatures.
#include "generated/ops/meta_decls.h"
