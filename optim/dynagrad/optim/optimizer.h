// dg::optim::Optimizer: LibTorch's torch::optim::Optimizer. An optimizer
// holds parameter groups (each a list of parameters and its own options),
// per-parameter state (momentum buffers, moment estimates, step counts) and
// default options; step() updates every parameter that has a gradient.
//
//   dg::optim::SGD opt(model->parameters(), dg::optim::SGDOptions(0.1).momentum(0.9));
//   opt.zero_grad();
//   loss.backward();
//   opt.step();
//
// The updates of SGD, Adam, AdamW, RMSprop and Adagrad each run as one fused
// in-place op per parameter (_fused_sgd_, _fused_adam_, ...: one pass over
// the parameter, its gradient and its state) under dg::NoGradGuard, bumping
// the parameter's version as in-place ops do.
//
// Checkpoints: dg::save(optimizer, path) / dg::load(optimizer, path) write and
// read every group's options and every parameter's state (dynagrad/serialize.h),
// so training resumed from a checkpoint continues exactly as if it had not
// stopped. The optimizer being loaded must hold the same groups with the same
// numbers of parameters (of the same shapes).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dynagrad/arg.h"
#include "dynagrad/serialize.h"
#include "dynagrad/tensor.h"

namespace dg::optim {

// The state one optimizer keeps for one parameter.
class OptimizerParamState {
 public:
  virtual std::unique_ptr<OptimizerParamState> clone() const;
  virtual void serialize(serialize::InputArchive& archive);
  virtual void serialize(serialize::OutputArchive& archive) const;
  virtual ~OptimizerParamState() = default;
};

template <typename Derived>
class OptimizerCloneableParamState : public OptimizerParamState {
  std::unique_ptr<OptimizerParamState> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
};

// The options of one parameter group.
class OptimizerOptions {
 public:
  virtual std::unique_ptr<OptimizerOptions> clone() const;
  virtual void serialize(serialize::InputArchive& archive);
  virtual void serialize(serialize::OutputArchive& archive) const;
  virtual ~OptimizerOptions() = default;
  virtual double get_lr() const;
  virtual void set_lr(const double lr);
  // The same through the base class by the options' own name (each optimizer's
  // options also have lr() and lr(value), with chaining, as LibTorch's).
  double lr() const { return get_lr(); }
  OptimizerOptions& lr(double lr) {
    set_lr(lr);
    return *this;
  }
};

template <typename Derived>
class OptimizerCloneableOptions : public OptimizerOptions {
 private:
  std::unique_ptr<OptimizerOptions> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
};

// Parameters that share options. A group made without options takes the
// optimizer's defaults when it is added.
class OptimizerParamGroup {
 public:
  OptimizerParamGroup(const OptimizerParamGroup& param_group)
      : params_(param_group.params()), options_(param_group.has_options() ? param_group.options().clone() : nullptr) {}
  OptimizerParamGroup(std::vector<Tensor> params) : params_(std::move(params)) {}  // NOLINT
  OptimizerParamGroup(std::vector<Tensor> params, std::unique_ptr<OptimizerOptions> options)
      : params_(std::move(params)), options_(std::move(options)) {}

  bool has_options() const;
  OptimizerOptions& options();
  const OptimizerOptions& options() const;
  void set_options(std::unique_ptr<OptimizerOptions> options);
  std::vector<Tensor>& params();
  const std::vector<Tensor>& params() const;

 protected:
  std::vector<Tensor> params_;
  std::unique_ptr<OptimizerOptions> options_;
};

class Optimizer {
 public:
  // Not copyable (LibTorch's rule: copy an optimizer through save/load).
  Optimizer(const Optimizer& optimizer) = delete;
  Optimizer(Optimizer&& optimizer) = default;

  explicit Optimizer(std::vector<OptimizerParamGroup> param_groups, std::unique_ptr<OptimizerOptions> defaults);
  // One group holding `parameters`.
  explicit Optimizer(std::vector<Tensor> parameters, std::unique_ptr<OptimizerOptions> defaults);

  // Adds a group; a group without options takes a copy of the defaults. A
  // parameter may belong to one group only (dg::Error otherwise).
  void add_param_group(const OptimizerParamGroup& param_group);

  virtual ~Optimizer() = default;

  using LossClosure = std::function<Tensor()>;
  // One update of every parameter that has a gradient. The closure, when
  // given, is called first with gradient recording on and its loss returned.
  virtual Tensor step(LossClosure closure = nullptr) = 0;

  // Adds parameters to the first group.
  void add_parameters(const std::vector<Tensor>& parameters);

  // Zeros the gradients of all parameters (LibTorch 1.13: detached and set
  // to zero); with set_to_none, drops them instead (PyTorch's option).
  void zero_grad(bool set_to_none = false);

  // The parameters of the first group.
  const std::vector<Tensor>& parameters() const noexcept;
  std::vector<Tensor>& parameters() noexcept;
  // The number of parameters in all groups (LibTorch's size()).
  size_t size() const noexcept;

  OptimizerOptions& defaults() noexcept;
  const OptimizerOptions& defaults() const noexcept;

  std::vector<OptimizerParamGroup>& param_groups() noexcept;
  const std::vector<OptimizerParamGroup>& param_groups() const noexcept;

  // Per-parameter state, keyed by the parameter's TensorImpl address (as
  // LibTorch's); param_state_key(p) gives the key.
  std::unordered_map<std::string, std::unique_ptr<OptimizerParamState>>& state() noexcept;
  const std::unordered_map<std::string, std::unique_ptr<OptimizerParamState>>& state() const noexcept;

  // Writes / reads every group's options and every parameter's state.
  virtual void save(serialize::OutputArchive& archive) const;
  virtual void load(serialize::InputArchive& archive);

 protected:
  // A fresh state of this optimizer's kind (for load).
  virtual std::unique_ptr<OptimizerParamState> make_param_state() const = 0;
  // Checks the options of a group (the constructor checks the defaults).
  virtual void check_options(const OptimizerOptions& /*options*/) const {}
  // The state of p, or null.
  OptimizerParamState* find_state(const Tensor& p) const;

  std::vector<OptimizerParamGroup> param_groups_;
  std::unordered_map<std::string, std::unique_ptr<OptimizerParamState>> state_;
  std::unique_ptr<OptimizerOptions> defaults_;
};

// The key of p's entry in Optimizer::state().
std::string param_state_key(const Tensor& p);

serialize::OutputArchive& operator<<(serialize::OutputArchive& archive, const Optimizer& optimizer);
serialize::InputArchive& operator>>(serialize::InputArchive& archive, Optimizer& optimizer);

}  // namespace dg::optim
