// The sorting and selection family as formulas: a kernel finds the int64
// positions (a permutation, the first k, the median's or the mode's index),
// and the values are gathered through them, so autograd sees gather and the
// gradient scatters back into the selected positions (and is differentiable
// again). unique and its kin read only a bool mask of run starts on the
// host. cumprod's and logcumsumexp's gradients are PyTorch's formulas.
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/operators.h"
#include "ops/composite.h"
#include "ops/meta.h"

namespace dg::composite {

namespace {

int64_t line_length(const Tensor& self, int64_t d) { return self.dim() == 0 ? 1 : self.size(d); }

// values/indices of shape keepdim (size 1 along d) squeezed unless keepdim.
std::tuple<Tensor, Tensor> picked(const Tensor& self, int64_t d, const Tensor& index, bool keepdim) {
  Tensor values = self.gather(d, index);
  if (keepdim || self.dim() == 0) return {values, index};
  return {values.squeeze(d), index.squeeze(d)};
}

void check_nonempty_dim(const char* op, const Tensor& self, int64_t d) {
  DG_CHECK(line_length(self, d) > 0, op, ": expected reduction dim ", d, " to have non-zero size, got self of shape ",
           self.sizes());
}

// The positions where a run of equal rows starts (row 0 always does), read
// on the host, of `rows` [n, m] (m >= 1).
std::vector<int64_t> run_starts(const Tensor& rows) {
  const int64_t n = rows.size(0);
  std::vector<int64_t> starts;
  if (n == 0) return starts;
  starts.push_back(0);
  if (n == 1) return starts;
  Tensor differs = rows.narrow(0, 1, n - 1).ne(rows.narrow(0, 0, n - 1));
  if (rows.dim() > 1) differs = differs.to(kInt64).sum(IntArrayRef(int64_t(1))).gt(0);
  const std::vector<double> d = values(differs);
  for (int64_t k = 0; k < n - 1; ++k)
    if (d[static_cast<size_t>(k)] != 0) starts.push_back(k + 1);
  return starts;
}

// unique's three outputs from rows [n, m] already ordered (perm: the row of
// self each ordered row came from), as slices of `source` along d.
std::tuple<Tensor, Tensor, Tensor> unique_runs(const Tensor& source, int64_t d, const Tensor& rows, const Tensor& perm,
                                               bool return_inverse, bool return_counts, IntArrayRef inverse_shape) {
  const int64_t n = rows.size(0);
  const std::vector<int64_t> starts = run_starts(rows);
  const TensorOptions index_opts = TensorOptions(kInt64).device(source.device());
  Tensor output = source.index_select(d, perm.index_select(0, dg::tensor(starts, index_opts)));
  Tensor inverse = dg::zeros({0}, index_opts), counts = dg::zeros({0}, index_opts);
  if (return_inverse) {
    // Run number of each ordered row, sent back to the row it came from.
    std::vector<int64_t> run(static_cast<size_t>(n));
    for (size_t r = 0, k = 0; k < run.size(); ++k) {
      if (r + 1 < starts.size() && static_cast<int64_t>(k) == starts[r + 1]) ++r;
      run[k] = static_cast<int64_t>(r);
    }
    inverse = dg::zeros({n}, index_opts).scatter_add(0, perm, dg::tensor(run, index_opts)).reshape(inverse_shape);
  }
  if (return_counts) {
    std::vector<int64_t> c(starts.size());
    for (size_t r = 0; r < starts.size(); ++r) c[r] = (r + 1 < starts.size() ? starts[r + 1] : n) - starts[r];
    counts = dg::tensor(c, index_opts);
  }
  return {output, inverse, counts};
}

// The median of no elements: NaN, or for integers what ATen's NaN cast
// gives (the smallest int64).
Tensor median_of_nothing(const Tensor& self) {
  if (self.is_floating_point()) return dg::full({}, std::numeric_limits<double>::quiet_NaN(), self.options());
  return dg::full({}, std::numeric_limits<int64_t>::min(), self.options());
}

}  // namespace

// ---- sort ---------------------------------------------------------------------

std::tuple<Tensor, Tensor> sort(const Tensor& self, int64_t dim, bool descending) {
  const int64_t d = meta::wrap_dim("sort", dim, self.dim());
  Tensor indices = dg::_sort_indices(self, d, descending, true);
  return {self.gather(d, indices), indices};
}

std::tuple<Tensor, Tensor> sort_stable(const Tensor& self, std::optional<bool> stable, int64_t dim, bool descending) {
  // LibTorch asserts the same; every dynagrad sort is stable anyway.
  DG_CHECK(stable.has_value(), "sort: expected `stable` to be true or false, got None");
  return composite::sort(self, dim, descending);
}

Tensor argsort(const Tensor& self, int64_t dim, bool descending) {
  meta::wrap_dim("argsort", dim, self.dim());
  return dg::_sort_indices(self, dim, descending, true);
}

Tensor argsort_stable(const Tensor& self, bool stable, int64_t dim, bool descending) {
  (void)stable;
  return composite::argsort(self, dim, descending);
}

Tensor msort(const Tensor& self) { return std::get<0>(composite::sort(self, 0, false)); }

// ---- selection ----------------------------------------------------------------

std::tuple<Tensor, Tensor> topk(const Tensor& self, int64_t k, int64_t dim, bool largest, bool sorted) {
  const int64_t d = meta::wrap_dim("topk", dim, self.dim());
  const int64_t n = line_length(self, d);
  DG_CHECK(k >= 0 && k <= n, "topk: selected index k out of range: expected 0 <= k <= ", n, " (the size of dim ", d,
           "), got k = ", k);
  Tensor indices = dg::_topk_indices(self, k, d, largest, sorted);
  return {self.gather(d, indices), indices};
}

std::tuple<Tensor, Tensor> kthvalue(const Tensor& self, int64_t k, int64_t dim, bool keepdim) {
  const int64_t d = meta::wrap_dim("kthvalue", dim, self.dim());
  const int64_t n = line_length(self, d);
  check_nonempty_dim("kthvalue", self, d);
  DG_CHECK(k >= 1 && k <= n, "kthvalue: selected number k out of range for dimension ", d, ": expected 1 <= k <= ", n,
           ", got k = ", k);
  Tensor first_k = dg::_topk_indices(self, k, d, false, true);
  return picked(self, d, self.dim() == 0 ? first_k : first_k.narrow(d, k - 1, 1), keepdim);
}

Tensor median(const Tensor& self) {
  if (self.numel() == 0) return median_of_nothing(self);
  const Tensor flat = self.reshape({-1});
  return flat.gather(0, dg::_median_indices(flat, 0, false)).squeeze(0);
}

std::tuple<Tensor, Tensor> median_dim(const Tensor& self, int64_t dim, bool keepdim) {
  const int64_t d = meta::wrap_dim("median", dim, self.dim());
  check_nonempty_dim("median", self, d);
  return picked(self, d, dg::_median_indices(self, d, false), keepdim);
}

Tensor nanmedian(const Tensor& self) {
  if (self.numel() == 0) return median_of_nothing(self);
  const Tensor flat = self.reshape({-1});
  return flat.gather(0, dg::_median_indices(flat, 0, true)).squeeze(0);
}

std::tuple<Tensor, Tensor> nanmedian_dim(const Tensor& self, int64_t dim, bool keepdim) {
  const int64_t d = meta::wrap_dim("nanmedian", dim, self.dim());
  check_nonempty_dim("nanmedian", self, d);
  return picked(self, d, dg::_median_indices(self, d, true), keepdim);
}

std::tuple<Tensor, Tensor> mode(const Tensor& self, int64_t dim, bool keepdim) {
  const int64_t d = meta::wrap_dim("mode", dim, self.dim());
  check_nonempty_dim("mode", self, d);
  return picked(self, d, dg::_mode_indices(self, d), keepdim);
}

// ---- unique -------------------------------------------------------------------

std::tuple<Tensor, Tensor, Tensor> _unique2(const Tensor& self, bool sorted, bool return_inverse, bool return_counts) {
  (void)sorted;  // always sorted (PyTorch leaves the order unspecified when not sorted)
  NoGradGuard no_grad;
  const Tensor flat = self.detach().reshape({-1});
  const Tensor perm = dg::_sort_indices(flat, 0, false, true);
  return unique_runs(flat, 0, flat.index_select(0, perm), perm, return_inverse, return_counts, self.sizes());
}

std::tuple<Tensor, Tensor, Tensor> unique_consecutive(const Tensor& self, bool return_inverse, bool return_counts,
                                                      std::optional<int64_t> dim) {
  NoGradGuard no_grad;
  const Tensor x = self.detach();
  if (!dim) {
    const Tensor flat = x.reshape({-1});
    const Tensor perm = dg::arange(flat.numel(), TensorOptions(kInt64).device(x.device()));
    return unique_runs(flat, 0, flat, perm, return_inverse, return_counts, self.sizes());
  }
  const int64_t d = meta::wrap_dim("unique_consecutive", *dim, x.dim());
  DG_CHECK(x.dim() > 0,
           "unique_consecutive: expected a tensor with at least one dim when dim is given, got a 0-dim one");
  const int64_t n = x.size(d);
  const Tensor rows = x.transpose(0, d).reshape({n, -1});
  const Tensor perm = dg::arange(n, TensorOptions(kInt64).device(x.device()));
  (void)return_inverse;  // along a dim ATen computes both anyway
  (void)return_counts;
  return unique_runs(x, d, rows.size(1) > 0 ? rows : dg::zeros({n, 1}, x.options()), perm, true, true, IntArrayRef(n));
}

std::tuple<Tensor, Tensor, Tensor> unique_dim(const Tensor& self, int64_t dim, bool sorted, bool return_inverse,
                                              bool return_counts) {
  (void)sorted;
  NoGradGuard no_grad;
  const Tensor x = self.detach();
  DG_CHECK(x.dim() > 0, "unique_dim: expected a tensor with at least one dim, got a 0-dim one");
  const int64_t d = meta::wrap_dim("unique_dim", dim, x.dim());
  const int64_t n = x.size(d);
  Tensor rows = x.transpose(0, d).reshape({n, -1});
  if (rows.size(1) == 0) rows = dg::zeros({n, 1}, x.options());
  // Lexicographic order of the rows: stable sorts by each column, last first.
  Tensor perm = dg::arange(n, TensorOptions(kInt64).device(x.device()));
  for (int64_t c = rows.size(1) - 1; c >= 0; --c) {
    const Tensor key = rows.select(1, c).index_select(0, perm);
    perm = perm.index_select(0, dg::_sort_indices(key, 0, false, true));
  }
  (void)return_inverse;  // ATen computes both anyway
  (void)return_counts;
  return unique_runs(x, d, rows.index_select(0, perm), perm, true, true, IntArrayRef(n));
}

std::tuple<Tensor, Tensor, Tensor> unique(const Tensor& self, bool sorted, bool return_inverse, bool return_counts,
                                          std::optional<int64_t> dim) {
  if (dim) return composite::unique_dim(self, *dim, sorted, return_inverse, return_counts);
  return composite::_unique2(self, sorted, return_inverse, return_counts);
}

// ---- searchsorted -------------------------------------------------------------

Tensor searchsorted(const Tensor& sorted_sequence, const Tensor& self, bool out_int32, bool right) {
  DG_CHECK(!out_int32, "searchsorted: out_int32=true (an int32 result) is not supported: the result is int64");
  DG_CHECK(sorted_sequence.dim() >= 1, "searchsorted: expected sorted_sequence to have at least one dim, got a 0-dim ",
           "tensor");
  if (sorted_sequence.dtype() == self.dtype()) return dg::_searchsorted(sorted_sequence, self, right);
  // Mixed dtypes compare in the wider one (int64 < float32 < float64).
  const auto rank = [](ScalarType t) { return t == kFloat64 ? 3 : t == kFloat32 ? 2 : t == kInt64 ? 1 : 0; };
  const ScalarType common =
      rank(sorted_sequence.dtype()) >= rank(self.dtype()) ? sorted_sequence.dtype() : self.dtype();
  return dg::_searchsorted(sorted_sequence.to(common), self.to(common), right);
}

Tensor searchsorted_scalar(const Tensor& sorted_sequence, const Scalar& self, bool out_int32, bool right) {
  DG_CHECK(sorted_sequence.dim() == 1, "searchsorted: expected a 1-D sorted_sequence for a number, got shape ",
           sorted_sequence.sizes());
  // A float number searched among integers compares as float64, as ATen's wrapped number does.
  const ScalarType dtype =
      self.is_floating_point() && !sorted_sequence.is_floating_point() ? kFloat64 : sorted_sequence.dtype();
  return composite::searchsorted(sorted_sequence, dg::scalar_tensor(self, sorted_sequence.options().dtype(dtype)),
                                 out_int32, right);
}

Tensor bucketize(const Tensor& self, const Tensor& boundaries, bool out_int32, bool right) {
  DG_CHECK(boundaries.dim() == 1, "bucketize: expected boundaries to be a 1-D tensor, got boundaries of shape ",
           boundaries.sizes());
  DG_CHECK(!out_int32, "bucketize: out_int32=true (an int32 result) is not supported: the result is int64");
  return composite::searchsorted(boundaries, self, false, right);
}

// ---- scans --------------------------------------------------------------------

std::tuple<Tensor, Tensor> cummax(const Tensor& self, int64_t dim) {
  const int64_t d = meta::wrap_dim("cummax", dim, self.dim());
  Tensor indices = dg::_cummaxmin_indices(self, d, true);
  return {self.gather(d, indices), indices};
}

std::tuple<Tensor, Tensor> cummin(const Tensor& self, int64_t dim) {
  const int64_t d = meta::wrap_dim("cummin", dim, self.dim());
  Tensor indices = dg::_cummaxmin_indices(self, d, false);
  return {self.gather(d, indices), indices};
}

Tensor cumprod_backward(const Tensor& grad, const Tensor& self, int64_t dim, const Tensor& result) {
  if (self.numel() <= 1) return grad;
  const int64_t d = meta::wrap_dim("cumprod_backward", dim, self.dim());
  if (self.size(d) == 1) return grad;
  const auto reversed_cumsum = [d](const Tensor& w) { return w.flip(IntArrayRef(d)).cumsum(d).flip(IntArrayRef(d)); };
  // dL/dx_k = sum_{i >= k} g_i prod_{j <= i, j != k} x_j. Before the first
  // zero z of a line that is reversed_cumsum(g * y)_k / x_k; at z it is
  // reversed_cumsum(g * y')_z, y' the cumprod of x with x_z = 1; after z it
  // is x_z * B_k, 0 but with a derivative along x_z, where B is this
  // gradient at x with x_z = 1 (one zero fewer: the recursion ends). The
  // masks are piecewise constant: computed without history.
  Tensor before_zero, first_zero;
  {
    NoGradGuard no_grad;
    const Tensor is_zero = self.detach().eq(0);
    const Tensor zeros_so_far = is_zero.to(kInt64).cumsum(d);
    before_zero = zeros_so_far.eq(0);
    first_zero = dg::logical_and(is_zero, zeros_so_far.eq(1));
  }
  const Tensor after = before_zero.logical_not();
  const Tensor safe_self = self.masked_fill(after, 1);
  Tensor g = (reversed_cumsum(grad * result) / safe_self).masked_fill(after, 0);
  if (values(first_zero.to(kInt64).sum()).front() == 0) return g;
  const Tensor self_z_is_one = self.masked_fill(first_zero, 1);
  const Tensor y_prime = self_z_is_one.cumprod(d);
  g = g + reversed_cumsum(grad * y_prime).masked_fill(first_zero.logical_not(), 0);
  Tensor b;
  {
    NoGradGuard no_grad;
    const Tensor x1 = self_z_is_one.detach();
    b = composite::cumprod_backward(grad.detach(), x1, d, x1.cumprod(d));
  }
  const Tensor past_zero = dg::logical_and(after, first_zero.logical_not());
  const Tensor x_z = self.masked_fill(first_zero.logical_not(), 0).sum(IntArrayRef(d), true);  // 0, with a gradient
  return g + (b * x_z).masked_fill(past_zero.logical_not(), 0);
}

Tensor logcumsumexp_backward(const Tensor& grad, const Tensor& self, const Tensor& result, int64_t dim) {
  if (grad.dim() == 0 || grad.numel() == 0) return grad;
  const int64_t d = meta::wrap_dim("logcumsumexp_backward", dim, self.dim());
  const auto reverse_logcumsumexp = [d](const Tensor& x) {
    return x.flip(IntArrayRef(d)).logcumsumexp(d).flip(IntArrayRef(d));
  };
  // PyTorch's formula: grad split by sign, each part summed in log space.
  const double lowest =
      grad.dtype() == kFloat32 ? double(std::numeric_limits<float>::lowest()) : std::numeric_limits<double>::lowest();
  const Tensor log_abs_grad = grad.abs().log();
  const Tensor log_grad_positive = log_abs_grad.masked_fill(grad.le(0), lowest);
  const Tensor log_grad_negative = log_abs_grad.masked_fill(grad.ge(0), lowest);
  const Tensor output_pos = (reverse_logcumsumexp(log_grad_positive - result) + self).exp();
  const Tensor output_neg = (reverse_logcumsumexp(log_grad_negative - result) + self).exp();
  return output_pos - output_neg;
}

}  // namespace dg::composite
