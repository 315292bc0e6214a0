#pragma once
// The backward engine and the two user entry points, as in LibTorch's
// torch::autograd namespace.
#include <functional>
#include <optional>
#include <vector>

#include "dynagrad/node.h"

namespace dg::autograd {

// Accumulates d(sum of tensors * grad_tensors)/d(leaf) into each leaf's .grad
// (or only into `inputs`, when given). An undefined grad_tensor stands for
// ones, allowed only for one-element tensors. retain_graph defaults to
// create_graph.
void backward(const variable_list& tensors, const variable_list& grad_tensors = {},
              std::optional<bool> retain_graph = std::nullopt, bool create_graph = false,
              const variable_list& inputs = {});

// Returns d(sum of outputs * grad_outputs)/d(input) for each input, without
// touching any .grad. An input the outputs do not depend on is an error unless
// allow_unused, when its gradient is undefined.
variable_list grad(const variable_list& outputs, const variable_list& inputs, const variable_list& grad_outputs = {},
                   std::optional<bool> retain_graph = std::nullopt, bool create_graph = false,
                   bool allow_unused = false);

// The engine proper. `roots` carry the root gradients; `capture` lists edges
// whose incoming gradient is returned (in order) instead of flowing on; with
// `accumulate` false, nodes not needed for the captures are not run.
struct Engine {
  static variable_list execute(const edge_list& roots, const variable_list& root_grads, bool keep_graph,
                               bool create_graph, const edge_list& capture, bool accumulate);

  // LibTorch's entry points for code that runs inside a backward (hooks).
  static Engine& get_default_engine();
  // Runs `callback` once the backward now running on this thread has run
  // every node (and accumulated every .grad), before it returns; callbacks
  // run in the order queued and may queue more. Outside a backward: an error.
  // A backward that fails drops its callbacks.
  void queue_callback(std::function<void()> callback);
};

}  // namespace dg::autograd
