// Helpers the shape rules share: dims, broadcasting, view strides, devices,
// reduced dims and the checks of index tensors (which read their values, so
// an out-of-range index never reaches a kernel).
#include <algorithm>
#include <string>

#include "core/element_access.h"
#include "ops/meta.h"

namespace dg::meta {

// ---- shared helpers ---------------------------------------------------------

int64_t wrap_dim(const char* op, int64_t dim, int64_t ndim) {
  const int64_t n = ndim == 0 ? 1 : ndim;  // a 0-dim tensor accepts 0 and -1
  DG_CHECK(dim >= -n && dim < n, op, ": dim ", dim, " is out of range for a tensor of ", ndim, " dimension",
           ndim == 1 ? "" : "s", " (expected ", -n, "..", n - 1, ")");
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

bool broadcasts_to(IntArrayRef from, IntArrayRef to) {
  if (from.size() > to.size()) return false;
  for (size_t i = 0; i < from.size(); ++i) {
    const int64_t f = from[from.size() - 1 - i], t = to[to.size() - 1 - i];
    if (f != t && f != 1) return false;
  }
  return true;
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

void check_index_dtype(const char* op, const char* what, const Tensor& index) {
  DG_CHECK(index.dtype() == kInt64, op, ": expected ", what, " of dtype int64, got ", index.dtype());
}

std::optional<int64_t> find_index_out_of_range(const Tensor& index, int64_t size, std::optional<int64_t> allowed) {
  // A CUDA index is checked on the host too: a clear error is worth the wait.
  const Tensor host = detail::to_host(index);
  const int64_t* p = static_cast<const int64_t*>(host.data_ptr());
  std::optional<int64_t> bad;
  if (host.is_contiguous() && !allowed) {
    // One vectorisable pass (x[idx] checks 100k indices a call); the value is
    // looked for only when something is out of range.
    const int64_t n = host.numel();
    bool any = false;
    for (int64_t i = 0; i < n; ++i) any |= static_cast<uint64_t>(p[i]) >= static_cast<uint64_t>(size);
    if (!any) return bad;
  }
  detail::for_each_offset(host.sizes(), host.strides(), [&](int64_t off) {
    const int64_t v = p[off];
    if (!bad && (v < 0 || v >= size) && v != allowed) bad = v;
  });
  return bad;
}

void check_index_range(const char* op, const Tensor& index, int64_t size, int64_t dim) {
  const std::optional<int64_t> bad = find_index_out_of_range(index, size);
  DG_CHECK(!bad, op, ": index ", *bad, " is out of range for dimension ", dim, " of size ", size, " (expected 0..",
           size - 1, ")");
}

std::vector<bool> reduced_mask(const char* op, IntArrayRef dim, int64_t ndim) {
  std::vector<bool> reduced(static_cast<size_t>(std::max<int64_t>(ndim, 1)), dim.empty());
  for (int64_t d : dim) {
    const int64_t w = wrap_dim(op, d, ndim);
    DG_CHECK(!reduced[w] || dim.empty(), op, ": dim ", w, " appears more than once in the list of dims ", dim);
    reduced[w] = true;
  }
  if (ndim == 0) reduced.clear();
  return reduced;
}

void check_same_dtype(const char* op, const char* a_name, const Tensor& a, const char* b_name, const Tensor& b) {
  DG_CHECK(a.dtype() == b.dtype(), op, ": expected ", a_name, " and ", b_name, " to have the same dtype, got ",
           a.dtype(), " and ", b.dtype());
}

}  // namespace dg::meta
