#pragma once
// Autograd's view bookkeeping (views.cpp): CopySlices, the grad_fn a base
// gets when an in-place op writes through one of its views. Rebuilding a
// stale view's history (detail::refresh_view_history) is declared in
// dynagrad/autograd_meta.h, where the hot path inlines its check.
#include "dynagrad/node.h"

namespace dg {

// The grad_fn a base gets when an in-place op writes through one of its
// views (PyTorch's CopySlices). `fn` is the in-place op's node, recorded as
// if on the view; this node hands it the view's slice of the base's gradient
// and puts fn's result for the view back into that slice, so the base's
// previous history gets the gradient of every element, written or not.
class CopySlices final : public Node {
 public:
  // `view_input`: which of fn's inputs is the view it wrote (0 for generated ops).
  CopySlices(const Tensor& base, const Tensor& view, NodePtr fn, size_t view_input = 0);
  std::string name() const override { return "CopySlices"; }
  variable_list apply(variable_list&& grads) override;
  void release_saved() override { fn_->release_saved(); }

  // While fn runs (inside apply), the CopySlices running it: a tensor fn saved
  // as its output is then rebuilt as a view of `base_alias(storage)`, whose
  // grad_fn is this node. (fn cannot point back to us: that would be a cycle.)
  static const CopySlices* running();
  Tensor base_alias(const Storage& storage, ScalarType dtype) const;

 private:
  DimVector base_sizes_;
  int64_t base_offset_;
  DimVector view_sizes_;
  DimVector view_strides_;
  int64_t view_offset_;  // relative to the base's first element
  NodePtr fn_;
  size_t view_input_;
};

}  // namespace dg
