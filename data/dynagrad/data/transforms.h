#pragma once
#include "dynagrad/data/transforms/base.h"
#include "dynagrad/data/transforms/collate.h"
#include "dynagrad/data/transforms/lambda.h"
#include "dynagrad/data/transforms/stack.h"
#include "dynagrad/data/transforms/tensor.h"
