#pragma once
// Differentiable collectives (torch.distributed.nn.functional's role): the
// forward runs the collective; the backward runs the collective of the
// gradient that the chain rule asks for, so model-parallel code can
// backpropagate through them. Every rank must run the backward too.
#include <memory>
#include <vector>

#include "dynagrad/distributed/process_group.h"
#include "dynagrad/tensor.h"

namespace dg::distributed::functional {

// The reduction over the group of `tensor` (a new tensor; the input is left
// alone). Backward: SUM and AVG only (dg::Error otherwise at backward): the
// gradient's all-reduce with the same op. group nullptr: the default group.
Tensor all_reduce(const Tensor& tensor, ReduceOp op = ReduceOp::SUM,
                  const std::shared_ptr<ProcessGroup>& group = nullptr);
// Every rank's `tensor`, in rank order. Backward: rank r's gradient is the
// sum over ranks of the gradient of output r (a reduce-scatter).
std::vector<Tensor> all_gather(const Tensor& tensor, const std::shared_ptr<ProcessGroup>& group = nullptr);

}  // namespace dg::distributed::functional
