#pragma once
// Composite ops of the neural-network functions (see composite.h).
#include "dynagrad/tensor.h"

namespace dg::composite {

}  // namespace dg::composite
