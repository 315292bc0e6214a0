#include <algorithm>

#include "dynagrad/data/samplers/random.h"
#include "dynagrad/data/samplers/sequential.h"
#include "dynagrad/error.h"
#include "dynagrad/factory.h"
#include "dynagrad/serialize.h"

namespace dg::data::samplers {
SequentialSampler::SequentialSampler(size_t size) : size_(size) {}

void SequentialSampler::reset(std::optional<size_t> new_size) {
  if (new_size) size_ = *new_size;
  index_ = 0;
}

std::optional<std::vector<size_t>> SequentialSampler::next(size_t batch_size) {
  const size_t remaining = size_ - index_;
  if (remaining == 0) return std::nullopt;
  std::vector<size_t> batch(std::min(batch_size, remaining));
  for (size_t& i : batch) i = index_++;
  return batch;
}

// LibTorch's keys: "index" (and "indices" for the random order).
void SequentialSampler::save(serialize::OutputArchive& archive) const {
  archive.write("index", static_cast<int64_t>(index_));
}
void SequentialSampler::load(serialize::InputArchive& archive) {
  int64_t index = 0;
  archive.read("index", index);
  DG_CHECK(index >= 0 && static_cast<size_t>(index) <= size_, "SequentialSampler::load: index ", index,
           " is outside the sampler's ", size_, " indices");
  index_ = static_cast<size_t>(index);
}
size_t SequentialSampler::index() const noexcept { return index_; }

RandomSampler::RandomSampler(int64_t size, ScalarType index_dtype) : indices_(dg::randperm(size, index_dtype)) {}

RandomSampler::~RandomSampler() = default;

void RandomSampler::reset(std::optional<size_t> new_size) {
  const int64_t size = new_size ? static_cast<int64_t>(*new_size) : indices_.numel();
  indices_ = dg::randperm(size, indices_.dtype());
  index_ = 0;
}

std::optional<std::vector<size_t>> RandomSampler::next(size_t batch_size) {
  const auto remaining = static_cast<size_t>(indices_.numel() - index_);
  if (remaining == 0) return std::nullopt;
  std::vector<size_t> batch(std::min(batch_size, remaining));
  const Tensor slice = indices_.slice(0, index_, index_ + static_cast<int64_t>(batch.size())).to(kInt64).contiguous();
  const int64_t* data = slice.data_ptr<int64_t>();
  std::copy(data, data + batch.size(), batch.begin());
  index_ += static_cast<int64_t>(batch.size());
  return batch;
}

void RandomSampler::save(serialize::OutputArchive& archive) const {
  archive.write("index", index_);
  archive.write("indices", indices_);
}
void RandomSampler::load(serialize::InputArchive& archive) {
  Tensor indices;
  int64_t index = 0;
  archive.read("index", index);
  archive.read("indices", indices);
  DG_CHECK(indices.dim() == 1 && index >= 0 && index <= indices.numel(), "RandomSampler::load: index ", index,
           " and indices of shape ", indices.sizes(), " do not form a sampler state");
  indices_ = indices.to(indices_.dtype());
  index_ = index;
}
size_t RandomSampler::index() const noexcept { return static_cast<size_t>(index_); }

}  // namespace dg::data::samplers
