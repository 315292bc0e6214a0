#pragma once
// The CUDA device as dynagrad sees it. Every function works in every build:
// without CUDA support compiled in (DG_CUDA=OFF, or no nvcc at configure
// time), or on a machine without a GPU or driver, there are simply no
// devices.
#include <cstddef>
#include <cstdint>

namespace dg::cuda {

// Whether this build of dynagrad has CUDA support compiled in.
bool is_built();
// Number of usable CUDA devices: 0 without CUDA support, without a driver
// or without a GPU (the CUDA runtime's "no device"/"insufficient driver"
// errors mean "none" here, not failure).
int device_count();
// device_count() > 0.
bool is_available();
// Waits for all work queued on the current device. Throws dg::Error when no
// device is available (saying why) or when queued work failed.
void synchronize();
// Why no device is available ("" when one is): for skip messages.
const char* unavailable_reason();

// The CUDA caching allocator (detail::BlockCache over cudaMalloc/cudaFree):
// bytes held by tensors now and at most so far, bytes kept unused in the
// cache, and giving the cache back to the driver. All 0 / no-ops without a
// device.
size_t memory_allocated();
size_t max_memory_allocated();
size_t memory_cached();
void reset_peak_memory_stats();
void empty_cache();
// Device memory for a storage, reusable on `stream` once freed (0 is the
// device's one stream). Throws dg::Error without a device or when out of
// memory.
void* allocate(size_t nbytes, uint64_t stream = 0);
void deallocate(void* p, size_t nbytes, uint64_t stream = 0);

}  // namespace dg::cuda
