#pragma once
// Random number generators, with LibTorch's names: a `Generator` is a handle
// (copies share one state) that every random op takes as its optional last
// argument; without one, ops draw from the default generator that
// `dg::manual_seed` reseeds.
//
// The state is a seed and an offset into a counter-based stream
// (Philox4x32-10, kernels/common/random.h): element i of a draw is a function
// of (seed, offset + i) alone, so a draw is the same on every device and for
// every thread split, and a draw of n values advances the offset by n. The
// values differ from PyTorch's (whose CPU generator is an mt19937 and whose
// CUDA one walks Philox in another order); only the distributions agree.
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>

#include "dynagrad/device.h"
#include "dynagrad/intrusive_ptr.h"

namespace dg {

// LibTorch's default seed (c10::default_rng_seed_val).
constexpr uint64_t default_rng_seed_val = 67280421310721ULL;

// Where a draw starts in a generator's stream.
struct PhiloxSeedOffset {
  uint64_t seed = 0;
  uint64_t offset = 0;
};

class GeneratorImpl : public intrusive_target {
 public:
  explicit GeneratorImpl(uint64_t seed = default_rng_seed_val) : seed_(seed) {}
  // Seeds and rewinds to the start of the stream.
  void set_current_seed(uint64_t seed) {
    std::lock_guard<std::mutex> lock(mutex_);
    seed_ = seed;
    offset_ = 0;
  }
  uint64_t current_seed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return seed_;
  }
  // Reseeds from a non-deterministic source and returns the new seed.
  uint64_t seed();
  void set_offset(uint64_t offset) {
    std::lock_guard<std::mutex> lock(mutex_);
    offset_ = offset;
  }
  uint64_t get_offset() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return offset_;
  }
  // Reserves n values of the stream: returns where they start and advances.
  PhiloxSeedOffset reserve(uint64_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    PhiloxSeedOffset r{seed_, offset_};
    offset_ += n;
    return r;
  }
  // A generator serves every device (the stream does not depend on one).
  Device device() const { return Device(kCPU); }

 private:
  mutable std::mutex mutex_;
  uint64_t seed_;
  uint64_t offset_ = 0;
};
// LibTorch's per-device classes; here one class serves every device.
using CPUGeneratorImpl = GeneratorImpl;
using CUDAGeneratorImpl = GeneratorImpl;

class Generator {
 public:
  Generator() = default;  // undefined, like at::Generator()
  explicit Generator(intrusive_ptr<GeneratorImpl> impl) : impl_(std::move(impl)) {}
  bool defined() const { return static_cast<bool>(impl_); }
  void set_current_seed(uint64_t seed) { impl_->set_current_seed(seed); }
  uint64_t current_seed() const { return impl_->current_seed(); }
  uint64_t seed() { return impl_->seed(); }
  void set_offset(uint64_t offset) { impl_->set_offset(offset); }
  uint64_t get_offset() const { return impl_->get_offset(); }
  Device device() const { return impl_->device(); }
  GeneratorImpl* unsafe_get() const { return impl_.get(); }
  friend bool operator==(const Generator& a, const Generator& b) { return a.impl_ == b.impl_; }

 private:
  intrusive_ptr<GeneratorImpl> impl_;
};

// `dg::make_generator(42)` or, as LibTorch spells it,
// `dg::make_generator<dg::CPUGeneratorImpl>(42)`: a new generator.
template <typename Impl = GeneratorImpl, typename... Args>
Generator make_generator(Args&&... args) {
  return Generator(make_intrusive<Impl>(std::forward<Args>(args)...));
}

// The generator random ops use when given none (one for all devices).
const Generator& default_generator();
// Seeds the default generator and rewinds it (torch::manual_seed).
void manual_seed(uint64_t seed);

namespace detail {
// LibTorch's at::detail spellings.
inline Generator createCPUGenerator(uint64_t seed = default_rng_seed_val) { return make_generator(seed); }
inline const Generator& getDefaultCPUGenerator() { return default_generator(); }
// Reserves n values of `generator`'s stream (the default generator's when
// none is given): what every random kernel calls once per draw.
PhiloxSeedOffset reserve_random(const std::optional<Generator>& generator, const char* op, uint64_t n);
}  // namespace detail

}  // namespace dg
