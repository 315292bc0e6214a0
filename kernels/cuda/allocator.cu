// The CUDA caching allocator: detail::BlockCache (the CPU allocator's caching
// logic) over cudaMalloc/cudaFree, so steady-state training makes no driver
// allocation calls. Blocks are reused only on the stream that freed them.
#include <cuda_runtime.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>

#include "cuda/cuda_common.cuh"
#include "dynagrad/detail/block_cache.h"
#include "dynagrad/error.h"

namespace dg::cuda {
namespace {

detail::BlockBackend cuda_backend() {
  return {"CUDA",
          [](size_t nbytes, void*) -> void* {
            void* p = nullptr;
            const cudaError_t e = cudaMalloc(&p, nbytes);
            if (e == cudaErrorMemoryAllocation) {
              (void)cudaGetLastError();  // let the cache empty and retry
              return nullptr;
            }
            DG_CHECK(e == cudaSuccess, "cuda::allocate: cudaMalloc of ", nbytes, " bytes failed: ", cudaGetErrorName(e),
                     " (", cudaGetErrorString(e), ")");
            return p;
          },
          [](void* p, void*) { (void)cudaFree(p); }};
}

size_t limit_from_env() {
  if (const char* e = std::getenv("DG_CUDA_CACHE_LIMIT_MB")) return static_cast<size_t>(std::atoll(e)) << 20;
  return ~size_t(0);  // like PyTorch: keep what was freed until empty_cache()
}

constexpr int kMaxDevices = 64;

// One cache per device, made on first use. Leaked on purpose: freeing device
// memory during static destruction races the CUDA runtime's own teardown.
detail::BlockCache& cache(int device) {
  static std::array<std::atomic<detail::BlockCache*>, kMaxDevices> caches{};
  static std::mutex made;
  if (device < 0) device = current_device();
  DG_CHECK(device < kMaxDevices, "cuda::allocate: device index ", device, " is beyond the ", kMaxDevices, " supported");
  detail::BlockCache* c = caches[device].load(std::memory_order_acquire);
  if (!c) {
    std::lock_guard<std::mutex> lock(made);
    c = caches[device].load(std::memory_order_relaxed);
    if (!c) {
      c = new detail::BlockCache(cuda_backend(), true, limit_from_env());
      caches[device].store(c, std::memory_order_release);
    }
  }
  return *c;
}

}  // namespace

// Every block is made and reused on its device's one stream (key 0 in the
// cache), so a block freed by the host may be handed out again at once: the
// next user's work is queued after the last user's.
void* allocate(size_t nbytes, int device) {
  DG_CHECK(is_available(), "cuda::allocate: cannot allocate ", nbytes,
           " bytes: no CUDA device is available: ", unavailable_reason());
  DeviceGuard g(device);
  return cache(g.device()).allocate(nbytes);
}
void deallocate(void* p, size_t nbytes, int device) {
  DeviceGuard g(device);  // the cache may give the block back to this device
  cache(g.device()).deallocate(p, nbytes);
}
size_t memory_allocated(int device) { return is_available() ? cache(device).allocated() : 0; }
size_t max_memory_allocated(int device) { return is_available() ? cache(device).max_allocated() : 0; }
size_t memory_cached(int device) { return is_available() ? cache(device).cached() : 0; }
void reset_peak_memory_stats(int device) {
  if (is_available()) cache(device).reset_max_allocated();
}
void empty_cache() {
  if (!is_available()) return;
  for (int d = 0; d < device_count() && d < kMaxDevices; ++d) {
    DeviceGuard g(d);
    cache(d).empty();
  }
}

}  // namespace dg::cuda
