#pragma once
// Node: one backward function in the graph. Its inputs are the gradients of
// the forward op's outputs; its outputs (one per next edge) the gradients of
// the forward op's inputs. Generated nodes (MulBackward0, ...) derive from it.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dynagrad/saved_value.h"
#include "dynagrad/tensor.h"

namespace dg {

using variable_list = std::vector<Tensor>;
namespace autograd {
// LibTorch's torch::autograd::Variable: a Tensor.
using Variable = Tensor;
}  // namespace autograd

struct Edge {
  NodePtr function;
  uint32_t input_nr = 0;
  Edge() = default;
  Edge(NodePtr fn, uint32_t nr) : function(std::move(fn)), input_nr(nr) {}
  bool is_valid() const { return function.get() != nullptr; }
};
using edge_list = std::vector<Edge>;

// What a gradient arriving at input `i` of a node must look like: the shape,
// dtype and device of the forward tensor it is the gradient of.
struct InputMetadata {
  DimVector sizes;
  ScalarType dtype = kFloat32;
  Device device;
};

// The hooks of one tensor, shared by its AutogradMeta and the node that
// produces its gradient (its grad_fn, or the AccumulateGrad of a leaf).
namespace autograd {
struct AnomalyMetadata;  // anomaly_mode.h
}

// An in-place op that gives the tensor a new grad_fn starts a new version of
// its hooks: the hooks registered before stay with the old grad_fn (they see
// the gradient of the old value), those registered after go to the new one,
// and retain_grad moves to the new one (PyTorch's semantics).
struct TensorHooks {
  std::vector<std::function<Tensor(const Tensor&)>> fns;  // removed hooks are empty
  size_t first_handle = 0;                                // handle of fns[0]
  std::shared_ptr<TensorHooks> prev;                      // the version before the last in-place op
  bool retains_grad = false;
  Tensor retained_grad;  // .grad() of a non-leaf that called retain_grad()
  // Leaves: run after AccumulateGrad wrote .grad.
  std::vector<std::pair<std::shared_ptr<HookSlot>, std::function<void(const Tensor&)>>> post_accumulate;
};

// LibTorch's hook objects (Node::add_pre_hook / add_post_hook).
struct FunctionPreHook {
  virtual ~FunctionPreHook() = default;
  virtual variable_list operator()(const variable_list& grads) = 0;
};
struct FunctionPostHook {
  virtual ~FunctionPostHook() = default;
  virtual variable_list operator()(const variable_list& grad_inputs, const variable_list& grad_outputs) = 0;
};

class Node : public intrusive_target {
 public:
  Node();
  explicit Node(uint64_t sequence_nr);
  ~Node() override;

  virtual std::string name() const = 0;
  // Gradients of the forward outputs in, gradients of the forward inputs out.
  virtual variable_list apply(variable_list&& grads) = 0;
  // Frees saved tensors after a backward without retain_graph.
  virtual void release_saved() {}

  uint64_t sequence_nr() const { return sequence_nr_; }
  const edge_list& next_edges() const { return next_edges_; }
  // PyTorch's grad_fn.next_functions: (node, input_nr) per forward input;
  // an invalid edge (null function) for inputs that need no gradient.
  const edge_list& next_functions() const { return next_edges_; }
  const Edge& next_edge(size_t i) const { return next_edges_[i]; }
  void set_next_edges(edge_list&& edges) { next_edges_ = std::move(edges); }
  void add_next_edge(Edge e) { next_edges_.push_back(std::move(e)); }
  size_t num_outputs() const { return next_edges_.size(); }
  size_t num_inputs() const { return input_metadata_.size(); }

  // Records the metadata of forward output `t`, returns its input number.
  uint32_t add_input_metadata(const Tensor& t);
  uint32_t add_input_metadata(InputMetadata m);
  const InputMetadata& input_metadata(size_t i) const { return input_metadata_[i]; }

  // Whether the gradient of forward input `i` is wanted by the running backward.
  bool needs_input_grad(size_t i) const;

  // Hooks. A pre-hook sees the gradients of the forward outputs before the
  // node runs and may replace them (return an empty list to keep them); a
  // post-hook sees the gradients the node computed for the forward inputs
  // (grad_inputs) and the ones it was given (grad_outputs), and may replace
  // the former. A replacement must have the same number of gradients, each of
  // the shape it replaces. Hooks run in registration order.
  using PreHook = std::function<variable_list(const variable_list& grad_outputs)>;
  using PostHook = std::function<variable_list(const variable_list& grad_inputs, const variable_list& grad_outputs)>;
  RemovableHandle register_prehook(PreHook h);
  RemovableHandle register_hook(PostHook h);
  // LibTorch's spellings: add_post_hook returns a key for del_post_hook.
  void add_pre_hook(std::unique_ptr<FunctionPreHook>&& h);
  uintptr_t add_post_hook(std::unique_ptr<FunctionPostHook>&& h);
  bool del_post_hook(const uintptr_t& key);
  bool has_hooks() const { return !pre_hooks_.empty() || !post_hooks_.empty(); }
  // The active hooks, for the engine.
  const std::vector<std::pair<std::shared_ptr<HookSlot>, PreHook>>& pre_hooks() const { return pre_hooks_; }
  const std::vector<std::pair<std::shared_ptr<HookSlot>, PostHook>>& post_hooks() const { return post_hooks_; }
  void add_tensor_hooks(uint32_t input_nr, std::shared_ptr<TensorHooks> hooks);
  const std::vector<std::pair<uint32_t, std::shared_ptr<TensorHooks>>>& tensor_hooks() const { return tensor_hooks_; }

  // Set by the generated apply() of nodes whose saved tensors were freed.
  bool saved_released() const { return saved_released_; }

  // What the node saved for backward, by name (PyTorch's grad_fn._saved_<name>):
  // generated nodes list their derivatives.yaml saves, custom functions their
  // saved variables. Throws the "backward a second time" error once freed.
  virtual saved_value_list saved_values() const { return {}; }

  // The node's metadata (LibTorch's Node::metadata()): anomaly mode's record
  // of where the node was created, and a free key -> value store (PyTorch's
  // grad_fn.metadata). Made on first use.
  autograd::AnomalyMetadata* metadata() noexcept;
  bool has_metadata() const noexcept { return metadata_ != nullptr; }

 protected:
  void release_self() override;  // deletes long chains iteratively
  // Throws the "backward through the graph a second time" error.
  [[noreturn]] void throw_released() const;
  bool saved_released_ = false;

 private:
  uint64_t sequence_nr_;
  edge_list next_edges_;
  std::vector<InputMetadata> input_metadata_;
  std::vector<std::pair<std::shared_ptr<HookSlot>, PreHook>> pre_hooks_;
  std::vector<std::pair<std::shared_ptr<HookSlot>, PostHook>> post_hooks_;
  std::vector<std::pair<uintptr_t, std::shared_ptr<HookSlot>>> post_hook_keys_;
  std::vector<std::pair<uint32_t, std::shared_ptr<TensorHooks>>> tensor_hooks_;
  std::unique_ptr<autograd::AnomalyMetadata> metadata_;
};

struct LeafLink;  // autograd_meta.h

// The node of a leaf that requires grad: adds the incoming gradient to .grad.
// It reaches its leaf through a weak LeafLink (see autograd_meta.h); once the
// leaf is gone, gradients for it are dropped, as nobody can read them.
class AccumulateGrad final : public Node {
 public:
  AccumulateGrad(std::shared_ptr<LeafLink> link, const Tensor& leaf);
  ~AccumulateGrad() override;
  std::string name() const override { return "AccumulateGrad"; }
  variable_list apply(variable_list&& grads) override;
  // The leaf, or undefined once it has been destroyed.
  Tensor variable() const;

 private:
  std::shared_ptr<LeafLink> link_;
};

namespace detail {
// Number of Nodes alive in the process (leak checks in tests).
int64_t live_nodes();

// While the engine runs a backward restricted to some inputs (autograd::grad,
// backward(inputs=...)), Node::needs_input_grad asks it which edges of the
// node it is running lead somewhere useful. Nodes recorded meanwhile (with
// create_graph) are not its business: it answers true for them. Null (the
// default) means every valid edge is needed.
class EdgeFilter {
 public:
  virtual bool needed(const Node& node, const Edge& edge) const = 0;

 protected:
  ~EdgeFilter() = default;
};
const EdgeFilter* current_edge_filter();
void set_current_edge_filter(const EdgeFilter* filter);

// The "backward through the graph a second time" error, for `node_name`.
[[noreturn]] void throw_saved_released(const std::string& node_name);
}  // namespace detail

}  // namespace dg
