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
int current_device() { return 0; }
void set_device(int index) { DG_CHECK(false, "cuda::set_device: no CUDA device is available: ", kReason); }
Device resolve_cuda(Device device) {
  DG_CHECK(false, "cuda: no CUDA device is available: ", kReason);
  return device;
}
size_t memory_allocated(int) { return 0; }
size_t max_memory_allocated(int) { return 0; }
size_t memory_cached(int) { return 0; }
void reset_peak_memory_stats(int) {}
void empty_cache() {}
void* allocate(size_t nbytes, int) {
  DG_CHECK(false, "cuda::allocate: cannot allocate ", nbytes, " bytes: no CUDA device is available: ", kReason);
}
void deallocate(void*, size_t, int) {}
void copy_bytes(const char* op, void*, Device, const void*, Device, size_t) {
  DG_CHECK(false, op, ": no CUDA device is available: ", kReason);
}

}  // namespace dg::cuda
