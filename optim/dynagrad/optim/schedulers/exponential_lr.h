// dg::optim::ExponentialLR: PyTorch's torch.optim.lr_scheduler.ExponentialLR.
// Multiplies every group's learning rate by gamma on every step().
#pragma once

#include "dynagrad/optim/schedulers/lr_scheduler.h"

namespace dg::optim {

class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);

 private:
  std::vector<double> get_lrs() override;

  double gamma_;
};

}  // namespace dg::optim
