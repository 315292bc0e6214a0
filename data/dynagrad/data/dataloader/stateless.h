#pragma once
// The loader of a dataset indexed by a sampler (LibTorch's
// StatelessDataLoader): each batch is dataset.get_batch(sampler.next(batch_size)).
#include <memory>
#include <optional>
#include <utility>

#include "dynagrad/data/dataloader/base.h"

namespace dg::data {

template <typename Dataset, typename Sampler>
class StatelessDataLoader
    : public DataLoaderBase<Dataset, typename Dataset::BatchType, typename Sampler::BatchRequestType> {
 public:
  using super = DataLoaderBase<Dataset, typename Dataset::BatchType, typename Sampler::BatchRequestType>;
  using typename super::BatchRequestType;

  StatelessDataLoader(Dataset dataset, Sampler sampler, DataLoaderOptions options)
      : super(std::move(options)), sampler_(std::move(sampler)) {
    DG_CHECK(this->options_.batch_size > 0, "DataLoader: batch_size must be positive, got 0");
    for (size_t w = 0; w < this->options_.workers; ++w) this->start_worker(dataset);
    if (this->options_.workers == 0) this->main_thread_dataset_ = std::make_unique<Dataset>(std::move(dataset));
  }
  ~StatelessDataLoader() override { this->join(); }  // before sampler_ goes

 private:
  void reset() override {
    sampler_.reset(std::nullopt);
    super::reset();
  }

  std::optional<BatchRequestType> get_batch_request() override {
    auto indices = sampler_.next(this->options_.batch_size);
    if (!indices || (indices->size() < this->options_.batch_size && this->options_.drop_last)) return std::nullopt;
    return indices;
  }

  Sampler sampler_;
};

}  // namespace dg::data
