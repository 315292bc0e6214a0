#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>

#include "dynagrad/data/samplers/distributed.h"
#include "dynagrad/error.h"
#include "dynagrad/serialize.h"

namespace dg::data::samplers {
namespace {

void check_replicas(const char* fn, size_t num_replicas, size_t rank) {
  DG_CHECK(num_replicas > 0, fn, ": num_replicas must be positive, got 0");
  DG_CHECK(rank < num_replicas, fn, ": rank must be in [0, num_replicas = ", num_replicas, "), got ", rank);
}

// The next batch of [sample_index, end_index) in `indices`, nullopt at the end.
std::optional<std::vector<size_t>> next_of(const std::vector<size_t>& indices, size_t offset, size_t& sample_index,
                                           size_t end_index, size_t batch_size) {
  if (sample_index >= end_index) return std::nullopt;
  const size_t end = std::min(end_index, sample_index + batch_size);
  std::vector<size_t> batch(indices.begin() + static_cast<std::ptrdiff_t>(sample_index - offset),
                            indices.begin() + static_cast<std::ptrdiff_t>(end - offset));
  sample_index = end;
  return batch;
}

size_t read_position(const serialize::InputArchive& archive, const char* key, const char* fn) {
  int64_t value = 0;
  archive.read(key, value);
  DG_CHECK(value >= 0, fn, ": '", key, "' must be non-negative, got ", value);
  return static_cast<size_t>(value);
}

// A saved sample_index_, checked to lie in this rank's shard.
size_t read_shard_position(const serialize::InputArchive& archive, const char* fn, size_t rank, size_t begin,
                           size_t end) {
  const size_t index = read_position(archive, "sample_index_", fn);
  DG_CHECK(index >= begin && index <= end, fn, ": sample_index_ ", index, " is outside rank ", rank, "'s shard [",
           begin, ", ", end, "]");
  return index;
}

}  // namespace

DistributedRandomSampler::DistributedRandomSampler(size_t size, size_t num_replicas, size_t rank, bool allow_duplicates)
    : DistributedSampler(size, num_replicas, rank, allow_duplicates) {
  check_replicas("DistributedRandomSampler", num_replicas, rank);
  reset(size_);
}

// The whole order (padded to num_replicas shards by wrapping around), of
// which this rank reads [begin_index_, end_index_).
void DistributedRandomSampler::populate_indices() {
  const size_t local = local_sample_count();
  const size_t count = num_replicas_ == 1 ? size_ : local * num_replicas_;
  all_indices_.resize(count);
  for (size_t i = 0; i < count; ++i) all_indices_[i] = size_ == 0 ? 0 : i % size_;
  begin_index_ = rank_ * local;
  end_index_ = begin_index_ + local;
  sample_index_ = begin_index_;
}

void DistributedRandomSampler::reset(std::optional<size_t> new_size) {
  size_ = new_size.value_or(size_);
  populate_indices();
  std::mt19937 generator(static_cast<std::mt19937::result_type>(epoch_));
  std::shuffle(all_indices_.begin(), all_indices_.end(), generator);
  sample_index_ = begin_index_;
}

std::optional<std::vector<size_t>> DistributedRandomSampler::next(size_t batch_size) {
  return next_of(all_indices_, 0, sample_index_, end_index_, batch_size);
}

void DistributedRandomSampler::save(serialize::OutputArchive& archive) const {
  archive.write("sample_index_", static_cast<int64_t>(sample_index_));
  archive.write("epoch_", static_cast<int64_t>(epoch_));
}

void DistributedRandomSampler::load(serialize::InputArchive& archive) {
  epoch_ = read_position(archive, "epoch_", "DistributedRandomSampler::load");
  reset(size_);  // the epoch's permutation
  sample_index_ = read_shard_position(archive, "DistributedRandomSampler::load", rank_, begin_index_, end_index_);
}

size_t DistributedRandomSampler::index() const noexcept { return sample_index_; }

DistributedSequentialSampler::DistributedSequentialSampler(size_t size, size_t num_replicas, size_t rank,
                                                           bool allow_duplicates)
    : DistributedSampler(size, num_replicas, rank, allow_duplicates) {
  check_replicas("DistributedSequentialSampler", num_replicas, rank);
  populate_indices();
}

// Only this rank's shard is kept: begin_index_, begin_index_ + 1, ... (mod size).
void DistributedSequentialSampler::populate_indices() {
  const size_t local = local_sample_count();
  begin_index_ = rank_ * local;
  end_index_ = begin_index_ + local;
  sample_index_ = begin_index_;
  all_indices_.resize(local);
  for (size_t i = 0; i < local; ++i) all_indices_[i] = size_ == 0 ? 0 : (begin_index_ + i) % size_;
}

void DistributedSequentialSampler::reset(std::optional<size_t> new_size) {
  if (new_size && *new_size != size_) {
    size_ = *new_size;
    populate_indices();
  } else {
    sample_index_ = begin_index_;
  }
}

std::optional<std::vector<size_t>> DistributedSequentialSampler::next(size_t batch_size) {
  return next_of(all_indices_, begin_index_, sample_index_, end_index_, batch_size);
}

void DistributedSequentialSampler::save(serialize::OutputArchive& archive) const {
  archive.write("sample_index_", static_cast<int64_t>(sample_index_));
}

void DistributedSequentialSampler::load(serialize::InputArchive& archive) {
  sample_index_ = read_shard_position(archive, "DistributedSequentialSampler::load", rank_, begin_index_, end_index_);
}

size_t DistributedSequentialSampler::index() const noexcept { return sample_index_; }

}  // namespace dg::data::samplers
