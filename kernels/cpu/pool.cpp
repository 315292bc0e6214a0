// 2-D pooling: max (with its argmax, backward and the argmax gather that is
// the backward's own gradient), average and adaptive average. Direct loops
// over dense [planes, H, W] memory, planes split between the threads; the
// geometry (output size, windows) comes from the same meta rules that sized
// the output.
#include <cmath>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "common/pool_window.h"
#include "cpu/dense.h"
#include "cpu/parallel.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

// Flat index (ih * W + iw) of window (oh, ow)'s argmax in one plane
// (pool::window_argmax's rule), or -1 for a window without input elements.
template <typename T>
inline int64_t window_argmax(const T* plane, const pool::Pool2d& g, int64_t oh, int64_t ow) {
  const pool::Argmax<T> a =
      pool::window_argmax<T>(g, oh, ow, [plane, &g](int64_t ih, int64_t iw) { return plane[ih * g.iw + iw]; });
  return a.h < 0 ? -1 : a.h * g.iw + a.w;
}

pool::Pool2d max_geom(const TensorBase& self, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                      IntArrayRef dilation, bool ceil_mode) {
  return pool::pool2d_geometry("max_pool2d", self.sizes(), kernel_size, stride, padding, dilation, ceil_mode);
}

// The common 2x2 window at stride 2 (no padding or dilation) with every
// window inside the plane: the loops below read it without bounds checks.
bool is_plain_2x2(const pool::Pool2d& g) {
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
  return {nan ? na & (1 - nb) & (1 - nc) & (1 - nd) : ea, nan ? nb & (1 - nc) & (1 - nd) : eb, nan ? nc & (1 - nd) : ec,
          nan ? nd : 1 - (ea | eb | ec)};
}

// Calls f(plane, oh, ow, argmax) for every output element, planes in parallel.
template <typename T, typename F>
void for_each_argmax(const T* x, const pool::Pool2d& g, const F& f) {
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

}  // namespace

template <typename T>
void max_pool2d(const TensorBase& out, const TensorBase& self, IntArrayRef kernel_size, IntArrayRef stride,
                IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  if (out.numel() == 0) return;
  const pool::Pool2d g = max_geom(self, kernel_size, stride, padding, dilation, ceil_mode);
  const TensorBase x = cv::dense<T>(self);
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
void max_pool2d_indices(const TensorBase& out, const TensorBase& self, IntArrayRef kernel_size, IntArrayRef stride,
                        IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  if (out.numel() == 0) return;
  const pool::Pool2d g = max_geom(self, kernel_size, stride, padding, dilation, ceil_mode);
  const TensorBase x = cv::dense<T>(self);
  cv::DenseOut<int64_t> y(out);
  int64_t* yp = y.data();
  const int64_t OHW = g.oh * g.ow;
  for_each_argmax(x.data_ptr<T>(), g,
                  [&](int64_t p, int64_t oh, int64_t ow, int64_t i) { yp[p * OHW + oh * g.ow + ow] = i; });
  y.finish();
}

template <typename T>
void max_pool2d_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self,
                         IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation,
                         bool ceil_mode) {
  if (out.numel() == 0) return;
  const pool::Pool2d g = max_geom(self, kernel_size, stride, padding, dilation, ceil_mode);
  const TensorBase x = cv::dense<T>(self), gy = cv::dense<T>(grad_output);
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
void max_pool2d_gather(const TensorBase& out, const TensorBase& self, const TensorBase& source, IntArrayRef kernel_size,
                       IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  if (out.numel() == 0) return;
  const pool::Pool2d g = max_geom(self, kernel_size, stride, padding, dilation, ceil_mode);
  const TensorBase x = cv::dense<T>(self), src = cv::dense<T>(source);
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
void avg_pool2d(const TensorBase& out, const TensorBase& self, IntArrayRef kernel_size, IntArrayRef stride,
                IntArrayRef padding, bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  if (out.numel() == 0) return;
  const pool::Pool2d g =
      pool::pool2d_geometry("avg_pool2d", self.sizes(), kernel_size, stride, padding, {1}, ceil_mode);
  const TensorBase x = cv::dense<T>(self);
  const T* xp = x.data_ptr<T>();
  cv::DenseOut<T> y(out);
  T* yp = y.data();
  const pool::AvgRule rule = pool::avg_rule(count_include_pad, divisor_override);
  const int64_t HW = g.ih * g.iw, OHW = g.oh * g.ow;
  parallel_for(g.planes, OHW * g.kh * g.kw, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* plane = xp + p * HW;
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const pool::Window a = pool::avg_window(g, oh, ow, rule);
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
void avg_pool2d_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self,
                         IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding, bool ceil_mode,
                         bool count_include_pad, std::optional<int64_t> divisor_override) {
  if (out.numel() == 0) return;
  const pool::Pool2d g =
      pool::pool2d_geometry("avg_pool2d_backward", self.sizes(), kernel_size, stride, padding, {1}, ceil_mode);
  const TensorBase gy = cv::dense<T>(grad_output);
  const T* gyp = gy.data_ptr<T>();
  cv::DenseOut<T> gx(out);
  T* gxp = gx.data();
  const pool::AvgRule rule = pool::avg_rule(count_include_pad, divisor_override);
  const int64_t HW = g.ih * g.iw, OHW = g.oh * g.ow;
  parallel_for(g.planes, OHW * g.kh * g.kw, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      T* plane = gxp + p * HW;
      std::fill(plane, plane + HW, T(0));
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const pool::Window a = pool::avg_window(g, oh, ow, rule);
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
void adaptive_avg_pool2d(const TensorBase& out, const TensorBase& self, IntArrayRef output_size) {
  (void)output_size;  // out has it
  if (out.numel() == 0) return;
  const pool::Adaptive g = pool::adaptive_geom(self, out);
  const int64_t planes = g.planes, H = g.ih, W = g.iw, OH = g.oh, OW = g.ow;
  const TensorBase x = cv::dense<T>(self);
  const T* xp = x.data_ptr<T>();
  cv::DenseOut<T> y(out);
  T* yp = y.data();
  parallel_for(planes, H * W, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* plane = xp + p * H * W;
      for (int64_t oh = 0; oh < OH; ++oh) {
        int64_t h0, h1;
        pool::adaptive_range(oh, H, OH, h0, h1);
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t w0, w1;
          pool::adaptive_range(ow, W, OW, w0, w1);
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
void adaptive_avg_pool2d_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self) {
  (void)self;  // out has its shape
  if (out.numel() == 0) return;
  const pool::Adaptive g = pool::adaptive_geom(out, grad_output);
  const int64_t planes = g.planes, H = g.ih, W = g.iw, OH = g.oh, OW = g.ow;
  const TensorBase gy = cv::dense<T>(grad_output);
  const T* gyp = gy.data_ptr<T>();
  cv::DenseOut<T> gx(out);
  T* gxp = gx.data();
  parallel_for(planes, H * W, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      T* plane = gxp + p * H * W;
      std::fill(plane, plane + H * W, T(0));
      for (int64_t oh = 0; oh < OH; ++oh) {
        int64_t h0, h1;
        pool::adaptive_range(oh, H, OH, h0, h1);
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t w0, w1;
          pool::adaptive_range(ow, W, OW, w0, w1);
          const T v = gyp[(p * OH + oh) * OW + ow] / static_cast<T>((h1 - h0) * (w1 - w0));
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) plane[ih * W + iw] += v;
        }
      }
    }
  });
  gx.finish();
}

template <typename T>
void adaptive_max_pool2d_indices(const TensorBase& out, const TensorBase& self, IntArrayRef output_size) {
  (void)output_size;  // out has it
  if (out.numel() == 0) return;
  const pool::Adaptive g = pool::adaptive_geom(self, out);
  const int64_t H = g.ih, W = g.iw, OH = g.oh, OW = g.ow;
  const TensorBase x = cv::dense<T>(self);
  const T* xp = x.data_ptr<T>();
  cv::DenseOut<int64_t> y(out);
  int64_t* yp = y.data();
  parallel_for(g.planes, H * W, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* plane = xp + p * H * W;
      for (int64_t oh = 0; oh < OH; ++oh) {
        for (int64_t ow = 0; ow < OW; ++ow) {
          const pool::Window win = pool::adaptive_window(g, oh, ow);
          yp[(p * OH + oh) * OW + ow] =
              pool::adaptive_argmax<T>(win, W, [plane, W](int64_t ih, int64_t iw) { return plane[ih * W + iw]; });
        }
      }
    }
  });
  y.finish();
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_max_pool2d;
DG_INSTANTIATE_KERNEL_cpu_max_pool2d_indices;
DG_INSTANTIATE_KERNEL_cpu_max_pool2d_backward;
DG_INSTANTIATE_KERNEL_cpu_max_pool2d_gather;
DG_INSTANTIATE_KERNEL_cpu_avg_pool2d;
DG_INSTANTIATE_KERNEL_cpu_avg_pool2d_backward;
DG_INSTANTIATE_KERNEL_cpu_adaptive_avg_pool2d;
DG_INSTANTIATE_KERNEL_cpu_adaptive_avg_pool2d_backward;
DG_INSTANTIATE_KERNEL_cpu_adaptive_max_pool2d_indices;
