#pragma once
// Shape rules of the neural-network functions (see meta.h).
#include "dynagrad/tensor.h"
#include "dynagrad/meta.h"
namespace dg::meta {

}  // namespace dg::meta
