#pragma once
// Argument checks that the dispatch layer and autograd's in-place rules
// share. Out of line (arg_checks.cpp): they run on every op, and their
// messages are cold code the callers should not carry inline.
#include "dynagrad/tensor.h"

namespace dg::detail {

// t must be defined: "op: expected a defined tensor for argument 'arg'".
void check_defined(const char* op, const char* arg, const Tensor& t);

// Writing a tensor whose elements share memory (an expanded view) would apply
// the op several times to one location: refused, as PyTorch does. A size>1
// dimension with stride 0 is how such tensors arise.
void check_no_internal_overlap(const char* op, const Tensor& t);

}  // namespace dg::detail
