#include "dynagrad/cpu_allocator.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "dynagrad/error.h"

namespace dg::cpu {
namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kSmallMax = 512;                 // classes 64, 128, ..., 512
constexpr size_t kLargestCached = size_t(1) << 30;  // bigger blocks are never cached
constexpr int kSmallClasses = static_cast<int>(kSmallMax / kAlignment);
constexpr int kNumClasses = kSmallClasses + 4 * 22;  // four per power of two, 2^9 .. 2^30

// The class of a request and the size every block of that class has.
struct SizeClass {
  int index;
  size_t bytes;
};

SizeClass size_class(size_t n) {
  if (n <= kSmallMax) {
    const size_t k = n == 0 ? 1 : (n + kAlignment - 1) / kAlignment;
    return {static_cast<int>(k) - 1, k * kAlignment};
  }
  // n in (2^p, 2^(p+1)]: classes 2^p * 5/4, 6/4, 7/4, 8/4.
  const int p = 63 - __builtin_clzll(static_cast<unsigned long long>(n - 1));
  const size_t base = size_t(1) << p, quarter = base / 4;
  const size_t q = (n - base + quarter - 1) / quarter;  // 1..4
  return {kSmallClasses + 4 * (p - 9) + static_cast<int>(q) - 1, base + q * quarter};
}

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

class Cache {
 public:
  void* allocate(size_t nbytes) {
    const SizeClass c = size_class(nbytes);
    allocated_.fetch_add(c.bytes, std::memory_order_relaxed);
    if (enabled_ && c.bytes <= kLargestCached) {
      std::lock_guard<std::mutex> lk(mutex_);
      std::vector<void*>& list = free_[c.index];
      if (!list.empty()) {
        void* p = list.back();
        list.pop_back();
        cached_ -= c.bytes;
        return p;
      }
    }
    void* p = std::aligned_alloc(kAlignment, c.bytes);
    if (!p) {
      // Cached blocks of other sizes may be what the system is missing.
      empty();
      p = std::aligned_alloc(kAlignment, c.bytes);
    }
    if (!p) {
      allocated_.fetch_sub(c.bytes, std::memory_order_relaxed);
      DG_CHECK(false, "CPU allocator: out of memory allocating ", nbytes, " bytes");
    }
    return p;
  }

  void deallocate(void* p, size_t nbytes) {
    if (!p) return;
    const SizeClass c = size_class(nbytes);
    allocated_.fetch_sub(c.bytes, std::memory_order_relaxed);
    if (enabled_ && c.bytes <= kLargestCached) {
      std::lock_guard<std::mutex> lk(mutex_);
      if (cached_ + c.bytes <= limit_) {
        free_[c.index].push_back(p);
        cached_ += c.bytes;
        return;
      }
    }
    std::free(p);
  }

  void empty() {
    std::vector<void*> blocks;
    {
      std::lock_guard<std::mutex> lk(mutex_);
      for (auto& list : free_) {
        blocks.insert(blocks.end(), list.begin(), list.end());
        list.clear();
        list.shrink_to_fit();
      }
      cached_ = 0;
    }
    for (void* p : blocks) std::free(p);
  }

  size_t allocated() const { return allocated_.load(std::memory_order_relaxed); }
  size_t cached() {
    std::lock_guard<std::mutex> lk(mutex_);
    return cached_;
  }
  size_t limit() const { return limit_; }
  bool enabled() const { return enabled_; }

 private:
  const bool enabled_ = cache_enabled();
  const size_t limit_ = limit_from_env();
  std::mutex mutex_;
  std::vector<void*> free_[kNumClasses];
  size_t cached_ = 0;
  std::atomic<size_t> allocated_{0};
};

Cache& cache() {
  // Leaked on purpose: storages owned by static tensors are freed during
  // static destruction, after a function-local static would be gone.
  static Cache* c = new Cache();
  return *c;
}

}  // namespace

void* allocate(size_t nbytes) { return cache().allocate(nbytes); }
void deallocate(void* p, size_t nbytes) { cache().deallocate(p, nbytes); }
void empty_cache() { cache().empty(); }
size_t memory_allocated() { return cache().allocated(); }
size_t memory_cached() { return cache().cached(); }
size_t cache_limit() { return cache().limit(); }
bool caching_enabled() { return cache().enabled(); }

}  // namespace dg::cpu
