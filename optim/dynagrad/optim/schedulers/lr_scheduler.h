// dg::optim::LRScheduler: LibTorch's torch::optim::LRScheduler, the base of
// the learning-rate schedulers. A scheduler holds a reference to its
// optimizer (which must outlive it); step() asks the subclass for the next
// learning rate of every parameter group (get_lrs) and sets it.
//
// StepLR is LibTorch's (its step() counts from the first call, as LibTorch's
// does). MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR and
// OneCycleLR follow PyTorch's Python schedulers of the same names: their
// constructors set the learning rate PyTorch's set at construction, and after
// the k-th step() the learning rate is PyTorch's after its k-th step().
#pragma once

#include <vector>

#include "dynagrad/optim/optimizer.h"

namespace dg::optim {

class LRScheduler {
 public:
  // The optimizer must outlive the scheduler.
  LRScheduler(Optimizer& optimizer);  // NOLINT
  virtual ~LRScheduler() = default;

  void step();
  // The learning rates step() (or the constructor) last set, one per group.
  std::vector<double> get_last_lr() const;

 protected:
  // The learning rate of each parameter group for this step.
  virtual std::vector<double> get_lrs() = 0;
  // The optimizer's current learning rates.
  std::vector<double> get_current_lrs() const;
  // Sets the optimizer's learning rates (one per group).
  void set_optimizer_lrs(const std::vector<double>& learning_rates);
  Optimizer& optimizer() { return optimizer_; }

  unsigned step_count_;

 private:
  Optimizer& optimizer_;
  std::vector<double> last_lr_;
};

}  // namespace dg::optim
