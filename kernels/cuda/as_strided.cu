// CUDA kernels of as_strided's gradient; the counterparts of
// kernels/cpu/as_strided.cpp. A geometry (sizes, strides, storage offset) maps
// each element of a tensor to an index of a storage; values move between
// two geometries through a zeroed scratch storage on the device that covers
// both: summed into it through one geometry (atomically, since elements may
// share a storage index), then read out through the other. Correct for any
// strides, overlapping ones (stride 0, expanded tensors) included.
#include <cstdint>

#include "common/storage_geometry.h"
#include "cuda/index_walk.cuh"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

using storage::Geometry;

// How many elements of geometry g map to each storage index of the scratch
// [lo, lo + n), or an undefined tensor when g cannot overlap or has no
// elements (no division needed). The count tensor must outlive the kernels
// that read it; its memory is freed stream-ordered, so holding it until they
// are queued is enough.
TensorBase overlap_counts(const char* op, const Geometry& g, int64_t lo, int64_t n, const TensorBase& on) {
  if (!storage::may_share(g)) return TensorBase();
  TensorBase c = walk::zeroed_scratch(op, {n}, kInt64, on);
  int64_t* cp = c.data_ptr<int64_t>() + (g.offset - lo);
  walk::for_each<1>(op, on, g.sizes, {DimVector(g.strides)},
                    [=] __device__(const int64_t* off) { walk::atomic_add(cp + off[0], int64_t(1)); });
  return c;
}

// out (geometry `to`, shape to.sizes) = src (shape from.sizes) summed into a
// zeroed storage by the geometry `from`, then read by the geometry `to`.
// divide_src: first divide each src element by how many elements of `from`
// share its storage index. divide_out: divide each read value by how many
// elements of `to` share its storage index. (Both are skipped for
// geometries that cannot overlap: every count would be 1.)
template <typename T>
void scatter_gather(const char* op, const TensorBase& out, const TensorBase& src, const Geometry& from,
                    const Geometry& to, bool divide_src, bool divide_out) {
  if (out.numel() == 0 || to.empty()) return;
  const storage::Range r = storage::storage_range(from, to);
  const int64_t lo = r.lo, n = r.n;
  const TensorBase buf = walk::zeroed_scratch(op, {n}, out.dtype(), out);
  const TensorBase c_src = divide_src ? overlap_counts(op, from, lo, n, out) : TensorBase();
  const TensorBase c_out = divide_out ? overlap_counts(op, to, lo, n, out) : TensorBase();
  // Pointers shifted so that a geometry's own offset indexes the scratch
  // (and its counts) directly; null counts: no division.
  const int64_t from_base = from.offset - lo, to_base = to.offset - lo;
  T* b = buf.data_ptr<T>();
  const int64_t* cs = c_src.defined() ? c_src.data_ptr<int64_t>() : nullptr;
  const int64_t* co = c_out.defined() ? c_out.data_ptr<int64_t>() : nullptr;
  const T* s = src.data_ptr<T>();
  T* o = out.data_ptr<T>();
  walk::for_each<2>(op, out, from.sizes, {DimVector(src.strides()), DimVector(from.strides)},
                    [=] __device__(const int64_t* off) {
                      const int64_t k = from_base + off[1];
                      walk::atomic_add(b + k, cs ? s[off[0]] / static_cast<T>(cs[k]) : s[off[0]]);
                    });
  walk::for_each<2>(op, out, to.sizes, {DimVector(out.strides()), DimVector(to.strides)},
                    [=] __device__(const int64_t* off) {
                      const int64_t k = to_base + off[1];
                      o[off[0]] = co ? b[k] / static_cast<T>(co[k]) : b[k];
                    });
}

}  // namespace

// grad (of the view (size, stride, storage_offset)) summed into the storage,
// read back by the input's geometry; an input element that shares its storage
// index with others gets an equal share (PyTorch's rule for expanded inputs).
template <typename T>
void as_strided_backward(const TensorBase& out, const TensorBase& grad, IntArrayRef input_sizes,
                         IntArrayRef input_strides, int64_t input_storage_offset, IntArrayRef size, IntArrayRef stride,
                         int64_t storage_offset) {
  scatter_gather<T>("as_strided_backward", out, grad, Geometry{size, stride, storage_offset},
                    Geometry{input_sizes, input_strides, input_storage_offset}, /*divide_src=*/false,
                    /*divide_out=*/true);
}

// The transpose of as_strided_backward: grad (of the input's shape), shared
// out equally over input elements that alias one storage index, summed into
// the storage and read by the view's geometry.
template <typename T>
void as_strided_backward_adjoint(const TensorBase& out, const TensorBase& grad, IntArrayRef input_sizes,
                                 IntArrayRef input_strides, int64_t input_storage_offset, IntArrayRef size,
                                 IntArrayRef stride, int64_t storage_offset) {
  scatter_gather<T>("as_strided_backward_adjoint", out, grad,
                    Geometry{input_sizes, input_strides, input_storage_offset}, Geometry{size, stride, storage_offset},
                    /*divide_src=*/true, /*divide_out=*/false);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_as_strided_backward;
DG_INSTANTIATE_KERNEL_cuda_as_strided_backward_adjoint;
