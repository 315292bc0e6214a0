#pragma once
// Strided walks for the index group's kernels (reductions along arbitrary
// dims, gather/scatter, flip, triangles): several tensors visited in one
// row-major order over a shape, each through its own strides (in elements).
#include <array>
#include <cstdint>
#include <vector>

#include "dynagrad/tensor_base.h"

namespace dg::cpu::ix {

// Calls f(offsets, idx) for every index of `sizes` in row-major order, where
// offsets[k] is that index's offset under strides[k].
template <size_t N, typename F>
void walk(IntArrayRef sizes, const std::array<DimVector, N>& strides, F&& f) {
  const int64_t nd = static_cast<int64_t>(sizes.size());
  for (int64_t s : sizes)
    if (s == 0) return;
  DimVector idx(static_cast<size_t>(nd), 0);
  std::array<int64_t, N> off{};
  while (true) {
    f(off, idx);
    int64_t d = nd - 1;
    for (; d >= 0; --d) {
      if (++idx[d] < sizes[d]) {
        for (size_t k = 0; k < N; ++k) off[k] += strides[k][d];
        break;
      }
      for (size_t k = 0; k < N; ++k) off[k] -= strides[k][d] * (sizes[d] - 1);
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

// The offsets (under `strides`) of every index of `sizes`, row-major.
inline std::vector<int64_t> offsets(IntArrayRef sizes, IntArrayRef strides) {
  std::vector<int64_t> out;
  walk<1>(sizes, {DimVector(strides)}, [&](const std::array<int64_t, 1>& o, const DimVector&) { out.push_back(o[0]); });
  return out;
}

// Sizes and strides of `t` split into the dims flagged in `pick` and the rest.
struct Split {
  DimVector kept_sizes, kept_strides, picked_sizes, picked_strides;
};
inline Split split_dims(const TensorBase& t, const std::vector<bool>& pick) {
  Split s;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (pick[d]) {
      s.picked_sizes.push_back(t.size(d));
      s.picked_strides.push_back(t.stride(d));
    } else {
      s.kept_sizes.push_back(t.size(d));
      s.kept_strides.push_back(t.stride(d));
    }
  }
  return s;
}

// The int64 values of an index tensor, row-major (any strides).
inline std::vector<int64_t> index_values(const TensorBase& index) {
  const int64_t* p = static_cast<const int64_t*>(index.data_ptr());
  if (index.is_contiguous()) return std::vector<int64_t>(p, p + index.numel());
  std::vector<int64_t> v;
  v.reserve(static_cast<size_t>(index.numel()));
  for (int64_t o : offsets(index.sizes(), index.strides())) v.push_back(p[o]);
  return v;
}

}  // namespace dg::cpu::ix
