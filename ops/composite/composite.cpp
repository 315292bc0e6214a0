// Ops written as formulas of other public ops (ops.yaml `composite:`). They
// record no node of their own: autograd sees only the ops they call, so
// their gradients (and gradients of gradients) come for free.
#include "ops/composite.h"

#include <algorithm>
#include <vector>

#include "dynagrad/factory.h"
#include "ops/meta.h"

namespace dg::composite {

namespace {

Scalar minus_one(const Scalar& s) {
  // Keep an integral exponent integral so int64 pow stays exact.
  return s.is_floating_point() ? Scalar(s.toDouble() - 1.0) : Scalar(s.toLong() - 1);
}

// Wrapped, sorted, de-duplicated-by-check dims; an empty list means all dims.
std::vector<int64_t> reduced_dims(const char* op, IntArrayRef dim, int64_t ndim) {
  std::vector<int64_t> dims;
  if (dim.empty()) {
    for (int64_t d = 0; d < ndim; ++d) dims.push_back(d);
    return dims;
  }
  for (int64_t d : dim) dims.push_back(meta::wrap_dim(op, d, ndim));
  std::sort(dims.begin(), dims.end());
  return dims;
}

void check_floating(const char* op, const Tensor& self) {
  DG_CHECK(self.is_floating_point(), op, ": expected a floating point tensor, got ", self.dtype());
}

}  // namespace

Tensor maybe_multiply(const Tensor& self, const Scalar& other) {
  if (other == Scalar(1)) return self;
  return self * other;
}

Tensor pow_backward(const Tensor& grad, const Tensor& self, const Scalar& exponent) {
  // Exactly zero, not 0 * x^-1 (which would be NaN at x == 0).
  if (exponent == Scalar(0)) return zeros_like(self);
  return grad * (self.pow(minus_one(exponent)) * exponent);
}

Tensor sum_backward(const Tensor& grad, IntArrayRef sizes, IntArrayRef dim, bool keepdim) {
  const int64_t nd = static_cast<int64_t>(sizes.size());
  Tensor g = grad;
  if (!keepdim && nd > 0) {
    // Ascending order: each unsqueeze then lands at its final position.
    for (int64_t d : reduced_dims("sum_backward", dim, nd)) g = g.unsqueeze(d);
  }
  return g.expand(sizes);
}

Tensor sum_to(const Tensor& self, IntArrayRef size) {
  if (self.sizes() == size) return self;
  const int64_t nd = self.dim();
  const int64_t ns = static_cast<int64_t>(size.size());
  const int64_t lead = nd - ns;
  bool ok = lead >= 0;
  std::vector<int64_t> dims;
  for (int64_t d = 0; ok && d < nd; ++d) {
    if (d < lead) {
      dims.push_back(d);
      continue;
    }
    const int64_t want = size[d - lead], have = self.size(d);
    if (want == have) continue;
    if (want == 1) dims.push_back(d);
    else ok = false;
  }
  DG_CHECK(ok, "sum_to: a tensor of shape ", self.sizes(), " cannot be summed to shape ", size,
           " (expected a shape it broadcasts to)");
  // dims is non-empty here: equal shapes returned above.
  return self.sum(dims, /*keepdim=*/true).view(size);
}

Tensor mean(const Tensor& self) {
  check_floating("mean", self);
  return self.sum() / Scalar(static_cast<double>(self.numel()));
}

Tensor mean_dim(const Tensor& self, IntArrayRef dim, bool keepdim) {
  check_floating("mean", self);
  meta::reduce_dims("mean", self, dim, keepdim);  // validates dims with mean's name on errors
  int64_t count = 1;
  for (int64_t d : reduced_dims("mean", dim, self.dim())) count *= self.dim() == 0 ? 1 : self.size(d);
  return self.sum(dim, keepdim) / Scalar(static_cast<double>(count));
}

Tensor reshape(const Tensor& self, IntArrayRef shape) {
  const DimVector sizes = meta::infer_size("reshape", shape, self.numel());
  if (meta::view_strides(self.sizes(), self.strides(), sizes)) return self.view(sizes);
  return self.clone().view(sizes);
}

Tensor t(const Tensor& self) {
  DG_CHECK(self.dim() <= 2, "t: expected a tensor with at most 2 dimensions, got a tensor of shape ",
           self.sizes(), " (", self.dim(), " dimensions); use transpose(dim0, dim1)");
  if (self.dim() < 2) return self.view(self.sizes());
  return self.transpose(0, 1);
}

Tensor contiguous(const Tensor& self) {
  return self.is_contiguous() ? self : self.clone();
}

Tensor matmul(const Tensor& self, const Tensor& other) {
  meta::check_same_device("matmul", {&self, &other});
  const int64_t d1 = self.dim(), d2 = other.dim();
  DG_CHECK(d1 >= 1 && d2 >= 1, "matmul: both arguments need to be at least 1-D, got self of shape ",
           self.sizes(), " and other of shape ", other.sizes());
  DG_CHECK(self.dtype() == other.dtype(), "matmul: expected self and other to have the same dtype, got ",
           self.dtype(), " and ", other.dtype());
  const int64_t k1 = self.size(-1);
  const int64_t k2 = d2 == 1 ? other.size(0) : other.size(-2);
  DG_CHECK(k1 == k2, "matmul: self and other shapes cannot be multiplied (", self.sizes(), " and ",
           other.sizes(), "): self's last dimension has size ", k1, " but other's ",
           d2 == 1 ? "only" : "second-to-last", " dimension has size ", k2);

  if (d1 == 1 && d2 == 1) return (self * other).sum();
  if (d1 == 2 && d2 == 2) return dg::mm(self, other);
  if (d1 == 1 && d2 == 2) return dg::mm(self.unsqueeze(0), other).squeeze(0);
  if (d1 == 2 && d2 == 1) return dg::mm(self, other.unsqueeze(1)).squeeze(1);

  if (d1 >= 3 && d2 <= 2) {
    // A stack of matrices times one matrix (or vector) is one big mm: fold
    // the batch dims into the rows.
    const Tensor rhs = d2 == 1 ? other.unsqueeze(1) : other;
    DimVector out_sizes(self.sizes());
    // Rows counted explicitly: with k1 == 0 a -1 could not be inferred.
    const int64_t rows = multiply_integers(IntArrayRef(self.sizes().data(), static_cast<size_t>(d1 - 1)));
    const Tensor r = dg::mm(self.reshape({rows, k1}), rhs);
    if (d2 == 1) {
      out_sizes.erase(out_sizes.size() - 1);
    } else {
      out_sizes.back() = rhs.size(1);
    }
    return r.view(out_sizes);
  }

  // General batched case: broadcast the batch dims, flatten them to one, bmm.
  const Tensor a = d1 == 1 ? self.unsqueeze(0) : self;
  const Tensor b = d2 == 1 ? other.unsqueeze(1) : other;
  const int64_t m = a.size(-2), n = b.size(-1);
  IntArrayRef ba(a.sizes().data(), a.sizes().size() - 2), bb(b.sizes().data(), b.sizes().size() - 2);
  const DimVector batch = meta::broadcast_shapes("matmul", ba, bb);
  const int64_t nbatch = multiply_integers(batch);
  DimVector sa(batch), sb(batch), so(batch);
  sa.push_back(m);
  sa.push_back(k1);
  sb.push_back(k1);
  sb.push_back(n);
  so.push_back(m);
  so.push_back(n);
  const Tensor ea = a.sizes() == sa.ref() ? a : a.expand(sa);
  const Tensor eb = b.sizes() == sb.ref() ? b : b.expand(sb);
  Tensor r = dg::bmm(ea.reshape({nbatch, m, k1}), eb.reshape({nbatch, k1, n})).view(so);
  if (d1 == 1) r = r.squeeze(-2);
  if (d2 == 1) r = r.squeeze(-1);
  return r;
}

// ---- views built from other views, and the gradients of views ----------------

Tensor permute_backward(const Tensor& grad, IntArrayRef dims) {
  const DimVector perm = meta::permutation("permute_backward", dims, grad.dim());
  DimVector inverse(perm.size(), 0);
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int64_t>(i);
  return grad.permute(inverse);
}

// The gradient of a view is zeros of the input's shape with the gradient
// written through the same view: an in-place copy into a view, which autograd
// differentiates again (the base's history is rewritten), so double backward
// needs no op of its own.
Tensor slice_backward(const Tensor& grad_output, IntArrayRef input_sizes, int64_t dim, std::optional<int64_t> start,
                      std::optional<int64_t> end, int64_t step) {
  Tensor g = zeros(input_sizes, grad_output.options());
  g.slice(dim, start, end, step).copy_(grad_output);
  return g;
}

Tensor diagonal_backward(const Tensor& grad_output, IntArrayRef input_sizes, int64_t offset, int64_t dim1,
                         int64_t dim2) {
  Tensor g = zeros(input_sizes, grad_output.options());
  g.diagonal(offset, dim1, dim2).copy_(grad_output);
  return g;
}

Tensor narrow(const Tensor& self, int64_t dim, int64_t start, int64_t length) {
  DG_CHECK(self.dim() > 0, "narrow: cannot narrow a 0-dim tensor");
  const int64_t d = meta::wrap_dim("narrow", dim, self.dim());
  const int64_t n = self.size(d);
  DG_CHECK(start >= -n && start <= n, "narrow: start ", start, " is out of range for dimension ", d, " of size ", n,
           " (expected ", -n, "..", n, ")");
  if (start < 0) start += n;
  DG_CHECK(length >= 0, "narrow: expected a non-negative length, got ", length);
  DG_CHECK(start <= n - length, "narrow: start (", start, ") + length (", length, ") exceeds the size ", n,
           " of dimension ", d);
  return self.slice(d, start, start + length, 1);
}

Tensor flatten(const Tensor& self, int64_t start_dim, int64_t end_dim) {
  const int64_t nd = self.dim();
  const int64_t s = meta::wrap_dim("flatten", start_dim, nd);
  const int64_t e = meta::wrap_dim("flatten", end_dim, nd);
  DG_CHECK(s <= e, "flatten: expected start_dim <= end_dim, got start_dim ", start_dim, " (dimension ", s,
           ") after end_dim ", end_dim, " (dimension ", e, ")");
  if (nd == 0) return self.reshape({1});
  if (s == e) return self;
  DimVector shape;
  for (int64_t d = 0; d < s; ++d) shape.push_back(self.size(d));
  int64_t merged = 1;
  for (int64_t d = s; d <= e; ++d) merged *= self.size(d);
  shape.push_back(merged);
  for (int64_t d = e + 1; d < nd; ++d) shape.push_back(self.size(d));
  return self.reshape(shape);
}

std::vector<Tensor> unbind(const Tensor& self, int64_t dim) {
  DG_CHECK(self.dim() > 0, "unbind: cannot unbind a 0-dim tensor");
  const int64_t d = meta::wrap_dim("unbind", dim, self.dim());
  std::vector<Tensor> out;
  out.reserve(static_cast<size_t>(self.size(d)));
  for (int64_t i = 0; i < self.size(d); ++i) out.push_back(self.select(d, i));
  return out;
}

namespace {

std::vector<Tensor> split_with(const char* op, const Tensor& self, int64_t split_size, int64_t dim,
                               int64_t min_pieces) {
  const int64_t d = meta::wrap_dim(op, dim, self.dim());
  const int64_t n = self.size(d);
  const int64_t pieces = split_size == 0 ? min_pieces : std::max((n + split_size - 1) / split_size, min_pieces);
  std::vector<Tensor> out;
  out.reserve(static_cast<size_t>(pieces));
  for (int64_t i = 0; i < pieces; ++i) {
    const int64_t start = std::min(i * split_size, n);
    out.push_back(self.narrow(d, start, std::min(split_size, n - start)));
  }
  return out;
}

}  // namespace

std::vector<Tensor> split(const Tensor& self, int64_t split_size, int64_t dim) {
  DG_CHECK(self.dim() > 0, "split: cannot split a 0-dim tensor");
  DG_CHECK(split_size >= 0, "split: expected a non-negative split_size, got ", split_size);
  const int64_t d = meta::wrap_dim("split", dim, self.dim());
  DG_CHECK(split_size > 0 || self.size(d) == 0, "split: split_size can be 0 only when dimension ", d,
           " is empty, but it has size ", self.size(d));
  return split_with("split", self, split_size, d, 1);
}

std::vector<Tensor> chunk(const Tensor& self, int64_t chunks, int64_t dim) {
  DG_CHECK(self.dim() > 0, "chunk: cannot chunk a 0-dim tensor");
  DG_CHECK(chunks > 0, "chunk: expected a positive number of chunks, got ", chunks);
  const int64_t d = meta::wrap_dim("chunk", dim, self.dim());
  const int64_t n = self.size(d);
  // An empty dim still gives `chunks` (empty) pieces, as in PyTorch.
  if (n == 0) return split_with("chunk", self, 0, d, chunks);
  return split_with("chunk", self, (n + chunks - 1) / chunks, d, 1);
}

}  // namespace dg::composite
