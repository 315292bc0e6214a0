#pragma once
// A sampler yields batch requests (by default a vector of dataset indices)
// until the epoch is over (LibTorch's torch::data::samplers::Sampler).
#include <cstddef>
#include <optional>
#include <vector>

namespace dg::serialize {
class OutputArchive;
class InputArchive;
}  // namespace dg::serialize

namespace dg::data::samplers {

template <typename BatchRequest = std::vector<size_t>>
class Sampler {
 public:
  using BatchRequestType = BatchRequest;

  virtual ~Sampler() = default;
  // Starts a new epoch, over `new_size` examples when given.
  virtual void reset(std::optional<size_t> new_size) = 0;
  // The next request of at most `batch_size` examples; nullopt when the epoch is over.
  virtual std::optional<BatchRequest> next(size_t batch_size) = 0;
  virtual void save(serialize::OutputArchive& archive) const = 0;
  virtual void load(serialize::InputArchive& archive) = 0;
};

}  // namespace dg::data::samplers
