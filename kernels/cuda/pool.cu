// 2-D pooling on CUDA: max (value, argmax, backward, argmax gather), average
// and adaptive average, forward and backward. The counterparts of
// kernels/cpu/pool.cpp, with the same window rules (meta::pool2d_geometry,
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

#include "dynagrad/meta.h"
#include "kernel_decls.h"
#include "loops.cuh"

namespace dg::cuda {

namespace {

using meta::Pool2d;

// A [..., H, W] tensor seen as planes of H x W: the leading dims (one or
// two) map a plane index to its offset, then H and W have their strides.
template <typename P>
struct Planes {
  P* data;
  loop::Strided lead;
  int64_t sh, sw;

  __device__ P* plane(int64_t p) const { return data + lead.offset(p); }
  __device__ P& at(P* plane, int64_t h, int64_t w) const { return plane[h * sh + w * sw]; }
};

template <typename P>
Planes<P> planes_of(const Tensor& t, P* data, const char* op) {
  const size_t lead = static_cast<size_t>(t.dim() - 2);
  return {data, loop::make_strided(IntArrayRef(t.sizes().data(), lead), IntArrayRef(t.strides().data(), lead), op),
          t.stride(-2), t.stride(-1)};
}

// The thread's elements of a [planes, rows, cols] iteration space.
struct PlaneIndex {
  int64_t p, r, c;
};
__device__ inline PlaneIndex split(int64_t idx, int64_t rows, int64_t cols) {
  const int64_t c = idx % cols, t = idx / cols;
  return {t / rows, t % rows, c};
}

// (dg::min/max are the tensor ops; these are for indices.)
__device__ inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

#define DG_GRID_STRIDE(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(blockDim.x) * gridDim.x)

// ---------------------------------------------------------------- max pooling

// The argmax of window (oh, ow) as pool.cpp's window_argmax picks it: first
// maximum wins, any later NaN wins. h < 0 when the window holds no input
// element (meta's padding rule prevents it; checked rather than trusted).
template <typename T>
struct Argmax {
  int64_t h, w;
  T v;
};

template <typename T>
__device__ Argmax<T> window_argmax(const Planes<const T>& x, const T* plane, const Pool2d& g, int64_t oh, int64_t ow) {
  Argmax<T> best{-1, -1, T(0)};
  const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  for (int64_t kh = 0; kh < g.kh; ++kh) {
    const int64_t ih = h0 + kh * g.dh;
    if (ih < 0 || ih >= g.ih) continue;
    for (int64_t kw = 0; kw < g.kw; ++kw) {
      const int64_t iw = w0 + kw * g.dw;
      if (iw < 0 || iw >= g.iw) continue;
      const T v = x.at(plane, ih, iw);
      if (best.h < 0 || v > best.v || v != v) best = {ih, iw, v};
    }
  }
  return best;
}

// What a max-pooling forward writes for each window.
enum class MaxOut { kValue, kIndex, kGather };

template <typename T, typename O, MaxOut M>
__global__ void max_pool_kernel(Pool2d g, Planes<const T> x, Planes<const T> src, Planes<O> y) {
  DG_GRID_STRIDE(idx, g.planes * g.oh * g.ow) {
    const PlaneIndex o = split(idx, g.oh, g.ow);
    const Argmax<T> a = window_argmax(x, x.plane(o.p), g, o.r, o.c);
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
void launch_max_pool(const char* op, const Tensor& out, const Tensor& self, const Tensor& source,
                     IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation,
                     bool ceil_mode) {
  if (out.numel() == 0) return;
  const Pool2d g = meta::pool2d_geometry(op, self.sizes(), kernel_size, stride, padding, dilation, ceil_mode);
  DeviceGuard guard(out);
  const T* sp = source.defined() ? source.data_ptr<T>() : nullptr;
  const Planes<const T> x = planes_of<const T>(self, self.data_ptr<T>(), op);
  const Planes<const T> src = source.defined() ? planes_of<const T>(source, sp, op) : x;
  max_pool_kernel<T, O, M><<<grid_for(out.numel()), kBlock, 0, stream(guard.device())>>>(
      g, x, src, planes_of<O>(out, out.data_ptr<O>(), op));
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

// gx(ih, iw) = sum of gy over the windows whose argmax (precomputed, flat
// ih * W + iw per window) is this element, in (oh, ow) order. A window with
// dilation d covers ih when ih = start + k * d, so its start lies in
// [ih - (kh - 1) * dh, ih]; the argmax test settles which ones hit.
template <typename T>
__global__ void max_pool_backward_kernel(Pool2d g, Planes<T> gx, Planes<const T> gy, const int64_t* argmax) {
  DG_GRID_STRIDE(idx, g.planes * g.ih * g.iw) {
    const PlaneIndex in = split(idx, g.ih, g.iw);
    const int64_t flat = in.r * g.iw + in.c;
    int64_t oh0, oh1, ow0, ow1;
    starts_in(in.r - (g.kh - 1) * g.dh, in.r, g.sh, g.ph, g.oh, oh0, oh1);
    starts_in(in.c - (g.kw - 1) * g.dw, in.c, g.sw, g.pw, g.ow, ow0, ow1);
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

// avg_pool2d's window (oh, ow): the clipped rows/cols and the divisor, by
// PyTorch's rules (count_include_pad counts padding but not the part of a
// ceil_mode window hanging past the padding). As pool.cpp's avg_window.
struct AvgWindow {
  int64_t h0, h1, w0, w1;
  int64_t divisor;
};

struct AvgRule {
  bool count_include_pad;
  bool has_override;
  int64_t divisor_override;
};

__device__ inline AvgWindow avg_window(const Pool2d& g, int64_t oh, int64_t ow, const AvgRule& rule) {
  AvgWindow a{};
  const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  const int64_t h1 = imin(h0 + g.kh, g.ih + g.ph), w1 = imin(w0 + g.kw, g.iw + g.pw);
  const int64_t padded = (h1 - h0) * (w1 - w0);
  a.h0 = imax(h0, 0), a.w0 = imax(w0, 0);
  a.h1 = imin(h1, g.ih), a.w1 = imin(w1, g.iw);
  const int64_t inside = imax(a.h1 - a.h0, 0) * imax(a.w1 - a.w0, 0);
  a.divisor = rule.has_override ? rule.divisor_override : rule.count_include_pad ? padded : inside;
  return a;
}

template <typename T>
__global__ void avg_pool_kernel(Pool2d g, AvgRule rule, Planes<const T> x, Planes<T> y) {
  DG_GRID_STRIDE(idx, g.planes * g.oh * g.ow) {
    const PlaneIndex o = split(idx, g.oh, g.ow);
    const AvgWindow a = avg_window(g, o.r, o.c, rule);
    const T* plane = x.plane(o.p);
    T s = T(0);
    for (int64_t ih = a.h0; ih < a.h1; ++ih)
      for (int64_t iw = a.w0; iw < a.w1; ++iw) s += x.at(plane, ih, iw);
    y.at(y.plane(o.p), o.r, o.c) = a.divisor == 0 ? T(0) : s / static_cast<T>(a.divisor);
  }
}

// gx(ih, iw) = sum of gy / divisor over the windows holding (ih, iw): those
// starting in [ih - kh + 1, ih] (clipping never drops a real element).
template <typename T>
__global__ void avg_pool_backward_kernel(Pool2d g, AvgRule rule, Planes<T> gx, Planes<const T> gy) {
  DG_GRID_STRIDE(idx, g.planes * g.ih * g.iw) {
    const PlaneIndex in = split(idx, g.ih, g.iw);
    int64_t oh0, oh1, ow0, ow1;
    starts_in(in.r - g.kh + 1, in.r, g.sh, g.ph, g.oh, oh0, oh1);
    starts_in(in.c - g.kw + 1, in.c, g.sw, g.pw, g.ow, ow0, ow1);
    const T* gyp = gy.plane(in.p);
    T acc = T(0);
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        const AvgWindow a = avg_window(g, oh, ow, rule);
        if (a.divisor == 0) continue;
        acc += gy.at(gyp, oh, ow) / static_cast<T>(a.divisor);
      }
    }
    gx.at(gx.plane(in.p), in.r, in.c) = acc;
  }
}

AvgRule avg_rule(bool count_include_pad, std::optional<int64_t> divisor_override) {
  return {count_include_pad, divisor_override.has_value(), divisor_override.value_or(0)};
}

// ---------------------------------------------------------------- adaptive average

// Adaptive pooling's window along one dim: [floor(i * in / out), ceil((i + 1) * in / out)).
__device__ inline void adaptive_range(int64_t i, int64_t in, int64_t out, int64_t& a, int64_t& b) {
  a = (i * in) / out;
  b = ((i + 1) * in + out - 1) / out;
}

// The output positions whose adaptive window holds input position i: about
// [floor(i * out / in), ceil((i + 1) * out / in)); widened by one each side
// and filtered by the exact window, so rounding can never drop one.
__device__ inline void adaptive_cover(int64_t i, int64_t in, int64_t out, int64_t& lo, int64_t& hi) {
  lo = imax((i * out) / in - 1, 0);
  hi = imin(((i + 1) * out + in - 1) / in + 1, out);
}

// An adaptive pool: `planes` planes of ih x iw in, oh x ow out.
struct AdaptiveGeom {
  int64_t planes, ih, iw, oh, ow;
};

template <typename T>
__global__ void adaptive_avg_kernel(AdaptiveGeom g, Planes<const T> x, Planes<T> y) {
  DG_GRID_STRIDE(idx, g.planes * g.oh * g.ow) {
    const PlaneIndex o = split(idx, g.oh, g.ow);
    int64_t h0, h1, w0, w1;
    adaptive_range(o.r, g.ih, g.oh, h0, h1);
    adaptive_range(o.c, g.iw, g.ow, w0, w1);
    const T* plane = x.plane(o.p);
    T s = T(0);
    for (int64_t ih = h0; ih < h1; ++ih)
      for (int64_t iw = w0; iw < w1; ++iw) s += x.at(plane, ih, iw);
    y.at(y.plane(o.p), o.r, o.c) = s / static_cast<T>((h1 - h0) * (w1 - w0));
  }
}

template <typename T>
__global__ void adaptive_avg_backward_kernel(AdaptiveGeom g, Planes<T> gx, Planes<const T> gy) {
  DG_GRID_STRIDE(idx, g.planes * g.ih * g.iw) {
    const PlaneIndex in = split(idx, g.ih, g.iw);
    int64_t oh0, oh1, ow0, ow1;
    adaptive_cover(in.r, g.ih, g.oh, oh0, oh1);
    adaptive_cover(in.c, g.iw, g.ow, ow0, ow1);
    const T* gyp = gy.plane(in.p);
    T acc = T(0);
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      int64_t h0, h1;
      adaptive_range(oh, g.ih, g.oh, h0, h1);
      if (in.r < h0 || in.r >= h1) continue;
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        int64_t w0, w1;
        adaptive_range(ow, g.iw, g.ow, w0, w1);
        if (in.c < w0 || in.c >= w1) continue;
        acc += gy.at(gyp, oh, ow) / static_cast<T>((h1 - h0) * (w1 - w0));
      }
    }
    gx.at(gx.plane(in.p), in.r, in.c) = acc;
  }
}

// The geometry of an adaptive pool from its input (`in`, [..., H, W]) and
// output (`out`, [..., OH, OW]) tensors.
AdaptiveGeom adaptive_geom(const Tensor& in, const Tensor& out) {
  const int64_t H = in.size(-2), W = in.size(-1);
  return {in.numel() / (H * W), H, W, out.size(-2), out.size(-1)};
}

}  // namespace

template <typename T>
void max_pool2d(const Tensor& out, const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  launch_max_pool<T, T, MaxOut::kValue>("max_pool2d", out, self, Tensor(), kernel_size, stride, padding, dilation,
                                        ceil_mode);
}

template <typename T>
void max_pool2d_indices(const Tensor& out, const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                        IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  launch_max_pool<T, int64_t, MaxOut::kIndex>("max_pool2d_indices", out, self, Tensor(), kernel_size, stride,
                                              padding, dilation, ceil_mode);
}

template <typename T>
void max_pool2d_gather(const Tensor& out, const Tensor& self, const Tensor& source, IntArrayRef kernel_size,
                       IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  launch_max_pool<T, T, MaxOut::kGather>("max_pool2d_gather", out, self, source, kernel_size, stride, padding,
                                         dilation, ceil_mode);
}

template <typename T>
void max_pool2d_backward(const Tensor& out, const Tensor& grad_output, const Tensor& self, IntArrayRef kernel_size,
                         IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  constexpr const char* op = "max_pool2d_backward";
  if (out.numel() == 0) return;
  const Pool2d g = meta::pool2d_geometry(op, self.sizes(), kernel_size, stride, padding, dilation, ceil_mode);
  DeviceGuard guard(out);
  // Each window's argmax once, then every input element collects its own.
  const Tensor argmax = make_empty({g.planes, g.oh, g.ow}, kInt64, out.device());
  launch_max_pool<T, int64_t, MaxOut::kIndex>(op, argmax, self, Tensor(), kernel_size, stride, padding, dilation,
                                              ceil_mode);
  max_pool_backward_kernel<T><<<grid_for(out.numel()), kBlock, 0, stream(guard.device())>>>(
      g, planes_of<T>(out, out.data_ptr<T>(), op), planes_of<const T>(grad_output, grad_output.data_ptr<T>(), op),
      argmax.data_ptr<int64_t>());
  check_launch(op);
}

template <typename T>
void avg_pool2d(const Tensor& out, const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                IntArrayRef padding, bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  constexpr const char* op = "avg_pool2d";
  if (out.numel() == 0) return;
  const Pool2d g = meta::pool2d_geometry(op, self.sizes(), kernel_size, stride, padding, {1}, ceil_mode);
  DeviceGuard guard(out);
  avg_pool_kernel<T><<<grid_for(out.numel()), kBlock, 0, stream(guard.device())>>>(
      g, avg_rule(count_include_pad, divisor_override), planes_of<const T>(self, self.data_ptr<T>(), op),
      planes_of<T>(out, out.data_ptr<T>(), op));
  check_launch(op);
}

template <typename T>
void avg_pool2d_backward(const Tensor& out, const Tensor& grad_output, const Tensor& self, IntArrayRef kernel_size,
                         IntArrayRef stride, IntArrayRef padding, bool ceil_mode, bool count_include_pad,
                         std::optional<int64_t> divisor_override) {
  constexpr const char* op = "avg_pool2d_backward";
  if (out.numel() == 0) return;
  const Pool2d g = meta::pool2d_geometry(op, self.sizes(), kernel_size, stride, padding, {1}, ceil_mode);
  DeviceGuard guard(out);
  avg_pool_backward_kernel<T><<<grid_for(out.numel()), kBlock, 0, stream(guard.device())>>>(
      g, avg_rule(count_include_pad, divisor_override), planes_of<T>(out, out.data_ptr<T>(), op),
      planes_of<const T>(grad_output, grad_output.data_ptr<T>(), op));
  check_launch(op);
}

template <typename T>
void adaptive_avg_pool2d(const Tensor& out, const Tensor& self, IntArrayRef output_size) {
  (void)output_size;  // out has it
  constexpr const char* op = "adaptive_avg_pool2d";
  if (out.numel() == 0) return;
  DeviceGuard guard(out);
  adaptive_avg_kernel<T><<<grid_for(out.numel()), kBlock, 0, stream(guard.device())>>>(
      adaptive_geom(self, out), planes_of<const T>(self, self.data_ptr<T>(), op),
      planes_of<T>(out, out.data_ptr<T>(), op));
  check_launch(op);
}

template <typename T>
void adaptive_avg_pool2d_backward(const Tensor& out, const Tensor& grad_output, const Tensor& self) {
  (void)self;  // out has its shape
  constexpr const char* op = "adaptive_avg_pool2d_backward";
  if (out.numel() == 0) return;
  DeviceGuard guard(out);
  // An empty grad_output (output size 0) leaves every window list empty: zeros.
  adaptive_avg_backward_kernel<T><<<grid_for(out.numel()), kBlock, 0, stream(guard.device())>>>(
      adaptive_geom(out, grad_output), planes_of<T>(out, out.data_ptr<T>(), op),
      planes_of<const T>(grad_output, grad_output.data_ptr<T>(), op));
  check_launch(op);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_max_pool2d
DG_INSTANTIATE_KERNEL_cuda_max_pool2d_indices
DG_INSTANTIATE_KERNEL_cuda_max_pool2d_backward
DG_INSTANTIATE_KERNEL_cuda_max_pool2d_gather
DG_INSTANTIATE_KERNEL_cuda_avg_pool2d
DG_INSTANTIATE_KERNEL_cuda_avg_pool2d_backward
DG_INSTANTIATE_KERNEL_cuda_adaptive_avg_pool2d
DG_INSTANTIATE_KERNEL_cuda_adaptive_avg_pool2d_backward
