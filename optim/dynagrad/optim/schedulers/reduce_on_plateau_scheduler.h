// dg::optim::ReduceLROnPlateauScheduler: LibTorch's (2.0)
// torch::optim::ReduceLROnPlateauScheduler, PyTorch's ReduceLROnPlateau.
// step(metric) after each epoch: when the metric has not improved (by
// `threshold`, relative or absolute) for more than `patience` epochs, every
// group's learning rate is multiplied by factor (not below its min_lr; a
// change smaller than eps is skipped), then `cooldown` epochs pass before
// counting again. Not an LRScheduler: its step takes the metric.
#pragma once

#include <vector>

#include "dynagrad/optim/optimizer.h"

namespace dg::optim {

class ReduceLROnPlateauScheduler {
 public:
  enum SchedulerMode { min, max };
  enum ThresholdMode { rel, abs };
  // min_lr: empty (0 for every group), one value for every group, or one per
  // group.
  ReduceLROnPlateauScheduler(Optimizer& optimizer, SchedulerMode mode = min, float factor = 0.1, int patience = 10,
                             double threshold = 1e-4, ThresholdMode threshold_mode = rel, int cooldown = 0,
                             const std::vector<float> min_lr = std::vector<float>(), double eps = 1e-8,
                             bool verbose = false);

  virtual ~ReduceLROnPlateauScheduler() = default;

  void step(float metric);
  // Every group's learning rate after the last step (or at construction).
  std::vector<double> get_last_lr() const;

 private:
  void reset();
  void reduce_lr(int epoch);
  bool in_cooldown();
  bool is_better(float a);
  void init_is_better(SchedulerMode mode, double threshold, ThresholdMode threshold_mode);

  Optimizer& optimizer;
  SchedulerMode mode;
  float mode_worse;
  float factor;
  int patience;
  double threshold;
  ThresholdMode threshold_mode;
  int cooldown;
  int cooldown_counter;
  std::vector<float> min_lrs;
  double eps;
  float best;
  bool verbose;
  int last_epoch;
  int num_bad_epochs;
};

}  // namespace dg::optim
