#include "dynagrad/node.h"

#include <atomic>
#include <mutex>

#include "dynagrad/autograd_meta.h"
#include "dynagrad/grad_mode.h"

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

bool Node::needs_any_input_grad() const {
  for (size_t i = 0; i < next_edges_.size(); ++i)
    if (needs_input_grad(i)) return true;
  return false;
}

void Node::add_tensor_hooks(uint32_t input_nr, std::shared_ptr<TensorHooks> hooks) {
  for (const auto& [nr, h] : tensor_hooks_)
    if (nr == input_nr && h == hooks) return;
  tensor_hooks_.emplace_back(input_nr, std::move(hooks));
}

// ---- AccumulateGrad ----------------------------------------------------------

AccumulateGrad::AccumulateGrad(Tensor variable) : Node(UINT64_MAX), variable_(std::move(variable)) {
  add_input_metadata(variable_);
}

AccumulateGrad::~AccumulateGrad() {
  AutogradMeta* meta = variable_.unsafeGetTensorImpl()->autograd_meta();
  if (!meta) return;
  std::lock_guard<std::mutex> lock(meta->mutex);
  // A newer accumulator may have replaced us while our count was zero.
  if (meta->grad_accumulator == this) meta->grad_accumulator = nullptr;
}

namespace {
// Whether `t` may become .grad as is: nobody else can see or write its memory.
bool can_steal(const Tensor& t) {
  const TensorImpl* impl = t.unsafeGetTensorImpl();
  return t.use_count() == 1 && impl->storage().use_count() == 1 && impl->is_contiguous() &&
         !impl->view_base() && !impl->autograd_meta();
}

// A tensor sharing `t`'s memory but none of its autograd state.
Tensor plain_alias(const Tensor& t) {
  const TensorImpl* impl = t.unsafeGetTensorImpl();
  return Tensor(make_intrusive<TensorImpl>(impl->storage(), impl->dtype(), impl->sizes(), impl->strides(),
                                           impl->storage_offset()));
}
}  // namespace

variable_list AccumulateGrad::apply(variable_list&& grads) {
  if (grads.empty() || !grads[0].defined()) return {};
  Tensor incoming = std::move(grads[0]);
  AutogradMeta& meta = variable_.unsafeGetTensorImpl()->ensure_autograd_meta();
  const bool create_graph = GradMode::is_enabled();
  // Declared before the lock so they die after it is released: a replaced
  // .grad may own a graph reaching this leaf's accumulator, whose destructor
  // takes the same lock.
  Tensor old;
  std::lock_guard<std::mutex> lock(meta.mutex);
  Tensor& grad = meta.grad;
  if (create_graph) {
    // Keep the graph of the gradient so it can be differentiated again.
    old = grad;
    grad = old.defined() ? old + incoming : incoming;
  } else if (!grad.defined()) {
    // Steal the buffer when nobody else can see its memory; else copy, so a
    // later in-place accumulation never writes into someone else's tensor.
    Tensor g = can_steal(incoming) ? incoming : dg::clone(incoming);  // grad mode off: no history
    grad = g.unsafeGetTensorImpl()->autograd_meta() ? plain_alias(g) : std::move(g);
  } else if (grad.is_contiguous() && !grad.requires_grad() && grad.sizes() == incoming.sizes() &&
             grad.dtype() == incoming.dtype()) {
    // In place, as PyTorch does: a reference the user holds to .grad sees the sum.
    grad.add_(incoming);
  } else {
    old = grad;
    grad = old + incoming;
  }
  return {};
}

variable_list NotImplementedBackward::apply(variable_list&&) {
  throw Error(op_ + ": the derivative is not implemented (derivatives.yaml declares it not_implemented)");
}

// ---- leaf helpers --------------------------------------------------------------

namespace autograd {

NodePtr grad_accumulator(const Tensor& t) {
  AutogradMeta* meta = t.unsafeGetTensorImpl()->autograd_meta();
  if (!meta || meta->grad_fn || !meta->requires_grad) return nullptr;
  std::lock_guard<std::mutex> lock(meta->mutex);
  if (auto existing = intrusive_ptr<AccumulateGrad>::lock_if_alive(meta->grad_accumulator)) return existing;
  auto acc = make_intrusive<AccumulateGrad>(Tensor(t.getIntrusivePtr()));
  if (meta->hooks) acc->add_tensor_hooks(0, meta->hooks);
  meta->grad_accumulator = acc.get();
  return acc;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined()) return Edge();
  AutogradMeta* meta = t.unsafeGetTensorImpl()->autograd_meta();
  if (!meta) return Edge();
  if (meta->grad_fn) return Edge(meta->grad_fn, meta->output_nr);
  if (meta->requires_grad) return Edge(grad_accumulator(t), 0);
  return Edge();
}

}  // namespace autograd
}  // namespace dg
