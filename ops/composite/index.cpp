// Composites of the index group: reductions, linear algebra, shape and
// indexing built from public ops, so their gradients (and gradients of
// gradients) come from the ops they call. Masks that only select where a
// gradient goes (ties, zeros) are computed from the values without history:
// they are piecewise constant, so their derivative is zero.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops/composite.h"
#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
#include "ops/meta.h"
#include "dynagrad/operators.h"

namespace dg::composite {

namespace {

void check_floating(const char* op, const Tensor& self) {
  DG_CHECK(self.is_floating_point(), op, ": expected a floating point tensor, got ", self.dtype());
}

// The elements of t, row-major, as doubles (no history).
std::vector<double> values(const Tensor& t) {
  NoGradGuard no_grad;
  const Tensor c = detail::to_host(t.detach().to(kFloat64).contiguous());  // a CUDA tensor's values, waited for
  const double* p = c.data_ptr<double>();
  return std::vector<double>(p, p + c.numel());
}

// A bool tensor of `shape` on `device` from a predicate on the flat index
// (computed on the host).
template <typename F>
Tensor bool_mask(IntArrayRef shape, Device device, F&& pred) {
  Tensor m = empty(shape, TensorOptions().dtype(kBool));
  bool* p = m.data_ptr<bool>();
  for (int64_t i = 0; i < m.numel(); ++i) p[i] = pred(i);
  return device.is_cpu() ? m : detail::copy_to_device(m, device);
}

// a == b elementwise (b broadcast to a), NaN matching NaN: the elements an
// extreme value came from.
Tensor equal_mask(const Tensor& a, const Tensor& b) {
  NoGradGuard no_grad;
  const std::vector<double> va = values(a), vb = values(b.detach().expand(a.sizes()));
  return bool_mask(a.sizes(), a.device(), [&](int64_t i) {
    return va[i] == vb[i] || (std::isnan(va[i]) && std::isnan(vb[i]));
  });
}

Tensor value_mask(const Tensor& a, double v) {
  const std::vector<double> va = values(a);
  return bool_mask(a.sizes(), a.device(), [&](int64_t i) { return va[i] == v; });
}

// The wrapped reduced dims in ascending order (all dims for an empty list).
std::vector<int64_t> dims_of(const char* op, IntArrayRef dim, int64_t ndim) {
  const std::vector<bool> m = meta::reduced_mask(op, dim, ndim);
  std::vector<int64_t> out;
  for (int64_t d = 0; d < ndim; ++d)
    if (m[d]) out.push_back(d);
  return out;
}

// grad of a reduction without keepdim, with the reduced dims put back as 1s.
Tensor unsqueeze_reduced(const Tensor& grad, const std::vector<int64_t>& dims, bool keepdim) {
  if (keepdim) return grad;
  Tensor g = grad;
  for (int64_t d : dims) g = g.unsqueeze(d);  // ascending: each lands at its final place
  return g;
}

}  // namespace

// ---- reductions ---------------------------------------------------------------

// d prod / d x_i is the product of the other elements of x_i's slice. Dividing
// the product by x_i is wrong at zeros, so slices with zeros are handled
// apart: with exactly one zero x_k, the gradient is the product of the
// non-zero elements at k and (that product / x_i) * x_k elsewhere (0, but
// with x_k's derivative intact for double backward); with two or more zeros
// it is 0 everywhere (its second derivative is taken as 0 too).
Tensor prod_backward(const Tensor& grad, const Tensor& self, std::optional<int64_t> dim, bool keepdim) {
  if (self.dim() == 0) return grad;
  if (self.numel() == 0) return zeros(self.sizes(), grad.options());
  const bool all = !dim.has_value();
  const Tensor x = all ? self.reshape({-1}) : self;
  const int64_t d = all ? 0 : meta::wrap_dim("prod_backward", *dim, self.dim());
  const Tensor g = all ? grad.reshape({1}) : keepdim ? grad : grad.unsqueeze(d);

  const Tensor zero = value_mask(x, 0.0);
  const Tensor zf = zero.to(x.dtype());
  Tensor counts;
  {
    NoGradGuard no_grad;
    counts = zf.sum(IntArrayRef(d), true);
  }
  const std::vector<double> nz = values(counts);
  Tensor others;
  if (std::all_of(nz.begin(), nz.end(), [](double c) { return c == 0; })) {
    others = x.prod(d, true) / x;
  } else {
    const Tensor c0 = value_mask(counts, 0.0).to(x.dtype());
    const Tensor c1 = value_mask(counts, 1.0).to(x.dtype());
    const Tensor s1 = x.masked_fill(zero, 1);
    const Tensor p1 = s1.prod(d, true);
    const Tensor a = p1 / s1;
    const Tensor xk = (x * zf).sum(IntArrayRef(d), true);
    others = a * c0 + (p1 * zf + a * xk * (1 - zf)) * c1;
  }
  const Tensor r = g * others;
  return all ? r.reshape(self.sizes()) : r;
}

Tensor var(const Tensor& self, IntArrayRef dim, const std::optional<Scalar>& correction, bool keepdim) {
  check_floating("var", self);
  int64_t n = 1;
  for (int64_t d : dims_of("var", dim, self.dim())) n *= self.size(d);
  const double c = correction ? correction->toDouble() : 1.0;
  // Two passes (mean, then squared deviations): no cancellation for large means.
  const Tensor dev = self - self.mean(dim, true);
  return (dev * dev).sum(dim, keepdim) / Scalar(std::max(static_cast<double>(n) - c, 0.0));
}

Tensor std(const Tensor& self, IntArrayRef dim, const std::optional<Scalar>& correction, bool keepdim) {
  check_floating("std", self);
  return composite::var(self, dim, correction, keepdim).sqrt();
}

Tensor minmax_backward(const Tensor& grad, const Tensor& self, const Tensor& result, IntArrayRef dim, bool keepdim) {
  const std::vector<int64_t> dims = dims_of("minmax_backward", dim, self.dim());
  const Tensor g = unsqueeze_reduced(grad, dims, keepdim);
  const Tensor r = unsqueeze_reduced(result.detach(), dims, keepdim);
  Tensor share;
  {
    NoGradGuard no_grad;
    const Tensor m = equal_mask(self, r).to(grad.dtype());
    Tensor count = m.sum(dims, true);
    count = count + value_mask(count, 0.0).to(count.dtype());  // a result matching nothing gets no gradient
    share = m / count;
  }
  return g * share;
}

namespace {
void check_nonempty(const char* op, const Tensor& self) {
  DG_CHECK(self.numel() > 0, op, ": expected a non-empty tensor (the ", op,
           " of no elements is undefined), got self of shape ", self.sizes());
}
void check_dim_nonempty(const char* op, const Tensor& self, int64_t dim) {
  const int64_t d = meta::wrap_dim(op, dim, self.dim());
  DG_CHECK(self.dim() == 0 || self.size(d) > 0, op, ": expected reduction dim ", d,
           " to have non-zero size, got self of shape ", self.sizes());
}
}  // namespace

Tensor max(const Tensor& self) {
  check_nonempty("max", self);
  return dg::amax(self);
}

std::tuple<Tensor, Tensor> max_dim(const Tensor& self, int64_t dim, bool keepdim) {
  check_dim_nonempty("max", self, dim);
  return {dg::amax(self, dim, keepdim), dg::argmax(self, dim, keepdim)};
}

Tensor min(const Tensor& self) {
  check_nonempty("min", self);
  return dg::amin(self);
}

std::tuple<Tensor, Tensor> min_dim(const Tensor& self, int64_t dim, bool keepdim) {
  check_dim_nonempty("min", self, dim);
  return {dg::amin(self, dim, keepdim), dg::argmin(self, dim, keepdim)};
}

Tensor logsumexp(const Tensor& self, IntArrayRef dim, bool keepdim) {
  check_floating("logsumexp", self);
  const std::vector<int64_t> dims = dims_of("logsumexp", dim, self.dim());
  bool empty_reduction = false;
  for (int64_t d : dims) empty_reduction = empty_reduction || self.size(d) == 0;
  if (empty_reduction) return self.exp().sum(dim, keepdim).log();  // log(0) = -inf
  // Shift by the (constant) maximum so exp never overflows; an infinite
  // maximum is not subtracted (inf - inf would be NaN).
  Tensor m;
  {
    NoGradGuard no_grad;
    m = Tensor(detail::to_host(dg::amax(self.detach(), dim, true).contiguous())).clone();
    visit_dtype(m.dtype(), [&]<typename T>() {
      if constexpr (std::is_floating_point_v<T>) {
        T* p = m.data_ptr<T>();
        for (int64_t i = 0; i < m.numel(); ++i)
          if (!std::isfinite(p[i])) p[i] = T(0);
      }
    });
    if (self.is_cuda()) m = detail::copy_to_device(m, self.device());
  }
  const Tensor s = (self - m).exp().sum(dim, keepdim);
  return s.log() + (keepdim ? m : m.reshape(s.sizes()));
}

namespace {
Tensor norm_impl(const char* op, const Tensor& self, double p, IntArrayRef dim, bool keepdim) {
  check_floating(op, self);
  if (p == 2) {
    // sqrt has an infinite slope at 0; where the sum of squares is exactly 0
    // take sqrt(s + 1) - 1 instead: the same value (0) and gradient 0, as PyTorch.
    const Tensor s = (self * self).sum(dim, keepdim);
    const Tensor z = value_mask(s, 0.0).to(s.dtype());
    return (s + z).sqrt() - z;
  }
  if (p == 1) return self.abs().sum(dim, keepdim);
  if (std::isinf(p)) return p > 0 ? self.abs().amax(dim, keepdim) : self.abs().amin(dim, keepdim);
  if (p == 0) {
    NoGradGuard no_grad;
    return (1 - value_mask(self, 0.0).to(self.dtype())).sum(dim, keepdim);
  }
  return self.abs().pow(p).sum(dim, keepdim).pow(1.0 / p);
}
}  // namespace

Tensor norm(const Tensor& self, const Scalar& p) { return norm_impl("norm", self, p.toDouble(), {}, false); }

Tensor norm_dim(const Tensor& self, const std::optional<Scalar>& p, IntArrayRef dim, bool keepdim) {
  dims_of("norm", dim, self.dim());  // validates dims with norm's name
  return norm_impl("norm", self, p ? p->toDouble() : 2.0, dim, keepdim);
}

Tensor cumsum_backward(const Tensor& grad, int64_t dim) {
  if (grad.dim() == 0) return grad;
  const int64_t d = meta::wrap_dim("cumsum_backward", dim, grad.dim());
  return grad.flip(d).cumsum(d).flip(d);
}

// ---- linear algebra -------------------------------------------------------------

Tensor addmm(const Tensor& self, const Tensor& mat1, const Tensor& mat2, const Scalar& beta, const Scalar& alpha) {
  DG_CHECK(mat1.dim() == 2 && mat2.dim() == 2, "addmm: expected mat1 and mat2 to be 2-D, got mat1 of shape ",
           mat1.sizes(), " and mat2 of shape ", mat2.sizes());
  DG_CHECK(mat1.size(1) == mat2.size(0), "addmm: mat1 and mat2 shapes cannot be multiplied (", mat1.sizes(), " and ",
           mat2.sizes(), "): mat1 has ", mat1.size(1), " columns but mat2 has ", mat2.size(0), " rows");
  DG_CHECK(self.dtype() == mat1.dtype() && mat1.dtype() == mat2.dtype(),
           "addmm: expected self, mat1 and mat2 to have the same dtype, got ", self.dtype(), ", ", mat1.dtype(),
           " and ", mat2.dtype());
  const DimVector out{mat1.size(0), mat2.size(1)};
  bool fits = self.dim() <= 2;
  for (int64_t k = 1; fits && k <= self.dim(); ++k) fits = self.size(-k) == 1 || self.size(-k) == out[2 - k];
  DG_CHECK(fits, "addmm: self of shape ", self.sizes(), " cannot be broadcast to the product's shape ", out.ref());
  const Tensor p = composite::maybe_multiply(dg::mm(mat1, mat2), alpha);
  // beta == 0 ignores self entirely (NaN or inf in it does not propagate), as in PyTorch.
  if (beta == Scalar(0)) return p;
  return composite::maybe_multiply(self, beta) + p;
}

Tensor linear(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias) {
  DG_CHECK(weight.dim() == 1 || weight.dim() == 2, "linear: expected weight to be 1-D or 2-D, got weight of shape ",
           weight.sizes());
  DG_CHECK(input.dim() >= 1, "linear: expected input to have at least 1 dimension, got a 0-dim tensor");
  DG_CHECK(input.size(-1) == weight.size(-1), "linear: input's last dimension (", input.size(-1),
           ") does not match weight's in_features (", weight.size(-1), "); input of shape ", input.sizes(),
           ", weight of shape ", weight.sizes());
  const bool has_bias = bias.has_value() && bias->defined();
  if (input.dim() == 2 && weight.dim() == 2 && has_bias) return composite::addmm(*bias, input, weight.t(), 1, 1);
  const Tensor out = dg::matmul(input, weight.t());
  return has_bias ? out + *bias : out;
}

Tensor dot(const Tensor& self, const Tensor& tensor) {
  DG_CHECK(self.dim() == 1 && tensor.dim() == 1, "dot: expected 1-D tensors, got self of shape ", self.sizes(),
           " and tensor of shape ", tensor.sizes());
  DG_CHECK(self.size(0) == tensor.size(0), "dot: expected self and tensor of the same size, got ", self.size(0),
           " and ", tensor.size(0));
  DG_CHECK(self.dtype() == tensor.dtype(), "dot: expected self and tensor of the same dtype, got ", self.dtype(),
           " and ", tensor.dtype());
  return (self * tensor).sum();
}

Tensor outer(const Tensor& self, const Tensor& vec2) {
  DG_CHECK(self.dim() == 1 && vec2.dim() == 1, "outer: expected 1-D tensors, got self of shape ", self.sizes(),
           " and vec2 of shape ", vec2.sizes());
  return self.unsqueeze(1) * vec2.unsqueeze(0);
}

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

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  DG_CHECK(!tensors.empty(), "cat: expected a non-empty list of tensors");
  // As in PyTorch, 1-D empty tensors are skipped whatever the others' shapes.
  std::vector<size_t> parts;
  ScalarType dtype = tensors[0].dtype();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    DG_CHECK(t.defined(), "cat: tensor ", i, " in the list is undefined");
    DG_CHECK(t.device() == tensors[0].device(), "cat: expected all tensors on one device, got tensor 0 on ",
             tensors[0].device(), " and tensor ", i, " on ", t.device());
    dtype = promote_types(dtype, t.dtype());
    if (!(t.dim() == 1 && t.size(0) == 0)) parts.push_back(i);
  }
  const TensorOptions options = TensorOptions().dtype(dtype).device(tensors[0].device());
  if (parts.empty()) return empty({0}, options);
  const Tensor& ref = tensors[parts[0]];
  DG_CHECK(ref.dim() > 0, "cat: zero-dimensional tensor (at position ", parts[0], ") cannot be concatenated");
  const int64_t d = meta::wrap_dim("cat", dim, ref.dim());
  DimVector shape(ref.sizes());
  shape[d] = 0;
  for (size_t i : parts) {
    const Tensor& t = tensors[i];
    DG_CHECK(t.dim() == ref.dim(), "cat: expected every tensor to have ", ref.dim(), " dimensions (as tensor ",
             parts[0], " of shape ", ref.sizes(), "), got tensor ", i, " of shape ", t.sizes());
    for (int64_t k = 0; k < t.dim(); ++k) {
      DG_CHECK(k == d || t.size(k) == ref.size(k), "cat: sizes of tensors must match except in dimension ", d,
               ": expected size ", ref.size(k), " in dimension ", k, " but got size ", t.size(k),
               " for tensor ", i, " of shape ", t.sizes());
    }
    shape[d] += t.size(d);
  }
  // Each piece is copied into its slice of the result: copy_ into a view is
  // differentiable (the result's history becomes CopySlices of each piece).
  Tensor out = empty(shape, options);
  int64_t offset = 0;
  for (size_t i : parts) {
    const int64_t n = tensors[i].size(d);
    if (n > 0) out.narrow(d, offset, n).copy_(tensors[i]);
    offset += n;
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  DG_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
  const int64_t d = meta::wrap_dim("stack", dim, tensors[0].dim() + 1);
  std::vector<Tensor> pieces;
  pieces.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    DG_CHECK(tensors[i].defined(), "stack: tensor ", i, " in the list is undefined");
    DG_CHECK(tensors[i].sizes() == tensors[0].sizes(), "stack: expected each tensor to be of equal size, but got ",
             tensors[0].sizes(), " at entry 0 and ", tensors[i].sizes(), " at entry ", i);
    pieces.push_back(tensors[i].unsqueeze(d));
  }
  return composite::cat(pieces, d);
}

Tensor repeat(const Tensor& self, IntArrayRef repeats) {
  const int64_t nr = static_cast<int64_t>(repeats.size());
  DG_CHECK(nr >= self.dim(), "repeat: the number of repeats (", nr,
           ") can not be smaller than the number of dimensions of self (", self.dim(), "); self of shape ",
           self.sizes(), ", repeats ", repeats);
  for (int64_t r : repeats) DG_CHECK(r >= 0, "repeat: expected non-negative repeats, got ", repeats);
  // View self as [1, s0, 1, s1, ...], expand the 1s to the repeats, then copy
  // into [r0 * s0, r1 * s1, ...]. The copy is always made (repeat never aliases).
  const int64_t lead = nr - self.dim();
  DimVector interleaved, expanded, out;
  for (int64_t i = 0; i < nr; ++i) {
    const int64_t s = i < lead ? 1 : self.size(i - lead);
    interleaved.push_back(1);
    interleaved.push_back(s);
    expanded.push_back(repeats[i]);
    expanded.push_back(s);
    out.push_back(repeats[i] * s);
  }
  return self.reshape(interleaved).expand(expanded).clone().view(out);
}

namespace {
Tensor roll_one(const Tensor& x, int64_t shift, int64_t d) {
  const int64_t n = x.size(d);
  if (n == 0) return x.clone();
  const int64_t s = ((shift % n) + n) % n;
  if (s == 0) return x.clone();
  return composite::cat({x.narrow(d, n - s, s), x.narrow(d, 0, n - s)}, d);
}
}  // namespace

Tensor roll(const Tensor& self, IntArrayRef shifts, IntArrayRef dims) {
  if (dims.empty()) {
    DG_CHECK(shifts.size() == 1, "roll: expected one shift when dims is empty (rolling the flattened tensor), got shifts ",
             shifts);
    return roll_one(self.reshape({-1}), shifts[0], 0).view(self.sizes());
  }
  DG_CHECK(shifts.size() == dims.size(), "roll: expected shifts and dims of the same length, got shifts ", shifts,
           " and dims ", dims);
  DG_CHECK(self.dim() > 0, "roll: cannot roll a 0-dim tensor along dims ", dims);
  Tensor x = self;
  for (size_t i = 0; i < dims.size(); ++i) x = roll_one(x, shifts[i], meta::wrap_dim("roll", dims[i], self.dim()));
  return x;
}

Tensor pad(const Tensor& self, IntArrayRef pad, std::string_view mode, std::optional<double> value) {
  DG_CHECK(mode == "constant", "pad: mode '", std::string(mode),
           "' is not supported (only \"constant\" is; reflect, replicate and circular are not implemented)");
  const int64_t np = static_cast<int64_t>(pad.size());
  DG_CHECK(np % 2 == 0, "pad: expected an even number of padding values ((left, right) pairs), got pad ", pad);
  DG_CHECK(np / 2 <= self.dim(), "pad: pad ", pad, " pads ", np / 2, " dimensions but self of shape ", self.sizes(),
           " has only ", self.dim());
  DimVector shape(self.sizes());
  for (int64_t i = 0; i < np / 2; ++i) {
    const int64_t d = self.dim() - 1 - i;
    shape[d] = self.size(d) + pad[2 * i] + pad[2 * i + 1];
    DG_CHECK(shape[d] >= 0, "pad: padding (", pad[2 * i], ", ", pad[2 * i + 1], ") of dimension ", d, " of size ",
             self.size(d), " gives a negative size ", shape[d]);
  }
  Tensor out = full(shape, Scalar(value.value_or(0.0)), self.options());
  // Negative padding crops: narrow the source; positive padding offsets the
  // destination. copy_ into the view makes the result differentiable.
  Tensor src = self, dst = out;
  for (int64_t i = 0; i < np / 2; ++i) {
    const int64_t d = self.dim() - 1 - i;
    const int64_t l = pad[2 * i], r = pad[2 * i + 1];
    const int64_t crop_l = std::max<int64_t>(-l, 0), crop_r = std::max<int64_t>(-r, 0);
    const int64_t len = self.size(d) - crop_l - crop_r;
    if (len <= 0) return out;
    src = src.narrow(d, crop_l, len);
    dst = dst.narrow(d, std::max<int64_t>(l, 0), len);
  }
  if (src.numel() > 0) dst.copy_(src);
  return out;
}


}  // namespace dg::composite
