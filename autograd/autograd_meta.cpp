// The autograd state of a tensor: AutogradMeta, the edge its gradient flows
// along, a leaf's AccumulateGrad, and the autograd methods of Tensor
// (requires_grad, grad, grad_fn, retain_grad, hooks, backward, detach).
#include "dynagrad/autograd_meta.h"

#include "dynagrad/forward_ad.h"

#include <mutex>

#include "dynagrad/engine.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/warning.h"

namespace dg {

namespace {
const Tensor& undefined_tensor() {
  static const Tensor t;
  return t;
}
const NodePtr& null_node() {
  static const NodePtr n;
  return n;
}
}  // namespace

AutogradMeta::~AutogradMeta() {
  if (fw_grad.level_id != 0) autograd::forward_ad::detail::forget_tangent_holder(this);
  if (!owns_leaf_link || !leaf_link) return;
  std::lock_guard<std::mutex> lock(leaf_link->mutex);
  leaf_link->leaf = nullptr;
}

void AutogradMetaDeleter::operator()(AutogradMeta* m) const { delete m; }

AutogradMeta& TensorImpl::ensure_autograd_meta() {
  if (!autograd_meta_) autograd_meta_.reset(new AutogradMeta());
  return *autograd_meta_;
}

std::string detail::grad_fn_name(const Tensor& t) {
  const NodePtr& fn = t.grad_fn();
  return fn ? fn->name() : std::string();
}

bool Tensor::requires_grad() const {
  detail::maybe_refresh_view(impl());
  const AutogradMeta* m = impl()->autograd_meta();
  return m && (m->requires_grad || m->grad_fn);
}

const Tensor& Tensor::requires_grad_(bool requires_grad) const {
  TensorImpl* self = impl();
  AutogradMeta* m = self->autograd_meta();
  if (m && m->grad_fn) {
    // A non-leaf already requires grad; only turning it off is meaningless.
    DG_CHECK(requires_grad,
             "requires_grad_: you can only change requires_grad flags of leaf tensors; to use a computed "
             "tensor without its history, take t.detach()");
    return *this;
  }
  if (requires_grad) {
    DG_CHECK(is_floating_point(), "requires_grad_: only tensors of floating point dtype can require gradients, got ",
             dtype());
    DG_CHECK(!self->is_inference() || InferenceMode::is_enabled(),
             "requires_grad_: setting requires_grad=true on an inference tensor outside InferenceMode is not "
             "allowed; clone() it first");
    self->ensure_autograd_meta().requires_grad = true;
  } else if (m) {
    m->requires_grad = false;
  }
  return *this;
}

bool Tensor::is_leaf() const {
  detail::maybe_refresh_view(impl());
  const AutogradMeta* m = impl()->autograd_meta();
  return !m || !m->grad_fn;
}

const Tensor& Tensor::grad() const {
  const AutogradMeta* m = impl()->autograd_meta();
  if (!m) return undefined_tensor();
  if (m->grad_fn && m->hooks && m->hooks->retains_grad) return m->hooks->retained_grad;
  if (m->grad_fn && !m->grad.defined())
    DG_WARN(
        "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be "
        "populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf "
        "Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure "
        "you access the leaf Tensor instead.");
  return m->grad;
}

Tensor& Tensor::mutable_grad() const { return impl()->ensure_autograd_meta().grad; }

const NodePtr& Tensor::grad_fn() const {
  detail::maybe_refresh_view(impl());
  const AutogradMeta* m = impl()->autograd_meta();
  return m ? m->grad_fn : null_node();
}

uint32_t Tensor::output_nr() const {
  detail::maybe_refresh_view(impl());
  const AutogradMeta* m = impl()->autograd_meta();
  return m ? m->output_nr : 0;
}

namespace {
std::shared_ptr<TensorHooks>& ensure_hooks(AutogradMeta& m) {
  if (!m.hooks) m.hooks = std::make_shared<TensorHooks>();
  return m.hooks;
}
}  // namespace

void Tensor::retain_grad() const {
  DG_CHECK(requires_grad(), "retain_grad: can't retain the gradient of a tensor that does not require grad");
  if (is_leaf()) return;  // leaves keep .grad anyway
  AutogradMeta& m = *impl()->autograd_meta();
  auto& hooks = ensure_hooks(m);
  hooks->retains_grad = true;
  m.grad_fn->add_tensor_hooks(m.output_nr, hooks);
}

bool Tensor::retains_grad() const {
  const AutogradMeta* m = impl()->autograd_meta();
  return m && m->grad_fn && m->hooks && m->hooks->retains_grad;
}

void Tensor::backward(const Tensor& gradient, std::optional<bool> retain_graph, bool create_graph,
                      OptionalTensorList inputs) const {
  DG_CHECK(!inputs || !inputs->empty(), "'inputs' argument to backward cannot be empty");
  autograd::backward({*this}, {gradient}, retain_graph, create_graph, inputs ? *inputs : TensorList{});
}

Tensor Tensor::detach() const {
  // PyTorch: a view sharing storage (and the version counter) with no history.
  return make_view(*this, sizes(), strides(), storage_offset(), ViewKind::Detached);
}

void Tensor::set_data(const Tensor& new_data) const {
  DG_CHECK(defined() && new_data.defined(), "set_data: expected two defined tensors");
  DG_CHECK(!grad_fn(), "set_data: expected a leaf or a tensor without history, got one with grad_fn ",
           detail::grad_fn_name(*this));
  DG_CHECK(!is_view(), "set_data: cannot replace the data of a view");
  DG_CHECK(!requires_grad() || dg::is_floating_point(new_data.scalar_type()),
           "set_data: a tensor that requires grad needs floating-point data, got ", new_data.scalar_type());
  impl()->set_data_from(*new_data.impl());
}

const Tensor& Tensor::detach_() const {
  DG_CHECK(!is_view(), "detach_: can't detach views in place. Use detach() instead");
  if (AutogradMeta* m = impl()->autograd_meta()) {
    m->grad_fn.reset();
    m->output_nr = 0;
    m->requires_grad = false;
  }
  return *this;
}

unsigned Tensor::register_hook(std::function<Tensor(const Tensor&)> hook) const {
  DG_CHECK(requires_grad(), "register_hook: cannot register a hook on a tensor that doesn't require gradient");
  AutogradMeta& m = *impl()->autograd_meta();
  auto& hooks = ensure_hooks(m);
  hooks->fns.push_back(std::move(hook));
  const unsigned handle = static_cast<unsigned>(hooks->first_handle + hooks->fns.size() - 1);
  if (m.grad_fn) {
    m.grad_fn->add_tensor_hooks(m.output_nr, hooks);
  } else {
    // A leaf's hooks live on its AccumulateGrad; one made later picks them up itself.
    // `acc` outlives the lock: if it held the last reference, the
    // accumulator's destructor takes the same lock.
    std::shared_ptr<LeafLink> link;
    {
      std::lock_guard<std::mutex> lock(m.mutex);
      link = m.leaf_link;
    }
    intrusive_ptr<AccumulateGrad> acc;
    if (link) {
      std::lock_guard<std::mutex> lock(link->mutex);
      acc = intrusive_ptr<AccumulateGrad>::lock_if_alive(link->accumulator);
    }
    if (acc) acc->add_tensor_hooks(0, hooks);
  }
  return handle;
}

unsigned Tensor::register_hook(std::function<void(const Tensor&)> hook) const {
  return register_hook(std::function<Tensor(const Tensor&)>([h = std::move(hook)](const Tensor& g) {
    h(g);
    return Tensor();
  }));
}

void Tensor::remove_hook(unsigned handle) const {
  AutogradMeta* m = impl()->autograd_meta();
  // The handle's version of the hooks: this one or one before an in-place op.
  TensorHooks* h = m ? m->hooks.get() : nullptr;
  while (h && handle < h->first_handle) h = h->prev.get();
  DG_CHECK(h && handle - h->first_handle < h->fns.size(),
           "remove_hook: Invalid index, this tensor has no hook with "
           "handle ",
           handle);
  auto& fn = h->fns[handle - h->first_handle];
  DG_CHECK(fn, "remove_hook: the hook with handle ", handle, " was already removed");
  fn = nullptr;
}

RemovableHandle Tensor::register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const {
  DG_CHECK(requires_grad(),
           "register_post_accumulate_grad_hook: cannot register a hook on a tensor that doesn't require gradient");
  DG_CHECK(is_leaf(),
           "register_post_accumulate_grad_hook: post accumulate grad hooks cannot be registered on "
           "non-leaf tensors (this one has grad_fn ",
           detail::grad_fn_name(*this), ")");
  AutogradMeta& m = *impl()->autograd_meta();
  auto slot = std::make_shared<HookSlot>();
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    ensure_hooks(m)->post_accumulate.emplace_back(slot, std::move(hook));
  }
  autograd::grad_accumulator(*this);  // attaches the hooks if not yet done
  return RemovableHandle(slot, "post-accumulate-grad hook");
}

void detail::new_hooks_version(AutogradMeta& m, const NodePtr& node, uint32_t output_nr) {
  auto fresh = std::make_shared<TensorHooks>();
  std::shared_ptr<TensorHooks>& old = m.hooks;
  fresh->first_handle = old->first_handle + old->fns.size();
  if (old->retains_grad) {
    old->retains_grad = false;
    fresh->retains_grad = true;
    node->add_tensor_hooks(output_nr, fresh);
  }
  fresh->prev = std::move(old);
  m.hooks = std::move(fresh);
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
