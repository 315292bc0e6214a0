// View bookkeeping of autograd: CopySlices (the grad_fn a base gets when an
// in-place op writes through one of its views), rebuilding a stale view's
// history from its base, and the in-place rules checked before any write.
#include "autograd/views.h"

#include "autograd/recording.h"
#include "core/arg_checks.h"
#include "dynagrad/grad_mode.h"

namespace dg {

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
  set_grad_fn(meta, replay.grad_fn(), replay.output_nr());
}

namespace {
bool is_leaf_requiring_grad(const TensorImpl* impl) {
  const AutogradMeta* m = impl->autograd_meta();
  return m && m->requires_grad && !m->grad_fn;
}
}  // namespace

namespace detail {

void check_inplace(const char* op, const Tensor& self, bool record) {
  check_defined(op, "self", self);
  DG_CHECK(!self.is_inference() || InferenceMode::is_enabled(), op,
           ": in-place operation on an inference tensor outside InferenceMode");
  check_no_internal_overlap(op, self);
  if (!GradMode::is_enabled()) return;
  TensorImpl* impl = self.unsafeGetTensorImpl();
  maybe_refresh_view(impl);
  DG_CHECK(!is_leaf_requiring_grad(impl), op,
           ": a leaf tensor that requires grad is being used in an in-place operation. Use it in place only "
           "under dg::NoGradGuard (as optimizers do), or clone() it first.");
  // An op without a gradient (a comparison, a random fill) would leave self's
  // history in place under values it no longer describes: refused, as a
  // silently wrong gradient would be the alternative.
  DG_CHECK(record || !requires_grad_fast(self), op, ": self requires grad and ", op,
           " has no gradient: the values it writes would keep self's old history. Run it under dg::NoGradGuard, "
           "or on self.detach() or a clone.");
  const ViewKind kind = impl->view_kind();
  if (kind == ViewKind::None || kind == ViewKind::Detached) return;
  const TensorImpl* base = impl->view_base().get();
  DG_CHECK(!is_leaf_requiring_grad(base), op,
           ": a view of a leaf tensor that requires grad is being used in an in-place operation (the view has "
           "shape ",
           self.sizes(), ", its base ", base->sizes(),
           "). Modify the leaf under dg::NoGradGuard, or clone() it and work on the copy.");
  if (kind == ViewKind::NoGrad) {
    // Recorded or not, the base's values change without its history knowing.
    DG_CHECK(!requires_grad_fast(Tensor(impl->view_base())), op,
             ": this view was created under NoGradGuard and is being modified in place with grad mode on, "
             "while its base requires grad. Whether the base's gradient should see this change is ambiguous, so "
             "it is refused: create the view with grad mode on (to record the change), or do the in-place op "
             "under NoGradGuard too (to not record it).");
  }
}

void rebase_history(const Tensor& self, const NodePtr& node, size_t input) {
  TensorImpl* impl = self.unsafeGetTensorImpl();
  const ViewKind kind = impl->view_kind();
  if (kind == ViewKind::None || kind == ViewKind::Detached) {
    set_history(self, node);
    return;
  }
  // The op wrote the base's memory: the base's history becomes CopySlices,
  // whose first edge is the base's previous history. The node keeps the same
  // first edge (it is only ever run by the CopySlices).
  const Tensor base(impl->view_base());
  edge_list edges = node->next_edges();
  edges[input] = autograd::gradient_edge(base);
  node->set_next_edges(edge_list(edges));
  auto copy_slices = make_intrusive<CopySlices>(base, self, node, input);
  copy_slices->set_next_edges(std::move(edges));
  set_history(base, copy_slices);
  // The view now follows its base (also if made under NoGradGuard: check_inplace
  // only lets that through when the base did not require grad) and its old
  // grad_fn is stale: mark it so, and the next use rebuilds it from the base.
  impl->set_view_base(impl->view_base(), ViewKind::Default);
  impl->set_view_version(impl->version() - 1);
}

}  // namespace detail

}  // namespace dg
