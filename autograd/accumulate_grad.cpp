// AccumulateGrad: the node of a leaf that requires grad. It adds incoming
// gradients into the leaf's .grad, stealing the buffer when nobody else can
// see it, and in place when the user may hold a reference to .grad.
#include <mutex>

#include "dynagrad/autograd_meta.h"
#include "dynagrad/grad_mode.h"

namespace dg {

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
  return t.use_count() == 1 && impl->storage().use_count() == 1 && impl->is_contiguous() && !impl->view_base() &&
         !impl->autograd_meta();
}

// A tensor sharing `t`'s memory but none of its autograd state.
Tensor plain_alias(const Tensor& t) {
  const TensorImpl* impl = t.unsafeGetTensorImpl();
  return Tensor(make_intrusive<TensorImpl>(impl->storage(), impl->dtype(), impl->sizes(), impl->strides(),
                                           impl->storage_offset()));
}
// Adds `incoming` into `grad` (a leaf's .grad), keeping a replaced .grad in
// `old` so that it dies after the caller's lock is released.
void accumulate(Tensor& grad, Tensor incoming, bool create_graph, Tensor& old) {
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
  {
    std::lock_guard<std::mutex> lock(meta.mutex);
    accumulate(meta.grad, std::move(incoming), create_graph, old);
  }
  if (meta.hooks && !meta.hooks->post_accumulate.empty()) {
    // Copied: a hook may register or remove hooks.
    auto hooks = meta.hooks->post_accumulate;
    for (const auto& [slot, fn] : hooks)
      if (slot->active) fn(leaf);
  }
  return {};
}

}  // namespace dg
