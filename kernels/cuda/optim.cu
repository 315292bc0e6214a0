// CUDA kernels of the fused optimizer steps: fused_sgd_, fused_adam_,
// fused_rmsprop_, fused_adagrad_, the counterparts of kernels/cpu/optim.cpp.
// One thread per element runs the step of common/optim_step.h on the
// parameter, its gradient and its state (each through its own strides).
#include <array>
#include <cstdint>

#include "common/optim_step.h"
#include "cuda/index_walk.cuh"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

struct DeviceSqrt {
  __device__ float operator()(float x) const { return sqrtf(x); }
  __device__ double operator()(double x) const { return sqrt(x); }
};

template <size_t NT>
walk::Strides<int(NT)> strides_of(const std::array<const TensorBase*, NT>& t) {
  walk::Strides<int(NT)> s;
  for (size_t k = 0; k < NT; ++k) s[k] = DimVector(t[k]->strides());
  return s;
}

template <typename T>
struct SgdBody {
  optim_step::Sgd<T> step;
  T *p, *buf;
  const T* g;
  __device__ void operator()(const int64_t* off) const { step(p[off[0]], g[off[1]], buf[off[2]], DeviceSqrt{}); }
};

template <typename T>
struct AdamBody {
  optim_step::Adam<T> step;
  T *p, *m, *v, *vmax;
  const T* g;
  __device__ void operator()(const int64_t* off) const {
    step(p[off[0]], g[off[1]], m[off[2]], v[off[3]], vmax[off[4]], DeviceSqrt{});
  }
};

template <typename T>
struct RmspropBody {
  optim_step::Rmsprop<T> step;
  T *p, *sq, *ga, *buf;
  const T* g;
  __device__ void operator()(const int64_t* off) const {
    step(p[off[0]], g[off[1]], sq[off[2]], ga[off[3]], buf[off[4]], DeviceSqrt{});
  }
};

template <typename T>
struct AdagradBody {
  optim_step::Adagrad<T> step;
  T *p, *sum;
  const T* g;
  __device__ void operator()(const int64_t* off) const { step(p[off[0]], g[off[1]], sum[off[2]], DeviceSqrt{}); }
};

}  // namespace

template <typename T>
void fused_sgd_(const TensorBase& self, const TensorBase& grad, const TensorBase& momentum_buffer, double lr,
                double momentum, double dampening, double weight_decay, bool nesterov, bool first_step) {
  const SgdBody<T> body{optim_step::make_sgd<T>(lr, momentum, dampening, weight_decay, nesterov, first_step),
                        self.data_ptr<T>(), momentum_buffer.data_ptr<T>(), grad.data_ptr<T>()};
  walk::for_each<3>("_fused_sgd_", self, self.sizes(), strides_of<3>({&self, &grad, &momentum_buffer}), body);
}

template <typename T>
void fused_adam_(const TensorBase& self, const TensorBase& grad, const TensorBase& exp_avg,
                 const TensorBase& exp_avg_sq, const TensorBase& max_exp_avg_sq, double lr, double beta1, double beta2,
                 double eps, double weight_decay, bool amsgrad, bool decoupled_weight_decay, int64_t step) {
  const AdamBody<T> body{
      optim_step::make_adam<T>(lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled_weight_decay, step),
      self.data_ptr<T>(),
      exp_avg.data_ptr<T>(),
      exp_avg_sq.data_ptr<T>(),
      max_exp_avg_sq.data_ptr<T>(),
      grad.data_ptr<T>()};
  walk::for_each<5>("_fused_adam_", self, self.sizes(),
                    strides_of<5>({&self, &grad, &exp_avg, &exp_avg_sq, &max_exp_avg_sq}), body);
}

template <typename T>
void fused_rmsprop_(const TensorBase& self, const TensorBase& grad, const TensorBase& square_avg,
                    const TensorBase& grad_avg, const TensorBase& momentum_buffer, double lr, double alpha, double eps,
                    double weight_decay, double momentum, bool centered) {
  const RmspropBody<T> body{optim_step::make_rmsprop<T>(lr, alpha, eps, weight_decay, momentum, centered),
                            self.data_ptr<T>(),
                            square_avg.data_ptr<T>(),
                            grad_avg.data_ptr<T>(),
                            momentum_buffer.data_ptr<T>(),
                            grad.data_ptr<T>()};
  walk::for_each<5>("_fused_rmsprop_", self, self.sizes(),
                    strides_of<5>({&self, &grad, &square_avg, &grad_avg, &momentum_buffer}), body);
}

template <typename T>
void fused_adagrad_(const TensorBase& self, const TensorBase& grad, const TensorBase& state_sum, double clr,
                    double weight_decay, double eps) {
  const AdagradBody<T> body{optim_step::make_adagrad<T>(clr, weight_decay, eps), self.data_ptr<T>(),
                            state_sum.data_ptr<T>(), grad.data_ptr<T>()};
  walk::for_each<3>("_fused_adagrad_", self, self.sizes(), strides_of<3>({&self, &grad, &state_sum}), body);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_fused_sgd_;
DG_INSTANTIATE_KERNEL_cuda_fused_adam_;
DG_INSTANTIATE_KERNEL_cuda_fused_rmsprop_;
DG_INSTANTIATE_KERNEL_cuda_fused_adagrad_;
