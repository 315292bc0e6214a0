// CUDA kernels of the fused optimizer steps: fused_sgd_, fused_adam_,
// fused_rmsprop_, fused_adagrad_, the counterparts of kernels/cpu/optim.cpp.
// One thread per element runs the step of common/optim_step.h on the
// parameter, its gradient and its state (each through its own strides).
#include <cstdint>
#include <utility>

#include "common/optim_step.h"
#include "cuda/index_walk.cuh"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

struct DeviceSqrt {
  __device__ float operator()(float x) const { return sqrtf(x); }
  __device__ double operator()(double x) const { return sqrt(x); }
};

// One element of a fused step: the parameter (operand 0), the gradient
// (operand 1, read only) and the state, each at its own offset.
template <typename T, typename Step, int NT>
struct StepBody {
  Step step;
  T* data[NT];
  template <size_t... I>
  __device__ void run(const int64_t* off, std::index_sequence<I...>) const {
    step(data[0][off[0]], static_cast<const T&>(data[1][off[1]]), data[I + 2][off[I + 2]]..., DeviceSqrt{});
  }
  __device__ void operator()(const int64_t* off) const { run(off, std::make_index_sequence<NT - 2>{}); }
};

// Runs step over self, the gradient and the state tensors (self's shape,
// as the meta checked), each through its own strides.
template <typename T, typename Step, typename... State>
void fused_step(const char* op, const TensorBase& self, const TensorBase& grad, const Step& step,
                const State&... state) {
  constexpr int NT = 2 + sizeof...(State);
  StepBody<T, Step, NT> body{
      step, {self.template data_ptr<T>(), grad.template data_ptr<T>(), state.template data_ptr<T>()...}};
  walk::for_each<NT>(op, self, self.sizes(),
                     {DimVector(self.strides()), DimVector(grad.strides()), DimVector(state.strides())...}, body);
}

}  // namespace

template <typename T>
void fused_sgd_(const TensorBase& self, const TensorBase& grad, const TensorBase& momentum_buffer, double lr,
                double momentum, double dampening, double weight_decay, bool nesterov, bool first_step) {
  fused_step<T>("_fused_sgd_", self, grad,
                optim_step::make_sgd<T>(lr, momentum, dampening, weight_decay, nesterov, first_step), momentum_buffer);
}

template <typename T>
void fused_adam_(const TensorBase& self, const TensorBase& grad, const TensorBase& exp_avg,
                 const TensorBase& exp_avg_sq, const TensorBase& max_exp_avg_sq, double lr, double beta1, double beta2,
                 double eps, double weight_decay, bool amsgrad, bool decoupled_weight_decay, int64_t step) {
  fused_step<T>("_fused_adam_", self, grad,
                optim_step::make_adam<T>(lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled_weight_decay, step),
                exp_avg, exp_avg_sq, max_exp_avg_sq);
}

template <typename T>
void fused_rmsprop_(const TensorBase& self, const TensorBase& grad, const TensorBase& square_avg,
                    const TensorBase& grad_avg, const TensorBase& momentum_buffer, double lr, double alpha, double eps,
                    double weight_decay, double momentum, bool centered) {
  fused_step<T>("_fused_rmsprop_", self, grad,
                optim_step::make_rmsprop<T>(lr, alpha, eps, weight_decay, momentum, centered), square_avg, grad_avg,
                momentum_buffer);
}

template <typename T>
void fused_adagrad_(const TensorBase& self, const TensorBase& grad, const TensorBase& state_sum, double clr,
                    double weight_decay, double eps) {
  fused_step<T>("_fused_adagrad_", self, grad, optim_step::make_adagrad<T>(clr, weight_decay, eps), state_sum);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_fused_sgd_;
DG_INSTANTIATE_KERNEL_cuda_fused_adam_;
DG_INSTANTIATE_KERNEL_cuda_fused_rmsprop_;
DG_INSTANTIATE_KERNEL_cuda_fused_adagrad_;
