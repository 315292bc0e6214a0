#pragma once
// The generated registry of every op's samples (generated/op_registry.cpp,
// from ops.yaml). Tests iterate it; nothing here is per-op.
#include <functional>
#include <vector>

#include "dynagrad/dynagrad.h"

namespace dg::testing {

struct TensorSpec {
  std::vector<int64_t> shape;
  double low = -1.0;
  double high = 1.0;
  bool transposed = false;  // stored with the last two dims swapped
  ScalarType dtype = kFloat64;  // float64 inputs require grad; int64 (indices) in [low, high); bool masks
};

struct OpInfo {
  const char* name;
  bool differentiable;  // has a backward node
  const char* kind;     // kernel, view, composite
  int num_samples;
  std::vector<const char*> dtypes;  // declared in ops.yaml (kernel ops)
};

struct OpSample {
  const char* op;
  const char* variant;  // function, method, inplace, out
  int sample;           // index in the op's samples
  std::vector<TensorSpec> inputs;
  bool check_grad;      // false for out=: outputs are {out, expected}
  std::function<variable_list(const variable_list&)> fn;
};

const std::vector<OpInfo>& all_ops();
const std::vector<OpSample>& all_samples();

}  // namespace dg::testing
