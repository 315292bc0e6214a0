#pragma once
// LibTorch's `torch::linalg::` spellings: `dg::linalg::multi_dot(...)` is the
// generated `dg::linalg_multi_dot(...)`. The generator emits one namespace,
// so the ops are declared in ops.yaml under their ATen names (linalg_*) and
// these inline functions only forward, with LibTorch's defaults.
#include <vector>

#include "dynagrad/tensor.h"

namespace dg::linalg {

inline Tensor multi_dot(const std::vector<Tensor>& tensors) { return dg::linalg_multi_dot(tensors); }

inline Tensor cross(const Tensor& self, const Tensor& other, int64_t dim = -1) {
  return dg::linalg_cross(self, other, dim);
}

inline Tensor matrix_power(const Tensor& self, int64_t n) { return dg::matrix_power(self, n); }

}  // namespace dg::linalg
