#pragma once
// The reduction engine of the CUDA kernels (sum, prod, amax/amin,
// argmax/argmin) and the line helpers shared with the per-line kernels
// (cumsum, the softmax family). The counterpart of kernels/cpu/reduce*.cpp.
//
// A reduction of `self` over a set of dims gives one output element per
// index of the kept dims; that element folds the "slice" of the reduced
// dims. Two loop::Strided geometries locate everything: the kept dims give a
// slice's base offset in self (and, separately, the output's offset in a
// possibly strided out), the reduced dims the offset of the slice's i-th
// element (row-major over the reduced dims, which is what argmax returns).
// The launch adapts to the shape:
//   - short slices, many outputs: one thread per output;
//   - long slices or few outputs: one block per output, partial folds
//     combined by a warp-shuffle / shared-memory tree (but many outputs
//     side by side in memory keep a thread each, which reads coalesced);
//   - very long slices and very few outputs (a full sum): each slice is cut
//     into parts, one block per part writes a partial into scratch, and a
//     second launch combines the parts.
// What is folded is a small reducer functor: identity(), load(value, i),
// combine(a, b) (associative, order-independent) and finish(acc).
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "common/offset_calc.h"
#include "common/reduce_dims.h"
#include "cuda/cuda_common.cuh"

namespace dg::cuda::reduction {

// The accumulator type of sums and products, as on the CPU.
using ::dg::reducing::acc_t;

// ---- host geometry -----------------------------------------------------------

// (sizes, strides) with size-1 dims dropped and row-major-contiguous
// neighbours merged: the same linear index -> offset map, with fewer
// divisions per element (and room for tensors of more than kMaxLoopDims
// dims when most are 1).
inline loop::Strided compact_strided(IntArrayRef sizes, IntArrayRef strides, const char* op) {
  DimVector s, st;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 1) continue;
    if (!s.empty() && st.back() == strides[d] * sizes[d]) {
      s.back() *= sizes[d];
      st.back() = strides[d];
      continue;
    }
    s.push_back(sizes[d]);
    st.push_back(strides[d]);
  }
  return loop::make_strided(s, st, op);
}

// One reduction's geometry, in elements.
struct ReducePlan {
  loop::Strided outer;  // output index -> slice base offset in self
  loop::Strided inner;  // index within the slice -> offset from the base
  loop::Strided out;    // output index -> offset in out (out= may be strided)
  int64_t n_out = 1, n_in = 1;
};

// `reduced` flags self's dims (one flag per dim; empty for a 0-dim self,
// which is one slice of one element). out's elements, row-major, follow the
// kept dims' row-major order with or without keepdim.
inline ReducePlan make_reduce_plan(const TensorBase& out, const TensorBase& self, const std::vector<bool>& reduced,
                                   const char* op) {
  DimVector ks, kst, rs, rst;
  ReducePlan p;
  for (int64_t d = 0; d < self.dim(); ++d) {
    const bool r = reduced[static_cast<size_t>(d)];
    (r ? rs : ks).push_back(self.size(d));
    (r ? rst : kst).push_back(self.stride(d));
    (r ? p.n_in : p.n_out) *= self.size(d);
  }
  p.outer = compact_strided(ks, kst, op);
  p.inner = compact_strided(rs, rst, op);
  p.out = compact_strided(out.sizes(), out.strides(), op);
  return p;
}

// The lines of a shape along one dim, for N operands of that shape: every
// index of the other dims is one line of `len` elements, at outer[k]'s
// offset in operand k and `step[k]` apart. A 0-dim shape is one line of one
// element.
template <size_t N>
struct Lines {
  loop::Strided outer[N];
  int64_t step[N];
  int64_t count = 1, len = 1;
};

template <size_t N>
Lines<N> make_lines(IntArrayRef sizes, int64_t dim, const std::array<const TensorBase*, N>& ts, const char* op) {
  Lines<N> l;
  const size_t nd = sizes.size();
  if (nd > 0) l.len = sizes[static_cast<size_t>(dim)];
  DimVector os;
  for (size_t d = 0; d < nd; ++d) {
    if (static_cast<int64_t>(d) == dim) continue;
    os.push_back(sizes[d]);
    l.count *= sizes[d];
  }
  for (size_t k = 0; k < N; ++k) {
    l.step[k] = nd == 0 ? 0 : ts[k]->stride(dim);
    DimVector st;
    for (size_t d = 0; d < nd; ++d)
      if (static_cast<int64_t>(d) != dim) st.push_back(ts[k]->stride(static_cast<int64_t>(d)));
    l.outer[k] = compact_strided(os, st, op);
  }
  return l;
}

// ---- device helpers -------------------------------------------------------------

// Strided::offset, without the division when the geometry is one dim (the
// common case once compacted).
__device__ inline int64_t offset_at(const loop::Strided& s, int64_t i) {
  return s.ndim == 1 ? i * s.strides[0] : s.offset(i);
}

// Grid-stride loop over n items, one per thread: f(i).
template <typename F>
__global__ void for_each_kernel(int64_t n, F f) {
  const int64_t stride = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

template <typename F>
void launch_for_each(const char* op, const TensorBase& out, int64_t n, const F& f) {
  if (n == 0) return;
  DeviceGuard g(out);
  for_each_kernel<<<grid_for(n), kBlock, 0, stream(g.device())>>>(n, f);
  check_launch(op);
}

template <typename V>
__device__ V shfl_xor(const V& v, int lane_mask) {
  if constexpr (std::is_arithmetic_v<V>) {
    return __shfl_xor_sync(0xffffffffu, v, lane_mask);
  } else {
    return v.shfl_xor(lane_mask);  // a struct shuffles field by field
  }
}

// Combines v over the G threads of a group, every thread of which gets the
// result: G == 32 is a warp; G > 32 is the whole block (blockDim.x == G, a
// multiple of 32). Every thread of the group must call it (and, for G > 32,
// every thread of the block: it synchronises the block).
template <int G, typename V, typename F>
__device__ V group_allreduce(V v, const F& f) {
  for (int s = 16; s > 0; s >>= 1) v = f(v, shfl_xor(v, s));
  if constexpr (G > 32) {
    __shared__ V part[G / 32];
    __syncthreads();  // the previous call's readers are done with part
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
    __syncthreads();
    v = part[0];
    for (int w = 1; w < G / 32; ++w) v = f(v, part[w]);
  }
  return v;
}

// ---- reducers ------------------------------------------------------------------

// The accumulator of sums and products: as on the CPU (acc_t: double for
// float32/float64, int64 for integers), and float for the 16-bit floats, as
// PyTorch has it (their opmath type; the result is rounded to 16 bits anyway).
template <typename T>
using arith_acc_t = std::conditional_t<std::is_same_v<opmath_t<T>, T>, acc_t<T>, opmath_t<T>>;

// Sum (Product false) or product, accumulated in arith_acc_t<T>.
template <typename T, bool Product>
struct ArithReducer {
  using In = T;
  using Acc = arith_acc_t<T>;
  using Out = T;
  __device__ Acc identity() const { return Acc(Product ? 1 : 0); }
  __device__ Acc load(T v, int64_t) const { return static_cast<Acc>(v); }
  __device__ Acc combine(Acc a, Acc b) const { return Product ? a * b : a + b; }
  __device__ Out finish(Acc a) const { return static_cast<Out>(a); }
};
template <typename T>
using SumReducer = ArithReducer<T, false>;
template <typename T>
using ProdReducer = ArithReducer<T, true>;

// A candidate extreme and its index in the slice; i < 0 is "no element yet".
template <typename T>
struct ArgAcc {
  T v;
  int64_t i;
  __device__ ArgAcc shfl_xor(int lane_mask) const {
    return ArgAcc{__shfl_xor_sync(0xffffffffu, v, lane_mask), __shfl_xor_sync(0xffffffffu, i, lane_mask)};
  }
};

// The CPU's rule for replacing the running extreme `best` by a later `v`:
// a NaN is never replaced and replaces anything; otherwise strictly better.
template <typename T, bool Max>
__device__ bool better(T v, T best) {
  if constexpr (std::is_floating_point_v<T>) {
    if (best != best) return false;  // NaN
    if (v != v) return true;
  }
  return Max ? v > best : v < best;
}

// amax/amin (Index false) and argmax/argmin (Index true). The CPU scans in
// index order, so it returns the first NaN if any, else the first of the
// equal extremes. combine() reproduces that for partials in any order by
// treating the lower-index candidate as the earlier one. (amax keeps the
// first of equal values too, which tells -0.0 from 0.0 as the CPU does.)
template <typename T, bool Max, bool Index>
struct ExtremeReducer {
  using In = T;
  using Acc = ArgAcc<T>;
  using Out = std::conditional_t<Index, int64_t, T>;
  __device__ Acc identity() const { return Acc{T(0), -1}; }
  __device__ Acc load(T v, int64_t i) const { return Acc{v, i}; }
  __device__ Acc combine(const Acc& a, const Acc& b) const {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    const bool a_first = a.i < b.i;
    const Acc& first = a_first ? a : b;
    const Acc& later = a_first ? b : a;
    return better<T, Max>(later.v, first.v) ? later : first;
  }
  __device__ Out finish(const Acc& a) const {
    if constexpr (Index) return a.i;
    else return a.v;
  }
};

// ---- sources, sinks and kernels ---------------------------------------------------

// Slices of the input tensor: slot o's i-th element, loaded into an Acc.
template <typename R>
struct InputSource {
  using T = typename R::In;
  const T* in;
  loop::Strided outer, inner;
  __device__ const T* base(int64_t o) const { return in + offset_at(outer, o); }
  __device__ typename R::Acc get(const R& r, const T* b, int64_t i) const { return r.load(b[offset_at(inner, i)], i); }
};

// The partials of a split reduction: `parts` consecutive Accs per output.
template <typename R>
struct PartialSource {
  using Acc = typename R::Acc;
  const Acc* p;
  int64_t parts;
  __device__ const Acc* base(int64_t o) const { return p + o * parts; }
  __device__ Acc get(const R&, const Acc* b, int64_t i) const { return b[i]; }
};

template <typename R>
struct OutputSink {
  typename R::Out* out;
  loop::Strided geom;
  __device__ void put(const R& r, int64_t o, const typename R::Acc& a) const { out[offset_at(geom, o)] = r.finish(a); }
};

template <typename R>
struct PartialSink {
  typename R::Acc* p;
  __device__ void put(const R&, int64_t slot, const typename R::Acc& a) const { p[slot] = a; }
};

// One thread per output: a sequential fold of its slice.
template <typename R, typename Src, typename Sink>
__global__ void reduce_thread_kernel(R r, Src src, Sink sink, int64_t n_out, int64_t n_in) {
  const int64_t stride = int64_t(blockDim.x) * gridDim.x;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < n_out; o += stride) {
    const auto b = src.base(o);
    typename R::Acc acc = r.identity();
    for (int64_t i = 0; i < n_in; ++i) acc = r.combine(acc, src.get(r, b, i));
    sink.put(r, o, acc);
  }
}

// One block per (output, part): slot s is output s / parts, part s % parts,
// which covers the part-th run of ceil(n_in / parts) elements; the slot's
// result goes to sink slot s (the output itself when parts == 1).
template <typename R, typename Src, typename Sink>
__global__ void reduce_block_kernel(R r, Src src, Sink sink, int64_t n_slots, int64_t n_in, int64_t parts) {
  const int64_t chunk = (n_in + parts - 1) / parts;
  for (int64_t s = blockIdx.x; s < n_slots; s += gridDim.x) {
    const int64_t o = s / parts;
    const int64_t begin = (s - o * parts) * chunk;
    const int64_t end = begin + chunk < n_in ? begin + chunk : n_in;
    const auto b = src.base(o);
    typename R::Acc acc = r.identity();
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) acc = r.combine(acc, src.get(r, b, i));
    acc = group_allreduce<kBlock>(acc,
                                  [&r](const typename R::Acc& x, const typename R::Acc& y) { return r.combine(x, y); });
    if (threadIdx.x == 0) sink.put(r, s, acc);
  }
}

// Slices at least this long get a block each; shorter ones do too when
// there are too few outputs to fill the GPU with one thread each.
constexpr int64_t kBlockSlice = 512;
constexpr int64_t kFewOutputs = 2048;
constexpr int64_t kMinBlockSlice = 64;
// A split reduction aims at about this many blocks, each of at least
// kMinPart elements.
constexpr int64_t kSplitBlocks = 1024;
constexpr int64_t kMinPart = 8192;

inline unsigned block_grid(int64_t slots) { return static_cast<unsigned>(slots < 65535 * 8 ? slots : 65535 * 8); }

// Folds n_in elements of each of n_out slices from src into sink, with
// one thread or one block per output. `columns`: neighbouring outputs sit
// next to each other in memory but a slice's elements do not (a sum over
// an outer dim); one thread per output then reads memory coalesced, where
// a block per output would not, so many outputs keep a thread each.
template <typename R, typename Src, typename Sink>
void launch_fold(const char* op, cudaStream_t st, const R& r, const Src& src, const Sink& sink, int64_t n_out,
                 int64_t n_in, bool columns) {
  const bool few_outputs = n_out < kFewOutputs;
  if ((few_outputs && n_in >= kMinBlockSlice) || (!columns && n_in >= kBlockSlice)) {
    reduce_block_kernel<<<block_grid(n_out), kBlock, 0, st>>>(r, src, sink, n_out, n_in, int64_t(1));
  } else {
    reduce_thread_kernel<<<grid_for(n_out), kBlock, 0, st>>>(r, src, sink, n_out, n_in);
  }
  check_launch(op);
}

inline bool innermost_unit(const loop::Strided& s) { return s.ndim > 0 && s.strides[s.ndim - 1] == 1; }

// out[o] = r.finish(fold of self's slice o) over the dims flagged in
// `reduced`. self's element type is R::In, out's R::Out; an empty slice
// gives r.identity().
template <typename R>
void gpu_reduce(const char* op, const TensorBase& out, const TensorBase& self, const std::vector<bool>& reduced,
                const R& r) {
  using Acc = typename R::Acc;
  if (out.numel() == 0) return;
  const ReducePlan p = make_reduce_plan(out, self, reduced, op);
  DeviceGuard g(out);
  cudaStream_t st = stream(g.device());
  const InputSource<R> src{static_cast<const typename R::In*>(self.data_ptr()), p.outer, p.inner};
  const OutputSink<R> sink{static_cast<typename R::Out*>(out.data_ptr()), p.out};
  const int64_t parts = std::min(kSplitBlocks / p.n_out, p.n_in / kMinPart);
  if (parts < 2) {
    const bool columns = innermost_unit(p.outer) && !(p.inner.ndim == 1 && p.inner.strides[0] == 1);
    launch_fold(op, st, r, src, sink, p.n_out, p.n_in, columns);
    return;
  }
  // Few, very long slices: partials in scratch (freed stream-ordered), then
  // a second fold over each output's `parts` partials.
  const int64_t n_slots = p.n_out * parts;
  const int64_t words = (n_slots * int64_t(sizeof(Acc)) + 7) / 8;
  TensorBase scratch = make_empty(IntArrayRef(words), kInt64, out.device());
  Acc* partial = static_cast<Acc*>(scratch.data_ptr());
  reduce_block_kernel<<<block_grid(n_slots), kBlock, 0, st>>>(r, src, PartialSink<R>{partial}, n_slots, p.n_in, parts);
  check_launch(op);
  launch_fold(op, st, r, PartialSource<R>{partial, parts}, sink, p.n_out, parts, false);
}

}  // namespace dg::cuda::reduction
