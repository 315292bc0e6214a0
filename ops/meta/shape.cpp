// Shape rules of the views (view, expand, transpose, squeeze, unsqueeze,
// select, permute, slice, diagonal, as_strided) and of the gradients of
// views: the alias's geometry, checked before it is made.
#include <algorithm>
#include <cstring>
#include <string>

#include "ops/meta.h"

namespace dg::meta {

namespace {

DimVector with_dim_removed(IntArrayRef a, int64_t d) {
  DimVector v(a);
  v.erase(static_cast<size_t>(d));
  return v;
}

}  // namespace

TensorMeta select_backward(const char* op, const Tensor& grad_output, IntArrayRef input_sizes, int64_t dim,
                           int64_t index) {
  const int64_t nd = static_cast<int64_t>(input_sizes.size());
  DG_CHECK(nd > 0, op, ": expected input_sizes to have at least one dimension, got ", input_sizes);
  const int64_t d = wrap_dim(op, dim, nd);
  const int64_t n = input_sizes[d];
  DG_CHECK(index >= -n && index < n, op, ": index ", index, " is out of range for dimension ", d, " of size ", n,
           " (expected ", -n, "..", n - 1, ")");
  const DimVector expected = with_dim_removed(input_sizes, d);
  DG_CHECK(grad_output.sizes() == expected.ref(), op, ": expected grad_output of shape ", expected.ref(),
           " (input_sizes ", input_sizes, " without dim ", d, "), got ", grad_output.sizes());
  return TensorMeta{DimVector(input_sizes), grad_output.dtype(), grad_output.device()};
}

// ---- views ----------------------------------------------------------------------

ViewMeta view(const char* op, const Tensor& self, IntArrayRef size) {
  DimVector sizes = infer_size(op, size, self.numel());
  std::optional<DimVector> strides = view_strides(self.sizes(), self.strides(), sizes);
  DG_CHECK(strides.has_value(), op, ": view size ", sizes.ref(), " is not compatible with input tensor's size ",
           self.sizes(), " and stride ", self.strides(),
           " (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.");
  return ViewMeta{std::move(sizes), std::move(*strides), self.storage_offset()};
}

ViewMeta expand(const char* op, const Tensor& self, IntArrayRef size) {
  const int64_t nd = self.dim();
  const int64_t nn = static_cast<int64_t>(size.size());
  DG_CHECK(nn >= nd, op, ": the number of sizes provided (", nn,
           ") must be greater or equal to the number of dimensions in the tensor (", nd, "); sizes ", size,
           ", tensor of shape ", self.sizes());
  ViewMeta m{DimVector(static_cast<size_t>(nn), 0), DimVector(static_cast<size_t>(nn), 0), self.storage_offset()};
  for (int64_t i = nn - 1; i >= 0; --i) {
    const int64_t d = i - (nn - nd);
    const int64_t target = size[i];
    if (d < 0) {
      DG_CHECK(target >= 0, op, ": the size ", target, " is not allowed at leading dimension ", i,
               ", which the tensor does not have (sizes ", size, ")");
      m.sizes[i] = target;
      // A new size-1 dim gets the stride a contiguous layout would give it.
      m.strides[i] = target == 1 && i + 1 < nn ? m.sizes[i + 1] * m.strides[i + 1] : 0;
      if (target == 1 && i + 1 == nn) m.strides[i] = 1;
      continue;
    }
    const int64_t have = self.size(d);
    if (target == -1 || target == have) {
      m.sizes[i] = have;
      m.strides[i] = self.stride(d);
    } else {
      DG_CHECK(have == 1 && target >= 0, op, ": the expanded size of the tensor (", target,
               ") must match the existing size (", have, ") at non-singleton dimension ", i, ". Target sizes: ", size,
               ". Tensor sizes: ", self.sizes());
      m.sizes[i] = target;
      m.strides[i] = 0;
    }
  }
  return m;
}

ViewMeta transpose(const char* op, const Tensor& self, int64_t dim0, int64_t dim1) {
  const int64_t nd = self.dim();
  const int64_t a = wrap_dim(op, dim0, nd), b = wrap_dim(op, dim1, nd);
  ViewMeta m{DimVector(self.sizes()), DimVector(self.strides()), self.storage_offset()};
  if (nd == 0) return m;
  std::swap(m.sizes[a], m.sizes[b]);
  std::swap(m.strides[a], m.strides[b]);
  return m;
}

ViewMeta squeeze(const char* op, const Tensor& self) {
  (void)op;
  ViewMeta m{DimVector(), DimVector(), self.storage_offset()};
  for (int64_t d = 0; d < self.dim(); ++d) {
    if (self.size(d) == 1) continue;
    m.sizes.push_back(self.size(d));
    m.strides.push_back(self.stride(d));
  }
  return m;
}

ViewMeta squeeze_dim(const char* op, const Tensor& self, int64_t dim) {
  const int64_t d = wrap_dim(op, dim, self.dim());
  ViewMeta m{DimVector(self.sizes()), DimVector(self.strides()), self.storage_offset()};
  if (self.dim() > 0 && self.size(d) == 1) {
    m.sizes.erase(static_cast<size_t>(d));
    m.strides.erase(static_cast<size_t>(d));
  }
  return m;
}

ViewMeta unsqueeze(const char* op, const Tensor& self, int64_t dim) {
  const int64_t nd = self.dim();
  const int64_t d = wrap_dim(op, dim, nd + 1);
  ViewMeta m{DimVector(self.sizes()), DimVector(self.strides()), self.storage_offset()};
  const int64_t stride = d < nd ? self.size(d) * self.stride(d) : 1;
  m.sizes.insert(static_cast<size_t>(d), 1);
  m.strides.insert(static_cast<size_t>(d), stride);
  return m;
}

ViewMeta select(const char* op, const Tensor& self, int64_t dim, int64_t index) {
  DG_CHECK(self.dim() > 0, op, ": cannot select on a 0-dim tensor");
  const int64_t d = wrap_dim(op, dim, self.dim());
  const int64_t n = self.size(d);
  DG_CHECK(index >= -n && index < n, op, ": index ", index, " is out of range for dimension ", d, " of size ", n,
           " (expected ", -n, "..", n - 1, ")");
  if (index < 0) index += n;
  return ViewMeta{with_dim_removed(self.sizes(), d), with_dim_removed(self.strides(), d),
                  self.storage_offset() + index * self.stride(d)};
}

// ---- more views: permute, slice, diagonal, as_strided -------------------------

SliceBounds slice_bounds(const char* op, int64_t size, std::optional<int64_t> start, std::optional<int64_t> end,
                         int64_t step) {
  DG_CHECK(step > 0, op, ": expected step to be positive, got step=", step);
  int64_t s = start.value_or(0);
  int64_t e = end.value_or(size);
  if (s < 0) s += size;
  if (e < 0) e += size;
  s = std::clamp<int64_t>(s, 0, size);
  e = std::clamp<int64_t>(e, s, size);
  // (e - s) <= size, so this cannot overflow.
  return SliceBounds{s, e, (e - s + step - 1) / step};
}

DimVector permutation(const char* op, IntArrayRef dims, int64_t ndim) {
  DG_CHECK(static_cast<int64_t>(dims.size()) == ndim, op, ": expected dims to list each of the ", ndim, " dimension",
           ndim == 1 ? "" : "s", " of the tensor once, got dims ", dims, " of length ", dims.size());
  DimVector out(dims.size(), 0);
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    DG_CHECK(dims[i] >= -ndim && dims[i] < ndim, op, ": dim ", dims[i], " in dims ", dims,
             " is out of range for a tensor of ", ndim, " dimension", ndim == 1 ? "" : "s", " (expected ", -ndim, "..",
             ndim - 1, ")");
    const int64_t d = dims[i] < 0 ? dims[i] + ndim : dims[i];
    DG_CHECK(!seen[d], op, ": expected dims to be a permutation of 0..", ndim - 1, ", got dims ", dims,
             " in which dim ", d, " appears more than once");
    seen[d] = true;
    out[i] = d;
  }
  return out;
}

DiagonalShape diagonal_shape(const char* op, IntArrayRef sizes, int64_t offset, int64_t dim1, int64_t dim2) {
  const int64_t nd = static_cast<int64_t>(sizes.size());
  DG_CHECK(nd >= 2, op, ": expected a tensor of at least 2 dimensions, got a tensor of shape ", sizes);
  DiagonalShape r;
  r.dim1 = wrap_dim(op, dim1, nd);
  r.dim2 = wrap_dim(op, dim2, nd);
  DG_CHECK(r.dim1 != r.dim2, op, ": expected two different dimensions, got dim1=", dim1, " and dim2=", dim2,
           " (both dimension ", r.dim1, ")");
  const int64_t n1 = sizes[r.dim1], n2 = sizes[r.dim2];
  // offset may be anything: a diagonal outside the plane is just empty.
  if (offset >= 0) r.length = offset >= n2 ? 0 : std::min(n1, n2 - offset);
  else r.length = -offset >= n1 ? 0 : std::min(n1 + offset, n2);
  return r;
}

void check_geometry(const char* op, const char* what, IntArrayRef size, IntArrayRef stride, int64_t storage_offset) {
  DG_CHECK(size.size() == stride.size(), op, ": expected ", what, " sizes and strides of the same length, got sizes ",
           size, " (", size.size(), " dims) and strides ", stride, " (", stride.size(), " dims)");
  for (size_t i = 0; i < size.size(); ++i) {
    DG_CHECK(size[i] >= 0, op, ": expected non-negative ", what, " sizes, got ", size);
    DG_CHECK(stride[i] >= 0, op, ": expected non-negative ", what,
             " strides (negative strides are not supported), got ", stride);
  }
  DG_CHECK(storage_offset >= 0, op, ": expected a non-negative ", what, " storage offset, got ", storage_offset);
  // The last storage element it reaches must be representable.
  int64_t last = storage_offset;
  bool overflow = false;
  for (size_t i = 0; i < size.size() && !overflow; ++i) {
    int64_t span = 0;
    if (size[i] == 0) return;
    overflow = __builtin_mul_overflow(size[i] - 1, stride[i], &span) || __builtin_add_overflow(last, span, &last);
  }
  for (size_t i = 0; i < size.size(); ++i) {
    if (size[i] == 0) return;
  }
  DG_CHECK(!overflow, op, ": the ", what, " sizes ", size, " and strides ", stride, " reach beyond 2^63 elements");
}

ViewMeta permute(const char* op, const Tensor& self, IntArrayRef dims) {
  const DimVector perm = permutation(op, dims, self.dim());
  ViewMeta m{DimVector(perm.size(), 0), DimVector(perm.size(), 0), self.storage_offset()};
  for (size_t i = 0; i < perm.size(); ++i) {
    m.sizes[i] = self.size(perm[i]);
    m.strides[i] = self.stride(perm[i]);
  }
  return m;
}

ViewMeta slice(const char* op, const Tensor& self, int64_t dim, std::optional<int64_t> start,
               std::optional<int64_t> end, int64_t step) {
  DG_CHECK(self.dim() > 0, op, ": cannot slice a 0-dim tensor");
  const int64_t d = wrap_dim(op, dim, self.dim());
  const SliceBounds b = slice_bounds(op, self.size(d), start, end, step);
  ViewMeta m{DimVector(self.sizes()), DimVector(self.strides()), self.storage_offset()};
  m.sizes[d] = b.length;
  m.strides[d] = self.stride(d) * step;
  // An empty slice keeps the offset inside the storage (start may be size).
  if (b.length > 0) m.offset += b.start * self.stride(d);
  return m;
}

ViewMeta diagonal(const char* op, const Tensor& self, int64_t offset, int64_t dim1, int64_t dim2) {
  const DiagonalShape ds = diagonal_shape(op, self.sizes(), offset, dim1, dim2);
  ViewMeta m{DimVector(), DimVector(), self.storage_offset()};
  for (int64_t d = 0; d < self.dim(); ++d) {
    if (d == ds.dim1 || d == ds.dim2) continue;
    m.sizes.push_back(self.size(d));
    m.strides.push_back(self.stride(d));
  }
  m.sizes.push_back(ds.length);
  m.strides.push_back(self.stride(ds.dim1) + self.stride(ds.dim2));
  if (ds.length > 0) m.offset += offset >= 0 ? offset * self.stride(ds.dim2) : -offset * self.stride(ds.dim1);
  return m;
}

ViewMeta as_strided(const char* op, const Tensor& self, IntArrayRef size, IntArrayRef stride,
                    std::optional<int64_t> storage_offset) {
  const int64_t offset = storage_offset.value_or(self.storage_offset());
  check_geometry(op, "view", size, stride, offset);
  const int64_t elem = static_cast<int64_t>(self.element_size());
  const int64_t storage_numel = static_cast<int64_t>(self.unsafeGetTensorImpl()->storage()->nbytes()) / elem;
  bool empty = false;
  for (int64_t s : size) empty = empty || s == 0;
  if (!empty) {
    // The last element the view reaches, computed without overflowing.
    int64_t last = offset;
    bool overflow = false;
    for (size_t i = 0; i < size.size(); ++i) {
      int64_t span = 0;
      overflow = overflow || __builtin_mul_overflow(size[i] - 1, stride[i], &span) ||
                 __builtin_add_overflow(last, span, &last);
    }
    DG_CHECK(!overflow && last < storage_numel, op, ": a view of sizes ", size, ", strides ", stride,
             " and storage offset ", offset, " reaches storage element ",
             overflow ? std::string("(overflow)") : std::to_string(last), ", outside a storage of ", storage_numel,
             " element", storage_numel == 1 ? "" : "s", " (expected every element in 0..", storage_numel - 1, ")");
  } else {
    DG_CHECK(offset <= storage_numel, op, ": storage offset ", offset, " is outside a storage of ", storage_numel,
             " element", storage_numel == 1 ? "" : "s");
  }
  return ViewMeta{DimVector(size), DimVector(stride), offset};
}

TensorMeta as_strided_backward(const char* op, const Tensor& grad, IntArrayRef input_sizes, IntArrayRef input_strides,
                               int64_t input_storage_offset, IntArrayRef size, IntArrayRef stride,
                               int64_t storage_offset) {
  check_geometry(op, "input", input_sizes, input_strides, input_storage_offset);
  check_geometry(op, "view", size, stride, storage_offset);
  DG_CHECK(grad.sizes() == size, op, ": expected grad of the view's shape ", size, ", got ", grad.sizes());
  return TensorMeta{DimVector(input_sizes), grad.dtype(), grad.device()};
}

TensorMeta as_strided_backward_adjoint(const char* op, const Tensor& grad, IntArrayRef input_sizes,
                                       IntArrayRef input_strides, int64_t input_storage_offset, IntArrayRef size,
                                       IntArrayRef stride, int64_t storage_offset) {
  check_geometry(op, "input", input_sizes, input_strides, input_storage_offset);
  check_geometry(op, "view", size, stride, storage_offset);
  DG_CHECK(grad.sizes() == input_sizes, op, ": expected grad of the input's shape ", input_sizes, ", got ",
           grad.sizes());
  return TensorMeta{DimVector(size), grad.dtype(), grad.device()};
}

ViewMeta unfold(const char* op, const Tensor& self, int64_t dimension, int64_t size, int64_t step) {
  const int64_t d = wrap_dim(op, dimension, self.dim());
  const int64_t n = self.dim() == 0 ? 1 : self.size(d);
  const int64_t st = self.dim() == 0 ? 1 : self.stride(d);
  DG_CHECK(size >= 0 && size <= n, op, ": expected size between 0 and ", n, " (the size of dimension ", d,
           "), got size=", size);
  DG_CHECK(step > 0, op, ": expected a positive step, got step=", step);
  ViewMeta m{DimVector(self.sizes()), DimVector(self.strides()), self.storage_offset()};
  if (self.dim() == 0) {
    m.sizes.push_back(size);
    m.strides.push_back(st);
    return m;
  }
  m.sizes[d] = (n - size) / step + 1;
  m.strides[d] = st * step;
  m.sizes.push_back(size);
  m.strides.push_back(st);
  return m;
}

}  // namespace dg::meta
