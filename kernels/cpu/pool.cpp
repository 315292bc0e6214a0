// 2-D pooling: max (with its argmax, backward and the argmax gather that is
// the backward's own gradient), average and adaptive average. Direct loops
// over dense [planes, H, W] memory, planes split between the threads; the
// geometry (output size, windows) comes from the same meta rules that sized
// the output.
#include <cmath>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "cv_common.h"
#include "dynagrad/meta.h"
#include "kernel_decls.h"
#include "parallel.h"

namespace dg::cpu {

namespace {

// Flat index (ih * W + iw) of the maximum of window (oh, ow) of one plane.
// NaN wins, as in PyTorch, so a NaN input gives a NaN output. The window
// always holds an input element (padding is at most half the kernel), but
// -1 is returned rather than reading outside the plane if it did not.
template <typename T>
inline int64_t window_argmax(const T* plane, const meta::Pool2d& g, int64_t oh, int64_t ow) {
  int64_t best_i = -1;
  T best = T(0);
  const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  for (int64_t kh = 0; kh < g.kh; ++kh) {
    const int64_t ih = h0 + kh * g.dh;
    if (ih < 0 || ih >= g.ih) continue;
    for (int64_t kw = 0; kw < g.kw; ++kw) {
      const int64_t iw = w0 + kw * g.dw;
      if (iw < 0 || iw >= g.iw) continue;
      const int64_t i = ih * g.iw + iw;
      const T v = plane[i];
      if (best_i < 0 || v > best || std::isnan(v)) {
        best = v;
        best_i = i;
      }
    }
  }
  return best_i;
}

meta::Pool2d max_geom(const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                      IntArrayRef dilation, bool ceil_mode) {
  return meta::pool2d_geometry("max_pool2d", self.sizes(), kernel_size, stride, padding, dilation, ceil_mode);
}

// The common 2x2 window at stride 2 (no padding or dilation) with every
// window inside the plane: the loops below read it without bounds checks.
bool is_plain_2x2(const meta::Pool2d& g) {
  return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1 &&
         2 * g.oh <= g.ih && 2 * g.ow <= g.iw;
}

// Which of a 2x2 window's values (a b / c d) window_argmax picks, as four
// flags of which exactly one is set: the first maximum in row-major order,
// or the last NaN if there is one. Flags and selects, not branches: on real
// data the comparisons are coin flips (and the backward loop vectorises).
struct Pick4 {
  int a, b, c, d;
  int index() const { return b + 2 * c + 3 * d; }  // 0..3 in row-major order
};

template <typename T>
inline Pick4 pick4(T a, T b, T c, T d) {
  const T m1 = a > b ? a : b, m2 = c > d ? c : d, m = m1 > m2 ? m1 : m2;
  const int na = a != a, nb = b != b, nc = c != c, nd = d != d;
  const int nan = na | nb | nc | nd;
  const int ea = a == m, eb = (b == m) & (1 - ea), ec = (c == m) & (1 - ea) & (1 - eb);
  return {nan ? na & (1 - nb) & (1 - nc) & (1 - nd) : ea, nan ? nb & (1 - nc) & (1 - nd) : eb,
          nan ? nc & (1 - nd) : ec, nan ? nd : 1 - (ea | eb | ec)};
}

// Calls f(plane, oh, ow, argmax) for every output element, planes in parallel.
template <typename T, typename F>
void for_each_argmax(const T* x, const meta::Pool2d& g, const F& f) {
  const int64_t HW = g.ih * g.iw;
  const bool two_by_two = is_plain_2x2(g);
  parallel_for(g.planes, g.oh * g.ow * g.kh * g.kw, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* plane = x + p * HW;
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        if (two_by_two) {
          const T* r0 = plane + 2 * oh * g.iw;
          const T* r1 = r0 + g.iw;
          for (int64_t ow = 0; ow < g.ow; ++ow) {
            const int k = pick4(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1]).index();
            f(p, oh, ow, (2 * oh + (k >> 1)) * g.iw + 2 * ow + (k & 1));
          }
        } else {
          for (int64_t ow = 0; ow < g.ow; ++ow) f(p, oh, ow, window_argmax(plane, g, oh, ow));
        }
      }
    }
  });
}

// avg_pool2d's window (oh, ow): the clipped rows/cols and the divisor, by
// PyTorch's rules (count_include_pad counts padding but not the part of a
// ceil_mode window hanging past the padding).
struct AvgWindow {
  int64_t h0, h1, w0, w1;
  int64_t divisor;
};

inline AvgWindow avg_window(const meta::Pool2d& g, int64_t oh, int64_t ow, bool count_include_pad,
                            std::optional<int64_t> divisor_override) {
  AvgWindow a{};
  int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  int64_t h1 = std::min(h0 + g.kh, g.ih + g.ph), w1 = std::min(w0 + g.kw, g.iw + g.pw);
  const int64_t padded = (h1 - h0) * (w1 - w0);
  a.h0 = std::max<int64_t>(h0, 0), a.w0 = std::max<int64_t>(w0, 0);
  a.h1 = std::min(h1, g.ih), a.w1 = std::min(w1, g.iw);
  const int64_t inside = std::max<int64_t>(a.h1 - a.h0, 0) * std::max<int64_t>(a.w1 - a.w0, 0);
  a.divisor = divisor_override ? *divisor_override : count_include_pad ? padded : inside;
  return a;
}

// adaptive pooling's window along one dim: [floor(i * in / out), ceil((i + 1) * in / out)).
inline void adaptive_range(int64_t i, int64_t in, int64_t out, int64_t& a, int64_t& b) {
  a = (i * in) / out;
  b = ((i + 1) * in + out - 1) / out;
}

}  // namespace

template <typename T>
void max_pool2d(const Tensor& out, const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  if (out.numel() == 0) return;
  const meta::Pool2d g = max_geom(self, kernel_size, stride, padding, dilation, ceil_mode);
  const Tensor x = cv::dense<T>(self);
  const T* xp = x.data_ptr<T>();
  cv::DenseOut<T> y(out);
  T* yp = y.data();
  const int64_t HW = g.ih * g.iw, OHW = g.oh * g.ow;
  if (is_plain_2x2(g)) {
    // Only the value is needed: a max of four that GCC vectorises, NaN
    // propagated through a sum (any NaN makes it NaN).
    parallel_for(g.planes, OHW * 4, [&](int64_t b, int64_t e) {
      for (int64_t r = b * g.oh; r < e * g.oh; ++r) {  // output rows of planes [b, e)
        const int64_t p = r / g.oh, oh = r % g.oh;
        const T* r0 = xp + p * HW + 2 * oh * g.iw;
        const T* r1 = r0 + g.iw;
        T* o = yp + r * g.ow;
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
          const T m1 = a > b ? a : b, m2 = c > d ? c : d;
          const bool nan = (a != a) | (b != b) | (c != c) | (d != d);
          o[ow] = nan ? a + b + c + d : (m1 > m2 ? m1 : m2);
        }
      }
    });
  } else {
    for_each_argmax(xp, g, [&](int64_t p, int64_t oh, int64_t ow, int64_t i) {
      yp[p * OHW + oh * g.ow + ow] = i >= 0 ? xp[p * HW + i] : -INFINITY;
    });
  }
  y.finish();
}

template <typename T>
void max_pool2d_indices(const Tensor& out, const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                        IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  if (out.numel() == 0) return;
  const meta::Pool2d g = max_geom(self, kernel_size, stride, padding, dilation, ceil_mode);
  const Tensor x = cv::dense<T>(self);
  cv::DenseOut<int64_t> y(out);
  int64_t* yp = y.data();
  const int64_t OHW = g.oh * g.ow;
  for_each_argmax(x.data_ptr<T>(), g,
                  [&](int64_t p, int64_t oh, int64_t ow, int64_t i) { yp[p * OHW + oh * g.ow + ow] = i; });
  y.finish();
}

template <typename T>
void max_pool2d_backward(const Tensor& out, const Tensor& grad_output, const Tensor& self, IntArrayRef kernel_size,
                         IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  if (out.numel() == 0) return;
  const meta::Pool2d g = max_geom(self, kernel_size, stride, padding, dilation, ceil_mode);
  const Tensor x = cv::dense<T>(self), gy = cv::dense<T>(grad_output);
  const T* gyp = gy.data_ptr<T>();
  cv::DenseOut<T> gx(out);
  T* gxp = gx.data();
  const int64_t HW = g.ih * g.iw, OHW = g.oh * g.ow;
  if (is_plain_2x2(g)) {
    // Windows do not overlap: each writes its four gradients (one nonzero)
    // directly; only a last odd row or column needs zeros of its own.
    const T* xp = x.data_ptr<T>();
    parallel_for(g.planes, HW * 2, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        const T* xpl = xp + p * HW;
        T* gpl = gxp + p * HW;
        for (int64_t oh = 0; oh < g.oh; ++oh) {
          const T* r0 = xpl + 2 * oh * g.iw;
          const T* r1 = r0 + g.iw;
          T* g0 = gpl + 2 * oh * g.iw;
          T* g1 = g0 + g.iw;
          const T* gy_row = gyp + p * OHW + oh * g.ow;
          for (int64_t ow = 0; ow < g.ow; ++ow) {
            const Pick4 k = pick4(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1]);
            const T v = gy_row[ow];
            g0[2 * ow] = k.a ? v : T(0);
            g0[2 * ow + 1] = k.b ? v : T(0);
            g1[2 * ow] = k.c ? v : T(0);
            g1[2 * ow + 1] = k.d ? v : T(0);
          }
          for (int64_t w = 2 * g.ow; w < g.iw; ++w) g0[w] = g1[w] = T(0);
        }
        std::fill(gpl + 2 * g.oh * g.iw, gpl + HW, T(0));
      }
    });
  } else {
    std::fill(gxp, gxp + out.numel(), T(0));
    // Each task owns whole planes, so the += of overlapping windows never races.
    for_each_argmax(x.data_ptr<T>(), g, [&](int64_t p, int64_t oh, int64_t ow, int64_t i) {
      if (i >= 0) gxp[p * HW + i] += gyp[p * OHW + oh * g.ow + ow];
    });
  }
  gx.finish();
}

template <typename T>
void max_pool2d_gather(const Tensor& out, const Tensor& self, const Tensor& source, IntArrayRef kernel_size,
                       IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  if (out.numel() == 0) return;
  const meta::Pool2d g = max_geom(self, kernel_size, stride, padding, dilation, ceil_mode);
  const Tensor x = cv::dense<T>(self), src = cv::dense<T>(source);
  const T* sp = src.data_ptr<T>();
  cv::DenseOut<T> y(out);
  T* yp = y.data();
  const int64_t HW = g.ih * g.iw, OHW = g.oh * g.ow;
  for_each_argmax(x.data_ptr<T>(), g, [&](int64_t p, int64_t oh, int64_t ow, int64_t i) {
    yp[p * OHW + oh * g.ow + ow] = i >= 0 ? sp[p * HW + i] : T(0);
  });
  y.finish();
}

template <typename T>
void avg_pool2d(const Tensor& out, const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                IntArrayRef padding, bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  if (out.numel() == 0) return;
  const meta::Pool2d g =
      meta::pool2d_geometry("avg_pool2d", self.sizes(), kernel_size, stride, padding, {1}, ceil_mode);
  const Tensor x = cv::dense<T>(self);
  const T* xp = x.data_ptr<T>();
  cv::DenseOut<T> y(out);
  T* yp = y.data();
  const int64_t HW = g.ih * g.iw, OHW = g.oh * g.ow;
  parallel_for(g.planes, OHW * g.kh * g.kw, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* plane = xp + p * HW;
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const AvgWindow a = avg_window(g, oh, ow, count_include_pad, divisor_override);
          T s = 0;
          for (int64_t ih = a.h0; ih < a.h1; ++ih)
            for (int64_t iw = a.w0; iw < a.w1; ++iw) s += plane[ih * g.iw + iw];
          yp[p * OHW + oh * g.ow + ow] = a.divisor == 0 ? T(0) : s / static_cast<T>(a.divisor);
        }
      }
    }
  });
  y.finish();
}

template <typename T>
void avg_pool2d_backward(const Tensor& out, const Tensor& grad_output, const Tensor& self, IntArrayRef kernel_size,
                         IntArrayRef stride, IntArrayRef padding, bool ceil_mode, bool count_include_pad,
                         std::optional<int64_t> divisor_override) {
  if (out.numel() == 0) return;
  const meta::Pool2d g =
      meta::pool2d_geometry("avg_pool2d_backward", self.sizes(), kernel_size, stride, padding, {1}, ceil_mode);
  const Tensor gy = cv::dense<T>(grad_output);
  const T* gyp = gy.data_ptr<T>();
  cv::DenseOut<T> gx(out);
  T* gxp = gx.data();
  const int64_t HW = g.ih * g.iw, OHW = g.oh * g.ow;
  parallel_for(g.planes, OHW * g.kh * g.kw, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      T* plane = gxp + p * HW;
      std::fill(plane, plane + HW, T(0));
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const AvgWindow a = avg_window(g, oh, ow, count_include_pad, divisor_override);
          if (a.divisor == 0) continue;
          const T v = gyp[p * OHW + oh * g.ow + ow] / static_cast<T>(a.divisor);
          for (int64_t ih = a.h0; ih < a.h1; ++ih)
            for (int64_t iw = a.w0; iw < a.w1; ++iw) plane[ih * g.iw + iw] += v;
        }
      }
    }
  });
  gx.finish();
}

template <typename T>
void adaptive_avg_pool2d(const Tensor& out, const Tensor& self, IntArrayRef output_size) {
  (void)output_size;  // out has it
  if (out.numel() == 0) return;
  const int64_t H = self.size(-2), W = self.size(-1), OH = out.size(-2), OW = out.size(-1);
  const int64_t planes = self.numel() / (H * W);
  const Tensor x = cv::dense<T>(self);
  const T* xp = x.data_ptr<T>();
  cv::DenseOut<T> y(out);
  T* yp = y.data();
  parallel_for(planes, H * W, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* plane = xp + p * H * W;
      for (int64_t oh = 0; oh < OH; ++oh) {
        int64_t h0, h1;
        adaptive_range(oh, H, OH, h0, h1);
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t w0, w1;
          adaptive_range(ow, W, OW, w0, w1);
          T s = 0;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) s += plane[ih * W + iw];
          yp[(p * OH + oh) * OW + ow] = s / static_cast<T>((h1 - h0) * (w1 - w0));
        }
      }
    }
  });
  y.finish();
}

template <typename T>
void adaptive_avg_pool2d_backward(const Tensor& out, const Tensor& grad_output, const Tensor& self) {
  (void)self;  // out has its shape
  if (out.numel() == 0) return;
  const int64_t H = out.size(-2), W = out.size(-1), OH = grad_output.size(-2), OW = grad_output.size(-1);
  const int64_t planes = out.numel() / (H * W);
  const Tensor gy = cv::dense<T>(grad_output);
  const T* gyp = gy.data_ptr<T>();
  cv::DenseOut<T> gx(out);
  T* gxp = gx.data();
  parallel_for(planes, H * W, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      T* plane = gxp + p * H * W;
      std::fill(plane, plane + H * W, T(0));
      for (int64_t oh = 0; oh < OH; ++oh) {
        int64_t h0, h1;
        adaptive_range(oh, H, OH, h0, h1);
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t w0, w1;
          adaptive_range(ow, W, OW, w0, w1);
          const T v = gyp[(p * OH + oh) * OW + ow] / static_cast<T>((h1 - h0) * (w1 - w0));
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) plane[ih * W + iw] += v;
        }
      }
    }
  });
  gx.finish();
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_max_pool2d
DG_INSTANTIATE_KERNEL_cpu_max_pool2d_indices
DG_INSTANTIATE_KERNEL_cpu_max_pool2d_backward
DG_INSTANTIATE_KERNEL_cpu_max_pool2d_gather
DG_INSTANTIATE_KERNEL_cpu_avg_pool2d
DG_INSTANTIATE_KERNEL_cpu_avg_pool2d_backward
DG_INSTANTIATE_KERNEL_cpu_adaptive_avg_pool2d
DG_INSTANTIATE_KERNEL_cpu_adaptive_avg_pool2d_backward
