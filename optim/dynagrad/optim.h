// dg::optim: LibTorch's C++ optimizers (torch::optim) and learning-rate
// schedulers. Include "dynagrad/optim.h" for all of them.
#pragma once

#include "dynagrad/optim/adagrad.h"
#include "dynagrad/optim/adam.h"
#include "dynagrad/optim/adamw.h"
#include "dynagrad/optim/lbfgs.h"
#include "dynagrad/optim/optimizer.h"
#include "dynagrad/optim/rmsprop.h"
#include "dynagrad/optim/schedulers/cosine_annealing_lr.h"
#include "dynagrad/optim/schedulers/exponential_lr.h"
#include "dynagrad/optim/schedulers/linear_lr.h"
#include "dynagrad/optim/schedulers/lr_scheduler.h"
#include "dynagrad/optim/schedulers/multi_step_lr.h"
#include "dynagrad/optim/schedulers/one_cycle_lr.h"
#include "dynagrad/optim/schedulers/reduce_on_plateau_scheduler.h"
#include "dynagrad/optim/schedulers/step_lr.h"
#include "dynagrad/optim/sgd.h"
