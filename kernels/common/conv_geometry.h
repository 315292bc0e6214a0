#pragma once
// The geometry of one ordinary convolution y = conv(x, w), and which of its
// three products (forward, backward data, backward weights) each convolution
// op runs with which operands: shared by the CPU and CUDA convolution kernels
// (kernels/*/conv.*), so both read the op's parameters the same way.
#include <cstdint>

#include "dynagrad/tensor_base.h"
#include "offset_calc.h"
#include "spatial_params.h"

namespace dg::conv {

constexpr int kMaxSpatial = 3;

// x [N, C, *in] * w [O, C / G, *k] -> y [N, O, *out]. The `spatial` real
// spatial dims are the last ones; the dims in front of them are size-1
// (kernel 1, stride 1, no padding, dilation 1), so a loop may treat every
// convolution as 3-D.
struct Geom {
  int64_t N, C, O, G;
  int64_t spatial;
  int64_t in[kMaxSpatial], k[kMaxSpatial], out[kMaxSpatial];
  int64_t s[kMaxSpatial], p[kMaxSpatial], d[kMaxSpatial];

  DG_HOST_DEVICE int64_t Cg() const { return C / G; }
  DG_HOST_DEVICE int64_t Og() const { return O / G; }
  DG_HOST_DEVICE int64_t in_numel() const { return in[0] * in[1] * in[2]; }
  DG_HOST_DEVICE int64_t taps() const { return k[0] * k[1] * k[2]; }
  DG_HOST_DEVICE int64_t out_numel() const { return out[0] * out[1] * out[2]; }
};

// The geometry from the shapes of x, w and y and the op's parameters (one
// value or one per spatial dim).
inline Geom make_geom(IntArrayRef x, IntArrayRef w, IntArrayRef y, IntArrayRef stride, IntArrayRef padding,
                      IntArrayRef dilation, int64_t groups) {
  const char* op = "convolution";
  const int64_t spatial = static_cast<int64_t>(w.size()) - 2;
  DG_CHECK(spatial >= 1 && spatial <= kMaxSpatial, op, ": expected 1 to ", kMaxSpatial,
           " spatial dimensions, got weight of shape ", w);
  const DimVector s = param::expand(op, "stride", stride, spatial);
  const DimVector p = param::expand(op, "padding", padding, spatial);
  const DimVector d = param::expand(op, "dilation", dilation, spatial);
  Geom g{};
  g.N = x[0], g.C = x[1], g.O = w[0], g.G = groups, g.spatial = spatial;
  const int64_t lead = kMaxSpatial - spatial;
  for (int64_t j = 0; j < kMaxSpatial; ++j) {
    const bool real = j >= lead;
    const size_t i = static_cast<size_t>(j - lead);
    g.in[j] = real ? x[2 + i] : 1;
    g.k[j] = real ? w[2 + i] : 1;
    g.out[j] = real ? y[2 + i] : 1;
    g.s[j] = real ? s[i] : 1;
    g.p[j] = real ? p[i] : 0;
    g.d[j] = real ? d[i] : 1;
  }
  return g;
}

// The three products of the ordinary convolution, each writing one of its
// tensors from the other two, a and b:
//   kForward         y  from (a = x,  b = w)
//   kBackwardData    gx from (a = gy, b = w)
//   kBackwardWeight  gw from (a = gy, b = x)
enum class Product { kForward, kBackwardData, kBackwardWeight };

struct Plan {
  Product product;
  const TensorBase& a;
  const TensorBase& b;
  Geom g;
};

// The product that writes one role of the ordinary convolution whose x, w
// and y (or gx, gw, gy) are the given tensors; the role it writes is the
// op's `out`.
inline Plan make_plan(Product product, const TensorBase& x, const TensorBase& w, const TensorBase& y,
                      IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, int64_t groups) {
  const Geom g = make_geom(x.sizes(), w.sizes(), y.sizes(), stride, padding, dilation, groups);
  switch (product) {
    case Product::kForward: return {product, x, w, g};
    case Product::kBackwardData: return {product, y, w, g};
    case Product::kBackwardWeight: break;
  }
  return {product, y, x, g};
}

// What each op runs. A transposed convolution is the backward-data product
// of the ordinary convolution it inverts (so its input plays that
// convolution's y, its output x); output_padding is already in the shapes.
inline Plan plan_convolution(const TensorBase& out, const TensorBase& input, const TensorBase& weight,
                             IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, bool transposed,
                             int64_t groups) {
  return transposed ? make_plan(Product::kBackwardData, out, weight, input, stride, padding, dilation, groups)
                    : make_plan(Product::kForward, input, weight, out, stride, padding, dilation, groups);
}

inline Plan plan_backward_input(const TensorBase& out, const TensorBase& grad_output, const TensorBase& weight,
                                IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, bool transposed,
                                int64_t groups) {
  return transposed ? make_plan(Product::kForward, grad_output, weight, out, stride, padding, dilation, groups)
                    : make_plan(Product::kBackwardData, out, weight, grad_output, stride, padding, dilation, groups);
}

inline Plan plan_backward_weight(const TensorBase& out, const TensorBase& grad_output, const TensorBase& input,
                                 IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, bool transposed,
                                 int64_t groups) {
  return transposed ? make_plan(Product::kBackwardWeight, grad_output, out, input, stride, padding, dilation, groups)
                    : make_plan(Product::kBackwardWeight, input, out, grad_output, stride, padding, dilation, groups);
}

}  // namespace dg::conv
