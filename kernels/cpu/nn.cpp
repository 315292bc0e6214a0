// Kernels of the neural-network functions: softmax / log_softmax and their
// backward helpers (one pass per line along `dim`, any strides), the class
// pick of nll_loss, embedding lookups, log_sigmoid. The metas have checked
// the class targets and embedding indices, so they index unchecked here.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../common/pointwise_math.h"
#include "kernel_decls.h"
#include "loops.h"

namespace dg::cpu {

namespace {

// The lines of a tensor shape along one dim: every index combination of the
// other dims is one line of `len` elements. Element strides per operand.
template <size_t N>
struct Lines {
  DimVector outer;                       // sizes without the line dim
  std::array<DimVector, N> outer_stride;
  std::array<int64_t, N> step{};         // stride along the line
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

// Element offset of the k-th element (row-major logical order) of t.
inline int64_t offset_of(const TensorBase& t, int64_t k, int64_t ndim) {
  int64_t off = 0;
  for (int64_t d = ndim; d-- > 0;) {
    const int64_t s = t.size(d);
    off += (k % s) * t.stride(d);
    k /= s;
  }
  return off;
}

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

// Offset, in a [N, C, d...] tensor, of element (n, c, d...) where k is the
// row-major index of (n, d...) in the [N, d...] target shape.
inline int64_t class_offset(const TensorBase& t, int64_t k, int64_t c) {
  int64_t off = c * t.stride(1);
  for (int64_t d = t.dim(); d-- > 0;) {
    if (d == 1) continue;
    const int64_t s = t.size(d);
    off += (k % s) * t.stride(d);
    k /= s;
  }
  return off;
}

// Per-index gradient factor: 0 for padding_idx, 1 / (occurrences of the
// index) with scale_grad_by_freq, else 1.
std::vector<double> index_scales(const TensorBase& indices, int64_t rows, int64_t padding_idx, bool scale) {
  const int64_t* ix = indices.data_ptr<int64_t>();
  const int64_t nd = indices.dim(), n = indices.numel();
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) idx[k] = ix[offset_of(indices, k, nd)];
  std::vector<int64_t> counts;
  if (scale) {
    counts.assign(static_cast<size_t>(rows), 0);
    for (int64_t r : idx) ++counts[r];
  }
  std::vector<double> f(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const int64_t r = idx[k];
    f[k] = r == padding_idx ? 0.0 : scale ? 1.0 / static_cast<double>(counts[r]) : 1.0;
  }
  return f;
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
void softmax_backward_data(const TensorBase& out, const TensorBase& grad_output, const TensorBase& output, int64_t dim) {
  softmax_backward_impl<T>(out, grad_output, output, dim, false);
}

template <typename T>
void log_softmax_backward_data(const TensorBase& out, const TensorBase& grad_output, const TensorBase& output, int64_t dim) {
  softmax_backward_impl<T>(out, grad_output, output, dim, true);
}

template <typename T>
void nll_pick(const TensorBase& out, const TensorBase& self, const TensorBase& target, int64_t ignore_index) {
  const int64_t* t = target.data_ptr<int64_t>();
  const T* x = self.data_ptr<T>();
  T* o = out.data_ptr<T>();
  const int64_t nd = target.dim(), n = target.numel();
  for (int64_t k = 0; k < n; ++k) {
    const int64_t c = t[offset_of(target, k, nd)];
    o[offset_of(out, k, nd)] = c == ignore_index ? T(0) : x[class_offset(self, k, c)];
  }
}

template <typename T>
void nll_pick_backward(const TensorBase& out, const TensorBase& grad, const TensorBase& target, IntArrayRef self_sizes,
                       int64_t ignore_index) {
  (void)self_sizes;  // out already has them
  T* o = out.data_ptr<T>();
  const int64_t on = out.numel();
  for (int64_t k = 0; k < on; ++k) o[offset_of(out, k, out.dim())] = T(0);
  const int64_t* t = target.data_ptr<int64_t>();
  const T* g = grad.data_ptr<T>();
  const int64_t nd = target.dim(), n = target.numel();
  for (int64_t k = 0; k < n; ++k) {
    const int64_t c = t[offset_of(target, k, nd)];
    if (c != ignore_index) o[class_offset(out, k, c)] = g[offset_of(grad, k, nd)];
  }
}

template <typename T>
void embedding(const TensorBase& out, const TensorBase& weight, const TensorBase& indices, int64_t padding_idx,
               bool scale_grad_by_freq, bool sparse) {
  (void)padding_idx;
  (void)scale_grad_by_freq;
  (void)sparse;
  const int64_t* ix = indices.data_ptr<int64_t>();
  const T* w = weight.data_ptr<T>();
  T* o = out.data_ptr<T>();
  const int64_t nd = indices.dim(), n = indices.numel(), dcols = weight.size(1);
  if (dcols == 0) return;
  const int64_t sw0 = weight.stride(0), sw1 = weight.stride(1), so = out.stride(-1);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t r = ix[offset_of(indices, k, nd)];
    T* orow = o + offset_of(out, k * dcols, out.dim());
    for (int64_t j = 0; j < dcols; ++j) orow[j * so] = w[r * sw0 + j * sw1];
  }
}

template <typename T>
void embedding_backward(const TensorBase& out, const TensorBase& grad, const TensorBase& indices, int64_t num_weights,
                        int64_t padding_idx, bool scale_grad_by_freq, bool sparse) {
  (void)sparse;
  const std::vector<double> f = index_scales(indices, num_weights, padding_idx, scale_grad_by_freq);
  const int64_t* ix = indices.data_ptr<int64_t>();
  const T* g = grad.data_ptr<T>();
  T* o = out.data_ptr<T>();
  const int64_t nd = indices.dim(), n = indices.numel(), dcols = out.size(1);
  if (dcols == 0) return;
  const int64_t so0 = out.stride(0), so1 = out.stride(1), sg = grad.stride(-1);
  for (int64_t r = 0; r < num_weights; ++r)
    for (int64_t j = 0; j < dcols; ++j) o[r * so0 + j * so1] = T(0);
  for (int64_t k = 0; k < n; ++k) {
    if (f[k] == 0.0) continue;
    const int64_t r = ix[offset_of(indices, k, nd)];
    const T* grow = g + offset_of(grad, k * dcols, grad.dim());
    const T s = static_cast<T>(f[k]);
    for (int64_t j = 0; j < dcols; ++j) o[r * so0 + j * so1] += grow[j * sg] * s;
  }
}

template <typename T>
void embedding_backward_adjoint(const TensorBase& out, const TensorBase& grad_weight, const TensorBase& indices,
                                int64_t padding_idx, bool scale_grad_by_freq) {
  const std::vector<double> f = index_scales(indices, grad_weight.size(0), padding_idx, scale_grad_by_freq);
  const int64_t* ix = indices.data_ptr<int64_t>();
  const T* w = grad_weight.data_ptr<T>();
  T* o = out.data_ptr<T>();
  const int64_t nd = indices.dim(), n = indices.numel(), dcols = grad_weight.size(1);
  if (dcols == 0) return;
  const int64_t sw0 = grad_weight.stride(0), sw1 = grad_weight.stride(1), so = out.stride(-1);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t r = ix[offset_of(indices, k, nd)];
    T* orow = o + offset_of(out, k * dcols, out.dim());
    const T s = static_cast<T>(f[k]);
    for (int64_t j = 0; j < dcols; ++j) orow[j * so] = w[r * sw0 + j * sw1] * s;
  }
}

template <typename T>
void log_sigmoid(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, [](T x) { return pwmath::log_sigmoid(x); });
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_softmax
DG_INSTANTIATE_KERNEL_cpu_log_softmax
DG_INSTANTIATE_KERNEL_cpu_softmax_backward_data
DG_INSTANTIATE_KERNEL_cpu_log_softmax_backward_data
DG_INSTANTIATE_KERNEL_cpu_nll_pick
DG_INSTANTIATE_KERNEL_cpu_nll_pick_backward
DG_INSTANTIATE_KERNEL_cpu_embedding
DG_INSTANTIATE_KERNEL_cpu_embedding_backward
DG_INSTANTIATE_KERNEL_cpu_embedding_backward_adjoint
DG_INSTANTIATE_KERNEL_cpu_log_sigmoid
