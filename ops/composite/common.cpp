// Helpers the composite families share (declared in ops/composite.h).
#include <algorithm>
#include <vector>

#include "dynagrad/grad_mode.h"
#include "dynagrad/operators.h"
#include "ops/composite.h"
#include "ops/meta.h"

namespace dg::composite {

// The elements of t, row-major, as doubles (no history).
std::vector<double> values(const Tensor& t) {
  NoGradGuard no_grad;
  const Tensor c = detail::to_host(t.detach().to(kFloat64).contiguous());  // a CUDA tensor's values, waited for
  const double* p = c.data_ptr<double>();
  return std::vector<double>(p, p + c.numel());
}

void check_floating(const char* op, const Tensor& t, const char* name) {
  if (name) {
    DG_CHECK(t.is_floating_point(), op, ": expected ", name, " to be a floating point tensor, got ", t.dtype());
  } else {
    DG_CHECK(t.is_floating_point(), op, ": expected a floating point tensor, got ", t.dtype());
  }
}

// A per-channel tensor [C] viewed so it broadcasts against [N, C, d...].
Tensor channel_view(const Tensor& t, int64_t ndim) {
  std::vector<int64_t> shape(static_cast<size_t>(ndim), 1);
  shape[1] = t.numel();
  return t.reshape(shape);
}

// The wrapped reduced dims in ascending order (all dims for an empty list).
std::vector<int64_t> dims_of(const char* op, IntArrayRef dim, int64_t ndim) {
  const std::vector<bool> m = meta::reduced_mask(op, dim, ndim);
  std::vector<int64_t> out;
  for (int64_t d = 0; d < ndim; ++d)
    if (m[d]) out.push_back(d);
  return out;
}

Tensor wrap_index(const char* op, const Tensor& index, int64_t size, const std::string& what) {
  if (index.numel() == 0) return index;
  int64_t lo = 0, hi = 0;
  if (index.is_cpu() && index.is_contiguous()) {  // one pass, no reductions
    const int64_t* p = index.data_ptr<int64_t>();
    lo = hi = p[0];
    for (int64_t i = 1, n = index.numel(); i < n; ++i) {
      lo = std::min(lo, p[i]);
      hi = std::max(hi, p[i]);
    }
  } else {
    lo = index.min().item<int64_t>();
    hi = index.max().item<int64_t>();
  }
  DG_CHECK(lo >= -size && hi < size, op, ": index ", lo < -size ? lo : hi, " is out of bounds for ", what,
           " with size ", size);
  return lo < 0 ? dg::where(index.lt(0), index + size, index) : index;
}

}  // namespace dg::composite
