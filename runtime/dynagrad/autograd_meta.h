#pragma once
// The autograd half of a TensorImpl, allocated only for tensors that require
// grad or have history.
#include <memory>
#include <mutex>

#include "dynagrad/node.h"

namespace dg {

struct AutogradMeta {
  Tensor grad;                 // .grad() of a leaf
  NodePtr grad_fn;             // null for leaves
  // Weak: the AccumulateGrad owns its leaf, the leaf only points back. The
  // accumulator clears this pointer in its destructor (under `mutex`).
  AccumulateGrad* grad_accumulator = nullptr;
  std::shared_ptr<TensorHooks> hooks;
  std::mutex mutex;            // guards grad and grad_accumulator
  uint32_t output_nr = 0;
  bool requires_grad = false;  // only meaningful for leaves
};

namespace autograd {
// The edge a gradient for `t` flows along: (grad_fn, output_nr) for a
// non-leaf, (accumulator, 0) for a leaf that requires grad, invalid otherwise.
Edge gradient_edge(const Tensor& t);
// The leaf's AccumulateGrad, made on first use.
NodePtr grad_accumulator(const Tensor& t);
}  // namespace autograd

}  // namespace dg
