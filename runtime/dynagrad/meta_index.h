#pragma once
// Shape rules of the reductions, linear algebra, shape and indexing (see meta.h).
#include "dynagrad/tensor.h"
#include "dynagrad/meta.h"
namespace dg::meta {

}  // namespace dg::meta
