#pragma once
// A collation turns a vector of examples into one batch value.
#include <vector>

#include "dynagrad/data/transforms/base.h"
#include "dynagrad/data/transforms/lambda.h"

namespace dg::data::transforms {

template <typename T, typename BatchType = std::vector<T>>
using Collation = BatchTransform<BatchType, T>;

template <typename T, typename BatchType = std::vector<T>>
using Collate = BatchLambda<BatchType, T>;

}  // namespace dg::data::transforms
