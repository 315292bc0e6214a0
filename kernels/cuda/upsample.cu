// Upsampling (nearest, linear, bilinear, bicubic) and its backward on CUDA,
// the counterparts of kernels/cpu/upsample.cpp with the same taps
// (kernels/common/upsample.h). The forward runs one thread per output
// element; the backward zeroes its output and runs one thread per
// grad_output element, adding into the taps atomically (as PyTorch's CUDA
// kernels do: sums of one element may come in any order). Tensors are read
// and written at their own strides.
#include <cstdint>
#include <optional>

#include "common/determinism.h"
#include "common/upsample.h"
#include "cuda/cuda_common.cuh"
#include "cuda/planes.cuh"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

using upsample::Mode;
using upsample::Plan;
using upsample::Taps;

template <typename T>
__global__ void upsample_kernel(Plan p, Planes<const T> x, Planes<T> y) {
  DG_GRID_STRIDE(idx, p.planes * p.h.out * p.w.out) {
    const int64_t ow = idx % p.w.out, t = idx / p.w.out;
    const int64_t oh = t % p.h.out, pl = t / p.h.out;
    const Taps<T> h = upsample::taps<T>(p.h, p.mode, p.align_corners, oh);
    const Taps<T> w = upsample::taps<T>(p.w, p.mode, p.align_corners, ow);
    const T* plane = x.plane(pl);
    T s = T(0);
    for (int a = 0; a < h.n; ++a) {
      const T* row = plane + h.i[a] * x.sh;
      T r = T(0);
      for (int c = 0; c < w.n; ++c) r += w.w[c] * row[w.i[c] * x.sw];
      s += h.w[a] * r;
    }
    y.plane(pl)[oh * y.sh + ow * y.sw] = s;
  }
}

template <typename T>
__global__ void upsample_backward_kernel(Plan p, Planes<const T> gy, Planes<T> gx) {
  DG_GRID_STRIDE(idx, p.planes * p.h.out * p.w.out) {
    const int64_t ow = idx % p.w.out, t = idx / p.w.out;
    const int64_t oh = t % p.h.out, pl = t / p.h.out;
    const Taps<T> h = upsample::taps<T>(p.h, p.mode, p.align_corners, oh);
    const Taps<T> w = upsample::taps<T>(p.w, p.mode, p.align_corners, ow);
    const T g = gy.plane(pl)[oh * gy.sh + ow * gy.sw];
    T* plane = gx.plane(pl);
    for (int a = 0; a < h.n; ++a)
      for (int c = 0; c < w.n; ++c) atomicAdd(plane + h.i[a] * gx.sh + w.i[c] * gx.sw, h.w[a] * w.w[c] * g);
  }
}

template <typename T>
void launch_forward(const char* op, const Plan& p, const TensorBase& out, const TensorBase& self) {
  if (out.numel() == 0) return;
  DeviceGuard guard(out);
  upsample_kernel<T><<<grid_for(out.numel()), kBlock, 0, stream(guard.device())>>>(
      p, planes_of<const T>(self, self.data_ptr<T>(), 2, op), planes_of<T>(out, out.data_ptr<T>(), 2, op));
  check_launch(op);
}

template <typename T>
void launch_backward(const char* op, const Plan& p, const TensorBase& out, const TensorBase& grad_output) {
  kernels::alert_atomic_accumulation<T>(op);
  if (out.numel() == 0) return;
  zero_<T>(out);
  if (grad_output.numel() == 0) return;
  DeviceGuard guard(out);
  upsample_backward_kernel<T><<<grid_for(grad_output.numel()), kBlock, 0, stream(guard.device())>>>(
      p, planes_of<const T>(grad_output, grad_output.data_ptr<T>(), 2, op),
      planes_of<T>(out, out.data_ptr<T>(), 2, op));
  check_launch(op);
}

}  // namespace

template <typename T>
void upsample_nearest1d(const TensorBase& out, const TensorBase& self, IntArrayRef output_size,
                        std::optional<double> scales) {
  launch_forward<T>("upsample_nearest1d",
                    upsample::make_plan(Mode::kNearest, false, self.sizes(), output_size, std::nullopt, scales), out,
                    self);
}

template <typename T>
void upsample_nearest1d_backward(const TensorBase& out, const TensorBase& grad_output, IntArrayRef output_size,
                                 IntArrayRef input_size, std::optional<double> scales) {
  launch_backward<T>("upsample_nearest1d_backward",
                     upsample::make_plan(Mode::kNearest, false, input_size, output_size, std::nullopt, scales), out,
                     grad_output);
}

template <typename T>
void upsample_nearest2d(const TensorBase& out, const TensorBase& self, IntArrayRef output_size,
                        std::optional<double> scales_h, std::optional<double> scales_w) {
  launch_forward<T>("upsample_nearest2d",
                    upsample::make_plan(Mode::kNearest, false, self.sizes(), output_size, scales_h, scales_w), out,
                    self);
}

template <typename T>
void upsample_nearest2d_backward(const TensorBase& out, const TensorBase& grad_output, IntArrayRef output_size,
                                 IntArrayRef input_size, std::optional<double> scales_h,
                                 std::optional<double> scales_w) {
  launch_backward<T>("upsample_nearest2d_backward",
                     upsample::make_plan(Mode::kNearest, false, input_size, output_size, scales_h, scales_w), out,
                     grad_output);
}

template <typename T>
void upsample_linear1d(const TensorBase& out, const TensorBase& self, IntArrayRef output_size, bool align_corners,
                       std::optional<double> scales) {
  launch_forward<T>("upsample_linear1d",
                    upsample::make_plan(Mode::kLinear, align_corners, self.sizes(), output_size, std::nullopt, scales),
                    out, self);
}

template <typename T>
void upsample_linear1d_backward(const TensorBase& out, const TensorBase& grad_output, IntArrayRef output_size,
                                IntArrayRef input_size, bool align_corners, std::optional<double> scales) {
  launch_backward<T>("upsample_linear1d_backward",
                     upsample::make_plan(Mode::kLinear, align_corners, input_size, output_size, std::nullopt, scales),
                     out, grad_output);
}

template <typename T>
void upsample_bilinear2d(const TensorBase& out, const TensorBase& self, IntArrayRef output_size, bool align_corners,
                         std::optional<double> scales_h, std::optional<double> scales_w) {
  launch_forward<T>("upsample_bilinear2d",
                    upsample::make_plan(Mode::kLinear, align_corners, self.sizes(), output_size, scales_h, scales_w),
                    out, self);
}

template <typename T>
void upsample_bilinear2d_backward(const TensorBase& out, const TensorBase& grad_output, IntArrayRef output_size,
                                  IntArrayRef input_size, bool align_corners, std::optional<double> scales_h,
                                  std::optional<double> scales_w) {
  launch_backward<T>("upsample_bilinear2d_backward",
                     upsample::make_plan(Mode::kLinear, align_corners, input_size, output_size, scales_h, scales_w),
                     out, grad_output);
}

template <typename T>
void upsample_bicubic2d(const TensorBase& out, const TensorBase& self, IntArrayRef output_size, bool align_corners,
                        std::optional<double> scales_h, std::optional<double> scales_w) {
  launch_forward<T>("upsample_bicubic2d",
                    upsample::make_plan(Mode::kCubic, align_corners, self.sizes(), output_size, scales_h, scales_w),
                    out, self);
}

template <typename T>
void upsample_bicubic2d_backward(const TensorBase& out, const TensorBase& grad_output, IntArrayRef output_size,
                                 IntArrayRef input_size, bool align_corners, std::optional<double> scales_h,
                                 std::optional<double> scales_w) {
  launch_backward<T>("upsample_bicubic2d_backward",
                     upsample::make_plan(Mode::kCubic, align_corners, input_size, output_size, scales_h, scales_w), out,
                     grad_output);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_upsample_nearest1d;
DG_INSTANTIATE_KERNEL_cuda_upsample_nearest1d_backward;
DG_INSTANTIATE_KERNEL_cuda_upsample_nearest2d;
DG_INSTANTIATE_KERNEL_cuda_upsample_nearest2d_backward;
DG_INSTANTIATE_KERNEL_cuda_upsample_linear1d;
DG_INSTANTIATE_KERNEL_cuda_upsample_linear1d_backward;
DG_INSTANTIATE_KERNEL_cuda_upsample_bilinear2d;
DG_INSTANTIATE_KERNEL_cuda_upsample_bilinear2d_backward;
DG_INSTANTIATE_KERNEL_cuda_upsample_bicubic2d;
DG_INSTANTIATE_KERNEL_cuda_upsample_bicubic2d_backward;
