// Embedding lookups and their gradients (padding_idx, scale_grad_by_freq).
// The meta has checked the indices, so they index unchecked here.
#include <cstdint>
#include <vector>

#include "element_access.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

// Per-index gradient factor: 0 for padding_idx, 1 / (occurrences of the
// index) with scale_grad_by_freq, else 1.
std::vector<double> index_scales(const TensorBase& indices, int64_t rows, int64_t padding_idx, bool scale) {
  const int64_t* ix = indices.data_ptr<int64_t>();
  const int64_t n = indices.numel();
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) idx[k] = ix[detail::offset_of(indices.sizes(), indices.strides(), k)];
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
void embedding(const TensorBase& out, const TensorBase& weight, const TensorBase& indices, int64_t padding_idx,
               bool scale_grad_by_freq, bool sparse) {
  (void)padding_idx;
  (void)scale_grad_by_freq;
  (void)sparse;
  const int64_t* ix = indices.data_ptr<int64_t>();
  const T* w = weight.data_ptr<T>();
  T* o = out.data_ptr<T>();
  const int64_t n = indices.numel(), dcols = weight.size(1);
  if (dcols == 0) return;
  const int64_t sw0 = weight.stride(0), sw1 = weight.stride(1), so = out.stride(-1);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t r = ix[detail::offset_of(indices.sizes(), indices.strides(), k)];
    T* orow = o + detail::offset_of(out.sizes(), out.strides(), k * dcols);
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
  const int64_t n = indices.numel(), dcols = out.size(1);
  if (dcols == 0) return;
  const int64_t so0 = out.stride(0), so1 = out.stride(1), sg = grad.stride(-1);
  for (int64_t r = 0; r < num_weights; ++r)
    for (int64_t j = 0; j < dcols; ++j) o[r * so0 + j * so1] = T(0);
  for (int64_t k = 0; k < n; ++k) {
    if (f[k] == 0.0) continue;
    const int64_t r = ix[detail::offset_of(indices.sizes(), indices.strides(), k)];
    const T* grow = g + detail::offset_of(grad.sizes(), grad.strides(), k * dcols);
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
  const int64_t n = indices.numel(), dcols = grad_weight.size(1);
  if (dcols == 0) return;
  const int64_t sw0 = grad_weight.stride(0), sw1 = grad_weight.stride(1), so = out.stride(-1);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t r = ix[detail::offset_of(indices.sizes(), indices.strides(), k)];
    T* orow = o + detail::offset_of(out.sizes(), out.strides(), k * dcols);
    const T s = static_cast<T>(f[k]);
    for (int64_t j = 0; j < dcols; ++j) orow[j * so] = w[r * sw0 + j * sw1] * s;
  }
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_embedding;
DG_INSTANTIATE_KERNEL_cpu_embedding_backward;
DG_INSTANTIATE_KERNEL_cpu_embedding_backward_adjoint;
