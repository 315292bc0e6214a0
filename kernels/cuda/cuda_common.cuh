#pragma once
// What every CUDA kernel file shares: the device's one stream, a guard that
// makes a tensor's device current, and error checks that turn a CUDA error
// into a dg::Error naming the op.
#include <cuda_runtime.h>

#include "dynagrad/cuda.h"
#include "dynagrad/tensor_base.h"

namespace dg::cuda {

// The stream every op of `device` is queued on (made on first use).
cudaStream_t stream(int device);

[[noreturn]] void throw_cuda_error(const char* op, const char* what, cudaError_t e);
inline void check(cudaError_t e, const char* op, const char* what) {
  if (e != cudaSuccess) throw_cuda_error(op, what, e);
}
// After every launch: a bad configuration or an earlier asynchronous fault.
inline void check_launch(const char* op) { check(cudaGetLastError(), op, "kernel launch"); }

// Makes `device` (an index) current while it lives; a no-op when it already is.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  explicit DeviceGuard(const TensorBase& t) : DeviceGuard(t.device().index) {}
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;
  int device() const { return device_; }

 private:
  int device_;
  int previous_;
};

// The stream of the device `t` lives on.
inline cudaStream_t stream_of(const TensorBase& t) { return stream(t.device().index); }

// Threads per block of the generic kernels, and the grid that covers n items
// (capped; the kernels loop over the rest with a grid stride).
constexpr int kBlock = 256;
inline unsigned grid_for(int64_t n) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  return static_cast<unsigned>(blocks < 65535 * 8 ? (blocks > 0 ? blocks : 1) : 65535 * 8);
}

// Device code: the body runs for every i in [0, n) that falls to this thread
// of a grid_for(n) launch, striding by the whole grid.
#define DG_GRID_STRIDE(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(blockDim.x) * gridDim.x)

}  // namespace dg::cuda
