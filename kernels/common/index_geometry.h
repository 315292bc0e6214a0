#pragma once
// Host-side geometry of the indexing kernels (index_select, gather,
// scatter_add, index_add, flip), shared by kernels/cpu/index.cpp and
// kernels/cuda/index.cu: which dim an op works along, the strides its walks
// use, and where a flipped read starts.
#include <cstdint>

#include "dynagrad/tensor_base.h"

namespace dg::ixgeom {

// dim wrapped into [0, ndim); a 0-dim tensor acts as shape [1]. The metas
// have range-checked dim already.
inline int64_t wrap(int64_t dim, int64_t ndim) { return dim < 0 ? dim + (ndim == 0 ? 1 : ndim) : dim; }

// The stride of dim d, or 0 for a 0-dim tensor (which acts as shape [1]).
inline int64_t stride_or_zero(const TensorBase& t, int64_t d) { return t.dim() == 0 ? 0 : t.stride(d); }

// t's strides over the first `nd` dims with dim d (and dims t lacks) at 0,
// for the gather/scatter walk over the index's shape: positions along every
// dim but d are shared with the index, the one along d comes from its value.
inline DimVector strides_except(const TensorBase& t, int64_t d, int64_t nd) {
  DimVector s(static_cast<size_t>(nd), 0);
  for (int64_t k = 0; k < nd; ++k) {
    if (k != d && k < t.dim()) s[k] = t.stride(k);
  }
  return s;
}

// self read backwards along the flipped dims: negated strides there, and the
// offset (in elements) of the element the read starts from, the last one
// along each flipped dim. A 0-dim self has nothing to flip.
struct FlippedRead {
  int64_t start = 0;
  DimVector strides;
};

inline FlippedRead flipped_read(const TensorBase& self, IntArrayRef dims) {
  FlippedRead r{0, DimVector(self.strides())};
  if (self.dim() == 0) return r;
  for (int64_t dim : dims) {
    const int64_t d = wrap(dim, self.dim());
    r.start += (self.size(d) - 1) * self.stride(d);
    r.strides[d] = -r.strides[d];
  }
  return r;
}

}  // namespace dg::ixgeom
