// CUDA indexing and rearranging kernels: index_select, gather, scatter (with
// reduce), scatter_add,
// index_add, masked_fill, flip, tril/triu; the counterparts of
// kernels/cpu/index.cpp. The metas have checked every index value already
// (on the host), so the kernels index without further checks. Each thread
// handles one index of a walked shape (index_walk.cuh); where indices may
// repeat (scatter_add, index_add) the adds are atomic. In-place variants
// call these with out == self.
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "common/determinism.h"
#include "common/index_geometry.h"
#include "cuda/index_walk.cuh"
#include "cuda/loops.cuh"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

using ixgeom::stride_or_zero;
using ixgeom::wrap;

// One gather/scatter element: f(other_off, target_off), the target's offset
// with the index's value as its position along the op's dim.
template <typename F>
struct AtIndex {
  const int64_t* ip;
  int64_t s_d;
  F f;
  __device__ void operator()(const int64_t* off) const { f(off[1], off[2] + ip[off[0]] * s_d); }
};

// The gather/scatter walk over the index's shape: `other` (out for gather,
// src for scatter) shares the index's position, `target` (self for gather,
// out for scatter) takes the index's value along dim.
template <typename F>
void walk_index(const char* op, const TensorBase& out, const TensorBase& index, const TensorBase& other,
                const TensorBase& target, int64_t dim, const F& f) {
  const int64_t d = wrap(dim, target.dim());
  walk::for_each<3>(
      op, out, index.sizes(),
      {DimVector(index.strides()), DimVector(other.strides()), ixgeom::strides_except(target, d, index.dim())},
      AtIndex<F>{index.data_ptr<int64_t>(), stride_or_zero(target, d), f});
}

template <typename T>
struct Identity {
  __device__ T operator()(T x) const { return x; }
};

// out = self unless they are one tensor (in-place), before accumulating into
// out. Queued on the same stream, so it is done before the adds start.
template <typename T>
void copy_unless_same(const char* op, const TensorBase& out, const TensorBase& self) {
  if (out.is_same(self)) return;
  gpu_unary<T>(op, out, self, Identity<T>{});
}

// *p *= v, atomically: a compare-and-swap loop on the element's bits
// (integers multiply as unsigned, wrapping like PyTorch instead of UB).
template <typename T>
__device__ void atomic_mul(T* p, T v) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "atomic_mul: 4- or 8-byte types only");
  using Bits = std::conditional_t<sizeof(T) == 8, unsigned long long, unsigned int>;
  Bits* a = reinterpret_cast<Bits*>(p);
  Bits old = *a, assumed;
  do {
    assumed = old;
    T cur;
    memcpy(&cur, &assumed, sizeof(T));
    T next;
    if constexpr (std::is_integral_v<T>) next = static_cast<T>(static_cast<Bits>(cur) * static_cast<Bits>(v));
    else next = cur * v;
    Bits nb;
    memcpy(&nb, &next, sizeof(T));
    old = atomicCAS(a, assumed, nb);
  } while (assumed != old);
}

template <typename T>
__device__ T fill_where(T x, bool m, T v) {
  return m ? v : x;
}

template <typename T>
struct MaskedFill {
  T v;
  __device__ T operator()(T x, bool m) const { return fill_where(x, m, v); }
};

// The value read on the device from a 0-dim tensor of dtype S, converted as
// the CPU's value.item().to<T>() converts it.
template <typename T, typename S>
struct MaskedFillFrom {
  __device__ T operator()(T x, bool m, S v) const { return fill_where(x, m, static_cast<T>(v)); }
};

// out = self where column - row of the last two dims passes the test, else
// 0. off: self's offset, out's offset, column - row.
template <typename T, bool Lower>
struct Triangle {
  const T* in;
  T* o;
  int64_t diagonal;
  __device__ void operator()(const int64_t* off) const {
    const bool keep = Lower ? off[2] <= diagonal : off[2] >= diagonal;
    o[off[1]] = keep ? in[off[0]] : T(0);
  }
};

template <typename T, bool Lower>
void triangle(const char* op, const TensorBase& out, const TensorBase& self, int64_t diagonal) {
  if (out.numel() == 0) return;
  // The meta guarantees at least 2 dims; this operand's "offset" is the
  // element's column minus its row.
  const size_t nd = static_cast<size_t>(self.dim());
  DimVector diff(nd, 0);
  diff[nd - 1] = 1;
  diff[nd - 2] = -1;
  walk::for_each<3>(op, out, self.sizes(), {DimVector(self.strides()), DimVector(out.strides()), diff},
                    Triangle<T, Lower>{self.data_ptr<T>(), out.data_ptr<T>(), diagonal});
}

}  // namespace

template <typename T>
void index_select(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index) {
  if (out.numel() == 0) return;
  const int64_t d = wrap(dim, self.dim());
  const int64_t* ip = index.data_ptr<int64_t>();
  const T* in = self.data_ptr<T>();
  T* o = out.data_ptr<T>();
  const int64_t s_in = stride_or_zero(self, d);
  // Over out's shape: out's offset, self's offset without dim d, and the
  // offset of the index that out's position along d reads (index is 1-D or
  // 0-dim; a 0-dim self makes a one-index walk with every offset 0).
  const size_t nd = static_cast<size_t>(out.dim());
  walk::for_each<3>(
      "index_select", out, out.sizes(),
      {DimVector(out.strides()), walk::with_dim(self.strides(), d, 0), walk::along(nd, d, stride_or_zero(index, 0))},
      [=] __device__(const int64_t* off) { o[off[0]] = in[off[1] + ip[off[2]] * s_in]; });
}

template <typename T>
void gather(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index, bool sparse_grad) {
  (void)sparse_grad;
  const T* in = self.data_ptr<T>();
  T* o = out.data_ptr<T>();
  walk_index("gather", out, index, out, self, dim, [=] __device__(int64_t oo, int64_t so) { o[oo] = in[so]; });
}

namespace {
// scatter_add under dg::use_deterministic_algorithms(true): one thread per
// element of out within the index's extent (out's size along dim), adding the
// src values whose index names it in index order along dim (the CPU
// kernel's order), with no atomics. For determinism, not speed: each thread
// reads the index's whole extent along dim.
template <typename T>
void scatter_add_deterministic(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
                               const TensorBase& src) {
  copy_unless_same<T>("scatter_add", out, self);
  if (index.numel() == 0) return;
  const int64_t d = wrap(dim, out.dim());
  const size_t nd = static_cast<size_t>(index.dim());
  DimVector sizes(index.sizes());
  const int64_t n = sizes[static_cast<size_t>(d)];
  sizes[static_cast<size_t>(d)] = out.size(d);
  const int64_t s_index = index.stride(d), s_src = src.stride(d);
  const int64_t* ip = index.data_ptr<int64_t>();
  const T* sp = src.data_ptr<T>();
  T* o = out.data_ptr<T>();
  // Over the index's shape with out's extent along d: out's offset, the
  // index's and src's offsets at position 0 along d, the position along d.
  walk::for_each<4>("scatter_add", out, sizes,
                    {DimVector(out.strides()), walk::with_dim(index.strides(), d, 0),
                     walk::with_dim(src.strides(), d, 0), walk::along(nd, d, 1)},
                    [=] __device__(const int64_t* off) {
                      T acc = o[off[0]];
                      for (int64_t i = 0; i < n; ++i)
                        if (ip[off[1] + i * s_index] == off[3]) acc += sp[off[2] + i * s_src];
                      o[off[0]] = acc;
                    });
}
}  // namespace

template <typename T>
void scatter_add(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
                 const TensorBase& src) {
  // A 0-dim index (or a 0-dim out) takes one add: deterministic either way.
  if (kernels::atomic_sum_order_matters<T>() && index.dim() > 0 && index.dim() == out.dim() &&
      are_deterministic_algorithms_enabled()) {
    scatter_add_deterministic<T>(out, self, dim, index, src);
    return;
  }
  copy_unless_same<T>("scatter_add", out, self);
  const T* sp = src.data_ptr<T>();
  T* o = out.data_ptr<T>();
  walk_index("scatter_add", out, index, src, out, dim,
             [=] __device__(int64_t so, int64_t oo) { walk::atomic_add(o + oo, sp[so]); });
}

template <typename T>
void scatter(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
             const TensorBase& src) {
  copy_unless_same<T>("scatter", out, self);
  const T* sp = src.data_ptr<T>();
  T* o = out.data_ptr<T>();
  walk_index("scatter", out, index, src, out, dim, [=] __device__(int64_t so, int64_t oo) { o[oo] = sp[so]; });
}

template <typename T>
void scatter_value(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
                   const Scalar& value) {
  copy_unless_same<T>("scatter", out, self);
  const T v = value.to<T>();
  T* o = out.data_ptr<T>();
  walk_index("scatter", out, index, index, out, dim, [=] __device__(int64_t, int64_t oo) { o[oo] = v; });
}

// reduce is 'add' or 'multiply' (the meta has checked it); repeated indices
// accumulate atomically.
template <typename T>
void scatter_src_reduce(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
                        const TensorBase& src, std::string_view reduce) {
  kernels::alert_atomic_accumulation<T>("scatter_reduce_cuda_kernel");
  copy_unless_same<T>("scatter", out, self);
  const T* sp = src.data_ptr<T>();
  T* o = out.data_ptr<T>();
  if (reduce == "add")
    walk_index("scatter", out, index, src, out, dim,
               [=] __device__(int64_t so, int64_t oo) { walk::atomic_add(o + oo, sp[so]); });
  else
    walk_index("scatter", out, index, src, out, dim,
               [=] __device__(int64_t so, int64_t oo) { atomic_mul(o + oo, sp[so]); });
}

template <typename T>
void scatter_value_reduce(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
                          const Scalar& value, std::string_view reduce) {
  kernels::alert_atomic_accumulation<T>("scatter_reduce_cuda_kernel");
  copy_unless_same<T>("scatter", out, self);
  const T v = value.to<T>();
  T* o = out.data_ptr<T>();
  if (reduce == "add")
    walk_index("scatter", out, index, index, out, dim,
               [=] __device__(int64_t, int64_t oo) { walk::atomic_add(o + oo, v); });
  else
    walk_index("scatter", out, index, index, out, dim, [=] __device__(int64_t, int64_t oo) { atomic_mul(o + oo, v); });
}

namespace {
// Applies update(pointer into out, source value) for every element of
// source: out's slice at index[j] along dim gets source's slice j. Updates of
// one position run concurrently: index_add passes an atomic add, index_copy a
// plain store (a repeated index keeps one of its slices, as on LibTorch's GPU).
template <typename T, typename Update>
void index_update(const char* op, const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
                  const TensorBase& source, Update update) {
  copy_unless_same<T>(op, out, self);
  const int64_t d = wrap(dim, self.dim());
  const int64_t* ip = index.data_ptr<int64_t>();
  T* o = out.data_ptr<T>();
  const T* sp = source.data_ptr<T>();
  const int64_t s_out = stride_or_zero(out, d);
  // Over source's shape: source, out without dim d, and the index that
  // source's position along d names. A 0-dim self takes one index and one
  // source element whatever source's shape: a one-index walk, offsets 0.
  const IntArrayRef sizes = self.dim() == 0 ? IntArrayRef() : source.sizes();
  walk::for_each<3>(op, out, sizes,
                    {DimVector(source.strides()), walk::with_dim(out.strides(), d, 0),
                     walk::along(sizes.size(), d, stride_or_zero(index, 0))},
                    [=] __device__(const int64_t* off) { update(o + off[1] + ip[off[2]] * s_out, sp[off[0]]); });
}

template <typename T>
struct AtomicAddScaled {
  T a;
  __device__ void operator()(T* dst, T src) const { walk::atomic_add(dst, a * src); }
};
template <typename T>
struct Store {
  __device__ void operator()(T* dst, T src) const { *dst = src; }
};
}  // namespace

namespace {
// index_add under dg::use_deterministic_algorithms(true): one thread per
// element of out, adding the source values whose index names its position
// along dim in index order (the CPU kernel's order), with no atomics. Costs
// out.numel() * index.numel() reads: for determinism, not speed.
template <typename T>
void index_add_deterministic(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
                             const TensorBase& source, T a) {
  copy_unless_same<T>("index_add", out, self);
  if (out.numel() == 0) return;
  const int64_t d = wrap(dim, self.dim());
  const int64_t* ip = index.data_ptr<int64_t>();
  const int64_t s_index = stride_or_zero(index, 0), n = index.numel();
  const int64_t s_src = stride_or_zero(source, d);
  const T* sp = source.data_ptr<T>();
  T* o = out.data_ptr<T>();
  // Over out's shape: out's offset, source's offset without dim d, and the
  // position along d.
  const size_t nd = static_cast<size_t>(out.dim());
  walk::for_each<3>("index_add", out, out.sizes(),
                    {DimVector(out.strides()), walk::with_dim(source.strides(), d, 0), walk::along(nd, d, 1)},
                    [=] __device__(const int64_t* off) {
                      T acc = o[off[0]];
                      for (int64_t j = 0; j < n; ++j)
                        if (ip[j * s_index] == off[2]) acc += a * sp[off[1] + j * s_src];
                      o[off[0]] = acc;
                    });
}
}  // namespace

template <typename T>
void index_add(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
               const TensorBase& source, const Scalar& alpha) {
  // A 0-dim self takes one add: deterministic either way.
  if (kernels::atomic_sum_order_matters<T>() && self.dim() > 0 && are_deterministic_algorithms_enabled()) {
    index_add_deterministic<T>(out, self, dim, index, source, alpha.to<T>());
    return;
  }
  index_update<T>("index_add", out, self, dim, index, source, AtomicAddScaled<T>{alpha.to<T>()});
}

template <typename T>
void index_copy(const TensorBase& out, const TensorBase& self, int64_t dim, const TensorBase& index,
                const TensorBase& source) {
  index_update<T>("index_copy", out, self, dim, index, source, Store<T>{});
}

template <typename T>
void masked_fill(const TensorBase& out, const TensorBase& self, const TensorBase& mask, const Scalar& value) {
  gpu_elementwise<T, T, bool>("masked_fill", out, MaskedFill<T>{value.to<T>()}, self, mask);
}

template <typename T>
void masked_fill_tensor(const TensorBase& out, const TensorBase& self, const TensorBase& mask,
                        const TensorBase& value) {
  // value (0-dim, on out's device) is broadcast like a third input, so it is
  // read on the device rather than copied to the host.
  visit_dtype(value.dtype(), [&]<typename S>() {
    gpu_elementwise<T, T, bool, S>("masked_fill", out, MaskedFillFrom<T, S>{}, self, mask, value);
  });
}

template <typename T>
void flip(const TensorBase& out, const TensorBase& self, IntArrayRef dims) {
  if (out.numel() == 0) return;
  const ixgeom::FlippedRead r = ixgeom::flipped_read(self, dims);
  const T* in = self.data_ptr<T>() + r.start;
  T* o = out.data_ptr<T>();
  walk::for_each<2>("flip", out, self.sizes(), {r.strides, DimVector(out.strides())},
                    [=] __device__(const int64_t* off) { o[off[1]] = in[off[0]]; });
}

template <typename T>
void tril(const TensorBase& out, const TensorBase& self, int64_t diagonal) {
  triangle<T, true>("tril", out, self, diagonal);
}

template <typename T>
void triu(const TensorBase& out, const TensorBase& self, int64_t diagonal) {
  triangle<T, false>("triu", out, self, diagonal);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_index_select;
DG_INSTANTIATE_KERNEL_cuda_gather;
DG_INSTANTIATE_KERNEL_cuda_scatter_add;
DG_INSTANTIATE_KERNEL_cuda_scatter;
DG_INSTANTIATE_KERNEL_cuda_scatter_value;
DG_INSTANTIATE_KERNEL_cuda_scatter_src_reduce;
DG_INSTANTIATE_KERNEL_cuda_scatter_value_reduce;
DG_INSTANTIATE_KERNEL_cuda_index_add;
DG_INSTANTIATE_KERNEL_cuda_index_copy;
DG_INSTANTIATE_KERNEL_cuda_masked_fill;
DG_INSTANTIATE_KERNEL_cuda_masked_fill_tensor;
DG_INSTANTIATE_KERNEL_cuda_flip;
DG_INSTANTIATE_KERNEL_cuda_tril;
DG_INSTANTIATE_KERNEL_cuda_triu;
