// 2-D pooling: max (with its argmax, backward and the argmax gather that is
// the backward's own gradient), average and adaptive average. Direct loops
// over dense [planes, H, W] memory, planes split between the threads; the
// geometry (output size, windows) comes from the same meta rules that sized
// the output.
#include <cmath>
#include <cstdint>
#include <optional>

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

// Calls f(plane, oh, ow, argmax) for every output element, planes in parallel.
template <typename T, typename F>
void for_each_argmax(const T* x, const meta::Pool2d& g, const F& f) {
  const int64_t HW = g.ih * g.iw;
  // The common 2x2 window at stride 2 with every window inside the plane:
  // the four candidates in window_argmax's order, without its bounds checks.
  const bool two_by_two = g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 &&
                          g.dh == 1 && g.dw == 1 && 2 * g.oh <= g.ih && 2 * g.ow <= g.iw;
  parallel_for(g.planes, g.oh * g.ow * g.kh * g.kw, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* plane = x + p * HW;
      if (two_by_two) {
        for (int64_t oh = 0; oh < g.oh; ++oh) {
          const int64_t r0 = 2 * oh * g.iw, r1 = r0 + g.iw;
          for (int64_t ow = 0; ow < g.ow; ++ow) {
            int64_t bi = r0 + 2 * ow;
            T best = plane[bi];
            // Selects, not branches: on real data the comparisons are coin
            // flips, and mispredicted branches cost more than the loads.
            for (const int64_t i : {r0 + 2 * ow + 1, r1 + 2 * ow, r1 + 2 * ow + 1}) {
              const T v = plane[i];
              const bool take = (v > best) | (v != v);
              best = take ? v : best;
              bi = take ? i : bi;
            }
            f(p, oh, ow, bi);
          }
        }
      } else {
        for (int64_t oh = 0; oh < g.oh; ++oh)
          for (int64_t ow = 0; ow < g.ow; ++ow) f(p, oh, ow, window_argmax(plane, g, oh, ow));
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
  for_each_argmax(xp, g, [&](int64_t p, int64_t oh, int64_t ow, int64_t i) {
    yp[p * OHW + oh * g.ow + ow] = i >= 0 ? xp[p * HW + i] : -INFINITY;
  });
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
  std::fill(gxp, gxp + out.numel(), T(0));
  // Each task owns whole planes, so the += of overlapping windows never races.
  for_each_argmax(x.data_ptr<T>(), g, [&](int64_t p, int64_t oh, int64_t ow, int64_t i) {
    if (i >= 0) gxp[p * HW + i] += gyp[p * OHW + oh * g.ow + ow];
  });
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
