#pragma once
// TensorDataset: the rows (dim 0) of one tensor, each an example without a
// target.
#include <vector>

#include "dynagrad/data/datasets/base.h"

namespace dg::data::datasets {

struct TensorDataset : public Dataset<TensorDataset, TensorExample> {
  // The tensors stacked along a new dim 0.
  explicit TensorDataset(const std::vector<Tensor>& tensors) : TensorDataset(dg::stack(tensors)) {}
  explicit TensorDataset(Tensor tensor) : tensor(std::move(tensor)) {}

  TensorExample get(size_t index) override { return tensor[static_cast<int64_t>(index)]; }
  std::optional<size_t> size() const override { return static_cast<size_t>(tensor.size(0)); }

  Tensor tensor;
};

}  // namespace dg::data::datasets
