#pragma once
// The source taps of upsampling by PyTorch's rules (nearest, linear, cubic
// with A = -0.75): which input elements each output element reads along one
// axis and with which weights. Shared by the shape rules and the CPU and
// CUDA kernels (kernels/*/upsample.*), host and device, so both read the
// same elements with the same weights. 2-D interpolation is separable: the
// weight of input (ih, iw) for output (oh, ow) is wh(oh, ih) * ww(ow, iw).
#include <cmath>
#include <cstdint>
#include <optional>

#include "dynagrad/int_array.h"
#include "offset_calc.h"

namespace dg::upsample {

enum class Mode : int { kNearest, kLinear, kCubic };

// One axis: in -> out elements; `scale` (when has_scale) is the user's
// scale factor, which replaces in / out as the source step when
// align_corners is false.
struct Axis {
  int64_t in = 1, out = 1;
  bool has_scale = false;
  double scale = 0;
};

// The resampling of a [planes, ih, iw] input into [planes, oh, ow] (1-D: one
// row, h.in = h.out = 1).
struct Plan {
  Mode mode = Mode::kNearest;
  bool align_corners = false;
  int64_t planes = 0;
  Axis h, w;
};

// Up to four taps: input indices (clamped into the axis) and their weights.
template <typename C>
struct Taps {
  int64_t i[4];
  C w[4];
  int n;
};

DG_HOST_DEVICE inline int64_t clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

// PyTorch's area_pixel_compute_scale: the source step per output element.
template <typename C>
DG_HOST_DEVICE C source_scale(const Axis& a, bool align_corners) {
  if (align_corners) return a.out > 1 ? C(a.in - 1) / C(a.out - 1) : C(0);
  return a.has_scale && a.scale > 0 ? C(1.0 / a.scale) : C(a.in) / C(a.out);
}

// PyTorch's area_pixel_compute_source_index.
template <typename C>
DG_HOST_DEVICE C source_index(C scale, int64_t o, bool align_corners, bool cubic) {
  if (align_corners) return scale * C(o);
  const C src = scale * (C(o) + C(0.5)) - C(0.5);
  return !cubic && src < C(0) ? C(0) : src;
}

// Keys' cubic convolution weights for the four taps around a fractional
// offset t (PyTorch's get_cubic_upsample_coefficients).
template <typename C>
DG_HOST_DEVICE void cubic_weights(C t, C* w) {
  const C A = C(-0.75);
  auto near1 = [A](C x) { return ((A + C(2)) * x - (A + C(3))) * x * x + C(1); };
  auto far2 = [A](C x) { return ((A * x - C(5) * A) * x + C(8) * A) * x - C(4) * A; };
  w[0] = far2(t + C(1));
  w[1] = near1(t);
  w[2] = near1(C(1) - t);
  w[3] = far2(C(2) - t);
}

// The taps of output element o along axis a.
template <typename C>
DG_HOST_DEVICE Taps<C> taps(const Axis& a, Mode mode, bool align_corners, int64_t o) {
  Taps<C> t{};
  if (mode == Mode::kNearest) {
    // PyTorch's nearest_idx: the scale in float, floor(o * scale).
    int64_t i;
    if (a.out == a.in) {
      i = o;
    } else if (a.out == 2 * a.in) {
      i = o >> 1;
    } else {
      const float s = a.has_scale && a.scale > 0 ? static_cast<float>(1.0 / a.scale)
                                                 : static_cast<float>(a.in) / static_cast<float>(a.out);
      i = static_cast<int64_t>(floorf(static_cast<float>(o) * s));
    }
    t.i[0] = clamp_index(i, a.in);
    t.w[0] = C(1);
    t.n = 1;
    return t;
  }
  const C scale = source_scale<C>(a, align_corners);
  if (mode == Mode::kLinear) {
    if (a.out == a.in) {  // PyTorch copies when the sizes agree
      t.i[0] = o;
      t.w[0] = C(1);
      t.n = 1;
      return t;
    }
    const C src = source_index<C>(scale, o, align_corners, false);
    const int64_t i0 = clamp_index(static_cast<int64_t>(src), a.in);
    const int64_t i1 = i0 < a.in - 1 ? i0 + 1 : i0;
    C l1 = src - C(i0);
    l1 = l1 < C(0) ? C(0) : (l1 > C(1) ? C(1) : l1);
    t.i[0] = i0, t.w[0] = C(1) - l1;
    t.i[1] = i1, t.w[1] = l1;
    t.n = 2;
    return t;
  }
  const C src = source_index<C>(scale, o, align_corners, true);
  const C fl = floor(src);
  const int64_t i = static_cast<int64_t>(fl);
  cubic_weights<C>(src - fl, t.w);
  for (int k = 0; k < 4; ++k) t.i[k] = clamp_index(i - 1 + k, a.in);
  t.n = 4;
  return t;
}

// The plan of an upsampling op: the input's (or, for a backward,
// input_size's) last `spatial` dims resampled to output_size.
inline Plan make_plan(Mode mode, bool align_corners, IntArrayRef input, IntArrayRef output_size,
                      std::optional<double> scale_h, std::optional<double> scale_w) {
  Plan p;
  p.mode = mode;
  p.align_corners = align_corners;
  const size_t nd = input.size();
  const bool two = output_size.size() == 2;
  p.w = Axis{input[nd - 1], output_size[output_size.size() - 1], scale_w.has_value(), scale_w.value_or(0)};
  if (two) p.h = Axis{input[nd - 2], output_size[0], scale_h.has_value(), scale_h.value_or(0)};
  int64_t planes = 1;
  for (size_t i = 0; i + (two ? 2 : 1) < nd; ++i) planes *= input[i];
  p.planes = planes;
  return p;
}

}  // namespace dg::upsample
