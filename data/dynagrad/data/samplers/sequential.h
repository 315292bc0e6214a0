#pragma once
// SequentialSampler: indices 0, 1, ..., size - 1 in order.
#include "dynagrad/data/samplers/base.h"

namespace dg::data::samplers {

class SequentialSampler : public Sampler<> {
 public:
  explicit SequentialSampler(size_t size);

  void reset(std::optional<size_t> new_size = std::nullopt) override;
  std::optional<std::vector<size_t>> next(size_t batch_size) override;
  // The position in the epoch ("index"), into or out of a checkpoint.
  void save(serialize::OutputArchive& archive) const override;
  void load(serialize::InputArchive& archive) override;
  // How many indices of this epoch were handed out.
  size_t index() const noexcept;

 private:
  size_t size_;
  size_t index_{0};
};

}  // namespace dg::data::samplers
