// Upsampling (nearest, linear, bilinear, bicubic) and its backward on the
// CPU: the taps of every output row and column are computed once
// (kernels/common/upsample.h, PyTorch's rules), then each plane is a sum of
// taps; the backward adds each output's gradient into its taps. Planes run
// in parallel (each plane's backward sums stay in one thread).
#include <cstdint>
#include <optional>
#include <vector>

#include "common/upsample.h"
#include "cpu/dense.h"
#include "cpu/parallel.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

using upsample::Mode;
using upsample::Plan;
using upsample::Taps;

template <typename T>
std::vector<Taps<T>> axis_taps(const Plan& p, const upsample::Axis& a) {
  std::vector<Taps<T>> t(static_cast<size_t>(a.out));
  for (int64_t o = 0; o < a.out; ++o) t[o] = upsample::taps<T>(a, p.mode, p.align_corners, o);
  return t;
}

// out [planes, oh, ow] from x [planes, ih, iw].
template <typename T>
void upsample_forward(const Plan& p, const TensorBase& out, const TensorBase& self) {
  if (out.numel() == 0) return;
  const std::vector<Taps<T>> th = axis_taps<T>(p, p.h), tw = axis_taps<T>(p, p.w);
  const TensorBase x = cv::dense<T>(self);
  const T* xp = x.data_ptr<T>();
  cv::DenseOut<T> y(out);
  T* yp = y.data();
  const int64_t IH = p.h.in, IW = p.w.in, OH = p.h.out, OW = p.w.out;
  parallel_for(p.planes, OH * OW * 4, [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const T* plane = xp + pl * IH * IW;
      T* dst = yp + pl * OH * OW;
      for (int64_t oh = 0; oh < OH; ++oh) {
        const Taps<T>& h = th[oh];
        for (int64_t ow = 0; ow < OW; ++ow) {
          const Taps<T>& w = tw[ow];
          T s = 0;
          for (int a = 0; a < h.n; ++a) {
            const T* row = plane + h.i[a] * IW;
            T r = 0;
            for (int c = 0; c < w.n; ++c) r += w.w[c] * row[w.i[c]];
            s += h.w[a] * r;
          }
          dst[oh * OW + ow] = s;
        }
      }
    }
  });
  y.finish();
}

// out [planes, ih, iw] from grad_output [planes, oh, ow].
template <typename T>
void upsample_backward(const Plan& p, const TensorBase& out, const TensorBase& grad_output) {
  if (out.numel() == 0) return;
  const std::vector<Taps<T>> th = axis_taps<T>(p, p.h), tw = axis_taps<T>(p, p.w);
  const TensorBase gy = cv::dense<T>(grad_output);
  const T* gyp = gy.data_ptr<T>();
  cv::DenseOut<T> gx(out);
  T* gxp = gx.data();
  const int64_t IH = p.h.in, IW = p.w.in, OH = p.h.out, OW = p.w.out;
  parallel_for(p.planes, OH * OW * 4, [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      T* plane = gxp + pl * IH * IW;
      std::fill(plane, plane + IH * IW, T(0));
      const T* src = gyp + pl * OH * OW;
      for (int64_t oh = 0; oh < OH; ++oh) {
        const Taps<T>& h = th[oh];
        for (int64_t ow = 0; ow < OW; ++ow) {
          const Taps<T>& w = tw[ow];
          const T g = src[oh * OW + ow];
          for (int a = 0; a < h.n; ++a) {
            T* row = plane + h.i[a] * IW;
            const T gh = h.w[a] * g;
            for (int c = 0; c < w.n; ++c) row[w.i[c]] += w.w[c] * gh;
          }
        }
      }
    }
  });
  gx.finish();
}

}  // namespace

template <typename T>
void upsample_nearest1d(const TensorBase& out, const TensorBase& self, IntArrayRef output_size,
                        std::optional<double> scales) {
  upsample_forward<T>(upsample::make_plan(Mode::kNearest, false, self.sizes(), output_size, std::nullopt, scales), out,
                      self);
}

template <typename T>
void upsample_nearest1d_backward(const TensorBase& out, const TensorBase& grad_output, IntArrayRef output_size,
                                 IntArrayRef input_size, std::optional<double> scales) {
  upsample_backward<T>(upsample::make_plan(Mode::kNearest, false, input_size, output_size, std::nullopt, scales), out,
                       grad_output);
}

template <typename T>
void upsample_nearest2d(const TensorBase& out, const TensorBase& self, IntArrayRef output_size,
                        std::optional<double> scales_h, std::optional<double> scales_w) {
  upsample_forward<T>(upsample::make_plan(Mode::kNearest, false, self.sizes(), output_size, scales_h, scales_w), out,
                      self);
}

template <typename T>
void upsample_nearest2d_backward(const TensorBase& out, const TensorBase& grad_output, IntArrayRef output_size,
                                 IntArrayRef input_size, std::optional<double> scales_h,
                                 std::optional<double> scales_w) {
  upsample_backward<T>(upsample::make_plan(Mode::kNearest, false, input_size, output_size, scales_h, scales_w), out,
                       grad_output);
}

template <typename T>
void upsample_linear1d(const TensorBase& out, const TensorBase& self, IntArrayRef output_size, bool align_corners,
                       std::optional<double> scales) {
  upsample_forward<T>(
      upsample::make_plan(Mode::kLinear, align_corners, self.sizes(), output_size, std::nullopt, scales), out, self);
}

template <typename T>
void upsample_linear1d_backward(const TensorBase& out, const TensorBase& grad_output, IntArrayRef output_size,
                                IntArrayRef input_size, bool align_corners, std::optional<double> scales) {
  upsample_backward<T>(upsample::make_plan(Mode::kLinear, align_corners, input_size, output_size, std::nullopt, scales),
                       out, grad_output);
}

template <typename T>
void upsample_bilinear2d(const TensorBase& out, const TensorBase& self, IntArrayRef output_size, bool align_corners,
                         std::optional<double> scales_h, std::optional<double> scales_w) {
  upsample_forward<T>(upsample::make_plan(Mode::kLinear, align_corners, self.sizes(), output_size, scales_h, scales_w),
                      out, self);
}

template <typename T>
void upsample_bilinear2d_backward(const TensorBase& out, const TensorBase& grad_output, IntArrayRef output_size,
                                  IntArrayRef input_size, bool align_corners, std::optional<double> scales_h,
                                  std::optional<double> scales_w) {
  upsample_backward<T>(upsample::make_plan(Mode::kLinear, align_corners, input_size, output_size, scales_h, scales_w),
                       out, grad_output);
}

template <typename T>
void upsample_bicubic2d(const TensorBase& out, const TensorBase& self, IntArrayRef output_size, bool align_corners,
                        std::optional<double> scales_h, std::optional<double> scales_w) {
  upsample_forward<T>(upsample::make_plan(Mode::kCubic, align_corners, self.sizes(), output_size, scales_h, scales_w),
                      out, self);
}

template <typename T>
void upsample_bicubic2d_backward(const TensorBase& out, const TensorBase& grad_output, IntArrayRef output_size,
                                 IntArrayRef input_size, bool align_corners, std::optional<double> scales_h,
                                 std::optional<double> scales_w) {
  upsample_backward<T>(upsample::make_plan(Mode::kCubic, align_corners, input_size, output_size, scales_h, scales_w),
                       out, grad_output);
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_upsample_nearest1d;
DG_INSTANTIATE_KERNEL_cpu_upsample_nearest1d_backward;
DG_INSTANTIATE_KERNEL_cpu_upsample_nearest2d;
DG_INSTANTIATE_KERNEL_cpu_upsample_nearest2d_backward;
DG_INSTANTIATE_KERNEL_cpu_upsample_linear1d;
DG_INSTANTIATE_KERNEL_cpu_upsample_linear1d_backward;
DG_INSTANTIATE_KERNEL_cpu_upsample_bilinear2d;
DG_INSTANTIATE_KERNEL_cpu_upsample_bilinear2d_backward;
DG_INSTANTIATE_KERNEL_cpu_upsample_bicubic2d;
DG_INSTANTIATE_KERNEL_cpu_upsample_bicubic2d_backward;
