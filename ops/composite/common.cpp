// Helpers the composite families share (declared in ops/composite.h).
#include <vector>

#include "dynagrad/grad_mode.h"
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

}  // namespace dg::composite
