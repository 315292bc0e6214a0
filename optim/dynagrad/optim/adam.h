// dg::optim::Adam: LibTorch's torch::optim::Adam (Kingma & Ba), with L2
// weight decay added to the gradient and the AMSGrad variant. Per parameter
// p with gradient g, at step t (1, 2, ...):
//   g = g + weight_decay * p
//   m = beta1 * m + (1 - beta1) * g,   v = beta2 * v + (1 - beta2) * g^2
//   v_max = max(v_max, v)                                    (amsgrad)
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v or v_max) / sqrt(1 - beta2^t) + eps)
#pragma once

#include <tuple>

#include "dynagrad/optim/optimizer.h"

namespace dg::optim {

struct AdamOptions : public OptimizerCloneableOptions<AdamOptions> {
  AdamOptions(double lr = 1e-3);  // NOLINT
  DG_ARG(double, lr) = 1e-3;
  typedef std::tuple<double, double> betas_t;
  DG_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  DG_ARG(double, eps) = 1e-8;
  DG_ARG(double, weight_decay) = 0;
  DG_ARG(bool, amsgrad) = false;

 public:
  void serialize(serialize::InputArchive& archive) override;
  void serialize(serialize::OutputArchive& archive) const override;
  friend bool operator==(const AdamOptions& lhs, const AdamOptions& rhs);
  ~AdamOptions() override = default;
  double get_lr() const override;
  void set_lr(const double lr) override;
};

struct AdamParamState : public OptimizerCloneableParamState<AdamParamState> {
  DG_ARG(int64_t, step) = 0;
  DG_ARG(Tensor, exp_avg);
  DG_ARG(Tensor, exp_avg_sq);
  DG_ARG(Tensor, max_exp_avg_sq) = {};

 public:
  void serialize(serialize::InputArchive& archive) override;
  void serialize(serialize::OutputArchive& archive) const override;
  friend bool operator==(const AdamParamState& lhs, const AdamParamState& rhs);
  ~AdamParamState() override = default;
};

class Adam : public Optimizer {
 public:
  explicit Adam(std::vector<OptimizerParamGroup> param_groups, AdamOptions defaults = {});
  explicit Adam(std::vector<Tensor> params, AdamOptions defaults = {});

  Tensor step(LossClosure closure = nullptr) override;

 protected:
  std::unique_ptr<OptimizerParamState> make_param_state() const override;
  void check_options(const OptimizerOptions& options) const override;
};

}  // namespace dg::optim
