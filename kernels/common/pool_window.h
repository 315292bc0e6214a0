#pragma once
// The windows of 2-D pooling, by PyTorch's rules: which input elements each
// output element pools over, its argmax and its divisor. Shared by the CPU
// and CUDA pooling kernels (kernels/*/pool.*), host and device, so both pick
// the same elements.
#include <cstdint>
#include <optional>

#include "ops/meta.h"
#include "dynagrad/tensor.h"
#include "offset_calc.h"

namespace dg::pool {

// (dg::min/max are tensor ops; std::min/max are not device functions.)
DG_HOST_DEVICE inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
DG_HOST_DEVICE inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

// ---------------------------------------------------------------- max pooling

// The element a max-pooling window picks: its position and value; h < 0 when
// the window holds no input element (meta's padding rule prevents it; checked
// rather than trusted).
template <typename T>
struct Argmax {
  int64_t h, w;
  T v;
};

// The argmax of window (oh, ow), read(ih, iw) giving the input's values: the
// first maximum in row-major window order, or the last NaN if there is one
// (NaN wins, as in PyTorch, so a NaN input gives a NaN output).
template <typename T, typename Read>
DG_HOST_DEVICE Argmax<T> window_argmax(const meta::Pool2d& g, int64_t oh, int64_t ow, const Read& read) {
  Argmax<T> best{-1, -1, T(0)};
  const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  for (int64_t kh = 0; kh < g.kh; ++kh) {
    const int64_t ih = h0 + kh * g.dh;
    if (ih < 0 || ih >= g.ih) continue;
    for (int64_t kw = 0; kw < g.kw; ++kw) {
      const int64_t iw = w0 + kw * g.dw;
      if (iw < 0 || iw >= g.iw) continue;
      const T v = read(ih, iw);
      if (best.h < 0 || v > best.v || v != v) best = {ih, iw, v};
    }
  }
  return best;
}

// ---------------------------------------------------------------- average pooling

// A window's clipped rows [h0, h1) and cols [w0, w1) and what its sum is
// divided by (0: the output is 0).
struct Window {
  int64_t h0, h1, w0, w1;
  int64_t divisor;
};

// avg_pool2d's divisor options, as plain data a kernel can take.
struct AvgRule {
  bool count_include_pad;
  bool has_override;
  int64_t divisor_override;
};

inline AvgRule avg_rule(bool count_include_pad, std::optional<int64_t> divisor_override) {
  return {count_include_pad, divisor_override.has_value(), divisor_override.value_or(0)};
}

// avg_pool2d's window (oh, ow): count_include_pad counts padding but not the
// part of a ceil_mode window hanging past the padding.
DG_HOST_DEVICE inline Window avg_window(const meta::Pool2d& g, int64_t oh, int64_t ow, const AvgRule& rule) {
  Window a{};
  const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  const int64_t h1 = imin(h0 + g.kh, g.ih + g.ph), w1 = imin(w0 + g.kw, g.iw + g.pw);
  const int64_t padded = (h1 - h0) * (w1 - w0);
  a.h0 = imax(h0, 0), a.w0 = imax(w0, 0);
  a.h1 = imin(h1, g.ih), a.w1 = imin(w1, g.iw);
  const int64_t inside = imax(a.h1 - a.h0, 0) * imax(a.w1 - a.w0, 0);
  a.divisor = rule.has_override ? rule.divisor_override : rule.count_include_pad ? padded : inside;
  return a;
}

// ---------------------------------------------------------------- adaptive average

// Adaptive pooling's window along one dim: [floor(i * in / out), ceil((i + 1) * in / out)).
DG_HOST_DEVICE inline void adaptive_range(int64_t i, int64_t in, int64_t out, int64_t& a, int64_t& b) {
  a = (i * in) / out;
  b = ((i + 1) * in + out - 1) / out;
}

// An adaptive pool: `planes` planes of ih x iw in, oh x ow out.
struct Adaptive {
  int64_t planes, ih, iw, oh, ow;
};

// The adaptive pool from its input (`in`, [..., H, W]) and output (`out`,
// [..., OH, OW]) tensors.
inline Adaptive adaptive_geom(const Tensor& in, const Tensor& out) {
  const int64_t H = in.size(-2), W = in.size(-1);
  return {in.numel() / (H * W), H, W, out.size(-2), out.size(-1)};
}

// Window (oh, ow) of an adaptive pool; it is never empty.
DG_HOST_DEVICE inline Window adaptive_window(const Adaptive& g, int64_t oh, int64_t ow) {
  Window a{};
  adaptive_range(oh, g.ih, g.oh, a.h0, a.h1);
  adaptive_range(ow, g.iw, g.ow, a.w0, a.w1);
  a.divisor = (a.h1 - a.h0) * (a.w1 - a.w0);
  return a;
}

}  // namespace dg::pool
