// Indexing and rearranging kernels: index_select, gather, scatter (with
// reduce), scatter_add,
// index_add, masked_fill, flip, tril/triu. The metas have checked every index
// value already, so the loops here index without further checks. In-place
// variants call these with out == self.
#include <array>
#include <cstdint>
#include <vector>

#include "common/index_geometry.h"
#include "cpu/index_walk.h"
#include "cpu/loops.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

DimVector strides_or_empty(const TensorBase& t) { return DimVector(t.strides()); }

using ixgeom::stride_or_zero;
using ixgeom::wrap;

// out = self unless they are one tensor (in-place), before accumulating into out.
template <typename T>
void copy_unless_same(const TensorBase& out, const TensorBase& self) {
  if (out.is_same(self)) return;
  unary_kernel<T>(out, self, [](T x) { return x; });
}

// Offsets of every slice position: all dims but `d` of t (empty for 0-dim t).
std::vector<int64_t> slice_offsets(const TensorBase& t, int64_t d) {
  if (t.dim() == 0) return {0};
  std::vector<bool> pick(static_cast<size_t>(t.dim()), false);
  pick[d] = true;
  const ix::Split s = ix::split_dims(t, pick);
  return ix::offsets(s.kept_sizes, s.kept_strides);
}

// The gather/scatter walk over the index's shape: f(other_off, target_off)
// for every index element, where `other` (out for gather, src for scatter)
// shares the index's position and `target` (self for gather, out for
// scatter) takes the index's value as its position along dim.
template <typename F>
void walk_index(const TensorBase& index, const TensorBase& other, const TensorBase& target, int64_t dim, F&& f) {
  const int64_t d = wrap(dim, target.dim());
  const int64_t* ip = static_cast<const int64_t*>(index.data_ptr());
  const int64_t s_d = stride_or_zero(target, d);
  ix::walk<3>(index.sizes(),
              {strides_or_empty(index), strides_or_empty(other), ixgeom::strides_except(target, d, index.dim())},
              [&](const std::array<int64_t, 3>& o, const DimVector&) { f(o[1], o[2] + ip[o[0]] * s_d); });
}

}  // namespace

template <typename T>
void index_select(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index) {
  if (out.numel() == 0) return;
  const int64_t d = wrap(dim, self.dim());
  const T* in = static_cast<const T*>(self.data_ptr());
  T* o = static_cast<T*>(out.data_ptr());
  const int64_t s_in = stride_or_zero(self, d), s_out = stride_or_zero(out, d);
  if (self.dim() <= 1 && index.is_contiguous()) {
    // x[idx] of a vector: one element per index, read straight from index.
    const int64_t* ip = static_cast<const int64_t*>(index.data_ptr());
    for (int64_t j = 0, n = index.numel(); j < n; ++j) o[j * s_out] = in[ip[j] * s_in];
    return;
  }
  const std::vector<int64_t> idx = ix::index_values(index);
  const std::vector<int64_t> in_off = slice_offsets(self, d), out_off = slice_offsets(out, d);
  for (size_t j = 0; j < idx.size(); ++j) {
    const T* src = in + idx[j] * s_in;
    T* dst = o + static_cast<int64_t>(j) * s_out;
    for (size_t k = 0; k < in_off.size(); ++k) dst[out_off[k]] = src[in_off[k]];
  }
}

template <typename T>
void gather(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index, bool sparse_grad) {
  (void)sparse_grad;
  const T* in = static_cast<const T*>(self.data_ptr());
  T* o = static_cast<T*>(out.data_ptr());
  walk_index(index, out, self, dim, [&](int64_t oo, int64_t so) { o[oo] = in[so]; });
}

template <typename T>
void scatter_add(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
                 const TensorBase& src) {
  copy_unless_same<T>(out, self);
  const T* sp = static_cast<const T*>(src.data_ptr());
  T* o = static_cast<T*>(out.data_ptr());
  walk_index(index, src, out, dim, [&](int64_t so, int64_t oo) { o[oo] += sp[so]; });
}

template <typename T>
void scatter(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
             const TensorBase& src) {
  copy_unless_same<T>(out, self);
  const T* sp = static_cast<const T*>(src.data_ptr());
  T* o = static_cast<T*>(out.data_ptr());
  walk_index(index, src, out, dim, [&](int64_t so, int64_t oo) { o[oo] = sp[so]; });
}

template <typename T>
void scatter_value(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
                   const Scalar& value) {
  copy_unless_same<T>(out, self);
  const T v = value.to<T>();
  T* o = static_cast<T*>(out.data_ptr());
  walk_index(index, index, out, dim, [&](int64_t, int64_t oo) { o[oo] = v; });
}

// reduce is 'add' or 'multiply' (the meta has checked it).
template <typename T>
void scatter_src_reduce(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
                        const TensorBase& src, std::string_view reduce) {
  copy_unless_same<T>(out, self);
  const T* sp = static_cast<const T*>(src.data_ptr());
  T* o = static_cast<T*>(out.data_ptr());
  if (reduce == "add") walk_index(index, src, out, dim, [&](int64_t so, int64_t oo) { o[oo] += sp[so]; });
  else walk_index(index, src, out, dim, [&](int64_t so, int64_t oo) { o[oo] *= sp[so]; });
}

template <typename T>
void scatter_value_reduce(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
                          const Scalar& value, std::string_view reduce) {
  copy_unless_same<T>(out, self);
  const T v = value.to<T>();
  T* o = static_cast<T*>(out.data_ptr());
  if (reduce == "add") walk_index(index, index, out, dim, [&](int64_t, int64_t oo) { o[oo] += v; });
  else walk_index(index, index, out, dim, [&](int64_t, int64_t oo) { o[oo] *= v; });
}

namespace {
// Applies update(dst, src) to out's slice at index[j] and source's slice j
// along dim, in index order (a repeated index sees every update, the last
// one last).
template <typename T, typename Update>
void index_update(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
                  const TensorBase& source, Update update) {
  copy_unless_same<T>(out, self);
  const int64_t d = wrap(dim, self.dim());
  T* o = static_cast<T*>(out.data_ptr());
  const T* sp = static_cast<const T*>(source.data_ptr());
  if (self.dim() == 0) {
    // One index (0) and one source element, whatever source's shape.
    if (index.numel() > 0) update(o[0], sp[0]);
    return;
  }
  const int64_t s_out = out.stride(d), s_src = source.stride(d);
  if (out.dim() == 1 && index.is_contiguous()) {
    // x[idx] = v of a vector: one element per index, read straight from index.
    const int64_t* ip = static_cast<const int64_t*>(index.data_ptr());
    for (int64_t j = 0, n = index.numel(); j < n; ++j) update(o[ip[j] * s_out], sp[j * s_src]);
    return;
  }
  const std::vector<int64_t> idx = ix::index_values(index);
  const std::vector<int64_t> out_off = slice_offsets(out, d), src_off = slice_offsets(source, d);
  for (size_t j = 0; j < idx.size(); ++j) {
    T* dst = o + idx[j] * s_out;
    const T* src = sp + static_cast<int64_t>(j) * s_src;
    for (size_t k = 0; k < out_off.size(); ++k) update(dst[out_off[k]], src[src_off[k]]);
  }
}
}  // namespace

template <typename T>
void index_add(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
               const TensorBase& source, const Scalar& alpha) {
  const T a = alpha.to<T>();
  index_update<T>(out, self, dim, index, source, [a](T& dst, T src) { dst += a * src; });
}

template <typename T>
void index_copy(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
                const TensorBase& source) {
  index_update<T>(out, self, dim, index, source, [](T& dst, T src) { dst = src; });
}

template <typename T>
void masked_fill(const TensorBase& out, const TensorBase& self, const TensorBase& mask, const Scalar& value) {
  const T v = value.to<T>();
  elementwise<T, T, bool>(
      out, [v](T x, bool m) { return m ? v : x; }, self, mask);
}

template <typename T>
void masked_fill_tensor(const TensorBase& out, const TensorBase& self, const TensorBase& mask,
                        const TensorBase& value) {
  const T v = value.item().to<T>();
  elementwise<T, T, bool>(
      out, [v](T x, bool m) { return m ? v : x; }, self, mask);
}

template <typename T>
void flip(const TensorBase& out, const TensorBase& self, IntArrayRef dims) {
  if (out.numel() == 0) return;
  // out is fresh and contiguous: written in the walk's order.
  const ixgeom::FlippedRead r = ixgeom::flipped_read(self, dims);
  const T* in = static_cast<const T*>(self.data_ptr()) + r.start;
  T* o = static_cast<T*>(out.data_ptr());
  int64_t k = 0;
  ix::walk<1>(self.sizes(), {r.strides},
              [&](const std::array<int64_t, 1>& off, const DimVector&) { o[k++] = in[off[0]]; });
}

namespace {
template <typename T, bool Lower>
void triangle(const TensorBase& out, const TensorBase& self, int64_t diagonal) {
  if (out.numel() == 0) return;
  const int64_t nd = self.dim();
  const T* in = static_cast<const T*>(self.data_ptr());
  T* o = static_cast<T*>(out.data_ptr());
  ix::walk<2>(self.sizes(), {DimVector(self.strides()), DimVector(out.strides())},
              [&](const std::array<int64_t, 2>& off, const DimVector& idx) {
                const int64_t diff = idx[nd - 1] - idx[nd - 2];
                const bool keep = Lower ? diff <= diagonal : diff >= diagonal;
                o[off[1]] = keep ? in[off[0]] : T(0);
              });
}
}  // namespace

template <typename T>
void tril(const TensorBase& out, const TensorBase& self, int64_t diagonal) {
  triangle<T, true>(out, self, diagonal);
}

template <typename T>
void triu(const TensorBase& out, const TensorBase& self, int64_t diagonal) {
  triangle<T, false>(out, self, diagonal);
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_index_select;
DG_INSTANTIATE_KERNEL_cpu_gather;
DG_INSTANTIATE_KERNEL_cpu_scatter_add;
DG_INSTANTIATE_KERNEL_cpu_scatter;
DG_INSTANTIATE_KERNEL_cpu_scatter_value;
DG_INSTANTIATE_KERNEL_cpu_scatter_src_reduce;
DG_INSTANTIATE_KERNEL_cpu_scatter_value_reduce;
DG_INSTANTIATE_KERNEL_cpu_index_add;
DG_INSTANTIATE_KERNEL_cpu_index_copy;
DG_INSTANTIATE_KERNEL_cpu_masked_fill;
DG_INSTANTIATE_KERNEL_cpu_masked_fill_tensor;
DG_INSTANTIATE_KERNEL_cpu_flip;
DG_INSTANTIATE_KERNEL_cpu_tril;
DG_INSTANTIATE_KERNEL_cpu_triu;
