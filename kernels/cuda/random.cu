// The random fills on the device: the kernels of kernels/common/random.h over
// this device's fill, with the Philox numbering of kernels/cpu/random.cpp, so
// a seed gives the same values on both devices.
#include <cstdint>

#include "common/random.h"
#include "cuda/loops.cuh"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

template <typename T, typename Dist>
__global__ void random_fill_kernel(T* p, int64_t n, uint64_t seed, uint64_t offset, Dist dist) {
  const int64_t stride = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    p[i] = dist(random::philox(seed, offset + static_cast<uint64_t>(i)));
}

template <typename T>
struct Identity {
  __device__ T operator()(T x) const { return x; }
};

template <typename T, typename P>
struct BernoulliCompare {
  __device__ T operator()(double u, P q) const { return static_cast<T>(u < static_cast<double>(q) ? 1 : 0); }
};

struct CudaRandom {
  template <typename T, typename Dist>
  static void fill(const TensorBase& self, const std::optional<Generator>& generator, const char* op,
                   const Dist& dist) {
    const random::FillTarget t = random::fill_target(self, generator, op);
    if (t.n == 0) return;
    {
      DeviceGuard guard(t.dst);
      random_fill_kernel<T><<<grid_for(t.n), kBlock, 0, stream(guard.device())>>>(
          static_cast<T*>(t.dst.data_ptr()), t.n, t.start.seed, t.start.offset, dist);
      check_launch(op);
    }
    if (t.temporary) gpu_unary<T>(op, self, t.dst, Identity<T>{});
  }

  template <typename T>
  static void bernoulli_compare(const TensorBase& self, const TensorBase& u, const TensorBase& p) {
    switch (p.dtype()) {
      case kFloat32: gpu_elementwise<T, double, float>("bernoulli_", self, BernoulliCompare<T, float>{}, u, p); break;
      case kInt64: gpu_elementwise<T, double, int64_t>("bernoulli_", self, BernoulliCompare<T, int64_t>{}, u, p); break;
      case kBool: gpu_elementwise<T, double, bool>("bernoulli_", self, BernoulliCompare<T, bool>{}, u, p); break;
      default: gpu_elementwise<T, double, double>("bernoulli_", self, BernoulliCompare<T, double>{}, u, p); break;
    }
  }
};

}  // namespace

DG_DEFINE_RANDOM_KERNELS(CudaRandom)

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_uniform_;
DG_INSTANTIATE_KERNEL_cuda_normal_;
DG_INSTANTIATE_KERNEL_cuda_log_normal_;
DG_INSTANTIATE_KERNEL_cuda_exponential_;
DG_INSTANTIATE_KERNEL_cuda_geometric_;
DG_INSTANTIATE_KERNEL_cuda_cauchy_;
DG_INSTANTIATE_KERNEL_cuda_bernoulli_scalar_;
DG_INSTANTIATE_KERNEL_cuda_bernoulli_tensor_;
DG_INSTANTIATE_KERNEL_cuda_random_from_;
DG_INSTANTIATE_KERNEL_cuda_random_to_;
DG_INSTANTIATE_KERNEL_cuda_random_;
