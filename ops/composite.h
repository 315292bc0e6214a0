#pragma once
// The composite ops' bodies (ops/composite/*.cpp, one file per family): ops
// written as formulas of other public ops. They record no node of their own:
// autograd sees only the ops they call, so their gradients (and gradients of
// gradients) come for free. The generator declares each body from its op's
// signature (generated/ops/composite_decls.h); below are the helpers the
// families share (common.cpp).
#include <string>
#include <vector>

#include "dynagrad/tensor.h"
#include "generated/ops/composite_decls.h"

namespace dg::composite {

// The elements of t, row-major, as doubles, read without history (a CUDA
// tensor's values are waited for): for decisions a formula takes from the
// values, like which elements tie for a maximum.
std::vector<double> values(const Tensor& t);

// t must be floating point: "op: expected a floating point tensor, got int64",
// or with the argument's name, "op: expected input to be a floating point ...".
void check_floating(const char* op, const Tensor& t, const char* name = nullptr);

// A per-channel tensor [C] viewed so it broadcasts against [N, C, d...].
Tensor channel_view(const Tensor& t, int64_t ndim);

// The reduced dims of a reduction over `dim` (empty: all), wrapped, checked
// for repeats and sorted.
std::vector<int64_t> dims_of(const char* op, IntArrayRef dim, int64_t ndim);

// An int64 index tensor with negative entries wrapped (k + size), after
// checking in one host pass that every entry addresses one of `size`
// elements: "op: index 7 is out of bounds for <what> with size 5".
Tensor wrap_index(const char* op, const Tensor& index, int64_t size, const std::string& what);

}  // namespace dg::composite
