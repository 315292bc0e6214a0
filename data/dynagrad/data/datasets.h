#pragma once
#include "dynagrad/data/datasets/base.h"
#include "dynagrad/data/datasets/map.h"
#include "dynagrad/data/datasets/mnist.h"
#include "dynagrad/data/datasets/tensor.h"
