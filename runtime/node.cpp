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

void Node::add_tensor_hooks(uint32_t input_nr, std::shared_ptr<TensorHooks> hooks) {
  for (const auto& [nr, h] : tensor_hooks_)
    if (nr == input_nr && h == hooks) return;
  tensor_hooks_.emplace_back(input_nr, std::move(hooks));
}

// ---- AccumulateGrad ----------------------------------------------------------

AccumulateGrad::AccumulateGrad(std::shared_ptr<LeafLink> link, const Tensor& leaf)
    : Node(UINT64_MAX), link_(std::move(link)) {
  add_input_metadata(leaf);
}

AccumulateGrad::~AccumulateGrad() {
  std::lock_guard<std::mutex> lock(link_->mutex);
  // A newer accumulator may have replaced us while our count was zero.
  if (link_->accumulator == this) link_->accumulator = nullptr;
}

Tensor AccumulateGrad::variable() const {
  std::lock_guard<std::mutex> lock(link_->mutex);
  return Tensor(intrusive_ptr<TensorImpl>::lock_if_alive(link_->leaf));
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
  const Tensor leaf = variable();
  if (!leaf.defined()) return {};  // the leaf is gone: nobody can read this gradient
  Tensor incoming = std::move(grads[0]);
  AutogradMeta& meta = *leaf.unsafeGetTensorImpl()->autograd_meta();
  const bool create_graph = GradMode::is_enabled();
  // Declared before the lock so it dies after it is released: a replaced
  // .grad may own the last reference to a graph whose nodes take locks.
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

// ---- CopySlices ------------------------------------------------------------------

namespace {
thread_local const CopySlices* t_running_copy_slices = nullptr;
}

const CopySlices* CopySlices::running() { return t_running_copy_slices; }

Tensor CopySlices::base_alias(const Storage& storage, ScalarType dtype) const {
  auto impl = make_intrusive<TensorImpl>(storage, dtype, base_sizes_, contiguous_strides(base_sizes_), base_offset_);
  AutogradMeta& meta = impl->ensure_autograd_meta();
  meta.grad_fn = NodePtr(const_cast<CopySlices*>(this));
  meta.output_nr = 0;
  return Tensor(std::move(impl));
}

CopySlices::CopySlices(const Tensor& base, const Tensor& view, NodePtr fn, size_t view_input)
    : base_sizes_(base.sizes()),
      base_offset_(base.storage_offset()),
      view_sizes_(view.sizes()),
      view_strides_(view.strides()),
      view_offset_(view.storage_offset() - base.storage_offset()),
      fn_(std::move(fn)),
      view_input_(view_input) {}

variable_list CopySlices::apply(variable_list&& grads) {
  variable_list out(num_outputs());
  const Tensor& grad = grads[0];
  if (!grad.defined()) return out;
  // The base is always contiguous (only views are strided), and so is this
  // fresh copy of its gradient: the view's geometry relative to the base's
  // first element addresses the same elements in it.
  Tensor result = grad.clone();
  Tensor slice = result.as_strided(view_sizes_, view_strides_, view_offset_);
  variable_list res;
  {
    const CopySlices* outer = t_running_copy_slices;
    t_running_copy_slices = this;
    struct Restore {
      const CopySlices* prev;
      ~Restore() { t_running_copy_slices = prev; }
    } restore{outer};
    res = fn_->apply({slice.clone()});
  }
  // The elements the op wrote get fn's gradient w.r.t. the view's old value
  // (none when fn does not need it: then the old value did not matter).
  Tensor& view_grad = res[view_input_];
  if (view_grad.defined()) {
    slice.copy_(view_grad);
  } else {
    slice.zero_();
  }
  view_grad = std::move(result);
  for (size_t i = 0; i < res.size() && i < out.size(); ++i) out[i] = std::move(res[i]);
  return out;
}

// ---- leaves and views ------------------------------------------------------------

AutogradMeta::~AutogradMeta() {
  if (!owns_leaf_link || !leaf_link) return;
  std::lock_guard<std::mutex> lock(leaf_link->mutex);
  leaf_link->leaf = nullptr;
}

void detail::refresh_view_history(TensorImpl* impl) {
  impl->set_view_version(impl->version());  // first: the calls below must not come back here
  const Tensor base(impl->view_base());
  const AutogradMeta* bm = base.unsafeGetTensorImpl()->autograd_meta();
  const bool base_requires_grad = bm && (bm->requires_grad || bm->grad_fn);
  AutogradMeta* m = impl->autograd_meta();
  if (!base_requires_grad) {
    if (m) m->grad_fn.reset();
    return;
  }
  // Replay the view from the base's current history: as_strided reproduces any
  // view of a contiguous base exactly, so one node type serves every view op.
  Tensor replay;
  {
    EnableGradGuard grad_mode;
    replay = base.as_strided(impl->sizes(), impl->strides(), impl->storage_offset());
  }
  AutogradMeta& meta = impl->ensure_autograd_meta();
  meta.grad_fn = replay.grad_fn();
  meta.output_nr = replay.output_nr();
}

namespace autograd {

NodePtr grad_accumulator(const Tensor& t) {
  AutogradMeta* meta = t.unsafeGetTensorImpl()->autograd_meta();
  if (!meta || meta->grad_fn || !meta->requires_grad) return nullptr;
  std::shared_ptr<LeafLink> link;
  {
    std::lock_guard<std::mutex> lock(meta->mutex);
    if (!meta->leaf_link) {
      meta->leaf_link = std::make_shared<LeafLink>();
      meta->leaf_link->leaf = t.unsafeGetTensorImpl();
      meta->owns_leaf_link = true;
    }
    link = meta->leaf_link;
  }
  intrusive_ptr<AccumulateGrad> acc;
  {
    std::lock_guard<std::mutex> lock(link->mutex);
    acc = intrusive_ptr<AccumulateGrad>::lock_if_alive(link->accumulator);
    if (acc) return acc;
    acc = make_intrusive<AccumulateGrad>(link, t);
    link->accumulator = acc.get();
  }
  if (meta->hooks) acc->add_tensor_hooks(0, meta->hooks);
  return acc;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined()) return Edge();
  TensorImpl* impl = t.unsafeGetTensorImpl();
  detail::maybe_refresh_view(impl);
  AutogradMeta* meta = impl->autograd_meta();
  if (!meta) return Edge();
  if (meta->grad_fn) return Edge(meta->grad_fn, meta->output_nr);
  if (meta->requires_grad) return Edge(grad_accumulator(t), 0);
  return Edge();
}

}  // namespace autograd
}  // namespace dg
