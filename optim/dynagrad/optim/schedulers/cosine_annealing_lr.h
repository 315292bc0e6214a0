// dg::optim::CosineAnnealingLR: PyTorch's
// torch.optim.lr_scheduler.CosineAnnealingLR. The learning rate follows
// eta_min + (base_lr - eta_min) (1 + cos(pi t / T_max)) / 2 over t = 0 ..
// T_max and back up beyond (a period of 2 T_max), computed step by step from
// the current learning rate as PyTorch does (so changes made to it between
// steps carry on).
#pragma once

#include <cstdint>

#include "dynagrad/optim/schedulers/lr_scheduler.h"

namespace dg::optim {

class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0);

 private:
  std::vector<double> get_lrs() override;

  int64_t T_max_;
  double eta_min_;
  std::vector<double> base_lrs_;
};

}  // namespace dg::optim
