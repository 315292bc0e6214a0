#pragma once
// What the indexing kernels (index.cu, as_strided.cu, embedding.cu) share: a
// walk that hands every index of one shape to its own thread together with
// that index's offset in several tensors (each through its own strides), and
// the atomic add the accumulating kernels need when two indices land on one
// element. The counterpart of kernels/cpu/index_walk.h.
#include <array>
#include <cstdint>
#include <type_traits>

#include "common/offset_calc.h"
#include "cuda/cuda_common.cuh"

namespace dg::cuda::walk {

// Stride lists of a walk's operands, in elements, one value per dim of the
// walked shape. A list need not be a tensor's own strides: one that is 0
// everywhere but `d` yields the index's position along d (times a factor).
template <int N>
using Strides = std::array<DimVector, N>;

// `ndim` zeros with `value` at dim d: the position along d, scaled by value.
// With ndim 0 (a 0-dim tensor's walk) there is no dim to set.
inline DimVector along(size_t ndim, int64_t d, int64_t value) {
  DimVector s(ndim, 0);
  if (static_cast<size_t>(d) < ndim) s[static_cast<size_t>(d)] = value;
  return s;
}

// `strides` with dim d set to `value` (0: the walk's position along d is
// not applied to that operand; the kernel adds its own offset there).
// Empty strides (a 0-dim tensor) stay empty.
inline DimVector with_dim(IntArrayRef strides, int64_t d, int64_t value) {
  DimVector s(strides);
  if (static_cast<size_t>(d) < s.size()) s[static_cast<size_t>(d)] = value;
  return s;
}

// The device-side offset calculator of a walk. Dims of size 1 add nothing
// to any offset, so they are dropped (more shapes fit kMaxLoopDims).
// OffsetCalc's strides are just multipliers: element strides work as well
// as byte strides.
template <int N>
loop::OffsetCalc<N> make_calc(const char* op, IntArrayRef sizes, const Strides<N>& strides) {
  loop::OffsetCalc<N> c;
  c.ndim = 0;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 1) continue;
    DG_CHECK(c.ndim < loop::kMaxLoopDims, op, ": expected at most ", loop::kMaxLoopDims,
             " dimensions of size other than 1, got shape ", sizes);
    c.sizes[c.ndim] = sizes[d];
    for (int k = 0; k < N; ++k) c.strides[c.ndim][k] = strides[k][d];
    ++c.ndim;
  }
  return c;
}

template <int N, typename F>
__global__ void walk_kernel(int64_t n, loop::OffsetCalc<N> calc, F f) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[N];
    calc.offsets(i, off);
    f(off);
  }
}

// Calls f(off) on `on`'s device for every index of `sizes` (a 0-dim shape
// is one index), where off[k] is the index's offset under strides[k]. The
// calls run in parallel, in no order: f must not depend on another call's
// writes, and must add atomically where two calls may share an element.
template <int N, typename F>
void for_each(const char* op, const TensorBase& on, IntArrayRef sizes, const Strides<N>& strides, const F& f) {
  const int64_t n = multiply_integers(sizes);
  if (n == 0) return;
  const loop::OffsetCalc<N> calc = make_calc<N>(op, sizes, strides);
  DeviceGuard g(on);
  walk_kernel<N><<<grid_for(n), kBlock, 0, stream(g.device())>>>(n, calc, f);
  check_launch(op);
}

// A zeroed contiguous scratch tensor on `on`'s device, for accumulating into
// (all-zero bytes are 0 in every dtype), zeroed on the device's stream.
inline TensorBase zeroed_scratch(const char* op, IntArrayRef sizes, ScalarType dtype, const TensorBase& on) {
  TensorBase t = make_empty(sizes, dtype, on.device());
  if (t.numel() == 0) return t;
  DeviceGuard g(on);
  check(cudaMemsetAsync(t.data_ptr(), 0, t.nbytes(), stream(g.device())), op, "cudaMemsetAsync");
  return t;
}

// *p += v, atomically. int64 goes through the unsigned 64-bit atomic: two's
// complement addition gives the signed sum's bits.
template <typename T>
__device__ void atomic_add(T* p, T v) {
  if constexpr (std::is_same_v<T, int64_t>) {
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
  } else {
    atomicAdd(p, v);
  }
}

}  // namespace dg::cuda::walk
