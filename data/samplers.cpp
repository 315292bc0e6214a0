#include <algorithm>

#include "dynagrad/data/samplers/random.h"
#include "dynagrad/data/samplers/sequential.h"
#include "dynagrad/error.h"
#include "dynagrad/factory.h"

namespace dg::data::samplers {
namespace {
[[noreturn]] void no_checkpoint(const char* sampler, const char* method) {
  dg::detail::fail(
      dg::detail::str(sampler, "::", method,
                      ": saving and loading a sampler's state is not supported yet (the data layer does not "
                      "reach dynagrad/serialize.h)"));
}
}  // namespace

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

void SequentialSampler::save(serialize::OutputArchive&) const { no_checkpoint("SequentialSampler", "save"); }
void SequentialSampler::load(serialize::InputArchive&) { no_checkpoint("SequentialSampler", "load"); }
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

void RandomSampler::save(serialize::OutputArchive&) const { no_checkpoint("RandomSampler", "save"); }
void RandomSampler::load(serialize::InputArchive&) { no_checkpoint("RandomSampler", "load"); }
size_t RandomSampler::index() const noexcept { return static_cast<size_t>(index_); }

}  // namespace dg::data::samplers
