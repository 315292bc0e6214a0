// dg::optim::LinearLR: PyTorch's torch.optim.lr_scheduler.LinearLR. The
// constructor multiplies every group's learning rate by start_factor; over
// the next total_iters steps the factor moves linearly to end_factor, and
// stays there.
#pragma once

#include <cstdint>

#include "dynagrad/optim/schedulers/lr_scheduler.h"

namespace dg::optim {

class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0, int64_t total_iters = 5);

 private:
  std::vector<double> get_lrs() override;

  double start_factor_;
  double end_factor_;
  int64_t total_iters_;
};

}  // namespace dg::optim
