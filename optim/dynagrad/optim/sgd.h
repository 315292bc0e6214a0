// dg::optim::SGD: LibTorch's torch::optim::SGD, stochastic gradient descent
// with optional momentum (heavy-ball or Nesterov), dampening and L2 weight
// decay. Per parameter p with gradient g:
//   g = g + weight_decay * p
//   buf = g (first step), else momentum * buf + (1 - dampening) * g
//   g = nesterov ? g + momentum * buf : buf          (when momentum != 0)
//   p = p - lr * g
#pragma once

#include "dynagrad/optim/optimizer.h"

namespace dg::optim {

struct SGDOptions : public OptimizerCloneableOptions<SGDOptions> {
  SGDOptions(double lr);  // NOLINT (implicit, as LibTorch's)
  DG_ARG(double, lr);
  DG_ARG(double, momentum) = 0;
  DG_ARG(double, dampening) = 0;
  DG_ARG(double, weight_decay) = 0;
  DG_ARG(bool, nesterov) = false;

 public:
  void serialize(serialize::InputArchive& archive) override;
  void serialize(serialize::OutputArchive& archive) const override;
  friend bool operator==(const SGDOptions& lhs, const SGDOptions& rhs);
  ~SGDOptions() override = default;
  double get_lr() const override;
  void set_lr(const double lr) override;
};

struct SGDParamState : public OptimizerCloneableParamState<SGDParamState> {
  DG_ARG(Tensor, momentum_buffer);

 public:
  void serialize(serialize::InputArchive& archive) override;
  void serialize(serialize::OutputArchive& archive) const override;
  friend bool operator==(const SGDParamState& lhs, const SGDParamState& rhs);
  ~SGDParamState() override = default;
};

class SGD : public Optimizer {
 public:
  explicit SGD(std::vector<OptimizerParamGroup> param_groups, SGDOptions defaults);
  explicit SGD(std::vector<Tensor> params, SGDOptions defaults);

  Tensor step(LossClosure closure = nullptr) override;

 protected:
  std::unique_ptr<OptimizerParamState> make_param_state() const override;
  void check_options(const OptimizerOptions& options) const override;
};

}  // namespace dg::optim
