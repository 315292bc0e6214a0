// The gradients of the indexing kernels that are formulas of other ops, and
// the data-dependent selections (nonzero, masked_select, take).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/operators.h"
#include "ops/composite.h"
#include "ops/meta.h"

namespace dg::composite {

// ---- shape and indexing -----------------------------------------------------------

Tensor scatter_src_backward(const Tensor& grad, int64_t dim, const Tensor& index, IntArrayRef src_sizes) {
  const Tensor g = grad.gather(dim, index);
  if (g.sizes() == src_sizes) return g;
  // src may be larger than index: its other elements were not used.
  Tensor r = zeros(src_sizes, g.options());
  Tensor view = r;
  for (int64_t k = 0; k < index.dim(); ++k) view = view.narrow(k, 0, index.size(k));
  view.copy_(g);
  return r;
}

// ---- data-dependent selection ------------------------------------------------------

Tensor nonzero(const Tensor& self) {
  NoGradGuard no_grad;
  // The positions are found on the host: the output's size depends on the values.
  const Tensor mask = detail::to_host((self.dtype() == kBool ? self : self.ne(0)).contiguous());
  const bool* p = mask.data_ptr<bool>();
  const int64_t n = mask.numel(), nd = self.dim();
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) count += p[i];
  // One spare row: the flat loop below writes every position and advances
  // past the true ones (no branch to mispredict on a random mask), so its
  // last writes may land one past the count.
  Tensor out = empty({count + 1, nd}, TensorOptions().dtype(kInt64)).narrow(0, 0, count);
  int64_t* o = out.data_ptr<int64_t>();
  if (nd == 1) {  // the common flat mask: positions only
    for (int64_t i = 0; i < n; ++i) {
      *o = i;
      o += p[i];
    }
  } else if (nd > 1) {
    std::vector<int64_t> idx(static_cast<size_t>(nd), 0);
    for (int64_t i = 0; i < n; ++i) {
      if (p[i]) o = std::copy(idx.begin(), idx.end(), o);
      for (int64_t d = nd - 1; d >= 0; --d) {  // the next row-major multi-index
        if (++idx[d] < self.size(d)) break;
        idx[d] = 0;
      }
    }
  }
  return self.device().is_cpu() ? out : detail::copy_to_device(out, self.device());
}

Tensor masked_select(const Tensor& self, const Tensor& mask) {
  DG_CHECK(mask.dtype() == kBool, "masked_select: expected mask of dtype bool, got ", mask.dtype());
  const std::vector<Tensor> both = dg::broadcast_tensors({self, mask});
  const Tensor flat = both[0].reshape({-1});
  return flat.index_select(0, composite::nonzero(both[1].reshape({-1})).view({-1}));
}

namespace {
// The int64 values of `index`, flattened, checked against [-n, n) and wrapped
// to [0, n) (wrap_index's one host pass).
Tensor checked_positions(const char* op, const Tensor& index, int64_t n, const std::string& what) {
  DG_CHECK(index.dtype() == kInt64, op, ": expected index of dtype int64, got ", index.dtype());
  return composite::wrap_index(op, index.reshape({-1}), n, what);
}
}  // namespace

Tensor take(const Tensor& self, const Tensor& index) {
  const Tensor flat = checked_positions("take", index, self.numel(), "the flattened input");
  return self.reshape({-1}).index_select(0, flat).view(index.sizes());
}

// ---- index_fill, masked_scatter, put, one_hot -----------------------------------------

namespace {

// A bool mask, true at the indexed slices along dim, shaped to broadcast with self.
Tensor index_fill_mask(const char* op, const Tensor& self, int64_t dim, const Tensor& index) {
  NoGradGuard no_grad;
  const int64_t d = meta::wrap_dim(op, dim, self.dim());
  DG_CHECK(index.dim() <= 1, op, ": expected index to be a 1-D (or 0-dim) tensor, got one of shape ", index.sizes());
  const int64_t n = self.dim() == 0 ? 1 : self.size(d);
  const Tensor pos = checked_positions(op, index, n, detail::str("dimension ", d));
  Tensor hit = zeros({n}, TensorOptions().dtype(kBool).device(self.device()));
  if (pos.numel() > 0) hit = hit.scatter(0, pos, true);
  if (self.dim() == 0) return hit.reshape({});
  std::vector<int64_t> shape(static_cast<size_t>(self.dim()), 1);
  shape[static_cast<size_t>(d)] = n;
  return hit.view(shape);
}

void check_fill_value(const char* op, const Tensor& value) {
  DG_CHECK(value.dim() == 0, op, ": expected a 0-dim value tensor, got one of shape ", value.sizes());
}

}  // namespace

Tensor index_fill(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value) {
  return self.masked_fill(index_fill_mask("index_fill", self, dim, index), value);
}
Tensor index_fill(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& value) {
  check_fill_value("index_fill", value);
  return self.masked_fill(index_fill_mask("index_fill", self, dim, index), value);
}
const Tensor& index_fill_(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value) {
  self.masked_fill_(index_fill_mask("index_fill_", self, dim, index), value);
  return self;
}
const Tensor& index_fill_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& value) {
  check_fill_value("index_fill_", value);
  self.masked_fill_(index_fill_mask("index_fill_", self, dim, index), value);
  return self;
}

namespace {
Tensor masked_scatter_impl(const char* op, const Tensor& self, const Tensor& mask, const Tensor& source,
                           IntArrayRef shape) {
  DG_CHECK(mask.dtype() == kBool, op, ": expected mask of dtype bool, got ", mask.dtype());
  DG_CHECK(source.dtype() == self.dtype(), op, ": expected source of self's dtype ", self.dtype(), ", got ",
           source.dtype());
  const Tensor s = self.expand(shape), m = mask.expand(shape);
  // The k-th true position of the mask (row-major) takes source's k-th element.
  Tensor pos;
  int64_t count = 0;
  {
    NoGradGuard no_grad;
    pos = m.reshape({-1}).to(kInt64).cumsum(0);
    count = pos.numel() > 0 ? pos.select(0, -1).item<int64_t>() : 0;
    pos = (pos - 1).clamp_min(0);
  }
  DG_CHECK(count <= source.numel(), op, ": expected source to have at least as many elements as the mask's true ",
           "entries (", count, "), got source of ", source.numel(), " elements");
  if (count == 0) return s.clone();
  const Tensor picked = source.reshape({-1}).index_select(0, pos).view(shape);
  return where(m, picked, s);
}
}  // namespace

Tensor masked_scatter(const Tensor& self, const Tensor& mask, const Tensor& source) {
  const DimVector shape = meta::broadcast_shapes("masked_scatter", self.sizes(), mask.sizes());
  return masked_scatter_impl("masked_scatter", self, mask, source, shape);
}
const Tensor& masked_scatter_(const Tensor& self, const Tensor& mask, const Tensor& source) {
  const Tensor result = masked_scatter_impl("masked_scatter_", self, mask, source, self.sizes());
  self.copy_(result);
  return self;
}

Tensor put(const Tensor& self, const Tensor& index, const Tensor& source, bool accumulate) {
  DG_CHECK(index.numel() == source.numel(), "put: expected source and index to have the same number of elements, got ",
           "source of ", source.numel(), " and index of ", index.numel());
  DG_CHECK(source.dtype() == self.dtype(), "put: expected source of self's dtype ", self.dtype(), ", got ",
           source.dtype());
  Tensor pos;
  {
    NoGradGuard no_grad;
    pos = checked_positions("put", index, self.numel(), detail::str("self of ", self.numel(), " elements"));
  }
  const Tensor flat = self.reshape({-1}), src = source.reshape({-1});
  const Tensor out = accumulate ? flat.index_add(0, pos, src) : flat.scatter(0, pos, src);
  return out.view(self.sizes());
}
const Tensor& put_(const Tensor& self, const Tensor& index, const Tensor& source, bool accumulate) {
  const Tensor result = composite::put(self, index, source, accumulate);
  self.copy_(result);
  return self;
}

Tensor one_hot(const Tensor& self, int64_t num_classes) {
  NoGradGuard no_grad;
  DG_CHECK(self.dtype() == kInt64, "one_hot: expected an index tensor of dtype int64, got ", self.dtype());
  DG_CHECK(num_classes >= -1, "one_hot: expected num_classes >= 0 (or -1 to infer it), got ", num_classes);
  std::vector<int64_t> shape(self.sizes().begin(), self.sizes().end());
  if (self.numel() == 0) {
    DG_CHECK(num_classes != -1, "one_hot: cannot infer the number of classes from an empty tensor; pass num_classes");
    shape.push_back(num_classes);
    return zeros(shape, TensorOptions().dtype(kInt64).device(self.device()));
  }
  const int64_t lo = self.min().item<int64_t>(), hi = self.max().item<int64_t>();
  DG_CHECK(lo >= 0, "one_hot: expected class values >= 0, got ", lo);
  if (num_classes == -1) num_classes = hi + 1;
  DG_CHECK(hi < num_classes, "one_hot: expected class values smaller than num_classes = ", num_classes, ", got ", hi);
  shape.push_back(num_classes);
  Tensor out = zeros(shape, TensorOptions().dtype(kInt64).device(self.device()));
  out.scatter_(-1, self.unsqueeze(-1), 1);
  return out;
}

}  // namespace dg::composite
