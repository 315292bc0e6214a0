#pragma once
// Shape rules ("meta functions"): given an op's arguments, check them and say
// what the output looks like, before anything is allocated or written. The
// generated dispatch layer calls them; ops.yaml names them (`meta:`).
// Every error names the op (first argument) and the offending argument.
#include <initializer_list>
#include <optional>

#include "dynagrad/tensor.h"

namespace dg::meta {

struct TensorMeta {
  DimVector sizes;
  ScalarType dtype = kFloat32;
  Device device;
};

struct ViewMeta {
  DimVector sizes;
  DimVector strides;
  int64_t offset = 0;
};

// ---- shared helpers ---------------------------------------------------------
// Wraps a possibly negative dim into [0, ndim) (ndim 0 accepts -1 and 0).
int64_t wrap_dim(const char* op, int64_t dim, int64_t ndim);
// NumPy broadcasting of two shapes.
DimVector broadcast_shapes(const char* op, IntArrayRef a, IntArrayRef b);
// Replaces one -1 in `shape` so it holds `numel` elements.
DimVector infer_size(const char* op, IntArrayRef shape, int64_t numel);
// Strides that let a tensor of (sizes, strides) be viewed as new_sizes without
// a copy, or nullopt when no such strides exist.
std::optional<DimVector> view_strides(IntArrayRef sizes, IntArrayRef strides, IntArrayRef new_sizes);
// All tensors on one device, or an error naming the op.
void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors);

// ---- pointwise (category: pointwise) ------------------------------------------
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

// ---- named rules (ops.yaml `meta:`) ------------------------------------------
TensorMeta reduce_all(const char* op, const Tensor& self);
TensorMeta reduce_dims(const char* op, const Tensor& self, IntArrayRef dim, bool keepdim);
TensorMeta mm(const char* op, const Tensor& self, const Tensor& mat2);
TensorMeta bmm(const char* op, const Tensor& self, const Tensor& mat2);
TensorMeta same_shape(const char* op, const Tensor& self);
TensorMeta select_backward(const char* op, const Tensor& grad_output, IntArrayRef input_sizes, int64_t dim,
                           int64_t index);
void check_copy(const char* op, const Tensor& self, const Tensor& src);

ViewMeta view(const char* op, const Tensor& self, IntArrayRef size);
ViewMeta expand(const char* op, const Tensor& self, IntArrayRef size);
ViewMeta transpose(const char* op, const Tensor& self, int64_t dim0, int64_t dim1);
ViewMeta squeeze(const char* op, const Tensor& self);
ViewMeta squeeze_dim(const char* op, const Tensor& self, int64_t dim);
ViewMeta unsqueeze(const char* op, const Tensor& self, int64_t dim);
ViewMeta select(const char* op, const Tensor& self, int64_t dim, int64_t index);

// ---- more views: permute, slice, diagonal, as_strided -------------------------
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

ViewMeta permute(const char* op, const Tensor& self, IntArrayRef dims);
ViewMeta slice(const char* op, const Tensor& self, int64_t dim, std::optional<int64_t> start,
               std::optional<int64_t> end, int64_t step);
ViewMeta diagonal(const char* op, const Tensor& self, int64_t offset, int64_t dim1, int64_t dim2);
ViewMeta as_strided(const char* op, const Tensor& self, IntArrayRef size, IntArrayRef stride,
                    std::optional<int64_t> storage_offset);
TensorMeta as_strided_backward(const char* op, const Tensor& grad, IntArrayRef input_sizes, IntArrayRef input_strides,
                               int64_t input_storage_offset, IntArrayRef size, IntArrayRef stride,
                               int64_t storage_offset);
TensorMeta as_strided_backward_adjoint(const char* op, const Tensor& grad, IntArrayRef input_sizes,
                                       IntArrayRef input_strides, int64_t input_storage_offset, IntArrayRef size,
                                       IntArrayRef stride, int64_t storage_offset);

}  // namespace dg::meta

// Shape rules of the operator groups, one header each.
#include "ops/meta/index.h"
#include "ops/meta/nn.h"
#include "ops/meta/conv.h"
