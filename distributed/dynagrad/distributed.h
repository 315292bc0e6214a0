#pragma once
// dg::distributed (also reachable as dg::c10d, LibTorch's namespace): process
// groups on Gloo (CPU) and NCCL (CUDA), rendezvous stores, collectives and
// the default group. Link dynagrad::distributed. Includes the whole
// dynagrad API (dynagrad/dynagrad.h), as LibTorch's c10d headers include ATen.
#include "dynagrad/distributed/ddp.h"
#include "dynagrad/distributed/functional.h"
#include "dynagrad/distributed/init.h"
#include "dynagrad/distributed/process_group.h"
#include "dynagrad/distributed/process_group_gloo.h"
#include "dynagrad/distributed/process_group_nccl.h"
#include "dynagrad/distributed/store.h"
#include "dynagrad/distributed/types.h"
#include "dynagrad/distributed/work.h"
#include "dynagrad/dynagrad.h"

namespace dg {
namespace c10d = distributed;
}  // namespace dg
