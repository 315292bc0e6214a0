// CUDA softmax / log_softmax and their backward helpers: a warp or a block
// per line along `dim`, any strides; the counterparts of kernels/cpu/softmax.cpp.
#include <cstdint>
#include <limits>

#include "cuda/loops.cuh"
#include "cuda/reduce.cuh"
#include "kernel_decls.h"

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
void softmax_backward_impl(const char* op, const TensorBase& out, const TensorBase& grad_output,
                           const TensorBase& output, int64_t dim) {
  if (out.numel() == 0) return;
  const Lines<3> lines = make_lines<3>(output.sizes(), line_dim(output, dim), {&out, &grad_output, &output}, op);
  run_lines<SoftmaxBackwardLine, T, Log>(op, out, lines.count, lines.len, static_cast<T*>(out.data_ptr()),
                                         static_cast<const T*>(grad_output.data_ptr()),
                                         static_cast<const T*>(output.data_ptr()), lines);
}

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
void softmax_backward_data(const TensorBase& out, const TensorBase& grad_output, const TensorBase& output,
                           int64_t dim) {
  softmax_backward_impl<T, false>("_softmax_backward_data", out, grad_output, output, dim);
}

template <typename T>
void log_softmax_backward_data(const TensorBase& out, const TensorBase& grad_output, const TensorBase& output,
                               int64_t dim) {
  softmax_backward_impl<T, true>("_log_softmax_backward_data", out, grad_output, output, dim);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_softmax;
DG_INSTANTIATE_KERNEL_cuda_log_softmax;
DG_INSTANTIATE_KERNEL_cuda_softmax_backward_data;
DG_INSTANTIATE_KERNEL_cuda_log_softmax_backward_data;
