// Ops written as formulas of other public ops (ops.yaml `composite:`). They
// record no node of their own: autograd sees only the ops they call, so
// their gradients (and gradients of gradients) come for free.
#include "dynagrad/composite.h"

#include <algorithm>
#include <vector>

#include "dynagrad/factory.h"
#include "dynagrad/meta.h"

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
    const Tensor r = dg::mm(self.reshape({-1, k1}), rhs);
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

}  // namespace dg::composite
