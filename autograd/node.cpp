#include "dynagrad/node.h"

#include "dynagrad/anomaly_mode.h"

#include <atomic>
#include <mutex>

namespace dg {

namespace {
std::atomic<uint64_t> g_next_sequence_nr{0};
std::atomic<int64_t> g_live_nodes{0};

thread_local const detail::EdgeFilter* t_edge_filter = nullptr;

// Iterative deletion: a Node's destructor drops its next edges and saved
// tensors, which may drop the last reference to further Nodes. Deleting those
// from inside the destructor would recurse once per graph level (150k levels
// overflow the stack), so while one deletion runs on this thread, further
// releases are queued here and deleted by the outermost release_self.
thread_local bool t_deleting = false;
// A plain pointer (not a thread_local vector) so that a release during thread
// exit, after the guard below is gone, still works (it then leaks one vector).
thread_local std::vector<Node*>* t_pending = nullptr;
struct PendingGuard {
  ~PendingGuard() {
    delete t_pending;
    t_pending = nullptr;
  }
};
thread_local PendingGuard t_pending_guard;
}  // namespace

int64_t detail::live_nodes() { return g_live_nodes.load(std::memory_order_relaxed); }
const detail::EdgeFilter* detail::current_edge_filter() { return t_edge_filter; }
void detail::set_current_edge_filter(const EdgeFilter* filter) { t_edge_filter = filter; }

void detail::throw_saved_released(const std::string& node_name) {
  throw Error(node_name +
              ": trying to backward through the graph a second time (or to use saved tensors after they were "
              "freed). Saved tensors are freed after backward; pass retain_graph=true to the first backward() "
              "or autograd::grad() call if you need to backward through it again.");
}

Node::Node() : Node(g_next_sequence_nr.fetch_add(1, std::memory_order_relaxed)) {}

Node::Node(uint64_t sequence_nr) : sequence_nr_(sequence_nr) {
  g_live_nodes.fetch_add(1, std::memory_order_relaxed);
  if (__builtin_expect(autograd::AnomalyMode::is_enabled(), 0)) {
    metadata()->store_stack();
    if (const Node* parent = autograd::detail::anomaly_current_node())
      metadata()->assign_parent(NodePtr(const_cast<Node*>(parent)));
  }
}

autograd::AnomalyMetadata* Node::metadata() noexcept {
  if (!metadata_) metadata_ = std::make_unique<autograd::AnomalyMetadata>();
  return metadata_.get();
}

Node::~Node() { g_live_nodes.fetch_sub(1, std::memory_order_relaxed); }

void Node::release_self() {
  if (t_deleting) {
    if (!t_pending) {
      (void)&t_pending_guard;  // odr-use: makes sure the guard exists on this thread
      t_pending = new std::vector<Node*>();
    }
    t_pending->push_back(this);
    return;
  }
  t_deleting = true;
  delete this;
  if (t_pending) {
    while (!t_pending->empty()) {
      Node* n = t_pending->back();
      t_pending->pop_back();
      delete n;
    }
  }
  t_deleting = false;
}

void Node::throw_released() const { detail::throw_saved_released(name()); }

uint32_t Node::add_input_metadata(const Tensor& t) {
  InputMetadata m;
  m.sizes = t.sizes();
  m.dtype = t.dtype();
  m.device = t.device();
  return add_input_metadata(std::move(m));
}

uint32_t Node::add_input_metadata(InputMetadata m) {
  input_metadata_.push_back(std::move(m));
  return static_cast<uint32_t>(input_metadata_.size() - 1);
}

bool Node::needs_input_grad(size_t i) const {
  if (i >= next_edges_.size()) return false;
  const Edge& e = next_edges_[i];
  if (!e.is_valid()) return false;
  const detail::EdgeFilter* f = t_edge_filter;
  return !f || f->needed(*this, e);
}

void Node::add_tensor_hooks(uint32_t input_nr, std::shared_ptr<TensorHooks> hooks) {
  for (const auto& [nr, h] : tensor_hooks_)
    if (nr == input_nr && h == hooks) return;
  tensor_hooks_.emplace_back(input_nr, std::move(hooks));
}

}  // namespace dg

namespace dg {

RemovableHandle Node::register_prehook(PreHook h) {
  auto slot = std::make_shared<HookSlot>();
  pre_hooks_.emplace_back(slot, std::move(h));
  return RemovableHandle(slot, "pre-hook of " + name());
}

RemovableHandle Node::register_hook(PostHook h) {
  auto slot = std::make_shared<HookSlot>();
  post_hooks_.emplace_back(slot, std::move(h));
  return RemovableHandle(slot, "hook of " + name());
}

void Node::add_pre_hook(std::unique_ptr<FunctionPreHook>&& h) {
  std::shared_ptr<FunctionPreHook> hook(std::move(h));
  register_prehook([hook](const variable_list& grads) { return (*hook)(grads); });
}

uintptr_t Node::add_post_hook(std::unique_ptr<FunctionPostHook>&& h) {
  std::shared_ptr<FunctionPostHook> hook(std::move(h));
  const auto key = reinterpret_cast<uintptr_t>(hook.get());
  register_hook([hook](const variable_list& in, const variable_list& out) { return (*hook)(in, out); });
  // The slot's address would do as well; the hook's is what LibTorch hands out.
  post_hook_keys_.emplace_back(key, post_hooks_.back().first);
  return key;
}

bool Node::del_post_hook(const uintptr_t& key) {
  for (auto it = post_hook_keys_.begin(); it != post_hook_keys_.end(); ++it) {
    if (it->first != key) continue;
    it->second->active = false;
    post_hook_keys_.erase(it);
    return true;
  }
  return false;
}

}  // namespace dg
