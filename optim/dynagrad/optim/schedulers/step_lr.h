// dg::optim::StepLR: LibTorch's torch::optim::StepLR. Multiplies every
// group's learning rate by gamma every step_size calls of step() (LibTorch's
// count: on the calls numbered step_size + 1, 2 step_size + 1, ...).
#pragma once

#include "dynagrad/optim/schedulers/lr_scheduler.h"

namespace dg::optim {

class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, const unsigned step_size, const double gamma = 0.1);

 private:
  std::vector<double> get_lrs() override;

  const unsigned step_size_;
  const double gamma_;
};

}  // namespace dg::optim
