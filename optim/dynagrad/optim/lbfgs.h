// dg::optim::LBFGS: LibTorch's torch::optim::LBFGS, limited-memory BFGS over
// all parameters as one flat vector (one parameter group only). step(closure)
// runs up to max_iter iterations, each calling the closure (which must
// recompute the loss and its gradients) once, or more with the strong-Wolfe
// line search (line_search_fn = "strong_wolfe"); without a line search each
// iteration moves by lr times the search direction (lr * min(1, 1 / |g|_1)
// on the first one).
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <tuple>

#include "dynagrad/optim/optimizer.h"

namespace dg::optim {

struct LBFGSOptions : public OptimizerCloneableOptions<LBFGSOptions> {
  LBFGSOptions(double lr = 1);  // NOLINT
  DG_ARG(double, lr) = 1;
  DG_ARG(int64_t, max_iter) = 20;
  DG_ARG(std::optional<int64_t>, max_eval) = std::nullopt;
  DG_ARG(double, tolerance_grad) = 1e-7;
  DG_ARG(double, tolerance_change) = 1e-9;
  DG_ARG(int64_t, history_size) = 100;
  DG_ARG(std::optional<std::string>, line_search_fn) = std::nullopt;

 public:
  void serialize(serialize::InputArchive& archive) override;
  void serialize(serialize::OutputArchive& archive) const override;
  friend bool operator==(const LBFGSOptions& lhs, const LBFGSOptions& rhs);
  ~LBFGSOptions() override = default;
  double get_lr() const override;
  void set_lr(const double lr) override;
};

struct LBFGSParamState : public OptimizerCloneableParamState<LBFGSParamState> {
  DG_ARG(int64_t, func_evals) = 0;
  DG_ARG(int64_t, n_iter) = 0;
  DG_ARG(double, t) = 0;
  DG_ARG(double, prev_loss) = 0;
  DG_ARG(Tensor, d) = {};
  DG_ARG(Tensor, H_diag) = {};
  DG_ARG(Tensor, prev_flat_grad) = {};
  DG_ARG(std::deque<Tensor>, old_dirs);
  DG_ARG(std::deque<Tensor>, old_stps);
  DG_ARG(std::deque<Tensor>, ro);
  DG_ARG(std::optional<std::vector<Tensor>>, al) = std::nullopt;

 public:
  void serialize(serialize::InputArchive& archive) override;
  void serialize(serialize::OutputArchive& archive) const override;
  friend bool operator==(const LBFGSParamState& lhs, const LBFGSParamState& rhs);
  ~LBFGSParamState() override = default;
};

class LBFGS : public Optimizer {
 public:
  explicit LBFGS(std::vector<OptimizerParamGroup> param_groups, LBFGSOptions defaults = {});
  explicit LBFGS(std::vector<Tensor> params, LBFGSOptions defaults = {});

  Tensor step(LossClosure closure) override;

 protected:
  std::unique_ptr<OptimizerParamState> make_param_state() const override;
  void check_options(const OptimizerOptions& options) const override;

 private:
  std::optional<int64_t> _numel_cache;
  int64_t _numel();
  Tensor _gather_flat_grad();
  void _add_grad(const double step_size, const Tensor& update);
  std::tuple<double, Tensor> _directional_evaluate(const LossClosure& closure, const std::vector<Tensor>& x, double t,
                                                   const Tensor& d);
  void _set_param(const std::vector<Tensor>& params_data);
  std::vector<Tensor> _clone_param();
};

}  // namespace dg::optim
