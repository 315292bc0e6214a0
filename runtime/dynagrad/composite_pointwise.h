#pragma once
// Composite ops of the pointwise ops (see composite.h).
#include "dynagrad/tensor.h"

namespace dg::composite {

}  // namespace dg::composite
