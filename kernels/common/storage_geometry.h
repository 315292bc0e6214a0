#pragma once
// A tensor's geometry over its storage (sizes, strides, storage offset) and
// the host-side questions as_strided's gradient kernels ask of it (which
// storage indices it reaches, whether two elements can share one); shared by
// the CPU and CUDA kernels (kernels/*/strided.*).
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "dynagrad/tensor_base.h"

namespace dg::storage {

struct Geometry {
  IntArrayRef sizes;
  IntArrayRef strides;
  int64_t offset;

  bool empty() const {
    return std::any_of(sizes.begin(), sizes.end(), [](int64_t s) { return s == 0; });
  }
  // The last storage index it reaches (meta checked strides >= 0, no overflow).
  int64_t last() const {
    int64_t r = offset;
    for (size_t i = 0; i < sizes.size(); ++i) r += (sizes[i] - 1) * strides[i];
    return r;
  }
};

// The storage indices [lo, lo + n) two geometries touch (n <= 0 when neither
// touches any).
struct Range {
  int64_t lo, n;
};

inline Range storage_range(const Geometry& a, const Geometry& b) {
  int64_t lo = INT64_MAX, hi = -1;
  for (const Geometry* g : {&a, &b}) {
    if (g->empty()) continue;
    lo = std::min(lo, g->offset);
    hi = std::max(hi, g->last());
  }
  return {lo, hi - lo + 1};
}

// A sufficient test that no two elements share a storage index: sorted by
// stride, each dim steps past everything the smaller dims reach.
inline bool non_overlapping(const Geometry& g) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size) of dims with size > 1
  for (size_t i = 0; i < g.sizes.size(); ++i) {
    if (g.sizes[i] > 1) dims.emplace_back(g.strides[i], g.sizes[i]);
  }
  std::sort(dims.begin(), dims.end());
  int64_t reach = 0;  // the largest offset the dims so far reach
  for (const auto& [stride, size] : dims) {
    if (stride <= reach) return false;
    reach += (size - 1) * stride;
  }
  return true;
}

// Whether dividing by how many elements of g share a storage index could
// change anything: false when g has no elements or cannot overlap (every
// count would be 1), which spares the counting pass.
inline bool may_share(const Geometry& g) { return !g.empty() && !non_overlapping(g); }

}  // namespace dg::storage
