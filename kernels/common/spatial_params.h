#pragma once
// Spatial parameters as PyTorch's int[N] arguments take them (stride=2 means
// 2 along every spatial dim), read the same way by the shape rules (ops/meta)
// and the convolution and pooling kernels.
#include <cstdint>

#include "dynagrad/error.h"
#include "dynagrad/int_array.h"

namespace dg::param {

// `list` with one value per spatial dim: a single value is repeated; any
// other length is an error naming `op` and the argument.
inline DimVector expand(const char* op, const char* name, IntArrayRef list, int64_t spatial) {
  DG_CHECK(static_cast<int64_t>(list.size()) == spatial || list.size() == 1, op, ": expected ", name, " to have 1 or ",
           spatial, " values (one per spatial dimension), got ", list);
  if (list.size() == 1) return DimVector(static_cast<size_t>(spatial), list[0]);
  return DimVector(list);
}

// Each value of v at least min_value, or an error saying it must be `what`.
inline void check_all(const char* op, const char* name, IntArrayRef v, int64_t min_value, const char* what) {
  for (int64_t x : v) DG_CHECK(x >= min_value, op, ": ", name, " must be ", what, ", got ", v);
}

}  // namespace dg::param
