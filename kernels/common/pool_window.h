#pragma once
// The windows of 2-D pooling, by PyTorch's rules: which input elements each
// output element pools over, its argmax and its divisor. Shared by the CPU
// and CUDA pooling kernels (kernels/*/pool.*), host and device, so both pick
// the same elements.
#include <cstdint>
#include <optional>

#include "dynagrad/int_array.h"
#include "offset_calc.h"
#include "spatial_params.h"

namespace dg::pool {

// (dg::min/max are tensor ops; std::min/max are not device functions.)
DG_HOST_DEVICE inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
DG_HOST_DEVICE inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

// ---------------------------------------------------------------- geometry

// One 2-D pooling window geometry over an input [..., H, W] seen as `planes`
// planes of H x W.
struct Pool2d {
  int64_t planes = 0, ih = 0, iw = 0, oh = 0, ow = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
};

// The number of planes of an input: every dim but the last two.
inline int64_t planes_of(IntArrayRef input) {
  int64_t n = 1;
  for (size_t i = 0; i + 2 < input.size(); ++i) n *= input[i];
  return n;
}

inline void check_pool_input(const char* op, IntArrayRef input) {
  DG_CHECK(input.size() == 3 || input.size() == 4, op,
           ": expected a 3-D (unbatched) or 4-D (batched) input, got input of shape ", input);
  DG_CHECK(input[input.size() - 2] > 0 && input[input.size() - 1] > 0, op,
           ": expected an input of non-zero height and width, got input of shape ", input);
}

// kernel_size, stride (empty = kernel_size), padding, dilation as PyTorch's
// max_pool2d/avg_pool2d take them; checks the input is 3-D or 4-D and that
// padding is at most half the (dilated) kernel, so that every window holds at
// least one input element.
inline Pool2d pool2d_geometry(const char* op, IntArrayRef input, IntArrayRef kernel_size, IntArrayRef stride,
                              IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  using param::check_all;
  using param::expand;
  check_pool_input(op, input);
  const DimVector k = expand(op, "kernel_size", kernel_size, 2);
  const DimVector s = stride.empty() ? k : expand(op, "stride", stride, 2);
  const DimVector p = expand(op, "padding", padding, 2);
  const DimVector d = expand(op, "dilation", dilation, 2);
  check_all(op, "kernel_size", k, 1, "positive");
  check_all(op, "stride", s, 1, "positive");
  check_all(op, "padding", p, 0, "non-negative");
  check_all(op, "dilation", d, 1, "positive");
  Pool2d g;
  g.planes = planes_of(input);
  g.ih = input[input.size() - 2];
  g.iw = input[input.size() - 1];
  g.kh = k[0], g.kw = k[1], g.sh = s[0], g.sw = s[1], g.ph = p[0], g.pw = p[1], g.dh = d[0], g.dw = d[1];
  int64_t o[2];
  const int64_t in[2] = {g.ih, g.iw};
  for (int i = 0; i < 2; ++i) {
    const int64_t kernel = d[i] * (k[i] - 1) + 1;
    DG_CHECK(p[i] <= kernel / 2, op, ": padding should be at most half of the (dilated) kernel size, got padding ", p,
             " for kernel_size ", k, " and dilation ", d);
    const int64_t span = in[i] + 2 * p[i] - kernel;
    // Floor or ceil of span / stride; with ceil_mode the last window must
    // still start inside the input or its left padding, as in PyTorch.
    const int64_t num = span + (ceil_mode ? s[i] - 1 : 0);
    int64_t n = (num >= 0 ? num / s[i] : -((-num + s[i] - 1) / s[i])) + 1;  // floor division
    if (ceil_mode && n > 0 && (n - 1) * s[i] >= in[i] + p[i]) --n;
    DG_CHECK(n > 0, op, ": the output would be empty: input of shape ", input, " is too small for kernel_size ", k,
             " with padding ", p, " and dilation ", d);
    o[i] = n;
  }
  g.oh = o[0];
  g.ow = o[1];
  return g;
}

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
DG_HOST_DEVICE Argmax<T> window_argmax(const Pool2d& g, int64_t oh, int64_t ow, const Read& read) {
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
DG_HOST_DEVICE inline Window avg_window(const Pool2d& g, int64_t oh, int64_t ow, const AvgRule& rule) {
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
inline Adaptive adaptive_geom(const TensorBase& in, const TensorBase& out) {
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

// The flat index (ih * W + iw) of the maximum of an (adaptive) window, by
// window_argmax's rule: the first maximum in row-major order, or the last NaN.
template <typename T, typename Read>
DG_HOST_DEVICE int64_t adaptive_argmax(const Window& win, int64_t W, const Read& read) {
  int64_t best = win.h0 * W + win.w0;
  T bv = read(win.h0, win.w0);
  for (int64_t ih = win.h0; ih < win.h1; ++ih) {
    for (int64_t iw = win.w0; iw < win.w1; ++iw) {
      const T v = read(ih, iw);
      if (v > bv || v != v) best = ih * W + iw, bv = v;
    }
  }
  return best;
}

}  // namespace dg::pool
