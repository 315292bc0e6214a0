// The learning-rate schedulers: LRScheduler, StepLR (LibTorch's),
// MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR and OneCycleLR
// (PyTorch's, step by step as its recursive forms compute them), and
// ReduceLROnPlateauScheduler.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "dynagrad/error.h"
#include "dynagrad/optim/adam.h"
#include "dynagrad/optim/adamw.h"
#include "dynagrad/optim/rmsprop.h"
#include "dynagrad/optim/schedulers/cosine_annealing_lr.h"
#include "dynagrad/optim/schedulers/exponential_lr.h"
#include "dynagrad/optim/schedulers/linear_lr.h"
#include "dynagrad/optim/schedulers/multi_step_lr.h"
#include "dynagrad/optim/schedulers/one_cycle_lr.h"
#include "dynagrad/optim/schedulers/reduce_on_plateau_scheduler.h"
#include "dynagrad/optim/schedulers/step_lr.h"
#include "dynagrad/optim/sgd.h"

namespace dg::optim {

namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

// ---- LRScheduler --------------------------------------------------------------

LRScheduler::LRScheduler(Optimizer& optimizer) : step_count_(0), optimizer_(optimizer), last_lr_(get_current_lrs()) {}

void LRScheduler::step() {
  const std::vector<double> learning_rates = get_lrs();
  set_optimizer_lrs(learning_rates);
  step_count_++;
}

std::vector<double> LRScheduler::get_last_lr() const { return last_lr_; }

void LRScheduler::set_optimizer_lrs(const std::vector<double>& learning_rates) {
  auto& groups = optimizer_.param_groups();
  DG_CHECK(learning_rates.size() == groups.size(),
           "LRScheduler::step: expected one learning rate per parameter group (", groups.size(), "), got ",
           learning_rates.size());
  for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(learning_rates[i]);
  last_lr_ = learning_rates;
}

std::vector<double> LRScheduler::get_current_lrs() const {
  std::vector<double> lrs;
  for (const auto& group : optimizer_.param_groups()) lrs.push_back(group.options().get_lr());
  return lrs;
}

// ---- StepLR -------------------------------------------------------------------

StepLR::StepLR(Optimizer& optimizer, const unsigned step_size, const double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  DG_CHECK(step_size > 0, "StepLR: expected step_size > 0, got ", step_size);
}

std::vector<double> StepLR::get_lrs() {
  std::vector<double> lrs = get_current_lrs();
  if (step_count_ != 0 && step_count_ % step_size_ == 0) {
    for (double& lr : lrs) lr *= gamma_;
  }
  return lrs;
}

// ---- MultiStepLR ----------------------------------------------------------------

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {}

std::vector<double> MultiStepLR::get_lrs() {
  const int64_t epoch = static_cast<int64_t>(step_count_) + 1;
  const auto hits = std::count(milestones_.begin(), milestones_.end(), epoch);
  std::vector<double> lrs = get_current_lrs();
  if (hits > 0) {
    for (double& lr : lrs) lr *= std::pow(gamma_, static_cast<double>(hits));
  }
  return lrs;
}

// ---- ExponentialLR --------------------------------------------------------------

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {}

std::vector<double> ExponentialLR::get_lrs() {
  std::vector<double> lrs = get_current_lrs();
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

// ---- CosineAnnealingLR ----------------------------------------------------------

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer), T_max_(T_max), eta_min_(eta_min), base_lrs_(get_current_lrs()) {
  DG_CHECK(T_max > 0, "CosineAnnealingLR: expected T_max > 0, got ", T_max);
}

std::vector<double> CosineAnnealingLR::get_lrs() {
  const int64_t epoch = static_cast<int64_t>(step_count_) + 1;
  std::vector<double> lrs = get_current_lrs();
  const double t_max = static_cast<double>(T_max_);
  // Python's (epoch - 1 - T_max) % (2 T_max): never negative.
  const int64_t period = 2 * T_max_;
  const int64_t phase = ((epoch - 1 - T_max_) % period + period) % period;
  for (size_t i = 0; i < lrs.size(); ++i) {
    if (phase == 0) {
      lrs[i] = lrs[i] + (base_lrs_[i] - eta_min_) * (1 - std::cos(kPi / t_max)) / 2;
    } else {
      const double e = static_cast<double>(epoch);
      lrs[i] = (1 + std::cos(kPi * e / t_max)) / (1 + std::cos(kPi * (e - 1) / t_max)) * (lrs[i] - eta_min_) + eta_min_;
    }
  }
  return lrs;
}

// ---- LinearLR ---------------------------------------------------------------------

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, int64_t total_iters)
    : LRScheduler(optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  DG_CHECK(start_factor > 0 && start_factor <= 1.0,
           "LinearLR: Starting multiplicative factor expected to be greater than 0 and less or equal to 1, got ",
           start_factor);
  DG_CHECK(end_factor >= 0 && end_factor <= 1.0,
           "LinearLR: Ending multiplicative factor expected to be between 0 and 1, got ", end_factor);
  std::vector<double> lrs = get_current_lrs();
  for (double& lr : lrs) lr *= start_factor_;
  set_optimizer_lrs(lrs);
}

std::vector<double> LinearLR::get_lrs() {
  const int64_t epoch = static_cast<int64_t>(step_count_) + 1;
  std::vector<double> lrs = get_current_lrs();
  if (epoch > total_iters_) return lrs;
  const double change = end_factor_ - start_factor_;
  for (double& lr : lrs) {
    lr *= 1. + change / (static_cast<double>(total_iters_) * start_factor_ + static_cast<double>(epoch - 1) * change);
  }
  return lrs;
}

// ---- OneCycleLR -------------------------------------------------------------------

namespace {

// One value per group from `values` (one for all, or one each).
std::vector<double> per_group(const char* name, const std::vector<double>& values, size_t groups) {
  if (values.size() == 1) return std::vector<double>(groups, values[0]);
  DG_CHECK(values.size() == groups, "OneCycleLR: expected ", name, " to hold one value or one per parameter group (",
           groups, "), got ", values.size());
  return values;
}

enum { kInitialLr, kMaxLr, kMinLr, kMaxMomentum, kBaseMomentum };

}  // namespace

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, std::optional<int64_t> total_steps,
                       std::optional<int64_t> epochs, std::optional<int64_t> steps_per_epoch, double pct_start,
                       const std::string& anneal_strategy, bool cycle_momentum, double base_momentum,
                       double max_momentum, double div_factor, double final_div_factor, bool three_phase)
    : OneCycleLR(optimizer, std::vector<double>{max_lr}, total_steps, epochs, steps_per_epoch, pct_start,
                 anneal_strategy, cycle_momentum, std::vector<double>{base_momentum}, std::vector<double>{max_momentum},
                 div_factor, final_div_factor, three_phase) {}

OneCycleLR::OneCycleLR(Optimizer& optimizer, std::vector<double> max_lr, std::optional<int64_t> total_steps,
                       std::optional<int64_t> epochs, std::optional<int64_t> steps_per_epoch, double pct_start,
                       const std::string& anneal_strategy, bool cycle_momentum, std::vector<double> base_momentum,
                       std::vector<double> max_momentum, double div_factor, double final_div_factor, bool three_phase)
    : LRScheduler(optimizer), cycle_momentum_(cycle_momentum) {
  if (total_steps) {
    DG_CHECK(*total_steps > 0, "OneCycleLR: Expected positive integer total_steps, but got ", *total_steps);
    total_steps_ = *total_steps;
  } else {
    DG_CHECK(epochs && steps_per_epoch,
             "OneCycleLR: You must define either total_steps OR (epochs AND steps_per_epoch), got neither");
    DG_CHECK(*epochs > 0, "OneCycleLR: Expected positive integer epochs, but got ", *epochs);
    DG_CHECK(*steps_per_epoch > 0, "OneCycleLR: Expected positive integer steps_per_epoch, but got ", *steps_per_epoch);
    total_steps_ = *epochs * *steps_per_epoch;
  }
  DG_CHECK(pct_start >= 0 && pct_start <= 1, "OneCycleLR: Expected float between 0 and 1 pct_start, but got ",
           pct_start);
  DG_CHECK(anneal_strategy == "cos" || anneal_strategy == "linear",
           "OneCycleLR: anneal_strategy must by one of 'cos' or 'linear', instead got ", anneal_strategy);
  cos_ = anneal_strategy == "cos";
  const double total = static_cast<double>(total_steps_);
  if (three_phase) {
    phases_ = {{pct_start * total - 1, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
               {2 * pct_start * total - 2, kMaxLr, kInitialLr, kBaseMomentum, kMaxMomentum},
               {total - 1, kInitialLr, kMinLr, kMaxMomentum, kMaxMomentum}};
  } else {
    phases_ = {{pct_start * total - 1, kInitialLr, kMaxLr, kMaxMomentum, kBaseMomentum},
               {total - 1, kMaxLr, kMinLr, kBaseMomentum, kMaxMomentum}};
  }
  const size_t n = optimizer.param_groups().size();
  const std::vector<double> max_lrs = per_group("max_lr", max_lr, n);
  groups_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    groups_[i].v[kInitialLr] = max_lrs[i] / div_factor;
    groups_[i].v[kMaxLr] = max_lrs[i];
    groups_[i].v[kMinLr] = groups_[i].v[kInitialLr] / final_div_factor;
  }
  if (cycle_momentum_) {
    const OptimizerOptions& d = optimizer.defaults();
    use_beta1_ = dynamic_cast<const AdamOptions*>(&d) || dynamic_cast<const AdamWOptions*>(&d);
    DG_CHECK(use_beta1_ || dynamic_cast<const SGDOptions*>(&d) || dynamic_cast<const RMSpropOptions*>(&d),
             "OneCycleLR: optimizer must support momentum with `cycle_momentum` option enabled (expected SGD, "
             "RMSprop, Adam or AdamW)");
    const std::vector<double> maxs = per_group("max_momentum", max_momentum, n);
    const std::vector<double> bases = per_group("base_momentum", base_momentum, n);
    for (size_t i = 0; i < n; ++i) {
      groups_[i].v[kMaxMomentum] = maxs[i];
      groups_[i].v[kBaseMomentum] = bases[i];
      set_momentum(i, maxs[i]);
    }
  }
  // PyTorch's constructor takes its first step (step 0).
  std::vector<double> lrs(n);
  for (size_t i = 0; i < n; ++i) {
    const auto [lr, momentum] = at(i, 0);
    lrs[i] = lr;
    if (cycle_momentum_) set_momentum(i, momentum);
  }
  set_optimizer_lrs(lrs);
}

void OneCycleLR::set_momentum(size_t group, double momentum) {
  OptimizerOptions& o = optimizer().param_groups()[group].options();
  if (auto* adam = dynamic_cast<AdamOptions*>(&o)) {
    std::get<0>(adam->betas()) = momentum;
  } else if (auto* adamw = dynamic_cast<AdamWOptions*>(&o)) {
    std::get<0>(adamw->betas()) = momentum;
  } else if (auto* sgd = dynamic_cast<SGDOptions*>(&o)) {
    sgd->momentum(momentum);
  } else if (auto* rmsprop = dynamic_cast<RMSpropOptions*>(&o)) {
    rmsprop->momentum(momentum);
  }
}

std::pair<double, double> OneCycleLR::at(size_t group, int64_t step_num) const {
  DG_CHECK(step_num <= total_steps_, "OneCycleLR: Tried to step ", step_num,
           " times. The specified number of total steps is ", total_steps_);
  const auto anneal = [&](double start, double end, double pct) {
    if (cos_) return end + (start - end) / 2.0 * (std::cos(kPi * pct) + 1);
    return (end - start) * pct + start;
  };
  const double* v = groups_[group].v;
  double start_step = 0;
  for (size_t i = 0; i < phases_.size(); ++i) {
    const Phase& ph = phases_[i];
    if (static_cast<double>(step_num) <= ph.end_step || i + 1 == phases_.size()) {
      const double pct = (static_cast<double>(step_num) - start_step) / (ph.end_step - start_step);
      const double momentum = cycle_momentum_ ? anneal(v[ph.start_momentum], v[ph.end_momentum], pct) : 0;
      return {anneal(v[ph.start_lr], v[ph.end_lr], pct), momentum};
    }
    start_step = ph.end_step;
  }
  return {0, 0};  // not reached: the last phase always answers
}

std::vector<double> OneCycleLR::get_lrs() {
  const int64_t step_num = static_cast<int64_t>(step_count_) + 1;
  std::vector<double> lrs(groups_.size());
  for (size_t i = 0; i < groups_.size(); ++i) {
    const auto [lr, momentum] = at(i, step_num);
    lrs[i] = lr;
    if (cycle_momentum_) set_momentum(i, momentum);
  }
  return lrs;
}

// ---- ReduceLROnPlateauScheduler ------------------------------------------------------

ReduceLROnPlateauScheduler::ReduceLROnPlateauScheduler(Optimizer& optimizer, SchedulerMode mode, float factor,
                                                       int patience, double threshold, ThresholdMode threshold_mode,
                                                       int cooldown, const std::vector<float> min_lr, double eps,
                                                       bool verbose)
    : optimizer(optimizer) {
  DG_CHECK(factor < 1.0, "ReduceLROnPlateauScheduler: Factor should be < 1.0, got ", factor);
  this->factor = factor;
  this->patience = patience;
  this->cooldown = cooldown;
  this->eps = eps;
  this->verbose = verbose;
  const size_t n = optimizer.param_groups().size();
  if (min_lr.empty()) {
    min_lrs = std::vector<float>(n, 0.0f);
  } else if (min_lr.size() == 1) {
    min_lrs = std::vector<float>(n, min_lr[0]);
  } else {
    DG_CHECK(min_lr.size() == n, "ReduceLROnPlateauScheduler: expected ", n, " values for min_lr (one per group), got ",
             min_lr.size());
    min_lrs = min_lr;
  }
  init_is_better(mode, threshold, threshold_mode);
  reset();
  last_epoch = 0;
}

void ReduceLROnPlateauScheduler::step(float metric) {
  last_epoch++;
  if (is_better(metric)) {
    best = metric;
    num_bad_epochs = 0;
  } else {
    num_bad_epochs++;
  }
  if (in_cooldown()) {
    cooldown_counter--;
    num_bad_epochs = 0;
  }
  if (num_bad_epochs > patience) {
    reduce_lr(last_epoch);
    cooldown_counter = cooldown;
    num_bad_epochs = 0;
  }
}

std::vector<double> ReduceLROnPlateauScheduler::get_last_lr() const {
  std::vector<double> lrs;
  for (const auto& group : optimizer.param_groups()) lrs.push_back(group.options().get_lr());
  return lrs;
}

void ReduceLROnPlateauScheduler::reduce_lr(int epoch) {
  auto& groups = optimizer.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    const float old_lr = static_cast<float>(groups[i].options().get_lr());
    const float new_lr = std::max(old_lr * factor, min_lrs[i]);
    if (old_lr - new_lr > eps) {
      groups[i].options().set_lr(new_lr);
      if (verbose) std::printf("Epoch %d: reducing learning rate of group %zu to %.4e.\n", epoch, i, new_lr);
    }
  }
}

void ReduceLROnPlateauScheduler::reset() {
  best = mode_worse;
  cooldown_counter = 0;
  num_bad_epochs = 0;
}

bool ReduceLROnPlateauScheduler::in_cooldown() { return cooldown_counter > 0; }

bool ReduceLROnPlateauScheduler::is_better(float a) {
  if (mode == min && threshold_mode == rel) return a < best * (1.0 - threshold);
  if (mode == min && threshold_mode == abs) return a < best - threshold;
  if (mode == max && threshold_mode == rel) return a > best * (threshold + 1.0);
  return a > best + threshold;
}

void ReduceLROnPlateauScheduler::init_is_better(SchedulerMode mode, double threshold, ThresholdMode threshold_mode) {
  mode_worse = mode == min ? std::numeric_limits<float>::max() : std::numeric_limits<float>::lowest();
  this->mode = mode;
  this->threshold_mode = threshold_mode;
  this->threshold = threshold;
}

}  // namespace dg::optim
