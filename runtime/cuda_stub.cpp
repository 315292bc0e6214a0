// dg::cuda in a build without CUDA support (DG_CUDA=OFF, or no nvcc found
// when configuring): no devices. CMakeLists.txt compiles this file only then.
#include "dynagrad/cuda.h"
#include "dynagrad/error.h"

namespace dg::cuda {

namespace {
constexpr const char* kReason =
    "dynagrad was built without CUDA support (configure with -DDG_CUDA=ON on a machine with the CUDA toolkit)";
}

bool is_built() { return false; }
int device_count() { return 0; }
bool is_available() { return false; }
const char* unavailable_reason() { return kReason; }
void synchronize() { DG_CHECK(false, "cuda::synchronize: no CUDA device is available: ", kReason); }
size_t memory_allocated() { return 0; }
size_t max_memory_allocated() { return 0; }
size_t memory_cached() { return 0; }
void reset_peak_memory_stats() {}
void empty_cache() {}
void* allocate(size_t nbytes, uint64_t) {
  DG_CHECK(false, "cuda::allocate: cannot allocate ", nbytes, " bytes: no CUDA device is available: ", kReason);
}
void deallocate(void*, size_t, uint64_t) {}

}  // namespace dg::cuda
