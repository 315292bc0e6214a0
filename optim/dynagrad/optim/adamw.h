// dg::optim::AdamW: LibTorch's torch::optim::AdamW (Loshchilov & Hutter): Adam
// with decoupled weight decay (p = p * (1 - lr * weight_decay) before the
// update, the gradient left as is) and the AMSGrad variant. Per parameter
// p with gradient g, at step t (1, 2, ...):
//   p = p * (1 - lr * weight_decay)
//   m = beta1 * m + (1 - beta1) * g,   v = beta2 * v + (1 - beta2) * g^2
//   v_max = max(v_max, v)                                    (amsgrad)
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v or v_max) / sqrt(1 - beta2^t) + eps)
#pragma once

#include <tuple>

#include "dynagrad/optim/optimizer.h"

namespace dg::optim {

struct AdamWOptions : public OptimizerCloneableOptions<AdamWOptions> {
  AdamWOptions(double lr = 1e-3);  // NOLINT
  DG_ARG(double, lr) = 1e-3;
  typedef std::tuple<double, double> betas_t;
  DG_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  DG_ARG(double, eps) = 1e-8;
  DG_ARG(double, weight_decay) = 1e-2;
  DG_ARG(bool, amsgrad) = false;

 public:
  void serialize(serialize::InputArchive& archive) override;
  void serialize(serialize::OutputArchive& archive) const override;
  friend bool operator==(const AdamWOptions& lhs, const AdamWOptions& rhs);
  ~AdamWOptions() override = default;
  double get_lr() const override;
  void set_lr(const double lr) override;
};

struct AdamWParamState : public OptimizerCloneableParamState<AdamWParamState> {
  DG_ARG(int64_t, step) = 0;
  DG_ARG(Tensor, exp_avg);
  DG_ARG(Tensor, exp_avg_sq);
  DG_ARG(Tensor, max_exp_avg_sq) = {};

 public:
  void serialize(serialize::InputArchive& archive) override;
  void serialize(serialize::OutputArchive& archive) const override;
  friend bool operator==(const AdamWParamState& lhs, const AdamWParamState& rhs);
  ~AdamWParamState() override = default;
};

class AdamW : public Optimizer {
 public:
  explicit AdamW(std::vector<OptimizerParamGroup> param_groups, AdamWOptions defaults = {});
  explicit AdamW(std::vector<Tensor> params, AdamWOptions defaults = {});

  Tensor step(LossClosure closure = nullptr) override;

 protected:
  std::unique_ptr<OptimizerParamState> make_param_state() const override;
  void check_options(const OptimizerOptions& options) const override;
};

}  // namespace dg::optim
