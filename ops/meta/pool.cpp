// Shape rules of 2-D pooling, sized from the window geometry the kernels
// walk (kernels/common/pool_window.h).
#include <algorithm>

#include "kernels/common/pool_window.h"
#include "kernels/common/spatial_params.h"
#include "ops/meta.h"

namespace dg::meta {

// ---- pooling -------------------------------------------------------------------

DimVector pooled_sizes(IntArrayRef input, int64_t oh, int64_t ow) {
  DimVector out(input);
  out[out.size() - 2] = oh;
  out[out.size() - 1] = ow;
  return out;
}

TensorMeta max_pool2d(const char* op, const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                      IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  const pool::Pool2d g = pool::pool2d_geometry(op, self.sizes(), kernel_size, stride, padding, dilation, ceil_mode);
  return TensorMeta{pooled_sizes(self.sizes(), g.oh, g.ow), self.dtype(), self.device()};
}

TensorMeta max_pool2d_indices(const char* op, const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                              IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  TensorMeta m = max_pool2d(op, self, kernel_size, stride, padding, dilation, ceil_mode);
  m.dtype = kInt64;
  return m;
}

TensorMeta max_pool2d_backward(const char* op, const Tensor& grad_output, const Tensor& self, IntArrayRef kernel_size,
                               IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  check_same_device(op, {&grad_output, &self});
  check_same_dtype(op, "grad_output", grad_output, "self", self);
  const pool::Pool2d g = pool::pool2d_geometry(op, self.sizes(), kernel_size, stride, padding, dilation, ceil_mode);
  const DimVector expected = pooled_sizes(self.sizes(), g.oh, g.ow);
  DG_CHECK(grad_output.sizes() == IntArrayRef(expected), op, ": expected grad_output of shape ", expected,
           " (the output of max_pool2d), got ", grad_output.sizes());
  return TensorMeta{DimVector(self.sizes()), self.dtype(), self.device()};
}

TensorMeta max_pool2d_gather(const char* op, const Tensor& self, const Tensor& source, IntArrayRef kernel_size,
                             IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  check_same_device(op, {&self, &source});
  check_same_dtype(op, "self", self, "source", source);
  DG_CHECK(self.sizes() == source.sizes(), op, ": expected source of self's shape ", self.sizes(), ", got ",
           source.sizes());
  return max_pool2d(op, self, kernel_size, stride, padding, dilation, ceil_mode);
}

TensorMeta avg_pool2d(const char* op, const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                      IntArrayRef padding, bool ceil_mode, bool count_include_pad,
                      std::optional<int64_t> divisor_override) {
  (void)count_include_pad;
  DG_CHECK(!divisor_override || *divisor_override != 0, op, ": divisor_override must not be zero");
  const pool::Pool2d g = pool::pool2d_geometry(op, self.sizes(), kernel_size, stride, padding, {1}, ceil_mode);
  return TensorMeta{pooled_sizes(self.sizes(), g.oh, g.ow), self.dtype(), self.device()};
}

TensorMeta avg_pool2d_backward(const char* op, const Tensor& grad_output, const Tensor& self, IntArrayRef kernel_size,
                               IntArrayRef stride, IntArrayRef padding, bool ceil_mode, bool count_include_pad,
                               std::optional<int64_t> divisor_override) {
  check_same_device(op, {&grad_output, &self});
  const TensorMeta fwd =
      avg_pool2d(op, self, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override);
  DG_CHECK(grad_output.sizes() == IntArrayRef(fwd.sizes), op, ": expected grad_output of shape ", fwd.sizes,
           " (the output of avg_pool2d), got ", grad_output.sizes());
  return TensorMeta{DimVector(self.sizes()), grad_output.dtype(), grad_output.device()};
}

DimVector adaptive_pool_output(const char* op, IntArrayRef input, IntArrayRef output_size) {
  pool::check_pool_input(op, input);
  const DimVector o = param::expand(op, "output_size", output_size, 2);
  param::check_all(op, "output_size", o, 0, "non-negative");
  return pooled_sizes(input, o[0], o[1]);
}

TensorMeta adaptive_avg_pool2d(const char* op, const Tensor& self, IntArrayRef output_size) {
  return TensorMeta{adaptive_pool_output(op, self.sizes(), output_size), self.dtype(), self.device()};
}

TensorMeta adaptive_avg_pool2d_backward(const char* op, const Tensor& grad_output, const Tensor& self) {
  check_same_device(op, {&grad_output, &self});
  pool::check_pool_input(op, self.sizes());
  const int64_t nd = self.dim();
  bool ok = grad_output.dim() == nd;
  for (int64_t i = 0; ok && i < nd - 2; ++i) ok = grad_output.size(i) == self.size(i);
  DG_CHECK(ok, op, ": expected grad_output to match self's leading dimensions ", self.sizes(), ", got ",
           grad_output.sizes());
  return TensorMeta{DimVector(self.sizes()), grad_output.dtype(), grad_output.device()};
}

TensorMeta adaptive_max_pool2d_indices(const char* op, const Tensor& self, IntArrayRef output_size) {
  const DimVector out = adaptive_pool_output(op, self.sizes(), output_size);
  DG_CHECK(out[out.size() - 2] > 0 && out[out.size() - 1] > 0, op, ": expected a positive output_size, got ",
           output_size);
  return TensorMeta{out, kInt64, self.device()};
}

}  // namespace dg::meta
