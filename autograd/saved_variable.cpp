#include "dynagrad/saved_variable.h"

#include "autograd/thread_state.h"
#include "autograd/views.h"
#include "dynagrad/autograd_meta.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/graph.h"

namespace dg {

namespace {
// Shares t's memory (and so its version counter) but none of its autograd
// state, nor a reference to its view base (whose grad_fn may own the node
// that saves this alias: a cycle).
Tensor alias_without_history(const Tensor& t) {
  const TensorImpl* src = t.unsafeGetTensorImpl();
  auto impl =
      make_intrusive<TensorImpl>(src->storage(), src->dtype(), src->sizes(), src->strides(), src->storage_offset());
  impl->set_inference(src->is_inference());
  return Tensor(std::move(impl));
}

std::string describe_version_error(const Tensor& data, const std::string& what, uint32_t now, uint32_t saved,
                                   const Node* saved_for) {
  const char* writer = data.unsafeGetTensorImpl()->storage()->last_writer();
  const std::string saver = saved_for ? saved_for->name() : std::string("a backward node");
  return detail::str(
      "one of the variables needed for gradient computation has been modified by an inplace operation: [", data.dtype(),
      " ", data.sizes(), "], which is ", what, ", is at version ", now, "; expected version ", saved, " instead. ",
      saver, " saved it at version ", saved,
      writer ? detail::str(" and then ", writer, " (the latest in-place op on its memory) changed it") : std::string(),
      ". Hint: clone() the tensor before modifying it in place, use the out-of-place op (e.g. mul instead of "
      "mul_), or do the in-place op after backward.");
}
}  // namespace

SavedVariable::SavedVariable(const Tensor& t, bool is_output) {
  if (!t.defined()) return;
  was_defined_ = true;
  is_output_ = is_output;
  saved_version_ = t._version();
  sizes_ = DimVector(t.sizes());
  dtype_ = t.dtype();
  const AutogradMeta* meta = t.unsafeGetTensorImpl()->autograd_meta();
  requires_grad_ = meta && (meta->requires_grad || meta->grad_fn);
  output_nr_ = meta ? meta->output_nr : 0;
  if (auto& stack = autograd::graph::detail::hooks_stack(); !stack.empty()) {
    // Keep what the innermost pack hook makes of the data, and enough of the
    // history to re-attach to what unpack returns.
    hooks_ = stack.back();
    is_leaf_ = !is_output && (!meta || !meta->grad_fn);
    if (is_leaf_ && requires_grad_) {
      grad_accumulator_ = autograd::grad_accumulator(t);
      leaf_link_ = t.unsafeGetTensorImpl()->autograd_meta()->leaf_link;
    } else if (!is_output && !is_leaf_) {
      grad_fn_ = meta->grad_fn;
    }
    inplace_on_view_ = is_output && t.unsafeGetTensorImpl()->view_history_stale();
    DG_CHECK(!inplace_on_view_,
             "saved_tensors_hooks: an op that writes a view in place saved its output while "
             "saved-tensor hooks were set; this is not supported (do the in-place op outside the hooks' scope)");
    packed_ = hooks_->pack(alias_without_history(t));
    return;
  }
  if (is_output) {
    // An output's grad_fn is the node that saves it, by definition; except
    // after an in-place op through a view, which rebase_history leaves with a
    // stale view history (to be rebuilt from the base's CopySlices).
    is_leaf_ = false;
    inplace_on_view_ = t.unsafeGetTensorImpl()->view_history_stale();
    data_ = alias_without_history(t);
    return;
  }
  is_leaf_ = !meta || !meta->grad_fn;
  if (is_leaf_ && requires_grad_) {
    grad_accumulator_ = autograd::grad_accumulator(t);
    leaf_link_ = t.unsafeGetTensorImpl()->autograd_meta()->leaf_link;
    data_ = alias_without_history(t);
    return;
  }
  data_ = t;
}

Tensor SavedVariable::unpack(const Node* saved_for) const {
  if (!was_defined_) return Tensor();
  if (hooks_) return unpack_packed(saved_for);
  if (released_ || !data_.defined())
    detail::throw_saved_released(saved_for ? saved_for->name() : std::string("SavedVariable"));

  const uint32_t now = data_._version();
  if (now != saved_version_) {
    std::string what;
    if (is_output_ && saved_for) {
      what = detail::str("output ", output_nr_, " of ", saved_for->name());
    } else if (!is_leaf_) {
      const NodePtr& fn = data_.grad_fn();
      what = fn ? detail::str("output ", data_.output_nr(), " of ", fn->name()) : std::string("an input");
    } else {
      what = requires_grad_ ? "a leaf tensor" : "an input";
    }
    throw Error(describe_version_error(data_, what, now, saved_version_, saved_for));
  }

  if (is_output_ && inplace_on_view_) {
    // Only a recorded use (create_graph) needs that history. The saving node
    // only runs inside its CopySlices, which rebuilds the base for us.
    const CopySlices* owner = CopySlices::running();
    if (!GradMode::is_enabled() || !owner) return alias_without_history(data_);
    const TensorImpl* impl = data_.unsafeGetTensorImpl();
    return owner->base_alias(impl->storage(), impl->dtype())
        .as_strided(data_.sizes(), data_.strides(), data_.storage_offset());
  }
  if (is_output_) {
    Tensor out = alias_without_history(data_);
    if (saved_for) {
      AutogradMeta& meta = out.unsafeGetTensorImpl()->ensure_autograd_meta();
      meta.grad_fn = NodePtr(const_cast<Node*>(saved_for));
      meta.output_nr = output_nr_;
    }
    return out;
  }
  if (leaf_link_) {
    // Stands in for the leaf: gradients through it reach the same accumulator.
    Tensor out = alias_without_history(data_);
    AutogradMeta& meta = out.unsafeGetTensorImpl()->ensure_autograd_meta();
    meta.requires_grad = true;
    meta.leaf_link = leaf_link_;
    return out;
  }
  return data_;
}

Tensor SavedVariable::unpack_packed(const Node* saved_for) const {
  const std::string who = saved_for ? saved_for->name() : std::string("SavedVariable");
  if (released_) detail::throw_saved_released(who);
  Tensor data = hooks_->unpack(packed_);
  DG_CHECK(data.defined(), "saved_tensors_hooks: the unpack hook returned an undefined tensor for a tensor ", who,
           " saved (expected ", dtype_, " of shape ", IntArrayRef(sizes_), ")");
  DG_CHECK(data.sizes() == IntArrayRef(sizes_) && data.dtype() == dtype_,
           "saved_tensors_hooks: the unpack hook returned a ", data.dtype(), " tensor of shape ", data.sizes(),
           " for a tensor ", who, " saved as ", dtype_, " of shape ", IntArrayRef(sizes_));
  Tensor out = alias_without_history(data);
  if (is_output_) {
    if (saved_for) {
      AutogradMeta& meta = out.unsafeGetTensorImpl()->ensure_autograd_meta();
      meta.grad_fn = NodePtr(const_cast<Node*>(saved_for));
      meta.output_nr = output_nr_;
    }
  } else if (leaf_link_) {
    AutogradMeta& meta = out.unsafeGetTensorImpl()->ensure_autograd_meta();
    meta.requires_grad = true;
    meta.leaf_link = leaf_link_;
  } else if (grad_fn_) {
    AutogradMeta& meta = out.unsafeGetTensorImpl()->ensure_autograd_meta();
    meta.grad_fn = grad_fn_;
    meta.output_nr = output_nr_;
  }
  return out;
}

void SavedVariable::reset_data() {
  hooks_.reset();
  packed_.reset();
  grad_fn_.reset();
  data_.reset();
  grad_accumulator_.reset();
  leaf_link_.reset();
  released_ = true;
}

}  // namespace dg
