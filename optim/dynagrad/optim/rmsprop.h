// dg::optim::RMSprop: LibTorch's torch::optim::RMSprop (Hinton), optionally
// centered (the gradient's running mean subtracted from its running square)
// and with momentum. Per parameter p with gradient g:
//   g = g + weight_decay * p
//   square_avg = alpha * square_avg + (1 - alpha) * g^2
//   grad_avg = alpha * grad_avg + (1 - alpha) * g                 (centered)
//   avg = sqrt(square_avg [- grad_avg^2]) + eps
//   buf = momentum * buf + g / avg, p = p - lr * buf               (momentum > 0)
//   p = p - lr * g / avg                                           (otherwise)
#pragma once

#include "dynagrad/optim/optimizer.h"

namespace dg::optim {

struct RMSpropOptions : public OptimizerCloneableOptions<RMSpropOptions> {
  RMSpropOptions(double lr = 1e-2);  // NOLINT
  DG_ARG(double, lr) = 1e-2;
  DG_ARG(double, alpha) = 0.99;
  DG_ARG(double, eps) = 1e-8;
  DG_ARG(double, weight_decay) = 0;
  DG_ARG(double, momentum) = 0;
  DG_ARG(bool, centered) = false;

 public:
  void serialize(serialize::InputArchive& archive) override;
  void serialize(serialize::OutputArchive& archive) const override;
  friend bool operator==(const RMSpropOptions& lhs, const RMSpropOptions& rhs);
  ~RMSpropOptions() override = default;
  double get_lr() const override;
  void set_lr(const double lr) override;
};

struct RMSpropParamState : public OptimizerCloneableParamState<RMSpropParamState> {
  DG_ARG(int64_t, step) = 0;
  DG_ARG(Tensor, square_avg);
  DG_ARG(Tensor, momentum_buffer) = {};
  DG_ARG(Tensor, grad_avg) = {};

 public:
  void serialize(serialize::InputArchive& archive) override;
  void serialize(serialize::OutputArchive& archive) const override;
  friend bool operator==(const RMSpropParamState& lhs, const RMSpropParamState& rhs);
  ~RMSpropParamState() override = default;
};

class RMSprop : public Optimizer {
 public:
  explicit RMSprop(std::vector<OptimizerParamGroup> param_groups, RMSpropOptions defaults = {});
  explicit RMSprop(std::vector<Tensor> params, RMSpropOptions defaults = {});

  Tensor step(LossClosure closure = nullptr) override;

 protected:
  std::unique_ptr<OptimizerParamState> make_param_state() const override;
  void check_options(const OptimizerOptions& options) const override;
};

}  // namespace dg::optim
