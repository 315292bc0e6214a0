#pragma once
// Saved-tensor hooks (PyTorch's torch.autograd.graph): while a
// saved_tensors_hooks guard is alive on a thread, every tensor an op saves
// for backward on that thread goes through `pack`, and what pack returned is
// kept instead of the tensor; backward calls `unpack` on it to get the tensor
// back. The node's history is re-attached to what unpack returns, so pack
// may move, compress or drop the data (checkpointing drops it and recomputes)
// without changing gradients.
//
//   dg::autograd::graph::saved_tensors_hooks hooks(
//       [](const dg::Tensor& t) -> std::any { return t.to(dg::kFloat16); },
//       [](const std::any& p) { return std::any_cast<dg::Tensor>(p).to(dg::kFloat32); });
//
// Guards nest; the innermost one is in force. The tensor pack is given shares
// the saved tensor's memory but none of its history.
#include <any>
#include <functional>
#include <memory>

#include "dynagrad/tensor.h"

namespace dg::autograd::graph {

using PackHook = std::function<std::any(const Tensor&)>;
using UnpackHook = std::function<Tensor(const std::any&)>;

namespace detail {
struct HooksFrame {
  PackHook pack;
  UnpackHook unpack;
};
}  // namespace detail

class saved_tensors_hooks {
 public:
  saved_tensors_hooks(PackHook pack, UnpackHook unpack);
  ~saved_tensors_hooks();
  saved_tensors_hooks(const saved_tensors_hooks&) = delete;
  saved_tensors_hooks& operator=(const saved_tensors_hooks&) = delete;

 private:
  size_t depth_;
};

// Tensors saved for backward are kept on the CPU and copied back to their
// device when backward needs them (PyTorch's save_on_cpu): GPU memory then
// holds no activations between forward and backward. `pin_memory` is
// accepted for LibTorch's signature; the copies are synchronous either way.
class save_on_cpu : public saved_tensors_hooks {
 public:
  explicit save_on_cpu(bool pin_memory = false);
};

}  // namespace dg::autograd::graph
