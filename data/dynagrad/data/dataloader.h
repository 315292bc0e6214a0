#pragma once
// make_data_loader: a loader over a dataset, as LibTorch's
// torch::data::make_data_loader.
//
//   auto loader = dg::data::make_data_loader(
//       dataset.map(dg::data::transforms::Stack<>()),
//       dg::data::DataLoaderOptions().batch_size(64).workers(2));
//   for (auto& batch : *loader) { ... batch.data, batch.target ... }
//
// The sampler defaults to a RandomSampler over the dataset's size.
#include <memory>
#include <type_traits>
#include <utility>

#include "dynagrad/data/dataloader/stateless.h"
#include "dynagrad/data/dataloader_options.h"
#include "dynagrad/data/samplers/random.h"

namespace dg::data {

template <typename Dataset, typename Sampler>
std::enable_if_t<!Dataset::is_stateful, std::unique_ptr<StatelessDataLoader<Dataset, Sampler>>> make_data_loader(
    Dataset dataset, Sampler sampler, DataLoaderOptions options) {
  return std::make_unique<StatelessDataLoader<Dataset, Sampler>>(std::move(dataset), std::move(sampler),
                                                                 std::move(options));
}

template <typename Sampler = samplers::RandomSampler, typename Dataset>
std::enable_if_t<!Dataset::is_stateful && std::is_constructible_v<Sampler, size_t>,
                 std::unique_ptr<StatelessDataLoader<Dataset, Sampler>>>
make_data_loader(Dataset dataset, DataLoaderOptions options = DataLoaderOptions()) {
  const std::optional<size_t> size = dataset.size();
  DG_CHECK(size.has_value(), "make_data_loader: expected the dataset to be sized in order to construct the Sampler");
  return make_data_loader(std::move(dataset), Sampler(*size), std::move(options));
}

}  // namespace dg::data
