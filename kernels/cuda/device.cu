// dg::cuda device queries, the current device, each device's stream and
// host<->device copies, on the CUDA runtime (built when DG_CUDA finds nvcc).
#include <cuda_runtime.h>

#include <array>
#include <cstring>
#include <mutex>
#include <string>

#include "cuda/cuda_common.cuh"
#include "dynagrad/error.h"

namespace dg::cuda {
namespace {

struct Probe {
  int count = 0;
  std::string reason;
};

// Asked once: the answer cannot change while the process runs.
const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      // No driver, an old driver or no GPU: no devices. The runtime keeps
      // the error as "last error"; clear it so later checks are not confused.
      (void)cudaGetLastError();
      r.reason = std::string("the CUDA runtime reports ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
      return r;
    }
    r.count = n;
    if (n == 0) r.reason = "the CUDA runtime finds no GPU";
    return r;
  }();
  return p;
}

constexpr int kMaxDevices = 64;
// The device this thread last made current through us (-1: not asked yet).
thread_local int t_current = -1;

void require_device(const char* op) {
  DG_CHECK(is_available(), op, ": no CUDA device is available: ", unavailable_reason());
}

}  // namespace

bool is_built() { return true; }
int device_count() { return probe().count; }
bool is_available() { return device_count() > 0; }
const char* unavailable_reason() { return probe().reason.c_str(); }

[[noreturn]] void throw_cuda_error(const char* op, const char* what, cudaError_t e) {
  (void)cudaGetLastError();  // a sticky error stays; a recoverable one is cleared
  DG_CHECK(false, op, ": ", what, " failed on the GPU: ", cudaGetErrorName(e), " (", cudaGetErrorString(e), ")");
}

int current_device() {
  if (t_current < 0) {
    if (!is_available()) return 0;
    int d = 0;
    check(cudaGetDevice(&d), "cuda::current_device", "cudaGetDevice");
    t_current = d;
  }
  return t_current;
}

void set_device(int index) {
  require_device("cuda::set_device");
  DG_CHECK(index >= 0 && index < device_count(), "cuda::set_device: expected a device index in [0, ", device_count(),
           "), got ", index);
  if (index == t_current) return;
  check(cudaSetDevice(index), "cuda::set_device", "cudaSetDevice");
  t_current = index;
}

Device resolve_cuda(Device device) {
  require_device("cuda");
  const int index = device.index < 0 ? current_device() : device.index;
  DG_CHECK(index < device_count(), "cuda: expected a device index in [0, ", device_count(), "), got cuda:", index);
  return Device(kCUDA, static_cast<int8_t>(index));
}

void synchronize() {
  require_device("cuda::synchronize");
  const cudaError_t e = cudaDeviceSynchronize();
  DG_CHECK(e == cudaSuccess, "cuda::synchronize: queued CUDA work failed: ", cudaGetErrorName(e), " (",
           cudaGetErrorString(e), ")");
}

cudaStream_t stream(int device) {
  static std::array<cudaStream_t, kMaxDevices> streams{};
  static std::array<std::once_flag, kMaxDevices> made;
  if (device < 0) device = current_device();
  DG_CHECK(device < kMaxDevices, "cuda: device index ", device, " is beyond the ", kMaxDevices, " supported");
  std::call_once(made[device], [&] {
    DeviceGuard g(device);
    check(cudaStreamCreateWithFlags(&streams[device], cudaStreamNonBlocking), "cuda", "cudaStreamCreate");
  });
  return streams[device];
}

DeviceGuard::DeviceGuard(int device) : device_(device < 0 ? current_device() : device), previous_(current_device()) {
  if (device_ != previous_) set_device(device_);
}
DeviceGuard::~DeviceGuard() {
  if (device_ != previous_) (void)cudaSetDevice(previous_), t_current = previous_;
}

void copy_bytes(const char* op, void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
  if (nbytes == 0) return;
  require_device(op);
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, nbytes);
    return;
  }
  if (dst_device.is_cpu()) {  // device to host: wait for the data
    DeviceGuard g(src_device.index);
    cudaStream_t s = stream(g.device());
    check(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToHost, s), op, "copy to the host");
    check(cudaStreamSynchronize(s), op, "copy to the host");
    return;
  }
  DeviceGuard g(dst_device.index);
  cudaStream_t s = stream(g.device());
  if (src_device.is_cpu()) {
    // From pageable memory the call returns once the source is staged, so
    // the caller may free or change it.
    check(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, s), op, "copy to the device");
  } else if (src_device.index == g.device()) {
    check(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, s), op, "device copy");
  } else {
    // Between devices: the source's queued writes first, then the copy on the
    // destination's stream.
    check(cudaStreamSynchronize(stream(src_device.index)), op, "peer copy");
    check(cudaMemcpyPeerAsync(dst, g.device(), src, src_device.index, nbytes, s), op, "peer copy");
    // The copy still reads src after we return: later work on the source's
    // stream (a write to src, or its block reused once the caller frees it)
    // must wait for it.
    cudaEvent_t read_done;
    check(cudaEventCreateWithFlags(&read_done, cudaEventDisableTiming), op, "peer copy");
    check(cudaEventRecord(read_done, s), op, "peer copy");
    check(cudaStreamWaitEvent(stream(src_device.index), read_done, 0), op, "peer copy");
    check(cudaEventDestroy(read_done), op, "peer copy");  // released once it completes
  }
}

}  // namespace dg::cuda
