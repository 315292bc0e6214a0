#pragma once
// SavedVariable: a tensor a backward formula needs, plus the version it had
// when saved. unpack() throws if an in-place op changed it since.
#include <string>

#include "dynagrad/node.h"

namespace dg {

class SavedVariable {
 public:
  SavedVariable() = default;
  // is_output: the tensor is an output of the node that saves it. Then only
  // its data is kept (no grad_fn), so node -> tensor -> node is no cycle;
  // unpack() re-attaches the node.
  SavedVariable(const Tensor& t, bool is_output);

  // `saved_for` is the node doing the unpacking (needed for outputs).
  Tensor unpack(const Node* saved_for) const;
  void reset_data();
  bool defined() const { return was_defined_; }

 private:
  Tensor data_;
  NodePtr grad_fn_;  // inputs only
  uint32_t saved_version_ = 0;
  uint32_t output_nr_ = 0;
  bool is_output_ = false;
  bool was_defined_ = false;
  bool requires_grad_ = false;
  bool is_leaf_ = false;
  bool released_ = false;
};

}  // namespace dg
