// dg::cuda device queries on the CUDA runtime (built when DG_CUDA finds nvcc).
#include <cuda_runtime.h>

#include <mutex>
#include <string>

#include "dynagrad/cuda.h"
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

}  // namespace

bool is_built() { return true; }
int device_count() { return probe().count; }
bool is_available() { return device_count() > 0; }
const char* unavailable_reason() { return probe().reason.c_str(); }

void synchronize() {
  DG_CHECK(is_available(), "cuda::synchronize: no CUDA device is available: ", unavailable_reason());
  const cudaError_t e = cudaDeviceSynchronize();
  DG_CHECK(e == cudaSuccess, "cuda::synchronize: queued CUDA work failed: ", cudaGetErrorName(e), " (",
           cudaGetErrorString(e), ")");
}

}  // namespace dg::cuda
