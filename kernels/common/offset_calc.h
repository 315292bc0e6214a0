#pragma once
// Linear index -> byte offset of every operand, for loops that hand each
// element to its own thread (the CUDA kernels). Plain data, copied into a
// kernel's parameters; compiled for host and device so the host tests
// (tests/test_cuda.cpp) check the index math without a GPU.
#include <cstdint>

#include "dynagrad/error.h"
#include "dynagrad/half.h"  // DG_HOST_DEVICE
#include "loop_geometry.h"

namespace dg::loop {

// Dims a loop may keep after coalescing (a tensor has at most this many
// dims that no neighbour merges with).
constexpr int kMaxLoopDims = 16;

template <int NT>
struct OffsetCalc {
  int ndim = 0;
  int64_t sizes[kMaxLoopDims];        // coalesced, outermost first
  int64_t strides[kMaxLoopDims][NT];  // bytes, per dim then operand

  // Byte offsets of element `linear` (row-major over sizes) of each operand.
  DG_HOST_DEVICE void offsets(int64_t linear, int64_t (&off)[NT]) const {
    for (int k = 0; k < NT; ++k) off[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t n = sizes[d];
      const int64_t q = linear / n;
      const int64_t i = linear - q * n;
      linear = q;
      for (int k = 0; k < NT; ++k) off[k] += i * strides[d][k];
    }
  }
};

template <size_t NT>
OffsetCalc<static_cast<int>(NT)> make_offset_calc(const LoopGeometry<NT>& g, const char* op) {
  OffsetCalc<static_cast<int>(NT)> c;
  DG_CHECK(g.ndim() <= kMaxLoopDims, op, ": expected at most ", kMaxLoopDims, " dimensions that cannot be merged, got ",
           g.ndim());
  c.ndim = static_cast<int>(g.ndim());
  for (int d = 0; d < c.ndim; ++d) {
    c.sizes[d] = g.sizes[d];
    for (size_t k = 0; k < NT; ++k) c.strides[d][k] = g.strides[k][d];
  }
  return c;
}

// The offsets of the `ndim` dims of one tensor geometry (sizes, strides in
// elements), for kernels that walk a tensor's own layout (reductions,
// indexing) rather than a broadcast loop.
struct Strided {
  int ndim = 0;
  int64_t sizes[kMaxLoopDims];
  int64_t strides[kMaxLoopDims];

  DG_HOST_DEVICE int64_t offset(int64_t linear) const {
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t n = sizes[d];
      const int64_t q = linear / n;
      off += (linear - q * n) * strides[d];
      linear = q;
    }
    return off;
  }
};

inline Strided make_strided(IntArrayRef sizes, IntArrayRef strides, const char* op) {
  Strided s;
  DG_CHECK(static_cast<int64_t>(sizes.size()) <= kMaxLoopDims, op, ": expected at most ", kMaxLoopDims,
           " dimensions, got ", sizes.size());
  s.ndim = static_cast<int>(sizes.size());
  for (int d = 0; d < s.ndim; ++d) {
    s.sizes[d] = sizes[d];
    s.strides[d] = strides[d];
  }
  return s;
}

}  // namespace dg::loop
