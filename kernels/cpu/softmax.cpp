// softmax / log_softmax and their backward helpers: one pass per line along
// `dim`, any strides, lines split between the threads.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

#include "cpu/loops.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

// The lines of a tensor shape along one dim: every index combination of the
// other dims is one line of `len` elements. Element strides per operand.
template <size_t N>
struct Lines {
  DimVector outer;  // sizes without the line dim
  std::array<DimVector, N> outer_stride;
  std::array<int64_t, N> step{};  // stride along the line
  int64_t count = 1, len = 1;

  Lines(IntArrayRef sizes, int64_t dim, const std::array<const TensorBase*, N>& ts) {
    // A 0-dim tensor is one line of one element.
    for (size_t k = 0; k < N; ++k) step[k] = sizes.empty() ? 0 : ts[k]->stride(dim);
    if (!sizes.empty()) len = sizes[static_cast<size_t>(dim)];
    for (size_t d = 0; d < sizes.size(); ++d) {
      if (static_cast<int64_t>(d) == dim) continue;
      outer.push_back(sizes[d]);
      for (size_t k = 0; k < N; ++k) outer_stride[k].push_back(ts[k]->stride(static_cast<int64_t>(d)));
      count *= sizes[d];
    }
  }
  // Element offsets of line l's first element, per operand.
  std::array<int64_t, N> base(int64_t l) const {
    std::array<int64_t, N> off{};
    for (size_t d = outer.size(); d-- > 0;) {
      const int64_t i = l % outer[d];
      l /= outer[d];
      for (size_t k = 0; k < N; ++k) off[k] += i * outer_stride[k][d];
    }
    return off;
  }
};

// Runs f(out_line, a_line, ...) style loops over every line, two threads
// for large tensors (lines touch disjoint outputs).
template <size_t N, typename F>
void for_each_line(const Lines<N>& lines, const F& f) {
  parallel_for(lines.count, std::max<int64_t>(lines.len, 1) * 4, [&](int64_t b, int64_t e) {
    for (int64_t l = b; l < e; ++l) f(lines.base(l));
  });
}

template <typename T>
void softmax_impl(const TensorBase& out, const TensorBase& self, int64_t dim, bool log) {
  if (out.numel() == 0) return;
  const int64_t d = self.dim() == 0 ? 0 : (dim < 0 ? dim + self.dim() : dim);
  const Lines<2> lines(self.sizes(), d, {&out, &self});
  T* o = out.data_ptr<T>();
  const T* x = self.data_ptr<T>();
  const int64_t n = lines.len, so = lines.step[0], sx = lines.step[1];
  for_each_line(lines, [&](const std::array<int64_t, 2>& b) {
    T* ol = o + b[0];
    const T* xl = x + b[1];
    // Subtracting the max keeps every exp() in (0, 1]: no overflow for
    // inputs of any magnitude, and the largest term is exactly 1.
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t i = 0; i < n; ++i) m = std::max(m, xl[i * sx]);
    double s = 0;
    if (log) {
      for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(xl[i * sx] - m));
      // (x - m) is exact near the max; adding m back first would round
      // away the small log term for large |x|.
      const T ls = static_cast<T>(std::log(s));
      for (int64_t i = 0; i < n; ++i) ol[i * so] = (xl[i * sx] - m) - ls;
    } else {
      for (int64_t i = 0; i < n; ++i) {
        const T e = std::exp(xl[i * sx] - m);
        ol[i * so] = e;
        s += e;
      }
      const T inv = static_cast<T>(1.0 / s);
      for (int64_t i = 0; i < n; ++i) ol[i * so] *= inv;
    }
  });
}

template <typename T>
void softmax_backward_impl(const TensorBase& out, const TensorBase& grad_output, const TensorBase& output, int64_t dim,
                           bool log) {
  if (out.numel() == 0) return;
  const int64_t d = output.dim() == 0 ? 0 : (dim < 0 ? dim + output.dim() : dim);
  const Lines<3> lines(output.sizes(), d, {&out, &grad_output, &output});
  T* o = out.data_ptr<T>();
  const T* g = grad_output.data_ptr<T>();
  const T* y = output.data_ptr<T>();
  const int64_t n = lines.len, so = lines.step[0], sg = lines.step[1], sy = lines.step[2];
  for_each_line(lines, [&](const std::array<int64_t, 3>& b) {
    T* ol = o + b[0];
    const T* gl = g + b[1];
    const T* yl = y + b[2];
    double s = 0;
    if (log) {
      // d log_softmax: g - exp(y) * sum(g)
      for (int64_t i = 0; i < n; ++i) s += gl[i * sg];
      const T st = static_cast<T>(s);
      for (int64_t i = 0; i < n; ++i) ol[i * so] = gl[i * sg] - std::exp(yl[i * sy]) * st;
    } else {
      // d softmax: y * (g - sum(g * y))
      for (int64_t i = 0; i < n; ++i) s += static_cast<double>(gl[i * sg]) * yl[i * sy];
      const T st = static_cast<T>(s);
      for (int64_t i = 0; i < n; ++i) ol[i * so] = yl[i * sy] * (gl[i * sg] - st);
    }
  });
}

}  // namespace

template <typename T>
void softmax(const TensorBase& out, const TensorBase& self, int64_t dim) {
  softmax_impl<T>(out, self, dim, false);
}

template <typename T>
void log_softmax(const TensorBase& out, const TensorBase& self, int64_t dim) {
  softmax_impl<T>(out, self, dim, true);
}

template <typename T>
void softmax_backward_data(const TensorBase& out, const TensorBase& grad_output, const TensorBase& output,
                           int64_t dim) {
  softmax_backward_impl<T>(out, grad_output, output, dim, false);
}

template <typename T>
void log_softmax_backward_data(const TensorBase& out, const TensorBase& grad_output, const TensorBase& output,
                               int64_t dim) {
  softmax_backward_impl<T>(out, grad_output, output, dim, true);
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_softmax;
DG_INSTANTIATE_KERNEL_cpu_log_softmax;
DG_INSTANTIATE_KERNEL_cpu_softmax_backward_data;
DG_INSTANTIATE_KERNEL_cpu_log_softmax_backward_data;
