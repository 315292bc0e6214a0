#pragma once
// The caching logic behind both device allocators (CPU: cpu_allocator.cpp,
// CUDA: kernels/cuda/allocator.cu): freed blocks are kept in free lists per
// size class and per stream, and an allocation of the same class on the same
// stream takes one back instead of asking the device. A block freed on one
// stream is only reused on that stream, because work already queued there
// may still use it (the CPU has one "stream", 0).
//
// Sizes round up to a class: multiples of 64 bytes up to 512, then four
// classes per power of two (a block is at most 25% larger than asked).
// Blocks above 1 GiB are never cached. At most `limit` bytes sit unused in
// the cache; a block freed beyond that goes back to the device. When the
// device refuses an allocation, the cache is emptied and the request tried
// once more before the error.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

namespace dg::detail {

// How a BlockCache gets memory from its device and gives it back. alloc
// returns nullptr when the device is out of memory.
struct BlockBackend {
  const char* name;  // "CPU", "CUDA": for error messages
  void* (*alloc)(size_t nbytes, void* ctx);
  void (*free)(void* p, void* ctx);
  void* ctx = nullptr;
};

// The size every block of n's class has.
size_t block_class_bytes(size_t nbytes);

class BlockCache {
 public:
  BlockCache(BlockBackend backend, bool caching, size_t limit);
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;
  ~BlockCache();  // gives every cached block back

  // Never null: throws dg::Error naming the backend, the request and the
  // usage when the device cannot provide it even after emptying the cache.
  void* allocate(size_t nbytes, uint64_t stream = 0);
  // nbytes and stream as they were passed to allocate.
  void deallocate(void* p, size_t nbytes, uint64_t stream = 0);
  // Gives every cached block back to the device.
  void empty();

  size_t allocated() const { return allocated_.load(std::memory_order_relaxed); }
  size_t max_allocated() const { return max_allocated_.load(std::memory_order_relaxed); }
  void reset_max_allocated() { max_allocated_.store(allocated(), std::memory_order_relaxed); }
  size_t cached() const;
  size_t limit() const { return limit_; }
  bool caching() const { return caching_; }

 private:
  struct StreamLists;                   // one stream's free lists, by class
  StreamLists& lists(uint64_t stream);  // with mutex_ held
  void count_allocated(size_t bytes);

  const BlockBackend backend_;
  const bool caching_;
  const size_t limit_;
  mutable std::mutex mutex_;
  std::vector<std::pair<uint64_t, StreamLists*>> streams_;  // few streams: a linear search
  size_t cached_ = 0;
  std::atomic<size_t> allocated_{0}, max_allocated_{0};
};

}  // namespace dg::detail
