// dg::optim::MultiStepLR: PyTorch's torch.optim.lr_scheduler.MultiStepLR.
// Multiplies every group's learning rate by gamma on reaching each milestone
// (a step count; one listed twice multiplies twice).
#pragma once

#include <cstdint>

#include "dynagrad/optim/schedulers/lr_scheduler.h"

namespace dg::optim {

class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);

 private:
  std::vector<double> get_lrs() override;

  std::vector<int64_t> milestones_;
  double gamma_;
};

}  // namespace dg::optim
