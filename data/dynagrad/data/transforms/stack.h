#pragma once
// Stack: collates a vector of examples into one example whose data (and
// target) are the examples' stacked along a new dim 0.
#include <vector>

#include "dynagrad/data/example.h"
#include "dynagrad/data/transforms/collate.h"

namespace dg::data::transforms {

template <typename T = Example<>>
struct Stack;

template <>
struct Stack<Example<>> : public Collation<Example<>> {
  Example<> apply_batch(std::vector<Example<>> examples) override {
    std::vector<Tensor> data, targets;
    data.reserve(examples.size());
    targets.reserve(examples.size());
    for (auto& example : examples) {
      data.push_back(std::move(example.data));
      targets.push_back(std::move(example.target));
    }
    return {dg::stack(data), dg::stack(targets)};
  }
};

template <>
struct Stack<TensorExample> : public Collation<Example<Tensor, example::NoTarget>> {
  TensorExample apply_batch(std::vector<TensorExample> examples) override {
    std::vector<Tensor> data;
    data.reserve(examples.size());
    for (auto& example : examples) data.push_back(std::move(example.data));
    return dg::stack(data);
  }
};

}  // namespace dg::data::transforms
