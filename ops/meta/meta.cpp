// Shape rules. Each check runs before anything is allocated or written, so a
// failing op leaves every tensor untouched; each message starts with the op
// name and states what was expected and what was given.
#include "ops/meta.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace dg::meta {

namespace {

DimVector with_dim_removed(IntArrayRef a, int64_t d) {
  DimVector v(a);
  v.erase(static_cast<size_t>(d));
  return v;
}

ScalarType reduced_dtype(ScalarType t) {
  // As in PyTorch, summing integers or bools gives int64.
  return t == kBool ? kInt64 : t;
}

}  // namespace

// ---- shared helpers ---------------------------------------------------------

int64_t wrap_dim(const char* op, int64_t dim, int64_t ndim) {
  const int64_t n = ndim == 0 ? 1 : ndim;  // a 0-dim tensor accepts 0 and -1
  DG_CHECK(dim >= -n && dim < n, op, ": dim ", dim, " is out of range for a tensor of ", ndim,
           " dimension", ndim == 1 ? "" : "s", " (expected ", -n, "..", n - 1, ")");
  return dim < 0 ? dim + n : dim;
}

DimVector broadcast_shapes(const char* op, IntArrayRef a, IntArrayRef b) {
  const size_t n = std::max(a.size(), b.size());
  DimVector out(n, 1);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    DG_CHECK(da == db || da == 1 || db == 1, op, ": the shapes ", a, " and ", b,
             " cannot be broadcast together (dimension ", static_cast<int64_t>(i) - static_cast<int64_t>(n),
             " has sizes ", da, " and ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

DimVector infer_size(const char* op, IntArrayRef shape, int64_t numel) {
  DimVector out(shape);
  int64_t known = 1;
  int64_t infer_at = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      DG_CHECK(infer_at < 0, op, ": only one dimension can be inferred (-1), got shape ", shape);
      infer_at = static_cast<int64_t>(i);
    } else {
      DG_CHECK(shape[i] >= 0, op, ": invalid size ", shape[i], " at dimension ", i, " of shape ", shape);
      known *= shape[i];
    }
  }
  if (infer_at >= 0) {
    DG_CHECK(known != 0, op, ": cannot reshape a tensor of ", numel, " elements into shape ", shape,
             " because the size of the -1 dimension could be any value");
    DG_CHECK(numel % known == 0, op, ": shape ", shape, " is invalid for an input of ", numel, " elements");
    out[infer_at] = numel / known;
  } else {
    DG_CHECK(known == numel, op, ": shape ", shape, " is invalid for an input of ", numel, " elements");
  }
  return out;
}

std::optional<DimVector> view_strides(IntArrayRef sizes, IntArrayRef strides, IntArrayRef new_sizes) {
  const int64_t nnew = static_cast<int64_t>(new_sizes.size());
  DimVector out(new_sizes.size(), 1);
  if (sizes.empty()) return out;  // one element: any strides do
  const int64_t numel = multiply_integers(sizes);
  if (numel == 0) {
    if (sizes == new_sizes) return DimVector(strides);
    // No memory is touched, so plain row-major strides are always valid.
    for (int64_t d = nnew - 2; d >= 0; --d) out[d] = std::max<int64_t>(new_sizes[d + 1], 1) * out[d + 1];
    return out;
  }
  // Walk the old dims from the innermost, grouping them into chunks that are
  // contiguous in memory; each chunk must be split exactly by new dims.
  int64_t view_d = nnew - 1;
  int64_t chunk_base_stride = strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= sizes[d];
    const bool chunk_ends = d == 0 || (sizes[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || new_sizes[view_d] == 1)) {
      out[view_d] = view_numel * chunk_base_stride;
      view_numel *= new_sizes[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (d > 0) {
      chunk_base_stride = strides[d - 1];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t || !t->defined()) continue;
    if (!first) {
      first = t;
      continue;
    }
    DG_CHECK(t->device() == first->device(), op, ": expected all tensors to be on the same device, got ",
             first->device(), " and ", t->device());
  }
}

// ---- pointwise ----------------------------------------------------------------

TensorMeta pointwise(const char* op, std::initializer_list<NamedTensor> tensors,
                     std::initializer_list<const Scalar*> scalars, bool int_to_float) {
  TensorMeta m;
  bool first = true;
  size_t i = 0;
  const NamedTensor* first_arg = nullptr;
  bool have_dtype = false;
  const Tensor* first_tensor = nullptr;
  for (const NamedTensor& arg : tensors) {
    const Tensor* t = arg.tensor;
    if (!first) {
      DG_CHECK(t->device() == first_tensor->device(), op, ": expected all tensors to be on the same device, got ",
               first_arg->name, " on ", first_tensor->device(), " and ", arg.name, " on ", t->device());
    }
    if (arg.promote) {
      m.dtype = have_dtype ? promote_types(m.dtype, t->dtype()) : t->dtype();
      have_dtype = true;
    }
    if (first) {
      m.sizes = DimVector(t->sizes());
      m.device = t->device();
      first_tensor = t;
      first_arg = &arg;
      first = false;
    } else {
      // Broadcast by hand (not broadcast_shapes) to name both arguments.
      IntArrayRef a = m.sizes, b = t->sizes();
      const size_t n = std::max(a.size(), b.size());
      DimVector out(n, 1);
      for (size_t k = 0; k < n; ++k) {
        const int64_t da = k < n - a.size() ? 1 : a[k - (n - a.size())];
        const int64_t db = k < n - b.size() ? 1 : b[k - (n - b.size())];
        if (!(da == db || da == 1 || db == 1)) {
          if (i == 1) {
            detail::fail(detail::str(op, ": the shapes of ", first_arg->name, " ", first_tensor->sizes(), " and ",
                                     arg.name, " ", b, " cannot be broadcast together"));
          }
          detail::fail(detail::str(op, ": the shape ", b, " of ", arg.name,
                                   " cannot be broadcast with the shape ", a, " of the other arguments"));
        }
        out[k] = da == 1 ? db : da;
      }
      m.sizes = std::move(out);
    }
    ++i;
  }
  for (const Scalar* s : scalars) {
    if (s->is_floating_point() && !is_floating_point(m.dtype)) m.dtype = kFloat32;
    else if (s->is_integral() && m.dtype == kBool) m.dtype = kInt64;
  }
  if (int_to_float && !is_floating_point(m.dtype)) m.dtype = kFloat32;
  return m;
}

// ---- named rules --------------------------------------------------------------

TensorMeta reduce_all(const char* op, const Tensor& self) {
  (void)op;
  return TensorMeta{DimVector(), reduced_dtype(self.dtype()), self.device()};
}

TensorMeta reduce_dims(const char* op, const Tensor& self, IntArrayRef dim, bool keepdim) {
  const int64_t nd = self.dim();
  std::vector<bool> reduced(static_cast<size_t>(std::max<int64_t>(nd, 1)), dim.empty());
  for (int64_t d : dim) {
    const int64_t w = wrap_dim(op, d, nd);
    DG_CHECK(!reduced[w], op, ": dim ", w, " appears more than once in the list of dims ", dim);
    reduced[w] = true;
  }
  TensorMeta m{DimVector(), reduced_dtype(self.dtype()), self.device()};
  for (int64_t d = 0; d < nd; ++d) {
    if (!reduced[d]) m.sizes.push_back(self.size(d));
    else if (keepdim) m.sizes.push_back(1);
  }
  return m;
}

TensorMeta mm(const char* op, const Tensor& self, const Tensor& mat2) {
  check_same_device(op, {&self, &mat2});
  DG_CHECK(self.dim() == 2 && mat2.dim() == 2, op, ": expected self and mat2 to be 2-D, got self of shape ",
           self.sizes(), " and mat2 of shape ", mat2.sizes());
  DG_CHECK(self.size(1) == mat2.size(0), op, ": self and mat2 shapes cannot be multiplied (", self.sizes(),
           " and ", mat2.sizes(), "): self has ", self.size(1), " columns but mat2 has ", mat2.size(0), " rows");
  DG_CHECK(self.dtype() == mat2.dtype(), op, ": expected self and mat2 to have the same dtype, got ",
           self.dtype(), " and ", mat2.dtype());
  return TensorMeta{DimVector{self.size(0), mat2.size(1)}, self.dtype(), self.device()};
}

TensorMeta bmm(const char* op, const Tensor& self, const Tensor& mat2) {
  check_same_device(op, {&self, &mat2});
  DG_CHECK(self.dim() == 3 && mat2.dim() == 3, op, ": expected self and mat2 to be 3-D, got self of shape ",
           self.sizes(), " and mat2 of shape ", mat2.sizes());
  DG_CHECK(self.size(0) == mat2.size(0), op, ": expected self and mat2 to have the same batch size, got self of shape ",
           self.sizes(), " and mat2 of shape ", mat2.sizes());
  DG_CHECK(self.size(2) == mat2.size(1), op, ": self and mat2 shapes cannot be multiplied (", self.sizes(),
           " and ", mat2.sizes(), "): self has ", self.size(2), " columns but mat2 has ", mat2.size(1), " rows");
  DG_CHECK(self.dtype() == mat2.dtype(), op, ": expected self and mat2 to have the same dtype, got ",
           self.dtype(), " and ", mat2.dtype());
  return TensorMeta{DimVector{self.size(0), self.size(1), mat2.size(2)}, self.dtype(), self.device()};
}

TensorMeta same_shape(const char* op, const Tensor& self) {
  (void)op;
  return TensorMeta{DimVector(self.sizes()), self.dtype(), self.device()};
}

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

void check_copy(const char* op, const Tensor& self, const Tensor& src) {
  // src may live on another device: the kernel of self's device brings it over.
  IntArrayRef a = self.sizes(), b = src.sizes();
  bool ok = b.size() <= a.size();
  for (size_t i = 0; ok && i < b.size(); ++i) {
    const int64_t db = b[b.size() - 1 - i], da = a[a.size() - 1 - i];
    ok = db == da || db == 1;
  }
  DG_CHECK(ok, op, ": src of shape ", b, " cannot be broadcast to self of shape ", a);
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
               ") must match the existing size (", have, ") at non-singleton dimension ", i, ". Target sizes: ",
               size, ". Tensor sizes: ", self.sizes());
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
  DG_CHECK(static_cast<int64_t>(dims.size()) == ndim, op, ": expected dims to list each of the ", ndim,
           " dimension", ndim == 1 ? "" : "s", " of the tensor once, got dims ", dims, " of length ", dims.size());
  DimVector out(dims.size(), 0);
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    DG_CHECK(dims[i] >= -ndim && dims[i] < ndim, op, ": dim ", dims[i], " in dims ", dims,
             " is out of range for a tensor of ", ndim, " dimension", ndim == 1 ? "" : "s", " (expected ", -ndim,
             "..", ndim - 1, ")");
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
    DG_CHECK(stride[i] >= 0, op, ": expected non-negative ", what, " strides (negative strides are not supported), got ",
             stride);
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
             " and storage offset ", offset, " reaches storage element ", overflow ? std::string("(overflow)") :
             std::to_string(last), ", outside a storage of ", storage_numel, " element", storage_numel == 1 ? "" : "s",
             " (expected every element in 0..", storage_numel - 1, ")");
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

}  // namespace dg::meta
