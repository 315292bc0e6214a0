#pragma once
// The one header a dynagrad user includes.
#include "dynagrad/anomaly_mode.h"
#include "dynagrad/autograd_meta.h"
#include "dynagrad/checkpoint.h"
#include "dynagrad/cpu_allocator.h"
#include "dynagrad/cuda.h"
#include "dynagrad/data.h"
#include "dynagrad/deterministic.h"
#include "dynagrad/engine.h"
#include "dynagrad/factory.h"
#include "dynagrad/forward_ad.h"
#include "dynagrad/function.h"
#include "dynagrad/functional.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/gradcheck.h"
#include "dynagrad/graph.h"
#include "dynagrad/graph_export.h"
#include "dynagrad/ivalue.h"
#include "dynagrad/linalg.h"
#include "dynagrad/nn.h"
#include "dynagrad/node.h"
#include "dynagrad/operators.h"
#include "dynagrad/optim.h"
#include "dynagrad/profiler.h"
#include "dynagrad/serialize.h"
#include "dynagrad/tensor.h"
#include "dynagrad/warning.h"

namespace dg {
// LibTorch's torch::optional / torch::nullopt (c10's), spelled dg:: in a
// ported program: std::optional itself.
using std::nullopt;
using std::optional;
}  // namespace dg
