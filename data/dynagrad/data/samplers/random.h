#pragma once
// RandomSampler: each epoch a fresh random permutation of 0..size-1, drawn
// with dg::randperm from the default generator, so dg::manual_seed(s) before
// building the sampler (and before each reset) makes the order reproducible.
#include <cstdint>

#include "dynagrad/data/samplers/base.h"
#include "dynagrad/tensor.h"

namespace dg::data::samplers {

class RandomSampler : public Sampler<> {
 public:
  // `index_dtype`: the dtype of the permutation tensor kept between batches.
  explicit RandomSampler(int64_t size, ScalarType index_dtype = kInt64);
  ~RandomSampler() override;

  void reset(std::optional<size_t> new_size = std::nullopt) override;
  std::optional<std::vector<size_t>> next(size_t batch_size) override;
  // The permutation and the position in it ("indices", "index").
  void save(serialize::OutputArchive& archive) const override;
  void load(serialize::InputArchive& archive) override;
  size_t index() const noexcept;

 private:
  Tensor indices_;
  int64_t index_ = 0;
};

}  // namespace dg::data::samplers
