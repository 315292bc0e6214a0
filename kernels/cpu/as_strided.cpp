// Kernels of as_strided's gradient. A geometry (sizes, strides, storage
// offset) maps each element of a tensor to an index of a storage; these
// kernels move values between two geometries through a scratch storage that
// covers both, so they are correct for any strides, overlapping ones (stride
// 0, expanded tensors) included.
#include <cstdint>
#include <vector>

#include "common/storage_geometry.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

// Calls f(o1, o2) for every index of `sizes` in row-major order, where o1 and
// o2 are that index's linear offsets under the strides s1 and s2.
template <typename F>
void for_each_offset(IntArrayRef sizes, IntArrayRef s1, IntArrayRef s2, F&& f) {
  const int64_t nd = static_cast<int64_t>(sizes.size());
  int64_t n = 1;
  for (int64_t s : sizes) n *= s;
  if (n == 0) return;
  DimVector idx(static_cast<size_t>(nd), 0);
  int64_t o1 = 0, o2 = 0;
  for (int64_t k = 0; k < n; ++k) {
    f(o1, o2);
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++idx[d] < sizes[d]) {
        o1 += s1[d];
        o2 += s2[d];
        break;
      }
      o1 -= (sizes[d] - 1) * s1[d];
      o2 -= (sizes[d] - 1) * s2[d];
      idx[d] = 0;
    }
  }
}

using storage::Geometry;

// How many elements of geometry g map to each storage index of [lo, lo + n).
std::vector<int64_t> counts(const Geometry& g, int64_t lo, int64_t n) {
  std::vector<int64_t> c(static_cast<size_t>(n), 0);
  for_each_offset(g.sizes, g.strides, g.strides, [&](int64_t o, int64_t) { ++c[g.offset + o - lo]; });
  return c;
}

// out (geometry `to`, shape to.sizes) = src (shape from.sizes) summed into a
// zeroed storage by the geometry `from`, then read by the geometry `to`.
// divide_src: first divide each src element by how many elements of `from`
// share its storage index. divide_out: divide each read value by how many
// elements of `to` share its storage index.
template <typename T>
void scatter_gather(const TensorBase& out, const TensorBase& src, const Geometry& from, const Geometry& to,
                    bool divide_src,
                    bool divide_out) {  // divide_* are skipped for geometries that cannot overlap
  T* o = out.data_ptr<T>();
  if (out.numel() == 0 || to.empty()) return;
  const storage::Range r = storage::storage_range(from, to);
  const int64_t lo = r.lo, n = r.n;
  std::vector<T> buf(static_cast<size_t>(n), T(0));
  const T* s = src.data_ptr<T>();
  divide_src = divide_src && storage::may_share(from);
  divide_out = divide_out && storage::may_share(to);
  if (divide_src) {
    const std::vector<int64_t> c = counts(from, lo, n);
    for_each_offset(from.sizes, src.strides(), from.strides, [&](int64_t os, int64_t og) {
      const int64_t k = from.offset + og - lo;
      buf[k] += s[os] / static_cast<T>(c[k]);
    });
  } else {
    for_each_offset(from.sizes, src.strides(), from.strides,
                    [&](int64_t os, int64_t og) { buf[from.offset + og - lo] += s[os]; });
  }
  if (divide_out) {
    const std::vector<int64_t> c = counts(to, lo, n);
    for_each_offset(to.sizes, out.strides(), to.strides, [&](int64_t oo, int64_t og) {
      const int64_t k = to.offset + og - lo;
      o[oo] = buf[k] / static_cast<T>(c[k]);
    });
  } else {
    for_each_offset(to.sizes, out.strides(), to.strides,
                    [&](int64_t oo, int64_t og) { o[oo] = buf[to.offset + og - lo]; });
  }
}

}  // namespace

// grad (of the view (size, stride, storage_offset)) summed into the storage,
// read back by the input's geometry; an input element that shares its storage
// index with others gets an equal share (PyTorch's rule for expanded inputs).
template <typename T>
void as_strided_backward(const TensorBase& out, const TensorBase& grad, IntArrayRef input_sizes,
                         IntArrayRef input_strides, int64_t input_storage_offset, IntArrayRef size, IntArrayRef stride,
                         int64_t storage_offset) {
  scatter_gather<T>(out, grad, Geometry{size, stride, storage_offset},
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
  scatter_gather<T>(out, grad, Geometry{input_sizes, input_strides, input_storage_offset},
                    Geometry{size, stride, storage_offset}, /*divide_src=*/true, /*divide_out=*/false);
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_as_strided_backward;
DG_INSTANTIATE_KERNEL_cpu_as_strided_backward_adjoint;
