#pragma once
// The CUDA device as dynagrad sees it. Every function works in every build:
// without CUDA support compiled in (DG_CUDA=OFF, or no nvcc at configure
// time), or on a machine without a GPU or driver, there are simply no
// devices.
//
// Streams: each device has one stream (made on first use, non-blocking with
// respect to the legacy default stream). Every kernel, copy and cuBLAS call
// of that device is queued on it, so work is ordered as the program wrote it
// and the host only waits where it must read a result (item(), cpu(),
// printing) or when synchronize() is called.
#include <cstddef>
#include <cstdint>

#include "dynagrad/device.h"

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

// The device new CUDA tensors without an index go to (0 unless set), and
// changing it. set_device throws for an index that is not a device.
int current_device();
void set_device(int index);
// `device` with its index filled in (kCUDA without an index is the current
// device); checks that the index names a device. CPU devices pass through
// without a call: every allocation asks.
Device resolve_cuda(Device device);
inline Device resolve(Device device) { return device.is_cuda() ? resolve_cuda(device) : device; }

// The caching allocator (detail::BlockCache over cudaMalloc/cudaFree), per
// device (-1: the current one): bytes held by tensors now and at most so far,
// bytes kept unused in the cache, and giving the cache back to the driver.
// All 0 / no-ops without a device.
size_t memory_allocated(int device = -1);
size_t max_memory_allocated(int device = -1);
size_t memory_cached(int device = -1);
void reset_peak_memory_stats(int device = -1);
void empty_cache();
// Device memory for a storage on `device` (-1: current). Throws dg::Error
// without a device or when out of memory.
void* allocate(size_t nbytes, int device = -1);
void deallocate(void* p, size_t nbytes, int device = -1);

// Copies nbytes between host and device memory or within device memory, in
// stream order on the CUDA side; returns once `dst` may be used by the host
// (a copy to the host waits for it, a copy from pageable host memory has
// been staged). `op` names the caller in errors.
void copy_bytes(const char* op, void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes);

}  // namespace dg::cuda
