// 2-D pooling on CUDA: max (value, argmax, backward, argmax gather), average
// and adaptive average, forward and backward. The counterparts of
// kernels/cpu/pool.cpp, with the same window rules (pool::pool2d_geometry,
// PyTorch's divisor and adaptive-window rules) and the same argmax: the
// first maximum in row-major window order, or the last NaN if there is one.
//
// Forwards run one thread per output element. Backwards run one thread per
// input element that gathers the outputs whose window holds it, in the CPU's
// (oh, ow) order: no atomics, deterministic, and the same sums as the CPU.
// Every tensor is read and written at its own strides (no dense copies).
#include <cstdint>
#include <limits>
#include <optional>

#include "common/pool_window.h"
#include "cuda/cuda_common.cuh"
#include "cuda/loops.cuh"
#include "cuda/planes.cuh"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

using pool::Pool2d;

// The thread's elements of a [planes, rows, cols] iteration space.
struct PlaneIndex {
  int64_t p, r, c;
};
__device__ inline PlaneIndex split(int64_t idx, int64_t rows, int64_t cols) {
  const int64_t c = idx % cols, t = idx / cols;
  return {t / rows, t % rows, c};
}

// ---------------------------------------------------------------- max pooling

// What a max-pooling forward writes for each window.
enum class MaxOut { kValue, kIndex, kGather };

template <typename T, typename O, MaxOut M>
__global__ void max_pool_kernel(Pool2d g, Planes<const T> x, Planes<const T> src, Planes<O> y) {
  DG_GRID_STRIDE(idx, g.planes * g.oh * g.ow) {
    const PlaneIndex o = split(idx, g.oh, g.ow);
    const T* plane = x.plane(o.p);
    const pool::Argmax<T> a =
        pool::window_argmax<T>(g, o.r, o.c, [&](int64_t ih, int64_t iw) { return x.at(plane, ih, iw); });
    O& dst = y.at(y.plane(o.p), o.r, o.c);
    if constexpr (M == MaxOut::kValue) {
      dst = a.h >= 0 ? a.v : -std::numeric_limits<T>::infinity();
    } else if constexpr (M == MaxOut::kIndex) {
      dst = a.h >= 0 ? a.h * g.iw + a.w : -1;
    } else {
      dst = a.h >= 0 ? src.at(src.plane(o.p), a.h, a.w) : T(0);
    }
  }
}

template <typename T, typename O, MaxOut M>
void launch_max_pool(const char* op, const TensorBase& out, const TensorBase& self, const TensorBase& source,
                     IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation,
                     bool ceil_mode) {
  if (out.numel() == 0) return;
  const Pool2d g = pool::pool2d_geometry(op, self.sizes(), kernel_size, stride, padding, dilation, ceil_mode);
  DeviceGuard guard(out);
  const T* sp = source.defined() ? source.data_ptr<T>() : nullptr;
  const Planes<const T> x = planes_of<const T>(self, self.data_ptr<T>(), self.dim() - 2, op);
  const Planes<const T> src = source.defined() ? planes_of<const T>(source, sp, source.dim() - 2, op) : x;
  max_pool_kernel<T, O, M><<<grid_for(out.numel()), kBlock, 0, stream(guard.device())>>>(
      g, x, src, planes_of<O>(out, out.data_ptr<O>(), out.dim() - 2, op));
  check_launch(op);
}

// The first and one-past-last output positions (along one dim) whose window
// start o * stride - pad lies in [lo_in, hi_in], clamped to [0, n).
__device__ inline void starts_in(int64_t lo_in, int64_t hi_in, int64_t stride, int64_t pad, int64_t n, int64_t& lo,
                                 int64_t& hi) {
  const int64_t a = lo_in + pad, b = hi_in + pad;  // o * stride in [a, b]
  lo = a <= 0 ? 0 : (a + stride - 1) / stride;
  hi = b < 0 ? 0 : b / stride + 1;
  if (hi > n) hi = n;
}

// The output positions [oh0, oh1) x [ow0, ow1) whose window may hold input
// position (ih, iw): a window with dilation d covers ih when ih = start + k *
// d, so its start lies in [ih - (kh - 1) * dh, ih].
__device__ inline void window_cover(const Pool2d& g, int64_t ih, int64_t iw, int64_t& oh0, int64_t& oh1, int64_t& ow0,
                                    int64_t& ow1) {
  starts_in(ih - (g.kh - 1) * g.dh, ih, g.sh, g.ph, g.oh, oh0, oh1);
  starts_in(iw - (g.kw - 1) * g.dw, iw, g.sw, g.pw, g.ow, ow0, ow1);
}

// gx(ih, iw) = sum of gy over the windows whose argmax (precomputed, flat
// ih * W + iw per window) is this element, in (oh, ow) order; of the windows
// that may hold it, the argmax test settles which ones hit.
template <typename T>
__global__ void max_pool_backward_kernel(Pool2d g, Planes<T> gx, Planes<const T> gy, const int64_t* argmax) {
  DG_GRID_STRIDE(idx, g.planes * g.ih * g.iw) {
    const PlaneIndex in = split(idx, g.ih, g.iw);
    const int64_t flat = in.r * g.iw + in.c;
    int64_t oh0, oh1, ow0, ow1;
    window_cover(g, in.r, in.c, oh0, oh1, ow0, ow1);
    const T* gyp = gy.plane(in.p);
    const int64_t* am = argmax + in.p * g.oh * g.ow;
    T acc = T(0);
    for (int64_t oh = oh0; oh < oh1; ++oh)
      for (int64_t ow = ow0; ow < ow1; ++ow)
        if (am[oh * g.ow + ow] == flat) acc += gy.at(gyp, oh, ow);
    gx.at(gx.plane(in.p), in.r, in.c) = acc;
  }
}

// ---------------------------------------------------------------- average pooling

// Average and adaptive average pooling differ only in their windows: each
// rule gives window (oh, ow) (pool_window.h) and, for the backward's gather,
// the output positions whose windows may hold input position (ih, iw) (a
// superset; windows are tested).
struct AvgPool {
  Pool2d g;
  pool::AvgRule rule;

  __device__ pool::Window window(int64_t oh, int64_t ow) const { return pool::avg_window(g, oh, ow, rule); }
  // (dilation 1; clipping never drops a real element)
  __device__ void cover(int64_t ih, int64_t iw, int64_t& oh0, int64_t& oh1, int64_t& ow0, int64_t& ow1) const {
    window_cover(g, ih, iw, oh0, oh1, ow0, ow1);
  }
};

// The output positions whose adaptive window holds input position i: about
// [floor(i * out / in), ceil((i + 1) * out / in)); widened by one each side
// (the windows are tested), so rounding can never drop one.
__device__ inline void adaptive_cover(int64_t i, int64_t in, int64_t out, int64_t& lo, int64_t& hi) {
  lo = pool::imax((i * out) / in - 1, 0);
  hi = pool::imin(((i + 1) * out + in - 1) / in + 1, out);
}

struct AdaptivePool {
  pool::Adaptive g;

  __device__ pool::Window window(int64_t oh, int64_t ow) const { return pool::adaptive_window(g, oh, ow); }
  __device__ void cover(int64_t ih, int64_t iw, int64_t& oh0, int64_t& oh1, int64_t& ow0, int64_t& ow1) const {
    adaptive_cover(ih, g.ih, g.oh, oh0, oh1);
    adaptive_cover(iw, g.iw, g.ow, ow0, ow1);
  }
};

// y = the mean of each window (0 for a zero divisor).
template <typename T, typename Rule>
__global__ void mean_pool_kernel(Rule r, Planes<const T> x, Planes<T> y) {
  DG_GRID_STRIDE(idx, r.g.planes * r.g.oh * r.g.ow) {
    const PlaneIndex o = split(idx, r.g.oh, r.g.ow);
    const pool::Window a = r.window(o.r, o.c);
    const T* plane = x.plane(o.p);
    T s = T(0);
    for (int64_t ih = a.h0; ih < a.h1; ++ih)
      for (int64_t iw = a.w0; iw < a.w1; ++iw) s += x.at(plane, ih, iw);
    y.at(y.plane(o.p), o.r, o.c) = a.divisor == 0 ? T(0) : s / static_cast<T>(a.divisor);
  }
}

// gx(ih, iw) = the sum of gy / divisor over the windows holding (ih, iw), in
// (oh, ow) order.
template <typename T, typename Rule>
__global__ void mean_pool_backward_kernel(Rule r, Planes<T> gx, Planes<const T> gy) {
  DG_GRID_STRIDE(idx, r.g.planes * r.g.ih * r.g.iw) {
    const PlaneIndex in = split(idx, r.g.ih, r.g.iw);
    int64_t oh0, oh1, ow0, ow1;
    r.cover(in.r, in.c, oh0, oh1, ow0, ow1);
    const T* gyp = gy.plane(in.p);
    T acc = T(0);
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        const pool::Window a = r.window(oh, ow);
        if (a.divisor == 0 || in.r < a.h0 || in.r >= a.h1 || in.c < a.w0 || in.c >= a.w1) continue;
        acc += gy.at(gyp, oh, ow) / static_cast<T>(a.divisor);
      }
    }
    gx.at(gx.plane(in.p), in.r, in.c) = acc;
  }
}

// The forward (x -> y) or backward (gy -> gx) of a mean pool, each tensor at
// its own strides.
template <typename T, typename Rule>
void launch_mean_pool(const char* op, const Rule& r, const TensorBase& out, const TensorBase& in, bool backward) {
  DeviceGuard guard(out);
  if (backward) {
    mean_pool_backward_kernel<T, Rule><<<grid_for(out.numel()), kBlock, 0, stream(guard.device())>>>(
        r, planes_of<T>(out, out.data_ptr<T>(), out.dim() - 2, op),
        planes_of<const T>(in, in.data_ptr<T>(), in.dim() - 2, op));
  } else {
    mean_pool_kernel<T, Rule><<<grid_for(out.numel()), kBlock, 0, stream(guard.device())>>>(
        r, planes_of<const T>(in, in.data_ptr<T>(), in.dim() - 2, op),
        planes_of<T>(out, out.data_ptr<T>(), out.dim() - 2, op));
  }
  check_launch(op);
}

}  // namespace

template <typename T>
void max_pool2d(const TensorBase& out, const TensorBase& self, IntArrayRef kernel_size, IntArrayRef stride,
                IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  launch_max_pool<T, T, MaxOut::kValue>("max_pool2d", out, self, TensorBase(), kernel_size, stride, padding, dilation,
                                        ceil_mode);
}

template <typename T>
void max_pool2d_indices(const TensorBase& out, const TensorBase& self, IntArrayRef kernel_size, IntArrayRef stride,
                        IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  launch_max_pool<T, int64_t, MaxOut::kIndex>("max_pool2d_indices", out, self, TensorBase(), kernel_size, stride,
                                              padding, dilation, ceil_mode);
}

template <typename T>
void max_pool2d_gather(const TensorBase& out, const TensorBase& self, const TensorBase& source, IntArrayRef kernel_size,
                       IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  launch_max_pool<T, T, MaxOut::kGather>("max_pool2d_gather", out, self, source, kernel_size, stride, padding, dilation,
                                         ceil_mode);
}

template <typename T>
void max_pool2d_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self,
                         IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation,
                         bool ceil_mode) {
  constexpr const char* op = "max_pool2d_backward";
  if (out.numel() == 0) return;
  const Pool2d g = pool::pool2d_geometry(op, self.sizes(), kernel_size, stride, padding, dilation, ceil_mode);
  DeviceGuard guard(out);
  // Each window's argmax once, then every input element collects its own.
  const TensorBase argmax = make_empty({g.planes, g.oh, g.ow}, kInt64, out.device());
  launch_max_pool<T, int64_t, MaxOut::kIndex>(op, argmax, self, TensorBase(), kernel_size, stride, padding, dilation,
                                              ceil_mode);
  max_pool_backward_kernel<T><<<grid_for(out.numel()), kBlock, 0, stream(guard.device())>>>(
      g, planes_of<T>(out, out.data_ptr<T>(), out.dim() - 2, op),
      planes_of<const T>(grad_output, grad_output.data_ptr<T>(), grad_output.dim() - 2, op),
      argmax.data_ptr<int64_t>());
  check_launch(op);
}

template <typename T>
void avg_pool2d(const TensorBase& out, const TensorBase& self, IntArrayRef kernel_size, IntArrayRef stride,
                IntArrayRef padding, bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  constexpr const char* op = "avg_pool2d";
  if (out.numel() == 0) return;
  const Pool2d g = pool::pool2d_geometry(op, self.sizes(), kernel_size, stride, padding, {1}, ceil_mode);
  launch_mean_pool<T>(op, AvgPool{g, pool::avg_rule(count_include_pad, divisor_override)}, out, self, false);
}

template <typename T>
void avg_pool2d_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self,
                         IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding, bool ceil_mode,
                         bool count_include_pad, std::optional<int64_t> divisor_override) {
  constexpr const char* op = "avg_pool2d_backward";
  if (out.numel() == 0) return;
  const Pool2d g = pool::pool2d_geometry(op, self.sizes(), kernel_size, stride, padding, {1}, ceil_mode);
  launch_mean_pool<T>(op, AvgPool{g, pool::avg_rule(count_include_pad, divisor_override)}, out, grad_output, true);
}

template <typename T>
void adaptive_avg_pool2d(const TensorBase& out, const TensorBase& self, IntArrayRef /*output_size: out's*/) {
  if (out.numel() == 0) return;
  launch_mean_pool<T>("adaptive_avg_pool2d", AdaptivePool{pool::adaptive_geom(self, out)}, out, self, false);
}

template <typename T>
void adaptive_avg_pool2d_backward(const TensorBase& out, const TensorBase& grad_output,
                                  const TensorBase& /*self: out's shape*/) {
  if (out.numel() == 0) return;
  // An empty grad_output (output size 0) leaves every window list empty: zeros.
  launch_mean_pool<T>("adaptive_avg_pool2d_backward", AdaptivePool{pool::adaptive_geom(out, grad_output)}, out,
                      grad_output, true);
}

template <typename T>
__global__ void adaptive_max_indices_kernel(pool::Adaptive g, Planes<const T> x, Planes<int64_t> y) {
  DG_GRID_STRIDE(idx, g.planes * g.oh * g.ow) {
    const PlaneIndex o = split(idx, g.oh, g.ow);
    const T* plane = x.plane(o.p);
    y.at(y.plane(o.p), o.r, o.c) = pool::adaptive_argmax<T>(
        pool::adaptive_window(g, o.r, o.c), g.iw, [&](int64_t ih, int64_t iw) { return x.at(plane, ih, iw); });
  }
}

template <typename T>
void adaptive_max_pool2d_indices(const TensorBase& out, const TensorBase& self, IntArrayRef /*output_size*/) {
  constexpr const char* op = "adaptive_max_pool2d";
  if (out.numel() == 0) return;
  DeviceGuard guard(out);
  adaptive_max_indices_kernel<T><<<grid_for(out.numel()), kBlock, 0, stream(guard.device())>>>(
      pool::adaptive_geom(self, out), planes_of<const T>(self, self.data_ptr<T>(), self.dim() - 2, op),
      planes_of<int64_t>(out, out.data_ptr<int64_t>(), out.dim() - 2, op));
  check_launch(op);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_max_pool2d;
DG_INSTANTIATE_KERNEL_cuda_max_pool2d_indices;
DG_INSTANTIATE_KERNEL_cuda_max_pool2d_backward;
DG_INSTANTIATE_KERNEL_cuda_max_pool2d_gather;
DG_INSTANTIATE_KERNEL_cuda_avg_pool2d;
DG_INSTANTIATE_KERNEL_cuda_avg_pool2d_backward;
DG_INSTANTIATE_KERNEL_cuda_adaptive_avg_pool2d;
DG_INSTANTIATE_KERNEL_cuda_adaptive_avg_pool2d_backward;
DG_INSTANTIATE_KERNEL_cuda_adaptive_max_pool2d_indices;
