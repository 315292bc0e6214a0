// dg::nn: modules, containers, functional, init and utils — LibTorch's
// torch::nn C++ frontend (include <dynagrad/dynagrad.h> for everything).
#pragma once

#include "dynagrad/nn/container.h"
#include "dynagrad/nn/enum.h"
#include "dynagrad/nn/functional.h"
#include "dynagrad/nn/init.h"
#include "dynagrad/nn/module.h"
#include "dynagrad/nn/modules.h"
#include "dynagrad/nn/options.h"
#include "dynagrad/nn/rnn.h"
#include "dynagrad/nn/transformer.h"
#include "dynagrad/nn/utils.h"
