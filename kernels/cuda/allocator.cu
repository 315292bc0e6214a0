// The CUDA caching allocator: detail::BlockCache (the CPU allocator's caching
// logic) over cudaMalloc/cudaFree, so steady-state training makes no driver
// allocation calls. Blocks are reused only on the stream that freed them.
#include <cuda_runtime.h>

#include <cstdlib>

#include "dynagrad/cuda.h"
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

detail::BlockCache& cache() {
  // Leaked on purpose: freeing device memory during static destruction races
  // the CUDA runtime's own teardown.
  static detail::BlockCache* c = new detail::BlockCache(cuda_backend(), true, limit_from_env());
  return *c;
}

}  // namespace

void* allocate(size_t nbytes, uint64_t stream) {
  DG_CHECK(is_available(), "cuda::allocate: cannot allocate ", nbytes, " bytes: no CUDA device is available: ",
           unavailable_reason());
  return cache().allocate(nbytes, stream);
}
void deallocate(void* p, size_t nbytes, uint64_t stream) { cache().deallocate(p, nbytes, stream); }
size_t memory_allocated() { return is_available() ? cache().allocated() : 0; }
size_t max_memory_allocated() { return is_available() ? cache().max_allocated() : 0; }
size_t memory_cached() { return is_available() ? cache().cached() : 0; }
void reset_peak_memory_stats() {
  if (is_available()) cache().reset_max_allocated();
}
void empty_cache() {
  if (is_available()) cache().empty();
}

}  // namespace dg::cuda
