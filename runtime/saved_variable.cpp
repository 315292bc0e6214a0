#include "dynagrad/saved_variable.h"

#include "dynagrad/autograd_meta.h"

namespace dg {

namespace {
// Shares t's memory (and so its version counter) but none of its autograd state.
Tensor alias_without_history(const Tensor& t) {
  const TensorImpl* src = t.unsafeGetTensorImpl();
  auto impl = make_intrusive<TensorImpl>(src->storage(), src->dtype(), src->sizes(), src->strides(),
                                         src->storage_offset());
  impl->set_view_base(src->view_base());
  impl->set_inference(src->is_inference());
  return Tensor(std::move(impl));
}
}  // namespace

SavedVariable::SavedVariable(const Tensor& t, bool is_output) {
  if (!t.defined()) return;
  was_defined_ = true;
  is_output_ = is_output;
  saved_version_ = t._version();
  const AutogradMeta* meta = t.unsafeGetTensorImpl()->autograd_meta();
  requires_grad_ = meta && (meta->requires_grad || meta->grad_fn);
  is_leaf_ = !meta || !meta->grad_fn;
  output_nr_ = meta ? meta->output_nr : 0;
  // An output's grad_fn is the node that saves it: keeping the tensor itself
  // would make node -> tensor -> node a cycle, so keep only its data and
  // re-attach the node on unpack. (Outputs are saved after set_history, so a
  // missing grad_fn here means the output does not take part in autograd.)
  data_ = is_output ? alias_without_history(t) : t;
}

Tensor SavedVariable::unpack(const Node* saved_for) const {
  if (!was_defined_) return Tensor();
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
    throw Error(detail::str(
        "one of the variables needed for gradient computation has been modified by an inplace operation: [",
        data_.dtype(), " ", data_.sizes(), "], which is ", what, ", is at version ", now, "; expected version ",
        saved_version_, " instead. It was saved by ", saved_for ? saved_for->name() : std::string("a node"),
        ". Hint: clone() the tensor before modifying it in place, or do the in-place op after backward."));
  }

  if (!is_output_) return data_;
  Tensor out = alias_without_history(data_);
  if (!is_leaf_ && saved_for) {
    AutogradMeta& meta = out.unsafeGetTensorImpl()->ensure_autograd_meta();
    meta.grad_fn = NodePtr(const_cast<Node*>(saved_for));
    meta.output_nr = output_nr_;
  }
  return out;
}

void SavedVariable::reset_data() {
  data_.reset();
  released_ = true;
}

}  // namespace dg
