// CUDA embedding lookups and their gradient: embedding, embedding_backward,
// embedding_backward_adjoint; the counterparts of those in
// kernels/cpu/embedding.cpp. One thread per (index, column) element; the backward
// adds rows atomically, since indices repeat. The metas have checked every
// index (on the host), so the kernels index unchecked.
#include <cstdint>

#include "common/determinism.h"
#include "cuda/index_walk.cuh"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

// s with `last` appended: the walk over indices.sizes() + [D] adds the
// column dim to every operand.
DimVector append(IntArrayRef s, int64_t last) {
  DimVector v(s);
  v.push_back(last);
  return v;
}

// Per-index gradient factor, as the CPU's index_scales: 0 for padding_idx,
// 1 / (occurrences of the index) with scale_grad_by_freq, else 1.
struct RowScale {
  const int64_t* counts;  // per row; null without scale_grad_by_freq
  int64_t padding_idx;
  __device__ double operator()(int64_t r) const {
    return r == padding_idx ? 0.0 : counts ? 1.0 / static_cast<double>(counts[r]) : 1.0;
  }
};

// The occurrences of each row among the indices (a first pass, atomic), or an
// undefined tensor when not scaling. Kept alive by the caller until the
// kernels reading it are queued (its memory is freed stream-ordered).
TensorBase row_counts(const char* op, const TensorBase& indices, int64_t rows, bool scale) {
  if (!scale) return TensorBase();
  TensorBase c = walk::zeroed_scratch(op, {rows}, kInt64, indices);
  int64_t* cp = c.data_ptr<int64_t>();
  const int64_t* ix = indices.data_ptr<int64_t>();
  walk::for_each<1>(op, indices, indices.sizes(), {DimVector(indices.strides())},
                    [=] __device__(const int64_t* off) { walk::atomic_add(cp + ix[off[0]], int64_t(1)); });
  return c;
}

RowScale row_scale(const TensorBase& counts, int64_t padding_idx) {
  return RowScale{counts.defined() ? counts.data_ptr<int64_t>() : nullptr, padding_idx};
}

// out[k, j] = weight[indices[k], j] (times the row's factor when scaled).
// off: out's offset, the index's offset, weight's column offset.
template <typename T>
struct Lookup {
  const int64_t* ix;
  const T* w;
  T* o;
  int64_t sw0;
  bool scaled;
  RowScale scale;
  __device__ void operator()(const int64_t* off) const {
    const int64_t r = ix[off[1]];
    const T v = w[r * sw0 + off[2]];
    o[off[0]] = scaled ? v * static_cast<T>(scale(r)) : v;
  }
};

// The walk over out = indices.sizes() + [D] of a lookup from `weight`.
template <typename T>
void lookup(const char* op, const TensorBase& out, const TensorBase& weight, const TensorBase& indices, bool scaled,
            RowScale scale) {
  const size_t nd = static_cast<size_t>(indices.dim());
  walk::for_each<3>(
      op, out, out.sizes(),
      {DimVector(out.strides()), append(indices.strides(), 0), walk::along(nd + 1, nd, weight.stride(1))},
      Lookup<T>{indices.data_ptr<int64_t>(), weight.data_ptr<T>(), out.data_ptr<T>(), weight.stride(0), scaled, scale});
}

}  // namespace

template <typename T>
void embedding(const TensorBase& out, const TensorBase& weight, const TensorBase& indices, int64_t padding_idx,
               bool scale_grad_by_freq, bool sparse) {
  (void)scale_grad_by_freq;
  (void)sparse;
  lookup<T>("embedding", out, weight, indices, /*scaled=*/false, RowScale{nullptr, padding_idx});
}

// Under dg::use_deterministic_algorithms(true), for contiguous indices and
// grad: one thread per column of out (zeroed by the caller), adding the rows'
// gradients in index order as the CPU does, with no atomics. For determinism,
// not speed: out.size(1) threads, each over every index.
template <typename T>
void embedding_backward_deterministic(const char* op, const TensorBase& out, const TensorBase& grad,
                                      const TensorBase& indices, RowScale scale) {
  const int64_t n = indices.numel(), dcols = out.size(1), so0 = out.stride(0);
  const int64_t* ix = indices.data_ptr<int64_t>();
  const T* g = grad.data_ptr<T>();
  T* o = out.data_ptr<T>();
  walk::for_each<2>(op, out, IntArrayRef({dcols}), {walk::along(1, 0, out.stride(1)), walk::along(1, 0, 1)},
                    [=] __device__(const int64_t* off) {
                      for (int64_t k = 0; k < n; ++k) {
                        const int64_t r = ix[k];
                        const double f = scale(r);
                        if (f == 0.0) continue;
                        T* dst = o + r * so0 + off[0];
                        *dst = *dst + g[k * dcols + off[1]] * static_cast<T>(f);
                      }
                    });
}

template <typename T>
void embedding_backward(const TensorBase& out, const TensorBase& grad, const TensorBase& indices, int64_t num_weights,
                        int64_t padding_idx, bool scale_grad_by_freq, bool sparse) {
  (void)sparse;
  const char* op = "embedding_backward";
  const bool deterministic = are_deterministic_algorithms_enabled() && indices.is_contiguous() && grad.is_contiguous();
  if (!deterministic) kernels::alert_atomic_accumulation<T>("embedding_backward_cuda_kernel");
  zero_<T>(out);
  if (out.numel() == 0) return;
  const TensorBase counts = row_counts(op, indices, num_weights, scale_grad_by_freq);
  const RowScale scale = row_scale(counts, padding_idx);
  if (deterministic) {
    embedding_backward_deterministic<T>(op, out, grad, indices, scale);
    return;
  }
  const int64_t* ix = indices.data_ptr<int64_t>();
  const T* g = grad.data_ptr<T>();
  T* o = out.data_ptr<T>();
  const int64_t so0 = out.stride(0);
  // Over grad's shape indices.sizes() + [D]: grad, the index, out's column.
  const size_t nd = static_cast<size_t>(indices.dim());
  walk::for_each<3>(op, out, grad.sizes(),
                    {DimVector(grad.strides()), append(indices.strides(), 0), walk::along(nd + 1, nd, out.stride(1))},
                    [=] __device__(const int64_t* off) {
                      const int64_t r = ix[off[1]];
                      const double f = scale(r);
                      if (f == 0.0) return;
                      walk::atomic_add(o + r * so0 + off[2], g[off[0]] * static_cast<T>(f));
                    });
}

template <typename T>
void embedding_backward_adjoint(const TensorBase& out, const TensorBase& grad_weight, const TensorBase& indices,
                                int64_t padding_idx, bool scale_grad_by_freq) {
  const char* op = "embedding_backward_adjoint";
  if (out.numel() == 0) return;
  const TensorBase counts = row_counts(op, indices, grad_weight.size(0), scale_grad_by_freq);
  lookup<T>(op, out, grad_weight, indices, /*scaled=*/true, row_scale(counts, padding_idx));
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_embedding;
DG_INSTANTIATE_KERNEL_cuda_embedding_backward;
DG_INSTANTIATE_KERNEL_cuda_embedding_backward_adjoint;
