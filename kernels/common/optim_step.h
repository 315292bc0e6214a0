#pragma once
// One optimizer step on one element, for both devices: the update rules of
// LibTorch 1.13's torch::optim (SGD, Adam/AdamW, RMSprop, Adagrad) written
// out as the sequence of tensor operations those run (each rounded in T, in
// the same order), fused into one function; one exception: Adam multiplies
// sqrt(v) by 1 / sqrt(1 - beta2^t) where LibTorch divides by the square root
// (one division less per element, ~15% of the step's time on the CPU; the
// results differ in the last bit). The CPU kernels
// (kernels/cpu/optim.cpp) call them on SIMD vectors (GCC vector extensions),
// the CUDA kernels (kernels/cuda/optim.cu) on single elements; V is that
// value type, T the element type, and `sqrt` the device's square root of V.
//
// Arguments: the parameter p and the state (written back), the gradient
// (read only). State an option leaves unused is not touched.
#include <cmath>
#include <cstdint>

#include "dynagrad/half.h"  // DG_HOST_DEVICE

namespace dg::optim_step {

template <typename T>
struct Sgd {
  T neg_lr, momentum, one_minus_dampening, weight_decay;
  bool has_weight_decay, has_momentum, nesterov, first_step;

  template <typename V, typename Sqrt>
  DG_HOST_DEVICE void operator()(V& p, const V& grad, V& buf, const Sqrt&) const {
    V g = grad;
    if (has_weight_decay) g = g + weight_decay * p;
    if (has_momentum) {
      if (first_step) {
        buf = g;
      } else {
        buf = buf * momentum;
        buf = buf + one_minus_dampening * g;
      }
      if (nesterov) g = g + momentum * buf;
      else g = buf;
    }
    p = p + neg_lr * g;
  }
};

template <typename T>
struct Adam {
  T weight_decay, keep;  // keep = 1 - lr * weight_decay (AdamW's decay)
  T beta1, one_minus_beta1, beta2, one_minus_beta2;
  T inv_bias_correction2_sqrt;  // 1 / sqrt(1 - beta2^t)
  T eps, neg_step_size;
  bool has_weight_decay, decoupled, amsgrad;

  template <typename V, typename Sqrt>
  DG_HOST_DEVICE void operator()(V& p, const V& grad, V& exp_avg, V& exp_avg_sq, V& max_exp_avg_sq,
                                 const Sqrt& sqrt) const {
    V g = grad;
    if (has_weight_decay) {
      if (decoupled) p = p * keep;
      else g = g + weight_decay * p;
    }
    exp_avg = exp_avg * beta1;
    exp_avg = exp_avg + one_minus_beta1 * g;
    exp_avg_sq = exp_avg_sq * beta2;
    exp_avg_sq = exp_avg_sq + one_minus_beta2 * g * g;
    V denom;
    if (amsgrad) {
      max_exp_avg_sq = max_exp_avg_sq > exp_avg_sq ? max_exp_avg_sq : exp_avg_sq;
      denom = sqrt(max_exp_avg_sq) * inv_bias_correction2_sqrt + eps;
    } else {
      denom = sqrt(exp_avg_sq) * inv_bias_correction2_sqrt + eps;
    }
    p = p + neg_step_size * (exp_avg / denom);
  }
};

template <typename T>
struct Rmsprop {
  T neg_lr, alpha, one_minus_alpha, eps, weight_decay, momentum;
  bool has_weight_decay, centered, has_momentum;

  template <typename V, typename Sqrt>
  DG_HOST_DEVICE void operator()(V& p, const V& grad, V& square_avg, V& grad_avg, V& buf, const Sqrt& sqrt) const {
    V g = grad;
    if (has_weight_decay) g = g + weight_decay * p;
    square_avg = square_avg * alpha;
    square_avg = square_avg + one_minus_alpha * g * g;
    V avg;
    if (centered) {
      grad_avg = grad_avg * alpha;
      grad_avg = grad_avg + one_minus_alpha * g;
      avg = sqrt(square_avg + T(-1) * grad_avg * grad_avg) + eps;
    } else {
      avg = sqrt(square_avg) + eps;
    }
    if (has_momentum) {
      buf = buf * momentum;
      buf = buf + g / avg;
      p = p + neg_lr * buf;
    } else {
      p = p + neg_lr * (g / avg);
    }
  }
};

template <typename T>
struct Adagrad {
  T neg_clr, weight_decay, eps;
  bool has_weight_decay;

  template <typename V, typename Sqrt>
  DG_HOST_DEVICE void operator()(V& p, const V& grad, V& sum, const Sqrt& sqrt) const {
    V g = grad;
    if (has_weight_decay) g = g + weight_decay * p;
    sum = sum + g * g;
    p = p + neg_clr * (g / (sqrt(sum) + eps));
  }
};

// The steps' constants from the ops' arguments (host side, shared by both
// devices' kernels).
template <typename T>
Sgd<T> make_sgd(double lr, double momentum, double dampening, double weight_decay, bool nesterov, bool first_step) {
  return Sgd<T>{T(-lr),        T(momentum), T(1 - dampening), T(weight_decay), weight_decay != 0,
                momentum != 0, nesterov,    first_step};
}

// bias corrections as torch::optim::Adam computes them: 1 - beta^step in
// double (std::pow), the step size lr / (1 - beta1^step).
template <typename T>
Adam<T> make_adam(double lr, double beta1, double beta2, double eps, double weight_decay, bool amsgrad, bool decoupled,
                  int64_t step) {
  const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(step));
  return Adam<T>{T(weight_decay),
                 T(1 - lr * weight_decay),
                 T(beta1),
                 T(1 - beta1),
                 T(beta2),
                 T(1 - beta2),
                 T(1 / std::sqrt(bias_correction2)),
                 T(eps),
                 T(-(lr / bias_correction1)),
                 weight_decay != 0,
                 decoupled,
                 amsgrad};
}

template <typename T>
Rmsprop<T> make_rmsprop(double lr, double alpha, double eps, double weight_decay, double momentum, bool centered) {
  return Rmsprop<T>{T(-lr),      T(alpha),          T(1 - alpha), T(eps),      T(weight_decay),
                    T(momentum), weight_decay != 0, centered,     momentum > 0};
}

template <typename T>
Adagrad<T> make_adagrad(double clr, double weight_decay, double eps) {
  return Adagrad<T>{T(-clr), T(weight_decay), T(eps), weight_decay != 0};
}

}  // namespace dg::optim_step
