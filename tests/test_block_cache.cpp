// detail::BlockCache, the caching logic shared by the CPU and CUDA
// allocators, on a fake device that counts its calls and can run out of
// memory: reuse by size class and stream, the statistics, the limit, and the
// empty-and-retry on out-of-memory. (The CUDA allocator is this class over
// cudaMalloc; these checks are what can run without a GPU.)
#include <catch2/catch.hpp>

#include <cstdlib>
#include <set>
#include <vector>

#include "dynagrad/cuda.h"
#include "dynagrad/detail/block_cache.h"
#include "dynagrad/error.h"

using Catch::Matchers::Contains;
using dg::detail::BlockBackend;
using dg::detail::BlockCache;

namespace {

// A device with `budget` bytes; counts allocations and frees.
struct FakeDevice {
  size_t budget = size_t(1) << 40;
  size_t in_use = 0;
  int allocs = 0, frees = 0;
  std::vector<std::pair<void*, size_t>> live;

  BlockBackend backend() {
    return {"Fake",
            [](size_t n, void* ctx) -> void* {
              auto* d = static_cast<FakeDevice*>(ctx);
              if (d->in_use + n > d->budget) return nullptr;
              d->in_use += n;
              ++d->allocs;
              void* p = std::malloc(n);
              d->live.emplace_back(p, n);
              return p;
            },
            [](void* p, void* ctx) {
              auto* d = static_cast<FakeDevice*>(ctx);
              ++d->frees;
              for (auto it = d->live.begin(); it != d->live.end(); ++it) {
                if (it->first == p) {
                  d->in_use -= it->second;
                  d->live.erase(it);
                  break;
                }
              }
              std::free(p);
            },
            this};
  }
};

}  // namespace

TEST_CASE("block sizes round up to a class at most 25% (or 64 bytes) larger", "[allocator]") {
  size_t prev = 0;
  for (size_t n : {size_t(0), size_t(1), size_t(64), size_t(65), size_t(511), size_t(512), size_t(513), size_t(1000),
                   size_t(4096), size_t(4097), size_t(1) << 20, (size_t(1) << 20) + 1, size_t(3) << 29}) {
    const size_t b = dg::detail::block_class_bytes(n);
    CAPTURE(n, b);
    CHECK(b >= n);
    CHECK(b % 64 == 0);
    CHECK(b <= n + n / 4 + 64);
    CHECK(b >= prev);  // monotone
    prev = b;
  }
}

TEST_CASE("a freed block is reused for its size class on its stream only", "[allocator]") {
  FakeDevice dev;
  BlockCache cache(dev.backend(), /*caching=*/true, /*limit=*/size_t(1) << 30);
  void* a = cache.allocate(1000);
  CHECK(dev.allocs == 1);
  CHECK(cache.allocated() == dg::detail::block_class_bytes(1000));
  cache.deallocate(a, 1000);
  CHECK(cache.allocated() == 0);
  CHECK(cache.cached() == dg::detail::block_class_bytes(1000));
  void* b = cache.allocate(990);  // same class
  CHECK(b == a);
  CHECK(dev.allocs == 1);
  CHECK(cache.cached() == 0);
  cache.deallocate(b, 990);
  // Another stream does not get it: work queued there could still be using it.
  void* c = cache.allocate(1000, /*stream=*/7);
  CHECK(c != a);
  CHECK(dev.allocs == 2);
  cache.deallocate(c, 1000, 7);
  void* d = cache.allocate(1000, 7);
  CHECK(d == c);
  cache.deallocate(d, 1000, 7);
  // A different class is a new block.
  void* e = cache.allocate(5000);
  CHECK(dev.allocs == 3);
  cache.deallocate(e, 5000);
  cache.empty();
  CHECK(cache.cached() == 0);
  CHECK(dev.frees == 3);
  CHECK(dev.in_use == 0);
}

TEST_CASE("allocator statistics: in use, peak, cached, limit, caching off", "[allocator]") {
  FakeDevice dev;
  {
    BlockCache cache(dev.backend(), true, /*limit=*/4096);
    const size_t b1 = dg::detail::block_class_bytes(3000), b2 = dg::detail::block_class_bytes(2000);
    void* p = cache.allocate(3000);
    void* q = cache.allocate(2000);
    CHECK(cache.allocated() == b1 + b2);
    CHECK(cache.max_allocated() == b1 + b2);
    cache.deallocate(p, 3000);
    CHECK(cache.cached() == b1);
    cache.deallocate(q, 2000);  // would pass the 4096-byte limit: back to the device
    CHECK(cache.cached() == b1);
    CHECK(dev.frees == 1);
    CHECK(cache.allocated() == 0);
    CHECK(cache.max_allocated() == b1 + b2);
    cache.reset_max_allocated();
    CHECK(cache.max_allocated() == 0);
  }
  CHECK(dev.in_use == 0);  // the destructor gave the cached block back
  BlockCache uncached(dev.backend(), /*caching=*/false, size_t(1) << 30);
  void* r = uncached.allocate(100);
  uncached.deallocate(r, 100);
  CHECK(uncached.cached() == 0);
  CHECK(dev.in_use == 0);
}

TEST_CASE("out of device memory: the cache is emptied and the request retried, then a clear error", "[allocator]") {
  FakeDevice dev;
  dev.budget = 10000;
  BlockCache cache(dev.backend(), true, size_t(1) << 30);
  void* a = cache.allocate(6000);
  cache.deallocate(a, 6000);  // cached: the device still counts it
  CHECK(dev.in_use > 6000);
  // 8000 fits only once the cached 6000 go back.
  void* b = cache.allocate(8000);
  CHECK(b != nullptr);
  CHECK(cache.cached() == 0);
  CHECK(dev.frees == 1);
  CHECK_THROWS_WITH(cache.allocate(9000),
                    Contains("Fake allocator: out of memory allocating 9000 bytes") && Contains("in use by tensors"));
  cache.deallocate(b, 8000);
}

TEST_CASE("the CUDA allocator without a device reports nothing held and refuses to allocate", "[allocator][cuda]") {
  if (dg::cuda::is_available()) {
    void* p = dg::cuda::allocate(1 << 20);
    CHECK(dg::cuda::memory_allocated() >= size_t(1) << 20);
    dg::cuda::deallocate(p, 1 << 20);
    dg::cuda::empty_cache();
    CHECK(dg::cuda::memory_cached() == 0);
    return;
  }
  CHECK(dg::cuda::memory_allocated() == 0);
  CHECK(dg::cuda::max_memory_allocated() == 0);
  CHECK(dg::cuda::memory_cached() == 0);
  CHECK_NOTHROW(dg::cuda::empty_cache());
  CHECK_NOTHROW(dg::cuda::reset_peak_memory_stats());
  CHECK_THROWS_WITH(dg::cuda::allocate(64), Contains("cuda::allocate") && Contains("no CUDA device"));
}
