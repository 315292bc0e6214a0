// Reductions built from other ops (mean, var, std, max/min, logsumexp, norm)
// and the gradients of the kernel reductions (sum, prod, amax/amin, cumsum).
// Masks that only select where a gradient goes (ties, zeros) are computed
// from the values without history: they are piecewise constant, so their
// derivative is zero.
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

namespace {

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
  return bool_mask(a.sizes(), a.device(),
                   [&](int64_t i) { return va[i] == vb[i] || (std::isnan(va[i]) && std::isnan(vb[i])); });
}

Tensor value_mask(const Tensor& a, double v) {
  const std::vector<double> va = values(a);
  return bool_mask(a.sizes(), a.device(), [&](int64_t i) { return va[i] == v; });
}

// grad of a reduction without keepdim, with the reduced dims put back as 1s.
Tensor unsqueeze_reduced(const Tensor& grad, const std::vector<int64_t>& dims, bool keepdim) {
  if (keepdim) return grad;
  Tensor g = grad;
  for (int64_t d : dims) g = g.unsqueeze(d);  // ascending: each lands at its final place
  return g;
}

void check_nonempty(const char* op, const Tensor& self) {
  DG_CHECK(self.numel() > 0, op, ": expected a non-empty tensor (the ", op,
           " of no elements is undefined), got self of shape ", self.sizes());
}
void check_dim_nonempty(const char* op, const Tensor& self, int64_t dim) {
  const int64_t d = meta::wrap_dim(op, dim, self.dim());
  DG_CHECK(self.dim() == 0 || self.size(d) > 0, op, ": expected reduction dim ", d,
           " to have non-zero size, got self of shape ", self.sizes());
}

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

// Each slice along dim with p-norm above maxnorm scaled by maxnorm / (norm + 1e-7),
// as PyTorch's renorm (the gradient goes through the norm too).
Tensor renorm(const Tensor& self, const Scalar& p, int64_t dim, const Scalar& maxnorm) {
  check_floating("renorm", self, "self");
  DG_CHECK(p.toDouble() > 0, "renorm: expected p > 0 (non-positive norms are not supported), got p = ", p);
  DG_CHECK(maxnorm.toDouble() >= 0, "renorm: expected maxnorm >= 0, got maxnorm = ", maxnorm);
  DG_CHECK(self.dim() >= 2, "renorm: expected self of at least 2 dims, got one of shape ", self.sizes());
  const int64_t d = meta::wrap_dim("renorm", dim, self.dim());
  std::vector<int64_t> dims;
  for (int64_t k = 0; k < self.dim(); ++k)
    if (k != d) dims.push_back(k);
  Tensor norm = dg::norm(self, p, dims, true);
  return self * where(norm.gt(maxnorm), maxnorm.toDouble() / (norm + 1e-7), ones_like(norm));
}

Tensor sum_backward(const Tensor& grad, IntArrayRef sizes, IntArrayRef dim, bool keepdim) {
  const int64_t nd = static_cast<int64_t>(sizes.size());
  Tensor g = grad;
  if (!keepdim && nd > 0) {
    // Ascending order: each unsqueeze then lands at its final position.
    for (int64_t d : dims_of("sum_backward", dim, nd)) g = g.unsqueeze(d);
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

// sum, prod and cumsum are one node each (SumBackward0, ProdBackward0, ...)
// around the kernel ops _sum, _prod and _cumsum: the input is cast to `dtype`
// when given, else bool and integers to int64, as in PyTorch (the kernels
// are for the result dtypes).
namespace {
Tensor accumulation_input(const Tensor& self, std::optional<ScalarType> dtype) {
  return self.to(dtype.value_or(is_integral(self.dtype(), /*include_bool=*/true) ? kInt64 : self.dtype()));
}
}  // namespace

Tensor sum(const Tensor& self, std::optional<ScalarType> dtype) { return dg::_sum(accumulation_input(self, dtype)); }
Tensor sum_dim(const Tensor& self, IntArrayRef dim, bool keepdim, std::optional<ScalarType> dtype) {
  return dg::_sum(accumulation_input(self, dtype), dim, keepdim);
}
Tensor prod(const Tensor& self, std::optional<ScalarType> dtype) { return dg::_prod(accumulation_input(self, dtype)); }
Tensor prod_dim(const Tensor& self, int64_t dim, bool keepdim, std::optional<ScalarType> dtype) {
  meta::reduce_one_dim("prod", self, dim, keepdim);  // errors name prod, not its kernel
  return dg::_prod(accumulation_input(self, dtype), dim, keepdim);
}
Tensor cumsum(const Tensor& self, int64_t dim, std::optional<ScalarType> dtype) {
  meta::scan("cumsum", self, dim);
  return dg::_cumsum(accumulation_input(self, dtype), dim);
}

namespace {
// The number of elements a reduction over `dim` (all when empty) of a tensor
// of `sizes` combines into each result (1 for a 0-dim tensor).
double reduced_count(const char* op, IntArrayRef sizes, IntArrayRef dim) {
  int64_t n = 1;
  for (int64_t d : dims_of(op, dim, static_cast<int64_t>(sizes.size()))) n *= sizes.empty() ? 1 : sizes[d];
  return static_cast<double>(n);
}

// N - correction of a var/std over `dim` of self (never below 0).
double var_divisor(const char* op, const Tensor& self, IntArrayRef dim, const std::optional<Scalar>& correction) {
  const double c = correction ? correction->toDouble() : 1.0;
  return std::max(reduced_count(op, self.sizes(), dim) - c, 0.0);
}
}  // namespace

Tensor mean_backward(const Tensor& grad, IntArrayRef sizes, IntArrayRef dim, bool keepdim) {
  return composite::sum_backward(grad, sizes, dim, keepdim) / Scalar(reduced_count("mean_backward", sizes, dim));
}

Tensor var_backward(const Tensor& grad, const Tensor& self, IntArrayRef dim, const std::optional<Scalar>& correction,
                    bool keepdim) {
  const Tensor g = unsqueeze_reduced(grad, dims_of("var_backward", dim, self.dim()), keepdim);
  const Tensor dev = self - self.mean(dim, true);
  return g * dev * Scalar(2.0 / var_divisor("var_backward", self, dim, correction));
}

Tensor std_backward(const Tensor& grad, const Tensor& self, const Tensor& result, IntArrayRef dim,
                    const std::optional<Scalar>& correction, bool keepdim) {
  // d sqrt(v) = dv / (2 sqrt(v)); where the std is 0 the gradient is 0 (as PyTorch).
  const Tensor zero = result.detach().eq(0);
  return composite::var_backward((grad / (result * 2)).masked_fill(zero, 0.0), self, dim, correction, keepdim);
}

Tensor mean(const Tensor& self, std::optional<ScalarType> dtype) {
  const Tensor x = dtype ? self.to(*dtype) : self;
  check_floating("mean", x);
  return x.sum() / Scalar(static_cast<double>(x.numel()));
}

Tensor mean_dim(const Tensor& self, IntArrayRef dim, bool keepdim, std::optional<ScalarType> dtype) {
  const Tensor x = dtype ? self.to(*dtype) : self;
  check_floating("mean", x);
  meta::reduce_dims("mean", x, dim, keepdim);  // validates dims with mean's name on errors
  return x.sum(dim, keepdim) / Scalar(reduced_count("mean", x.sizes(), dim));
}

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
  // Two passes (mean, then squared deviations): no cancellation for large means.
  const Tensor dev = self - self.mean(dim, true);
  return (dev * dev).sum(dim, keepdim) / Scalar(var_divisor("var", self, dim, correction));
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

}  // namespace dg::composite

// ---- logical reductions ------------------------------------------------------------

namespace dg::composite {

namespace {
// The number of non-zero elements over `dim` (all when empty), int64.
Tensor nonzero_count(const Tensor& self, IntArrayRef dim, bool keepdim) {
  return self.ne(0).to(kInt64).sum(dim, keepdim);
}
}  // namespace

Tensor all(const Tensor& self) { return nonzero_count(self, {}, false).eq(self.numel()); }
Tensor any(const Tensor& self) { return nonzero_count(self, {}, false).gt(0); }

Tensor all_dim(const Tensor& self, int64_t dim, bool keepdim) {
  const int64_t d = meta::wrap_dim("all", dim, self.dim());
  return nonzero_count(self, {d}, keepdim).eq(self.dim() == 0 ? 1 : self.size(d));
}
Tensor any_dim(const Tensor& self, int64_t dim, bool keepdim) {
  meta::wrap_dim("any", dim, self.dim());
  return nonzero_count(self, {dim}, keepdim).gt(0);
}

Tensor count_nonzero(const Tensor& self, IntArrayRef dim) { return nonzero_count(self, dim, false); }

}  // namespace dg::composite

// ---- reductions with options --------------------------------------------------------

namespace dg::composite {

Tensor nansum(const Tensor& self, IntArrayRef dim, bool keepdim) {
  return dg::where(self.isnan(), zeros_like(self), self).sum(dim, keepdim);
}

Tensor nanmean(const Tensor& self, IntArrayRef dim, bool keepdim) {
  check_floating("nanmean", self);
  const Tensor kept = self.isnan().logical_not();
  return composite::nansum(self, dim, keepdim) / kept.sum(dim, keepdim);
}

std::tuple<Tensor, Tensor> aminmax(const Tensor& self, std::optional<int64_t> dim, bool keepdim) {
  if (dim) return {self.amin({*dim}, keepdim), self.amax({*dim}, keepdim)};
  DG_CHECK(self.numel() > 0, "aminmax: expected a non-empty tensor (the min and max of no elements are undefined)");
  // Over all elements, keepdim keeps every dim as a 1.
  const std::vector<int64_t> shape(keepdim ? static_cast<size_t>(self.dim()) : 0, 1);
  return {self.amin({}, false).reshape(shape), self.amax({}, false).reshape(shape)};
}

std::tuple<Tensor, Tensor> var_mean(const Tensor& self, IntArrayRef dim, const std::optional<Scalar>& correction,
                                    bool keepdim) {
  return {dg::var(self, dim, correction, keepdim), self.mean(dim, keepdim)};
}

std::tuple<Tensor, Tensor> std_mean(const Tensor& self, IntArrayRef dim, const std::optional<Scalar>& correction,
                                    bool keepdim) {
  return {dg::std(self, dim, correction, keepdim), self.mean(dim, keepdim)};
}

Tensor dist(const Tensor& self, const Tensor& other, const Scalar& p) {
  return dg::norm(self - other, p.toDouble(), {}, false);
}

}  // namespace dg::composite
