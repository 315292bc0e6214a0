#include "dynagrad/detail/block_cache.h"

#include <array>

#include "dynagrad/error.h"

namespace dg::detail {
namespace {

constexpr size_t kGranule = 64;
constexpr size_t kSmallMax = 512;                   // classes 64, 128, ..., 512
constexpr size_t kLargestCached = size_t(1) << 30;  // bigger blocks are never cached
constexpr int kSmallClasses = static_cast<int>(kSmallMax / kGranule);
constexpr int kNumClasses = kSmallClasses + 4 * 22;  // four per power of two, 2^9 .. 2^30

struct SizeClass {
  int index;  // meaningful when bytes <= kLargestCached
  size_t bytes;
};

SizeClass size_class(size_t n) {
  if (n <= kSmallMax) {
    const size_t k = n == 0 ? 1 : (n + kGranule - 1) / kGranule;
    return {static_cast<int>(k) - 1, k * kGranule};
  }
  // n in (2^p, 2^(p+1)]: classes 2^p * 5/4, 6/4, 7/4, 8/4.
  const int p = 63 - __builtin_clzll(static_cast<unsigned long long>(n - 1));
  const size_t base = size_t(1) << p, quarter = base / 4;
  const size_t q = (n - base + quarter - 1) / quarter;  // 1..4
  return {kSmallClasses + 4 * (p - 9) + static_cast<int>(q) - 1, base + q * quarter};
}

}  // namespace

struct BlockCache::StreamLists {
  std::array<std::vector<void*>, kNumClasses> by_class;
};

size_t block_class_bytes(size_t nbytes) { return size_class(nbytes).bytes; }

BlockCache::BlockCache(BlockBackend backend, bool caching, size_t limit)
    : backend_(backend), caching_(caching), limit_(limit) {}

BlockCache::~BlockCache() {
  empty();
  for (auto& s : streams_) delete s.second;
}

BlockCache::StreamLists& BlockCache::lists(uint64_t stream) {
  for (auto& s : streams_)
    if (s.first == stream) return *s.second;
  streams_.emplace_back(stream, new StreamLists());
  return *streams_.back().second;
}

void BlockCache::count_allocated(size_t bytes) {
  const size_t now = allocated_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  size_t peak = max_allocated_.load(std::memory_order_relaxed);
  while (now > peak && !max_allocated_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {}
}

void* BlockCache::allocate(size_t nbytes, uint64_t stream) {
  const SizeClass c = size_class(nbytes);
  if (caching_ && c.bytes <= kLargestCached) {
    std::lock_guard<std::mutex> lk(mutex_);
    std::vector<void*>& list = lists(stream).by_class[static_cast<size_t>(c.index)];
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
      cached_ -= c.bytes;
      count_allocated(c.bytes);
      return p;
    }
  }
  void* p = backend_.alloc(c.bytes, backend_.ctx);
  if (!p) {
    // Cached blocks of other sizes or streams may be what the device is missing.
    empty();
    p = backend_.alloc(c.bytes, backend_.ctx);
  }
  DG_CHECK(p, backend_.name, " allocator: out of memory allocating ", nbytes, " bytes (", allocated(),
           " bytes in use by tensors; the cache was emptied and the allocation retried)");
  count_allocated(c.bytes);
  return p;
}

void BlockCache::deallocate(void* p, size_t nbytes, uint64_t stream) {
  if (!p) return;
  const SizeClass c = size_class(nbytes);
  allocated_.fetch_sub(c.bytes, std::memory_order_relaxed);
  if (caching_ && c.bytes <= kLargestCached) {
    std::lock_guard<std::mutex> lk(mutex_);
    if (cached_ + c.bytes <= limit_) {
      lists(stream).by_class[static_cast<size_t>(c.index)].push_back(p);
      cached_ += c.bytes;
      return;
    }
  }
  backend_.free(p, backend_.ctx);
}

void BlockCache::empty() {
  std::vector<void*> blocks;
  {
    std::lock_guard<std::mutex> lk(mutex_);
    for (auto& s : streams_) {
      for (std::vector<void*>& list : s.second->by_class) {
        blocks.insert(blocks.end(), list.begin(), list.end());
        list.clear();
        list.shrink_to_fit();
      }
    }
    cached_ = 0;
  }
  for (void* p : blocks) backend_.free(p, backend_.ctx);
}

size_t BlockCache::cached() const {
  std::lock_guard<std::mutex> lk(mutex_);
  return cached_;
}

}  // namespace dg::detail
