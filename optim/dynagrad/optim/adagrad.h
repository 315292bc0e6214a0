// dg::optim::Adagrad: LibTorch's torch::optim::Adagrad (Duchi et al.). Per
// parameter p with gradient g, at step t (1, 2, ...):
//   g = g + weight_decay * p
//   sum = sum + g^2                     (sum starts at initial_accumulator_value)
//   p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)
// As in LibTorch, the constructor makes every parameter's state; parameters
// added later get theirs at their first step.
#pragma once

#include "dynagrad/optim/optimizer.h"

namespace dg::optim {

struct AdagradOptions : public OptimizerCloneableOptions<AdagradOptions> {
  AdagradOptions(double lr = 1e-2);  // NOLINT
  DG_ARG(double, lr) = 1e-2;
  DG_ARG(double, lr_decay) = 0;
  DG_ARG(double, weight_decay) = 0;
  DG_ARG(double, initial_accumulator_value) = 0;
  DG_ARG(double, eps) = 1e-10;

 public:
  void serialize(serialize::InputArchive& archive) override;
  void serialize(serialize::OutputArchive& archive) const override;
  friend bool operator==(const AdagradOptions& lhs, const AdagradOptions& rhs);
  ~AdagradOptions() override = default;
  double get_lr() const override;
  void set_lr(const double lr) override;
};

struct AdagradParamState : public OptimizerCloneableParamState<AdagradParamState> {
  DG_ARG(Tensor, sum);
  DG_ARG(int64_t, step) = 0;

 public:
  void serialize(serialize::InputArchive& archive) override;
  void serialize(serialize::OutputArchive& archive) const override;
  friend bool operator==(const AdagradParamState& lhs, const AdagradParamState& rhs);
  ~AdagradParamState() override = default;
};

class Adagrad : public Optimizer {
 public:
  explicit Adagrad(std::vector<OptimizerParamGroup> param_groups, AdagradOptions defaults = {});
  explicit Adagrad(std::vector<Tensor> params, AdagradOptions defaults = {});

  Tensor step(LossClosure closure = nullptr) override;

 protected:
  std::unique_ptr<OptimizerParamState> make_param_state() const override;
  void check_options(const OptimizerOptions& options) const override;
};

}  // namespace dg::optim
