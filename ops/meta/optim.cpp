// Shape rules of the fused optimizer steps (_fused_sgd_, _fused_adam_,
// _fused_rmsprop_, _fused_adagrad_): every tensor has self's shape, dtype
// and device, since the kernels walk them together element by element.
#include "ops/meta.h"

namespace dg::meta {

namespace {

void check_like_self(const char* op, const Tensor& self, const char* name, const Tensor& t) {
  DG_CHECK(t.sizes() == self.sizes(), op, ": expected ", name, " of self's shape ", self.sizes(), ", got shape ",
           t.sizes());
  DG_CHECK(t.dtype() == self.dtype(), op, ": expected ", name, " of self's dtype ", scalar_type_name(self.dtype()),
           ", got ", scalar_type_name(t.dtype()));
  DG_CHECK(t.device() == self.device(), op, ": expected ", name, " on self's device ", self.device(), ", got ",
           t.device());
}

}  // namespace

void fused_sgd(const char* op, const Tensor& self, const Tensor& grad, const Tensor& momentum_buffer, double lr,
               double momentum, double dampening, double weight_decay, bool nesterov, bool first_step) {
  check_like_self(op, self, "grad", grad);
  check_like_self(op, self, "momentum_buffer", momentum_buffer);
}

void fused_adam(const char* op, const Tensor& self, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const Tensor& max_exp_avg_sq, double lr, double beta1, double beta2, double eps, double weight_decay,
                bool amsgrad, bool decoupled_weight_decay, int64_t step) {
  check_like_self(op, self, "grad", grad);
  check_like_self(op, self, "exp_avg", exp_avg);
  check_like_self(op, self, "exp_avg_sq", exp_avg_sq);
  check_like_self(op, self, "max_exp_avg_sq", max_exp_avg_sq);
  DG_CHECK(step >= 1, op, ": expected step >= 1 (the number of this step), got ", step);
}

void fused_rmsprop(const char* op, const Tensor& self, const Tensor& grad, const Tensor& square_avg,
                   const Tensor& grad_avg, const Tensor& momentum_buffer, double lr, double alpha, double eps,
                   double weight_decay, double momentum, bool centered) {
  check_like_self(op, self, "grad", grad);
  check_like_self(op, self, "square_avg", square_avg);
  check_like_self(op, self, "grad_avg", grad_avg);
  check_like_self(op, self, "momentum_buffer", momentum_buffer);
}

void fused_adagrad(const char* op, const Tensor& self, const Tensor& grad, const Tensor& state_sum, double clr,
                   double weight_decay, double eps) {
  check_like_self(op, self, "grad", grad);
  check_like_self(op, self, "state_sum", state_sum);
}

}  // namespace dg::meta
