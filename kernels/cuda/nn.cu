// CUDA kernels of the neural-network functions: softmax / log_softmax and
// their backward helpers (a warp or a block per line along `dim`, any
// strides) and the class pick of nll_loss with its gradient. The
// counterparts of the same kernels in kernels/cpu/nn.cpp. The metas have
// checked the class targets (on the host), so the picks index unchecked.
#include <cstdint>
#include <limits>

#include "kernel_decls.h"
#include "loops.cuh"
#include "reduce.cuh"

namespace dg::cuda {

namespace {

using namespace reduction;

__device__ inline float dev_exp(float x) { return ::expf(x); }
__device__ inline double dev_exp(double x) { return ::exp(x); }

// std::max(a, b): b only when a < b, so a NaN b never wins (as on the CPU).
struct MaxOp {
  template <typename V>
  __device__ V operator()(V a, V b) const {
    return a < b ? b : a;
  }
};
struct AddOp {
  template <typename V>
  __device__ V operator()(V a, V b) const {
    return a + b;
  }
};

// Lines shorter than this get a warp each, longer ones a whole block.
constexpr int64_t kBlockLine = 1024;

// Each group of G threads (a warp, or the block when G == kBlock) takes
// lines l = group, group + groups, ...; `body(l, lane)` works on line l with
// its G lanes. Every lane of a group runs the same iterations, so the body
// may call group_allreduce<G>.
template <int G, typename Body>
__global__ void lines_kernel(int64_t count, Body body) {
  const int64_t thread = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t groups = int64_t(gridDim.x) * blockDim.x / G;
  const int lane = static_cast<int>(threadIdx.x % G);
  for (int64_t l = thread / G; l < count; l += groups) body(l, lane);
}

template <typename Body>
void launch_lines(const char* op, const TensorBase& out, int64_t count, int64_t len, const Body& body) {
  DeviceGuard g(out);
  cudaStream_t st = stream(g.device());
  if (len >= kBlockLine) {
    lines_kernel<kBlock><<<block_grid(count), kBlock, 0, st>>>(count, body);
  } else {
    lines_kernel<32><<<grid_for(count * 32), kBlock, 0, st>>>(count, body);
  }
  check_launch(op);
}

// softmax / log_softmax of one line, in the CPU's arithmetic: the max is
// subtracted in T, the sum of exps accumulates in double.
template <typename T, bool Log, int G>
struct SoftmaxLine {
  T* out;
  const T* in;
  Lines<2> lines;  // operand 0 out, 1 in
  __device__ void operator()(int64_t l, int lane) const {
    T* o = out + offset_at(lines.outer[0], l);
    const T* x = in + offset_at(lines.outer[1], l);
    const int64_t n = lines.len, so = lines.step[0], sx = lines.step[1];
    // Subtracting the max keeps every exp() in (0, 1].
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t i = lane; i < n; i += G) m = MaxOp{}(m, x[i * sx]);
    m = group_allreduce<G>(m, MaxOp{});
    double s = 0;
    if constexpr (Log) {
      for (int64_t i = lane; i < n; i += G) s += ::exp(static_cast<double>(x[i * sx] - m));
      s = group_allreduce<G>(s, AddOp{});
      // (x - m) is exact near the max; adding m back first would round away
      // the small log term for large |x|.
      const T ls = static_cast<T>(::log(s));
      for (int64_t i = lane; i < n; i += G) o[i * so] = (x[i * sx] - m) - ls;
    } else {
      for (int64_t i = lane; i < n; i += G) s += dev_exp(x[i * sx] - m);
      s = group_allreduce<G>(s, AddOp{});
      const T inv = static_cast<T>(1.0 / s);
      for (int64_t i = lane; i < n; i += G) o[i * so] = dev_exp(x[i * sx] - m) * inv;
    }
  }
};

// The gradient of softmax (y * (g - sum(g * y))) or log_softmax
// (g - exp(y) * sum(g)) from its output y, the sums in double.
template <typename T, bool Log, int G>
struct SoftmaxBackwardLine {
  T* out;
  const T* grad;
  const T* output;
  Lines<3> lines;  // operand 0 out, 1 grad, 2 output
  __device__ void operator()(int64_t l, int lane) const {
    T* o = out + offset_at(lines.outer[0], l);
    const T* g = grad + offset_at(lines.outer[1], l);
    const T* y = output + offset_at(lines.outer[2], l);
    const int64_t n = lines.len, so = lines.step[0], sg = lines.step[1], sy = lines.step[2];
    double s = 0;
    for (int64_t i = lane; i < n; i += G) {
      if constexpr (Log) s += g[i * sg];
      else s += static_cast<double>(g[i * sg]) * y[i * sy];
    }
    const T st = static_cast<T>(group_allreduce<G>(s, AddOp{}));
    for (int64_t i = lane; i < n; i += G) {
      if constexpr (Log) o[i * so] = g[i * sg] - dev_exp(y[i * sy]) * st;
      else o[i * so] = y[i * sy] * (g[i * sg] - st);
    }
  }
};

// A line body template, given its group size, for the launch that picks it.
template <template <typename, bool, int> class Line, typename T, bool Log, typename... Args>
void run_lines(const char* op, const TensorBase& out, int64_t count, int64_t len, const Args&... args) {
  if (count == 0 || len == 0) return;
  if (len >= kBlockLine) launch_lines(op, out, count, len, Line<T, Log, kBlock>{args...});
  else launch_lines(op, out, count, len, Line<T, Log, 32>{args...});
}

int64_t line_dim(const TensorBase& t, int64_t dim) { return t.dim() == 0 ? 0 : (dim < 0 ? dim + t.dim() : dim); }

template <typename T, bool Log>
void softmax_impl(const char* op, const TensorBase& out, const TensorBase& self, int64_t dim) {
  if (out.numel() == 0) return;
  const Lines<2> lines = make_lines<2>(self.sizes(), line_dim(self, dim), {&out, &self}, op);
  run_lines<SoftmaxLine, T, Log>(op, out, lines.count, lines.len, static_cast<T*>(out.data_ptr()),
                                 static_cast<const T*>(self.data_ptr()), lines);
}

template <typename T, bool Log>
void softmax_backward_impl(const char* op, const TensorBase& out, const TensorBase& grad_output, const TensorBase& output,
                           int64_t dim) {
  if (out.numel() == 0) return;
  const Lines<3> lines =
      make_lines<3>(output.sizes(), line_dim(output, dim), {&out, &grad_output, &output}, op);
  run_lines<SoftmaxBackwardLine, T, Log>(op, out, lines.count, lines.len, static_cast<T*>(out.data_ptr()),
                                         static_cast<const T*>(grad_output.data_ptr()),
                                         static_cast<const T*>(output.data_ptr()), lines);
}

// ---- nll_pick -----------------------------------------------------------------

// Geometry of a [N, C, d...] tensor seen from the [N, d...] target shape:
// the offset of element (n, 0, d...) for target index k, and the class step.
struct ClassView {
  loop::Strided rows;
  int64_t class_stride;
};

ClassView class_view(const TensorBase& t, const char* op) {
  DimVector sizes, strides;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (d == 1) continue;
    sizes.push_back(t.size(d));
    strides.push_back(t.stride(d));
  }
  return ClassView{compact_strided(sizes, strides, op), t.stride(1)};
}

// One target element k: its class c picks element (n, c, d...) of the
// [N, C, d...] tensor `wide`. Forward: flat[k] = wide[pick] (0 when
// ignored). Backward: wide[pick] = flat[k] (nothing when ignored; the rest
// of wide was zeroed first). Distinct k pick distinct elements.
template <typename T, bool Backward>
struct PickElement {
  const int64_t* target;
  loop::Strided target_geom;
  T* dst;
  const T* src;
  loop::Strided flat;  // the [N, d...] operand: out forward, grad backward
  ClassView wide;      // the [N, C, d...] operand: self forward, out backward
  int64_t ignore_index;
  __device__ void operator()(int64_t k) const {
    const int64_t c = target[offset_at(target_geom, k)];
    const int64_t f = offset_at(flat, k);
    const int64_t w = offset_at(wide.rows, k) + c * wide.class_stride;
    if constexpr (Backward) {
      if (c != ignore_index) dst[w] = src[f];
    } else {
      dst[f] = c == ignore_index ? T(0) : src[w];
    }
  }
};

template <typename T, bool Backward>
void pick(const char* op, const TensorBase& dst, const TensorBase& src, const TensorBase& target, int64_t ignore_index) {
  const TensorBase& flat = Backward ? src : dst;
  const TensorBase& wide = Backward ? dst : src;
  const PickElement<T, Backward> f{static_cast<const int64_t*>(target.data_ptr()),
                                   compact_strided(target.sizes(), target.strides(), op),
                                   static_cast<T*>(dst.data_ptr()),
                                   static_cast<const T*>(src.data_ptr()),
                                   compact_strided(flat.sizes(), flat.strides(), op),
                                   class_view(wide, op),
                                   ignore_index};
  launch_for_each(op, dst, target.numel(), f);
}

template <typename T>
struct Zero {
  __device__ T operator()() const { return T(0); }
};

}  // namespace

template <typename T>
void softmax(const TensorBase& out, const TensorBase& self, int64_t dim) {
  softmax_impl<T, false>("softmax", out, self, dim);
}

template <typename T>
void log_softmax(const TensorBase& out, const TensorBase& self, int64_t dim) {
  softmax_impl<T, true>("log_softmax", out, self, dim);
}

template <typename T>
void softmax_backward_data(const TensorBase& out, const TensorBase& grad_output, const TensorBase& output, int64_t dim) {
  softmax_backward_impl<T, false>("_softmax_backward_data", out, grad_output, output, dim);
}

template <typename T>
void log_softmax_backward_data(const TensorBase& out, const TensorBase& grad_output, const TensorBase& output, int64_t dim) {
  softmax_backward_impl<T, true>("_log_softmax_backward_data", out, grad_output, output, dim);
}

template <typename T>
void nll_pick(const TensorBase& out, const TensorBase& self, const TensorBase& target, int64_t ignore_index) {
  pick<T, false>("_nll_pick", out, self, target, ignore_index);
}

template <typename T>
void nll_pick_backward(const TensorBase& out, const TensorBase& grad, const TensorBase& target, IntArrayRef self_sizes,
                       int64_t ignore_index) {
  (void)self_sizes;  // out already has them
  gpu_nullary<T>("_nll_pick_backward", out, Zero<T>{});
  pick<T, true>("_nll_pick_backward", out, grad, target, ignore_index);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_softmax
DG_INSTANTIATE_KERNEL_cuda_log_softmax
DG_INSTANTIATE_KERNEL_cuda_softmax_backward_data
DG_INSTANTIATE_KERNEL_cuda_log_softmax_backward_data
DG_INSTANTIATE_KERNEL_cuda_nll_pick
DG_INSTANTIATE_KERNEL_cuda_nll_pick_backward
