#include "dynagrad/engine.h"

#include <exception>
#include <queue>
#include <thread>
#include <unordered_map>

#include "autograd/thread_state.h"
#include "dynagrad/anomaly_mode.h"
#include "dynagrad/autograd_meta.h"
#include "dynagrad/factory.h"
#include "dynagrad/function.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/profiler.h"
#include "dynagrad/warning.h"

namespace dg::autograd {

namespace {

// Per-node state of one backward call.
struct NodeTask {
  NodePtr node;
  variable_list buffer;  // summed incoming gradients, one per node input
  int64_t deps = 0;      // edges from not-yet-run nodes
  bool visited = false;  // reached by the dependency walk
  bool needed = true;    // runs (false only when execution is restricted)
  bool run_target = false;
  bool scheduled = false;
  std::vector<std::pair<uint32_t, size_t>> captures;  // (input_nr, result slot)
};

bool has_capture(const NodeTask& t, uint32_t input_nr) {
  for (const auto& c : t.captures)
    if (c.first == input_nr) return true;
  return false;
}

// `shape` can be broadcast to `desired` (trailing alignment, size-1 stretches).
bool expandable_to(IntArrayRef shape, IntArrayRef desired) {
  if (shape.size() > desired.size()) return false;
  const size_t lead = desired.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] != 1 && shape[i] != desired[lead + i]) return false;
  return true;
}

class GraphTask final : public dg::detail::EdgeFilter {
 public:
  GraphTask(bool keep_graph, bool restrict_exec) : keep_graph_(keep_graph), restrict_(restrict_exec) {}

  bool needed(const Node& asking, const Edge& e) const override {
    if (&asking != running_) return true;
    auto it = index_.find(e.function.get());
    if (it == index_.end()) return false;
    const NodeTask& t = tasks_[it->second];
    return t.needed || has_capture(t, e.input_nr);
  }

  uint32_t slot(Node* n) {
    auto [it, inserted] = index_.try_emplace(n, static_cast<uint32_t>(tasks_.size()));
    if (inserted) {
      tasks_.emplace_back();
      tasks_.back().node = NodePtr(n);
      tasks_.back().needed = !restrict_;
    }
    return it->second;
  }

  variable_list run(const edge_list& roots, const variable_list& root_grads, const edge_list& capture,
                    bool accumulate) {
    captured_.assign(capture.size(), Tensor());
    for (size_t k = 0; k < capture.size(); ++k) {
      const Edge& e = capture[k];
      if (!e.is_valid()) continue;
      const uint32_t s = slot(e.function.get());
      if (accumulate && dynamic_cast<AccumulateGrad*>(e.function.get())) tasks_[s].run_target = true;
      else tasks_[s].captures.emplace_back(e.input_nr, k);
    }
    std::vector<uint32_t> root_slots;
    for (const Edge& e : roots)
      if (e.is_valid()) root_slots.push_back(slot(e.function.get()));
    walk(root_slots);

    for (size_t i = 0; i < roots.size(); ++i) {
      if (!roots[i].is_valid() || !root_grads[i].defined()) continue;
      add_grad(index_.at(roots[i].function.get()), roots[i].input_nr, root_grads[i], nullptr, i);
    }
    for (uint32_t s : root_slots) {
      NodeTask& t = tasks_[s];
      if (t.deps == 0 && !t.scheduled) schedule(s);
    }
    while (!ready_.empty()) {
      const uint32_t s = ready_.top().second;
      ready_.pop();
      evaluate(s);
    }
    return std::move(captured_);
  }

 private:
  // One iterative DFS: counts dependencies and, when execution is
  // restricted, decides which nodes lead to a capture or a run target (a
  // node is needed if any edge leaves it towards one). Post-order makes every
  // child final before its parent is decided; the graph is a DAG.
  void walk(const std::vector<uint32_t>& root_slots) {
    std::vector<std::pair<uint32_t, uint32_t>> stack;  // (slot, next edge to look at)
    for (uint32_t r : root_slots) {
      if (tasks_[r].visited) continue;
      tasks_[r].visited = true;
      stack.emplace_back(r, 0);
      while (!stack.empty()) {
        const uint32_t cur = stack.back().first;
        const edge_list& edges = tasks_[cur].node->next_edges();
        if (stack.back().second < edges.size()) {
          const Edge& e = edges[stack.back().second++];
          if (!e.is_valid()) continue;
          const uint32_t c = slot(e.function.get());
          ++tasks_[c].deps;
          if (!tasks_[c].visited) {
            tasks_[c].visited = true;
            stack.emplace_back(c, 0);
          }
          continue;
        }
        stack.pop_back();
        if (restrict_) {
          bool need = tasks_[cur].run_target;
          for (const Edge& e : edges) {
            if (need) break;
            if (!e.is_valid()) continue;
            const NodeTask& child = tasks_[index_.at(e.function.get())];
            need = child.needed || has_capture(child, e.input_nr);
          }
          tasks_[cur].needed = need;
        }
      }
    }
  }

  void schedule(uint32_t s) {
    NodeTask& t = tasks_[s];
    t.scheduled = true;
    if (t.needed) {
      ready_.emplace(t.node->sequence_nr(), s);
    } else if (!t.captures.empty()) {
      evaluate(s);  // only hooks and captures; the node itself does not run
    } else {
      t.buffer.clear();
    }
  }

  // Adds `grad` (output `out_index` of `producer`, or root gradient
  // `out_index`) into input `input_nr` of node slot `s`, after fitting it to
  // the input's recorded shape and dtype.
  void add_grad(uint32_t s, uint32_t input_nr, Tensor grad, const Node* producer, size_t out_index) {
    NodeTask& t = tasks_[s];
    Node* node = t.node.get();
    DG_CHECK(input_nr < node->num_inputs(), "backward: ", node->name(), " has no input ", input_nr);
    const InputMetadata& m = node->input_metadata(input_nr);
    if (grad.sizes() != IntArrayRef(m.sizes)) {
      DG_CHECK(expandable_to(m.sizes, grad.sizes()), "Function ", producer ? producer->name() : std::string("backward"),
               " returned an invalid gradient at index ", out_index, " - got ", grad.sizes(),
               " but expected shape compatible with ", IntArrayRef(m.sizes));
      grad = dg::sum_to(grad, m.sizes);
    }
    DG_CHECK(grad.device() == m.device, "Function ", producer ? producer->name() : std::string("backward"),
             " returned a gradient on ", grad.device(), " at index ", out_index, " but expected ", m.device);
    if (grad.dtype() != m.dtype) grad = grad.to(m.dtype);
    if (t.buffer.empty()) t.buffer.resize(node->num_inputs());
    Tensor& slot_grad = t.buffer[input_nr];
    slot_grad = slot_grad.defined() ? dg::add(slot_grad, grad) : std::move(grad);
  }

  void call_tensor_hooks(Node* node, variable_list& inputs) {
    for (const auto& [nr, hooks] : node->tensor_hooks()) {
      if (nr >= inputs.size() || !inputs[nr].defined()) continue;
      Tensor& g = inputs[nr];
      for (size_t k = 0; k < hooks->fns.size(); ++k) {
        const auto& fn = hooks->fns[k];
        if (!fn) continue;
        Tensor r = fn(g);
        if (!r.defined()) continue;
        check_hook_result(r, g, "hook ", hooks->first_handle + k, " of a tensor (register_hook)");
        g = std::move(r);
      }
      if (hooks->retains_grad) {
        // Under the engine's grad mode, so create_graph keeps the graph.
        hooks->retained_grad = hooks->retained_grad.defined() ? dg::add(hooks->retained_grad, g) : dg::clone(g);
      }
    }
  }

  // A hook may replace a gradient only by one of the same shape, dtype and
  // device (PyTorch: "hook '...' has changed the size of value").
  template <typename... Who>
  static void check_hook_result(const Tensor& r, const Tensor& was, const Who&... who) {
    DG_CHECK(r.sizes() == was.sizes(), dg::detail::str(who...),
             " has changed the size of value: it returned a gradient of shape ", r.sizes(), " for one of shape ",
             was.sizes());
    DG_CHECK(r.dtype() == was.dtype() && r.device() == was.device(), dg::detail::str(who...),
             " has changed the type of value: it returned a ", r.dtype(), " gradient on ", r.device(), " for a ",
             was.dtype(), " one on ", was.device());
  }

  // A node hook's replacement list: empty (keep), or one entry per gradient,
  // each undefined or shaped as the one it replaces.
  static void replace_by_hook(variable_list& grads, variable_list&& r, const Node& node, const char* kind) {
    if (r.empty()) return;
    DG_CHECK(r.size() == grads.size(), "a ", kind, " of ", node.name(), " returned ", r.size(), " gradients; expected ",
             grads.size(), " (one per gradient it was given) or none");
    for (size_t i = 0; i < r.size(); ++i)
      if (r[i].defined() && grads[i].defined())
        check_hook_result(r[i], grads[i], "a ", kind, " of ", node.name(), " (gradient ", i, ")");
    grads = std::move(r);
  }

  void evaluate(uint32_t s) {
    Node* node = tasks_[s].node.get();
    variable_list inputs = std::move(tasks_[s].buffer);
    inputs.resize(node->num_inputs());
    if (!node->tensor_hooks().empty()) call_tensor_hooks(node, inputs);
    for (const auto& [nr, k] : tasks_[s].captures) captured_[k] = inputs[nr];
    if (!tasks_[s].needed) return;

    bool any = false, all = true;
    for (const Tensor& g : inputs) {
      any = any || g.defined();
      all = all && g.defined();
    }
    variable_list outputs;
    // Nothing flows: a generated node is skipped (its gradients would all be
    // zero); a custom function still runs, with zeros if it materializes.
    const bool custom = dynamic_cast<CppNodeBase*>(node) != nullptr;
    if (!any && !custom) {
      outputs.resize(node->num_outputs());
    } else {
      if (!all && !custom) {
        // Generated formulas expect every incoming gradient (custom functions
        // decide for themselves through materialize_grads).
        for (size_t i = 0; i < inputs.size(); ++i)
          if (!inputs[i].defined()) {
            const InputMetadata& m = node->input_metadata(i);
            inputs[i] = dg::zeros(m.sizes, TensorOptions().dtype(m.dtype).device(m.device));
          }
      }
      for (const auto& [slot, pre] : node->pre_hooks())
        if (slot->active) replace_by_hook(inputs, pre(inputs), *node, "pre-hook");
      RunningGuard running(running_, node);
      const profiler::detail::NodeRange profile(*node, inputs);
      if (__builtin_expect(AnomalyMode::is_enabled(), 0)) outputs = apply_with_anomaly(node, std::move(inputs));
      else outputs = apply_node(node, std::move(inputs));
    }
    if (!keep_graph_) node->release_saved();
    const edge_list& edges = node->next_edges();
    DG_CHECK(outputs.size() == edges.size(), "Function ", node->name(),
             " returned an invalid number of gradients - expected ", edges.size(), ", but got ", outputs.size());
    for (size_t i = 0; i < edges.size(); ++i) {
      const Edge& e = edges[i];
      if (!e.is_valid()) continue;
      const uint32_t c = index_.at(e.function.get());
      if (outputs[i].defined() && (tasks_[c].needed || has_capture(tasks_[c], e.input_nr)))
        add_grad(c, e.input_nr, std::move(outputs[i]), node, i);
      if (--tasks_[c].deps == 0) schedule(c);
    }
  }

  static variable_list apply_node(Node* node, variable_list&& inputs) {
    if (node->post_hooks().empty()) return node->apply(std::move(inputs));
    variable_list in_copy = inputs;
    variable_list outputs = node->apply(std::move(inputs));
    for (const auto& [slot, post] : node->post_hooks())
      if (slot->active) replace_by_hook(outputs, post(outputs, in_copy), *node, "hook");
    return outputs;
  }

  // Anomaly mode: NaN outputs raise, errors carry the node's forward trace.
  static variable_list apply_with_anomaly(Node* node, variable_list&& inputs) {
    detail::AnomalyRunningNode parent(node);
    variable_list outputs;
    try {
      outputs = apply_node(node, std::move(inputs));
    } catch (const Error& e) {
      throw Error(detail::anomaly_annotate(*node, e.what()));
    }
    detail::anomaly_check_nan(*node, outputs);
    return outputs;
  }

  // Nested: a custom backward may itself record nodes that never run here.
  struct RunningGuard {
    const Node*& slot;
    const Node* prev;
    RunningGuard(const Node*& s, const Node* n) : slot(s), prev(s) { slot = n; }
    ~RunningGuard() { slot = prev; }
  };

  const Node* running_ = nullptr;
  bool keep_graph_;
  bool restrict_;
  std::vector<NodeTask> tasks_;
  std::unordered_map<const Node*, uint32_t> index_;
  // Highest sequence number first: the most recently recorded node, so
  // buffers are consumed (and memory freed) soon after they are filled.
  std::priority_queue<std::pair<uint64_t, uint32_t>> ready_;
  variable_list captured_;
};

// Restores the thread's grad mode and edge filter however the backward ends.
class ExecGuard {
 public:
  ExecGuard(bool create_graph, const dg::detail::EdgeFilter* filter)
      : prev_grad_(GradMode::is_enabled()), prev_filter_(dg::detail::current_edge_filter()) {
    GradMode::set_enabled(create_graph);
    dg::detail::set_current_edge_filter(filter);
  }
  ~ExecGuard() {
    GradMode::set_enabled(prev_grad_);
    dg::detail::set_current_edge_filter(prev_filter_);
  }

 private:
  bool prev_grad_;
  const dg::detail::EdgeFilter* prev_filter_;
};

// Root gradients: the given ones (checked against the outputs' shapes), or
// ones for one-element outputs.
variable_list make_root_grads(const char* api, const char* what, const variable_list& outputs,
                              const variable_list& grads) {
  DG_CHECK(grads.empty() || grads.size() == outputs.size(), api, ": got ", grads.size(), " gradients for ",
           outputs.size(), " ", what);
  variable_list out(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& o = outputs[i];
    const Tensor g = i < grads.size() ? grads[i] : Tensor();
    if (!g.defined()) {
      DG_CHECK(o.numel() == 1, api, ": grad can be implicitly created only for scalar outputs (got shape ", o.sizes(),
               ")");
      out[i] = dg::ones(o.sizes(), TensorOptions().dtype(o.dtype()).device(o.device()));
    } else {
      DG_CHECK(g.sizes() == o.sizes(), api, ": mismatch in shape: the gradient for element ", i, " of ", what,
               " has shape ", g.sizes(), " but the ", what, " element has shape ", o.sizes());
      out[i] = g;
    }
  }
  return out;
}

edge_list output_edges(const char* api, const char* what, const variable_list& outputs) {
  edge_list roots;
  roots.reserve(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    DG_CHECK(outputs[i].defined(), api, ": element ", i, " of ", what, " is undefined");
    DG_CHECK(outputs[i].requires_grad(), api, ": element ", i, " of ", what,
             " does not require grad and does not have a grad_fn");
    roots.push_back(gradient_edge(outputs[i]));
  }
  return roots;
}

edge_list input_edges(const char* api, const variable_list& inputs) {
  edge_list edges;
  edges.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    DG_CHECK(inputs[i].defined(), api, ": element ", i, " of inputs is undefined");
    DG_CHECK(inputs[i].requires_grad(), api, ": element ", i,
             " of inputs does not require grad, so no gradient can be computed for it");
    edges.push_back(gradient_edge(inputs[i]));
  }
  return edges;
}

}  // namespace

namespace {
// Reentrant backward (a custom backward that calls backward) nests engine
// runs on the calling thread's stack. Past this depth the run continues on a
// fresh thread (LibTorch's max_recursion_depth), so nesting is bounded by
// memory, not by one stack.
constexpr int kMaxReentrantDepth = 48;
thread_local int t_engine_depth = 0;
// The final callbacks of the innermost backward running on this thread.
thread_local std::vector<std::function<void()>>* t_final_callbacks = nullptr;

variable_list execute_here(const edge_list& roots, const variable_list& root_grads, bool keep_graph, bool create_graph,
                           const edge_list& capture, bool accumulate) {
  const bool restrict_exec = !capture.empty() || !accumulate;
  GraphTask task(keep_graph, restrict_exec);
  ExecGuard guard(create_graph, restrict_exec ? &task : nullptr);
  std::vector<std::function<void()>> callbacks;
  struct Depth {
    explicit Depth(std::vector<std::function<void()>>* callbacks) : outer(t_final_callbacks) {
      ++t_engine_depth;
      t_final_callbacks = callbacks;
    }
    ~Depth() {
      --t_engine_depth;
      t_final_callbacks = outer;
    }
    std::vector<std::function<void()>>* outer;
  } depth(&callbacks);
  variable_list result = task.run(roots, root_grads, capture, accumulate);
  // Index loop: a callback may queue another.
  for (size_t i = 0; i < callbacks.size(); ++i) {
    std::function<void()> callback = std::move(callbacks[i]);
    callback();
  }
  return result;
}
}  // namespace

variable_list Engine::execute(const edge_list& roots, const variable_list& root_grads, bool keep_graph,
                              bool create_graph, const edge_list& capture, bool accumulate) {
  if (create_graph && accumulate)
    DG_WARN_ONCE(
        "Using backward() with create_graph=True will create a reference cycle between the parameter and its "
        "gradient which can cause a memory leak. We recommend using autograd.grad when creating the graph to avoid "
        "this. If you have to use this function, make sure to reset the .grad fields of your parameters to None "
        "after use to break the cycle and avoid the leak.");
  if (t_engine_depth < kMaxReentrantDepth)
    return execute_here(roots, root_grads, keep_graph, create_graph, capture, accumulate);
  // The thread-local state a backward sees travels with it.
  const dg::detail::ThreadLocalState state = dg::detail::ThreadLocalState::capture();
  variable_list result;
  std::exception_ptr error;
  std::thread worker([&] {
    state.apply();
    try {
      result = execute_here(roots, root_grads, keep_graph, create_graph, capture, accumulate);
    } catch (...) {
      error = std::current_exception();
    }
  });
  worker.join();
  if (error) std::rethrow_exception(error);
  return result;
}

Engine& Engine::get_default_engine() {
  static Engine engine;
  return engine;
}

void Engine::queue_callback(std::function<void()> callback) {
  DG_CHECK(t_final_callbacks != nullptr,
           "Engine::queue_callback: Final callbacks can only be installed during backward pass. (no backward is "
           "running on this thread)");
  DG_CHECK(static_cast<bool>(callback), "Engine::queue_callback: expected a callable, got an empty function");
  t_final_callbacks->push_back(std::move(callback));
}

void backward(const variable_list& tensors, const variable_list& grad_tensors, std::optional<bool> retain_graph,
              bool create_graph, const variable_list& inputs) {
  edge_list roots = output_edges("backward", "tensors", tensors);
  variable_list grads = make_root_grads("backward", "tensors", tensors, grad_tensors);
  edge_list capture = input_edges("backward", inputs);
  variable_list captured =
      Engine::execute(roots, grads, retain_graph.value_or(create_graph), create_graph, capture, true);
  // Non-leaf inputs get their gradient in .grad, as leaves do.
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].is_leaf() || !captured[i].defined()) continue;
    Tensor& g = inputs[i].mutable_grad();
    Tensor add = create_graph ? captured[i] : captured[i].detach();
    if (g.defined()) {
      if (create_graph) {
        g = g + add;
      } else {
        NoGradGuard no_grad;
        g = g + add;
      }
    } else {
      NoGradGuard no_grad;
      g = create_graph ? add : dg::clone(add);
    }
  }
}

variable_list grad(const variable_list& outputs, const variable_list& inputs, const variable_list& grad_outputs,
                   std::optional<bool> retain_graph, bool create_graph, bool allow_unused) {
  DG_CHECK(!inputs.empty(), "grad requires non-empty inputs.");
  edge_list roots = output_edges("grad", "outputs", outputs);
  variable_list grads = make_root_grads("grad", "outputs", outputs, grad_outputs);
  edge_list capture = input_edges("grad", inputs);
  variable_list result =
      Engine::execute(roots, grads, retain_graph.value_or(create_graph), create_graph, capture, false);
  for (size_t i = 0; i < result.size(); ++i)
    DG_CHECK(allow_unused || result[i].defined(),
             "grad: One of the differentiated Tensors appears to not have been used in the graph. Set "
             "allow_unused=True if this is the desired behavior.");
  return result;
}

}  // namespace dg::autograd
