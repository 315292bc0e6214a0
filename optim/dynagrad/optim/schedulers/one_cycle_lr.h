// dg::optim::OneCycleLR: PyTorch's torch.optim.lr_scheduler.OneCycleLR, the
// 1cycle policy (Smith & Topin). The learning rate starts at max_lr /
// div_factor, rises to max_lr over the first pct_start of total_steps, then
// falls to max_lr / (div_factor * final_div_factor) (three_phase: back to
// the start first, then down), by cosine or linear annealing. With
// cycle_momentum the momentum (SGD, RMSprop) or beta1 (Adam, AdamW) moves
// the other way between max_momentum and base_momentum. Stepping more than
// total_steps times is an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dynagrad/optim/schedulers/lr_scheduler.h"

namespace dg::optim {

class OneCycleLR : public LRScheduler {
 public:
  // max_lr, base_momentum and max_momentum: one value for every group, or
  // one per group. total_steps, or else epochs * steps_per_epoch.
  OneCycleLR(Optimizer& optimizer, std::vector<double> max_lr, std::optional<int64_t> total_steps = std::nullopt,
             std::optional<int64_t> epochs = std::nullopt, std::optional<int64_t> steps_per_epoch = std::nullopt,
             double pct_start = 0.3, const std::string& anneal_strategy = "cos", bool cycle_momentum = true,
             std::vector<double> base_momentum = {0.85}, std::vector<double> max_momentum = {0.95},
             double div_factor = 25., double final_div_factor = 1e4, bool three_phase = false);
  OneCycleLR(Optimizer& optimizer, double max_lr, std::optional<int64_t> total_steps = std::nullopt,
             std::optional<int64_t> epochs = std::nullopt, std::optional<int64_t> steps_per_epoch = std::nullopt,
             double pct_start = 0.3, const std::string& anneal_strategy = "cos", bool cycle_momentum = true,
             double base_momentum = 0.85, double max_momentum = 0.95, double div_factor = 25.,
             double final_div_factor = 1e4, bool three_phase = false);

 private:
  std::vector<double> get_lrs() override;
  // The learning rate and momentum of `group` at step `step_num`.
  std::pair<double, double> at(size_t group, int64_t step_num) const;
  void set_momentum(size_t group, double momentum);

  struct Phase {
    double end_step;
    int start_lr, end_lr, start_momentum, end_momentum;  // indices into GroupValues::v
  };
  struct GroupValues {
    // initial_lr, max_lr, min_lr, max_momentum, base_momentum
    double v[5];
  };
  int64_t total_steps_;
  bool cos_;
  bool cycle_momentum_;
  bool use_beta1_ = false;
  std::vector<Phase> phases_;
  std::vector<GroupValues> groups_;
};

}  // namespace dg::optim
