#include "dynagrad/generator.h"

#include <chrono>
#include <random>

#include "dynagrad/error.h"

namespace dg {

uint64_t GeneratorImpl::seed() {
  // LibTorch draws a fresh seed from the OS; so do we (random_device), mixed
  // with the clock where random_device is deterministic.
  std::random_device rd;
  const uint64_t s = (uint64_t(rd()) << 32 | rd()) ^
                     static_cast<uint64_t>(std::chrono::high_resolution_clock::now().time_since_epoch().count());
  set_current_seed(s);
  return s;
}

const Generator& default_generator() {
  static const Generator gen = make_generator(default_rng_seed_val);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().unsafe_get()->set_current_seed(seed); }

namespace detail {
PhiloxSeedOffset reserve_random(const std::optional<Generator>& generator, const char* op, uint64_t n) {
  if (generator) {
    DG_CHECK(generator->defined(), op, ": expected a defined Generator, got an undefined one (Generator())");
    return generator->unsafe_get()->reserve(n);
  }
  return default_generator().unsafe_get()->reserve(n);
}
}  // namespace detail

}  // namespace dg
