#pragma once
// SavedVariable: a tensor a backward formula needs, plus the version it had
// when saved. unpack() throws if an in-place op changed it since.
#include <any>
#include <memory>
#include <string>

#include "dynagrad/node.h"

namespace dg {

namespace autograd::graph::detail {
struct HooksFrame;
}

class SavedVariable {
 public:
  SavedVariable() = default;
  // is_output: the tensor is an output of the node that saves it. Then only
  // its data is kept (no grad_fn), so node -> tensor -> node is no cycle;
  // unpack() re-attaches the node. A leaf that requires grad is not kept
  // either (its .grad may hold a graph that saved it): only its data and its
  // AccumulateGrad, which unpack() re-attaches to an alias.
  SavedVariable(const Tensor& t, bool is_output);

  // `saved_for` is the node doing the unpacking (needed for outputs).
  Tensor unpack(const Node* saved_for) const;
  void reset_data();
  bool defined() const { return was_defined_; }
  // Packed by saved-tensor hooks (dynagrad/graph.h): the tensor itself is not kept.
  bool has_hooks() const { return static_cast<bool>(hooks_); }
  // Shape and dtype of the saved tensor, without unpacking it.
  IntArrayRef sizes() const { return sizes_; }
  ScalarType dtype() const { return dtype_; }

 private:
  Tensor unpack_packed(const Node* saved_for) const;
  Tensor data_;
  std::shared_ptr<const autograd::graph::detail::HooksFrame> hooks_;
  std::any packed_;
  NodePtr grad_fn_;  // packed non-output non-leaf: the history to re-attach
  DimVector sizes_;
  ScalarType dtype_ = kFloat32;
  NodePtr grad_accumulator_;             // leaves that require grad
  std::shared_ptr<LeafLink> leaf_link_;  // likewise
  uint32_t saved_version_ = 0;
  uint32_t output_nr_ = 0;
  bool is_output_ = false;
  bool was_defined_ = false;
  bool requires_grad_ = false;
  bool is_leaf_ = false;
  bool released_ = false;
  // The output of an in-place op that wrote through a view: its history is
  // not the saving node but the base's (a CopySlices), replayed on unpack.
  bool inplace_on_view_ = false;
};

}  // namespace dg
