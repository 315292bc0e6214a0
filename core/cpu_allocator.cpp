#include "dynagrad/cpu_allocator.h"

#include <cstdlib>

#include "dynagrad/detail/block_cache.h"

namespace dg::cpu {
namespace {

bool cache_enabled() {
#if defined(__SANITIZE_ADDRESS__)
  return false;
#else
  const char* e = std::getenv("DG_CPU_CACHE");
  return !(e && e[0] == '0');
#endif
}

size_t limit_from_env() {
  if (const char* e = std::getenv("DG_CPU_CACHE_LIMIT_MB")) return static_cast<size_t>(std::atoll(e)) << 20;
  return size_t(1) << 30;
}

// Blocks are 64-byte aligned; aligned_alloc wants a multiple of that, which
// every size class is.
detail::BlockBackend cpu_backend() {
  return {"CPU", [](size_t nbytes, void*) { return std::aligned_alloc(64, nbytes); },
          [](void* p, void*) { std::free(p); }};
}

detail::BlockCache& cache() {
  // Leaked on purpose: storages owned by static tensors are freed during
  // static destruction, after a function-local static would be gone.
  static detail::BlockCache* c = new detail::BlockCache(cpu_backend(), cache_enabled(), limit_from_env());
  return *c;
}

}  // namespace

void* allocate(size_t nbytes) { return cache().allocate(nbytes); }
void deallocate(void* p, size_t nbytes) { cache().deallocate(p, nbytes); }
void empty_cache() { cache().empty(); }
size_t memory_allocated() { return cache().allocated(); }
size_t memory_cached() { return cache().cached(); }
size_t max_memory_allocated() { return cache().max_allocated(); }
void reset_peak_memory_stats() { cache().reset_max_allocated(); }
size_t cache_limit() { return cache().limit(); }
bool caching_enabled() { return cache().caching(); }

}  // namespace dg::cpu
