#pragma once
// Samplers for data-parallel training (LibTorch's
// torch::data::samplers::DistributedRandomSampler / DistributedSequentialSampler):
// the `size` indices are split into `num_replicas` contiguous shards of
// local_sample_count() indices each and rank `rank` reads shard `rank`.
// With allow_duplicates the shards are ceil(size / num_replicas) long and the
// last ones wrap around to the first indices (every index is read by some
// rank); without it they are floor(size / num_replicas) long and the last
// size % num_replicas indices of the order are read by nobody.
// The random sampler shuffles all indices with std::mt19937 seeded by the
// epoch (set_epoch, then reset), so every rank draws the same permutation and
// the shards stay disjoint; the order is LibTorch's own for the same epoch.
#include <cstddef>
#include <optional>
#include <vector>

#include "dynagrad/data/samplers/base.h"

namespace dg::data::samplers {

template <typename BatchRequest = std::vector<size_t>>
class DistributedSampler : public Sampler<BatchRequest> {
 public:
  DistributedSampler(size_t size, size_t num_replicas = 1, size_t rank = 0, bool allow_duplicates = true)
      : size_(size), num_replicas_(num_replicas), rank_(rank), allow_duplicates_(allow_duplicates) {}

  // The epoch the next reset() shuffles for.
  void set_epoch(size_t epoch) { epoch_ = epoch; }
  size_t epoch() const { return epoch_; }

 protected:
  size_t local_sample_count() {
    return allow_duplicates_ ? (size_ + num_replicas_ - 1) / num_replicas_ : size_ / num_replicas_;
  }

  size_t size_;
  size_t num_replicas_;
  size_t rank_;
  size_t epoch_ = 0;
  bool allow_duplicates_;
};

// A rank's shard of a permutation drawn anew at each reset() from the epoch.
class DistributedRandomSampler : public DistributedSampler<> {
 public:
  DistributedRandomSampler(size_t size, size_t num_replicas = 1, size_t rank = 0, bool allow_duplicates = true);

  void reset(std::optional<size_t> new_size = std::nullopt) override;
  std::optional<std::vector<size_t>> next(size_t batch_size) override;
  // The epoch and the position ("epoch_", "sample_index_", LibTorch's keys).
  void save(serialize::OutputArchive& archive) const override;
  void load(serialize::InputArchive& archive) override;
  // The position in the whole order (the shard starts at rank * local count).
  size_t index() const noexcept;

 private:
  void populate_indices();

  size_t begin_index_ = 0;
  size_t end_index_ = 0;
  size_t sample_index_ = 0;
  std::vector<size_t> all_indices_;
};

// A rank's shard of 0, 1, ..., size - 1 (wrapping to 0 when padded).
class DistributedSequentialSampler : public DistributedSampler<> {
 public:
  DistributedSequentialSampler(size_t size, size_t num_replicas = 1, size_t rank = 0, bool allow_duplicates = true);

  void reset(std::optional<size_t> new_size = std::nullopt) override;
  std::optional<std::vector<size_t>> next(size_t batch_size) override;
  // The position ("sample_index_").
  void save(serialize::OutputArchive& archive) const override;
  void load(serialize::InputArchive& archive) override;
  size_t index() const noexcept;

 private:
  void populate_indices();

  size_t begin_index_ = 0;
  size_t end_index_ = 0;
  size_t sample_index_ = 0;
  std::vector<size_t> all_indices_;
};

}  // namespace dg::data::samplers
