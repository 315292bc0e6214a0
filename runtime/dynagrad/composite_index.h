#pragma once
// Composite ops of the reductions, linear algebra, shape and indexing (see composite.h).
#include "dynagrad/tensor.h"

namespace dg::composite {

}  // namespace dg::composite
