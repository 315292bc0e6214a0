#pragma once
// Argument checks that the dispatch layer and autograd's in-place rules share.
#include "dynagrad/tensor.h"

namespace dg::detail {

inline void check_defined(const char* op, const char* arg, const Tensor& t) {
  DG_CHECK(t.defined(), op, ": expected a defined tensor for argument '", arg, "', got an undefined one");
}

// Writing a tensor whose elements share memory (an expanded view) would apply
// the op several times to one location: refused, as PyTorch does. A size>1 dimension with stride 0 is how such
// tensors arise.
inline void check_no_internal_overlap(const char* op, const Tensor& t) {
  IntArrayRef sizes = t.sizes(), strides = t.strides();
  for (size_t d = 0; d < sizes.size(); ++d) {
    DG_CHECK(!(sizes[d] > 1 && strides[d] == 0), op,
             ": unsupported operation: more than one element of the written-to tensor refers to a single memory "
             "location (stride 0 along dimension ",
             d, " of size ", sizes[d],
             ", e.g. after expand()). clone() it "
             "before writing to it.");
  }
}

}  // namespace dg::detail
