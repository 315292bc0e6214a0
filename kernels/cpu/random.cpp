// The random fills (uniform_, normal_, bernoulli_, random_, exponential_,
// geometric_, cauchy_, log_normal_) on the CPU: the kernels of
// kernels/common/random.h over this device's fill, so a seed gives the values
// kernels/cuda/random.cu gives.
#include <cstdint>

#include "common/random.h"
#include "cpu/loops.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

struct CpuRandom {
  template <typename T, typename Dist>
  static void fill(const TensorBase& self, const std::optional<Generator>& generator, const char* op,
                   const Dist& dist) {
    const random::FillTarget t = random::fill_target(self, generator, op);
    T* p = static_cast<T*>(t.dst.data_ptr());
    const PhiloxSeedOffset so = t.start;
    parallel_for(t.n, 64, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i] = dist(random::philox(so.seed, so.offset + static_cast<uint64_t>(i)));
    });
    if (t.temporary) unary_kernel<T>(self, t.dst, [](T x) { return x; });
  }

  template <typename T>
  static void bernoulli_compare(const TensorBase& self, const TensorBase& u, const TensorBase& p) {
    visit_dtype(p.dtype(), [&]<typename P>() {
      elementwise<T, double, P>(
          self, [](double x, P q) { return static_cast<T>(x < static_cast<double>(q) ? 1 : 0); }, u, p);
    });
  }
};

}  // namespace

DG_DEFINE_RANDOM_KERNELS(CpuRandom)

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_uniform_;
DG_INSTANTIATE_KERNEL_cpu_normal_;
DG_INSTANTIATE_KERNEL_cpu_log_normal_;
DG_INSTANTIATE_KERNEL_cpu_exponential_;
DG_INSTANTIATE_KERNEL_cpu_geometric_;
DG_INSTANTIATE_KERNEL_cpu_cauchy_;
DG_INSTANTIATE_KERNEL_cpu_bernoulli_scalar_;
DG_INSTANTIATE_KERNEL_cpu_bernoulli_tensor_;
DG_INSTANTIATE_KERNEL_cpu_random_from_;
DG_INSTANTIATE_KERNEL_cpu_random_to_;
DG_INSTANTIATE_KERNEL_cpu_random_;
