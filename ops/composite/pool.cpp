// Pooling front ends built on the 2-D kernels: max_pool2d_with_indices (the
// values and the argmax of one pooling), the 1-D poolings (a height-1 2-D
// pooling), the 3-D ones (a box's max, sum and divisor are separable: a 2-D
// pooling over (H, W), then one over D) and adaptive max pooling (the argmax
// kernel, then a gather whose gradient is the scatter of the backward). Each
// checks its arguments under its own name first.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/operators.h"
#include "kernels/common/pool_window.h"
#include "ops/composite.h"
#include "ops/meta.h"

namespace dg::composite {

std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                                                   IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  DG_CHECK(self.defined(), "max_pool2d_with_indices: self must be a defined tensor");
  pool::pool2d_geometry("max_pool2d_with_indices", self.sizes(), kernel_size, stride, padding, dilation, ceil_mode);
  return {dg::max_pool2d(self, kernel_size, stride, padding, dilation, ceil_mode),
          dg::max_pool2d_indices(self, kernel_size, stride, padding, dilation, ceil_mode)};
}

namespace {

// The 1-D parameter `name` as one value (a single value or a list of one).
int64_t one(const char* op, const char* name, IntArrayRef v) { return param::expand(op, name, v, 1)[0]; }

void check_dims(const char* op, const Tensor& self, int64_t spatial) {
  DG_CHECK(self.defined(), op, ": self must be a defined tensor");
  DG_CHECK(self.dim() == spatial + 1 || self.dim() == spatial + 2, op, ": expected a ", spatial + 1,
           "-D (unbatched) or ", spatial + 2, "-D (batched) input, got input of shape ", self.sizes());
}

// A 4-D or 5-D input as [B, D, H, W] (B = the product of the leading dims).
Tensor as_4d(const Tensor& self) {
  const int64_t b = self.dim() == 5 ? self.size(0) * self.size(1) : self.size(0);
  return self.reshape({b, self.size(-3), self.size(-2), self.size(-1)});
}

// y [B, OD, OH * OW] back to self's leading dims and [OD, OH, OW].
Tensor from_4d(const Tensor& self, const Tensor& y, int64_t od, int64_t oh, int64_t ow) {
  std::vector<int64_t> shape(self.sizes().begin(), self.sizes().end() - 3);
  shape.insert(shape.end(), {od, oh, ow});
  return y.reshape(shape);
}

}  // namespace

Tensor max_pool1d(const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                  IntArrayRef dilation, bool ceil_mode) {
  const char* op = "max_pool1d";
  check_dims(op, self, 1);
  const int64_t k = one(op, "kernel_size", kernel_size), s = stride.empty() ? k : one(op, "stride", stride);
  const int64_t p = one(op, "padding", padding), d = one(op, "dilation", dilation);
  const Tensor x = self.unsqueeze(-2);
  pool::pool2d_geometry(op, x.sizes(), {1, k}, {1, s}, {0, p}, {1, d}, ceil_mode);
  return dg::max_pool2d(x, {1, k}, {1, s}, {0, p}, {1, d}, ceil_mode).squeeze(-2);
}

Tensor avg_pool1d(const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding, bool ceil_mode,
                  bool count_include_pad) {
  const char* op = "avg_pool1d";
  check_dims(op, self, 1);
  const int64_t k = one(op, "kernel_size", kernel_size), s = stride.empty() ? k : one(op, "stride", stride);
  const int64_t p = one(op, "padding", padding);
  const Tensor x = self.unsqueeze(-2);
  pool::pool2d_geometry(op, x.sizes(), {1, k}, {1, s}, {0, p}, {1}, ceil_mode);
  return dg::avg_pool2d(x, {1, k}, {1, s}, {0, p}, ceil_mode, count_include_pad, std::nullopt).squeeze(-2);
}

Tensor max_pool3d(const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                  IntArrayRef dilation, bool ceil_mode) {
  const char* op = "max_pool3d";
  check_dims(op, self, 3);
  const DimVector k = param::expand(op, "kernel_size", kernel_size, 3);
  const DimVector s = stride.empty() ? k : param::expand(op, "stride", stride, 3);
  const DimVector p = param::expand(op, "padding", padding, 3), d = param::expand(op, "dilation", dilation, 3);
  const Tensor x = as_4d(self);
  // Checks every dim under this op's name: (D, H), then (H, W).
  const pool::Pool2d dh = pool::pool2d_geometry(op, {1, self.size(-3), self.size(-2)}, {k[0], k[1]}, {s[0], s[1]},
                                                {p[0], p[1]}, {d[0], d[1]}, ceil_mode);
  const pool::Pool2d hw = pool::pool2d_geometry(op, {1, self.size(-2), self.size(-1)}, {k[1], k[2]}, {s[1], s[2]},
                                                {p[1], p[2]}, {d[1], d[2]}, ceil_mode);
  const Tensor y = dg::max_pool2d(x, {k[1], k[2]}, {s[1], s[2]}, {p[1], p[2]}, {d[1], d[2]}, ceil_mode);
  const Tensor z = dg::max_pool2d(y.reshape({x.size(0), x.size(1), hw.oh * hw.ow}), {k[0], 1}, {s[0], 1}, {p[0], 0},
                                  {d[0], 1}, ceil_mode);
  return from_4d(self, z, dh.oh, hw.oh, hw.ow);
}

Tensor avg_pool3d(const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding, bool ceil_mode,
                  bool count_include_pad, std::optional<int64_t> divisor_override) {
  const char* op = "avg_pool3d";
  check_dims(op, self, 3);
  DG_CHECK(!divisor_override || *divisor_override != 0, op, ": divisor_override must not be zero");
  const DimVector k = param::expand(op, "kernel_size", kernel_size, 3);
  const DimVector s = stride.empty() ? k : param::expand(op, "stride", stride, 3);
  const DimVector p = param::expand(op, "padding", padding, 3);
  const Tensor x = as_4d(self);
  const pool::Pool2d dh = pool::pool2d_geometry(op, {1, self.size(-3), self.size(-2)}, {k[0], k[1]}, {s[0], s[1]},
                                                {p[0], p[1]}, {1}, ceil_mode);
  const pool::Pool2d hw = pool::pool2d_geometry(op, {1, self.size(-2), self.size(-1)}, {k[1], k[2]}, {s[1], s[2]},
                                                {p[1], p[2]}, {1}, ceil_mode);
  // The divisor of a box is the product of its per-dim counts; an override
  // divides the plain sum (divisor 1 over (H, W)) once.
  const std::optional<int64_t> first = divisor_override ? std::optional<int64_t>(1) : std::nullopt;
  const Tensor y = dg::avg_pool2d(x, {k[1], k[2]}, {s[1], s[2]}, {p[1], p[2]}, ceil_mode, count_include_pad, first);
  const Tensor z = dg::avg_pool2d(y.reshape({x.size(0), x.size(1), hw.oh * hw.ow}), {k[0], 1}, {s[0], 1}, {p[0], 0},
                                  ceil_mode, count_include_pad, divisor_override);
  return from_4d(self, z, dh.oh, hw.oh, hw.ow);
}

std::tuple<Tensor, Tensor> adaptive_max_pool2d(const Tensor& self, IntArrayRef output_size) {
  const char* op = "adaptive_max_pool2d";
  check_dims(op, self, 2);
  const Tensor idx = dg::_adaptive_max_pool2d_indices(self, output_size);
  const Tensor values = self.flatten(-2).gather(-1, idx.flatten(-2)).reshape(idx.sizes());
  return {values, idx};
}

std::tuple<Tensor, Tensor> adaptive_max_pool1d(const Tensor& self, IntArrayRef output_size) {
  const char* op = "adaptive_max_pool1d";
  check_dims(op, self, 1);
  const int64_t o = one(op, "output_size", output_size);
  DG_CHECK(o > 0 && self.size(-1) > 0, op,
           ": expected a non-empty input and a positive output_size, got input of shape ", self.sizes(),
           " and output_size ", output_size);
  auto [values, idx] = composite::adaptive_max_pool2d(self.unsqueeze(-2), {1, o});
  return {values.squeeze(-2), idx.squeeze(-2)};
}

Tensor adaptive_avg_pool1d(const Tensor& self, IntArrayRef output_size) {
  const char* op = "adaptive_avg_pool1d";
  check_dims(op, self, 1);
  const int64_t o = one(op, "output_size", output_size);
  DG_CHECK(o >= 0 && self.size(-1) > 0, op,
           ": expected a non-empty input and a non-negative output_size, got input of shape ", self.sizes(),
           " and output_size ", output_size);
  return dg::adaptive_avg_pool2d(self.unsqueeze(-2), {1, o}).squeeze(-2);
}

Tensor adaptive_avg_pool3d(const Tensor& self, IntArrayRef output_size) {
  const char* op = "adaptive_avg_pool3d";
  check_dims(op, self, 3);
  const DimVector o = param::expand(op, "output_size", output_size, 3);
  param::check_all(op, "output_size", o, 0, "non-negative");
  DG_CHECK(self.size(-3) > 0 && self.size(-2) > 0 && self.size(-1) > 0, op,
           ": expected an input of non-zero depth, height and width, got input of shape ", self.sizes());
  const Tensor x = as_4d(self);
  const Tensor y = dg::adaptive_avg_pool2d(x, {o[1], o[2]});
  const Tensor z = dg::adaptive_avg_pool2d(y.reshape({x.size(0), x.size(1), o[1] * o[2]}), {o[0], o[1] * o[2]});
  return from_4d(self, z, o[0], o[1], o[2]);
}

}  // namespace dg::composite
